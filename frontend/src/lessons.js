// The Lessons view: the textbook's experiments (GET /api/lessons). One click submits every variant of a lesson as the
// user's jobs; the view follows their metrics, draws the charts that carry the lesson's point with the variants
// overlaid, and shows the verdicts the server decides on these runs (POST /api/lessons/{id}/verdicts).

import { api, ApiError } from "./api.js";
import { h, render } from "./dom.js";
import { getLang, onLang, t } from "./i18n.js";
import { drawLessonCharts, lessonCharts } from "./charts/lesson.js";
import { addStepLosses, newStepSeries } from "./steps.js";

const FINAL = new Set(["completed", "failed", "cancelled", "diverged"]);
const POLL_MS = 1000;
const STORE_KEY = "nndojo.lesson"; // the lesson last run in this tab and its jobs: a reload finds its view again

let root = null;
let lessons = [];
let active = null; // {lesson, jobs: {variant: id}, runs: {variant: {metrics, status, first, last}}, verdicts, error}
let pollTimer = null;
let charts = null;

const text = (pair) => (pair ? pair[getLang()] || pair.en : "");

/** Submit every variant; the view opens on them and follows them until all have ended. Variants over the caller's
 * limits (a 429: a student's waiting runs in classroom mode, or a full server queue) wait here, in order, and go in as
 * the lesson's earlier runs end, so an 8-run lesson works under a class's 3-run queue. */
async function runLesson(lesson) {
  clearTimeout(pollTimer);
  active = { lesson, jobs: {}, runs: {}, verdicts: null, error: null, submitting: true, waiting: lesson.variants.map((v) => v.id) };
  draw();
  root.querySelector(".lesson-view").scrollIntoView({ block: "start" });
  await submitWaiting(active);
  active.submitting = false;
  draw();
  poll();
}

/** Submits the run's waiting variants in order until the server says wait (429) or refuses one for another reason. */
async function submitWaiting(run) {
  while (run.waiting.length) {
    const variant = run.lesson.variants.find((v) => v.id === run.waiting[0]);
    try {
      run.jobs[variant.id] = (await api.submit(variant.spec)).id;
      run.waiting.shift();
      remember();
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) return; // the caller's turn comes when a run of theirs ends
      run.error = t("lessons.submitFailed", { msg: err instanceof ApiError ? err.message : String(err) });
      run.waiting = [];
    }
  }
}

/** Reads each unfinished run's metrics (and its first and last epoch events where a chart needs them), then the
 * verdicts; again shortly while any run is going. */
async function poll() {
  const run = active;
  if (!run) return;
  const needEvents = run.lesson.charts.some((c) => ["activation_histograms", "filters", "boundary"].includes(c));
  await Promise.all(
    Object.entries(run.jobs).map(async ([variant, id]) => {
      const state = run.runs[variant] || (run.runs[variant] = { metrics: null, status: "queued", first: null, last: null });
      if (FINAL.has(state.status) && state.done) return;
      try {
        const m = await api.metrics(id);
        state.metrics = m;
        state.status = m.status || state.status;
        const seqs = m.seq || [];
        if (needEvents && seqs.length && !state.first) state.first = await api.eventAt(id, seqs[0]);
        if (run.lesson.charts.includes("loss_steps")) await readStepLosses(id, state);
        if (FINAL.has(state.status)) {
          if (needEvents && seqs.length) state.last = await api.eventAt(id, seqs.at(-1));
          state.done = true;
        }
      } catch (err) {
        state.error = err.message;
        if (err instanceof ApiError && err.status === 404) Object.assign(state, { status: "failed", done: true }); // deleted since
      }
    }),
  );
  if (run !== active) return; // another lesson was opened meanwhile
  const ended = Object.values(run.runs).filter((r) => r.done).length;
  if (run.waiting && run.waiting.length && ended > (run.endedAtSubmit ?? -1)) {
    run.endedAtSubmit = ended; // try again only once one more run has ended
    await submitWaiting(run);
    if (run !== active) return;
  }
  try {
    run.verdicts = (await api.verdicts(run.lesson.id, run.jobs)).verdicts;
    run.verdictError = null;
  } catch (err) {
    run.verdictError = err.message;
  }
  if (run !== active) return;
  draw();
  // runs submitted in this poll have no state yet: they count as going
  const going = Object.keys(run.jobs).some((v) => !(run.runs[v] && run.runs[v].done)) || Boolean(run.waiting && run.waiting.length);
  if (going && !root.hidden) pollTimer = setTimeout(poll, POLL_MS);
}

/** The training loss against iterations (steps.js), read page by page from the run's events. */
async function readStepLosses(id, state) {
  const steps = state.steps || (state.steps = { ...newStepSeries(), after: -1 });
  // a page holds at most a few MB, a few epochs of a big net's histograms: read on until the log has no more
  for (;;) {
    const { events, nextAfter } = await api.eventPage(id, steps.after);
    if (!events.length) return;
    steps.after = nextAfter;
    for (const ev of events) addStepLosses(steps, ev);
  }
}

/** "4 runs · about 90 s on 2 CPU cores": seconds under a minute, one run said in the singular. */
function sizeText(lesson) {
  const n = lesson.variants.length;
  const runs = n === 1 ? t("lessons.oneRun") : t("lessons.runs", { n });
  return lesson.minutes < 1 ? t("lessons.sizeSeconds", { runs, s: Math.round(lesson.minutes * 60) }) : t("lessons.size", { runs, min: lesson.minutes });
}

function card(lesson) {
  const n = lesson.variants.length;
  const current = active && active.lesson.id === lesson.id;
  return h(
    "li",
    { class: `lesson-card${current ? " current" : ""}`, "data-lesson": lesson.id },
    h("h3", {}, text(lesson.title)),
    h("p", { class: "hint" }, `${t("lessons.figure", { fig: lesson.figure })} · ${sizeText(lesson)}`),
    h(
      "button",
      { type: "button", class: `btn ${current ? "" : "primary"} small`, "data-run-lesson": lesson.id, disabled: Boolean(current && active.submitting), onclick: () => runLesson(lesson) },
      current ? t("lessons.rerun") : n === 1 ? t("lessons.runOne") : t("lessons.run", { n }),
    ),
  );
}

function verdictItem(verdict, rule) {
  const state = verdict ? verdict.state : "pending";
  const mark = { pass: "✓", fail: "✗", pending: "…", void: "–" }[state];
  let detail = "";
  if (verdict && (state === "pass" || state === "fail")) detail = text(verdict.text);
  else if (verdict && verdict.ended) detail = t("lessons.ended", { names: verdict.ended.map(variantLabel).join(", ") });
  else if (verdict && verdict.waiting) detail = t("lessons.waiting", { names: verdict.waiting.map(variantLabel).join(", ") });
  return h(
    "li",
    { class: "verdict", "data-state": state, "data-rule": rule.id },
    h("span", { class: "verdict-mark", "aria-hidden": "true" }, mark),
    h("div", {}, h("strong", {}, text(rule.claim)), h("span", { class: "verdict-state" }, ` — ${t(`lessons.verdict.${state}`)}`), detail ? h("p", { class: "verdict-numbers" }, detail) : null),
  );
}

function variantLabel(id) {
  const v = active && active.lesson.variants.find((x) => x.id === id);
  return v ? text(v.label) : id;
}

function runsTable(lesson) {
  const rows = lesson.variants.map((v) => {
    const r = active.runs[v.id];
    const m = r && r.metrics;
    const epoch = m && m.epoch && m.epoch.length ? m.epoch.at(-1) : null;
    const acc = m && m.test_accuracy ? m.test_accuracy.filter((x) => typeof x === "number").at(-1) : null;
    const status = r ? r.status : active.jobs[v.id] ? "queued" : active.waiting && active.waiting.includes(v.id) ? "waiting" : active.submitting ? "submitting" : "failed";
    return h(
      "tr",
      { "data-variant": v.id },
      h("th", { scope: "row" }, text(v.label)),
      h("td", {}, h("span", { class: "status-pill", "data-status": status }, t(`run.status.${status}`))),
      h("td", { class: "num" }, epoch === null ? "–" : `${epoch} / ${v.spec.training.epochs}`),
      h("td", { class: "num" }, typeof acc === "number" ? `${(100 * acc).toFixed(1)}%` : "–"),
    );
  });
  return h(
    "table",
    { class: "lesson-runs" },
    h("thead", {}, h("tr", {}, ...["variant", "status", "epoch", "result"].map((k) => h("th", { scope: "col" }, t(`lessons.${k}`))))),
    h("tbody", {}, rows),
  );
}

function lessonView() {
  const { lesson } = active;
  const done = Object.values(active.runs).filter((r) => r.done).length;
  const byId = new Map((active.verdicts || []).map((v) => [v.id, v]));
  if (!charts || charts.lessonId !== lesson.id) charts = lessonCharts(lesson);
  return h(
    "section",
    { class: "lesson-view", "aria-labelledby": "lesson-view-title", "data-lesson-view": lesson.id },
    h("h2", { id: "lesson-view-title" }, `${text(lesson.title)} `, h("span", { class: "hint" }, t("lessons.figure", { fig: lesson.figure }))),
    h("p", {}, text(lesson.text)),
    h("div", { class: "lesson-expected" }, h("strong", {}, `${t("lessons.expected")}: `), text(lesson.expected)),
    active.error ? h("div", { class: "alert error", role: "alert" }, active.error) : null,
    active.submitting ? h("p", { class: "hint" }, t("lessons.submitting", { n: lesson.variants.length })) : h("p", { class: "hint", id: "lesson-progress" }, t("lessons.progress", { done, n: Object.keys(active.jobs).length })),
    active.waiting && active.waiting.length && !active.submitting ? h("p", { class: "hint", id: "lesson-waiting" }, t("lessons.waitingNote", { n: active.waiting.length })) : null,
    h(
      "div",
      { class: "lesson-top" },
      runsTable(lesson),
      h(
        "div",
        { class: "lesson-verdicts" },
        h("h3", {}, t("lessons.verdicts")),
        active.verdictError ? h("p", { class: "field-error" }, t("lessons.verdictError", { msg: active.verdictError })) : null,
        h("ul", {}, lesson.verdicts.map((rule) => verdictItem(byId.get(rule.id), rule))),
      ),
    ),
    charts.el,
  );
}

function draw() {
  if (!root) return;
  render(
    root,
    h("h2", { class: "lessons-title" }, t("lessons.title")),
    h("p", { class: "hint" }, t("lessons.intro")),
    h("ul", { class: "lesson-list" }, lessons.map(card)),
    active ? lessonView() : null,
  );
  if (active && charts) drawLessonCharts(charts, active);
}

function remember() {
  try {
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ lesson: active.lesson.id, jobs: active.jobs, waiting: active.waiting || [] }));
  } catch {
    /* storage off: the view lasts until a reload */
  }
}

function recall() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    const lesson = saved && lessons.find((l) => l.id === saved.lesson);
    if (lesson) active = { lesson, jobs: saved.jobs || {}, runs: {}, verdicts: null, error: null, submitting: false, waiting: saved.waiting || [] };
  } catch {
    /* nothing remembered */
  }
}

export function mountLessons(el, list) {
  root = el;
  lessons = list;
  recall();
  draw();
  onLang(() => {
    charts = null; // titles and axis words are drawn in the language
    draw();
  });
  window.nndojo = Object.assign(window.nndojo || {}, { lessonJobs: () => (active ? { ...active.jobs } : null) });
}

/** The tab was opened: redraw at the visible size, and follow runs still going (or read a remembered lesson's). */
export function showLessons() {
  draw();
  const going = active && (Object.keys(active.jobs).some((v) => !(active.runs[v] && active.runs[v].done)) || active.waiting.length);
  if (active && !active.submitting && going) {
    clearTimeout(pollTimer);
    poll();
  }
}
