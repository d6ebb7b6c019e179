// A unit's output over the plane, painted on a small canvas in TensorFlow Playground's colours: orange below 0,
// white at 0, blue above (the boundary chart reads class 0 / class 1 the same way).

const NEG = [245, 147, 34];
const MID = [232, 234, 235];
const POS = [8, 119, 189];

/** [r, g, b] for v in [-1, 1] (clamped); NaN (a diverged net) is grey. */
export function heatColor(v) {
  if (!Number.isFinite(v)) return [160, 160, 160];
  const x = Math.max(-1, Math.min(1, v));
  const end = x < 0 ? NEG : POS;
  const f = Math.abs(x);
  return MID.map((m, k) => Math.round(m + (end[k] - m) * f));
}

/**
 * Paint grid z (rows from the lowest y up, as events send it) on `canvas`, dividing by `scale`; y grows upwards on
 * screen. `center` shifts values first (0.5 for a probability, so that 0.5 is white). Returns a short hash of what was
 * drawn, so tests and the scrubber can tell two epochs' pictures apart without reading pixels.
 */
export function paintGrid(canvas, z, { scale = 1, center = 0 } = {}) {
  const rows = z.length;
  const cols = rows ? z[0].length : 0;
  if (!rows || !cols) return "";
  if (canvas.width !== cols) canvas.width = cols;
  if (canvas.height !== rows) canvas.height = rows;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  let hash = 2166136261;
  for (let i = 0; i < rows; i += 1) {
    const row = z[rows - 1 - i];
    for (let j = 0; j < cols; j += 1) {
      const v = typeof row[j] === "number" ? (row[j] - center) / (scale || 1) : Number.NaN;
      const [r, g, b] = heatColor(v);
      const p = (i * cols + j) * 4;
      img.data[p] = r;
      img.data[p + 1] = g;
      img.data[p + 2] = b;
      img.data[p + 3] = 255;
      hash = Math.imul(hash ^ (r * 65536 + g * 256 + b), 16777619) >>> 0;
    }
  }
  ctx.putImageData(img, 0, 0);
  return hash.toString(36);
}

/** Clear a unit's picture (no data for this setup yet). */
export function clearGrid(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
}
