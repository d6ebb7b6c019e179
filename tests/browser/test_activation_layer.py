"""The layer editor offers the standalone activation layer (docs/api.md "Job spec"), so the textbook's Affine →
BatchNorm → ReLU is built from the page, and it trains. Screenshots of the editor in both languages and sizes."""

from __future__ import annotations

import pytest
from browser_helpers import train_and_wait

pytestmark = pytest.mark.browser


def build_affine_bn_relu(page) -> None:
    """dense 8 identity → batchnorm → activation relu, through the editor's add-layer menu."""
    while page.locator("[data-key^='remove-']").count():
        page.click("[data-key='remove-0']")
    for kind in ("dense", "batchnorm", "activation"):
        page.select_option("#add-layer-type", kind)
        page.click("#add-layer")
    page.fill("[data-loc='model.layers.0.units']", "8")
    page.select_option("[data-loc='model.layers.0.activation']", "identity")
    page.fill("[data-loc='training.epochs']", "3")
    page.wait_for_function("document.querySelector('#net-params')?.dataset.state === 'ok'")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_editor_builds_affine_batchnorm_relu_and_it_trains(new_page, artifacts, lang: str) -> None:
    page = new_page(lang=lang, viewport=(1440, 900))
    build_affine_bn_relu(page)
    card = page.locator(".layer-list > li[data-index='2']")
    assert page.locator("[data-key='type-2'] option:checked").inner_text() == {"en": "Activation", "ja": "活性化関数"}[lang]
    assert page.input_value("[data-loc='model.layers.2.activation']") == "relu"
    options = page.eval_on_selector_all("[data-loc='model.layers.2.activation'] option", "els => els.map(e => e.value)")
    assert set(options) == {"step", "sigmoid", "relu", "tanh", "leaky_relu", "identity"}
    page.wait_for_function("document.querySelector(\"[data-shape='2']\").textContent.includes('(8)')")
    assert "Affine" in card.locator(".hint").inner_text()
    card.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"activation-layer-{lang}-1440.png")
    assert train_and_wait(page) == "completed"
    small = new_page(lang=lang, viewport=(390, 844))
    build_affine_bn_relu(small)
    small.locator(".layer-list > li[data-index='2']").evaluate("e => e.scrollIntoView({block: 'center'})")  # below the sticky run bar
    small.screenshot(path=artifacts / f"activation-layer-{lang}-390.png")
