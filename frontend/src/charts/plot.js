// Shared Plotly setup: one calm look for every chart, no mode bar, resizes with its card.

export const PLOT_CONFIG = { displayModeBar: false, responsive: true, displaylogo: false };
export const CLASS_COLORS = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
export const TRAIN_COLOR = "#2f6f9f";
export const TEST_COLOR = "#e07b39";
export const RUN_COLORS = ["#2f6f9f", "#e07b39", "#3a8f5a", "#b5446e", "#7b5ea7", "#8a6d3b", "#1f9eaa", "#c0392b"];

/** Text for Plotly's trace names, titles and hover: Plotly renders a subset of HTML there (links included), so user
 * text goes in with < > & " ' as entities and shows as typed. */
export function plotText(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** [min, max] of the finite numbers in `values` (null when there are none). A loop, not Math.min(...values): spreading
 * an array passes each value as an argument, and above about 125,000 of them the call throws a RangeError. */
export function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Plotly, loaded by a classic <script defer> from /vendor before the modules run. */
export function plotly() {
  if (!window.Plotly) throw new Error("Plotly did not load from vendor/plotly.min.js");
  return window.Plotly;
}

const FONT = '"Inter", "Segoe UI", "Hiragino Sans", "Noto Sans CJK JP", "Noto Sans JP", system-ui, sans-serif';

export function baseLayout(extra = {}) {
  const { xaxis = {}, yaxis = {}, ...rest } = extra;
  return {
    margin: { l: 52, r: 12, t: 8, b: 36 },
    font: { family: FONT, size: 11, color: "#1f2933" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#fff",
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
    hoverlabel: { font: { family: FONT } },
    xaxis: { gridcolor: "#eef0f3", zerolinecolor: "#d5d9df", automargin: true, ...xaxis },
    yaxis: { gridcolor: "#eef0f3", zerolinecolor: "#d5d9df", automargin: true, ...yaxis },
    ...rest,
  };
}

/** An epoch x-axis: whole numbers only, one tick per epoch while there are few. */
export function epochAxis(run, title) {
  const whole = run && run.replayOf ? run.replayOf : run; // a replay keeps the whole run's axis: the curves grow across it
  const last = whole && whole.epochs.length ? whole.epochs[whole.epochs.length - 1] : 0;
  const range = whole !== run ? { range: [whole.epochs[0], last], autorange: false } : {};
  return { title: { text: title }, tickformat: "d", ...(last <= 10 ? { dtick: 1 } : {}), ...range };
}

/** Colours for layers by depth: light (first layer) to dark (output), so order is readable at a glance. */
export function depthColor(i, n) {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = n <= 1 ? 0 : 1 - i / (n - 1);
  const pos = x * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(pos));
  const f = pos - k;
  const c = stops[k].map((a, j) => Math.round(a + (stops[k + 1][j] - a) * f));
  // The lightest yellow reads badly on white: darken the top end a little.
  return `rgb(${c.map((v) => Math.round(v * 0.85)).join(",")})`;
}

/** Plotly.react that never throws into the event loop (a bad frame must not stop the stream). */
export function draw(el, data, layout) {
  try {
    plotly().react(el, data, layout, PLOT_CONFIG);
  } catch (err) {
    console.warn("chart update failed", err);
  }
}

export function purge(el) {
  try {
    plotly().purge(el);
  } catch {
    /* nothing drawn yet */
  }
}
