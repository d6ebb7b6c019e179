// The classroom's front door: a student joins with the class code and a display name; the teacher logs in with the
// password. Shown in #gate in place of the page until POST /api/session succeeds; its errors are said in the page's
// language and again on a language switch.

import { api, ApiError } from "./api.js";
import { h, newId } from "./dom.js";
import { errorText } from "./errors.js";
import { onLang, t } from "./i18n.js";

const CODE_LENGTH = 6;

let state = null; // {role, asStudent, error, resolve, values}

/**
 * Show the join screen (role "student") or the teacher's login (role "teacher"); resolves with the session's user.
 * asStudent: the student already signed in, when a student opens the teacher's page.
 */
export function showGate(role, { asStudent = null } = {}) {
  return new Promise((resolve) => {
    state = { role, asStudent, error: null, resolve, values: { code: "", name: "", password: "" } };
    document.body.dataset.gate = role;
    draw();
    const first = document.querySelector("#gate input");
    if (first) first.focus();
  });
}

/** The error's text in the current language: the server's code picks the message, its msg is the fallback. */
function errorMessage(error) {
  if (typeof error === "string") return t(error);
  if (!(error instanceof ApiError)) return String(error);
  if (error.status === 0) return t("app.serverDown");
  const detail = error.detail && typeof error.detail === "object" && !Array.isArray(error.detail) ? error.detail : {};
  if (error.status === 429) return t("gate.err.tooMany", { s: Math.max(1, Math.ceil(Number(detail.retry_after_s) || 60)) });
  if (error.status === 409) return t("gate.err.nameTaken");
  if (detail.code === "class_closed") return t("gate.err.closed");
  if (detail.code === "bad_name") return t("gate.err.badName");
  if (detail.code === "bad_class_code" || (error.status === 401 && state.role === "student")) return t("gate.err.badCode");
  if (detail.code === "bad_password" || error.status === 401) return t("gate.err.badPassword");
  if (error.items.length) {
    const item = error.items[0];
    const field = { class_code: "gate.code", name: "gate.name", password: "gate.password" }[String((item.loc || []).at(-1))];
    return field ? `${t(field)}: ${errorText(item)}` : errorText(item);
  }
  return error.message;
}

async function submit(event) {
  event.preventDefault();
  const v = state.values;
  let body;
  if (state.role === "student") {
    const code = v.code.replace(/[\s-]+/g, "").toUpperCase();
    const name = v.name.trim();
    if (code.length !== CODE_LENGTH) return fail("gate.err.codeLength");
    if (!name) return fail("gate.err.nameEmpty");
    body = { class_code: code, name };
  } else {
    if (!v.password) return fail("gate.err.passwordEmpty");
    body = { password: v.password };
  }
  const button = document.getElementById("gate-submit");
  button.disabled = true;
  try {
    const { user } = await api.login(body);
    const { resolve } = state;
    state = null;
    delete document.body.dataset.gate;
    document.getElementById("gate").replaceChildren();
    resolve(user);
  } catch (err) {
    button.disabled = false;
    fail(err);
  }
}

function fail(error) {
  state.error = error;
  draw();
}

function input(key, attrs) {
  const el = h("input", { ...attrs, value: state.values[key] });
  el.addEventListener("input", () => (state.values[key] = el.value));
  return el;
}

function field(labelKey, control) {
  const id = newId("gate");
  control.id = control.id || id;
  return h("div", { class: "field" }, h("label", { for: control.id }, t(labelKey)), control);
}

function draw() {
  const root = document.getElementById("gate");
  if (!state || !root) return;
  const student = state.role === "student";
  const fields = student
    ? [
        field("gate.code", input("code", { type: "text", id: "join-code", class: "code-input", maxlength: 12, autocomplete: "off", autocapitalize: "characters", spellcheck: "false", "aria-describedby": "gate-code-hint" })),
        h("p", { class: "hint", id: "gate-code-hint" }, t("gate.codeHint")),
        field("gate.name", input("name", { type: "text", id: "join-name", maxlength: 40, autocomplete: "nickname" })),
      ]
    : [field("gate.password", input("password", { type: "password", id: "login-password", autocomplete: "current-password" }))];
  const focused = document.activeElement && root.contains(document.activeElement) ? document.activeElement.id : null;
  root.replaceChildren(
    h(
      "form",
      { class: "gate-card", id: student ? "join-form" : "login-form", novalidate: true, onsubmit: submit },
      h("h1", {}, t(student ? "gate.joinTitle" : "gate.loginTitle")),
      h("p", { class: "hint" }, t(student ? "gate.joinHint" : "gate.loginHint")),
      state.asStudent ? h("p", { class: "alert warn", id: "gate-as-student" }, t("gate.asStudent", { name: state.asStudent.name })) : null,
      fields,
      state.error ? h("div", { class: "alert error", role: "alert", id: "gate-error" }, errorMessage(state.error)) : null,
      h("button", { type: "submit", class: "btn primary big", id: "gate-submit" }, t(student ? "gate.join" : "gate.login")),
      h("p", { class: "gate-alt" }, student ? h("a", { href: "teacher", id: "teacher-link" }, t("gate.teacherLink")) : h("a", { href: "./", id: "student-link" }, t("gate.studentLink"))),
    ),
  );
  if (focused) document.getElementById(focused)?.focus();
}

onLang(draw);
