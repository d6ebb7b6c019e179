// What the diagram draws, as plain data: the spec's columns (inputs, each layer, the output) with the names events
// use, and, for a run, the newest snapshot of each drawn field at or before an epoch. No DOM here.

/** Layers drawn one box per unit on 2-D data; wider ones are one box for the layer (the events' `units` limit too). */
export const MAX_UNITS_DRAWN = 32;

/** The hidden layer field a "+/−" changes, by layer type. */
export const COUNT_FIELD = { dense: "units", conv2d: "filters" };

/** dense_1, dense_2, conv2d_1, ...: numbered per type in model order, as the server names them (spec/check.py). */
export function layerNames(layers) {
  const seen = {};
  return layers.map((layer) => {
    seen[layer.type] = (seen[layer.type] || 0) + 1;
    return `${layer.type}_${seen[layer.type]}`;
  });
}

/** Units of the output layer: one per class, except one for a binary sigmoid or a regression (spec/check.py). */
export function outputUnits(spec, info) {
  if (info.task === "regression" || !info.n_classes) return 1;
  if (info.n_classes === 2 && spec.model.output.activation === "sigmoid") return 1;
  return info.n_classes;
}

/**
 * The diagram's columns for a spec. Each column: {key, name, index (in model.layers, null for input/output), type,
 * activation, count (units, or null when unknown), perUnit (one box per unit), pass (keeps the previous width:
 * batchnorm, dropout, a standalone activation)}.
 */
export function columns(spec, info) {
  const toy = info.kind === "toy2d" || (info.kind === "tabular" && info.input_shape?.[0] === 2); // planar (data.js isPlanar)
  const cols = [];
  // an upload's two columns stand where x1 and x2 would: named as in its file, pictured as the plane's two axes
  const features = toy ? spec.dataset.features : [];
  const labels = toy && info.kind === "tabular" ? info.features : features;
  cols.push({ key: "input", name: "input", index: null, type: "input", count: toy ? features.length : null, perUnit: toy, labels, features });
  let width = toy ? features.length : null;
  const names = layerNames(spec.model.layers);
  spec.model.layers.forEach((layer, index) => {
    const field = COUNT_FIELD[layer.type];
    const pass = !field && !["flatten", "maxpool2d", "avgpool2d", "lrn"].includes(layer.type);
    const count = field ? layer[field] : pass ? width : null;
    width = layer.type === "dense" ? layer.units : pass ? width : null;
    // Batch normalisation and a standalone activation keep one output per unit (events send their maps too): their
    // units are drawn, joined one to one.
    const perUnit = toy && ["dense", "batchnorm", "activation"].includes(layer.type) && count !== null && count <= MAX_UNITS_DRAWN;
    cols.push({ key: names[index], name: names[index], index, type: layer.type, activation: layer.activation ?? null, count, perUnit, pass });
  });
  const n = outputUnits(spec, info);
  cols.push({ key: "output", name: "output", index: null, type: "output", activation: spec.model.output.activation, count: n, perUnit: n <= MAX_UNITS_DRAWN });
  return cols;
}

/** The part of a setup the diagram's pictures depend on: a run's pictures fit the setup on screen only if these match. */
export function shapeKey(spec) {
  return JSON.stringify([spec.dataset.name, spec.dataset.features, spec.model.layers.map((l) => [l.type, l.units, l.filters])]);
}

/**
 * For each field the diagram draws, the newest event at or before `epoch` (null: the newest) that carries it.
 * `events` are a run's rich events (RunData.richEvents), oldest first.
 */
export function snapshotAt(events, epoch = null) {
  const out = { units: null, weights: null, boundary: null, samples: null, confusion: null, layers: null, maps: null, epoch: null };
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const ev = events[i];
    if (epoch !== null && ev.epoch > epoch) continue;
    if (out.epoch === null) out.epoch = ev.epoch;
    if (!out.units && ev.units) out.units = ev;
    if (!out.boundary && ev.boundary) out.boundary = ev;
    if (!out.samples && ev.samples) out.samples = ev;
    if (!out.confusion && ev.confusion) out.confusion = ev;
    if (!out.maps && ev.feature_maps) out.maps = ev;
    if (!out.layers && ev.layers && ev.layers.some((l) => l.weight_hist)) out.layers = ev;
    if (!out.weights && ev.layers && ev.layers.some((l) => l.weights)) out.weights = ev;
    if (out.units && out.boundary && out.samples && out.confusion && out.layers && out.weights && out.maps) break;
  }
  return out;
}

/** layer name -> {weights: [out][in], bias: [out]} from an event's `layers` (sent for layers with few weights). */
export function weightsByLayer(ev) {
  const map = new Map();
  for (const layer of (ev && ev.layers) || []) {
    if (Array.isArray(layer.weights)) map.set(layer.name, { weights: layer.weights, bias: layer.bias || null });
  }
  return map;
}

/** The largest |value| of nested arrays, looping (no spread: arrays of any length). */
export function maxAbs(values) {
  let m = 0;
  const stack = [values];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (typeof v === "number" && Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  }
  return m;
}

/** A feature over the plane, as the trainer computes it (datasets/toy.py), on a res×res grid over [-6, 6]². */
export function featureGrid(feature, res = 20, extent = 6) {
  const f = {
    x1: (a) => a,
    x2: (_a, b) => b,
    "x1^2": (a) => a * a,
    "x2^2": (_a, b) => b * b,
    x1x2: (a, b) => a * b,
    sin_x1: (a) => Math.sin(a),
    sin_x2: (_a, b) => Math.sin(b),
  }[feature];
  if (!f) return null;
  const at = (i) => -extent + (2 * extent * i) / (res - 1);
  return Array.from({ length: res }, (_, i) => Array.from({ length: res }, (_v, j) => f(at(j), at(i))));
}
