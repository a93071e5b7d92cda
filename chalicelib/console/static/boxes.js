// An image with face boxes drawn on a canvas, each box numbered so the
// table beside it can refer to it.
import { h } from './dom.js';

const COLORS = ['#22c55e', '#f97316', '#3b82f6', '#e11d48', '#a855f7', '#eab308'];

export async function loadImage(file) {
  const img = new Image();
  img.src = URL.createObjectURL(file);
  await img.decode();
  return img;
}

// The canvas keeps the image's own pixel size (the API's box coordinates);
// CSS scales it to the page width.
export function drawBoxes(img, boxes, label) {
  const canvas = h('canvas', { class: 'boxed', role: 'img', 'aria-label': label });
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const line = Math.max(2, Math.round(Math.max(canvas.width, canvas.height) / 250));
  boxes.forEach((b, i) => {
    if (!b) return;
    const color = COLORS[i % COLORS.length];
    ctx.lineWidth = line;
    ctx.strokeStyle = color;
    ctx.strokeRect(b.top_left_x, b.top_left_y, b.width, b.height);
    const tag = String(i + 1);
    ctx.font = `bold ${line * 8}px sans-serif`;
    const w = ctx.measureText(tag).width + line * 4;
    ctx.fillStyle = color;
    ctx.fillRect(b.top_left_x - line / 2, Math.max(0, b.top_left_y - line * 10), w, line * 10);
    ctx.fillStyle = '#000';
    ctx.fillText(tag, b.top_left_x + line * 1.5, Math.max(line * 8, b.top_left_y - line * 2));
  });
  return canvas;
}

export function boxText(b) {
  return b ? `x ${b.top_left_x}, y ${b.top_left_y}, ${b.width}×${b.height}` : '';
}
