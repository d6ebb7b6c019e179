// The setup being edited: one job spec, mirrored in the URL hash so that a link opens the same network and settings.

import { deepCopy } from "./dom.js";

const listeners = new Set();
let catalog = null;
let spec = null;
let hashTimer = null;
let lastWrittenHash = "";

export function setCatalog(c) {
  catalog = c;
}

export function getCatalog() {
  return catalog;
}

export function getSpec() {
  return spec;
}

/** fn(reason, spec): reason is "edit" (a value changed in place) or "replace" (a new setup: re-render everything). */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(reason, source) {
  for (const fn of listeners) fn(reason, spec, source);
  scheduleHash();
}

/** Change the spec in place: mutate(spec) edits it; panels that care re-render from the notification. */
export function update(mutate, { structural = false, source = null } = {}) {
  mutate(spec);
  emit(structural ? "structure" : "edit", source);
}

/** Two specs set up the same run (the name aside), whatever order their keys come in (the server's or the editor's). */
export function sameSetup(a, b) {
  const sorted = (_, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1))) : v);
  return JSON.stringify({ ...a, name: "" }, sorted) === JSON.stringify({ ...b, name: "" }, sorted);
}

/** Swap in a whole new setup (preset, clone, shared link), filling gaps from the catalog's defaults. */
export function replaceSpec(next, { source = null } = {}) {
  spec = normalize(next);
  emit("replace", source);
}

/** The catalog's defaults with `partial` laid over them, one section deep, so old links keep working. */
export function normalize(partial) {
  const base = deepCopy(catalog.defaults);
  const out = { ...base, ...(partial || {}) };
  for (const section of ["dataset", "model", "training", "probes"]) {
    out[section] = { ...base[section], ...((partial && partial[section]) || {}) };
  }
  out.model.output = { ...base.model.output, ...(out.model.output || {}) };
  if (!Array.isArray(out.model.layers)) out.model.layers = base.model.layers;
  // Each layer, optimiser and schedule gets its type's defaults for fields it leaves out (bias: true, ...).
  out.model.layers = out.model.layers.map((layer) => ({ ...fieldDefaults(catalog.layers.find((l) => l.type === layer.type)), ...layer }));
  const opt = catalog.optimizers.find((o) => o.name === out.training.optimizer?.name);
  if (opt) out.training.optimizer = { name: opt.name, ...opt.defaults, ...out.training.optimizer };
  const sched = out.training.lr_schedule && catalog.lr_schedules.find((x) => x.name === out.training.lr_schedule.name);
  if (sched) out.training.lr_schedule = { name: sched.name, ...sched.defaults, ...out.training.lr_schedule };
  return deepCopy(out);
}

function fieldDefaults(entry) {
  const out = {};
  for (const [name, schema] of Object.entries((entry && entry.fields) || {})) if ("default" in schema) out[name] = schema.default;
  return out;
}

// --- URL hash -------------------------------------------------------------------------------------

function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

export function encodeSpec(s) {
  return `#s=${toBase64Url(JSON.stringify(s))}`;
}

/** The spec in a hash like "#s=...", or null when the hash holds none or cannot be read. */
export function decodeHash(hash) {
  const match = /^#?s=([A-Za-z0-9_-]+)/.exec(hash || "");
  if (!match) return null;
  try {
    const value = JSON.parse(fromBase64Url(match[1]));
    return value && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

function scheduleHash() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(writeHash, 150);
}

/** Write the spec into the URL now (replaceState: editing should not flood the back button). */
export function writeHash() {
  clearTimeout(hashTimer);
  if (!spec) return;
  const hash = encodeSpec(spec);
  if (hash !== location.hash) {
    lastWrittenHash = hash;
    history.replaceState(null, "", hash);
  }
}

/** A hash change that did not come from us (a pasted link, back button) loads that setup. */
export function watchHash() {
  window.addEventListener("hashchange", () => {
    if (location.hash === lastWrittenHash) return;
    const s = decodeHash(location.hash);
    if (s) replaceSpec(s, { source: "hash" });
  });
}

export function shareUrl() {
  writeHash();
  return location.href;
}
