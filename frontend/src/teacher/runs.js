// The selected class, live: every student and their runs (setup, status, epoch, accuracy, a loss sparkline) with the
// teacher's controls. Polls compactly every ~2 s: the class (students), the job summaries, and for each run that is
// still going (or not read yet) only its new epochs' scalars, GET /metrics?after=last_seq; never whole event logs.

import { api, ApiError, jobList } from "../api.js";
import { h, toast } from "../dom.js";
import { getLang, onLang, t } from "../i18n.js";
import { settingsText } from "../names.js";
import { sparkline } from "./sparkline.js";

const POLL_MS = 2000;
const PARALLEL = 6; // metrics requests in flight at once: a full class does not burst 200 requests
const FINAL = new Set(["completed", "failed", "cancelled", "diverged"]);
const ACTIVE = new Set(["queued", "running", "paused"]); // a paused run holds its slot: the teacher may stop it too

let root = null;
let parts = null; // the panel's fixed elements: title, hint, error, table (thead, tbody), empty note
const rowCache = new Map(); // row key (job id, or student:id) -> {sig, tr}
let classId = null;
let onClassData = () => {};
let students = [];
let jobs = [];
let error = null;
let loaded = false; // the selected class has been read once
let timer = null;
let generation = 0; // bumps on class change: answers for the old class are dropped
const series = new Map(); // job id -> {lastSeq, lastEpoch, loss, trainAcc, testAcc, final}
const stats = { ticks: 0, lastMs: null, ms: [] };

/** The dashboard polls the class with this id (null: none selected); onClass(cls) gets each fresh class object. */
export function showClass(id, onClass) {
  classId = id;
  onClassData = onClass || (() => {});
  generation += 1;
  students = [];
  jobs = [];
  error = null;
  loaded = false;
  series.clear();
  clearTimeout(timer);
  draw();
  if (id) tick();
}

/** Poll again now (after an action), not at the next interval. */
export function refreshNow() {
  clearTimeout(timer);
  if (classId) tick();
}

let inFlight = Promise.resolve(); // the poll under way, if any

/** Stops polling and resolves once no poll is in flight: a class about to be deleted is not read after it is gone
 * (a read racing the DELETE would answer 404 and show as an error). */
export async function stopPolling() {
  showClass(null);
  await inFlight;
}

function tick() {
  inFlight = poll();
  return inFlight;
}

async function poll() {
  const gen = generation;
  const id = classId;
  const started = performance.now();
  try {
    const [cls, list] = await Promise.all([api.getClass(id), api.jobs({ class_id: id, limit: 1000 })]);
    if (gen !== generation) return;
    students = cls.students || [];
    jobs = jobList(list);
    onClassData(cls);
    await pullMetrics(gen);
    if (gen !== generation) return;
    error = null;
  } catch (err) {
    if (gen !== generation) return;
    error = err;
  }
  loaded = true;
  stats.ticks += 1;
  stats.lastMs = performance.now() - started;
  stats.ms.push(stats.lastMs);
  if (stats.ms.length > 200) stats.ms.shift();
  draw();
  clearTimeout(timer);
  timer = setTimeout(() => (document.hidden ? waitVisible() : tick()), POLL_MS);
}

/** A hidden tab stops polling; it picks up at once when shown again. */
function waitVisible() {
  const again = () => {
    document.removeEventListener("visibilitychange", again);
    if (classId) tick();
  };
  document.addEventListener("visibilitychange", again);
}

/** New epochs of every run that is going or not read yet, PARALLEL at a time. */
async function pullMetrics(gen) {
  const ids = new Set(jobs.map((j) => j.id));
  for (const id of [...series.keys()]) if (!ids.has(id)) series.delete(id);
  const todo = jobs.filter((j) => j.status !== "queued" && !series.get(j.id)?.final);
  const next = async () => {
    for (let job = todo.shift(); job; job = todo.shift()) {
      const s = series.get(job.id) || { lastSeq: -1, lastEpoch: -1, loss: [], trainAcc: null, testAcc: null, final: false };
      try {
        const m = await api.metrics(job.id, s.lastSeq);
        if (gen !== generation) return;
        s.loss.push(...(m.train_loss || []));
        if ((m.train_accuracy || []).length) s.trainAcc = m.train_accuracy.at(-1);
        if ((m.test_accuracy || []).length) s.testAcc = m.test_accuracy.at(-1);
        const seqs = m.seq || [];
        s.lastSeq = Math.max(s.lastSeq, typeof m.last_seq === "number" ? m.last_seq : (seqs.at(-1) ?? -1));
        if ((m.epoch || []).length) s.lastEpoch = m.epoch.at(-1) ?? s.lastEpoch;
        // Done once the run has ended and every epoch the summary counts is here (the store may trail a moment).
        s.final = FINAL.has(m.status) && FINAL.has(job.status) && s.lastEpoch >= (job.epoch ?? -1);
        series.set(job.id, s);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err; // deleted meanwhile: gone from the next list
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, next));
}

function pct(x) {
  return typeof x === "number" && Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "–";
}

function lossText(x) {
  return typeof x === "number" && Number.isFinite(x) ? x.toPrecision(3) : "–";
}

async function act(fn, done) {
  try {
    await fn();
    if (done) toast(done());
  } catch (err) {
    toast(err.status === 0 ? t("app.serverDown") : err.message);
  }
  refreshNow();
}

function share(job) {
  act(
    () => api.share(job.id, !job.shared),
    () => t(job.shared ? "teacher.unshared" : "teacher.shared", { name: job.name }),
  );
}

function cancel(job) {
  act(() => api.cancel(job.id));
}

function remove(job) {
  if (!window.confirm(t("teacher.confirmDeleteRun", { student: ownerOf(job), name: job.name }))) return;
  act(() => api.remove(job.id));
}

function ownerOf(job) {
  return job.owner ? job.owner.name : "–";
}

/** What a job's row shows; the row is rebuilt only when this changes (a click on a row being replaced would be lost). */
function jobView(job, first) {
  const s = series.get(job.id);
  const loss = s ? s.loss : [];
  const finite = loss.filter((v) => typeof v === "number" && Number.isFinite(v));
  return {
    job,
    first,
    owner: first ? ownerOf(job) : "",
    trainAcc: s && s.trainAcc !== null ? s.trainAcc : job.final?.train?.accuracy,
    testAcc: s && s.testAcc !== null ? s.testAcc : job.final?.test?.accuracy,
    total: job.settings ? job.settings.epochs : job.spec?.training?.epochs,
    loss,
    firstLoss: finite[0],
    lastLoss: finite.at(-1),
  };
}

function jobSignature(v) {
  const j = v.job;
  return JSON.stringify([getLang(), v.first, v.owner, j.name, j.shared, j.status, j.epoch, v.total, j.settings, v.trainAcc, v.testAcc, v.loss.length, v.lastLoss]);
}

function jobRow(v) {
  const { job } = v;
  const setup = settingsText(job.settings);
  const sparkLabel = v.lastLoss !== undefined ? t("teacher.sparkLabel", { first: lossText(v.firstLoss), last: lossText(v.lastLoss) }) : "";
  return h(
    "tr",
    { "data-job": job.id, class: v.first ? "first" : "" },
    h("td", { class: "student" }, v.owner),
    h("td", { class: "run-name" }, h("span", { class: "name-text" }, job.name), job.shared ? h("span", { class: "badge shared", "data-shared": job.id }, t("compare.shared")) : null),
    h("td", { class: "setup", title: setup }, setup),
    h("td", {}, h("span", { class: "status-pill", "data-status": job.status }, t(`run.status.${job.status}`, {}, job.status))),
    h("td", { class: "num" }, `${job.epoch ?? "–"} / ${v.total ?? "–"}`),
    h("td", { class: "num" }, pct(v.trainAcc)),
    h("td", { class: "num" }, pct(v.testAcc)),
    h("td", { class: "spark" }, v.loss.length ? sparkline(v.loss, { label: sparkLabel }) : null, h("span", { class: "spark-last" }, v.lastLoss !== undefined ? lossText(v.lastLoss) : "")),
    h(
      "td",
      { class: "actions" },
      h("a", { class: "btn small", href: `./?run=${encodeURIComponent(job.id)}`, target: "_blank", rel: "noopener", "aria-label": t("teacher.openRunLabel", { name: job.name }), "data-open": job.id }, t("teacher.openRun")),
      h("button", { type: "button", class: "btn small", "aria-pressed": String(Boolean(job.shared)), "data-share": job.id, onclick: () => share(job) }, t(job.shared ? "teacher.unshare" : "teacher.share")),
      ACTIVE.has(job.status) ? h("button", { type: "button", class: "btn small", "data-cancel": job.id, onclick: () => cancel(job) }, t("teacher.cancel")) : null,
      h("button", { type: "button", class: "btn small danger", "data-delete": job.id, onclick: () => remove(job) }, t("teacher.delete")),
    ),
  );
}

function emptyRow(student) {
  return h("tr", { class: "first no-runs", "data-student": student.id }, h("td", { class: "student" }, student.name), h("td", { colspan: 8, class: "muted" }, t("teacher.noRuns")));
}

/** Students by name, each with their runs newest first (a student without runs still gets a row): [{key, sig, build}]. */
function rowItems() {
  const byOwner = new Map();
  for (const job of jobs) {
    const key = job.owner ? job.owner.id : "";
    if (!byOwner.has(key)) byOwner.set(key, []);
    byOwner.get(key).push(job);
  }
  const people = [...students].sort((a, b) => a.name.localeCompare(b.name));
  const out = [];
  const addJobs = (list) =>
    list.forEach((job, i) => {
      const v = jobView(job, i === 0);
      out.push({ key: job.id, sig: jobSignature(v), build: () => jobRow(v) });
    });
  for (const student of people) {
    const mine = byOwner.get(student.id) || [];
    byOwner.delete(student.id);
    if (!mine.length) out.push({ key: `student:${student.id}`, sig: JSON.stringify([getLang(), student.name]), build: () => emptyRow(student) });
    addJobs(mine);
  }
  for (const rest of byOwner.values()) addJobs(rest); // the teacher's own, or a student already gone
  return out;
}

/** Put these rows in the table, reusing every row whose signature is unchanged and touching only the others. */
function reconcile(tbody, items) {
  const nodes = items.map(({ key, sig, build }) => {
    const hit = rowCache.get(key);
    if (hit && hit.sig === sig) return hit.tr;
    const tr = build();
    rowCache.set(key, { sig, tr });
    return tr;
  });
  const keys = new Set(items.map((x) => x.key));
  for (const key of [...rowCache.keys()]) if (!keys.has(key)) rowCache.delete(key);
  const current = [...tbody.children];
  const inPlace = current.length === nodes.length && nodes.every((n, i) => n === current[i] || !n.isConnected);
  if (inPlace) nodes.forEach((n, i) => n !== current[i] && current[i].replaceWith(n));
  else tbody.replaceChildren(...nodes);
}

function headerRow() {
  const headers = [t("col.student"), t("col.name"), t("col.setup"), t("col.status"), t("col.epoch"), t("col.trainAcc"), t("col.testAcc"), t("col.loss"), t("col.actions")];
  return h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)));
}

function draw() {
  if (!root) return;
  parts.title.textContent = t("teacher.runs");
  parts.hint.textContent = t("teacher.runsHint");
  const message = error ? t("teacher.refreshFailed", { msg: error.status === 0 ? t("app.serverDown") : error.message }) : "";
  parts.error.textContent = message;
  parts.error.hidden = !message;
  const items = rowItems();
  parts.table.hidden = !items.length;
  parts.empty.hidden = Boolean(items.length);
  parts.empty.textContent = !classId ? "" : loaded ? t("teacher.noStudents") : t("app.loading");
  if (parts.lang !== getLang()) {
    parts.thead.replaceChildren(headerRow());
    parts.lang = getLang();
  }
  reconcile(parts.tbody, items);
}

export function mountRuns(el) {
  root = el;
  parts = {
    title: h("h2", { id: "runs-title" }),
    hint: h("span", { class: "hint" }),
    error: h("div", { class: "alert error", role: "alert", hidden: true }),
    thead: h("thead"),
    tbody: h("tbody"),
    empty: h("p", { class: "empty-note", id: "no-students" }),
    lang: null,
  };
  parts.table = h("table", { class: "runs class-runs", id: "class-runs", "aria-labelledby": "runs-title" }, parts.thead, parts.tbody);
  root.replaceChildren(h("div", { class: "toolbar" }, parts.title, parts.hint), parts.error, h("div", { class: "table-wrap runs-wrap" }, parts.table, parts.empty));
  draw();
  onLang(draw);
  // Test and bench hook: how long each refresh (class, list and new metrics) took, in ms.
  window.nndojo = Object.assign(window.nndojo || {}, { dashboard: { ticks: () => stats.ticks, refreshMs: () => [...stats.ms] } });
}
