// Compare: two images, the face used in each boxed, the similarity and the
// verdict at FRS's 0.93 ("greater than 0.93: the same person").
import * as api from './api.js';
import { h, errorBox, status, fmt } from './dom.js';
import { imagePicker } from './widgets.js';
import { loadImage, drawBoxes } from './boxes.js';

export const SAME_PERSON = 0.93;

export async function render(view) {
  const a = imagePicker('First image', 'image1');
  const b = imagePicker('Second image', 'image2');
  const result = h('div', { class: 'slot', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', id: 'compare-run' }, 'Compare');
  view.append(h('h1', { tabindex: -1 }, 'Compare'),
    h('form', {
      class: 'card',
      on: {
        submit: async (e) => {
          e.preventDefault();
          const f1 = a.file();
          const f2 = b.file();
          if (!f1 || !f2) {
            result.replaceChildren(errorBox(new Error('Choose both images first.')));
            return;
          }
          const form = new FormData();
          form.append('image1_file', f1, f1.name);
          form.append('image2_file', f2, f2.name);
          submit.disabled = true;
          result.replaceChildren(status('Comparing…'));
          try {
            const res = await api.call('POST', api.projectPath('face-compare'), { form });
            const [i1, i2] = await Promise.all([loadImage(f1), loadImage(f2)]);
            const same = res.similarity > SAME_PERSON;
            result.replaceChildren(
              h('p', { class: `verdict ${same ? 'ok' : 'warn'}`, id: 'compare-verdict' },
                same ? 'Same person' : 'Different people',
                h('span', { class: 'detail' }, ` (similarity ${fmt(res.similarity)}, same person above ${SAME_PERSON})`)),
              h('div', { class: 'media two' },
                drawBoxes(i1, [res.image1_face && res.image1_face.bounding_box], `${f1.name}, face boxed`),
                drawBoxes(i2, [res.image2_face && res.image2_face.bounding_box], `${f2.name}, face boxed`)));
          } catch (ex) {
            result.replaceChildren(errorBox(ex));
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('div', { class: 'two' }, a.el, b.el), submit),
    result);
}
