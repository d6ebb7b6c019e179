"""The Export menu of an ended run, in Compare and in the run bar: three plain links the browser downloads, with the
code's comments in the page's language; shot at 1440x900 (en) and 390x844 (ja)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
from browser_helpers import tiny_spec


def finished_run(base_url: str, name: str, jobkit: SimpleNamespace) -> str:
    """A run submitted through the API and ended (the page's own Train is tested elsewhere)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        job_id = http.post("/api/jobs", json=tiny_spec(name)).json()["id"]
        assert jobkit.wait_final(http, job_id)["status"] == "completed"
    return job_id


def test_the_export_menu_downloads_the_runs_files(new_page, base_url: str, artifacts: Path, jobkit: SimpleNamespace) -> None:
    job_id = finished_run(base_url, "export menu", jobkit)
    page = new_page("en", (1440, 900))
    page.click("#tab-compare")
    menu = page.locator(f'[data-export-menu="{job_id}"]')
    menu.locator("summary").click()
    items = menu.locator(".export-item")
    assert items.all_text_contents() == ["Python code (.py)", "Notebook (.ipynb)", "Trained weights (.safetensors)"]
    assert [items.nth(i).get_attribute("href") for i in range(3)] == [
        f"/api/jobs/{job_id}/export/python?lang=en",
        f"/api/jobs/{job_id}/export/notebook?lang=en",
        f"/api/jobs/{job_id}/export/weights",
    ]
    page.screenshot(path=artifacts / "export-menu-compare-1440-en.png")
    narrow = new_page("en", (390, 844))
    narrow.click("#tab-compare")
    narrow.locator(f'[data-export-menu="{job_id}"] summary').click()
    narrow.screenshot(path=artifacts / "export-menu-compare-390-en.png")
    with page.expect_download() as download:
        items.nth(0).click()
    assert download.value.suggested_filename == "nndojo-export-menu.py"
    code = Path(download.value.path()).read_text(encoding="utf-8")
    assert code.startswith('# NN Dojo: the run "export menu"') and "class Net(nn.Module):" in code
    compile(code, "nndojo-export-menu.py", "exec")
    with page.expect_download() as download:
        items.nth(2).click()
    assert download.value.suggested_filename == "nndojo-export-menu.safetensors"


def test_the_run_bar_offers_export_in_japanese(new_page, base_url: str, artifacts: Path, jobkit: SimpleNamespace) -> None:
    job_id = finished_run(base_url, "export ja", jobkit)
    page = new_page("ja", (390, 844), path=f"/?run={job_id}")
    menu = page.locator(f'#run-panel [data-export-menu="{job_id}"]')
    menu.wait_for()
    assert menu.locator("summary").text_content() == "エクスポート"
    menu.locator("summary").click()
    python = menu.locator('[data-export="python"]')
    assert python.text_content() == "Python コード (.py)"
    assert python.get_attribute("href") == f"/api/jobs/{job_id}/export/python?lang=ja"
    menu.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "export-menu-run-390-ja.png")
    with page.expect_download() as download:
        python.click()
    assert "実行方法: python nndojo-export-ja.py" in Path(download.value.path()).read_text(encoding="utf-8")
    wide = new_page("ja", (1440, 900), path=f"/?run={job_id}")
    wide.locator(f'#run-panel [data-export-menu="{job_id}"] summary').click()
    wide.screenshot(path=artifacts / "export-menu-run-1440-ja.png")
