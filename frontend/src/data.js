// The data panel: every dataset in the catalog, its settings, and a preview (points or sample images).

import { api } from "./api.js";
import { debounce, h, newId, render } from "./dom.js";
import { reapplyErrors } from "./errors.js";
import { parseNumber } from "./fields.js";
import { help, onLang, t } from "./i18n.js";
import { defaultLayer } from "./editor.js";
import { getCatalog, getSpec, subscribe, update as updateSpec } from "./state.js";
import { baseLayout, CLASS_COLORS, PLOT_CONFIG, plotly } from "./charts/plot.js";
import { drawTabularPreview, uploadForm, uploadInfo } from "./upload.js";

let root = null;
const cache = new Map();
let previewSeq = 0;
let uploadOpen = false; // the upload form stays open across the panel's re-renders

function update(mutate, opts = {}) {
  updateSpec(mutate, { ...opts, source: "data" });
}

/** Two inputs on a plane: the 2-D sets, and an upload of two feature columns (a boundary and unit maps, as the server's). */
export function isPlanar(info) {
  return info.kind === "toy2d" || (info.kind === "tabular" && info.input_shape?.length === 1 && info.input_shape[0] === 2);
}

export function datasetInfo(name) {
  return getCatalog().datasets.find((d) => d.name === name) || { name, kind: "toy2d", task: "classification", n_classes: 2 };
}

/** The preview query for a dataset spec: only what changes the points or their train/test split. */
export function previewParams(dataset, seed) {
  return {
    name: dataset.name,
    seed,
    noise: dataset.noise,
    n_samples: dataset.n_samples,
    test_fraction: dataset.test_fraction,
    train_limit: dataset.train_limit,
  };
}

/** GET /api/datasets/{name}/preview, cached by its parameters (the boundary chart reuses it). */
export function loadPreview(dataset, seed) {
  const params = previewParams(dataset, seed);
  const key = JSON.stringify(params);
  if (!cache.has(key)) {
    const promise = api.preview(params).catch((err) => {
      cache.delete(key);
      throw err;
    });
    cache.set(key, promise);
    if (cache.size > 20) cache.delete(cache.keys().next().value);
  }
  return cache.get(key);
}

/** Make the rest of the setup fit a new dataset: loss and output for the task, features for 2-D sets, a flatten for images. */
function adaptTo(spec, info, before) {
  if (info.task !== before.task) {
    spec.training.loss = info.task === "regression" ? "mse" : "cross_entropy";
    spec.model.output.activation = info.task === "regression" ? "identity" : "softmax";
  }
  if (info.kind !== "toy2d") spec.dataset.features = ["x1", "x2"];
  if (info.kind === "image" && before.kind !== "image") {
    const layers = spec.model.layers;
    const firstDense = layers.findIndex((l) => l.type === "dense");
    const spatial = layers.findIndex((l) => ["conv2d", "maxpool2d", "avgpool2d", "flatten"].includes(l.type));
    if (firstDense >= 0 && (spatial < 0 || spatial > firstDense)) layers.splice(firstDense, 0, defaultLayer("flatten"));
  }
  if (info.kind !== "image" && before.kind === "image") {
    spec.model.layers = spec.model.layers.filter((l) => !["conv2d", "maxpool2d", "avgpool2d", "flatten", "lrn"].includes(l.type));
  }
}

function row(labelText, control, id, extra = null, loc = null) {
  return h(
    "div",
    {},
    h("div", { class: "row" }, h("label", { for: id }, labelText), h("div", { class: "ctl" }, control, extra)),
    loc ? h("p", { class: "field-error", "data-error-for": loc, "aria-live": "polite" }) : null,
  );
}

function slider({ id, loc, min, max, step, value, onInput }) {
  const out = h("output", { for: id }, String(value));
  const input = h("input", { type: "range", id, min, max, step, value: String(value), "data-loc": loc, "data-key": loc });
  input.addEventListener("input", () => {
    out.textContent = input.value;
    onInput(Number(input.value));
  });
  return [input, out];
}

function numberInput({ id, loc, value, min, max, placeholder = "", onValue, integer = true }) {
  const input = h("input", { type: "number", id, min, max, step: integer ? 1 : "any", value: value ?? "", placeholder, "data-loc": loc, "data-key": loc });
  input.addEventListener("input", () => {
    const x = parseNumber(input.value, integer);
    if (!Number.isNaN(x)) onValue(x);
  });
  return input;
}

function draw() {
  const cat = getCatalog();
  const spec = getSpec();
  const ds = spec.dataset;
  const info = datasetInfo(ds.name);
  const kinds = [...new Set(cat.datasets.map((d) => d.kind))];
  const selId = newId("ds");
  const select = h(
    "select",
    { id: selId, "data-loc": "dataset.name", "data-key": "dataset.name" },
    kinds.map((kind) =>
      h(
        "optgroup",
        { label: t(`data.kind.${kind}`, {}, kind) },
        cat.datasets.filter((d) => d.kind === kind).map((d) => h("option", { value: d.name, selected: d.name === ds.name }, d.title || d.name)),
      ),
    ),
  );
  select.addEventListener("change", () => choose(select.value));
  const taskText = info.task === "regression" ? t("data.task.regression") : t("data.task.classification", { n: info.n_classes });
  const toy = info.kind === "toy2d";

  const rows = [
    row(t("data.dataset"), select, selId, null, "dataset.name"),
    info.kind === "tabular"
      ? uploadInfo(info, () => choose(cat.defaults.dataset.name), () => draw())
      : h("p", { class: "hint" }, `${t(`ds.${ds.name}`, {}, info.description)} — ${taskText}`),
  ];
  if (toy) {
    const noiseId = newId("noise");
    rows.push(row(t("data.noise"), [slider({ id: noiseId, loc: "dataset.noise", min: 0, max: 0.5, step: 0.05, value: ds.noise, onInput: (v) => update((s) => (s.dataset.noise = v)) })], noiseId, null, "dataset.noise"), h("p", { class: "hint" }, help("data", "noise")));
    const nId = newId("n");
    rows.push(row(t("data.samples"), numberInput({ id: nId, loc: "dataset.n_samples", value: ds.n_samples, min: 10, max: cat.limits.max_samples, onValue: (v) => v !== null && update((s) => (s.dataset.n_samples = v)) }), nId, null, "dataset.n_samples"));
  }
  const tfId = newId("tf");
  rows.push(row(t("data.testFraction"), slider({ id: tfId, loc: "dataset.test_fraction", min: 0.1, max: 0.9, step: 0.05, value: ds.test_fraction, onInput: (v) => update((s) => (s.dataset.test_fraction = v)) }), tfId, null, "dataset.test_fraction"));
  const tlId = newId("tl");
  rows.push(
    row(t("data.trainLimit"), numberInput({ id: tlId, loc: "dataset.train_limit", value: ds.train_limit, min: 1, placeholder: t("data.trainLimitAll"), onValue: (v) => update((s) => (s.dataset.train_limit = v)) }), tlId, null, "dataset.train_limit"),
    h("p", { class: "hint" }, help("data", "trainLimit")),
  );
  if (toy) {
    const featureBoxes = cat.features.map((f) => {
      const box = h("input", { type: "checkbox", value: f, checked: ds.features.includes(f), "data-key": `feature-${f}` });
      box.addEventListener("change", () =>
        update((s) => {
          const set = new Set(s.dataset.features);
          if (box.checked) set.add(f);
          else set.delete(f);
          s.dataset.features = cat.features.filter((x) => set.has(x));
        }),
      );
      return h("label", {}, box, f);
    });
    rows.push(
      h(
        "fieldset",
        { "data-loc": "dataset.features" },
        h("legend", { class: "hint" }, t("data.features")),
        h("div", { class: "chips" }, featureBoxes),
        h("p", { class: "hint" }, help("data", "features")),
        h("p", { class: "field-error", "data-error-for": "dataset.features", "aria-live": "polite" }),
      ),
    );
  }
  const seedId = newId("seed");
  rows.push(row(t("data.seed"), numberInput({ id: seedId, loc: "seed", value: spec.seed, min: 0, onValue: (v) => v !== null && update((s) => (s.seed = v)) }), seedId, null, "seed"));
  rows.push(h("div", { class: "preview", id: "data-preview", "aria-label": t("data.preview"), role: info.kind === "tabular" ? "group" : "img" }));
  const upload = h(
    "details",
    { class: "upload-box", open: uploadOpen },
    h("summary", {}, t("upload.title")),
    uploadForm((entry) => choose(entry.name)),
  );
  upload.addEventListener("toggle", () => (uploadOpen = upload.open));
  rows.push(upload);

  render(
    root,
    h(
      "details",
      { open: true },
      h("summary", {}, h("h2", { id: "data-title" }, t("data.title")), h("span", { class: "panel-extra" }, ds.name)),
      h("div", { class: "panel-body" }, rows),
    ),
  );
  reapplyErrors();
  refreshPreview();
}

/** Switch the setup to another dataset (a built-in one, or an upload), fitting loss, output and layers to it. */
function choose(name) {
  const before = datasetInfo(getSpec().dataset.name);
  const next = datasetInfo(name);
  update(
    (s) => {
      s.dataset.name = name;
      adaptTo(s, next, before);
    },
    { structural: true },
  );
}

const refreshPreview = debounce(async () => {
  const box = root.querySelector("#data-preview");
  if (!box) return;
  const spec = getSpec();
  const seq = ++previewSeq;
  if (!box.firstChild) box.replaceChildren(h("p", { class: "empty-note" }, t("data.loadingPreview")));
  try {
    const data = await loadPreview(spec.dataset, spec.seed);
    if (seq !== previewSeq) return;
    drawPreview(box, data, datasetInfo(spec.dataset.name));
  } catch (err) {
    if (seq !== previewSeq) return;
    box.replaceChildren(h("p", { class: "empty-note" }, t("data.previewFailed", { msg: err.message })));
  }
}, 200);

const KEY_GREY = "#5f6b7a";

/** A legend entry with a fixed look and no points of its own. */
function legendKey(name, marker) {
  return { type: "scatter", mode: "markers", name, x: [null], y: [null], marker, hoverinfo: "skip", showlegend: true };
}

/** Scatter traces for 2-D points: train filled, test ringed; classes in TensorFlow Playground's orange and blue.
 * The legend is a fixed key (train, test, then one swatch per class): the point traces' own legend symbols would take
 * their first point's colour, which changes with the data and says nothing about which colour is which class. */
export function pointTraces(data, task, { size = 5, crange = null } = {}) {
  const traces = [];
  let classes = 0;
  for (const [part, filled] of [
    ["train", true],
    ["test", false],
  ]) {
    const pts = data[part];
    if (!pts || !pts.x) continue;
    const marker = { size, line: { width: filled ? 0.6 : 1.4, color: filled ? "#fff" : undefined } };
    if (task === "regression") {
      Object.assign(marker, { color: pts.label, colorscale: "RdBu", showscale: false });
      if (crange) Object.assign(marker, { cmin: crange[0], cmax: crange[1] });
      if (!filled) marker.line.color = pts.label.map(() => "#333");
    } else {
      const colors = pts.label.map((c) => CLASS_COLORS[c % CLASS_COLORS.length]);
      for (const c of pts.label) if (c + 1 > classes) classes = c + 1;
      if (filled) marker.color = colors;
      else Object.assign(marker, { color: "rgba(0,0,0,0)", line: { width: 1.5, color: colors } });
    }
    traces.push({
      type: "scatter",
      mode: "markers",
      name: t(`data.${part}`),
      x: pts.x,
      y: pts.y,
      marker,
      hoverinfo: "skip",
      showlegend: false,
    });
  }
  traces.push(
    legendKey(t("data.train"), { size: 7, color: KEY_GREY, line: { width: 0.6, color: "#fff" } }),
    legendKey(t("data.test"), { size: 7, color: "rgba(0,0,0,0)", line: { width: 1.5, color: KEY_GREY } }),
  );
  // an upload's classes by the labels its file gives them (cat, dog), the built-in sets' by number
  const named = (c) => data.class_names?.[c] ?? t("chart.class", { n: c });
  for (let c = 0; c < Math.min(classes, CLASS_COLORS.length); c += 1) traces.push(legendKey(named(c), { size: 9, symbol: "square", color: CLASS_COLORS[c] }));
  return traces;
}

function drawPreview(box, data, info) {
  if (data.kind === "tabular") {
    drawTabularPreview(box, data);
    return;
  }
  if (data.kind === "image") {
    const [c, hgt, wid] = data.shape;
    const figs = data.images.slice(0, 32).map((pixels, i) => {
      const canvas = h("canvas", { width: wid, height: hgt });
      paintImage(canvas, pixels, c, hgt, wid);
      const name = data.class_names ? data.class_names[data.labels[i]] : data.labels[i];
      return h("figure", {}, canvas, h("figcaption", {}, String(name)));
    });
    box.setAttribute("aria-label", `${t("data.preview")}: ${info.name}`);
    box.replaceChildren(h("div", { class: "image-grid" }, figs));
    return;
  }
  const plot = h("div", { class: "preview-plot" });
  box.replaceChildren(plot);
  const layout = baseLayout({
    margin: { l: 28, r: 8, t: 6, b: 22 },
    xaxis: { range: [-6.2, 6.2], zeroline: false, fixedrange: true, constrain: "domain" },
    yaxis: { range: [-6.2, 6.2], zeroline: false, fixedrange: true, scaleanchor: "x", constrain: "domain" },
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", font: { size: 10 } },
  });
  plotly().react(plot, pointTraces(data, info.task, { size: 4.5 }), layout, PLOT_CONFIG);
}

/** Draws one flat [C*H*W] image (values 0..1) on a canvas. */
export function paintImage(canvas, pixels, c, hgt, wid, { signed = false } = {}) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(wid, hgt);
  const plane = hgt * wid;
  for (let i = 0; i < plane; i += 1) {
    for (let ch = 0; ch < 3; ch += 1) {
      let v = pixels[(c === 3 ? ch : 0) * plane + i];
      if (signed) v = (v + 1) / 2;
      img.data[i * 4 + ch] = Math.max(0, Math.min(255, Math.round(v * 255)));
    }
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export function mountData(el) {
  root = el;
  draw();
  subscribe((reason, _spec, source) => {
    if (reason === "replace" || (reason === "structure" && source === "data")) draw();
    else if (source === "data") refreshPreview();
  });
  onLang(draw);
}
