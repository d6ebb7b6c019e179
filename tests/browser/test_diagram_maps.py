"""The network diagram on an image set: conv and pooling boxes draw one fixed test image's feature maps (the events'
`feature_maps`), the input box that image, following the newest epoch and the replay scrubber. Screenshots at 1440x900
and 390x844, English and Japanese, go to test-artifacts/."""

from __future__ import annotations

import pytest
from browser_helpers import train_and_wait
from test_diagram import open_spec, serious_axe_violations

pytestmark = pytest.mark.browser

MAPS = "[data-maps-of='{}']"
# What a layer's tiles hold, read back from their pixels: the picture drawn, not a data attribute.
PIXELS = """(name) => [...document.querySelectorAll(`#net-diagram [data-maps-of="${name}"] canvas`)].map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0; for (let i = 0; i < d.length; i += 1) h = (h * 31 + d[i]) >>> 0; return h; })"""


def conv_spec() -> dict:
    """A LeNet-like net on 8x8 digits: conv (4 filters) → max pool → flatten → dense; a few seconds on one CPU thread."""
    return {
        "name": "feature maps",
        "seed": 0,
        "device": "cpu",
        "dataset": {"name": "digits", "test_fraction": 0.3},
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu", "init": "he"},
                {"type": "maxpool2d", "kernel_size": 2},
                {"type": "flatten"},
                {"type": "dense", "units": 16, "activation": "relu", "init": "he"},
            ],
            "output": {"activation": "softmax", "init": "xavier"},
        },
        "training": {"epochs": 12, "batch_size": 64, "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.01}},
        "probes": {"histogram_bins": 10},
    }


def drawn(page, name: str) -> dict:
    return page.eval_on_selector(f"#net-diagram {MAPS.format(name)}", "e => ({...e.dataset, tiles: e.querySelectorAll('canvas').length})")


def test_conv_and_pool_boxes_draw_the_samples_feature_maps_and_follow_the_scrubber(new_page, artifacts):
    page = open_spec(new_page, conv_spec())
    assert drawn(page, "conv2d_1")["tiles"] == 0 and drawn(page, "maxpool2d_1")["tiles"] == 0  # nothing trained yet
    assert page.locator(f"#net-diagram {MAPS.format('dense_1')}").count() == 0  # dense layers keep their plain box
    assert train_and_wait(page) == "completed"
    page.wait_for_function(f"document.querySelector(\"#net-diagram {MAPS.format('conv2d_1')}\").dataset.epoch === '12'")
    conv, pool, image = drawn(page, "conv2d_1"), drawn(page, "maxpool2d_1"), drawn(page, "input")
    assert (conv["shape"], conv["tiles"]) == ("4x6x6", 4)  # 4 channels of 8-3+1 = 6 px
    assert (pool["shape"], pool["tiles"], pool["epoch"]) == ("4x3x3", 4, "12")
    assert (image["shape"], image["tiles"]) == ("1x8x8", 1) and image["sample"]  # the digit the maps are of
    tile = page.eval_on_selector(f"#net-diagram {MAPS.format('conv2d_1')} canvas", "c => c.getBoundingClientRect().width")
    assert tile > 24  # four maps as a 2x2 grid of larger tiles
    assert "test image #" in page.get_attribute(f"#net-diagram {MAPS.format('conv2d_1')}", "title")
    final = page.evaluate(PIXELS, "conv2d_1")
    assert len(set(final)) >= 2  # four different filters make different maps

    # The untrained net's maps (epoch 0) differ from the trained ones, in the pixels; the image stays the same.
    page.evaluate("window.nndojo.diagram.showEpoch(0)")
    page.wait_for_function(f"document.querySelector(\"#net-diagram {MAPS.format('conv2d_1')}\").dataset.epoch === '0'")
    assert drawn(page, "conv2d_1")["hash"] != conv["hash"] and page.evaluate(PIXELS, "conv2d_1") != final
    assert drawn(page, "input")["sample"] == image["sample"]
    page.evaluate("window.nndojo.diagram.showEpoch(null)")
    page.wait_for_function(f"document.querySelector(\"#net-diagram {MAPS.format('conv2d_1')}\").dataset.epoch === '12'")
    assert page.evaluate(PIXELS, "conv2d_1") == final
    assert serious_axe_violations(page, "#net-diagram") == []

    for lang in ("en", "ja"):
        if lang == "ja":
            page.click("#lang-btn")
            page.wait_for_function(f"document.querySelector(\"#net-diagram {MAPS.format('conv2d_1')}\").dataset.epoch === '12'")
            assert "特徴マップ" in page.get_attribute(f"#net-diagram {MAPS.format('conv2d_1')}", "title")
        for width, height in ((1440, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.locator("#net-diagram").scroll_into_view_if_needed()
            page.screenshot(path=artifacts / f"diagram-maps-{width}-{lang}.png")
    page.locator("#net-diagram").screenshot(path=artifacts / "diagram-maps-only.png")
