// Live control of the run being watched (docs/api.md "Live control"): pause and resume (#pause-btn), one epoch at a
// time while paused (#step-btn), and the learning rate of a running or paused job (#live-lr). The elements live for the
// page's life and are updated in place, so a rate being typed survives the run bar's repaints.

import { api, ApiError } from "./api.js";
import { h } from "./dom.js";
import { errorText } from "./errors.js";
import { t } from "./i18n.js";

const LR_MAX = 100; // the spec's bound on every optimiser's lr; the server checks it too

let shown = { run: null, phase: "idle", mine: false };
let waiting = false; // a request is on its way: the buttons wait for its answer
let report = () => {};

const pauseBtn = h("button", { type: "button", class: "btn", id: "pause-btn", "data-key": "pause", onclick: togglePause });
const stepBtn = h("button", { type: "button", class: "btn", id: "step-btn", "data-key": "step", onclick: stepOnce });
const lrLabel = h("label", { for: "live-lr" });
const lrInput = h("input", { type: "number", id: "live-lr", min: "0", max: String(LR_MAX), step: "any", inputmode: "decimal", "data-key": "live-lr", onchange: setLr });
const group = h("div", { class: "live-controls", id: "live-controls", role: "group" }, pauseBtn, stepBtn, h("span", { class: "live-lr" }, lrLabel, lrInput));

/** The controls for `run` in `phase`; `mine`: the caller may change the run; onError(text) shows a refusal. */
export function liveControls(run, phase, mine, onError) {
  shown = { run, phase, mine };
  report = onError;
  const live = Boolean(run) && mine && (phase === "running" || phase === "paused");
  const paused = phase === "paused";
  group.setAttribute("aria-label", t("live.title"));
  group.hidden = Boolean(run) && !mine; // watching someone else's run: nothing to control
  pauseBtn.textContent = paused ? `▶ ${t("live.resume")}` : `▮▮ ${t("live.pause")}`;
  pauseBtn.title = t(paused ? "live.resumeHelp" : "live.pauseHelp");
  pauseBtn.disabled = !live || waiting;
  stepBtn.textContent = `▶▮ ${t("live.step")}`;
  stepBtn.title = t("live.stepHelp");
  stepBtn.disabled = !live || !paused || waiting;
  lrLabel.textContent = t("live.lr");
  lrInput.title = t("live.lrHelp");
  lrInput.disabled = !live;
  const lr = run ? (run.currentLr ?? run.spec.training.optimizer.lr) : null;
  if (document.activeElement !== lrInput) lrInput.value = lr === null ? "" : String(lr);
  return group;
}

function refresh() {
  liveControls(shown.run, shown.phase, shown.mine, report);
}

async function act(call) {
  const run = shown.run;
  if (!run) return;
  waiting = true;
  refresh();
  try {
    await call(run.job.id);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) report(t("live.conflict"));
    else report(t("live.failed", { msg: err instanceof ApiError && err.items.length ? errorText(err.items[0]) : err.message }));
  } finally {
    waiting = false;
    refresh();
  }
}

function togglePause() {
  return act((id) => (shown.phase === "paused" ? api.resume(id) : api.pause(id)));
}

function stepOnce() {
  return act((id) => api.step(id));
}

function setLr() {
  const value = Number(lrInput.value);
  if (!lrInput.value.trim() || !Number.isFinite(value) || value <= 0 || value > LR_MAX) {
    report(t("live.lrBad"));
    return undefined;
  }
  return act((id) => api.setLr(id, value));
}
