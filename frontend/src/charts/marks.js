// Marks for the live changes of a run (pause, resume, step, a new learning rate) on the charts whose x-axis is the
// epoch: a dotted vertical line at the epoch where it took effect and a short label on top. Changes at one epoch share
// one line and one label (a run stepped epoch by epoch would otherwise stack two labels an epoch).

import { fmt } from "../dom.js";

const ICONS = { pause: "▮▮", resume: "▶", step: "▶▮" }; // geometric shapes: every font has them, unlike emoji
const LR_COLOR = "#b5446e";
const COLOR = "#7b8794";
const GAP = 0.06; // labels closer than this share of the epoch axis join the one before (a line each stays)

/** Plotly `shapes` and `annotations` for run.controls; merge them into a chart's layout. xOf: where an epoch sits on
 * the chart's x-axis (the epoch itself, or the step it ended at on an iterations axis). */
export function controlMarks(run, xOf = (epoch) => epoch) {
  const epochs = [...new Set((run.controls || []).map((ev) => ev.epoch).filter((e) => typeof e === "number"))].sort((a, b) => a - b);
  const span = Math.max(1, xOf(run.latestEpoch ?? 0) ?? 0);
  const shapes = [];
  const groups = []; // [{x, evs}]: one label each
  for (const epoch of epochs) {
    const evs = run.controls.filter((ev) => ev.epoch === epoch);
    const lr = evs.some((ev) => ev.action === "lr");
    const x = xOf(epoch) ?? epoch;
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color: lr ? LR_COLOR : COLOR, width: 1.2, dash: "dot" }, layer: "above" });
    const prev = groups.at(-1);
    if (prev && (x - prev.x) / span < GAP) prev.evs.push(...evs);
    else groups.push({ x, evs: [...evs] });
  }
  const annotations = groups.map(({ x, evs }) => {
    const lr = evs.filter((ev) => ev.action === "lr").at(-1);
    const icons = [...new Set(evs.map((ev) => ICONS[ev.action]).filter(Boolean))];
    const color = lr ? LR_COLOR : COLOR;
    return {
      xref: "x",
      yref: "paper",
      x,
      xanchor: x / span > 0.8 ? "right" : "left", // near the right edge the label reads leftwards, not clipped
      y: 1,
      yanchor: "top",
      text: [...icons, lr ? `η ${fmt(lr.value, 3)}` : null].filter(Boolean).join(" "),
      showarrow: false,
      font: { size: 10, color },
      bgcolor: "rgba(255,255,255,0.85)",
    };
  });
  return { shapes, annotations };
}
