// Boots the teacher's dashboard: language, the teacher's session (the password login when there is none), then the
// classes, the selected class's limits and its live table of students and runs.

import { ApiError } from "../api.js";
import { h } from "../dom.js";
import { applyStatic, getLang, initLang, onLang, setLang, t } from "../i18n.js";
import { isClassroom, mountWho, requireSession } from "../session.js";
import { mountClasses } from "./classes.js";
import { mountLimits } from "./limits.js";
import { mountRuns } from "./runs.js";

function title() {
  document.title = `NN Dojo · ${t("teacher.title")}`;
}

async function boot() {
  initLang();
  applyStatic();
  title();
  onLang(title);
  document.getElementById("lang-btn").addEventListener("click", () => setLang(getLang() === "ja" ? "en" : "ja"));
  try {
    await requireSession("teacher");
  } catch (err) {
    const msg = err instanceof ApiError && err.status === 0 ? t("app.serverDown") : err.message;
    document.getElementById("class-head").replaceChildren(h("div", { class: "alert error", role: "alert" }, msg));
    return;
  }
  mountWho(document.getElementById("who"), { playgroundLink: true });
  if (!isClassroom()) {
    // Personal mode has no classes: say so, and lead back to the playground.
    document.getElementById("class-head").replaceChildren(h("p", { class: "hint", id: "personal-mode" }, t("teacher.personalMode"), " ", h("a", { href: "./" }, t("session.playground"))));
    document.body.dataset.ready = "true";
    return;
  }
  mountRuns(document.getElementById("class-runs-panel"));
  mountLimits(document.getElementById("limits-panel"));
  await mountClasses(document.getElementById("classes-panel"), document.getElementById("class-head"));
  document.body.dataset.ready = "true";
}

boot();
