// The network diagram (#net-diagram): input features, each layer, the output, as TensorFlow Playground draws them.
//
// For the replay scrubber and other callers:
//   showEpoch(epoch)  draw the run's pictures as they were at that epoch: for each field (units, weights, boundary,
//                     samples, confusion, feature_maps) the newest snapshot at or before it; showEpoch(null) follows
//                     the newest epoch again (live). An epoch event is accepted too: showEpoch(ev) is showEpoch(ev.epoch).
//   shownEpoch()      the epoch pinned by showEpoch, or null when following the newest.
// Both also move the mistakes panel (image sets). `#net-diagram` carries data-epoch (the epoch whose unit pictures
// are drawn); each unit box carries data-unit="LAYER.INDEX" (dense_1.3) and data-hash (a hash of its picture).
// On image sets the conv, pooling, LRN and batchnorm boxes draw one test image's feature maps in
// [data-maps-of=LAYER] (data-epoch, data-shape, data-hash: maps.js), the input box that image.
//
// Structure comes from the spec being edited (state.js); pictures from the current run, shown only while the run's
// network has the same shape as the one on screen (an edit makes them stale: they go blank, not wrong).

import { h, fmt } from "../dom.js";
import { label, onLang, t } from "../i18n.js";
import { datasetInfo, isPlanar, paintImage } from "../data.js";
import { lastReport, onCheck } from "../editor.js";
import { getCatalog, getSpec, subscribe } from "../state.js";
import { findFilters } from "../charts/filters.js";
import { CLASS_COLORS } from "../charts/plot.js";
import { Edges } from "./edges.js";
import { addLayer, canChange, changeCount, removeLayer, setActivation } from "./edit.js";
import { clearGrid, paintGrid } from "./heat.js";
import { COUNT_FIELD, columns, featureGrid, maxAbs, shapeKey, snapshotAt, weightsByLayer } from "./model.js";
import { focusLayer } from "./focus.js";
import { pinned, pin, onPin } from "./epoch.js";
import { className } from "./mistakes.js";
import { hidePreview, mountPreview, showPreview } from "./preview.js";
import { MAP_KINDS, paintMaps, paintSampleImage } from "./maps.js";

const FIT_HEIGHT = 340; // px the tallest column of unit boxes aims at
const MAX_UNIT = 48; // px: a unit box of a small net (TensorFlow Playground's are about this size)
const IO_UNIT = 36; // px: inputs and outputs at least this large when a hidden layer's units are smaller
const GRID_RES = 20; // the input features' pictures (the events' units grids are this coarse by default)
const MIN_ZOOM = 0.75; // below this the boxes and labels get too small to tap and read: scroll instead

let root = null;
let body = null; // the scrolling box
let stage = null; // the positioned canvas the edges and columns live in
let info = null;
let epochLabel = null; // "epoch 12": which epoch the pictures show (the scrubber may pin an earlier one)
let edges = null;
let cols = []; // [{col, el, boxes: [element], canvases: [canvas|null]}]
let run = null;
let drawnFrom = new Map(); // what each column was last painted from (event identity), to skip unchanged repaints
let relayoutFrame = null;
let builtKey = null;

export { pinned as shownEpoch };

/** Move the diagram (and the mistakes panel) to `epoch`, or back to the newest with null. */
export function showEpoch(epoch) {
  pin(epoch && typeof epoch === "object" ? epoch.epoch : epoch);
}

// --- structure ---------------------------------------------------------------------------------------------------

/** Box size for a column's units: as large as the tallest column of pictures allows. Output units without pictures
 * (image sets: there is no plane to draw) are small class swatches. */
function unitSize(list, col, toy) {
  if (!toy) return 16;
  const fit = (n) => Math.floor(FIT_HEIGHT / Math.max(1, n)) - 4;
  const hidden = list.filter((c) => c.perUnit && c.index !== null).map((c) => c.count || 1);
  const uniform = Math.max(10, Math.min(MAX_UNIT, fit(Math.max(1, ...hidden, col.count || 1))));
  // The inputs and the output stay readable beside a tall hidden layer (TensorFlow Playground's have room to).
  return col.index === null ? Math.max(uniform, Math.min(MAX_UNIT, IO_UNIT, fit(col.count))) : uniform;
}

function activationMenu(col) {
  const cat = getCatalog();
  const choices = col.type === "output" ? cat.activations.output : cat.activations.hidden;
  const select = h(
    "select",
    { class: "nd-act", "aria-label": t("diagram.activation", { layer: col.name }), "data-key": `nd-act-${col.key}` },
    choices.map((a) => h("option", { value: a, selected: a === col.activation }, label("act", a))),
  );
  select.addEventListener("change", () => setActivation(col.index, select.value));
  return select;
}

function countControls(col) {
  const word = col.type === "conv2d" ? "filters" : "units";
  const btn = (delta, text) =>
    h(
      "button",
      {
        type: "button",
        class: "btn icon small nd-count-btn",
        "data-key": `nd-${delta > 0 ? "more" : "fewer"}-${col.key}`,
        "aria-label": t(delta > 0 ? `diagram.more.${word}` : `diagram.fewer.${word}`, { layer: col.name }),
        title: t(delta > 0 ? `diagram.more.${word}` : `diagram.fewer.${word}`, { layer: col.name }),
        disabled: !canChange(col.index, delta),
        onclick: () => changeCount(col.index, delta),
      },
      text,
    );
  return h("div", { class: "nd-count" }, btn(-1, "−"), h("span", { class: "nd-count-n" }, t(`diagram.n.${word}`, { n: fmt(col.count) })), btn(1, "+"));
}

function columnHead(col) {
  const title = col.type === "input" ? t("diagram.input") : col.type === "output" ? t("diagram.output") : col.name;
  const name =
    col.type === "input"
      ? h("span", { class: "nd-name" }, title)
      : h("button", { type: "button", class: "nd-name", "data-layer-button": col.name, title: t("diagram.openCharts", { layer: col.name }), onclick: () => pick(col.name, null) }, title);
  const parts = [name];
  if (col.index !== null && col.activation) parts.push(activationMenu(col));
  else if (col.type === "output" && getCatalog().activations) parts.push(activationMenu(col));
  if (col.index !== null && ["dense", "conv2d"].includes(col.type)) parts.push(countControls(col));
  return h("div", { class: "nd-head" }, parts);
}

function unitBox(col, i, size, dataset) {
  const canvas = h("canvas", { width: GRID_RES, height: GRID_RES, class: "nd-pic" });
  const text = col.type === "input" ? col.labels[i] : `${col.name}.${i}`;
  const box = h(
    "button",
    {
      type: "button",
      class: "nd-unit",
      "data-unit": `${col.name}.${i}`,
      "aria-label": t("diagram.unit", { unit: text }),
      title: text,
      tabindex: -1, // a mouse and touch target: the layer's name button above does the same from the keyboard
      onclick: () => pick(col.name, i),
    },
    canvas,
    col.type === "input" ? h("span", { class: "nd-feature" }, col.labels[i]) : null,
    col.type === "output" && size < 20 ? h("span", { class: "nd-class" }, className(dataset, i)) : null,
  );
  box.style.setProperty("--unit", `${size}px`);
  box.addEventListener("pointerenter", () => showPreview(box, root));
  box.addEventListener("pointerleave", hidePreview);
  return { box, canvas };
}

function layerBox(col) {
  const shape = shapeOf(col);
  const kind = col.pass ? "pass" : col.type === "input" || col.type === "output" ? "io" : col.type;
  const lines = [h("span", { class: "nd-box-type" }, col.type === "input" ? t("diagram.input") : label("layer", col.type))];
  if (col.count && !col.pass) lines.push(h("span", { class: "nd-box-count" }, t(`diagram.n.${col.type === "conv2d" ? "filters" : "units"}`, { n: fmt(col.count) })));
  lines.push(h("span", { class: "nd-shape", "data-shape-of": col.name }, shape));
  const filters = col.type === "conv2d" ? h("div", { class: "nd-filters", "data-filters-of": col.name }) : null;
  const maps = MAP_KINDS.includes(col.type) || col.type === "input" ? h("div", { class: "nd-maps", "data-maps-of": col.name }) : null;
  return h(
    col.type === "input" ? "div" : "button",
    {
      type: col.type === "input" ? null : "button",
      class: "nd-layer",
      "data-kind": kind,
      "data-layer": col.name,
      // named by what it shows (axe: a label must contain the visible text); what a click does is its description
      title: col.type === "input" ? null : t("diagram.openCharts", { layer: col.name }),
      onclick: col.type === "input" ? null : () => pick(col.name, null),
    },
    lines,
    maps,
    filters,
  );
}

function shapeOf(col) {
  const report = lastReport();
  if (!report) return "";
  if (col.type === "input") return `(${report.input_shape.join(", ")})`;
  const layer = report.layers.find((l) => l.name === col.name);
  return layer ? `(${layer.out_shape.join(", ")})` : "";
}

function build() {
  if (!root) return;
  const spec = getSpec();
  const dinfo = datasetInfo(spec.dataset.name);
  const list = columns(spec, dinfo);
  builtKey = structureKey();
  stage = h("div", { class: "nd-stage", "data-kind": dinfo.kind });
  cols = list.map((col) => {
    const el = h("div", { class: "nd-col", "data-col": col.name, "data-type": col.type });
    const boxes = [];
    const canvases = [];
    let content;
    if (col.perUnit) {
      const units = [];
      for (let i = 0; i < col.count; i += 1) {
        const { box, canvas } = unitBox(col, i, unitSize(list, col, isPlanar(dinfo)), spec.dataset.name);
        boxes.push(box);
        canvases.push(canvas);
        units.push(box);
      }
      content = h("div", { class: "nd-units" }, units);
    } else {
      const box = layerBox(col);
      boxes.push(box);
      content = h("div", { class: "nd-units" }, box);
    }
    el.append(columnHead(col), content);
    stage.append(el);
    return { col, el, boxes, canvases };
  });
  const layers = list.filter((c) => c.index !== null && COUNT_FIELD[c.type]).length; // flatten, pooling, dropout: no layer of units
  const tools = h(
    "div",
    { class: "nd-tools" },
    h("button", { type: "button", class: "btn small", id: "nd-add-layer", "data-key": "nd-add-layer", onclick: addLayer, title: t("diagram.addLayer") }, `+ ${t("diagram.layer")}`),
    h("button", { type: "button", class: "btn small", id: "nd-remove-layer", "data-key": "nd-remove-layer", disabled: !spec.model.layers.length, onclick: removeLayer, title: t("diagram.removeLayer") }, `− ${t("diagram.layer")}`),
    h("span", { class: "nd-layers" }, t("diagram.hiddenLayers", { n: layers })),
  );
  epochLabel = h("span", { class: "nd-epoch", id: "net-diagram-epoch", "aria-live": "off" });
  info = h("p", { class: "nd-info", id: "net-diagram-info" }, t(isPlanar(dinfo) ? "diagram.hint" : dinfo.kind === "tabular" ? "diagram.hintTable" : "diagram.hintImage"));
  body = h("div", { class: "nd-body" }, stage);
  const focusKey = document.activeElement && root.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  root.replaceChildren(h("div", { class: "nd-top" }, h("h2", { id: "net-diagram-title" }, t("diagram.title")), epochLabel, tools), body, info);
  if (focusKey) root.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
  edges = new Edges(stage);
  mountPreview(root);
  drawnFrom = new Map();
  paintInputs();
  scheduleLayout();
  paint();
}

function scheduleLayout() {
  if (relayoutFrame !== null) return;
  relayoutFrame = requestAnimationFrame(() => {
    relayoutFrame = null;
    if (!edges || !root || !root.offsetParent) return;
    const zoom = fit();
    edges.layout(
      cols.map((c) => ({ name: c.col.name, boxes: c.boxes, oneToOne: Boolean(c.col.pass && c.col.perUnit) })),
      zoom,
    );
    drawnFrom.delete("edges"); // new paths: style them all
    paintEdges();
  });
}

/** Shrink the drawing (CSS zoom) to the box's width, down to MIN_ZOOM; wider still, the box scrolls. A phone sees a
 * small network whole, as TensorFlow Playground's users do on a laptop. Returns the zoom applied. */
function fit() {
  stage.style.zoom = "";
  const need = stage.offsetWidth;
  const room = body.clientWidth;
  const zoom = need > room && room > 0 ? Math.max(MIN_ZOOM, room / need) : 1;
  if (zoom < 1) stage.style.zoom = String(zoom);
  stage.dataset.zoom = zoom.toFixed(2);
  return zoom;
}

// --- pictures ----------------------------------------------------------------------------------------------------

function paintInputs() {
  const input = cols.find((c) => c.col.type === "input");
  if (!input || !input.col.perUnit) return;
  input.col.features.forEach((feature, i) => {
    const grid = featureGrid(feature, GRID_RES);
    if (grid) input.boxes[i].dataset.hash = paintGrid(input.canvases[i], grid, { scale: maxAbs(grid) || 1 });
  });
}

/** The run's events whose pictures fit the network on screen, or null. */
function runEvents() {
  if (!run || !run.epochs || !run.epochs.length) return null;
  if (shapeKey(run.spec) !== shapeKey(getSpec())) return null;
  return run.richEvents || (run.last ? [run.last] : []);
}

function paint() {
  if (!root) return;
  const events = runEvents();
  const snap = events ? snapshotAt(events, pinned()) : null;
  root.dataset.epoch = snap && snap.units ? String(snap.units.epoch) : snap && snap.epoch !== null ? String(snap.epoch) : "";
  root.dataset.stale = String(Boolean(run && run.epochs && run.epochs.length && !events));
  epochLabel.textContent = root.dataset.epoch ? `${t("chart.epoch")} ${root.dataset.epoch}` : "";
  for (const c of cols) {
    if (!c.col.perUnit && (c.col.type === "input" || MAP_KINDS.includes(c.col.type))) paintLayerMaps(c, snap && snap.maps, events);
    if (c.col.type === "input") continue;
    if (c.col.type === "output") paintOutput(c, snap && snap.boundary);
    else if (c.col.perUnit) paintUnits(c, snap && snap.units);
    else if (c.col.type === "conv2d") paintFilters(c, snap && snap.layers);
  }
  paintEdges(snap);
}

function paintUnits(c, ev) {
  if (drawnFrom.get(c.col.name) === (ev || null)) return;
  drawnFrom.set(c.col.name, ev || null);
  const grids = ev && ev.units ? ev.units[c.col.name] : null;
  const scale = grids ? Math.max(1, maxAbs(grids)) : 1; // tanh and sigmoid on their own scale, ReLU by the layer's largest
  const dying = ["relu", "step"].includes(c.col.activation);
  c.canvases.forEach((canvas, i) => {
    const box = c.boxes[i];
    if (grids && grids[i]) box.dataset.hash = paintGrid(canvas, grids[i], { scale });
    else {
      clearGrid(canvas);
      delete box.dataset.hash;
    }
    // A ReLU or step unit that is 0 over the whole plane is dead: nothing flows through it, nor back.
    const dead = dying && grids && grids[i] && grids[i].every((row) => row.every((v) => v === 0));
    box.dataset.dead = String(Boolean(dead));
    box.setAttribute("aria-label", t(dead ? "diagram.deadUnit" : "diagram.unit", { unit: `${c.col.name}.${i}` }));
  });
}

/** Output units on 2-D data: P(class) for two classes, the output itself for a regression; a class swatch otherwise. */
function paintOutput(c, ev) {
  if (drawnFrom.get("output") === (ev || null)) return;
  drawnFrom.set("output", ev || null);
  const b = ev && ev.boundary;
  const dinfo = datasetInfo(getSpec().dataset.name);
  c.canvases.forEach((canvas, i) => {
    const box = c.boxes[i];
    box.dataset.cls = String(i);
    if (!b || !b.z) {
      clearGrid(canvas);
      delete box.dataset.hash;
      if (dinfo.task === "classification" && c.canvases.length > 2) paintSwatch(canvas, i);
      return;
    }
    if (dinfo.task === "regression") box.dataset.hash = paintGrid(canvas, b.z, { scale: maxAbs(b.z) || 1 });
    else if (c.canvases.length === 1) box.dataset.hash = paintGrid(canvas, b.z, { center: 0.5, scale: 0.5 });
    else if (c.canvases.length === 2) {
      // Each unit lights up in its class's colour where it is probable: P(class 0) in orange, P(class 1) in blue.
      box.dataset.hash = paintGrid(canvas, b.z, i === 0 ? { center: 1 } : {});
    } else box.dataset.hash = paintGrid(canvas, b.z.map((row) => row.map((v) => (v === i ? 1 : 0))), { scale: 1 });
  });
}

function paintSwatch(canvas, i) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = CLASS_COLORS[i % CLASS_COLORS.length];
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

/** A layer box's feature maps (image sets), or in the input box the image they are of. */
function paintLayerMaps(c, ev, events) {
  const host = root.querySelector(`[data-maps-of="${CSS.escape(c.col.name)}"]`);
  const key = `maps:${c.col.name}`;
  if (!host || drawnFrom.get(key) === (ev || null)) return;
  drawnFrom.set(key, ev || null);
  if (c.col.type === "input") paintSampleImage(host, ev, events || []);
  else paintMaps(host, ev, c.col.name);
}

function paintFilters(c, ev) {
  const host = root.querySelector(`[data-filters-of="${CSS.escape(c.col.name)}"]`);
  if (!host || drawnFrom.get(c.col.name) === (ev || null)) return;
  drawnFrom.set(c.col.name, ev || null);
  const f = ev ? findFilters(ev) : null;
  if (!f || f.layer !== c.col.name) {
    host.replaceChildren();
    return;
  }
  const [n, ch, kh, kw] = f.shape;
  const per = ch * kh * kw;
  const values = f.values;
  const canvases = [];
  for (let i = 0; i < Math.min(n, 16); i += 1) {
    const slice = values.slice(i * per, (i + 1) * per);
    const scale = Math.max(1e-12, maxAbs(slice));
    const canvas = h("canvas", { width: kw, height: kh });
    paintImage(canvas, slice.map((v) => v / scale), ch === 3 ? 3 : 1, kh, kw, { signed: true });
    canvases.push(canvas);
  }
  host.replaceChildren(...canvases);
}

function paintEdges(snap = null) {
  if (!edges) return;
  const events = runEvents();
  const s = snap || (events ? snapshotAt(events, pinned()) : null);
  const from = (s && s.weights) || null;
  if (drawnFrom.has("edges") && drawnFrom.get("edges") === from) return;
  drawnFrom.set("edges", from);
  const weights = weightsByLayer(from);
  for (const c of cols) {
    if (c.col.type === "input" || !c.col.perUnit) continue;
    const w = weights.get(c.col.name);
    c.boxes.forEach((box, i) => {
      const b = w && w.bias ? w.bias[i] : undefined;
      box.title = typeof b === "number" ? `${c.col.name}.${i} · ${t("diagram.bias", { b: fmt(b, 3) })}` : `${c.col.name}.${i}`;
    });
  }
  const names = new Map(cols.map((c, k) => [c.col.name, k]));
  edges.paint(weights, (layer, j, i, w) => {
    const k = names.get(layer);
    const from = k > 0 ? cols[k - 1].col : null;
    const src = from && from.type === "input" ? from.labels[i] : from ? `${from.name}.${i}` : String(i);
    return t("diagram.weight", { to: `${layer}.${j}`, from: src, w: fmt(w, 3) });
  });
}

// --- interaction -------------------------------------------------------------------------------------------------

/** A unit or a layer was clicked: say what it is (its values for tiny nets) and open its layer in the charts. */
function pick(layer, index) {
  for (const el of root.querySelectorAll(".nd-picked")) el.classList.remove("nd-picked");
  const target = index === null ? root.querySelector(`[data-col="${CSS.escape(layer)}"]`) : root.querySelector(`[data-unit="${CSS.escape(`${layer}.${index}`)}"]`);
  target?.classList.add("nd-picked");
  if (layer === "input") {
    info.textContent = t("diagram.inputInfo", { feature: cols[0].col.labels[index] });
    return;
  }
  const events = runEvents();
  const snap = events ? snapshotAt(events, pinned()) : null;
  const w = weightsByLayer(snap && snap.weights).get(layer);
  let text = index === null ? t("diagram.layerInfo", { layer }) : t("diagram.unitInfo", { unit: `${layer}.${index}` });
  if (index !== null && w && w.bias && typeof w.bias[index] === "number") {
    const incoming = (w.weights[index] || []).map((v) => fmt(v, 2)).join(", ");
    text += ` · ${t("diagram.values", { b: fmt(w.bias[index], 3), w: incoming })}`;
  }
  info.textContent = text;
  focusLayer(layer);
}

// --- the dashboard's card interface ------------------------------------------------------------------------------

/** Mount into `el`; returns the card the dashboard draws on its schedule (update(run) with each new epoch). */
export function mountDiagram(el) {
  root = el;
  build();
  subscribe(() => {
    if (structureKey() !== builtKey) build();
    else paint();
  });
  onCheck(() => {
    for (const c of cols) {
      const span = root.querySelector(`[data-shape-of="${CSS.escape(c.col.name)}"]`);
      if (span) span.textContent = shapeOf(c.col);
    }
    scheduleLayout();
  });
  onLang(build);
  onPin(() => paint());
  if ("ResizeObserver" in window) new ResizeObserver(() => scheduleLayout()).observe(root);
  const card = {
    id: "net-diagram",
    el: root,
    relabel() {},
    /** The dashboard's "waiting" note means a new run with no epoch yet: the old run's pictures go. */
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
  window.nndojo = Object.assign(window.nndojo || {}, { diagram: { showEpoch, shownEpoch: pinned } });
  return card;
}

/** What the columns are built from: a change here rebuilds the diagram, anything else only repaints it. */
function structureKey() {
  const spec = getSpec();
  return JSON.stringify([shapeKey(spec), spec.model.layers.map((l) => l.activation ?? null), spec.model.output.activation]);
}
