// Boots the page: language, the session (classroom mode), catalog, the setup from the URL, then every panel; tabs,
// sharing and the language switch.

import { api, ApiError } from "./api.js";
import { h, toast } from "./dom.js";
import { applyStatic, getLang, initLang, onLang, setLang, t } from "./i18n.js";
import { decodeHash, getSpec, normalize, replaceSpec, sameSetup, setCatalog, shareUrl, watchHash } from "./state.js";
import { mountPresets, STARTER } from "./presets.js";
import { mountData } from "./data.js";
import { mountEditor } from "./editor.js";
import { mountLearn } from "./learn.js";
import { currentRun, mountTraining, onRunFinished } from "./training.js";
import { chartTimes, mountDashboard, refresh as refreshCharts } from "./charts/dashboard.js";
import { mountHistory, setCurrentJob, showHistory } from "./history.js";
import { mountRace, showRace } from "./race.js";
import { mountLessons, showLessons } from "./lessons.js";
import { mountDiagramRow } from "./diagram/mount.js";
import { mountWho, requireSession } from "./session.js";

let view = "play";

function showView(name, { focus = false } = {}) {
  view = name;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.dataset.view === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on && focus) tab.focus();
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !on;
  }
  // A plot drawn while its view was hidden (a language switch redraws them all) has no size: fit each to its box.
  for (const el of document.getElementById(`view-${name}`)?.querySelectorAll(".js-plotly-plot") || []) window.Plotly?.Plots.resize(el);
  if (name === "play") refreshCharts();
  if (name === "compare") showHistory();
  if (name === "race") showRace();
  if (name === "lessons") showLessons();
}

function wireTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
      else if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = tabs.length - 1;
      if (j === null) return;
      e.preventDefault();
      showView(tabs[j].dataset.view, { focus: true });
    });
  }
}

/** The setup's link, plus the run's id when the charts on screen belong to exactly this setup: the class sees that run. */
function linkToShare() {
  const url = shareUrl();
  const run = currentRun();
  return run && sameSetup(run.spec, getSpec()) ? `${url}&job=${encodeURIComponent(run.job.id)}` : url;
}

async function share() {
  const url = linkToShare();
  try {
    await navigator.clipboard.writeText(url);
    toast(t("app.shared"));
  } catch {
    toast(t("app.sharedManual"));
  }
}

async function boot() {
  initLang();
  applyStatic();
  document.getElementById("lang-btn").addEventListener("click", () => setLang(getLang() === "ja" ? "en" : "ja"));
  document.getElementById("share-btn").addEventListener("click", share);
  wireTabs();

  let catalog;
  let taught;
  try {
    await requireSession("student");
    [catalog, taught] = await Promise.all([api.catalog(), api.lessons()]);
  } catch (err) {
    const msg = err instanceof ApiError && err.status === 0 ? t("app.serverDown") : err.message;
    document.getElementById("run-panel").replaceChildren(h("div", { class: "alert error", role: "alert" }, msg));
    return;
  }
  mountWho(document.getElementById("who"), { dashboardLink: true });
  setCatalog(catalog);
  replaceSpec(decodeHash(location.hash) || normalize(STARTER), { source: "boot" });
  watchHash();

  mountPresets(document.getElementById("presets-panel"), taught.presets);
  mountData(document.getElementById("data-panel"));
  mountEditor(document.getElementById("net-panel"));
  mountLearn(document.getElementById("learn-panel"));
  mountDashboard(document.getElementById("charts"));
  mountDiagramRow(document.getElementById("net-diagram"), document.getElementById("play-output"));
  mountTraining(document.getElementById("run-panel"));
  mountHistory(document.getElementById("view-compare"));
  mountRace(document.getElementById("view-race"));
  mountLessons(document.getElementById("view-lessons"), taught.lessons);
  onRunFinished((run) => {
    setCurrentJob(run.job.id);
    if (view === "compare") showHistory();
  });
  onLang(() => applyStatic());
  window.nndojo = Object.assign(window.nndojo || {}, { ready: true, showView, chartTimes, shareLink: linkToShare });
  document.body.dataset.ready = "true";
}

boot();
