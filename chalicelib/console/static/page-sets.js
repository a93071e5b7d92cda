// Face sets: list with counts and capacity, create with a custom-field
// editor (types of §5.3), delete behind a typed confirmation.
import * as api from './api.js';
import { h, field, table, errorBox, status } from './dom.js';
import { FIELD_TYPES, confirmDialog } from './widgets.js';

function fieldsText(fields) {
  const names = Object.entries(fields || {});
  return names.length ? names.map(([n, d]) => `${n}: ${(d && d.type) || '?'}`).join(', ') : '—';
}

function listView(sets, reload, notice) {
  if (!sets.length) return h('p', { class: 'empty' }, 'No face set yet: create one below.');
  const rows = sets.map((s) => {
    const cap = Number(s.face_set_capacity) || 0;
    const n = Number(s.face_number) || 0;
    return h('tr', { 'data-set': s.face_set_name },
      h('th', { scope: 'row' }, h('a', { href: `#/sets/${encodeURIComponent(s.face_set_name)}` }, s.face_set_name)),
      h('td', { class: 'num' }, String(n)),
      h('td', {}, h('meter', { min: 0, max: cap || 1, value: n, 'aria-label': `${n} of ${cap}` }),
        ` ${n} / ${cap}`),
      h('td', {}, fieldsText(s.external_fields)),
      h('td', {}, s.create_date || ''),
      h('td', { class: 'actions' },
        h('a', { class: 'button secondary', href: `#/add?set=${encodeURIComponent(s.face_set_name)}` }, 'Add faces'),
        h('button', {
          type: 'button', class: 'danger', 'aria-label': `Delete ${s.face_set_name}`,
          on: {
            click: async () => {
              const yes = await confirmDialog({
                title: `Delete face set ${s.face_set_name}?`,
                body: `This deletes the face set and its ${n} faces. It cannot be undone.`,
                typed: s.face_set_name,
              });
              if (!yes) return;
              try {
                await api.call('DELETE', api.setPath(s.face_set_name));
                await reload(status(`Deleted face set ${s.face_set_name}.`, 'ok'));
              } catch (ex) {
                notice.replaceChildren(errorBox(ex));
              }
            },
          },
        }, 'Delete')));
  });
  return table(['Name', 'Faces', 'Capacity', 'Custom fields', 'Created', ''], rows, 'Face sets of this project');
}

function fieldEditor() {
  const body = h('tbody');
  const addRow = (name = '', type = 'string') => {
    const nameInput = h('input', { name: 'field-name', 'aria-label': 'Field name', value: name, placeholder: 'e.g. age' });
    const typeSelect = h('select', { name: 'field-type', 'aria-label': 'Field type' },
      FIELD_TYPES.map((t) => h('option', { value: t }, t)));
    typeSelect.value = type;
    const row = h('tr', {},
      h('td', {}, nameInput), h('td', {}, typeSelect),
      h('td', {}, h('button', {
        type: 'button', class: 'secondary', 'aria-label': 'Remove field',
        on: { click: () => { row.remove(); } },
      }, 'Remove')));
    body.append(row);
    nameInput.focus();
  };
  const el = h('fieldset', { class: 'field-editor' },
    h('legend', {}, 'Custom fields'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Type'), h('th', {}, ''))), body),
    h('button', { type: 'button', class: 'secondary', id: 'add-field', on: { click: () => addRow() } }, 'Add field'));
  const value = () => {
    const out = {};
    for (const row of body.rows) {
      const name = row.querySelector('[name=field-name]').value.trim();
      if (name) out[name] = { type: row.querySelector('[name=field-type]').value };
    }
    return out;
  };
  return { el, value };
}

function createForm(reload) {
  const name = h('input', { name: 'face_set_name', required: true, autocomplete: 'off' });
  // FRS capacities: multiples of 10000 up to 100000.
  const capacity = h('select', { name: 'face_set_capacity' }, h('option', { value: '' }, 'service default'),
    Array.from({ length: 10 }, (_, i) => h('option', { value: String((i + 1) * 10000) }, String((i + 1) * 10000))));
  const editor = fieldEditor();
  const msg = h('div', { class: 'slot' });
  const form = h('form', {
    class: 'card',
    on: {
      submit: async (e) => {
        e.preventDefault();
        msg.replaceChildren();
        const body = { face_set_name: name.value.trim() };
        if (capacity.value) body.face_set_capacity = Number(capacity.value);
        const fields = editor.value();
        if (Object.keys(fields).length) body.external_fields = fields;
        try {
          await api.call('POST', api.projectPath('face-sets'), { json: body });
          await reload(status(`Created face set ${body.face_set_name}.`, 'ok'));
        } catch (ex) {
          msg.replaceChildren(errorBox(ex));
        }
      },
    },
  },
  h('h2', {}, 'Create a face set'),
  field('Name', name, 'Letters, digits, _ and - (FRS face set name)'),
  field('Capacity', capacity, 'Most faces the set may hold'),
  editor.el, msg,
  h('button', { type: 'submit', id: 'create-set' }, 'Create face set'));
  return form;
}

export async function render(view) {
  const listSlot = h('div', { class: 'slot' });
  const notice = h('div', { class: 'slot' });
  const reload = async (message) => {
    const sets = await api.listSets();
    listSlot.replaceChildren(listView(sets, reload, notice));
    notice.replaceChildren(message || '');
  };
  view.append(h('h1', { tabindex: -1 }, 'Face sets'), notice, listSlot, createForm(reload));
  await reload();
}
