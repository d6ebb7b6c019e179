// A unit's picture enlarged while the pointer is on it: a 16-unit layer's boxes are 17 px, too small to see what a
// unit has learned; TensorFlow Playground shows the hovered neuron large in the same way.

import { h } from "../dom.js";

const SIZE = 132; // px

let box = null;
let canvas = null;
let caption = null;

/** The floating preview, mounted once into `host` (positioned). */
export function mountPreview(host) {
  canvas = h("canvas", { width: SIZE, height: SIZE });
  caption = h("span", { class: "nd-preview-name" });
  box = h("div", { class: "nd-preview", "aria-hidden": "true", hidden: true }, canvas, caption);
  host.append(box);
}

/** Show `unit`'s canvas enlarged beside it (within `host`), with its name. */
export function showPreview(unit, host) {
  const source = unit.querySelector("canvas");
  if (!box || !source || !unit.dataset.hash) return;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.clearRect(0, 0, SIZE, SIZE);
  ctx.drawImage(source, 0, 0, SIZE, SIZE);
  caption.textContent = unit.dataset.unit;
  const r = unit.getBoundingClientRect();
  const frame = host.getBoundingClientRect();
  const right = r.right - frame.left + 8;
  const left = right + SIZE + 12 > frame.width ? r.left - frame.left - SIZE - 20 : right;
  box.style.left = `${Math.max(0, left)}px`;
  box.style.top = `${Math.max(0, Math.min(frame.height - SIZE - 24, r.top - frame.top + r.height / 2 - SIZE / 2))}px`;
  box.hidden = false;
}

export function hidePreview() {
  if (box) box.hidden = true;
}
