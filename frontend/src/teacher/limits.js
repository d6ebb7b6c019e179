// A class's limits: per student (runs at once, runs waiting), per run (seconds) and the spec limits, which the server
// only lets go lower than its own. Saved with PATCH /api/classes/{id}; the reply holds the values in effect.

import { api, ApiError } from "../api.js";
import { h, newId, render, toast } from "../dom.js";
import { errorText } from "../errors.js";
import { onLang, t } from "../i18n.js";

const FIELDS = ["max_running_per_student", "max_queued_per_student", "max_job_seconds", "max_epochs", "max_layers", "max_units", "max_filters", "max_params", "max_samples"];

let root = null;
let cls = null;
let values = {};
let errors = {}; // field -> error item
let onSaved = () => {};

/** Show this class's limits (a fresh class object resets what was typed). */
export function showLimits(next, saved) {
  cls = next;
  onSaved = saved || (() => {});
  values = { ...((next && next.limits) || {}) };
  errors = {};
  draw();
}

async function save(event) {
  event.preventDefault();
  const limits = {};
  for (const name of FIELDS) {
    const text = String(values[name] ?? "").trim();
    if (text !== "") limits[name] = Number(text);
  }
  errors = {};
  try {
    const updated = await api.patchClass(cls.id, { limits });
    toast(t("teacher.limitsSaved"));
    showLimits(updated, onSaved);
    onSaved(updated);
  } catch (err) {
    if (err instanceof ApiError && err.items.length) {
      for (const item of err.items) errors[String((item.loc || []).at(-1))] = item;
    } else toast(err.status === 0 ? t("app.serverDown") : err.message);
    draw();
  }
}

function fieldRow(name) {
  const id = newId("limit");
  const input = h("input", { type: "number", id, min: 1, step: 1, value: values[name] ?? "", "data-key": `limit-${name}`, "data-limit": name, "aria-invalid": errors[name] ? "true" : null });
  input.addEventListener("input", () => (values[name] = input.value));
  return h("div", { class: "field" }, h("label", { for: id }, t(`limit.${name}`)), input, errors[name] ? h("p", { class: "field-error" }, errorText(errors[name])) : null);
}

function draw() {
  if (!root) return;
  if (!cls) return render(root);
  const open = Boolean(root.querySelector("details")?.open); // saving or switching language keeps the panel open
  render(
    root,
    h(
      "details",
      { id: "limits-details", open },
      h("summary", {}, h("h2", {}, t("teacher.limits"))),
      h(
        "form",
        { class: "panel-body", id: "limits-form", onsubmit: save, novalidate: true },
        h("p", { class: "hint" }, t("teacher.limitsHint")),
        h("div", { class: "limits-grid" }, FIELDS.map(fieldRow)),
        h("div", { class: "toolbar" }, h("button", { type: "submit", class: "btn primary", id: "save-limits", "data-key": "save-limits" }, t("teacher.saveLimits"))),
      ),
    ),
  );
}

export function mountLimits(el) {
  root = el;
  onLang(draw);
}
