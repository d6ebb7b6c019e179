// The first conv layer's learned kernels, drawn as small grey images (mid grey is 0).
// Reads `filters` from the epoch event ({layer, shape: [F, C, kH, kW], values}) or from the conv layer's entry in `layers`.

import { paintImage } from "../data.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { chartCard } from "./card.js";
import { extent } from "./plot.js";

/** The first conv layer's kernels as {layer, shape, values}; the trainer sends them nested [F][C][kH][kW]. */
export function findFilters(ev) {
  if (!ev) return null;
  if (ev.filters && ev.filters.shape) return ev.filters;
  const conv = (ev.layers || []).find((l) => l.type === "conv2d" && Array.isArray(l.filters) && l.filters.length);
  if (!conv) return null;
  const f = conv.filters;
  const shape = [f.length, f[0].length, f[0][0].length, f[0][0][0].length];
  return { layer: conv.name, shape, values: f.flat(Infinity) };
}

export function filtersChart() {
  const card = chartCard({ id: "chart-filters", titleKey: "chart.filters", helpKey: "help.chart.filters" });
  card.plot.classList.remove("plot");
  card.plot.classList.add("filters-grid");
  card.applies = (run) => run.isImage;
  card.update = (run) => {
    const f = findFilters(run.last);
    if (!f) {
      card.message(t("chart.noFilters"));
      return;
    }
    card.message("");
    const [n, c, kh, kw] = f.shape;
    const values = Array.isArray(f.values) ? f.values.flat(Infinity) : [];
    const per = c * kh * kw;
    const canvases = [];
    for (let i = 0; i < Math.min(n, 64); i += 1) {
      const slice = values.slice(i * per, (i + 1) * per);
      const scale = Math.max(1e-12, extent(slice.map(Math.abs))?.[1] ?? 0);
      const canvas = h("canvas", { width: kw, height: kh, title: `${f.layer || "conv2d_1"} #${i + 1}` });
      paintImage(canvas, slice.map((v) => v / scale), c === 3 ? 3 : 1, kh, kw, { signed: true });
      canvases.push(h("figure", {}, canvas, h("figcaption", {}, `#${i + 1}`)));
    }
    card.plot.replaceChildren(...canvases);
  };
  return card;
}
