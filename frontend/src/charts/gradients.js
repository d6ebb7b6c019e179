// Gradient norms: per layer over epochs (log scale) and by depth for the current epoch.

import { t } from "../i18n.js";
import { chartCard } from "./card.js";
import { baseLayout, epochAxis, depthColor, draw } from "./plot.js";

const positive = (v) => (typeof v === "number" && v > 0 ? v : null);

export function gradEpochsChart() {
  const card = chartCard({ id: "chart-grad-epochs", titleKey: "chart.gradEpochs", helpKey: "help.chart.gradEpochs" });
  card.update = (run) => {
    const names = run.layerNames;
    // Epoch 0 has no gradient (0 by definition): start the curves at epoch 1.
    const data = names.map((name, i) => ({
      x: run.epochs,
      y: (run.grad.get(name) || []).map(positive),
      name,
      mode: "lines",
      line: { color: depthColor(i, names.length), width: 1.8 },
    }));
    draw(card.plot, data, baseLayout({ datarevision: run.revision, xaxis: epochAxis(run, t("chart.epoch")), yaxis: { type: "log", exponentformat: "power" }, legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 10 } } }));
  };
  return card;
}

export function gradDepthChart() {
  const card = chartCard({ id: "chart-grad-depth", titleKey: "chart.gradDepth", helpKey: "help.chart.gradDepth" });
  card.update = (run) => {
    const layers = (run.last && run.last.layers) || [];
    const data = [
      {
        type: "bar",
        x: layers.map((l) => l.name),
        y: layers.map((l) => positive(l.grad_norm)),
        marker: { color: layers.map((_, i) => depthColor(i, layers.length)) },
        hovertemplate: "%{x}: %{y:.3g}<extra></extra>",
        showlegend: false,
      },
    ];
    draw(card.plot, data, baseLayout({ datarevision: run.revision, showlegend: false, yaxis: { type: "log", exponentformat: "power" }, xaxis: { type: "category" } }));
  };
  return card;
}
