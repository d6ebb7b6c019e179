// Editing on the diagram: add or remove a layer, a unit (or a filter), change an activation. Every edit goes through
// the one spec state the form also edits (state.update), so the form and the diagram never disagree.

import { defaultLayer } from "../editor.js";
import { getCatalog, getSpec, update } from "../state.js";
import { COUNT_FIELD } from "./model.js";

const SOURCE = "diagram";

function edit(mutate) {
  update(mutate, { structural: true, source: SOURCE });
}

/** The limit on a layer's count field (units or filters), from the catalog's limits. */
function maxCount(type) {
  const limits = getCatalog().limits || {};
  return (type === "conv2d" ? limits.max_filters : limits.max_units) || 4096;
}

/** A new hidden layer at the end, like the last dense layer (units, activation, init): TensorFlow Playground's "+". */
export function addLayer() {
  const layers = getSpec().model.layers;
  const like = [...layers].reverse().find((l) => l.type === "dense");
  const layer = defaultLayer("dense", like || {});
  if (like) layer.units = like.units;
  edit((s) => s.model.layers.push(layer));
}

/** Remove the last hidden layer: TensorFlow Playground's "−". */
export function removeLayer() {
  if (!getSpec().model.layers.length) return;
  edit((s) => s.model.layers.pop());
}

/** Units (or filters) of layer `index` plus `delta`, kept within 1 and the server's limit. */
export function changeCount(index, delta) {
  const layer = getSpec().model.layers[index];
  const field = layer && COUNT_FIELD[layer.type];
  if (!field) return;
  const next = Math.max(1, Math.min(maxCount(layer.type), (layer[field] || 1) + delta));
  if (next === layer[field]) return;
  edit((s) => (s.model.layers[index][field] = next));
}

export function setActivation(index, activation) {
  if (index === null) edit((s) => (s.model.output.activation = activation));
  else edit((s) => (s.model.layers[index].activation = activation));
}

export function canChange(index, delta) {
  const layer = getSpec().model.layers[index];
  const field = layer && COUNT_FIELD[layer.type];
  if (!field) return false;
  const next = (layer[field] || 1) + delta;
  return next >= 1 && next <= maxCount(layer.type);
}
