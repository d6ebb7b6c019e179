"""Classroom mode in three browsers: the teacher logs in on /teacher, creates a class and reads its join code from the
page; two students join with it and train; each sees only their own run; the teacher sees both live and shows one to
the class; the other student then sees it, labelled with its owner, and cannot delete it (no control, and the API says
403). Markup in a run, student or class name is text everywhere. Screenshots of the join screen, the student's page
and the dashboard at 1920 and 1440 px, in English and Japanese, go to test-artifacts/."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from browser_helpers import MARKUP, MARKUP_ELEMENTS, legend_texts, new_context, tiny_spec, train_and_wait
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORD = "classroom-test-password"
STUDENT_MARKUP = "<img src=x onerror=alert(1)>"  # a display name has at most 40 characters


@pytest.fixture(scope="module")
def classroom_url(tmp_path_factory: pytest.TempPathFactory, jobkit) -> Iterator[str]:
    """A server in classroom mode with a known teacher password, or the one NNDOJO_CLASSROOM_TEST_URL names."""
    url = os.environ.get("NNDOJO_CLASSROOM_TEST_URL")
    if url:
        yield url.rstrip("/")
        return
    env = {"NNDOJO_MODE": "classroom", "NNDOJO_TEACHER_PASSWORD": PASSWORD}
    server = jobkit.start_server(tmp_path_factory.mktemp("classroom_server"), env)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def open_page(browser, classroom_url, console) -> Iterator:
    """open_page(path, lang, viewport) -> a page in a fresh context (own cookies: one person each)."""
    contexts = []
    console.expect_http(401, "/api/session")  # every page asks for the session first; without one it shows the gate

    def open_(path: str = "/", lang: str = "en", viewport: tuple[int, int] = (1280, 800)):
        context = new_context(browser, lang, viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        console.watch(page)
        page.goto(classroom_url + path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not console, "console or page errors:\n" + "\n".join(console)


def teacher_login(page) -> None:
    page.wait_for_selector("#login-password")
    page.fill("#login-password", PASSWORD)
    page.click("#gate-submit")
    page.wait_for_selector("body[data-ready='true']")


def create_class(page, name: str) -> str:
    """Creates a class on the dashboard; returns the join code as the page shows it."""
    page.fill("[data-key='new-class-name']", name)
    page.click("#create-class")
    page.wait_for_function(f"document.querySelector('#class-name')?.textContent === {json.dumps(name)}")
    code = page.inner_text("#class-code")
    assert len(code) == 6
    return code


def join(page, code: str, name: str) -> None:
    page.wait_for_selector("#join-code")
    page.fill("#join-code", code.lower())  # codes are case-insensitive
    page.fill("#join-name", name)
    page.click("#gate-submit")
    page.wait_for_selector("body[data-ready='true']")


def listed(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('#runs-table tbody tr')].map(tr => tr.dataset.job)")


def show_compare(page) -> None:
    page.click("#tab-compare")
    page.click("#compare-refresh")
    page.wait_for_selector("#runs-table tbody tr")


def test_teacher_and_two_students(open_page, console, classroom_url, artifacts):
    teacher = open_page("/teacher", viewport=(1920, 1080))
    teacher.wait_for_selector("#login-password")
    teacher.screenshot(path=artifacts / "classroom-teacher-login-1920.png")
    teacher_login(teacher)
    code = create_class(teacher, "Period 3")

    aiko = open_page("/")
    aiko.fill("#join-code", "ZZZZZ9")
    aiko.fill("#join-name", "Aiko")
    aiko.click("#gate-submit")
    aiko.wait_for_selector("#gate-error")
    assert "No open class has this code" in aiko.inner_text("#gate-error")
    aiko.screenshot(path=artifacts / "classroom-join-error-1280.png")
    join(aiko, code, "Aiko")
    assert aiko.inner_text("#who-name") == "Aiko"

    ben = open_page("/", lang="ja")
    ben.wait_for_selector("#join-code")
    ben.screenshot(path=artifacts / "classroom-join-ja-1280.png")
    join(ben, code, "Ben")
    assert ben.inner_text("#who-name") == "Ben"
    assert ben.inner_text("#logout-btn") == "ログアウト"

    for page in (aiko, ben):
        page.fill("[data-loc='training.epochs']", "3")
        assert train_and_wait(page) == "completed"
    a_job = aiko.evaluate("window.nndojo.jobId()")
    b_job = ben.evaluate("window.nndojo.jobId()")
    aiko.screenshot(path=artifacts / "classroom-student-1280.png")

    show_compare(aiko)
    show_compare(ben)
    assert listed(aiko) == [a_job]  # each sees only their own run
    assert listed(ben) == [b_job]

    # the teacher sees both, live, with a loss sparkline each
    both = " && ".join(
        f"document.querySelector('#class-runs tr[data-job=\"{j}\"] .status-pill')?.dataset.status === 'completed'" for j in (a_job, b_job)
    )
    teacher.wait_for_function(both)
    teacher.wait_for_selector(f"#class-runs tr[data-job='{a_job}'] canvas.sparkline")
    assert teacher.inner_text(f"#class-runs tr[data-job='{a_job}'] td.student") == "Aiko"
    assert teacher.get_attribute(f"[data-open='{a_job}']", "href") == f"./?run={a_job}"
    teacher.screenshot(path=artifacts / "classroom-dashboard-1920.png", full_page=True)

    # "show to the class": Ben now sees Aiko's run, labelled with her name, read-only
    teacher.click(f"[data-share='{a_job}']")
    teacher.wait_for_selector(f"[data-share='{a_job}'][aria-pressed='true']")
    ben.click("#compare-refresh")
    ben.wait_for_selector(f"#runs-table tr[data-job='{a_job}']")
    assert sorted(listed(ben)) == sorted([a_job, b_job])
    assert ben.inner_text(f"[data-owner='{a_job}']") == "Aiko"
    assert ben.is_visible(f"[data-shared='{a_job}']")
    assert ben.locator(f"[data-delete='{a_job}']").count() == 0
    assert ben.locator(f"[data-delete='{b_job}']").count() == 1
    assert ben.request.delete(f"{classroom_url}/api/jobs/{a_job}").status == 403
    ben.locator(f"input[data-job='{a_job}']").check()
    ben.locator(f"input[data-job='{b_job}']").check()
    ben.wait_for_function("document.querySelectorAll('#compare-acc .legendtext').length === 2")
    ben.screenshot(path=artifacts / "classroom-student-compare-ja-1280.png")
    aiko.click("#compare-refresh")
    aiko.wait_for_selector(f"[data-shared='{a_job}']")
    assert listed(aiko) == [a_job]  # Ben's run was not shared

    # Ben may watch Aiko's shared run in the playground, not stop it; training his own stays open to him
    shared = ben.context.new_page()
    console.watch(shared)
    shared.goto(f"{classroom_url}/?run={a_job}")
    shared.wait_for_function("window.nndojo?.runStatus?.() === 'completed'")
    assert "Aiko" in shared.inner_text("#run-readonly")
    assert shared.is_disabled("#stop-btn") and shared.is_enabled("#train-btn")
    shared.close()

    # the teacher can watch any run in the playground
    watch = teacher.context.new_page()
    console.watch(watch)
    watch.goto(f"{classroom_url}/?run={a_job}")
    watch.wait_for_function("window.nndojo?.runStatus?.() === 'completed'")
    watch.close()

    csv = teacher.request.get(f"{classroom_url}/{teacher.get_attribute('#results-csv', 'href')}")
    assert csv.status == 200 and "Aiko" in csv.text() and "Ben" in csv.text()
    teacher.click("#code-full")  # the code across the screen, for the back row
    assert teacher.inner_text("#code-overlay .overlay-code") == code
    teacher.screenshot(path=artifacts / "classroom-code-full-1920.png")
    teacher.keyboard.press("Escape")
    assert teacher.locator("#code-overlay").count() == 0
    teacher.click("#limits-details summary")
    teacher.screenshot(path=artifacts / "classroom-dashboard-limits-1920.png", full_page=True)
    teacher.set_viewport_size({"width": 1440, "height": 900})
    teacher.screenshot(path=artifacts / "classroom-dashboard-1440.png", full_page=True)
    assert teacher.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the table fits, actions included
    teacher.click("#lang-btn")
    teacher.wait_for_function("document.querySelector('#runs-title').textContent === '生徒と実行'")
    teacher.screenshot(path=artifacts / "classroom-dashboard-ja-1440.png", full_page=True)
    teacher.set_viewport_size({"width": 1920, "height": 1080})
    teacher.screenshot(path=artifacts / "classroom-dashboard-ja-1920.png", full_page=True)


def test_markup_in_names_is_text_in_the_classroom(open_page, console, classroom_url, artifacts):
    dialogs: list[str] = []

    def watch(page):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        return page

    teacher = watch(open_page("/teacher", viewport=(1440, 900)))
    teacher_login(teacher)
    code = create_class(teacher, MARKUP)
    student = watch(open_page("/"))
    join(student, code, STUDENT_MARKUP)
    assert student.locator("#who-name").text_content() == STUDENT_MARKUP
    response = student.request.post(f"{classroom_url}/api/jobs", data=tiny_spec(MARKUP))
    assert response.status == 201, response.text()
    job = response.json()["id"]

    show_compare(student)
    assert student.locator(f"tr[data-job='{job}'] .name-text").text_content() == MARKUP
    assert student.locator(f"[data-owner='{job}']").text_content() == STUDENT_MARKUP
    student.locator(f"input[data-job='{job}']").check()
    student.wait_for_function(f"document.querySelector('tr[data-job=\"{job}\"] td:nth-child(4)').textContent === 'completed'")
    student.wait_for_function("document.querySelectorAll('#compare-acc .legendtext').length === 1")
    assert legend_texts(student, "#compare-acc") == [f"{MARKUP} · {STUDENT_MARKUP}"]
    assert student.evaluate(MARKUP_ELEMENTS) == 0

    opened = watch(student.context.new_page())
    console.watch(opened)
    opened.goto(f"{classroom_url}/?run={job}")
    opened.wait_for_function("window.nndojo?.runStatus?.() === 'completed'")
    assert opened.locator("#run-name").text_content() == MARKUP
    assert opened.evaluate(MARKUP_ELEMENTS) == 0
    opened.close()

    teacher.wait_for_selector(f"#class-runs tr[data-job='{job}'] canvas.sparkline")
    assert teacher.locator("#class-name").text_content() == MARKUP
    assert teacher.locator(".class-item-name", has_text="link").first.text_content() == MARKUP
    assert teacher.locator(f"#class-runs tr[data-job='{job}'] td.student").text_content() == STUDENT_MARKUP
    assert teacher.locator(f"#class-runs tr[data-job='{job}'] .name-text").text_content() == MARKUP
    assert teacher.evaluate(MARKUP_ELEMENTS) == 0
    teacher.screenshot(path=artifacts / "classroom-markup-dashboard-1440.png", full_page=True)
    assert dialogs == []


def test_limits_quota_and_a_deleted_class(open_page, console, classroom_url, jobkit, artifacts):
    """The teacher lowers a limit on the dashboard; a submission over it is said in the page naming the limit; when the
    teacher deletes the class, the student's next request finds no session and the join screen returns."""
    console.expect_http(429, "/api/jobs")
    console.expect_http(401, "/api/jobs")
    teacher = open_page("/teacher", viewport=(1440, 900))
    teacher_login(teacher)
    code = create_class(teacher, "Limits")
    teacher.click("#limits-details summary")
    teacher.fill("[data-limit='max_queued_per_student']", "1")
    teacher.click("#save-limits")
    expect(teacher.locator("#toast")).to_have_text("Limits saved.")  # the class's "created" toast may still be up
    assert teacher.input_value("[data-limit='max_queued_per_student']") == "1"

    student = open_page("/")
    join(student, code, "Chika")
    assert student.inner_text("#who-class") == "Limits"
    first = student.request.post(f"{classroom_url}/api/jobs", data=jobkit.long_spec(400))
    assert first.status == 201, first.text()
    # one run training (the class lets a student run one at once) and one waiting, or the first still waiting: full
    assert student.request.post(f"{classroom_url}/api/jobs", data=jobkit.long_spec(400)).status in (201, 429)
    student.click("#train-btn")
    alert = student.locator("#run-alert")
    alert.wait_for()
    assert "limit of 1 waiting runs per student (max_queued_per_student)" in alert.inner_text()
    student.click("#lang-btn")
    assert "上限 max_queued_per_student" in alert.inner_text()
    student.screenshot(path=artifacts / "classroom-quota-ja-1280.png")

    teacher.once("dialog", lambda d: d.accept())
    teacher.click("#delete-class")
    teacher.wait_for_function("!document.querySelector('#class-name') || document.querySelector('#class-name').textContent !== 'Limits'")
    student.click("#tab-compare")  # lists runs: 401, the class and its students are gone
    student.wait_for_selector("#join-code")
    assert student.is_hidden("#main")


def test_join_refusals_in_japanese(open_page, console):
    """A closed class and a name already taken are said in the page's language, and the student can try again."""
    console.expect_http(403, "/api/session")
    console.expect_http(409, "/api/session")
    teacher = open_page("/teacher")
    teacher_login(teacher)
    code = create_class(teacher, "Closed for now")
    teacher.click("[data-key='class-open']")
    teacher.wait_for_selector("#class-open-state.closed")

    student = open_page("/", lang="ja")
    student.wait_for_selector("#join-code")
    student.fill("#join-code", code)
    student.fill("#join-name", "Dai")
    student.click("#gate-submit")
    gate_error = student.locator("#gate-error")
    gate_error.wait_for()
    assert "締め切られて" in gate_error.inner_text()

    teacher.click("[data-key='class-open']")
    teacher.wait_for_selector("#class-open-state.open")
    join(open_page("/"), code, "Dai")
    student.click("#gate-submit")  # the same name again, now that the class is open
    student.wait_for_function("document.querySelector('#gate-error').textContent.includes('すでに使われています')")
    student.fill("#join-name", "Dai 2")
    student.click("#gate-submit")
    student.wait_for_selector("body[data-ready='true']")
    assert student.inner_text("#who-name") == "Dai 2"


def test_a_lesson_runs_whole_under_a_class_queue_limit(open_page, console, classroom_url):
    """A student whose class lets them queue one run still gets every run of a six-run lesson: the page holds the
    variants the server refuses (429) and submits them as the earlier ones end, and the verdicts are decided."""
    console.expect_http(429, "/api/jobs")
    teacher = open_page("/teacher")
    teacher_login(teacher)
    create_class(teacher, "One at a time")
    teacher.click("#limits-details summary")
    teacher.fill("[data-limit='max_queued_per_student']", "1")
    teacher.click("#save-limits")
    expect(teacher.locator("#toast")).to_have_text("Limits saved.")
    code = teacher.inner_text("#class-code")

    student = open_page("/", viewport=(1440, 900))
    join(student, code, "Eri")
    student.click("#tab-lessons")
    student.click("[data-run-lesson='activations']")
    student.wait_for_selector("#lesson-waiting")  # one running, one queued, the other four wait in the page
    assert student.locator(".lesson-runs [data-status='waiting']").count() >= 3
    student.wait_for_function(
        "(() => { const v = [...document.querySelectorAll('.lesson-view .verdict')];"
        " return v.length > 0 && v.every(x => x.dataset.state !== 'pending'); })()",
        timeout=240_000,
    )
    assert len(student.evaluate("window.nndojo.lessonJobs()")) == 6
    states = student.evaluate("[...document.querySelectorAll('.lesson-view .verdict')].map(v => v.dataset.state)")
    assert states == ["pass"] * 5
    assert student.locator("#lesson-waiting").count() == 0
