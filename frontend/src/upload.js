// Your own data in the data panel: a CSV picked or dropped, its target, task and feature columns chosen from its
// header, uploaded (POST /api/datasets); and, for an uploaded set, its preview (a scatter of two chosen columns or a
// table), sharing and deleting. The server parses and checks the file; its refusals are said in the page's language.

import { api, ApiError } from "./api.js";
import { h, newId } from "./dom.js";
import { errorText, quotaText } from "./errors.js";
import { getLang, t } from "./i18n.js";
import { getCatalog, setCatalog } from "./state.js";
import { baseLayout, CLASS_COLORS, PLOT_CONFIG, plotly } from "./charts/plot.js";

const HEADER_BYTES = 65536; // the header row is read from the file's start; the server reads the rest
const TABLE_ROWS = 8;

/** The fields of one CSV line: commas (or the semicolon or tab the header uses most), double quotes as in RFC 4180. */
export function headerFields(text) {
  const line = text.replace(/^\ufeff/, "").split(/\r?\n/)[0] ?? "";
  const delimiter = [",", ";", "\t"].reduce((best, d) => (line.split(d).length > line.split(best).length ? d : best), ",");
  const fields = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      fields.push(field.trim());
      field = "";
    } else field += c;
  }
  fields.push(field.trim());
  return fields.filter((f, i) => f || i < fields.length - 1);
}

/** An upload refusal (422, 413, 429) in the page's language. */
export function uploadErrorText(err) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  const detail = err.detail;
  if (err.status === 413 && detail && typeof detail === "object") {
    return t("err.code.upload_too_large", { mb: (detail.limit / 1e6).toLocaleString(getLang() === "ja" ? "ja-JP" : "en-US") }, detail.msg);
  }
  if (err.status === 429 && detail && detail.code === "max_uploads_per_student") return t("upload.quota", { limit: detail.limit });
  if (err.status === 429) return quotaText(detail);
  if (err.items.length) return err.items.map((item) => `${fieldName(item.loc)}${errorText(item)}`).join(" ");
  return err.message;
}

function fieldName(loc) {
  const field = (loc || []).filter((p) => p !== "body").join(".");
  return field && field !== "file" ? `${t(`upload.field.${field}`, {}, field)}: ` : "";
}

/**
 * The upload form. onUploaded(entry) runs once the server has stored the set (the catalog already lists it).
 * Returns the form's element.
 */
export function uploadForm(onUploaded) {
  let file = null;
  let columns = [];
  const status = h("p", { class: "upload-status", role: "status", "aria-live": "polite" });
  const error = h("p", { class: "field-error upload-error", "aria-live": "polite" });
  const fields = h("div", { class: "upload-fields" });
  const input = h("input", { type: "file", id: newId("csv"), accept: ".csv,text/csv,text/plain", class: "visually-hidden", "data-key": "upload-file" });
  const zone = h(
    "div",
    { class: "dropzone", "data-testid": "dropzone" },
    h("p", {}, t("upload.drop")),
    h("label", { for: input.id, class: "btn ghost" }, t("upload.choose")),
    input,
  );

  async function take(chosen) {
    file = chosen;
    error.textContent = "";
    if (!file) return;
    const head = await file.slice(0, HEADER_BYTES).text();
    columns = headerFields(head);
    status.textContent = t("upload.chosen", { name: file.name, kb: Math.max(1, Math.round(file.size / 1000)) });
    drawFields();
  }

  function drawFields() {
    if (columns.length < 2) {
      fields.replaceChildren();
      error.textContent = t("upload.noHeader");
      return;
    }
    const targetId = newId("target");
    const target = h(
      "select",
      { id: targetId, "data-key": "upload-target" },
      columns.map((c, i) => h("option", { value: c, selected: i === columns.length - 1 }, c)),
    );
    const taskId = newId("task");
    const task = h(
      "select",
      { id: taskId, "data-key": "upload-task" },
      ["auto", "classification", "regression"].map((k) => h("option", { value: k }, t(`upload.task.${k}`))),
    );
    const nameId = newId("title");
    const title = h("input", { type: "text", id: nameId, maxlength: 100, value: file.name.replace(/\.[^.]*$/, ""), "data-key": "upload-name" });
    const boxes = h("div", { class: "chips upload-features" });
    const drawBoxes = () =>
      boxes.replaceChildren(
        ...columns
          .filter((c) => c !== target.value)
          .map((c) => h("label", {}, h("input", { type: "checkbox", value: c, checked: true, "data-key": `upload-feature-${c}` }), c)),
      );
    target.addEventListener("change", drawBoxes);
    drawBoxes();
    const send = h("button", { type: "button", class: "btn primary", "data-testid": "upload-send" }, t("upload.send"));
    send.addEventListener("click", async () => {
      const form = new FormData();
      form.append("file", file);
      form.append("target", target.value);
      form.append("name", title.value);
      if (task.value !== "auto") form.append("task", task.value);
      for (const box of boxes.querySelectorAll("input:checked")) form.append("features", box.value);
      send.disabled = true;
      error.textContent = "";
      status.textContent = t("upload.sending");
      try {
        const entry = await api.upload(form);
        setCatalog(await api.catalog());
        status.textContent = t("upload.done", { title: entry.title, rows: entry.n_rows });
        onUploaded(entry);
      } catch (err) {
        status.textContent = "";
        error.textContent = uploadErrorText(err);
      } finally {
        send.disabled = false;
      }
    });
    fields.replaceChildren(
      row(t("upload.target"), target, targetId),
      row(t("upload.taskLabel"), task, taskId),
      row(t("upload.name"), title, nameId),
      h("fieldset", {}, h("legend", { class: "hint" }, t("upload.features")), boxes),
      h("div", { class: "upload-actions" }, send),
    );
  }

  input.addEventListener("change", () => take(input.files[0] || null));
  zone.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    take(ev.dataTransfer?.files?.[0] || null);
  });
  const limits = getCatalog().upload_limits;
  const hint = limits ? t("upload.limits", { mb: limits.max_upload_bytes / 1e6, rows: limits.max_rows.toLocaleString(), classes: limits.max_classes }) : "";
  return h("div", { class: "upload" }, h("h3", { class: "upload-title" }, t("upload.title")), zone, h("p", { class: "hint" }, hint), status, fields, error);
}

function row(labelText, control, id) {
  return h("div", { class: "row" }, h("label", { for: id }, labelText), h("div", { class: "ctl" }, control));
}

/** What an uploaded set is, and the owner's (or teacher's) share and delete buttons. */
export function uploadInfo(info, onDeleted, onShared) {
  const task = info.task === "regression" ? t("data.task.regression") : t("data.task.classification", { n: info.n_classes });
  const lines = [
    h("p", { class: "hint" }, t("upload.about", { title: info.title, rows: info.n_rows, target: info.target, task })),
    h("p", { class: "hint" }, t("upload.columns", { features: info.features.join(", ") })),
  ];
  if (!info.can_change) return h("div", { class: "upload-info" }, lines);
  const actions = h("div", { class: "upload-actions" });
  if (info.owner) {
    const share = h("button", { type: "button", class: "btn ghost", "aria-pressed": String(info.shared) }, t(info.shared ? "upload.unshare" : "upload.share"));
    share.addEventListener("click", async () => {
      await api.shareDataset(info.name, !info.shared);
      setCatalog(await api.catalog());
      onShared();
    });
    actions.append(share);
  }
  const remove = h("button", { type: "button", class: "btn ghost danger", "data-testid": "upload-delete" }, t("upload.delete"));
  remove.addEventListener("click", async () => {
    if (!window.confirm(t("upload.confirmDelete", { title: info.title }))) return;
    await api.deleteDataset(info.name);
    setCatalog(await api.catalog());
    onDeleted();
  });
  actions.append(remove);
  return h("div", { class: "upload-info" }, lines, actions);
}

/** An uploaded set's preview: a scatter of two chosen columns (train filled, test ringed), or a table. */
export function drawTabularPreview(box, data) {
  const n = data.features.length;
  const pick = (id, selected) =>
    h(
      "select",
      { id, "data-key": id },
      data.features.map((f, i) => h("option", { value: String(i), selected: i === selected }, f)),
    );
  const xId = newId("px");
  const yId = newId("py");
  const xs = pick(xId, 0);
  const ys = pick(yId, Math.min(1, n - 1));
  const view = h(
    "select",
    { "data-key": "preview-view", "aria-label": t("upload.view") },
    ["scatter", "table"].map((v) => h("option", { value: v, selected: n < 2 ? v === "table" : v === "scatter" }, t(`upload.view.${v}`))),
  );
  const out = h("div", { class: "preview-body" });
  const draw = () => (view.value === "table" ? drawTable(out, data) : drawScatter(out, data, Number(xs.value), Number(ys.value)));
  for (const el of [xs, ys, view]) el.addEventListener("change", draw);
  const axes = n >= 2 ? [h("label", { for: xId }, "x"), xs, h("label", { for: yId }, "y"), ys] : [];
  box.replaceChildren(h("div", { class: "preview-controls" }, view, axes), out);
  draw();
}

function drawScatter(out, data, i, j) {
  const plot = h("div", { class: "preview-plot" });
  out.replaceChildren(plot);
  const traces = [];
  for (const [part, filled] of [
    ["train", true],
    ["test", false],
  ]) {
    const pts = data[part];
    const marker = { size: 4.5, line: { width: filled ? 0.6 : 1.4, color: filled ? "#fff" : undefined } };
    if (data.task === "regression") Object.assign(marker, { color: pts.label, colorscale: "RdBu", showscale: filled, colorbar: { thickness: 8, len: 0.8, title: { text: data.target } } });
    else {
      const colors = pts.label.map((c) => CLASS_COLORS[c % CLASS_COLORS.length]);
      if (filled) marker.color = colors;
      else Object.assign(marker, { color: "rgba(0,0,0,0)", line: { width: 1.5, color: colors } });
    }
    traces.push({ type: "scatter", mode: "markers", name: t(`data.${part}`), x: pts.columns[i], y: pts.columns[j], marker, hoverinfo: "skip" });
  }
  const layout = baseLayout({
    margin: { l: 40, r: 8, t: 6, b: 34 },
    xaxis: { title: { text: data.features[i] }, zeroline: false },
    yaxis: { title: { text: data.features[j] }, zeroline: false },
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", font: { size: 10 } },
  });
  plotly().react(plot, traces, layout, PLOT_CONFIG);
}

function drawTable(out, data) {
  const labels = data.train.label;
  const head = h("tr", {}, data.features.map((f) => h("th", { scope: "col" }, f)), h("th", { scope: "col" }, data.target));
  const rows = labels.slice(0, TABLE_ROWS).map((label, r) =>
    h(
      "tr",
      {},
      data.train.columns.map((col) => h("td", {}, String(col[r]))),
      h("td", {}, data.class_names ? data.class_names[label] : String(label)),
    ),
  );
  out.replaceChildren(
    h("div", { class: "table-wrap" }, h("table", { class: "data-table" }, h("thead", {}, head), h("tbody", {}, rows))),
    h("p", { class: "hint" }, t("upload.tableNote", { shown: Math.min(TABLE_ROWS, labels.length), train: data.n_train, test: data.n_test })),
  );
}
