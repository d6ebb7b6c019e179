// Compare runs: the job list (summaries) with key settings, results and, in a classroom, each run's owner; tick two or
// more to overlay their curves, read compactly from GET /metrics?after=last_seq and polled for new epochs only while a
// ticked run is going; clone one into the editor to change one thing and run again. Others' shared runs are read-only.

import { api, ApiError, jobList } from "./api.js";
import { fmt, h, render, toast } from "./dom.js";
import { exportMenu } from "./export.js";
import { label, onLang, t } from "./i18n.js";
import { networkText } from "./names.js";
import { canControl, isClassroom, ownerName } from "./session.js";
import { replaceSpec } from "./state.js";
import { baseLayout, draw as drawPlot, plotText, RUN_COLORS } from "./charts/plot.js";

const FINAL = new Set(["completed", "failed", "cancelled", "diverged"]);
const POLL_MS = 1000;

let root = null;
let jobs = [];
const selected = new Set();
const curves = new Map(); // job id -> {epochs, train, test, acc, lastSeq, status, final}
const pulling = new Map(); // job id -> the metrics request in flight, so overlapping overlays append once
const relisted = new Set(); // runs seen finishing: the list is read again once for their final numbers
let loading = false;
let error = null;
let currentId = null;
let pollTimer = null;

export function setCurrentJob(id) {
  currentId = id;
}

function jobName(job) {
  return job.name || (job.spec && job.spec.name) || String(job.id).slice(0, 8);
}

async function refresh() {
  loading = true;
  draw();
  try {
    jobs = jobList(await api.jobs({ limit: 100 }));
    error = null;
  } catch (err) {
    error = err instanceof ApiError && err.status === 0 ? t("app.serverDown") : err.message;
  }
  loading = false;
  for (const id of [...selected]) if (!jobs.some((j) => j.id === id)) selected.delete(id);
  draw();
  overlay();
}

/** A job's curves so far, extended by the epochs after the last seq read; reads end once the run has ended and its
 * last epoch is in. */
function pull(job) {
  const c = curves.get(job.id) || { epochs: [], train: [], test: [], acc: [], lastSeq: -1, status: job.status, final: false };
  if (c.final) return Promise.resolve(c);
  if (pulling.has(job.id)) return pulling.get(job.id);
  const request = api
    .metrics(job.id, c.lastSeq)
    .then((m) => {
      c.epochs.push(...(m.epoch || []));
      c.train.push(...(m.train_loss || []));
      c.test.push(...(m.test_loss || []));
      c.acc.push(...(m.test_accuracy || []));
      const seqs = m.seq || [];
      c.lastSeq = Math.max(c.lastSeq, typeof m.last_seq === "number" ? m.last_seq : (seqs.at(-1) ?? -1));
      c.status = m.status || c.status;
      // Done once the list too says the run ended and every epoch it counts is here (the store may trail a moment).
      c.final = FINAL.has(c.status) && FINAL.has(job.status) && (c.epochs.at(-1) ?? -1) >= (job.epoch ?? -1);
      curves.set(job.id, c);
      return c;
    })
    .finally(() => pulling.delete(job.id));
  pulling.set(job.id, request);
  return request;
}

async function overlay() {
  const lossEl = root.querySelector("#compare-loss");
  const accEl = root.querySelector("#compare-acc");
  if (!lossEl) return;
  const chosen = jobs.filter((j) => selected.has(j.id));
  const results = await Promise.all(chosen.map((j) => pull(j).catch(() => null)));
  // A ticked run that finished since the list was read: read the list again for its final numbers.
  const finished = chosen.filter((job, i) => results[i] && FINAL.has(results[i].status) && !FINAL.has(job.status) && !relisted.has(job.id));
  if (finished.length) {
    for (const job of finished) relisted.add(job.id);
    refresh();
    return;
  }
  // Runs still going: new epochs only, shortly, while this tab is open.
  clearTimeout(pollTimer);
  if (results.some((c) => c && !c.final)) pollTimer = setTimeout(() => !root.hidden && overlay(), POLL_MS);
  const loss = [];
  const acc = [];
  chosen.forEach((job, i) => {
    const c = results[i];
    if (!c) return;
    const color = RUN_COLORS[i % RUN_COLORS.length];
    const owner = ownerName(job);
    const name = plotText(owner ? `${jobName(job)} · ${owner}` : jobName(job));
    loss.push({ x: c.epochs, y: c.test, name: `${name} (${t("chart.test")})`, mode: "lines", line: { color, width: 2 }, legendgroup: job.id });
    loss.push({ x: c.epochs, y: c.train, name: `${name} (${t("chart.train")})`, mode: "lines", line: { color, width: 1.5, dash: "dot" }, legendgroup: job.id, showlegend: false });
    if (c.acc.some((v) => typeof v === "number")) acc.push({ x: c.epochs, y: c.acc, name, mode: "lines", line: { color, width: 2 } });
  });
  const legend = { orientation: "h", x: 0, y: -0.22, yanchor: "top", font: { size: 11 } };
  const last = Math.max(0, ...results.map((c) => (c && c.epochs.length ? c.epochs.at(-1) : 0)));
  const xaxis = { title: { text: t("chart.epoch") }, tickformat: "d", ...(last <= 10 ? { dtick: 1 } : {}) }; // whole epochs only
  // With nothing ticked, the empty axes say what fills them.
  const annotations = chosen.length ? [] : [{ xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: { size: 13, color: "#5f6b7a" }, text: plotText(t("compare.pick")) }];
  drawPlot(lossEl, loss, baseLayout({ legend, xaxis, annotations, yaxis: { title: { text: t("chart.lossPlain") } } }));
  drawPlot(accEl, acc, baseLayout({ legend, xaxis, annotations, yaxis: { range: [0, 1.02], tickformat: ".0%", title: { text: t("chart.testAccuracyAxis") } } }));
}

function row(job) {
  const spec = job.spec;
  const fin = job.final || {};
  const tr = fin.train || {};
  const te = fin.test || {};
  const name = jobName(job);
  const mine = canControl(job);
  const box = h("input", { type: "checkbox", checked: selected.has(job.id), "aria-label": t("compare.select", { name }), "data-job": job.id, "data-key": `sel-${job.id}` });
  box.addEventListener("change", () => {
    if (box.checked) selected.add(job.id);
    else selected.delete(job.id);
    overlay();
  });
  const opt = spec ? spec.training.optimizer : null;
  const epoch = curves.get(job.id)?.epochs.at(-1) ?? job.epoch;
  return h(
    "tr",
    { class: job.id === currentId ? "current" : "", "data-job": job.id },
    h("td", {}, box),
    h("td", { class: "run-name" }, h("span", { class: "name-text", title: name }, name), job.shared ? h("span", { class: "badge shared", "data-shared": job.id }, t("compare.shared")) : null),
    isClassroom() ? h("td", { class: "owner", "data-owner": job.id }, ownerName(job)) : null,
    h("td", {}, t(`run.status.${job.status}`, {}, job.status)),
    h("td", {}, spec ? spec.dataset.name : ""),
    h("td", { title: spec ? JSON.stringify(spec.model.layers.map((l) => l.type)) : "" }, networkText(spec)),
    h("td", {}, opt ? `${label("opt", opt.name)} η=${opt.lr}` : ""),
    h("td", { class: "num" }, epoch ?? (spec ? spec.training.epochs : "")),
    h("td", { class: "num" }, fmt(job.n_params)),
    h("td", { class: "num" }, fmt(tr.loss, 4)),
    h("td", { class: "num" }, fmt(te.loss, 4)),
    h("td", { class: "num" }, typeof te.accuracy === "number" ? `${(100 * te.accuracy).toFixed(1)}%` : "–"),
    h(
      "td",
      { class: "actions" },
      h("button", { type: "button", class: "btn small", "data-clone": job.id, disabled: !spec, onclick: () => clone(job) }, t("compare.clone")),
      exportMenu(job),
      isClassroom() && mine
        ? h("button", { type: "button", class: "btn small", "aria-pressed": String(Boolean(job.shared)), "data-share": job.id, "data-key": `share-${job.id}`, onclick: () => share(job) }, t(job.shared ? "compare.unshare" : "compare.share"))
        : null,
      mine ? h("button", { type: "button", class: "btn small danger", "data-delete": job.id, "data-key": `delete-${job.id}`, onclick: () => remove(job) }, t("compare.delete")) : null,
    ),
  );
}

function clone(job) {
  if (!job.spec) return;
  replaceSpec(job.spec, { source: "clone" });
  toast(t("compare.cloned"));
  document.getElementById("tab-play")?.click();
}

async function share(job) {
  try {
    await api.share(job.id, !job.shared);
  } catch (err) {
    toast(err.message);
  }
  refresh();
}

async function remove(job) {
  try {
    await api.remove(job.id);
  } catch (err) {
    toast(err.message);
  }
  selected.delete(job.id);
  curves.delete(job.id);
  refresh();
}

function draw() {
  const headers = [h("span", { class: "sr-only" }, t("col.select")), t("col.name"), isClassroom() ? t("col.owner") : null, t("col.status"), t("col.dataset"), t("col.network"), t("col.optimizer"), t("col.epochs"), t("col.params"), t("col.trainLoss"), t("col.testLoss"), t("col.testAcc"), t("col.actions")].filter((x) => x !== null);
  const lossEl = root.querySelector("#compare-loss");
  const accEl = root.querySelector("#compare-acc");
  render(
    root,
    h("div", { class: "toolbar" }, h("h2", {}, t("compare.title")), h("button", { type: "button", class: "btn", id: "compare-refresh", onclick: refresh, disabled: loading }, t("compare.refresh"))),
    h("p", { class: "hint" }, t(isClassroom() ? "compare.hintClass" : "compare.hint")),
    error ? h("div", { class: "alert error", role: "alert" }, error) : null,
    h(
      "div",
      { class: "table-wrap" },
      jobs.length
        ? h("table", { class: "runs", id: "runs-table" }, h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))), h("tbody", {}, jobs.map(row)))
        : h("p", { class: "empty-note" }, loading ? t("app.loading") : t("compare.empty")),
    ),
    h(
      "div",
      { class: "compare-plots" },
      h("article", { class: "chart-card" }, h("div", { class: "chart-head" }, h("h3", {}, t("compare.loss"))), lossEl || h("div", { id: "compare-loss", class: "plot tall" })),
      h("article", { class: "chart-card" }, h("div", { class: "chart-head" }, h("h3", {}, t("compare.accuracy"))), accEl || h("div", { id: "compare-acc", class: "plot tall" })),
    ),
  );
}

export function mountHistory(el) {
  root = el;
  draw();
  onLang(() => {
    draw();
    overlay();
  });
}

/** The Compare tab became visible (or a run finished while it is): reload the list. */
export function showHistory() {
  refresh();
}
