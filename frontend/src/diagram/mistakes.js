// What an image network gets wrong: the fixed sample of test images with true and predicted class and confidence
// (wrong ones marked), and the test set's confusion matrix. Both follow the newest epoch, or the one showEpoch pins.
// Reads the events' `samples` (columns index, label, pred, prob; the pixels once a run) and `confusion` (rows: true
// class), as docs/api.md describes them.

import { h } from "../dom.js";
import { getLang, onLang, t } from "../i18n.js";
import { datasetInfo, paintImage } from "../data.js";
import { getSpec, subscribe } from "../state.js";
import { baseLayout, draw, purge } from "../charts/plot.js";
import { shapeKey, snapshotAt } from "./model.js";
import { onPin, pinned } from "./epoch.js";

let root = null;
let grid = null;
let matrix = null;
let note = null;
let run = null;
let drawn = { samples: undefined, confusion: undefined, lang: null };

/** A class's name in the page's language (digits are their own names). */
export function className(dataset, i) {
  return t(`class.${dataset}.${i}`, {}, String(i));
}

/** samples ({index, label, pred, prob}: columns) as a list of {label, predicted, probability}. */
export function sampleList(samples) {
  if (!samples || !Array.isArray(samples.label)) return [];
  return samples.label.map((label, i) => ({ label, predicted: samples.pred?.[i], probability: samples.prob?.[i] ?? null }));
}

/** The sample images' pixels and shape: the server sends them once a run, on the first event with samples. */
function pixelsOf(events) {
  const ev = events.find((e) => e.samples && !Array.isArray(e.samples) && Array.isArray(e.samples.images));
  return ev ? { images: ev.samples.images, shape: ev.samples.shape } : { images: [], shape: null };
}

function imageShape(shape, n) {
  if (Array.isArray(shape) && shape.length === 3) return shape;
  const side = Math.round(Math.sqrt(n));
  return [1, side, side];
}

function drawSamples(ev, pixels) {
  const dataset = run.spec.dataset.name;
  const list = sampleList(ev && ev.samples).map((item, i) => ({ ...item, image: pixels.images[i] || null }));
  if (!list.length) {
    grid.replaceChildren();
    return;
  }
  const figs = list.map((s) => {
    const wrong = s.predicted !== s.label;
    const pct = typeof s.probability === "number" ? `${Math.round(100 * s.probability)}%` : "";
    const figure = h(
      "figure",
      { class: "nd-sample", "data-wrong": String(wrong), "data-label": s.label, "data-predicted": s.predicted },
      s.image ? sampleCanvas(s.image, imageShape(pixels.shape, s.image.length)) : h("span", { class: "nd-sample-noimg" }, className(dataset, s.label)),
      // One short line under a small image: "4→9 62%" for a mistake (true → predicted), "✓7 98%" when right.
      h(
        "figcaption",
        {},
        wrong ? h("span", { class: "nd-true" }, `${className(dataset, s.label)}→`) : null,
        h("span", { class: "nd-pred" }, `${wrong ? "" : "✓"}${className(dataset, s.predicted)} ${pct}`),
      ),
    );
    figure.title = t(wrong ? "mistakes.wrongTitle" : "mistakes.rightTitle", { label: className(dataset, s.label), pred: className(dataset, s.predicted), pct });
    return figure;
  });
  grid.replaceChildren(...figs);
  const wrongCount = list.filter((s) => s.predicted !== s.label).length;
  grid.setAttribute("aria-label", t("mistakes.gridLabel", { n: list.length, wrong: wrongCount }));
}

function sampleCanvas(pixels, [c, hgt, wid]) {
  const canvas = h("canvas", { width: wid, height: hgt });
  paintImage(canvas, pixels, c, hgt, wid);
  return canvas;
}

function drawConfusion(ev) {
  const m = ev && Array.isArray(ev.confusion) ? ev.confusion : null;
  if (!m) {
    purge(matrix);
    matrix.replaceChildren();
    return;
  }
  const dataset = run.spec.dataset.name;
  const names = m.map((_, i) => className(dataset, i));
  const totals = m.map((row) => row.reduce((a, b) => a + b, 0) || 1);
  // Colour by the share of each true class (a row), so a rare class's mistakes show as clearly as a common one's.
  const share = m.map((row, i) => row.map((v) => v / totals[i]));
  const data = [
    {
      type: "heatmap",
      x: names,
      y: names,
      z: share,
      customdata: m,
      text: m.map((row) => row.map((v) => (v ? String(v) : ""))),
      texttemplate: "%{text}",
      textfont: { size: 10 },
      colorscale: [
        [0, "#ffffff"],
        [0.2, "#c6dbef"],
        [1, "#08306b"],
      ],
      zmin: 0,
      zmax: 1,
      showscale: false,
      hovertemplate: `${t("mistakes.true")} %{y} → ${t("mistakes.predicted")} %{x}: %{customdata}<extra></extra>`,
    },
  ];
  draw(
    matrix,
    data,
    baseLayout({
      showlegend: false,
      margin: { l: 70, r: 8, t: 8, b: 60 },
      xaxis: { title: { text: t("mistakes.predicted") }, type: "category", tickangle: names.some((n) => n.length > 3) ? -40 : 0, showgrid: false },
      yaxis: { title: { text: t("mistakes.true") }, type: "category", autorange: "reversed", showgrid: false },
    }),
  );
  matrix.dataset.epoch = String(ev.epoch);
}

function paint() {
  if (!root) return;
  const image = datasetInfo(getSpec().dataset.name).kind === "image";
  root.hidden = !image;
  if (!image) return;
  const fits = run && run.epochs && run.epochs.length && shapeKey(run.spec) === shapeKey(getSpec());
  const events = fits ? run.richEvents || (run.last ? [run.last] : []) : [];
  const snap = fits ? snapshotAt(events, pinned()) : null;
  const s = snap && snap.samples;
  const c = snap && snap.confusion;
  note.textContent = !fits ? t("mistakes.waiting") : !s && !c ? t("mistakes.notYet") : t("mistakes.epoch", { e: (s || c).epoch });
  root.dataset.epoch = s || c ? String((s || c).epoch) : "";
  const lang = getLang();
  if (drawn.samples !== (s || null) || drawn.lang !== lang) {
    if (s) drawSamples(s, pixelsOf(events));
    else grid.replaceChildren();
    grid.dataset.epoch = s ? String(s.epoch) : "";
  }
  if (drawn.confusion !== (c || null) || drawn.lang !== lang) drawConfusion(c);
  drawn = { samples: s || null, confusion: c || null, lang };
}

function build() {
  grid = h("div", { class: "nd-samples", id: "sample-grid", role: "group" });
  matrix = h("div", { class: "nd-confusion", id: "confusion-matrix", role: "img", "aria-label": t("mistakes.confusion") });
  note = h("p", { class: "hint", id: "mistakes-note" });
  root.replaceChildren(
    h("h2", { id: "mistakes-title" }, t("mistakes.title")),
    note,
    h("div", { class: "nd-mistakes-body" }, h("section", { "aria-labelledby": "samples-title" }, h("h3", { id: "samples-title" }, t("mistakes.samples")), grid), h("section", { "aria-labelledby": "confusion-title" }, h("h3", { id: "confusion-title" }, t("mistakes.confusion")), matrix)),
  );
  drawn = { samples: undefined, confusion: undefined, lang: null };
  paint();
}

/** Mount the panel into `el` (shown for image sets only); returns the card the dashboard draws on its schedule. */
export function mountMistakes(el) {
  root = el;
  build();
  subscribe(() => paint());
  onLang(build);
  onPin(() => paint());
  return {
    id: "mistakes",
    el: root, // shown for image sets: paint() sets `hidden` after the dashboard's own show/hide
    relabel() {},
    message(text) {
      if (!text) return;
      run = null;
      paint();
    },
    update(next) {
      run = next;
      paint();
    },
  };
}
