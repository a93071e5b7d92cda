// Detect: every face of an image boxed, with the attributes when the answer
// carries them (FRS attributes codes; shown whatever keys they have).
import * as api from './api.js';
import { h, field, table, errorBox, status, show } from './dom.js';
import { imagePicker } from './widgets.js';
import { loadImage, drawBoxes, boxText } from './boxes.js';

function flatten(obj, prefix = '') {
  const out = [];
  for (const [k, v] of Object.entries(obj || {})) {
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...flatten(v, `${prefix}${k}.`));
    else out.push([`${prefix}${k}`, v]);
  }
  return out;
}

export function attributesList(attrs) {
  const items = flatten(attrs);
  if (!items.length) return '';
  return h('dl', { class: 'attrs' }, items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, show(v))]));
}

export async function render(view) {
  const picker = imagePicker('Image');
  const attributes = h('input', { name: 'attributes', class: 'mono', placeholder: 'e.g. 1,2,12,21', autocomplete: 'off' });
  const result = h('div', { class: 'slot', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', id: 'detect-run' }, 'Detect faces');
  view.append(h('h1', { tabindex: -1 }, 'Detect'),
    h('form', {
      class: 'card',
      on: {
        submit: async (e) => {
          e.preventDefault();
          const file = picker.file();
          if (!file) {
            result.replaceChildren(errorBox(new Error('Choose an image first.')));
            return;
          }
          const form = new FormData();
          form.append('image_file', file, file.name);
          if (attributes.value.trim()) form.append('attributes', attributes.value.trim());
          submit.disabled = true;
          result.replaceChildren(status('Detecting…'));
          try {
            const res = await api.call('POST', api.projectPath('face-detect'), { form });
            const faces = (res && res.faces) || [];
            const img = await loadImage(file);
            const anyAttrs = faces.some((f) => f.attributes);
            const rows = faces.map((f, i) => h('tr', {},
              h('td', { class: 'num' }, String(i + 1)), h('td', { class: 'mono' }, boxText(f.bounding_box)),
              anyAttrs ? h('td', {}, attributesList(f.attributes)) : null));
            result.replaceChildren(
              h('p', { class: 'verdict', id: 'detect-count' }, `${faces.length} face${faces.length === 1 ? '' : 's'} found`),
              h('div', { class: 'media' }, drawBoxes(img, faces.map((f) => f.bounding_box), `${file.name} with ${faces.length} boxed faces`)),
              faces.length ? table(['#', 'Bounding box', ...(anyAttrs ? ['Attributes'] : [])], rows, 'Detected faces') : '');
          } catch (ex) {
            result.replaceChildren(errorBox(ex));
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    picker.el,
    field('Attributes', attributes, 'Optional FRS attribute codes, comma-separated (shown when the service returns them)'),
    submit),
    result);
}
