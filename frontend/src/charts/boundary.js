// The decision boundary: the network's output on a grid (boundary.z), with the training and test points on top.

import { pointTraces } from "../data.js";
import { t } from "../i18n.js";
import { chartCard } from "./card.js";
import { baseLayout, CLASS_COLORS, draw, extent } from "./plot.js";

/** Orange for class 0, white at 0.5, blue for class 1: TensorFlow Playground's reading of a probability. */
const BINARY = [
  [0, "#f59322"],
  [0.5, "#f7f7f7"],
  [1, "#0877bd"],
];

function discreteScale(n) {
  const scale = [];
  for (let i = 0; i < n; i += 1) {
    const color = CLASS_COLORS[i % CLASS_COLORS.length];
    scale.push([i / n, color], [(i + 1) / n, color]);
  }
  return scale;
}

export function boundaryChart() {
  let task = "classification";
  const card = chartCard({ id: "chart-boundary", titleKey: () => (task === "regression" ? "chart.regression" : "chart.boundary"), helpKey: () => (task === "regression" ? "help.chart.regression" : "help.chart.boundary"), tall: true });
  card.applies = (run) => {
    task = run.task;
    card.relabel();
    return run.kind === "toy2d" || run.planar === true;
  };
  card.update = (run) => {
    const b = run.boundary;
    if (!b || !b.z) return;
    const heat = { type: "heatmap", x: b.x, y: b.y, z: b.z, showscale: false, hoverinfo: "skip", opacity: 0.75, zsmooth: "best" };
    let crange = null;
    if (run.task === "regression") {
      // One colour scale for the learned surface and the target dots, so a wrong region shows as a colour mismatch.
      crange = extent([...b.z.flat(), ...(run.points ? [...(run.points.train?.label || []), ...(run.points.test?.label || [])] : [])]);
      Object.assign(heat, { colorscale: "RdBu", showscale: true, colorbar: { thickness: 8, len: 0.8 } });
      if (crange) Object.assign(heat, { zmin: crange[0], zmax: crange[1] });
    }
    else if ((run.nClasses || 2) <= 2) Object.assign(heat, { colorscale: BINARY, zmin: 0, zmax: 1 });
    else Object.assign(heat, { colorscale: discreteScale(run.nClasses), zmin: -0.5, zmax: run.nClasses - 0.5, zsmooth: false });
    const data = [heat, ...(run.points ? pointTraces(run.points, run.task, { size: 5, crange }) : [])];
    const range = extent(b.x);
    const yrange = extent(b.y);
    draw(
      card.plot,
      data,
      baseLayout({
        datarevision: run.revision,
        margin: { l: 36, r: 10, t: 8, b: 30 },
        // an upload's two columns keep their names, and their own scales (heights and weights need not share a unit)
        xaxis: { range, zeroline: false, showgrid: false, constrain: "domain", title: { text: run.axes?.[0] ?? "x1" } },
        yaxis: { range: yrange, zeroline: false, showgrid: false, scaleanchor: run.axes ? undefined : "x", constrain: "domain", title: { text: run.axes?.[1] ?? "x2" } },
        // Inside the plot's corner: above it, the legend's class keys wrap into it on a narrow card.
        annotations: [{ xref: "paper", yref: "paper", x: 1, y: 1, xanchor: "right", yanchor: "top", showarrow: false, bgcolor: "rgba(255,255,255,.8)", text: `${t("chart.epoch")} ${run.boundaryEpoch ?? run.latestEpoch}` }],
      }),
    );
  };
  return card;
}
