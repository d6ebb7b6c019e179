// A tiny dense layer's actual numbers: its weight matrix W (one row per unit, one column per input) and bias b,
// drawn as a labelled grid. The trainer sends the values for layers with at most 100 weights.

import { t } from "../i18n.js";
import { chartCard } from "./card.js";
import { baseLayout, draw, extent } from "./plot.js";

/** W as rows (units) of columns (inputs), whether the event sends it nested or flat with a shape. */
export function weightRows(layer) {
  const w = layer && layer.weights;
  if (!Array.isArray(w) || !w.length) return null;
  if (Array.isArray(w[0])) return w;
  const cols = Array.isArray(layer.weights_shape) ? layer.weights_shape[1] : w.length;
  const rows = [];
  for (let i = 0; i < w.length; i += cols) rows.push(w.slice(i, i + cols));
  return rows;
}

export function valuesChart() {
  const card = chartCard({ id: "chart-values", titleKey: "chart.values", helpKey: "help.chart.values", picker: true });
  card.applies = (run) => !run.isImage;
  card.update = (run) => {
    const small = ((run.last && run.last.layers) || []).filter((l) => weightRows(l));
    if (!small.length) {
      card.message(t("chart.noValues"));
      return;
    }
    card.message("");
    const name = card.setLayers(small.map((l) => l.name));
    const layer = small.find((l) => l.name === name) || small[0];
    const rows = weightRows(layer);
    const bias = Array.isArray(layer.bias) ? layer.bias.flat() : null;
    const nIn = rows[0].length;
    const x = [...Array.from({ length: nIn }, (_, j) => `w·${j + 1}`), ...(bias ? ["b"] : [])];
    const y = rows.map((_, i) => `${t("chart.unit")} ${i + 1}`);
    const z = rows.map((r, i) => [...r, ...(bias ? [bias[i]] : [])]);
    const span = Math.max(1e-6, extent(z.flat().map(Math.abs))?.[1] ?? 0);
    const data = [
      {
        type: "heatmap",
        x,
        y,
        z,
        zmin: -span,
        zmax: span,
        colorscale: [
          [0, "#f59322"],
          [0.5, "#f7f7f7"],
          [1, "#0877bd"],
        ],
        showscale: false,
        xgap: 2,
        ygap: 2,
        texttemplate: nIn <= 12 ? "%{z:.2f}" : "",
        textfont: { size: 11 },
        hovertemplate: "%{y}, %{x}: %{z:.4f}<extra></extra>",
      },
    ];
    draw(card.plot, data, baseLayout({ datarevision: `${run.revision}:${layer.name}`, showlegend: false, xaxis: { type: "category", side: "top", title: { text: "" } }, yaxis: { type: "category", autorange: "reversed" }, margin: { l: 64, r: 8, t: 28, b: 8 } }));
  };
  return card;
}
