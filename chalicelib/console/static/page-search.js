// Search: a probe image against a face set, with top_n, threshold, filter
// (an FRS filter error is shown at its column), sort and return_fields.
import * as api from './api.js';
import { h, field, table, errorBox, status, show, fmt } from './dom.js';
import { imagePicker, setPicker } from './widgets.js';
import { filterError } from './filtererr.js';

const NUMERIC = ['integer', 'long', 'float', 'double'];

export async function render(view, query) {
  view.append(h('h1', { tabindex: -1 }, 'Search'));
  const optionsSlot = h('div', { class: 'slot' });
  const picker = await setPicker(query.get('set'), () => renderOptions());
  if (!picker.sets.length) {
    view.append(h('p', {}, 'Create a face set first: ', h('a', { href: '#/sets' }, 'Face sets'), '.'));
    return;
  }
  const probe = imagePicker('Probe image');
  const topN = h('input', { name: 'top_n', type: 'number', min: '1', max: '1000', value: '10' });
  const threshold = h('input', { name: 'threshold', type: 'number', min: '0', max: '1', step: 'any', placeholder: '0.93' });
  const filter = h('input', { name: 'filter', class: 'mono', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. team:blue && age:[18 TO 70]' });
  const result = h('div', { class: 'slot', 'aria-live': 'polite' });
  let returnBoxes = [];
  let sortRows = null;

  function renderOptions() {
    const info = picker.info() || {};
    const fields = Object.entries(info.external_fields || {});
    returnBoxes = fields.map(([name]) => h('input', { type: 'checkbox', name: 'return_field', value: name }));
    sortRows = h('tbody');
    const numeric = fields.filter(([, d]) => NUMERIC.includes(d && d.type)).map(([n]) => n);
    const addSort = () => {
      const f = h('select', { name: 'sort-field', 'aria-label': 'Sort field' }, numeric.map((n) => h('option', { value: n }, n)));
      const o = h('select', { name: 'sort-order', 'aria-label': 'Sort order' },
        h('option', { value: 'desc' }, 'descending'), h('option', { value: 'asc' }, 'ascending'));
      const row = h('tr', {}, h('td', {}, f), h('td', {}, o),
        h('td', {}, h('button', { type: 'button', class: 'secondary', on: { click: () => row.remove() } }, 'Remove')));
      sortRows.append(row);
      f.focus();
    };
    optionsSlot.replaceChildren(
      fields.length ? h('fieldset', {}, h('legend', {}, 'return_fields (none checked: all fields)'),
        h('div', { class: 'checks' }, returnBoxes.map((box, i) => h('span', { class: 'check' }, box,
          h('label', { for: box.id || (box.id = `rf-${i}`) }, fields[i][0]))))) : '',
      numeric.length ? h('fieldset', {}, h('legend', {}, 'sort (numeric fields)'),
        h('table', {}, sortRows),
        h('button', { type: 'button', class: 'secondary', on: { click: addSort } }, 'Add sort key')) : '');
  }
  renderOptions();

  const submit = h('button', { type: 'submit', id: 'search-run' }, 'Search');
  view.append(h('form', {
    class: 'card',
    on: {
      submit: async (e) => {
        e.preventDefault();
        const file = probe.file();
        if (!file) {
          result.replaceChildren(errorBox(new Error('Choose a probe image first.')));
          return;
        }
        const form = new FormData();
        form.append('image_file', file, file.name);
        if (topN.value.trim()) form.append('top_n', topN.value.trim());
        if (threshold.value.trim()) form.append('threshold', threshold.value.trim());
        const filterText = filter.value;
        if (filterText.trim()) form.append('filter', filterText);
        const wanted = returnBoxes.filter((b) => b.checked).map((b) => b.value);
        if (wanted.length) form.append('return_fields', JSON.stringify(wanted));
        const sort = sortRows ? [...sortRows.rows].map((r) => ({
          [r.querySelector('[name=sort-field]').value]: r.querySelector('[name=sort-order]').value,
        })) : [];
        if (sort.length) form.append('sort', JSON.stringify(sort));
        submit.disabled = true;
        result.replaceChildren(status('Searching…'));
        try {
          const res = await api.call('POST', api.setPath(picker.select.value, '/search'), { form });
          const faces = (res && res.faces) || [];
          const names = [...new Set(faces.flatMap((f) => Object.keys(f.external_fields || {})))];
          const rows = faces.map((f, i) => h('tr', { 'data-face': f.face_id },
            h('td', { class: 'num' }, String(i + 1)),
            h('td', { class: 'num' }, fmt(f.similarity)),
            h('td', {}, show(f.external_image_id)),
            h('td', { class: 'mono' }, f.face_id),
            names.map((n) => h('td', {}, show((f.external_fields || {})[n])))));
          result.replaceChildren(
            h('p', { class: 'verdict', id: 'search-count' }, `${faces.length} match${faces.length === 1 ? '' : 'es'}`),
            faces.length ? table(['#', 'Similarity', 'External image id', 'Face id', ...names], rows, 'Search results') : '');
        } catch (ex) {
          result.replaceChildren(filterError(ex, filterText));
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  field('Face set', picker.select), probe.el,
  h('div', { class: 'two' },
    field('top_n', topN, '1–1000'),
    field('threshold', threshold, '0–1; 0.93 for the same person')),
  field('filter', filter, 'FRS filter (§5.5)'),
  optionsSlot, submit), result);
}
