// Who is using the page. Personal mode: one user, no login, everything allowed. Classroom mode: a teacher or a student
// with a session; a student controls only their own runs, and any 401 brings back the join (or login) screen.

import { api, ApiError, setUnauthorizedHandler } from "./api.js";
import { h } from "./dom.js";
import { onLang, t } from "./i18n.js";
import { showGate } from "./gate.js";

let mode = "personal";
let user = null;
let klass = null; // a student's class: {id, name, limits}
let gateRole = "student";

export function isClassroom() {
  return mode === "classroom";
}

export function isTeacher() {
  return Boolean(user && user.role === "teacher");
}

/** Cancel, delete, share: the owner, or the teacher; everyone in personal mode. Others' shared runs are read-only. */
export function canControl(job) {
  if (!isClassroom()) return true;
  if (isTeacher()) return true;
  return Boolean(user && job && job.owner && job.owner.id === user.id);
}

/** The run's owner as the page shows it, or "" in personal mode. */
export function ownerName(job) {
  return isClassroom() && job && job.owner ? job.owner.name : "";
}

/**
 * Resolves once the page may run: at once in personal mode, or with a session in classroom mode (after the join or
 * login screen when there is none). `role` picks the screen: "student" (join with a code) or "teacher" (password).
 * Throws an ApiError when the server cannot be reached.
 */
export async function requireSession(role = "student") {
  gateRole = role;
  const health = await api.health();
  mode = health.mode === "classroom" ? "classroom" : "personal";
  document.body.dataset.mode = mode;
  setUnauthorizedHandler(() => sessionLost());
  if (mode === "personal") return null;
  await readSession(role);
  if (role === "teacher" && !isTeacher()) {
    await showGate("teacher", { asStudent: user });
    await readSession(role);
  }
  return user;
}

/** The signed-in user and (a student's) class, after the join or login screen when there is no session. */
async function readSession(role) {
  try {
    ({ user, class: klass = null } = await api.session());
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) throw err;
    await showGate(role);
    ({ user, class: klass = null } = await api.session());
  }
}

/** A 401 after the page was up: the join (or login) screen, then a reload, so no panel keeps the old session's state. */
function sessionLost() {
  if (document.body.dataset.gate) return;
  user = null;
  showGate(gateRole).then(() => location.reload());
}

export async function logout() {
  try {
    await api.logout();
  } catch {
    /* already gone: the join screen shows either way */
  }
  user = null;
  location.reload();
}

/** The header's "who am I": name, class (or Teacher) and Log out; nothing in personal mode. */
export function mountWho(el, { dashboardLink = false, playgroundLink = false } = {}) {
  const draw = () => {
    if (!isClassroom() || !user) {
      el.replaceChildren();
      el.hidden = true;
      return;
    }
    el.hidden = false;
    // The teacher's role is the pill; a student's is their name and class.
    const where = isTeacher() ? t("session.teacher") : (klass && klass.name) || "";
    const parts = [
      isTeacher() ? null : h("span", { class: "who-name", id: "who-name" }, user.name),
      where ? h("span", { class: "who-class", id: "who-class" }, where) : null,
      dashboardLink && isTeacher() ? h("a", { class: "btn ghost", href: "teacher", id: "dashboard-link" }, t("session.dashboard")) : null,
      playgroundLink ? h("a", { class: "btn ghost", href: "./", id: "playground-link" }, t("session.playground")) : null,
      h("button", { type: "button", class: "btn ghost", id: "logout-btn", onclick: logout }, t("session.logout")),
    ];
    el.replaceChildren(...parts.filter(Boolean));
  };
  draw();
  onLang(draw);
}
