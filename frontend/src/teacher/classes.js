// The teacher's classes: a list to pick from, a form to create one, and the selected class's head: its join code
// (large, and full screen for a projector), the open/closed switch, the results CSV and deletion.

import { api, resultsCsvUrl } from "../api.js";
import { h, newId, render, toast } from "../dom.js";
import { onLang, t } from "../i18n.js";
import { showLimits } from "./limits.js";
import { showClass, stopPolling } from "./runs.js";

let listEl = null;
let headEl = null;
let classes = [];
let selectedId = null;
let newName = "";
let loadError = null;
const SELECTED_KEY = "nndojo.teacher.class";

function selected() {
  return classes.find((c) => c.id === selectedId) || null;
}

function remember(id) {
  try {
    if (id) sessionStorage.setItem(SELECTED_KEY, id);
  } catch {
    /* storage disabled: the first class is selected after a reload */
  }
}

function remembered() {
  try {
    return sessionStorage.getItem(SELECTED_KEY);
  } catch {
    return null;
  }
}

async function load() {
  try {
    classes = await api.classes();
    loadError = null;
  } catch (err) {
    loadError = err.status === 0 ? t("app.serverDown") : err.message;
  }
  if (!selected()) select((classes.find((c) => c.id === remembered()) || classes[0] || {}).id || null);
  else drawAll();
}

function select(id) {
  selectedId = id;
  remember(id);
  drawAll();
  showLimits(selected(), merge);
  showClass(id, merge);
}

/** What the list and the head show of a class: they are drawn again only when it changes (not on every poll, which
 * would move the caret of a class name being typed). */
function shown(c) {
  return JSON.stringify([c.name, c.code, c.open, (c.students || []).map((s) => [s.id, s.jobs])]);
}

/** A fresh copy of one class (from the live poll or a PATCH): the list and the head follow it. */
function merge(cls) {
  const i = classes.findIndex((c) => c.id === cls.id);
  if (i < 0) return;
  const before = shown(classes[i]);
  classes[i] = { ...classes[i], ...cls };
  if (shown(classes[i]) !== before) drawAll();
}

async function create(event) {
  event.preventDefault();
  const name = newName.trim();
  if (!name) return;
  try {
    const cls = await api.createClass(name);
    classes.push({ students: [], ...cls });
    newName = "";
    toast(t("teacher.created", { name: cls.name, code: cls.code }));
    select(cls.id);
  } catch (err) {
    toast(err.status === 0 ? t("app.serverDown") : err.message);
  }
}

async function setOpen(cls, open) {
  try {
    merge(await api.patchClass(cls.id, { open }));
  } catch (err) {
    toast(err.message);
    drawAll();
  }
}

async function removeClass(cls) {
  if (!window.confirm(t("teacher.confirmDelete", { name: cls.name, n: (cls.students || []).length }))) return;
  try {
    await stopPolling();
    await api.deleteClass(cls.id);
    classes = classes.filter((c) => c.id !== cls.id);
    toast(t("teacher.deleted"));
    select(classes[0] ? classes[0].id : null);
  } catch (err) {
    toast(err.message);
    select(cls.id); // not deleted: watch it again
  }
}

/** The code across the whole screen, for the room to read; a click or Esc closes it. */
function fullScreen(cls) {
  const close = () => {
    overlay.remove();
    document.removeEventListener("keydown", onKey);
    document.getElementById("code-full")?.focus();
  };
  const onKey = (e) => e.key === "Escape" && close();
  const overlay = h(
    "div",
    { class: "code-overlay", id: "code-overlay", role: "dialog", "aria-modal": "true", "aria-label": t("teacher.joinCode"), tabindex: "-1", onclick: close },
    h("p", { class: "overlay-class" }, cls.name),
    h("p", { class: "overlay-hint" }, t("teacher.joinAt")),
    h("p", { class: "overlay-code" }, cls.code),
    h("p", { class: "hint" }, t("teacher.fullScreenClose")),
  );
  document.body.append(overlay);
  document.addEventListener("keydown", onKey);
  overlay.focus();
}

function studentsText(n) {
  return n === 1 ? t("teacher.students1") : t("teacher.students", { n });
}

function counts(cls) {
  const people = cls.students || [];
  const sum = (k) => people.reduce((n, s) => n + ((s.jobs && s.jobs[k]) || 0), 0);
  const paused = sum("paused"); // a paused run keeps its slot: said only when there is one
  const parts = [studentsText(people.length), t("teacher.running", { n: sum("running") })];
  if (paused) parts.push(t("teacher.paused", { n: paused }));
  return [...parts, t("teacher.queued", { n: sum("queued") })].join(" · ");
}

function drawList() {
  const nameId = newId("cls");
  const input = h("input", { type: "text", id: nameId, maxlength: 80, value: newName, "data-key": "new-class-name", placeholder: t("teacher.namePlaceholder") });
  input.addEventListener("input", () => (newName = input.value));
  render(
    listEl,
    h("h2", { id: "classes-title" }, t("teacher.classes")),
    loadError ? h("div", { class: "alert error", role: "alert" }, loadError) : null,
    classes.length
      ? h(
          "ul",
          { class: "class-list", "aria-labelledby": "classes-title" },
          classes.map((c) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", class: "class-item", "aria-current": c.id === selectedId ? "true" : null, "data-class": c.id, "data-key": `class-${c.id}`, onclick: () => select(c.id) },
                h("span", { class: "class-item-name" }, c.name),
                h("span", { class: "class-item-code" }, c.code),
                h("span", { class: `class-item-state ${c.open === false ? "closed" : "open"}` }, t(c.open === false ? "teacher.closedShort" : "teacher.openShort"), " · ", studentsText((c.students || []).length)),
              ),
            ),
          ),
        )
      : h("p", { class: "hint" }, t("teacher.noClasses")),
    h(
      "form",
      { class: "new-class", id: "new-class-form", onsubmit: create },
      h("label", { for: nameId }, t("teacher.newClass")),
      h("div", { class: "toolbar" }, input, h("button", { type: "submit", class: "btn primary", id: "create-class", "data-key": "create-class" }, t("teacher.create"))),
    ),
  );
}

function drawHead() {
  const cls = selected();
  if (!cls) {
    render(headEl, h("p", { class: "empty-note" }, classes.length ? "" : t("teacher.createFirst")));
    return;
  }
  const open = cls.open !== false;
  const switchId = newId("open");
  const toggle = h("input", { type: "checkbox", role: "switch", id: switchId, checked: open, "data-key": "class-open", "aria-describedby": "class-open-state" });
  toggle.addEventListener("change", () => setOpen(cls, toggle.checked));
  render(
    headEl,
    h("div", { class: "class-title" }, h("h2", { id: "class-name" }, cls.name), h("span", { class: "hint", id: "class-counts" }, counts(cls))),
    h(
      "div",
      { class: "code-box" },
      h("span", { class: "code-label" }, t("teacher.joinCode")),
      h("span", { class: "join-code", id: "class-code", "aria-label": `${t("teacher.joinCode")}: ${[...cls.code].join(" ")}` }, cls.code),
      h("button", { type: "button", class: "btn", id: "code-full", "data-key": "code-full", onclick: () => fullScreen(cls) }, t("teacher.fullScreen")),
    ),
    h(
      "div",
      { class: "class-controls" },
      h("label", { class: "switch", for: switchId }, toggle, h("span", {}, t("teacher.openSwitch"))),
      h("span", { class: `class-state ${open ? "open" : "closed"}`, id: "class-open-state" }, t(open ? "teacher.open" : "teacher.closed")),
      h("a", { class: "btn", id: "results-csv", href: resultsCsvUrl(cls.id), download: `${cls.code}-results.csv` }, t("teacher.csv")),
      h("button", { type: "button", class: "btn danger", id: "delete-class", "data-key": "delete-class", onclick: () => removeClass(cls) }, t("teacher.deleteClass")),
    ),
  );
}

function drawAll() {
  drawList();
  drawHead();
}

export function mountClasses(list, head) {
  listEl = list;
  headEl = head;
  onLang(drawAll);
  return load();
}
