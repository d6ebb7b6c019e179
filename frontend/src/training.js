// Train and Stop, the run's status and queue position, live metrics, and what to do when a run diverges or is rejected.

import { api, ApiError } from "./api.js";
import { deepCopy, fmt, h, render } from "./dom.js";
import { clearErrors, errorText, quotaText, setFallbackSink, showErrors } from "./errors.js";
import { exportMenu } from "./export.js";
import { onLang, t } from "./i18n.js";
import { datasetInfo, isPlanar, loadPreview } from "./data.js";
import { roundLr } from "./learn.js";
import { runName } from "./names.js";
import { RunData } from "./run.js";
import { canControl, ownerName } from "./session.js";
import { getSpec, replaceSpec, sameSetup, subscribe, update } from "./state.js";
import { isFinal, JobStream } from "./stream.js";
import { onDrawn, schedule, showRun } from "./charts/dashboard.js";
import { liveControls } from "./live.js";
import { replayBar } from "./replay.js";

let root = null;
let run = null;
let stream = null;
let phase = "idle"; // idle | submitting | queued | running | paused | completed | failed | cancelled | diverged
let drawn = null; // {view, count}: the run (or a replay's view of it) and its epochs as the charts last drew them
let linkState = "open";
let alert = null; // {kind, text, action?}; text may be a function, said again in the current language on each paint
let orphanErrors = [];
let stale = false; // the charts on screen show a finished run whose setup differs from the editor's
const finishListeners = new Set();
const debug = { dropAtEpochs: [] };

/** fn(run) when a run reaches a final status (the history refreshes). */
export function onRunFinished(fn) {
  finishListeners.add(fn);
}

export function currentRun() {
  return run;
}

const ACTIVE = new Set(["submitting", "queued", "running", "paused"]);
const GOING = ["queued", "running", "paused"]; // a job's statuses while a tab may follow it
const ACTIVE_KEY = "nndojo.activeJob"; // the job this tab follows, so a reload picks the stream up again

function remember(id) {
  try {
    if (id) sessionStorage.setItem(ACTIVE_KEY, id);
    else sessionStorage.removeItem(ACTIVE_KEY);
  } catch {
    /* storage disabled: a reload just starts fresh */
  }
}

/** On load: show the run a link names (any status): `?run=ID` (the teacher's dashboard: the editor shows that run's
 * setup) or a shared setup's `#...&job=ID`; else follow the job this tab was watching before a reload if it is still
 * queued or running. Its events so far are read in pages, then the stream continues. */
async function resume() {
  const opened = new URLSearchParams(location.search).get("run");
  const sharedMatch = /[#&]job=([A-Za-z0-9_-]+)/.exec(location.hash);
  const shared = Boolean(opened || sharedMatch);
  let id = opened || (sharedMatch ? sharedMatch[1] : null);
  try {
    id = id || sessionStorage.getItem(ACTIVE_KEY);
  } catch {
    /* storage disabled */
  }
  if (!id || run) return;
  try {
    const job = await api.job(id);
    if (run || !job.spec || (!shared && !GOING.includes(job.status))) {
      if (!shared) remember(null);
      return;
    }
    if (opened) replaceSpec(job.spec, { source: "run" });
    start(job, job.spec, { catchUp: true, opened: true });
    if (GOING.includes(job.status) && canControl(job)) remember(job.id);
  } catch (err) {
    if (!shared) remember(null); // forgotten by the server (deleted, or a fresh data folder)
    else if (err instanceof ApiError && err.status === 404) {
      alert = { kind: "error", text: () => t("run.gone") };
      paint();
    }
  }
}

/** A run of one's own that is going holds the Train button; watching another's shared run does not. */
function holdsTrain() {
  return ACTIVE.has(phase) && (!run || canControl(run.job));
}

async function train() {
  if (holdsTrain()) return;
  const spec = deepCopy(getSpec());
  spec.name = runName(spec);
  alert = null;
  phase = "submitting";
  paint();
  let job;
  try {
    job = await api.submit(spec);
  } catch (err) {
    phase = "idle";
    if (err instanceof ApiError && err.status === 429) {
      const detail = err.detail;
      alert = { kind: "error", text: () => quotaText(detail) || t("run.rejected", { msg: err.message }) };
    } else if (err instanceof ApiError && err.items.length) {
      const orphans = showErrors(err.items);
      const item = orphans[0] || err.items[0];
      alert = { kind: "error", text: () => t("run.rejected", { msg: errorText(item) }) };
    } else alert = { kind: "error", text: err.status === 0 ? t("app.serverDown") : t("run.rejected", { msg: err.message }) };
    paint();
    return;
  }
  clearErrors();
  start(job, spec);
  remember(job.id);
}

/** Follow a job from its first event: just submitted, or opened (by a link or a reload: the run bar names it, and
 * catchUp reads its history in pages first). */
export function start(job, spec, { catchUp = false, opened = false } = {}) {
  if (stream) stream.close();
  const info = datasetInfo(spec.dataset.name);
  run = new RunData(job, spec);
  run.opened = opened;
  run.kind = info.kind;
  run.planar = isPlanar(info);
  run.axes = run.planar && info.kind === "tabular" ? info.features : null; // the boundary's axis titles
  run.task = info.task;
  run.nClasses = info.n_classes;
  phase = job.status && job.status !== "queued" ? job.status : "queued";
  run.status = phase;
  showRun(run);
  if (run.planar) {
    const mine = run;
    loadPreview(spec.dataset, spec.seed)
      .then((points) => {
        mine.points = points;
        mine.revision += 1;
        if (run === mine) schedule();
      })
      .catch(() => {});
  }
  stream = new JobStream(job.id, { onEvent, onState });
  for (const e of debug.dropAtEpochs) stream.dropAtEpochs.add(e);
  stream.start({ catchUp });
  paint();
}

function onState(state) {
  linkState = state;
  if (state === "refused") {
    alert = { kind: "error", text: () => t("run.gone") };
    if (ACTIVE.has(phase)) phase = "idle";
    remember(null);
  }
  paint();
}

function onEvent(ev) {
  if (!run) return;
  if (ev.type === "status") {
    run.addStatus(ev);
    phase = ev.status;
    if (ev.status === "diverged") {
      const lr = run.spec.training.optimizer.lr;
      const smaller = roundLr(lr / 10);
      alert = {
        kind: "warn",
        text: () => t("run.diverged", { epoch: run.divergedAt, lr }),
        action: { text: t("run.useLr", { lr: smaller }), run: () => update((s) => (s.training.optimizer.lr = smaller), { structural: true, source: "run" }) },
      };
    } else if (ev.status === "failed" || (ev.status === "cancelled" && ev.error_code)) {
      // A failure with a code (the class's time limit, storage) is said in the page's language; else the server's text.
      alert = { kind: "error", text: () => (ev.error_code ? t(`run.error.${ev.error_code}`, {}, "") : "") || t("run.failed", { msg: ev.error || "?" }) };
    } else if (ev.status === "completed" && endedWorse(run)) {
      // Not NaN, yet no better than the untrained net: a step size that overshoots every time (or one far too small).
      const lr = run.spec.training.optimizer.lr;
      const smaller = roundLr(lr / 10);
      alert = {
        kind: "warn",
        text: () => t("run.noProgress", { first: fmt(run.train.loss[0], 3), last: fmt(run.train.loss.at(-1), 3), lr }),
        action: { text: t("run.useLr", { lr: smaller }), run: () => update((s) => (s.training.optimizer.lr = smaller), { structural: true, source: "run" }) },
      };
    }
    if (["completed", "failed", "cancelled", "diverged"].includes(ev.status)) {
      remember(null);
      for (const fn of finishListeners) fn(run);
    }
    paint();
    schedule({ urgent: true, all: isFinal(ev) }); // the last epoch shows now, every chart, not after the streaming interval
    return;
  } else if (ev.type === "epoch") {
    run.addEpoch(ev);
    if (phase === "queued") phase = "running"; // the counter follows the charts' drawing pass (onDrawn)
  } else if (ev.type === "control") {
    run.addControl(ev);
    if (ev.action === "pause") phase = "paused";
    else if (ev.action === "resume" || ev.action === "step") phase = "running";
    paint();
  }
  schedule();
}

/** The final training loss is no lower than the untrained network's (epoch 0): training went nowhere or uphill. */
function endedWorse(r) {
  const first = r.train.loss[0];
  const last = r.train.loss.at(-1);
  return r.epochs.length > 2 && Number.isFinite(first) && Number.isFinite(last) && last >= first;
}

async function stop() {
  if (!run) return;
  try {
    await api.cancel(run.job.id);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) alert = { kind: "error", text: err.message };
  }
  paint();
}

function statusText() {
  const key = `run.status.${phase}`;
  let text = t(key, {}, phase);
  if (phase === "queued" && run && run.position !== null && run.position !== undefined) text += ` · ${t("run.queuePos", { n: run.position })}`;
  if (phase === "running" && run && run.device) text += ` · ${t("run.device", { device: run.device })}`;
  if (ACTIVE.has(phase) && linkState === "reconnecting") text += ` · ${t("run.reconnecting")}`;
  return text;
}

function paintProgress() {
  if (!root) return;
  const total = run ? run.spec.training.epochs : 0;
  // The counter and numbers show the epoch the charts show (the live run grows between drawing passes).
  const shown = drawn && run && drawn.view.job.id === run.job.id ? drawn.view : run;
  const last = shown ? (shown === drawn?.view ? drawn.count : shown.epochs.length) - 1 : -1;
  const e = last >= 0 ? shown.epochs[last] : null;
  const bar = root.querySelector(".progress > div");
  if (bar) bar.style.width = `${total && e !== null ? (100 * e) / total : 0}%`;
  const progress = root.querySelector(".progress");
  if (progress) progress.setAttribute("aria-valuenow", String(e ?? 0));
  const epochEl = root.querySelector("#run-epoch");
  if (epochEl) epochEl.textContent = e === null ? "" : t("run.epoch", { e, n: total });
  const m = root.querySelector("#run-metrics");
  if (m && last >= 0) {
    const i = last;
    const items = [
      [t("run.trainLoss"), shown.train.loss[i]],
      [t("run.testLoss"), shown.test.loss[i]],
    ];
    if (run.task !== "regression") items.push([t("run.trainAcc"), pct(shown.train.accuracy[i])], [t("run.testAcc"), pct(shown.test.accuracy[i])]);
    m.replaceChildren(...items.map(([k, v]) => h("span", {}, `${k} `, h("b", {}, typeof v === "number" ? fmt(v, 4) : (v ?? "–")))));
  }
  const pill = root.querySelector(".status-pill");
  if (pill && pill.dataset.status !== phase) paint();
}

function pct(x) {
  return typeof x === "number" ? `${(100 * x).toFixed(1)}%` : "–";
}

/** The shown run is over and the setup has changed since (or a new one was refused): its charts and numbers must not
 * pass for the current setup's, so the run bar says "previous run" and the charts are dimmed. */
function isStale() {
  return Boolean(run) && !ACTIVE.has(phase) && !sameSetup(run.spec, getSpec());
}

function markStale() {
  stale = isStale();
  document.getElementById("view-play")?.toggleAttribute("data-stale", stale);
}

function paint() {
  if (!root) return;
  markStale();
  const busy = ACTIVE.has(phase);
  const mine = !run || canControl(run.job);
  const total = run ? run.spec.training.epochs : 0;
  const alerts = [];
  if (alert) {
    alerts.push(h("div", { class: `alert ${alert.kind}`, role: "alert", id: "run-alert" }, h("span", {}, typeof alert.text === "function" ? alert.text() : alert.text), alert.action ? h("button", { type: "button", class: "btn small", onclick: alert.action.run, id: "run-alert-action" }, alert.action.text) : null));
  }
  if (orphanErrors.length && !alert) {
    alerts.push(h("div", { class: "alert error", role: "alert", id: "run-check-errors" }, orphanErrors.map((e) => `${(e.loc || []).filter((x) => x !== "body").join(".")}: ${errorText(e)}`).join(" · ")));
  }
  render(
    root,
    h("button", { type: "button", class: "btn primary big", id: "train-btn", disabled: holdsTrain(), onclick: train, "data-key": "train", title: t("run.shortcut"), "aria-keyshortcuts": "Control+Enter" }, `▶ ${t("run.train")}`),
    h("button", { type: "button", class: "btn big", id: "stop-btn", disabled: !busy || phase === "submitting" || !mine, onclick: stop, "data-key": "stop" }, `■ ${t("run.stop")}`),
    liveControls(run, phase, mine, liveRefused),
    h("span", { class: "status-pill", id: "run-status", "data-status": phase, role: "status", "aria-live": "polite" }, statusText()),
    run && run.opened ? h("span", { class: "run-name", id: "run-name", title: run.job.name }, run.job.name) : null,
    h("span", { id: "run-epoch", class: "metrics" }),
    h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": total, "aria-label": t("run.title") }, h("div")),
    h("div", { class: "metrics", id: "run-metrics" }),
    run ? exportMenu(run.job, phase) : null,
    replayBar(run, Boolean(run) && !ACTIVE.has(phase)),
    !run && !alerts.length ? h("p", { class: "hint run-hint", id: "run-hint" }, t("run.firstSteps")) : null,
    stale ? h("p", { class: "stale-note", id: "run-stale" }, t("chart.stale", { name: run.job.name || run.spec.name || "" })) : null,
    mine ? null : h("p", { class: "hint run-hint", id: "run-readonly" }, t("run.readOnly", { name: ownerName(run.job) })),
    alerts,
  );
  paintProgress();
}

function liveRefused(text) {
  alert = { kind: "error", text };
  paint();
}

export function mountTraining(el) {
  root = el;
  setFallbackSink((orphans) => {
    const changed = orphans.length !== orphanErrors.length || orphans.some((o, i) => o.msg !== orphanErrors[i]?.msg);
    orphanErrors = orphans;
    if (changed) paint();
  });
  onDrawn((shown) => {
    drawn = { view: shown, count: shown.epochs.length };
    paintProgress();
  });
  paint();
  onLang(paint);
  subscribe(() => isStale() !== stale && paint());
  // Ctrl+Enter (⌘+Enter) trains from anywhere in the Playground, a form field included; the button's tooltip says so.
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey) || document.getElementById("view-play")?.hidden || document.body.hasAttribute("data-gate")) return;
    e.preventDefault();
    train();
  });
  resume();
  // Test and debug hooks: drop the websocket on purpose and read back exactly which epochs arrived.
  window.nndojo = Object.assign(window.nndojo || {}, {
    dropConnection: () => (stream ? stream.drop() : false),
    dropAtEpochs: (epochs) => {
      debug.dropAtEpochs = epochs;
      if (stream) for (const e of epochs) stream.dropAtEpochs.add(e);
    },
    reconnects: () => (stream ? stream.reconnects : 0),
    epochsSeen: () => (run ? [...run.seenEpochs] : []),
    runStatus: () => phase,
    controlsSeen: () => (run ? run.controls.map((c) => c.action) : []),
    jobId: () => (run ? run.job.id : null),
  });
}
