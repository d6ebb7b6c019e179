"""Your own data through the page: a CSV picked in the data panel is uploaded, previewed and trained on (a
classification of two columns, with its boundary; a regression of three), a bad file is refused in the page's language,
and the panel is looked at in both languages on a laptop and a phone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browser_helpers import legend_texts, train_and_wait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_uploads import classification_csv, regression_csv

pytestmark = pytest.mark.browser


def pick_csv(page, path: Path, target: str) -> None:
    """Opens the upload form, picks the file, chooses its target and uploads it; waits until the set is selected."""
    if not page.locator(".upload-box").evaluate("el => el.open"):
        page.click(".upload-box > summary")
    page.set_input_files("[data-key='upload-file']", str(path))
    page.select_option("[data-key='upload-target']", target)
    page.click("[data-testid='upload-send']")
    title = path.stem
    page.wait_for_function(f"document.querySelector(\"[data-loc='dataset.name'] option:checked\").textContent === {title!r}")


def small_run(page, epochs: int) -> None:
    page.fill("[data-loc='training.epochs']", str(epochs))
    page.fill("[data-loc='training.optimizer.lr']", "0.05")


def test_a_classification_and_a_regression_csv_train_from_the_page(page, tmp_path: Path, artifacts: Path) -> None:
    pets = tmp_path / "pets.csv"
    pets.write_text(classification_csv())
    pick_csv(page, pets, "animal")
    page.wait_for_selector("#data-preview .preview-plot .main-svg")
    assert page.locator("[data-loc='dataset.name'] option:checked").inner_text() == "pets"
    small_run(page, 15)
    assert train_and_wait(page) == "completed"
    page.wait_for_selector("#chart-boundary .main-svg")  # two columns: the boundary is drawn, over the data's range
    assert legend_texts(page, "#chart-boundary")[-2:] == ["cat", "dog"]
    assert page.evaluate("document.querySelector('#chart-boundary .js-plotly-plot').layout.xaxis.title.text") == "height"
    page.screenshot(path=artifacts / "upload-classification-1440.png")

    prices = tmp_path / "prices.csv"
    prices.write_text(regression_csv())
    pick_csv(page, prices, "price")
    assert page.locator("[data-loc='training.loss']").input_value() == "mse"
    page.select_option("[data-key='preview-view']", "table")
    assert page.locator("#data-preview table th").all_inner_texts() == ["a", "b", "c", "price"]
    small_run(page, 20)
    assert train_and_wait(page) == "completed"
    hint = "With more than two input columns there is no plane to picture each unit on: layers are drawn whole."
    assert page.locator("#net-diagram-info").inner_text().startswith(hint)
    page.screenshot(path=artifacts / "upload-regression-1440.png")


def test_a_bad_file_is_refused_in_the_pages_language(new_page, console, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,y\n" + "\n".join(f"{i},{i * 2},{i % 2}" for i in range(12)).replace("5,10,1", "5,ten,1") + "\n")
    console.expect_http(422, "/api/datasets")
    page = new_page(lang="ja")
    page.click(".upload-box > summary")
    page.set_input_files("[data-key='upload-file']", str(bad))
    page.click("[data-testid='upload-send']")
    error = page.locator(".upload-error")
    error.wait_for()
    page.wait_for_function("document.querySelector('.upload-error').textContent.length > 0")
    assert error.inner_text() == "7 行目の列「x2」は「ten」で、数値ではありません。特徴量（と回帰の目的変数）は 3 や -0.25 のような数値にしてください。"


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_upload_panel_screenshots(new_page, tmp_path: Path, artifacts: Path, lang: str, width: int, height: int) -> None:
    data = tmp_path / "pets.csv"
    data.write_text(classification_csv(60))
    page = new_page(lang=lang, viewport=(width, height))
    page.click(".upload-box > summary")
    page.set_input_files("[data-key='upload-file']", str(data))
    page.wait_for_selector("[data-key='upload-target']")
    page.select_option("[data-key='upload-target']", "animal")
    form = page.locator(".upload-box")
    form.scroll_into_view_if_needed()
    form.screenshot(path=artifacts / f"upload-form-{lang}-{width}.png")
    page.click("[data-testid='upload-send']")
    page.wait_for_selector("#data-preview .preview-plot .main-svg")
    page.locator("#data-panel").screenshot(path=artifacts / f"upload-panel-{lang}-{width}.png")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
