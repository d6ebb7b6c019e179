// The Export menu of an ended run: plain links to GET /api/jobs/{id}/export/… that the browser downloads (the server
// names each file); the code's comments come in the page's language.

import { h } from "./dom.js";
import { getLang, t } from "./i18n.js";

const ENDED = new Set(["completed", "failed", "cancelled", "diverged"]);

/** The menu for a run, or null while it has not ended. Weights exist where the trainer itself ended the run: not for a
 * failure, except the class's time limit (the trainer stopped, as for a cancel). */
export function exportMenu(job, status = job.status, errorCode = job.error_code) {
  if (!ENDED.has(status)) return null;
  const base = `/api/jobs/${encodeURIComponent(job.id)}/export`;
  const item = (path, kind) => h("a", { href: `${base}/${path}`, download: "", class: "export-item", role: "menuitem", "data-export": kind }, t(`export.${kind}`));
  const weights = status !== "failed" || errorCode === "max_job_seconds";
  return h(
    "details",
    { class: "export-menu", "data-export-menu": job.id, ontoggle: (e) => alignItems(e.currentTarget) },
    h("summary", { class: "btn small", title: t("export.title"), "data-key": `export-${job.id}` }, t("export.menu")),
    h("div", { class: "export-items", role: "menu" }, item(`python?lang=${getLang()}`, "python"), item(`notebook?lang=${getLang()}`, "notebook"), weights ? item("weights", "weights") : null),
  );
}

/** An open menu's list hangs to the right of its button, or to the left where the window has no room for it. */
function alignItems(menu) {
  const items = menu.querySelector(".export-items");
  if (!menu.open || !items) return;
  items.classList.remove("end");
  items.classList.toggle("end", items.getBoundingClientRect().right > document.documentElement.clientWidth);
}
