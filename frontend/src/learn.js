// How the network learns: loss, optimiser and its hyper-parameters, learning rate on a log scale, batch mode, epochs,
// L1/L2 and the learning-rate schedule. Menus and defaults come from the catalog.

import { h, newId, render } from "./dom.js";
import { reapplyErrors } from "./errors.js";
import { fieldControl, parseNumber } from "./fields.js";
import { help, label, onLang, t } from "./i18n.js";
import { getCatalog, getSpec, subscribe, update as updateSpec } from "./state.js";

const LR_MIN = -5; // log10 of the slider's ends: 1e-5 .. 10
const LR_MAX = 1;

let root = null;

function update(mutate, opts = {}) {
  updateSpec(mutate, { ...opts, source: "learn" });
}

/** 3 significant digits: 0.0031622 -> 0.00316. */
export function roundLr(x) {
  return Number(x.toPrecision(3));
}

function errorP(loc) {
  return h("p", { class: "field-error", "data-error-for": loc, "aria-live": "polite" });
}

function selectRow({ loc, labelText, options, value, group, helpGroup, onChange }) {
  const id = newId("sel");
  const hint = h("p", { class: "hint" }, helpGroup ? help(helpGroup, value) : "");
  const select = h(
    "select",
    { id, "data-loc": loc, "data-key": loc, "aria-describedby": `${id}-hint` },
    options.map((v) => h("option", { value: v, selected: v === value }, label(group, v))),
  );
  hint.id = `${id}-hint`;
  select.addEventListener("change", () => {
    if (helpGroup) hint.textContent = help(helpGroup, select.value);
    onChange(select.value);
  });
  return h("div", {}, h("div", { class: "row" }, h("label", { for: id }, labelText), h("div", { class: "ctl" }, select)), hint, errorP(loc));
}

function lrControl(opt, schema) {
  const sliderId = newId("lr");
  const inputId = newId("lrv");
  const loc = "training.optimizer.lr";
  const slider = h("input", { type: "range", id: sliderId, min: LR_MIN, max: LR_MAX, step: 0.01, value: String(Math.log10(opt.lr)), "aria-label": t("learn.lrSlider"), "data-key": "lr-slider", "aria-valuetext": String(opt.lr) });
  const input = h("input", { type: "number", id: inputId, min: schema?.exclusiveMinimum ?? 0, max: schema?.maximum ?? 100, step: "any", value: String(opt.lr), "data-loc": loc, "data-key": loc, "aria-describedby": `${inputId}-err` });
  slider.addEventListener("input", () => {
    const lr = roundLr(10 ** Number(slider.value));
    input.value = String(lr);
    slider.setAttribute("aria-valuetext", String(lr));
    update((s) => (s.training.optimizer.lr = lr));
  });
  input.addEventListener("input", () => {
    const lr = parseNumber(input.value, false);
    if (lr === null || Number.isNaN(lr)) return;
    if (lr > 0) slider.value = String(Math.min(LR_MAX, Math.max(LR_MIN, Math.log10(lr))));
    update((s) => (s.training.optimizer.lr = lr));
  });
  const err = errorP(loc);
  err.id = `${inputId}-err`;
  return h(
    "div",
    {},
    h("div", { class: "row" }, h("label", { for: inputId }, t("field.lr")), h("div", { class: "lr-ctl" }, slider, input)),
    h("p", { class: "hint" }, t("help.lr")),
    err,
  );
}

function batchControl(tr) {
  const mode = tr.batch_size === "full" ? "full" : tr.batch_size === 1 ? "online" : "mini";
  const name = newId("batch");
  const sizeId = newId("bs");
  const size = h("input", {
    type: "number",
    id: sizeId,
    min: 1,
    step: 1,
    value: mode === "mini" ? String(tr.batch_size) : "",
    disabled: mode !== "mini",
    "data-loc": "training.batch_size",
    "data-key": "training.batch_size",
  });
  size.addEventListener("input", () => {
    const x = parseNumber(size.value, true);
    if (x !== null && !Number.isNaN(x)) update((s) => (s.training.batch_size = x));
  });
  const radio = (value, text) => {
    const input = h("input", { type: "radio", name, value, checked: value === mode, "data-key": `batch-${value}` });
    input.addEventListener("change", () =>
      update(
        (s) => {
          s.training.batch_size = value === "full" ? "full" : value === "online" ? 1 : s.training.batch_size === 1 || s.training.batch_size === "full" ? 32 : s.training.batch_size;
        },
        { structural: true },
      ),
    );
    return h("label", {}, input, text);
  };
  return h(
    "fieldset",
    {},
    h("legend", { class: "sr-only" }, t("learn.batch")),
    h(
      "div",
      { class: "row" },
      h("span", { class: "label", "aria-hidden": "true" }, t("learn.batch")),
      h("div", { class: "radios" }, radio("online", t("learn.batchOnline")), radio("mini", t("learn.batchMini")), radio("full", t("learn.batchFull"))),
    ),
    mode === "mini" ? h("div", { class: "row" }, h("label", { for: sizeId }, t("learn.batchSize")), h("div", { class: "ctl" }, size)) : null,
    h("p", { class: "hint" }, help("batch", mode)),
    errorP("training.batch_size"),
  );
}

function numberRow({ loc, labelText, value, min, max, integer = false, hintText = "", onValue }) {
  const id = newId("n");
  const input = h("input", { type: "number", id, min, max, step: integer ? 1 : "any", value: String(value), "data-loc": loc, "data-key": loc });
  input.addEventListener("input", () => {
    const x = parseNumber(input.value, integer);
    if (x !== null && !Number.isNaN(x)) onValue(x);
  });
  return h("div", {}, h("div", { class: "row" }, h("label", { for: id }, labelText), h("div", { class: "ctl" }, input)), hintText ? h("p", { class: "hint" }, hintText) : null, errorP(loc));
}

function summary() {
  const tr = getSpec().training;
  return `${label("opt", tr.optimizer.name)} · η=${tr.optimizer.lr} · ${tr.epochs} ep`;
}

function draw() {
  const cat = getCatalog();
  const tr = getSpec().training;
  const opt = tr.optimizer;
  const optSchema = cat.optimizers.find((o) => o.name === opt.name) || { fields: {} };
  const extraFields = Object.entries(optSchema.fields)
    .filter(([name]) => name !== "lr")
    .map(([name, schema]) =>
      fieldControl({ name, schema, value: opt[name], loc: `training.optimizer.${name}`, onChange: (v) => update((s) => (s.training.optimizer[name] = v)) }),
    );
  const sched = tr.lr_schedule;
  const schedSchema = sched ? cat.lr_schedules.find((x) => x.name === sched.name) : null;
  const schedFields = schedSchema
    ? Object.entries(schedSchema.fields).map(([name, schema]) =>
        fieldControl({ name, schema, value: sched[name], loc: `training.lr_schedule.${name}`, onChange: (v) => update((s) => (s.training.lr_schedule[name] = v)) }),
      )
    : [];

  render(
    root,
    h(
      "details",
      { open: true },
      h("summary", {}, h("h2", { id: "learn-title" }, t("learn.title")), h("span", { class: "panel-extra", id: "learn-summary" }, summary())),
      h(
        "div",
        { class: "panel-body" },
        selectRow({ loc: "training.loss", labelText: t("learn.loss"), options: cat.losses, value: tr.loss, group: "loss", helpGroup: "loss", onChange: (v) => update((s) => (s.training.loss = v)) }),
        selectRow({
          loc: "training.optimizer",
          labelText: t("learn.optimizer"),
          options: cat.optimizers.map((o) => o.name),
          value: opt.name,
          group: "opt",
          helpGroup: "opt",
          onChange: (v) => {
            const defaults = (cat.optimizers.find((o) => o.name === v) || {}).defaults || {};
            update((s) => (s.training.optimizer = { name: v, ...defaults }), { structural: true });
          },
        }),
        lrControl(opt, optSchema.fields.lr),
        extraFields.length ? h("div", { class: "grid2" }, extraFields) : null,
        batchControl(tr),
        numberRow({ loc: "training.epochs", labelText: t("learn.epochs"), value: tr.epochs, min: 1, max: cat.limits.max_epochs, integer: true, onValue: (v) => update((s) => (s.training.epochs = v)) }),
        numberRow({ loc: "training.l1", labelText: t("learn.l1"), value: tr.l1, min: 0, max: 10, hintText: help("reg", "l1"), onValue: (v) => update((s) => (s.training.l1 = v)) }),
        numberRow({ loc: "training.l2", labelText: t("learn.l2"), value: tr.l2, min: 0, max: 10, hintText: help("reg", "l2"), onValue: (v) => update((s) => (s.training.l2 = v)) }),
        selectRow({
          loc: "training.lr_schedule",
          labelText: t("learn.schedule"),
          options: ["none", ...cat.lr_schedules.map((x) => x.name)],
          value: sched ? sched.name : "none",
          group: "sched",
          helpGroup: "sched",
          onChange: (v) => {
            const entry = cat.lr_schedules.find((x) => x.name === v);
            update((s) => (s.training.lr_schedule = entry ? { name: v, ...entry.defaults } : null), { structural: true });
          },
        }),
        schedFields.length ? h("div", { class: "grid2" }, schedFields) : null,
      ),
    ),
  );
  reapplyErrors();
}

export function mountLearn(el) {
  root = el;
  draw();
  subscribe((reason, _spec, source) => {
    if (reason === "replace" || (reason === "structure" && source !== "editor")) draw();
    else {
      const el = root.querySelector("#learn-summary");
      if (el) el.textContent = summary();
    }
  });
  onLang(draw);
}
