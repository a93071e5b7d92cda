// An FRS filter error (FRS.0029 "... at column N: ...") shown under the
// filter text with a caret at that column.
import { h, errorBox } from './dom.js';

export function filterError(err, filterText) {
  const box = errorBox(err);
  const m = /column (\d+)/.exec((err && err.message) || '');
  if (m && filterText) {
    const col = Math.max(1, Number(m[1]));
    box.append(h('pre', { class: 'caret', 'aria-label': `error at column ${col}` },
      `${filterText}\n${' '.repeat(col - 1)}^ column ${col}`));
  }
  return box;
}
