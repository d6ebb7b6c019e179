// Puts a 422's messages next to the controls their `loc` names (a layer, a field), and keeps them there across re-renders.
// Each message is said in the page's language: pydantic's `type` and `ctx`, or the spec check's `ctx.code`, pick a
// translation (i18n.js, keys err.*); the server's English `msg` is the fallback for anything without one.

import { getLang, label, onLang, t } from "./i18n.js";

let current = [];
let fallbackSink = null;

/** Where messages go whose loc names no control on the page (the run bar's alert). */
export function setFallbackSink(fn) {
  fallbackSink = fn;
}

/** ["body", "model", "layers", 0, "dense", "units"] -> ["model.layers.0.dense.units", ..., "model"] minus "body". */
export function candidates(loc) {
  const parts = (loc || []).map(String);
  if (parts[0] === "body") parts.shift();
  const keys = [];
  // Without discriminator tags (pydantic puts the union member's tag in the loc: layers.0.dense.units).
  const untagged = [];
  for (let i = 0; i < parts.length; i += 1) {
    const prev = parts[i - 1];
    const prevPrev = parts[i - 2];
    const isTag =
      (prevPrev === "layers" && /^\d+$/.test(prev)) || prev === "optimizer" || prev === "lr_schedule" || /^(literal\[|function-)/.test(parts[i]) || ["int", "float", "str"].includes(parts[i]);
    if (!isTag) untagged.push(parts[i]);
  }
  for (const list of [untagged, parts]) {
    for (let n = list.length; n > 0; n -= 1) keys.push(list.slice(0, n).join("."));
  }
  // Most specific first: a field beats its layer, a layer beats the model.
  return [...new Set(keys)].sort((a, b) => b.split(".").length - a.split(".").length);
}

/** "(1, 8, 8)" for [1, 8, 8], as the server writes shapes. */
function fmtShape(shape) {
  return Array.isArray(shape) ? `(${shape.join(", ")})` : String(shape ?? "");
}

/** "'a', 'b' or 'c'" (pydantic's list of choices) -> "'a'、'b'、'c'" in Japanese; unchanged in English. */
function fmtChoices(text) {
  const quoted = String(text ?? "").match(/'[^']*'/g);
  if (!quoted || getLang() !== "ja") return String(text ?? "");
  return quoted.join("、");
}

function fmtNumber(value) {
  return typeof value === "number" && Number.isInteger(value) && Math.abs(value) >= 10000 ? value.toLocaleString(getLang() === "ja" ? "ja-JP" : "en-US") : String(value);
}

/** A spec path the memory check asks to reduce, in words: "model.layers.0.filters" -> "layer 1's filters" / "第1層の filters". */
function fieldWords(path) {
  const parts = String(path).split(".");
  if (parts[0] === "model" && parts[1] === "layers" && parts.length === 4) {
    const n = Number(parts[2]) + 1;
    return getLang() === "ja" ? `第${n}層の ${parts[3]}` : `layer ${n}'s ${parts[3]}`;
  }
  return parts.at(-1);
}

// Messages from pydantic's `value_error` (validators in spec/models.py) carry no code: matched by their English text.
const VALUE_ERRORS = [
  [/each feature may be listed once/, "err.value.featureTwice"],
  [/batch_size must be 'full' or an integer from 1 to (\d+)/, "err.value.batchSize"],
  [/start coordinates must be finite numbers within ±(\S+)/, "err.value.raceStart"],
];

/** The error item's message in the current language; the server's msg when there is no translation for it. */
export function errorText(item) {
  const msg = item?.msg ?? "";
  const ctx = item?.ctx && typeof item.ctx === "object" ? item.ctx : {};
  const vars = {};
  for (const [name, value] of Object.entries(ctx)) vars[name] = typeof value === "object" && value !== null ? JSON.stringify(value) : fmtNumber(value);
  if (typeof ctx.code === "string") {
    // the spec check (spec/check.py): one key per code, one per limit
    if ("shape" in ctx) vars.shape = fmtShape(ctx.shape);
    if ("kind" in ctx) vars.kind = label("data.kind", ctx.kind);
    if (Array.isArray(ctx.reduce)) vars.reduce = ctx.reduce.map(fieldWords).join(getLang() === "ja" ? "、" : " or ");
    const key = ctx.code === "limit" ? `err.limit.${ctx.limit}` : `err.code.${ctx.code}`;
    return t(key, vars, msg);
  }
  const type = item?.type;
  if (type === "value_error") {
    const text = msg.replace(/^Value error, /, "");
    for (const [pattern, key] of VALUE_ERRORS) {
      const found = text.match(pattern);
      if (found) return t(key, { max: found[1] ?? "" }, msg);
    }
    return t("err.type.value_error", { msg: text }, msg);
  }
  if (!type) return msg;
  const loc = item.loc || [];
  vars.field = String(loc[loc.length - 1] ?? "");
  for (const name of ["expected", "expected_tags"]) if (name in ctx) vars[name] = fmtChoices(ctx[name]);
  if ("discriminator" in ctx) vars.discriminator = String(ctx.discriminator);
  return t(`err.type.${type}`, vars, msg);
}

/** A 429's detail in the current language, naming the limit that was reached; the server's msg when it names none. */
export function quotaText(detail) {
  const code = detail && typeof detail === "object" ? detail.code : null;
  const known = ["max_queued_per_student", "max_running_per_student", "max_queue"];
  if (known.includes(code) && typeof detail.limit === "number") return t(`quota.${code}`, { limit: fmtNumber(detail.limit) });
  if (known.includes(code)) return t(`quota.${code}.nolimit`);
  return typeof detail === "string" ? detail : (detail && detail.msg) || "";
}

/** Show these error items ([{loc, msg}]); returns the ones that found no control. */
export function showErrors(items) {
  current = items || [];
  return apply();
}

export function clearErrors() {
  current = [];
  apply();
}

export function hasErrors() {
  return current.length > 0;
}

/** Re-apply after a panel re-render (new elements, same errors). */
export function reapplyErrors() {
  apply();
}

function apply() {
  for (const el of document.querySelectorAll("[data-error-for]")) el.textContent = "";
  for (const el of document.querySelectorAll("[aria-invalid='true']")) el.removeAttribute("aria-invalid");
  for (const el of document.querySelectorAll(".layer.invalid")) el.classList.remove("invalid");
  const orphans = [];
  for (const item of current) {
    const keys = candidates(item.loc);
    const sink = keys.map((k) => document.querySelector(`[data-error-for="${CSS.escape(k)}"]`)).find(Boolean);
    if (!sink) {
      orphans.push(item);
      continue;
    }
    const text = errorText(item);
    sink.textContent = sink.textContent ? `${sink.textContent} ${text}` : text;
    const control = document.querySelector(`[data-loc="${CSS.escape(sink.dataset.errorFor)}"]`);
    if (control) control.setAttribute("aria-invalid", "true");
    const card = sink.closest(".layer");
    if (card) card.classList.add("invalid");
  }
  if (fallbackSink) fallbackSink(orphans);
  return orphans;
}

// The language switch re-says every message on show, whether or not its panel re-renders.
onLang(() => apply());
