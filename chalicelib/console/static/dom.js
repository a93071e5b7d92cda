// Building DOM without HTML strings: every value becomes a text node or an
// attribute set through the DOM, so data from the API is never parsed as markup.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (key === 'class') {
      el.className = value;
    } else if (key.startsWith('on')) {
      throw new Error(`event handler attribute ${key}: use on: {...}`);
    } else if ((typeof value === 'boolean' || typeof value === 'number') && key in el) {
      el[key] = value;  // disabled, checked, hidden, value...
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  add(el, children);
  return el;
}

export function add(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));  // strings become text nodes
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let uid = 0;
export function id(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled form control: [label, control] in a .field wrapper.
export function field(label, control, hint) {
  if (!control.id) control.id = id();
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hid = id('hint');
    control.setAttribute('aria-describedby', hid);
    parts.push(h('small', { id: hid, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

export function table(headers, rows, caption) {
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption || 'table' },
    h('table', {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

// An FRS / IAM error as text: code, message and the request id to quote.
export function errorBox(err) {
  const box = h('div', { class: 'error', role: 'alert' });
  if (!err) return box;
  add(box, [
    err.code ? h('strong', { class: 'code' }, err.code) : null,
    err.code ? ' ' : null,
    h('span', { class: 'msg' }, err.message || String(err)),
  ]);
  if (err.requestId) add(box, h('div', { class: 'rid' }, `request ${err.requestId}`));
  return box;
}

export function status(text, kind = 'info') {
  return h('p', { class: `status ${kind}`, role: 'status' }, text);
}

// Custom field values (and anything else) as display text.
export function show(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function fmt(n, digits = 4) {
  return typeof n === 'number' ? n.toFixed(digits) : show(n);
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
