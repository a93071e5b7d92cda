// Pieces shared by several pages: a face-set picker, an image picker with
// preview, a confirmation dialog, and the custom-field inputs of a face set.
import * as api from './api.js';
import { h, field, show } from './dom.js';

export const FIELD_TYPES = ['string', 'integer', 'long', 'float', 'double', 'boolean'];

// <select> of the project's face sets; resolves once loaded.
export async function setPicker(selected, onChange) {
  const sets = await api.listSets();
  const select = h('select', { name: 'face_set', on: { change: () => onChange && onChange(select.value) } },
    sets.length ? null : h('option', { value: '' }, '(no face set yet)'),
    sets.map((s) => h('option', { value: s.face_set_name }, s.face_set_name)));
  if (selected && sets.some((s) => s.face_set_name === selected)) select.value = selected;
  return { select, sets, info: () => sets.find((s) => s.face_set_name === select.value) };
}

// A file input for one image with a preview; value() gives the File.
export function imagePicker(label, name = 'image') {
  const input = h('input', { type: 'file', name, accept: 'image/jpeg,image/png,image/bmp,image/*' });
  const preview = h('div', { class: 'preview' });
  input.addEventListener('change', () => {
    preview.replaceChildren();
    const file = input.files[0];
    if (file) preview.append(h('img', { src: URL.createObjectURL(file), alt: `${label}: ${file.name}` }));
  });
  return { el: h('div', { class: 'picker' }, field(label, input), preview), input, file: () => input.files[0] };
}

// A modal <dialog> (Esc closes it, focus stays inside). With `typed`, the
// confirm button is enabled only once that exact text is typed.
export function confirmDialog({ title, body, confirmLabel = 'Delete', typed }) {
  return new Promise((resolve) => {
    const input = typed ? h('input', { name: 'confirm', autocomplete: 'off', spellcheck: 'false' }) : null;
    const ok = h('button', { type: 'submit', class: 'danger', disabled: Boolean(typed) }, confirmLabel);
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'dlg-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, title),
        h('p', {}, body),
        typed ? field(`Type ${typed} to confirm`, input) : null,
        h('div', { class: 'row' }, ok, cancel)));
    let result = false;
    if (input) input.addEventListener('input', () => { ok.disabled = input.value !== typed; });
    dlg.querySelector('form').addEventListener('submit', (e) => {
      if (typed && input.value !== typed) {
        e.preventDefault();
        return;
      }
      result = true;
    });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    (input || cancel).focus();
  });
}

// Inputs for a face set's custom fields (§5.3). values() answers a JSON text
// of the filled ones: integers and longs are written as their digits, so a
// long keeps every digit (a JS number would round it above 2^53).
export function fieldInputs(schema, initial = {}, { optional = true } = {}) {
  const controls = [];
  const wrap = h('div', { class: 'fields' });
  for (const [name, def] of Object.entries(schema || {})) {
    const type = (def && def.type) || 'string';
    let control;
    if (type === 'boolean') {
      control = h('select', { name: `field-${name}` },
        optional ? h('option', { value: '' }, '(not set)') : null,
        h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'));
    } else {
      control = h('input', { name: `field-${name}`, inputmode: type === 'string' ? null : 'decimal' });
    }
    if (initial[name] !== undefined) control.value = show(initial[name]);
    controls.push({ name, type, control });
    wrap.append(field(`${name} (${type})`, control));
  }
  function values() {
    const parts = [];
    for (const { name, type, control } of controls) {
      const raw = control.value.trim();
      if (raw === '' && type !== 'string') continue;
      if (raw === '' && optional) continue;
      let text;
      if (type === 'string') text = JSON.stringify(control.value);
      else if (type === 'boolean') text = raw === 'true' ? 'true' : 'false';
      else if ((type === 'integer' || type === 'long') && /^-?[0-9]+$/.test(raw)) text = raw;
      else if ((type === 'float' || type === 'double') && /^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(raw)) text = raw;
      else throw new Error(`${name} must be a ${type}; "${raw}" is not.`);
      parts.push(`${JSON.stringify(name)}:${text}`);
    }
    return parts.length ? `{${parts.join(',')}}` : null;
  }
  return { el: wrap, values, empty: controls.length === 0 };
}
