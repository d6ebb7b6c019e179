// One form control per catalog field (a JSON Schema property): number, choice, checkbox or "number or auto".
// New fields in the backend appear here without page changes.

import { h, newId } from "./dom.js";
import { help, label, t } from "./i18n.js";

/** Which label/explanation group a field's enum values belong to. */
const ENUM_GROUPS = { activation: "act", init: "init" };

function bounds(schema) {
  const s = schema.anyOf ? schema.anyOf.find((x) => x.type === "integer" || x.type === "number") || schema : schema;
  return {
    type: s.type,
    min: s.minimum ?? s.exclusiveMinimum,
    max: s.maximum ?? s.exclusiveMaximum,
    nullable: Boolean(schema.anyOf && schema.anyOf.some((x) => x.type === "null")),
  };
}

/** Parse a number input: null for empty, NaN for junk. */
export function parseNumber(text, integer) {
  if (text.trim() === "") return null;
  const x = Number(text);
  if (!Number.isFinite(x)) return Number.NaN;
  return integer ? Math.round(x) : x;
}

/**
 * A labelled control for one field.
 * name: the field name (units, p, ...); schema: its JSON Schema; value: current value; loc: "model.layers.0.units" (for 422s);
 * onChange(value, {structural}) is called with the parsed value.
 */
export function fieldControl({ name, schema, value, loc, onChange, key = loc }) {
  const id = newId("f");
  const errId = `${id}-err`;
  const text = t(`field.${name}`, {}, schema.title || name);
  const error = h("p", { class: "field-error", id: errId, "data-error-for": loc, "aria-live": "polite" });

  if (schema.enum) {
    const group = ENUM_GROUPS[name];
    const select = h(
      "select",
      { id, "data-loc": loc, "data-key": key, "aria-describedby": errId },
      schema.enum.map((v) => h("option", { value: v, selected: v === value }, group ? label(group, v) : String(v))),
    );
    if (group) select.title = help(group, value);
    select.addEventListener("change", () => {
      if (group) select.title = help(group, select.value);
      onChange(select.value, { structural: name === "init" });
    });
    return h("div", { class: "field" }, h("label", { for: id }, text), select, error);
  }

  if (schema.type === "boolean") {
    const box = h("input", { type: "checkbox", id, checked: Boolean(value), "data-loc": loc, "data-key": key, "aria-describedby": errId });
    box.addEventListener("change", () => onChange(box.checked, {}));
    return h("div", { class: "field" }, h("label", { for: id }, text), h("div", { class: "field check" }, box), error);
  }

  const b = bounds(schema);
  const integer = b.type === "integer";
  const input = h("input", {
    type: "number",
    id,
    inputmode: integer ? "numeric" : "decimal",
    step: integer ? 1 : "any",
    min: b.min,
    max: b.max,
    value: value === null || value === undefined ? "" : String(value),
    placeholder: b.nullable ? t("field.auto") : "",
    "data-loc": loc,
    "data-key": key,
    "aria-describedby": errId,
  });
  if (schema.description) input.title = schema.description;
  input.addEventListener("input", () => {
    const x = parseNumber(input.value, integer);
    if (x === null && !b.nullable) return;
    if (Number.isNaN(x)) return;
    onChange(x, {});
  });
  return h("div", { class: "field" }, h("label", { for: id }, text), input, error);
}
