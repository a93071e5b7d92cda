// Add faces: drop (or choose) many images at once; each file is its own
// POST .../faces with its own progress bar and its own FRS answer or error.
import * as api from './api.js';
import { h, field, errorBox, bytes } from './dom.js';
import { setPicker, fieldInputs } from './widgets.js';

const PARALLEL = 2;  // uploads at a time: the server embeds one image per request

function imageIdFrom(fileName) {
  // external_image_id allows [A-Za-z0-9_-]{1,36}
  const stem = fileName.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 36);
  return stem || null;
}

export async function render(view, query) {
  const notice = h('div', { class: 'slot' });
  view.append(h('h1', { tabindex: -1 }, 'Add faces'), notice);
  const picker = await setPicker(query.get('set'), () => renderFields());
  if (!picker.sets.length) {
    view.append(h('p', {}, 'Create a face set first: ', h('a', { href: '#/sets' }, 'Face sets'), '.'));
    return;
  }
  const useNames = h('input', { type: 'checkbox', name: 'use_names', checked: true });
  const fieldsSlot = h('div', { class: 'slot' });
  let inputs = null;
  function renderFields() {
    const info = picker.info();
    inputs = fieldInputs((info && info.external_fields) || {});
    fieldsSlot.replaceChildren(inputs.empty ? '' : h('fieldset', {},
      h('legend', {}, 'Custom fields for every file of this batch (optional)'), inputs.el));
  }
  renderFields();

  const fileInput = h('input', { type: 'file', multiple: true, accept: 'image/*', class: 'visually-hidden', tabindex: -1, id: 'add-files', 'aria-hidden': 'true' });
  // A real button: Enter, Space and a click open the file chooser natively
  // (Chromium shows it only on a user activation, which a keydown is not).
  const zone = h('button', { type: 'button', class: 'dropzone', id: 'dropzone' },
    h('strong', {}, 'Drop images here'), h('span', {}, ' or press Enter / click to choose files (JPG, PNG, BMP; up to 8 MB each)'));
  const list = h('ol', { class: 'uploads', 'aria-live': 'polite' });
  const summary = h('p', { class: 'summary', role: 'status' });

  zone.addEventListener('click', () => fileInput.click());
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    start([...e.dataTransfer.files]);
  });
  fileInput.addEventListener('change', () => {
    start([...fileInput.files]);
    fileInput.value = '';
  });

  let ok = 0;
  let failed = 0;
  function start(files) {
    notice.replaceChildren();
    let fieldsJson;
    try {
      fieldsJson = inputs.values();
    } catch (ex) {
      notice.replaceChildren(errorBox(ex));
      return;
    }
    const setName = picker.select.value;
    const jobs = files.map((file) => {
      const bar = h('progress', { max: 1, value: 0, 'aria-label': `upload of ${file.name}` });
      const state = h('span', { class: 'state' }, 'waiting');
      const item = h('li', { class: 'upload', 'data-file': file.name },
        h('span', { class: 'name' }, file.name), h('span', { class: 'size' }, bytes(file.size)), bar, state);
      list.append(item);
      return { file, bar, state, item };
    });
    const queue = jobs.slice();
    const worker = async () => {
      while (queue.length) {
        const job = queue.shift();
        const form = new FormData();
        form.append('image_file', job.file, job.file.name);
        const imageId = useNames.checked ? imageIdFrom(job.file.name) : null;
        if (imageId) form.append('external_image_id', imageId);
        if (fieldsJson) form.append('external_fields', fieldsJson);
        job.state.textContent = 'uploading';
        try {
          const res = await api.call('POST', api.setPath(setName, '/faces'), {
            form,
            onProgress: (f) => {
              job.bar.value = f;
              job.state.textContent = f >= 1 ? 'finding the face…' : `uploading ${Math.round(f * 100)}%`;
            },
          });
          const faceIds = ((res && res.faces) || []).map((f) => f.face_id);
          job.bar.value = 1;
          job.item.classList.add('ok');
          job.state.textContent = `added: face ${faceIds.join(', ')}`;
          ok += 1;
        } catch (ex) {
          job.item.classList.add('failed');
          job.state.replaceChildren(errorBox(ex));
          failed += 1;
        }
        summary.textContent = `${ok} added, ${failed} failed, ${queue.length} waiting.`;
      }
    };
    for (let i = 0; i < PARALLEL; i += 1) worker();
  }

  view.append(h('form', { class: 'card', on: { submit: (e) => e.preventDefault() } },
    field('Face set', picker.select),
    h('div', { class: 'check' }, useNames, h('label', { for: useNames.id || (useNames.id = 'use-names') }, 'Use each file name as its external image id')),
    fieldsSlot, fileInput, zone),
  summary, list);
}
