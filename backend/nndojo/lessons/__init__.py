"""The textbook's experiments as lessons: variants submitted together and verdicts decided on their runs' numbers.

Defined once, here; GET /api/lessons serves them (with the page's presets) and POST /api/lessons/{id}/verdicts
evaluates them over a caller's jobs, so the page and the tests read one implementation.
"""

from __future__ import annotations

from nndojo.lessons import basics, chapter6, chapter7
from nndojo.lessons.model import FINAL, Lesson, Run, evaluate
from nndojo.lessons.presets import presets

_BY_ID = {lesson.id: lesson for lesson in (*basics.LESSONS, *chapter6.LESSONS, *chapter7.LESSONS)}
ORDER = ("step", "loss", "vanishing", "optimizers", "activations", "init", "batchnorm", "overfitting", "filters", "lenet_alexnet")
LESSONS: tuple[Lesson, ...] = tuple(_BY_ID[lesson_id] for lesson_id in ORDER)  # the book's order
assert set(ORDER) == set(_BY_ID), "every lesson is listed once"


def get_lesson(lesson_id: str) -> Lesson | None:
    return _BY_ID.get(lesson_id)


__all__ = ["FINAL", "LESSONS", "Lesson", "Run", "evaluate", "get_lesson", "presets"]
