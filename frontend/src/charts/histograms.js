// Weight histograms (a heatmap over epochs and the current one) and activation histograms with saturated/dead shares.

import { heatGrid } from "../run.js";
import { t } from "../i18n.js";
import { chartCard } from "./card.js";
import { baseLayout, epochAxis, draw } from "./plot.js";

function bars(hist, color) {
  if (!hist || !hist.edges || hist.edges.length < 2) return [];
  const centers = hist.counts.map((_, i) => (hist.edges[i] + hist.edges[i + 1]) / 2);
  const widths = hist.counts.map((_, i) => hist.edges[i + 1] - hist.edges[i]);
  const out = [{ type: "bar", x: centers, y: hist.counts, width: widths, marker: { color, line: { width: 0 } }, showlegend: false, hovertemplate: "%{x:.3g}: %{y}<extra></extra>" }];
  if (typeof hist.zeros === "number") {
    // ReLU and step layers count exact zeros apart (activation.hist.zeros): their own grey bar, left of the range,
    // so the pile at 0 neither hides the rest nor vanishes from the picture
    const span = hist.edges.at(-1) - hist.edges[0];
    const at = hist.edges[0] - span / 20;
    out.push({ type: "bar", x: [at], y: [hist.zeros], width: [span / 30], marker: { color: "#9aa3ad", line: { width: 0 } }, showlegend: false, hovertemplate: `${t("chart.exactZeros")}: %{y}<extra></extra>` });
  }
  return out;
}

function layerOf(run, name) {
  return ((run.last && run.last.layers) || []).find((l) => l.name === name) || null;
}

export function weightsHeatChart() {
  const card = chartCard({ id: "chart-weights-heat", titleKey: "chart.weightsHeat", helpKey: "help.chart.weightsHeat", picker: true });
  card.update = (run) => {
    const name = card.setLayers(run.layerNames);
    const h = run.heat.get(name);
    const grid = h ? heatGrid(h.cols) : null;
    if (!grid) return;
    const data = [{ type: "heatmap", x: grid.x, y: grid.y, z: grid.z, colorscale: [[0, "#ffffff"], [0.15, "#c6dbef"], [0.5, "#4292c6"], [1, "#08306b"]], showscale: false, hovertemplate: `${t("chart.epoch")} %{x}<br>${t("chart.weight")} %{y:.3g}<br>%{z:.1%}<extra></extra>` }];
    draw(card.plot, data, baseLayout({ datarevision: `${run.revision}:${name}`, showlegend: false, xaxis: epochAxis(run, t("chart.epoch")), yaxis: { title: { text: t("chart.weight") } } }));
  };
  return card;
}

export function weightsNowChart() {
  const card = chartCard({ id: "chart-weights-now", titleKey: "chart.weightsNow", helpKey: "help.chart.weightsNow", picker: true });
  card.update = (run) => {
    const name = card.setLayers(run.layerNames);
    const layer = layerOf(run, name);
    draw(card.plot, bars(layer && layer.weight_hist, "#2f6f9f"), baseLayout({ datarevision: `${run.revision}:${name}`, showlegend: false, bargap: 0, xaxis: { title: { text: t("chart.weight") } }, yaxis: { title: { text: t("chart.count") } } }));
  };
  return card;
}

export function activationChart() {
  const card = chartCard({ id: "chart-act-hist", titleKey: "chart.actHist", helpKey: "help.chart.actHist", picker: true });
  card.update = (run) => {
    const names = run.layerNames.filter((n) => layerOf(run, n)?.activation);
    const name = card.setLayers(names);
    const layer = layerOf(run, name);
    const act = layer && layer.activation;
    const annotations = act
      ? [
          {
            xref: "paper",
            yref: "paper",
            x: 1,
            y: 1,
            xanchor: "right",
            yanchor: "top",
            showarrow: false,
            align: "right",
            bgcolor: "rgba(255,255,255,.85)",
            text: [
              `${t("chart.saturated")} ${pct(act.saturated_fraction)}`,
              `${t("chart.zeroOutputs")} ${pct(act.dead_fraction)}`,
              ...(typeof act.dead_units === "number" ? [`${t("chart.dead")} ${pct(act.dead_units)}`] : []),
            ].join("<br>"),
          },
        ]
      : [];
    draw(card.plot, bars(act && act.hist, "#3a8f5a"), baseLayout({ datarevision: `${run.revision}:${name}`, showlegend: false, bargap: 0, annotations, xaxis: { title: { text: t("chart.value") } }, yaxis: { title: { text: t("chart.count") } } }));
  };
  return card;
}

export function activationFractionsChart() {
  const card = chartCard({ id: "chart-act-fractions", titleKey: "chart.actFractions", helpKey: "help.chart.actFractions" });
  card.update = (run) => {
    const layers = ((run.last && run.last.layers) || []).filter((l) => l.activation);
    const x = layers.map((l) => l.name);
    const data = [
      { type: "bar", name: t("chart.saturated"), x, y: layers.map((l) => l.activation.saturated_fraction ?? 0), marker: { color: "#e07b39" } },
      { type: "bar", name: t("chart.zeroOutputs"), x, y: layers.map((l) => l.activation.dead_fraction ?? 0), marker: { color: "#9aa3ad" } },
      { type: "bar", name: t("chart.dead"), x, y: layers.map((l) => l.activation.dead_units ?? null), marker: { color: "#3b4450" } },
    ];
    draw(card.plot, data, baseLayout({ datarevision: run.revision, barmode: "group", yaxis: { range: [0, 1], tickformat: ".0%" }, xaxis: { type: "category" } }));
  };
  return card;
}

function pct(x) {
  return typeof x === "number" ? `${(x * 100).toFixed(1)}%` : "–";
}
