// The faces of one face set: a paged list (offset/limit) with the custom
// fields, edit a face's fields, delete one, and batch delete by filter after
// a preview count.
import * as api from './api.js';
import { h, field, table, errorBox, status, show } from './dom.js';
import { confirmDialog, fieldInputs } from './widgets.js';
import { filterError } from './filtererr.js';

const LIMITS = [10, 20, 50, 100];
// Search answers at most 1000 faces (FRS top_n); the preview says "at least" above that.
const PREVIEW_MAX = 1000;

function boxText(b) {
  return b ? `${b.top_left_x},${b.top_left_y} ${b.width}×${b.height}` : '';
}

// How many faces match a filter, before deleting them: a search by the id of
// one face of the set, with no threshold, returns every face that passes the
// filter (up to top_n). The console uses only the FRS API, which has no count.
async function previewCount(name, filter) {
  const first = await api.call('GET', api.setPath(name, '/faces'), { query: { offset: 0, limit: 1 } });
  const faces = (first && first.faces) || [];
  if (!faces.length) return 0;
  const res = await api.call('POST', api.setPath(name, '/search'),
    { json: { face_id: faces[0].face_id, top_n: PREVIEW_MAX, filter } });
  return ((res && res.faces) || []).length;
}

function editRow(info, face, cols, done) {
  const imageId = h('input', { name: 'external_image_id', value: face.external_image_id || '' });
  const inputs = fieldInputs(info.external_fields, face.external_fields || {});
  const msg = h('div', { class: 'slot' });
  const form = h('form', {
    class: 'edit',
    on: {
      submit: async (e) => {
        e.preventDefault();
        msg.replaceChildren();
        try {
          const parts = [`"face_id":${JSON.stringify(face.face_id)}`];
          if (imageId.value.trim()) parts.push(`"external_image_id":${JSON.stringify(imageId.value.trim())}`);
          const fields = inputs.values();
          if (fields) parts.push(`"external_fields":${fields}`);
          await api.call('PUT', api.setPath(info.face_set_name, '/faces'), { json: `{${parts.join(',')}}` });
          done(status(`Saved face ${face.face_id}.`, 'ok'));
        } catch (ex) {
          msg.replaceChildren(errorBox(ex));
        }
      },
    },
  },
  h('h3', {}, `Edit face ${face.face_id}`),
  field('External image id', imageId), inputs.el, msg,
  h('div', { class: 'row' },
    h('button', { type: 'submit' }, 'Save'),
    h('button', { type: 'button', class: 'secondary', on: { click: () => done() } }, 'Cancel')));
  const row = h('tr', { class: 'editing' }, h('td', { colspan: cols }, form));
  return row;
}

function batchDelete(info, reload) {
  const filter = h('input', { name: 'filter', class: 'mono', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'e.g. team:blue && age:[18 TO 30]' });
  const msg = h('div', { class: 'slot', 'aria-live': 'polite' });
  const del = h('button', { type: 'button', class: 'danger', disabled: true }, 'Delete matching faces');
  let previewed = null;
  filter.addEventListener('input', () => { previewed = null; del.disabled = true; });
  const preview = h('button', {
    type: 'submit', class: 'secondary',
  }, 'Preview count');
  const form = h('form', {
    class: 'card',
    on: {
      submit: async (e) => {
        e.preventDefault();
        msg.replaceChildren(status('Counting…'));
        const text = filter.value;
        try {
          const n = await previewCount(info.face_set_name, text);
          previewed = text;
          const more = n >= PREVIEW_MAX ? ' or more' : '';
          msg.replaceChildren(h('p', { class: 'preview-count', role: 'status' },
            `${n}${more} face${n === 1 ? '' : 's'} match this filter.`));
          del.disabled = n === 0;
          del.textContent = n ? `Delete ${n}${more} faces` : 'Delete matching faces';
        } catch (ex) {
          msg.replaceChildren(filterError(ex, text));
        }
      },
    },
  },
  h('h2', {}, 'Delete by filter'),
  field('Filter', filter, 'FRS filter syntax (§5.5); preview first, then delete'),
  h('div', { class: 'row' }, preview, del), msg);
  del.addEventListener('click', async () => {
    if (previewed === null || previewed !== filter.value) return;
    const yes = await confirmDialog({ title: 'Delete the matching faces?', body: `Filter: ${previewed}` });
    if (!yes) return;
    try {
      const res = await api.call('DELETE', api.setPath(info.face_set_name, '/faces/batch'), { json: { filter: previewed } });
      await reload(status(`Deleted ${res.face_number} faces.`, 'ok'));
    } catch (ex) {
      msg.replaceChildren(filterError(ex, previewed));
    }
  });
  return form;
}

export async function render(view, name, query) {
  let offset = Math.max(0, Number(query.get('offset')) || 0);
  let limit = LIMITS.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : LIMITS[0];
  const notice = h('div', { class: 'slot' });
  const listSlot = h('div', { class: 'slot' });
  const pager = h('div', { class: 'pager row' });
  const heading = h('h1', { tabindex: -1 }, `Faces of ${name}`);
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/sets' }, 'Face sets'), ' › ', name),
    heading, notice, pager, listSlot);
  let info = await api.getSet(name);
  const fieldNames = Object.keys(info.external_fields || {});
  const cols = 4 + fieldNames.length;

  const load = async (message) => {
    info = await api.getSet(name);
    const total = Number(info.face_number) || 0;
    if (offset >= total && total > 0) offset = Math.floor((total - 1) / limit) * limit;
    const res = await api.call('GET', api.setPath(name, '/faces'), { query: { offset, limit } });
    const faces = (res && res.faces) || [];
    const rows = [];
    for (const face of faces) {
      const row = h('tr', { 'data-face': face.face_id },
        h('td', { class: 'mono' }, face.face_id),
        h('td', {}, show(face.external_image_id)),
        fieldNames.map((f) => h('td', { 'data-field': f }, show((face.external_fields || {})[f]))),
        h('td', { class: 'mono' }, boxText(face.bounding_box)),
        h('td', { class: 'actions' },
          h('button', {
            type: 'button', class: 'secondary', 'aria-label': `Edit ${face.face_id}`,
            on: {
              click: () => {
                const ed = editRow(info, face, cols, (msg) => {
                  ed.remove();
                  if (msg) load(msg);
                });
                row.after(ed);
                ed.querySelector('input').focus();
              },
            },
          }, 'Edit'),
          h('button', {
            type: 'button', class: 'danger', 'aria-label': `Delete ${face.face_id}`,
            on: {
              click: async () => {
                const yes = await confirmDialog({ title: `Delete face ${face.face_id}?`, body: 'The face is removed from the set.' });
                if (!yes) return;
                try {
                  await api.call('DELETE', api.setPath(name, '/faces'), { query: { face_id: face.face_id } });
                  await load(status(`Deleted face ${face.face_id}.`, 'ok'));
                } catch (ex) {
                  notice.replaceChildren(errorBox(ex));
                }
              },
            },
          }, 'Delete')));
      rows.push(row);
    }
    listSlot.replaceChildren(faces.length
      ? table(['Face id', 'External image id', ...fieldNames, 'Box', ''], rows, `Faces ${offset + 1}–${offset + faces.length} of ${total}`)
      : h('p', { class: 'empty' }, total ? 'No faces on this page.' : 'No face in this set yet.'));
    const limitSelect = h('select', { name: 'limit', 'aria-label': 'Faces per page' },
      LIMITS.map((n) => h('option', { value: String(n) }, `${n} per page`)));
    limitSelect.value = String(limit);
    limitSelect.addEventListener('change', () => { limit = Number(limitSelect.value); offset = 0; load(); });
    pager.replaceChildren(
      h('button', { type: 'button', class: 'secondary', disabled: offset === 0, on: { click: () => { offset = Math.max(0, offset - limit); load(); } } }, '‹ Previous'),
      h('span', { class: 'page-info' }, total ? `${offset + 1}–${offset + faces.length} of ${total}` : '0 faces'),
      h('button', { type: 'button', class: 'secondary', disabled: offset + limit >= total, on: { click: () => { offset += limit; load(); } } }, 'Next ›'),
      limitSelect,
      h('a', { class: 'button', href: `#/add?set=${encodeURIComponent(name)}` }, 'Add faces'));
    notice.replaceChildren(message || '');
  };
  view.append(batchDelete(info, load));
  await load();
}
