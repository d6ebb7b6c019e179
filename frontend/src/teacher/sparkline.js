// A loss sparkline on a canvas: one line over the epochs, no axes; small enough for a 200-row table.

const WIDTH = 120;
const HEIGHT = 28;

/** A canvas showing `values` (null or NaN leave a gap); aria-label says first and last value. */
export function sparkline(values, { color = "#2f6f9f", label = "" } = {}) {
  const canvas = document.createElement("canvas");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = WIDTH * ratio;
  canvas.height = HEIGHT * ratio;
  canvas.style.width = `${WIDTH}px`;
  canvas.style.height = `${HEIGHT}px`;
  canvas.className = "sparkline";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  if (finite.length < 1) return canvas;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const n = values.length;
  const x = (i) => (n <= 1 ? WIDTH / 2 : 2 + (i * (WIDTH - 4)) / (n - 1));
  const y = (v) => HEIGHT - 3 - ((v - lo) * (HEIGHT - 6)) / (hi - lo);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.lineJoin = "round";
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    if (pen) ctx.lineTo(x(i), y(v));
    else ctx.moveTo(x(i), y(v));
    pen = true;
  });
  ctx.stroke();
  const last = values.length - 1;
  if (typeof values[last] === "number" && Number.isFinite(values[last])) {
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x(last), y(values[last]), 2.2, 0, 2 * Math.PI);
    ctx.fill();
  }
  return canvas;
}
