"""The server's 422 messages beside the controls speak the page's language, and say it again when the language changes
while they are shown: pydantic's (by type and ctx) and the spec check's (by ctx.code)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SAY = "async (items) => items.map((await import('/static/src/errors.js')).errorText)"  # the page's own module instance


def test_rejections_follow_the_language(new_page, console, artifacts):
    console.expect_http(422, "/api/check")
    console.expect_http(422, "/api/jobs")
    page = new_page(lang="ja")
    assert page.evaluate("document.documentElement.lang") == "ja"

    # pydantic's less_than_equal, ctx.le
    units = page.locator("[data-loc='model.layers.0.units']")
    units_error = page.locator("[data-error-for='model.layers.0.units']")
    units.fill("5000")
    expect(units_error).to_have_text("4096 以下にしてください")
    assert units.get_attribute("aria-invalid") == "true"
    page.click("#train-btn")  # the run bar's rejection says it in Japanese too
    expect(page.locator("#run-alert")).to_contain_text("4096 以下にしてください")
    page.screenshot(path=artifacts / "rejected-ja-1280.png")

    page.click("#lang-btn")  # switched while shown: every message is said again
    expect(units_error).to_have_text("Input should be less than or equal to 4096")
    expect(page.locator("#run-alert")).to_contain_text("less than or equal to 4096")
    assert "以下" not in page.inner_text("#run-alert")
    page.click("#lang-btn")
    expect(units_error).to_have_text("4096 以下にしてください")

    # the spec check's conv_needs_image, ctx.layer, ctx.layer_type and ctx.shape, on the layer it names
    units.fill("8")
    expect(units_error).to_have_text("")
    page.select_option("#add-layer-type", "conv2d")
    page.click("#add-layer")
    n = page.locator(".layer-list > li").count() - 1
    width = page.input_value(f"[data-loc='model.layers.{n - 1}.units']")  # the conv2d gets the dense layer's vector
    layer_error = page.locator(f"[data-error-for='model.layers.{n}']")
    expect(layer_error).to_have_text(
        f"第{n + 1}層 (conv2d) には画像 (チャンネル, 高さ, 幅) が必要ですが、入力は ({width}) です。conv2d は画像データセットで、flatten や dense より前に置きます"
    )
    assert "invalid" in page.locator(f".layer-list > li[data-index='{n}']").get_attribute("class").split()
    page.screenshot(path=artifacts / "rejected-conv-ja-1280.png")

    page.click("#lang-btn")
    expect(layer_error).to_contain_text(f"layer {n + 1} (conv2d) needs an image (channels, height, width) but gets ({width})")
    assert not any("\u3040" <= ch <= "\u30ff" for ch in layer_error.inner_text())  # no kana left over


def test_memory_limit_and_unavailable_dataset_are_said_in_japanese(new_page):
    """The spec check's memory limit (with the fields to reduce, in words) and an unavailable dataset have their own
    Japanese text; in English the server's message stands."""
    page = new_page(lang="ja")
    memory = {
        "loc": ["model", "layers", 0, "filters"],
        "msg": "this job would need about 9,000 MB in its worker; at most 2,048 MB are allowed",
        "type": "limit",
        "ctx": {"code": "limit", "limit": "max_worker_memory_mb", "max": 2048, "value": 9000, "reduce": ["training.batch_size", "model.layers.0.filters"]},
    }
    unavailable = {
        "loc": ["dataset", "name"],
        "msg": "'mnist' cannot be used here: its files are not installed",
        "type": "spec_check",
        "ctx": {"code": "dataset_unavailable", "dataset": "mnist", "reason": "its files are not installed"},
    }
    said = page.evaluate(SAY, [memory, unavailable])
    assert said[0] == "このジョブには学習用プロセスで約 9000 MB のメモリが必要ですが、このサーバーでは 2048 MB までです (上限 max_worker_memory_mb)。batch_size、第1層の filters を小さくしてください"
    assert said[1].startswith("データセット 'mnist' はこのサーバーでは使えません")
    page.click("#lang-btn")
    said = page.evaluate(SAY, [memory, unavailable])
    assert said == [memory["msg"], unavailable["msg"]]
