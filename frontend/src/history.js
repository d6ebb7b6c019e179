// Compare runs: the job history with key settings and results; tick two or more to overlay their curves; clone one
// into the editor to change one thing and run again.

import { api, ApiError, jobList } from "./api.js";
import { fmt, h, render, toast } from "./dom.js";
import { label, onLang, t } from "./i18n.js";
import { networkText } from "./names.js";
import { replaceSpec } from "./state.js";
import { baseLayout, draw as drawPlot, RUN_COLORS } from "./charts/plot.js";

let root = null;
let jobs = [];
const selected = new Set();
const specs = new Map(); // job id -> spec, for summaries that come without it
const curves = new Map(); // job id -> {epochs, train, test, acc} once a finished job's events are fetched
let loading = false;
let error = null;
let currentId = null;

export function setCurrentJob(id) {
  currentId = id;
}

function jobName(job) {
  const spec = specs.get(job.id) || job.spec;
  return job.name || (spec && spec.name) || String(job.id).slice(0, 8);
}

async function refresh() {
  loading = true;
  draw();
  try {
    jobs = jobList(await api.jobs(100));
    error = null;
    await Promise.all(
      jobs
        .filter((j) => !j.spec && !specs.has(j.id))
        .slice(0, 40)
        .map((j) =>
          api
            .job(j.id)
            .then((full) => specs.set(j.id, full.spec))
            .catch(() => {}),
        ),
    );
  } catch (err) {
    error = err instanceof ApiError && err.status === 0 ? t("app.serverDown") : err.message;
  }
  loading = false;
  for (const id of [...selected]) if (!jobs.some((j) => j.id === id)) selected.delete(id);
  draw();
  overlay();
}

const FINAL = ["completed", "failed", "cancelled", "diverged"];
let pollTimer = null;

/** A job's curves; cached once its event log ends with a final status (the log may trail the live stream a little). */
async function curvesOf(job) {
  if (curves.has(job.id)) return curves.get(job.id);
  const events = await api.events(job.id);
  const list = Array.isArray(events) ? events : (events && events.events) || [];
  const final = list.some((ev) => ev.type === "status" && FINAL.includes(ev.status));
  const c = { epochs: [], train: [], test: [], acc: [], final };
  for (const ev of list) {
    if (ev.type !== "epoch") continue;
    c.epochs.push(ev.epoch);
    c.train.push(ev.train ? ev.train.loss : null);
    c.test.push(ev.test ? ev.test.loss : null);
    c.acc.push(ev.test ? ev.test.accuracy : null);
  }
  if (final) curves.set(job.id, c);
  return c;
}

async function overlay() {
  const lossEl = root.querySelector("#compare-loss");
  const accEl = root.querySelector("#compare-acc");
  if (!lossEl) return;
  const chosen = jobs.filter((j) => selected.has(j.id));
  const loss = [];
  const acc = [];
  const results = await Promise.all(chosen.map((j) => curvesOf(j).catch(() => null)));
  // Runs still going (or whose log is still being written): look again shortly, while this tab is open.
  clearTimeout(pollTimer);
  if (results.some((c) => c && !c.final)) pollTimer = setTimeout(() => !root.hidden && refresh(), 1000);
  chosen.forEach((job, i) => {
    const c = results[i];
    if (!c) return;
    const color = RUN_COLORS[i % RUN_COLORS.length];
    const name = jobName(job);
    loss.push({ x: c.epochs, y: c.test, name: `${name} (${t("chart.test")})`, mode: "lines", line: { color, width: 2 }, legendgroup: job.id });
    loss.push({ x: c.epochs, y: c.train, name: `${name} (${t("chart.train")})`, mode: "lines", line: { color, width: 1.5, dash: "dot" }, legendgroup: job.id, showlegend: false });
    if (c.acc.some((v) => typeof v === "number")) acc.push({ x: c.epochs, y: c.acc, name, mode: "lines", line: { color, width: 2 } });
  });
  const legend = { orientation: "h", x: 0, y: -0.22, yanchor: "top", font: { size: 11 } };
  drawPlot(lossEl, loss, baseLayout({ legend, xaxis: { title: { text: t("chart.epoch") } } }));
  drawPlot(accEl, acc, baseLayout({ legend, xaxis: { title: { text: t("chart.epoch") } }, yaxis: { range: [0, 1.02], tickformat: ".0%" } }));
}

function row(job) {
  const spec = specs.get(job.id) || job.spec;
  const fin = job.final || {};
  const tr = fin.train || {};
  const te = fin.test || {};
  const name = jobName(job);
  const box = h("input", { type: "checkbox", checked: selected.has(job.id), "aria-label": t("compare.select", { name }), "data-job": job.id, "data-key": `sel-${job.id}` });
  box.addEventListener("change", () => {
    if (box.checked) selected.add(job.id);
    else selected.delete(job.id);
    overlay();
  });
  const opt = spec ? spec.training.optimizer : null;
  return h(
    "tr",
    { class: job.id === currentId ? "current" : "", "data-job": job.id },
    h("td", {}, box),
    h("td", {}, name),
    h("td", {}, t(`run.status.${job.status}`, {}, job.status)),
    h("td", {}, spec ? spec.dataset.name : ""),
    h("td", { title: spec ? JSON.stringify(spec.model.layers.map((l) => l.type)) : "" }, networkText(spec)),
    h("td", {}, opt ? `${label("opt", opt.name)} η=${opt.lr}` : ""),
    h("td", { class: "num" }, job.epoch ?? (spec ? spec.training.epochs : "")),
    h("td", { class: "num" }, fmt(job.n_params)),
    h("td", { class: "num" }, fmt(tr.loss, 4)),
    h("td", { class: "num" }, fmt(te.loss, 4)),
    h("td", { class: "num" }, typeof te.accuracy === "number" ? `${(100 * te.accuracy).toFixed(1)}%` : "–"),
    h(
      "td",
      {},
      h("button", { type: "button", class: "btn small", "data-clone": job.id, disabled: !spec, onclick: () => clone(job) }, t("compare.clone")),
      " ",
      h("button", { type: "button", class: "btn small danger", "data-delete": job.id, onclick: () => remove(job) }, t("compare.delete")),
    ),
  );
}

function clone(job) {
  const spec = specs.get(job.id) || job.spec;
  if (!spec) return;
  replaceSpec(spec, { source: "clone" });
  toast(t("compare.cloned"));
  document.getElementById("tab-play")?.click();
}

async function remove(job) {
  try {
    await api.remove(job.id);
  } catch (err) {
    toast(err.message);
  }
  selected.delete(job.id);
  refresh();
}

function draw() {
  const headers = ["", t("col.name"), t("col.status"), t("col.dataset"), t("col.network"), t("col.optimizer"), t("col.epochs"), t("col.params"), t("col.trainLoss"), t("col.testLoss"), t("col.testAcc"), t("col.actions")];
  const lossEl = root.querySelector("#compare-loss");
  const accEl = root.querySelector("#compare-acc");
  render(
    root,
    h("div", { class: "toolbar" }, h("h2", {}, t("compare.title")), h("button", { type: "button", class: "btn", id: "compare-refresh", onclick: refresh, disabled: loading }, t("compare.refresh"))),
    h("p", { class: "hint" }, t("compare.hint")),
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

export function selectJobs(ids) {
  for (const id of ids) selected.add(id);
}
