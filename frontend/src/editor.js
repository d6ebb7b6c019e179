// The network designer: layers from the catalog, each with its fields; shapes and parameter counts from POST /api/check.

import { api, ApiError } from "./api.js";
import { debounce, fmt, h, newId, render } from "./dom.js";
import { clearErrors, reapplyErrors, showErrors } from "./errors.js";
import { fieldControl } from "./fields.js";
import { help, label, onLang, t } from "./i18n.js";
import { getCatalog, getSpec, subscribe, update as updateSpec } from "./state.js";

/** Edits made here; the editor redraws on its own structural edits and the data panel's (which may add a flatten). */
function update(mutate, opts = {}) {
  updateSpec(mutate, { ...opts, source: "editor" });
}

const KIND = { dense: "dense", conv2d: "conv", maxpool2d: "pool", avgpool2d: "pool" };

let root = null;
let report = null; // last successful /api/check result
let checkState = "idle"; // idle | checking | ok | invalid
let inflight = null;
const listeners = new Set();

/** fn(report | null) after every check: the run panel and charts read layer names from it. */
export function onCheck(fn) {
  listeners.add(fn);
}

export function lastReport() {
  return report;
}

function layerSchema(type) {
  return getCatalog().layers.find((l) => l.type === type) || { type, fields: {} };
}

/** A new layer of this type with the catalog's defaults, keeping activation and init from `keep` when both have them. */
export function defaultLayer(type, keep = {}) {
  const layer = { type };
  for (const [name, schema] of Object.entries(layerSchema(type).fields)) {
    layer[name] = name in keep && keep[name] !== undefined && ["activation", "init", "init_std"].includes(name) ? keep[name] : schema.default;
  }
  return layer;
}

function shapeText(shape) {
  return shape ? `(${shape.join(", ")})` : "";
}

// --- checking -------------------------------------------------------------------------------------

const runCheck = debounce(async () => {
  if (inflight) inflight.abort();
  const controller = new AbortController();
  inflight = controller;
  checkState = "checking";
  paintSummary();
  try {
    report = await api.check(getSpec(), { signal: controller.signal });
    checkState = "ok";
    clearErrors();
  } catch (err) {
    if (err.name === "AbortError") return;
    report = null;
    checkState = "invalid";
    if (err instanceof ApiError && err.items.length) showErrors(err.items);
    else if (err instanceof ApiError && err.status === 404) checkState = "idle"; // a server without /api/check: no live shapes
    else showErrors([{ loc: ["model"], msg: err.message }]);
  } finally {
    if (inflight === controller) inflight = null;
  }
  paintShapes();
  paintSummary();
  for (const fn of listeners) fn(report);
}, 250);

export function scheduleCheck() {
  checkState = "checking";
  paintSummary();
  runCheck();
}

// --- rendering ------------------------------------------------------------------------------------

function paintSummary() {
  const el = root && root.querySelector("#net-params");
  if (!el) return;
  const state = checkState === "checking" ? t("net.checking") : checkState === "invalid" ? t("net.invalid") : checkState === "ok" ? t("net.ok") : "";
  const params = report ? `${fmt(report.n_params)} ${t("net.params")}` : "";
  el.textContent = [params, state].filter(Boolean).join(" · ");
  el.dataset.state = checkState;
}

function paintShapes() {
  if (!root) return;
  const byIndex = new Map();
  let output = null;
  if (report) {
    for (const layer of report.layers) {
      if (layer.index === null || layer.index === undefined) output = layer;
      else byIndex.set(layer.index, layer);
    }
  }
  for (const el of root.querySelectorAll("[data-shape]")) {
    const which = el.dataset.shape;
    let layer = null;
    if (which === "input") {
      el.textContent = report ? shapeText(report.input_shape) : "";
      continue;
    }
    layer = which === "output" ? output : byIndex.get(Number(which));
    el.textContent = layer ? `→ ${shapeText(layer.out_shape)}${layer.n_params ? ` · ${t("net.params1", { n: fmt(layer.n_params) })}` : ""}` : "";
  }
}

function moveLayer(index, delta) {
  const target = index + delta;
  update(
    (s) => {
      const layers = s.model.layers;
      if (target < 0 || target >= layers.length) return;
      [layers[index], layers[target]] = [layers[target], layers[index]];
    },
    { structural: true },
  );
  const again = root.querySelector(`[data-key="move-${delta < 0 ? "up" : "down"}-${target}"]`);
  if (again && !again.disabled) again.focus();
  else root.querySelector(`[data-key="type-${target}"]`)?.focus();
}

function layerCard(layer, index, count) {
  const cat = getCatalog();
  const loc = `model.layers.${index}`;
  const typeId = newId("type");
  const typeSelect = h(
    "select",
    { id: typeId, "aria-label": t("net.layerType", { n: index + 1 }), "data-key": `type-${index}`, "data-loc": loc },
    cat.layers.map((l) => h("option", { value: l.type, selected: l.type === layer.type }, label("layer", l.type))),
  );
  typeSelect.addEventListener("change", () =>
    update((s) => (s.model.layers[index] = defaultLayer(typeSelect.value, s.model.layers[index])), { structural: true }),
  );
  const n = index + 1;
  const tools = h(
    "div",
    { class: "layer-tools" },
    h("button", { type: "button", class: "btn icon small", "aria-label": t("net.moveUp", { n }), title: t("net.moveUp", { n }), disabled: index === 0, "data-key": `move-up-${index}`, onclick: () => moveLayer(index, -1) }, "↑"),
    h("button", { type: "button", class: "btn icon small", "aria-label": t("net.moveDown", { n }), title: t("net.moveDown", { n }), disabled: index === count - 1, "data-key": `move-down-${index}`, onclick: () => moveLayer(index, 1) }, "↓"),
    h("button", {
      type: "button",
      class: "btn icon small danger",
      "aria-label": t("net.remove", { n }),
      title: t("net.remove", { n }),
      "data-key": `remove-${index}`,
      onclick: () => {
        update((s) => s.model.layers.splice(index, 1), { structural: true });
        const next = root.querySelector(`[data-key="remove-${Math.min(index, getSpec().model.layers.length - 1)}"]`) || root.querySelector("[data-key='add-type']");
        next?.focus();
      },
    }, "✕"),
  );
  const fields = Object.entries(layerSchema(layer.type).fields)
    .filter(([name]) => name !== "init_std" || layer.init === "normal")
    .map(([name, schema]) =>
      fieldControl({
        name,
        schema,
        value: layer[name],
        loc: `${loc}.${name}`,
        onChange: (value, { structural }) => update((s) => (s.model.layers[index][name] = value), { structural }),
      }),
    );
  return h(
    "li",
    { class: "layer", "data-kind": KIND[layer.type] || "misc", "data-index": index },
    h("div", { class: "layer-head" }, h("span", { class: "layer-title", "aria-hidden": "true" }, `${n}.`), typeSelect, h("span", { class: "shape", "data-shape": index }), tools),
    h("p", { class: "hint" }, help("layer", layer.type)),
    fields.length ? h("div", { class: "layer-fields" }, fields) : null,
    h("p", { class: "field-error", "data-error-for": loc, "aria-live": "polite" }),
  );
}

function outputCard() {
  const cat = getCatalog();
  const out = getSpec().model.output;
  const actId = newId("outact");
  const act = h(
    "select",
    { id: actId, "data-loc": "model.output.activation", "data-key": "out-act", "aria-describedby": `${actId}-err` },
    cat.activations.output.map((a) => h("option", { value: a, selected: a === out.activation }, label("act", a))),
  );
  act.addEventListener("change", () => update((s) => (s.model.output.activation = act.value), { structural: true }));
  const initSchema = { enum: cat.initializations, title: t("net.outputInit") };
  const fields = [
    h("div", { class: "field" }, h("label", { for: actId }, t("field.activation")), act, h("p", { class: "field-error", id: `${actId}-err`, "data-error-for": "model.output.activation" })),
    fieldControl({ name: "init", schema: initSchema, value: out.init, loc: "model.output.init", onChange: (v) => update((s) => (s.model.output.init = v), { structural: true }) }),
  ];
  if (out.init === "normal") {
    fields.push(
      fieldControl({
        name: "init_std",
        schema: { type: "number", exclusiveMinimum: 0, maximum: 10 },
        value: out.init_std,
        loc: "model.output.init_std",
        onChange: (v) => update((s) => (s.model.output.init_std = v)),
      }),
    );
  }
  return h(
    "div",
    { class: "layer", "data-kind": "io" },
    h("div", { class: "layer-head" }, h("span", { class: "layer-title" }, t("net.output")), h("span", { class: "shape", "data-shape": "output" })),
    h("p", { class: "hint" }, help("out", out.activation)),
    h("div", { class: "layer-fields" }, fields),
    h("p", { class: "field-error", "data-error-for": "model.output", "aria-live": "polite" }),
  );
}

function draw() {
  const cat = getCatalog();
  const spec = getSpec();
  const layers = spec.model.layers;
  const addSelect = h(
    "select",
    { "aria-label": t("net.addLayer"), "data-key": "add-type", id: "add-layer-type" },
    cat.layers.map((l) => h("option", { value: l.type }, label("layer", l.type))),
  );
  const addButton = h(
    "button",
    {
      type: "button",
      class: "btn",
      "data-key": "add-layer",
      id: "add-layer",
      onclick: () => {
        const type = addSelect.value;
        update((s) => s.model.layers.push(defaultLayer(type)), { structural: true });
        root.querySelector(`[data-key="type-${getSpec().model.layers.length - 1}"]`)?.scrollIntoView({ block: "nearest" });
      },
    },
    `+ ${t("net.add")}`,
  );
  render(
    root,
    h(
      "details",
      { open: true },
      h("summary", {}, h("h2", { id: "net-title" }, t("net.title")), h("span", { class: "panel-extra", id: "net-params", "aria-live": "polite" })),
      h(
        "div",
        { class: "panel-body" },
        h("div", { class: "layer", "data-kind": "io" }, h("div", { class: "layer-head" }, h("span", { class: "layer-title" }, t("net.input")), h("span", { class: "shape", "data-shape": "input" }))),
        layers.length ? h("ol", { class: "layer-list", "aria-label": t("net.title") }, layers.map((layer, i) => layerCard(layer, i, layers.length))) : h("p", { class: "hint" }, t("net.noLayers")),
        h("div", { class: "add-layer" }, addSelect, addButton),
        h("p", { class: "field-error", "data-error-for": "model.layers", "aria-live": "polite" }),
        outputCard(),
        h("p", { class: "field-error", "data-error-for": "model", "aria-live": "polite" }),
      ),
    ),
  );
  paintShapes();
  paintSummary();
  reapplyErrors();
}

export function mountEditor(el) {
  root = el;
  draw();
  subscribe((reason, _spec, source) => {
    if (reason === "replace" || (reason === "structure" && ["editor", "data", "diagram"].includes(source))) draw();
    scheduleCheck();
  });
  onLang(draw);
  scheduleCheck();
}
