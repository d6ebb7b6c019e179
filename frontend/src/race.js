// The optimiser race: the contour of a 2-D function and the animated paths of the chosen optimisers
// (POST /api/optimizer-race), as in the textbook's comparison on f = x²/20 + y².

import { api, ApiError } from "./api.js";
import { h, newId, render } from "./dom.js";
import { errorText } from "./errors.js";
import { help, label, onLang, t } from "./i18n.js";
import { getCatalog } from "./state.js";
import { baseLayout, draw, extent, purge, RUN_COLORS } from "./charts/plot.js";

const STEP_MS = 70;
const MAX_ANIMATION_MS = 6000; // a 300-step Rosenbrock race replays in 6 s, not 21

let root = null;
const settings = { fn: "bowl", start: [-7, 2], steps: 30, opts: {} };
let result = null;
let frameAt = 0;
let anim = null;
let errors = []; // the last refusal's items (or one {msg}), said again in the current language on each render

/** The function's own start, steps and learning rates (the catalog's race_presets): the bowl's rates blow up on
 * Rosenbrock. Which optimisers race is the user's choice and stays. */
function applyPreset(fn) {
  const preset = (getCatalog().race_presets || {})[fn];
  for (const o of getCatalog().optimizers) {
    const s = settings.opts[o.name] || (settings.opts[o.name] = { on: ["sgd", "momentum", "adagrad", "adam"].includes(o.name) });
    s.lr = preset?.lr?.[o.name] ?? o.defaults.lr;
  }
  if (preset) {
    settings.start = [...preset.start];
    settings.steps = preset.steps;
  }
}

function initSettings() {
  if (!Object.keys(settings.opts).length) applyPreset(settings.fn);
}

/** Which input a refused field belongs to, named in the page's language: "Steps", "Learning rate of Adam". */
function fieldName(loc, raced) {
  const [, key, index] = (loc || []).map(String);
  if (key === "steps") return t("race.steps");
  if (key === "function") return t("race.function");
  if (key === "start") return index === "1" ? t("race.startY") : index === "0" ? t("race.startX") : `${t("race.startX")}, ${t("race.startY")}`;
  if (key === "optimizers" && raced[Number(index)]) return t("race.lrOf", { name: label("opt", raced[Number(index)].name) });
  return (loc || []).filter((x) => x !== "body").join(".");
}

/** The data-key of the input a refused field belongs to, so it can be marked invalid. */
function fieldKey(loc, raced) {
  const [, key, index] = (loc || []).map(String);
  if (key === "steps") return "race-steps";
  if (key === "start") return index === "1" ? "race-start-y" : "race-start-x";
  if (key === "optimizers" && raced[Number(index)]) return `race-lr-${raced[Number(index)].name}`;
  return null;
}

async function runRace() {
  const cat = getCatalog();
  const optimizers = cat.optimizers.filter((o) => settings.opts[o.name].on).map((o) => ({ ...o.defaults, name: o.name, lr: settings.opts[o.name].lr }));
  if (!optimizers.length) return;
  const button = root.querySelector("#race-run");
  if (button) button.disabled = true;
  try {
    result = await api.race({ function: settings.fn, start: settings.start, steps: settings.steps, optimizers });
    errors = [];
  } catch (err) {
    // The old race no longer answers these settings: clear it rather than leave it beside the error.
    result = null;
    const plotEl = root.querySelector("#race-plot");
    if (plotEl) purge(plotEl);
    errors = err instanceof ApiError && err.items.length ? err.items.map((item) => ({ ...item, raced: optimizers })) : [{ msg: err.status === 0 ? t("app.serverDown") : err.message }];
  }
  draw_();
  animate();
}

function reducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

function animate() {
  cancelAnimationFrame(anim);
  if (!result) return;
  const total = Math.max(...result.paths.map((p) => p.points.length));
  if (reducedMotion()) {
    frameAt = total;
    plot(total);
    return;
  }
  const started = performance.now();
  const perStep = Math.min(STEP_MS, MAX_ANIMATION_MS / total);
  const step = (now) => {
    const k = Math.min(total, 1 + Math.floor((now - started) / perStep));
    if (k !== frameAt) {
      frameAt = k;
      plot(k);
    }
    if (k < total) anim = requestAnimationFrame(step);
  };
  frameAt = 0;
  anim = requestAnimationFrame(step);
}

/** Where each function's minimum (or, for the saddle, its saddle point) lies: the goal every path should reach. */
const GOALS = {
  bowl: { at: [0, 0], key: "race.minimum" },
  rosenbrock: { at: [1, 1], key: "race.minimum" },
  beale: { at: [3, 0.5], key: "race.minimum" },
  saddle: { at: [0, 0], key: "race.saddlePoint" },
};

function plot(k) {
  const el = root.querySelector("#race-plot");
  if (!el || !result) return;
  const c = result.contour;
  let lo = Infinity;
  for (const r of c.z) for (const v of r) if (Number.isFinite(v) && v < lo) lo = v;
  // log(1 + f - min): the bowl, Rosenbrock and Beale span many orders of magnitude.
  const z = c.z.map((r) => r.map((v) => Math.log1p(Math.max(0, v - lo))));
  const data = [{ type: "contour", x: c.x, y: c.y, z, colorscale: "Greys", reversescale: true, showscale: false, ncontours: 24, contours: { coloring: "heatmap" }, opacity: 0.55, hoverinfo: "skip" }];
  const xr = extent(c.x);
  const yr = extent(c.y);
  const inside = (q) => Number.isFinite(q[0]) && Number.isFinite(q[1]) && q[0] >= xr[0] && q[0] <= xr[1] && q[1] >= yr[0] && q[1] <= yr[1];
  result.paths.forEach((p, i) => {
    const shown = p.points.slice(0, k);
    const pts = shown.filter((q) => Number.isFinite(q[0]) && Number.isFinite(q[1]));
    const color = RUN_COLORS[i % RUN_COLORS.length];
    // Divergence (f went uphill: η too large for this function) is said once the path shows it; leaving the map
    // downhill, as on the saddle, is the right answer and is said as such.
    const left = shown.some((q) => !inside(q));
    const lost = Boolean(p.diverged) && (left || k >= p.points.length);
    const note = lost ? ` ✕ ${t("race.escaped")}` : left ? ` ↘ ${t("race.leftDownhill")}` : "";
    const name = `${label("opt", p.optimizer.name)} (η=${p.optimizer.lr})${note}`;
    data.push({ type: "scatter", mode: "lines+markers", name, x: pts.map((q) => q[0]), y: pts.map((q) => q[1]), line: { color, width: 2, dash: lost ? "dot" : "solid" }, marker: { size: 5, color } });
  });
  const goal = GOALS[result.function];
  if (goal) {
    data.push({ type: "scatter", mode: "markers", name: t(goal.key), x: [goal.at[0]], y: [goal.at[1]], marker: { symbol: "star", size: 15, color: "#f2b705", line: { color: "#1f2933", width: 1 } }, hoverinfo: "skip" });
  }
  draw(el, data, baseLayout({ xaxis: { range: xr, title: { text: "x" } }, yaxis: { range: yr, title: { text: "y" } }, legend: { orientation: "h", x: 0, y: 1.01, yanchor: "bottom" }, margin: { l: 48, r: 12, t: 10, b: 40 } }));
}

function numberField(labelText, value, onValue, attrs = {}) {
  const id = newId("race");
  const input = h("input", { type: "number", id, value: String(value), step: "any", "aria-invalid": invalid(attrs["data-key"]), ...attrs });
  input.addEventListener("input", () => {
    const x = Number(input.value);
    if (input.value.trim() !== "" && Number.isFinite(x)) onValue(x);
  });
  return h("div", { class: "field" }, h("label", { for: id }, labelText), input);
}

function draw_() {
  const cat = getCatalog();
  initSettings();
  const fnId = newId("fn");
  const fnSelect = h("select", { id: fnId, "data-key": "race-fn" }, cat.race_functions.map((f) => h("option", { value: f, selected: f === settings.fn }, label("fn", f))));
  fnSelect.addEventListener("change", () => {
    settings.fn = fnSelect.value;
    applyPreset(settings.fn);
    draw_();
    runRace();
  });
  const optRows = cat.optimizers.map((o) => {
    const s = settings.opts[o.name];
    const box = h("input", { type: "checkbox", checked: s.on, "aria-label": t("race.enable", { name: label("opt", o.name) }), "data-key": `race-on-${o.name}`, id: `race-on-${o.name}` });
    box.addEventListener("change", () => (s.on = box.checked));
    const lr = h("input", { type: "number", value: String(s.lr), step: "any", min: 0, "aria-label": t("race.lrOf", { name: label("opt", o.name) }), "data-key": `race-lr-${o.name}`, "aria-invalid": invalid(`race-lr-${o.name}`) });
    lr.addEventListener("input", () => {
      const x = Number(lr.value);
      if (lr.value.trim() !== "" && Number.isFinite(x)) s.lr = x; // a bad rate goes to the server, which names it
    });
    const enabledIndex = cat.optimizers.filter((x) => settings.opts[x.name].on).findIndex((x) => x.name === o.name);
    const swatch = h("span", { class: "swatch", style: { background: s.on ? RUN_COLORS[enabledIndex % RUN_COLORS.length] : "transparent" } });
    return h("div", { class: "race-opt" }, box, h("label", { for: `race-on-${o.name}`, title: help("opt", o.name) }, swatch, " ", label("opt", o.name)), lr);
  });
  const oldPlot = root.querySelector("#race-plot");
  render(
    root,
    h("div", { class: "toolbar" }, h("h2", {}, t("race.title"))),
    h("p", { class: "hint" }, t("race.help")),
    h(
      "div",
      { class: "race-layout" },
      h(
        "div",
        { class: "panel" },
        h(
          "div",
          { class: "panel-body", style: { paddingTop: "12px" } },
          h("div", { class: "field" }, h("label", { for: fnId }, t("race.function")), fnSelect, h("p", { class: "hint" }, help("fn", settings.fn))),
          h(
            "div",
            { class: "grid2" },
            numberField(t("race.startX"), settings.start[0], (x) => (settings.start[0] = x), { "data-key": "race-start-x" }),
            numberField(t("race.startY"), settings.start[1], (y) => (settings.start[1] = y), { "data-key": "race-start-y" }),
            numberField(t("race.steps"), settings.steps, (n) => (settings.steps = Math.max(1, Math.round(n))), { min: 1, max: 1000, step: 1, "data-key": "race-steps" }),
          ),
          h("h3", {}, t("race.optimizers")),
          h("div", { class: "race-opts" }, optRows),
          h(
            "div",
            { class: "toolbar" },
            h("button", { type: "button", class: "btn primary", id: "race-run", onclick: runRace }, `▶ ${t("race.run")}`),
            h("button", { type: "button", class: "btn", id: "race-replay", onclick: animate, disabled: !result }, t("race.replay")),
          ),
          errors.length
            ? h("div", { class: "alert error", role: "alert", id: "race-error" }, errors.map((e) => (e.loc ? `${fieldName(e.loc, e.raced)}: ${errorText(e)}` : e.msg)).join(" · "))
            : null,
        ),
      ),
      h(
        "div",
        { class: "chart-card" },
        !result && errors.length ? h("p", { class: "empty-note", id: "race-empty" }, t("race.noResult")) : null,
        oldPlot || h("div", { id: "race-plot", class: "race-plot", role: "img", "aria-label": t("race.title") }),
      ),
    ),
  );
  if (result) plot(frameAt);
}

/** "true" when the last refusal named this input. */
function invalid(key) {
  return errors.some((e) => e.loc && fieldKey(e.loc, e.raced) === key) ? "true" : null;
}

export function mountRace(el) {
  root = el;
  onLang(() => {
    if (getCatalog()) draw_();
  });
}

let started = false;

/** First visit runs the textbook race at once, so the panel is never empty. */
export function showRace() {
  if (!root.firstChild) draw_();
  if (!started) {
    started = true;
    runRace();
  } else if (result) plot(frameAt);
}
