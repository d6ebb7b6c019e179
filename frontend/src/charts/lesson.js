// The charts of a lesson's view, each with every variant overlaid or side by side: loss against iterations, accuracy
// curves, the gradient by depth, each layer's activation histogram at epoch 0 (all layers of all variants on one shared
// range per activation, as the book draws them), and the first filters at epoch 0 beside the trained ones.

import { loadPreview, paintImage, pointTraces } from "../data.js";
import { h } from "../dom.js";
import { getLang, t } from "../i18n.js";
import { findFilters } from "./filters.js";
import { baseLayout, draw, plotText, RUN_COLORS } from "./plot.js";

const label = (v) => (v.label ? v.label[getLang()] || v.label.en : v.id);
const CURVES = {
  loss_steps: { y: ["train_loss"], x: "iterations" },
  loss: { y: ["train_loss"], x: "epoch" },
  test_accuracy: { y: ["test_accuracy"], x: "epoch", percent: true },
  train_accuracy: { y: ["train_accuracy"], x: "epoch", percent: true },
  train_test_accuracy: { y: ["test_accuracy", "train_accuracy"], x: "epoch", percent: true },
};

/** The cards for a lesson's charts, in its order; drawLessonCharts fills them. */
export function lessonCharts(lesson) {
  const cards = lesson.charts.map((kind) => {
    const body = h("div", { class: { filters: "lesson-filters", activation_histograms: "lesson-hists", boundary: "lesson-boundaries" }[kind] || "plot" });
    const wide = ["activation_histograms", "filters", "boundary"].includes(kind);
    const el = h("article", { class: `chart-card${wide ? " wide" : ""}`, "data-chart": kind }, h("h3", {}, t(`lessons.chart.${kind}`)), body);
    return { kind, el, body };
  });
  return { lessonId: lesson.id, cards, el: h("div", { class: "charts lesson-charts" }, cards.map((c) => c.el)) };
}

export function drawLessonCharts(charts, active) {
  for (const card of charts.cards) {
    if (CURVES[card.kind]) curves(card, active, CURVES[card.kind]);
    else if (card.kind === "grad_depth") gradDepth(card, active);
    else if (card.kind === "activation_histograms") histograms(card, active);
    else if (card.kind === "filters") filters(card, active);
    else if (card.kind === "boundary") boundaries(card, active);
  }
}

function variants(active) {
  return active.lesson.variants.map((v, i) => ({ v, i, run: active.runs[v.id], color: RUN_COLORS[i % RUN_COLORS.length] }));
}

function curves(card, active, how) {
  const traces = [];
  for (const { v, run, color } of variants(active)) {
    const m = run && run.metrics;
    if (!m || !m.epoch) continue;
    const per = v.steps_per_epoch || 1;
    // against iterations: the trainer's loss every k steps where the events carry it, else each epoch's at its last step
    const steps = how.x === "iterations" && run.steps && run.steps.x.length > 1 ? run.steps : null;
    const x = steps ? steps.x : how.x === "iterations" ? m.epoch.map((e) => e * per) : m.epoch;
    how.y.forEach((key, k) => {
      traces.push({
        x,
        y: steps ? steps.y : m[key] || [],
        name: plotText(label(v)),
        legendgroup: v.id,
        showlegend: k === 0,
        mode: x.length <= 30 ? "lines+markers" : "lines",
        marker: { size: 4 },
        line: { color, width: k === 0 ? 2 : 1.5, dash: k === 0 ? "solid" : "dot" },
      });
    });
  }
  const xaxis = { title: { text: how.x === "iterations" ? t("lessons.axis.iterations") : t("chart.epoch") }, tickformat: "d" };
  const yaxis = how.percent ? { range: [0, 1.02], tickformat: ".0%" } : { rangemode: "tozero" };
  // many runs: the legend goes below the plot and the card grows, so the curves keep their room on a phone
  const many = active.lesson.variants.length > 4;
  card.body.classList.toggle("many", many);
  const legend = many ? { orientation: "h", x: 0, y: -0.2, yanchor: "top", font: { size: 11 } } : undefined;
  draw(card.body, traces, baseLayout({ xaxis, yaxis, ...(legend ? { legend } : {}) }));
}

function gradDepth(card, active) {
  const traces = [];
  for (const { v, run, color } of variants(active)) {
    const grads = run && run.metrics && run.metrics.grad_norm;
    if (!grads) continue;
    const names = Object.keys(grads);
    const means = names.map((name) => {
      const values = grads[name].slice(1).filter((x) => typeof x === "number" && x > 0);
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    });
    traces.push({ x: names, y: means, name: plotText(label(v)), mode: "lines+markers", line: { color, width: 2 } });
  }
  draw(card.body, traces, baseLayout({ xaxis: { title: { text: t("lessons.axis.layer") } }, yaxis: { type: "log", exponentformat: "power" } }));
}

/** Hidden layers' activation histograms at epoch 0: one row a variant, one column a layer. */
function histograms(card, active) {
  const rows = variants(active).map(({ v, run, color }) => {
    const layers = ((run && run.first && run.first.layers) || []).filter((l) => l.name !== "output" && l.activation && l.activation.hist);
    return { v, color, layers, act: activationOf(v) };
  });
  // one range per activation across every layer and run: the spread shows against the others', not rescaled away
  const ranges = new Map();
  for (const row of rows) {
    for (const l of row.layers) {
      const e = l.activation.hist.edges;
      const r = ranges.get(row.act) || [Infinity, -Infinity];
      ranges.set(row.act, [Math.min(r[0], e[0]), Math.max(r[1], e.at(-1))]);
    }
  }
  if (!card.rows || card.rows.length !== rows.length) {
    card.rows = rows.map(({ v }) => {
      const plot = h("div", { class: "plot hist-row" });
      const note = h("p", { class: "empty-note" }, t("lessons.noData"));
      return { el: h("figure", { class: "hist-figure", "data-variant": v.id }, h("figcaption", {}, label(v)), note, plot), plot, note };
    });
    card.body.replaceChildren(...card.rows.map((r) => r.el));
  }
  rows.forEach((row, i) => {
    const target = card.rows[i];
    target.el.querySelector("figcaption").textContent = label(row.v);
    target.note.hidden = row.layers.length > 0;
    target.plot.hidden = !row.layers.length;
    if (!row.layers.length) return;
    const n = row.layers.length;
    const range = ranges.get(row.act);
    const span = range[1] - range[0];
    const zerosAt = range[0] - span / 25; // exact zeros (ReLU, step) get their own bar, left of the range
    const hasZeros = row.layers.some((l) => typeof l.activation.hist.zeros === "number");
    const xrange = hasZeros ? [zerosAt - span / 25, range[1]] : range;
    const traces = [];
    const zeroShare = [];
    let top = 0; // the row's tallest bar but the zeros': one y scale for its five layers, the zeros bar may go past it
    row.layers.forEach((l, k) => {
      const { edges, counts, zeros } = l.activation.hist;
      const total = counts.reduce((a, b) => a + b, 0) + (zeros || 0) || 1;
      const axis = k === 0 ? "" : String(k + 1);
      const on = { xaxis: `x${axis}`, yaxis: `y${axis}`, showlegend: false };
      const centers = counts.map((_, j) => (edges[j] + edges[j + 1]) / 2);
      const widths = counts.map((_, j) => Math.max(edges[j + 1] - edges[j], span / 200));
      const shares = counts.map((c) => c / total);
      top = Math.max(top, ...shares);
      traces.push({ type: "bar", x: centers, y: shares, width: widths, marker: { color: row.color }, name: l.name, ...on, hovertemplate: `${plotText(l.name)}<br>%{x:.3g}: %{y:.1%}<extra></extra>` });
      zeroShare.push(typeof zeros === "number" ? zeros / total : null);
      if (typeof zeros === "number") {
        traces.push({ type: "bar", x: [zerosAt], y: [zeros / total], width: [span / 25], marker: { color: "#9aa5b1" }, name: "= 0", meta: "zeros", ...on, hovertemplate: `${plotText(l.name)}<br>= 0: %{y:.1%}<extra></extra>` });
      }
    });
    const ymax = Math.min(1, Math.max(0.05, top * 1.15));
    const layout = baseLayout({ showlegend: false, barmode: "overlay", margin: { l: 36, r: 6, t: 18, b: 26 }, grid: { rows: 1, columns: n, pattern: "independent" }, annotations: [] });
    row.layers.forEach((l, k) => {
      const axis = k === 0 ? "" : String(k + 1);
      const mid = (range[0] + range[1]) / 2;
      const ticks = hasZeros ? { tickvals: [zerosAt, mid, range[1]], ticktext: ["=0", fmtTick(mid), fmtTick(range[1])] } : { nticks: 4 };
      layout[`xaxis${axis}`] = { range: xrange, gridcolor: "#eef0f3", tickfont: { size: 9 }, tickangle: 0, ...ticks };
      layout[`yaxis${axis}`] = { range: [0, ymax], tickformat: ".0%", gridcolor: "#eef0f3", tickfont: { size: 9 }, showticklabels: k === 0 };
      const title = zeroShare[k] === null ? l.name : `${l.name} · =0 ${(100 * zeroShare[k]).toFixed(0)}%`;
      layout.annotations.push({ text: plotText(title), xref: `x${axis} domain`, yref: `y${axis} domain`, x: 0.5, y: 1.12, showarrow: false, font: { size: 10 } });
    });
    draw(target.plot, traces, layout);
  });
}

function fmtTick(x) {
  return Number(x.toPrecision(2)).toString();
}

function activationOf(variant) {
  const dense = variant.spec.model.layers.find((l) => l.type === "dense");
  return dense ? dense.activation : "";
}

/** Epoch 0's filters beside the last epoch's, each filter scaled to its own largest weight (mid grey is 0). */
function filters(card, active) {
  const { v, run } = variants(active)[0];
  const before = findFilters(run && run.first);
  const after = findFilters(run && run.done ? run.last : null);
  const grid = (f, title) =>
    h(
      "figure",
      { class: "filters-side" },
      h("figcaption", {}, title),
      h(
        "div",
        { class: "filters-grid" },
        f ? Array.from({ length: Math.min(f.shape[0], 64) }, (_, i) => filterCanvas(f, i)) : h("p", { class: "empty-note" }, t("lessons.noData")),
      ),
    );
  const epochs = run && run.last ? run.last.epoch : v.spec.training.epochs;
  card.body.replaceChildren(grid(before, t("lessons.filters.before")), grid(after, t("lessons.filters.after", { n: epochs })));
}

function filterCanvas(f, i) {
  const [, c, kh, kw] = f.shape;
  const per = c * kh * kw;
  const slice = f.values.slice(i * per, (i + 1) * per);
  const scale = Math.max(1e-12, ...slice.map(Math.abs));
  const canvas = h("canvas", { width: kw, height: kh, title: `#${i + 1}` });
  paintImage(canvas, slice.map((x) => x / scale), c === 3 ? 3 : 1, kh, kw, { signed: true });
  return canvas;
}

/** Orange for class 0, white at 0.5, blue for class 1, as the playground's boundary. */
const BINARY = [
  [0, "#f59322"],
  [0.5, "#f7f7f7"],
  [1, "#0877bd"],
];

/** Each variant's decision boundary at its last epoch, side by side, under the same data points. */
function boundaries(card, active) {
  const rows = variants(active);
  if (!card.figures) {
    card.figures = rows.map(({ v }) => {
      const plot = h("div", { class: "plot boundary-plot" });
      return { el: h("figure", { class: "boundary-figure", "data-variant": v.id }, h("figcaption", {}, label(v)), plot), plot };
    });
    card.body.replaceChildren(...card.figures.map((f) => f.el));
    const { dataset } = rows[0].v.spec;
    loadPreview(dataset, rows[0].v.spec.seed)
      .then((points) => {
        card.points = points;
        drawBoundaries(card, rows);
      })
      .catch(() => {}); // the boundaries still show without their points
  }
  drawBoundaries(card, rows);
}

function drawBoundaries(card, rows) {
  rows.forEach(({ run }, i) => {
    const b = run && run.done && run.last && run.last.boundary;
    const target = card.figures[i];
    if (!b || !b.z) return;
    const heat = { type: "heatmap", x: b.x, y: b.y, z: b.z, showscale: false, hoverinfo: "skip", opacity: 0.75, zsmooth: "best", colorscale: BINARY, zmin: 0, zmax: 1 };
    const range = [b.x[0], b.x.at(-1)];
    const layout = baseLayout({
      showlegend: false,
      margin: { l: 28, r: 6, t: 4, b: 24 },
      xaxis: { range, zeroline: false, showgrid: false, constrain: "domain" },
      yaxis: { range: [b.y[0], b.y.at(-1)], zeroline: false, showgrid: false, scaleanchor: "x", constrain: "domain" },
    });
    draw(target.plot, [heat, ...(card.points ? pointTraces(card.points, "classification", { size: 4 }) : [])], layout);
  });
}
