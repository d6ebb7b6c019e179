// Gradient norms: per layer over epochs (log scale) and by depth, the first trained epoch beside the current one.

import { t } from "../i18n.js";
import { chartCard } from "./card.js";
import { controlMarks } from "./marks.js";
import { baseLayout, epochAxis, depthColor, draw, extent } from "./plot.js";

const positive = (v) => (typeof v === "number" && v > 0 ? v : null);

/** A log axis over whole decades (10⁻³, 10⁻², ...): a narrow span otherwise gets crowded minor labels (0.35 0.4 0.45...). */
export function decadeAxis(values) {
  const span = extent(values.filter((v) => v > 0));
  if (!span) return { type: "log", exponentformat: "power" };
  let lo = Math.floor(Math.log10(span[0]));
  let hi = Math.ceil(Math.log10(span[1]));
  if (hi - lo < 1) hi = lo + 1;
  // At most about 6 labels: every decade, or every second/third on very wide spans.
  return { type: "log", exponentformat: "power", range: [lo, hi], dtick: Math.max(1, Math.ceil((hi - lo) / 6)) };
}

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
    const all = data.flatMap((d) => d.y);
    draw(card.plot, data, baseLayout({ datarevision: run.revision, xaxis: epochAxis(run, t("chart.epoch")), yaxis: { ...decadeAxis(all), title: { text: t("chart.gradAxis") } }, legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 10 } }, ...controlMarks(run) }));
  };
  return card;
}

/** The first epoch with gradients: where vanishing gradients show most clearly, before the net has adapted. */
function firstGradients(run) {
  const i = run.epochs.findIndex((e) => e >= 1);
  if (i < 0) return null;
  return { epoch: run.epochs[i], values: run.layerNames.map((name) => positive((run.grad.get(name) || [])[i])) };
}

export function gradDepthChart() {
  const card = chartCard({ id: "chart-grad-depth", titleKey: "chart.gradDepth", helpKey: "help.chart.gradDepth" });
  card.update = (run) => {
    const layers = (run.last && run.last.layers) || [];
    const names = layers.map((l) => l.name);
    const now = layers.map((l) => positive(l.grad_norm));
    const first = firstGradients(run);
    const colors = layers.map((_, i) => depthColor(i, layers.length));
    const data = [];
    const showFirst = first && run.latestEpoch > first.epoch;
    if (showFirst) {
      data.push({
        type: "bar",
        name: t("chart.gradFirst", { e: first.epoch }),
        x: names,
        y: first.values,
        marker: { color: "rgba(0,0,0,0)", line: { color: colors, width: 2 } },
        hovertemplate: `${t("chart.epoch")} ${first.epoch} · %{x}: %{y:.3g}<extra></extra>`,
      });
    }
    data.push({
      type: "bar",
      name: t("chart.gradNow", { e: run.latestEpoch }),
      x: names,
      y: now,
      marker: { color: colors },
      hovertemplate: `${t("chart.epoch")} ${run.latestEpoch} · %{x}: %{y:.3g}<extra></extra>`,
    });
    const all = [...now, ...(showFirst ? first.values : [])];
    draw(card.plot, data, baseLayout({ datarevision: run.revision, showlegend: showFirst, barmode: "group", bargap: 0.25, yaxis: { ...decadeAxis(all), title: { text: t("chart.gradAxis") } }, xaxis: { type: "category" } }));
  };
  return card;
}
