// Action liveness (LiveDetect): upload a video, or record one here
// (getUserMedia + MediaRecorder) while the page prompts the chosen actions
// in order, each in its time window; then the verdict, each action's
// confidence, the warnings and the picture the service chose.
import * as api from './api.js';
import { h, field, table, errorBox, status, fmt, show } from './dom.js';

export const ACTIONS = {
  1: ['Turn left', 'Turn your head to your left'],
  2: ['Turn right', 'Turn your head to your right'],
  3: ['Nod', 'Nod: chin down, then back up'],
  4: ['Mouth', 'Open and close your mouth'],
  5: ['Blink', 'Blink your eyes'],
};
const MAX_MS = 15000;  // FRS: videos of 1-15 s
const WINDOW_MS = 3000;
const LEAD_MS = 1000;  // recorded before the first window: the camera settles

function actionRow(code, start, end, onChange) {
  const select = h('select', { name: 'action', 'aria-label': 'Action' },
    Object.entries(ACTIONS).map(([c, [name]]) => h('option', { value: c }, `${c} · ${name}`)));
  select.value = String(code);
  const from = h('input', { name: 'window-start', type: 'number', min: '0', max: String(MAX_MS), step: '100', value: String(start), 'aria-label': 'Window start (ms)' });
  const to = h('input', { name: 'window-end', type: 'number', min: '0', max: String(MAX_MS), step: '100', value: String(end), 'aria-label': 'Window end (ms)' });
  const row = h('tr', {}, h('td', {}, select), h('td', {}, from), h('td', {}, to),
    h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': 'Remove action', on: { click: () => { row.remove(); onChange(); } } }, 'Remove')));
  for (const c of [select, from, to]) c.addEventListener('change', onChange);
  return row;
}

function readActions(body) {
  const out = [];
  for (const row of body.rows) {
    const code = Number(row.querySelector('[name=action]').value);
    const start = Number(row.querySelector('[name=window-start]').value);
    const end = Number(row.querySelector('[name=window-end]').value);
    if (!Number.isFinite(start) || !Number.isFinite(end) || start < 0 || end <= start || end > MAX_MS) {
      throw new Error(`The window of action ${out.length + 1} must satisfy 0 ≤ start < end ≤ ${MAX_MS} ms.`);
    }
    out.push({ code, start: Math.round(start), end: Math.round(end) });
  }
  if (!out.length) throw new Error('Choose at least one action.');
  return out;
}

function resultView(res) {
  const vr = (res && res['video-result']) || {};
  const warnings = (res && res['warning-list']) || [];
  const rows = (vr.actions || []).map((a, i) => h('tr', {},
    h('td', { class: 'num' }, String(i + 1)),
    h('td', {}, ACTIONS[a.action] ? `${a.action} · ${ACTIONS[a.action][0]}` : show(a.action)),
    h('td', { class: 'num' }, fmt(a.confidence, 3))));
  return h('div', { class: 'live-result' },
    h('p', { class: `verdict ${vr.alive ? 'ok' : 'warn'}`, id: 'live-verdict' }, vr.alive ? 'Alive' : 'Not alive'),
    rows.length ? table(['#', 'Action', 'Confidence'], rows, 'Actions') : '',
    warnings.length
      ? h('div', {}, h('h3', {}, 'Warnings'), h('ul', { class: 'warnings' },
        warnings.map((w) => h('li', {}, h('strong', {}, show(w.warningCode)), ' ', show(w.warningMsg)))))
      : h('p', { class: 'no-warnings' }, 'No warnings.'),
    vr.picture ? h('figure', {}, h('img', { class: 'live-picture', src: `data:image/jpeg;base64,${vr.picture}`, alt: 'The picture the service chose from the video' }),
      h('figcaption', {}, 'Picture chosen from the video')) : '');
}

export async function render(view) {
  const body = h('tbody');
  const addAction = (code) => {
    const rows = body.rows.length;
    const start = LEAD_MS + rows * WINDOW_MS;
    body.append(actionRow(code, start, Math.min(MAX_MS, start + WINDOW_MS), () => {}));
  };
  addAction(1);
  const useWindows = h('input', { type: 'checkbox', name: 'use_windows', checked: true, id: 'use-windows' });
  const nod = h('input', { name: 'nod_threshold', type: 'number', min: '1', max: '90', placeholder: '10' });

  const fileInput = h('input', { type: 'file', name: 'video_file', accept: 'video/*' });
  const player = h('video', { controls: true, playsinline: true, class: 'player', hidden: true });
  const camera = h('video', { muted: true, playsinline: true, autoplay: true, class: 'camera', hidden: true });
  const prompt = h('div', { class: 'prompt', 'aria-live': 'assertive', id: 'live-prompt' });
  const timeline = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Recording progress' });
  const result = h('div', { class: 'slot', 'aria-live': 'polite' });
  let video = null;  // {blob, name}: what will be sent
  let stream = null;

  fileInput.addEventListener('change', () => {
    const f = fileInput.files[0];
    video = f ? { blob: f, name: f.name } : null;
    if (f) {
      player.src = URL.createObjectURL(f);
      player.hidden = false;
    }
  });

  const startCam = h('button', { type: 'button', class: 'secondary', id: 'camera-start' }, 'Start camera');
  const record = h('button', { type: 'button', id: 'record', disabled: true }, 'Record the challenge');
  startCam.addEventListener('click', async () => {
    result.replaceChildren();
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      result.replaceChildren(errorBox(new Error('This browser cannot record video (getUserMedia / MediaRecorder).')));
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false });
      camera.srcObject = stream;
      camera.hidden = false;
      record.disabled = false;
      record.focus();
    } catch (ex) {
      result.replaceChildren(errorBox(new Error(`The camera is not available: ${ex.message || ex.name}`)));
    }
  });

  record.addEventListener('click', () => {
    let acts;
    try {
      acts = readActions(body);
    } catch (ex) {
      result.replaceChildren(errorBox(ex));
      return;
    }
    const total = Math.max(1500, Math.min(MAX_MS, Math.max(...acts.map((a) => a.end)) + 300));
    const types = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm', 'video/mp4'];
    const mimeType = types.find((t) => MediaRecorder.isTypeSupported(t)) || '';
    const rec = new MediaRecorder(stream, mimeType ? { mimeType } : {});
    const chunks = [];
    rec.addEventListener('dataavailable', (e) => { if (e.data.size) chunks.push(e.data); });
    record.disabled = true;
    startCam.disabled = true;
    timeline.hidden = false;
    let t0 = 0;
    let raf = 0;
    const tick = () => {
      const t = performance.now() - t0;
      timeline.value = Math.min(1, t / total);
      const now = acts.find((a) => t >= a.start && t < a.end);
      const next = acts.find((a) => a.start > t);
      const text = now ? ACTIONS[now.code][1]
        : next ? `Look at the camera · next: ${ACTIONS[next.code][0]} in ${((next.start - t) / 1000).toFixed(1)} s`
          : 'Look at the camera';
      if (prompt.textContent !== text) prompt.textContent = text;
      prompt.classList.toggle('active', Boolean(now));
      if (t < total) raf = requestAnimationFrame(tick);
      else rec.stop();
    };
    rec.addEventListener('start', () => {
      t0 = performance.now();
      raf = requestAnimationFrame(tick);
    });
    rec.addEventListener('stop', () => {
      cancelAnimationFrame(raf);
      const blob = new Blob(chunks, { type: rec.mimeType || 'video/webm' });
      const ext = (rec.mimeType || '').includes('mp4') ? 'mp4' : 'webm';
      video = { blob, name: `recording.${ext}` };
      player.src = URL.createObjectURL(blob);
      player.hidden = false;
      prompt.textContent = `Recorded ${(total / 1000).toFixed(1)} s. Check it below, then press Check liveness.`;
      prompt.classList.remove('active');
      record.disabled = false;
      startCam.disabled = false;
      timeline.hidden = true;
      submit.focus();
    });
    rec.start(250);
  });

  const submit = h('button', { type: 'submit', id: 'live-run' }, 'Check liveness');
  const form = h('form', {
    class: 'card',
    on: {
      submit: async (e) => {
        e.preventDefault();
        result.replaceChildren();
        let acts;
        try {
          acts = readActions(body);
          if (!video) throw new Error('Upload a video or record one first.');
        } catch (ex) {
          result.replaceChildren(errorBox(ex));
          return;
        }
        const data = new FormData();
        data.append('video_file', video.blob, video.name);
        data.append('actions', acts.map((a) => a.code).join(','));
        if (useWindows.checked) data.append('action_time', acts.map((a) => `${a.start}-${a.end}`).join(','));
        if (nod.value.trim()) data.append('nod_threshold', nod.value.trim());
        const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Upload' });
        result.replaceChildren(status('Uploading…'), bar);
        submit.disabled = true;
        try {
          const res = await api.call('POST', api.projectPath('live-detect'), {
            form: data,
            onProgress: (f) => {
              bar.value = f;
              if (f >= 1) result.firstChild.textContent = 'Analysing the video…';
            },
          });
          result.replaceChildren(resultView(res));
        } catch (ex) {
          result.replaceChildren(errorBox(ex));
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  h('fieldset', {}, h('legend', {}, 'Actions, in order'),
    h('table', { class: 'actions-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Action'), h('th', {}, 'From (ms)'), h('th', {}, 'To (ms)'), h('th', {}, ''))),
      body),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', id: 'add-action', on: { click: () => addAction(2) } }, 'Add action')),
    h('div', { class: 'check' }, useWindows, h('label', { for: 'use-windows' }, 'Send the time windows (action_time)')),
    field('nod_threshold', nod, 'Optional, 1–90 degrees (default 10)')),
  h('div', { class: 'two' },
    h('fieldset', {}, h('legend', {}, 'Upload a video'), field('Video (1–15 s, mp4/webm/mov/avi)', fileInput)),
    h('fieldset', {}, h('legend', {}, 'Or record one now'),
      h('p', { class: 'hint' }, 'The page prompts each action during its window.'),
      h('div', { class: 'row' }, startCam, record), camera, timeline, prompt)),
  player, submit);
  view.append(h('h1', { tabindex: -1 }, 'Liveness'), form, result);
  window.addEventListener('hashchange', () => { if (stream) stream.getTracks().forEach((t) => t.stop()); }, { once: true });
}
