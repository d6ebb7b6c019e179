// The optimiser race: the contour of a 2-D function and the animated paths of the chosen optimisers
// (POST /api/optimizer-race), as in the textbook's comparison on f = x²/20 + y².

import { api } from "./api.js";
import { h, newId, render } from "./dom.js";
import { help, label, onLang, t } from "./i18n.js";
import { getCatalog } from "./state.js";
import { baseLayout, draw, RUN_COLORS } from "./charts/plot.js";

/** The textbook's learning rates for the bowl; other optimisers start from the catalog's default. */
const TEXTBOOK_LR = { sgd: 0.95, momentum: 0.1, nesterov: 0.1, adagrad: 1.5, rmsprop: 0.1, adam: 0.3 };
const STARTS = { bowl: [-7, 2], rosenbrock: [-1.5, 2], saddle: [-2, 0.01], beale: [1, 1.5] };
const STEP_MS = 70;

let root = null;
const settings = { fn: "bowl", start: [-7, 2], steps: 30, opts: {} };
let result = null;
let frameAt = 0;
let anim = null;
let error = null;

function initSettings() {
  for (const o of getCatalog().optimizers) {
    if (!(o.name in settings.opts)) {
      settings.opts[o.name] = { on: ["sgd", "momentum", "adagrad", "adam"].includes(o.name), lr: TEXTBOOK_LR[o.name] ?? o.defaults.lr };
    }
  }
}

async function runRace() {
  const cat = getCatalog();
  const optimizers = cat.optimizers.filter((o) => settings.opts[o.name].on).map((o) => ({ ...o.defaults, name: o.name, lr: settings.opts[o.name].lr }));
  if (!optimizers.length) return;
  const button = root.querySelector("#race-run");
  if (button) button.disabled = true;
  try {
    result = await api.race({ function: settings.fn, start: settings.start, steps: settings.steps, optimizers });
    error = null;
  } catch (err) {
    result = null;
    error = err.message;
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
  const step = (now) => {
    const k = Math.min(total, 1 + Math.floor((now - started) / STEP_MS));
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
  const xr = [Math.min(...c.x), Math.max(...c.x)];
  const yr = [Math.min(...c.y), Math.max(...c.y)];
  const inside = (q) => Number.isFinite(q[0]) && Number.isFinite(q[1]) && q[0] >= xr[0] && q[0] <= xr[1] && q[1] >= yr[0] && q[1] <= yr[1];
  result.paths.forEach((p, i) => {
    const shown = p.points.slice(0, k);
    const pts = shown.filter((q) => Number.isFinite(q[0]) && Number.isFinite(q[1]));
    const color = RUN_COLORS[i % RUN_COLORS.length];
    // A path that blows up or leaves the map says so in the legend: the learning rate is too large for this function.
    const lost = shown.some((q) => !inside(q));
    const name = `${label("opt", p.optimizer.name)} (η=${p.optimizer.lr})${lost ? ` ✕ ${t("race.escaped")}` : ""}`;
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
  const input = h("input", { type: "number", id, value: String(value), step: "any", ...attrs });
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
    if (STARTS[settings.fn]) settings.start = [...STARTS[settings.fn]];
    draw_();
    runRace();
  });
  const optRows = cat.optimizers.map((o) => {
    const s = settings.opts[o.name];
    const box = h("input", { type: "checkbox", checked: s.on, "aria-label": t("race.enable", { name: label("opt", o.name) }), "data-key": `race-on-${o.name}`, id: `race-on-${o.name}` });
    box.addEventListener("change", () => (s.on = box.checked));
    const lr = h("input", { type: "number", value: String(s.lr), step: "any", min: 0, "aria-label": t("race.lrOf", { name: label("opt", o.name) }), "data-key": `race-lr-${o.name}` });
    lr.addEventListener("input", () => {
      const x = Number(lr.value);
      if (Number.isFinite(x) && x > 0) s.lr = x;
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
            numberField(t("race.startX"), settings.start[0], (x) => (settings.start[0] = x)),
            numberField(t("race.startY"), settings.start[1], (y) => (settings.start[1] = y)),
            numberField(t("race.steps"), settings.steps, (n) => (settings.steps = Math.max(1, Math.round(n))), { min: 1, max: 1000, step: 1 }),
          ),
          h("h3", {}, t("race.optimizers")),
          h("div", { class: "race-opts" }, optRows),
          h(
            "div",
            { class: "toolbar" },
            h("button", { type: "button", class: "btn primary", id: "race-run", onclick: runRace }, `▶ ${t("race.run")}`),
            h("button", { type: "button", class: "btn", id: "race-replay", onclick: animate, disabled: !result }, t("race.replay")),
          ),
          error ? h("div", { class: "alert error", role: "alert" }, error) : null,
        ),
      ),
      h("div", { class: "chart-card" }, oldPlot || h("div", { id: "race-plot", class: "race-plot", role: "img", "aria-label": t("race.title") })),
    ),
  );
  if (result) plot(frameAt);
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
