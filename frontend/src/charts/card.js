// A chart card: title, one-line explanation, optional layer picker, and the plot area.

import { h } from "../dom.js";
import { t } from "../i18n.js";

export function chartCard({ id, titleKey, helpKey, wide = false, tall = false, picker = false }) {
  const title = h("h3", { id: `${id}-title` });
  const helpText = h("p", { class: "chart-help" });
  const select = picker ? h("select", { "data-key": `${id}-layer` }) : null;
  const plot = h("div", { class: `plot${tall ? " tall" : ""}`, role: "img", "aria-labelledby": `${id}-title` });
  const note = h("p", { class: "empty-note" });
  const el = h("article", { class: `chart-card${wide ? " wide" : ""}`, id, "aria-labelledby": `${id}-title` }, h("div", { class: "chart-head" }, title, select), helpText, note, plot);
  const card = {
    id,
    el,
    plot,
    select,
    selected: null,
    relabel() {
      title.textContent = t(typeof titleKey === "function" ? titleKey() : titleKey);
      helpText.textContent = t(typeof helpKey === "function" ? helpKey() : helpKey);
      // Named after its chart: four pickers all called "Layer" cannot be told apart by a screen reader.
      if (select) select.setAttribute("aria-label", t("chart.layerOf", { chart: title.textContent }));
    },
    /** Show a message instead of the plot (nothing yet, or not applicable). */
    message(text) {
      note.textContent = text || "";
      note.hidden = !text;
      plot.hidden = Boolean(text);
    },
    /** Keep the layer picker's options equal to `names`, preserving the choice. */
    setLayers(names, preferred = null) {
      if (!select) return null;
      const current = select.value || this.selected;
      const same = select.options.length === names.length && names.every((n, i) => select.options[i].value === n);
      if (!same) {
        select.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
        select.value = names.includes(current) ? current : preferred && names.includes(preferred) ? preferred : names[0] || "";
      }
      this.selected = select.value;
      return select.value;
    },
  };
  if (select) select.addEventListener("change", () => (card.selected = select.value));
  card.relabel();
  card.message("");
  return card;
}
