"""What a lesson is: the textbook's experiment as variants run together, and verdicts decided on this run's numbers.

A verdict is a function of the lesson's finished runs; it returns whether the book's result showed and the numbers it
was decided on, worded in both languages, so that the page and the tests read one implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Run:
    """One variant's finished job as a verdict sees it: its spec, its per-epoch scalars (the /metrics columns), and its
    first and last epoch events (histograms, filters)."""

    spec: dict[str, Any]
    metrics: dict[str, Any]
    first: dict[str, Any] | None
    last: dict[str, Any] | None
    status: str

    def series(self, key: str) -> list[float | None]:
        return list(self.metrics.get(key) or [])

    def final(self, key: str) -> float | None:
        """The last finite value of a per-epoch column (a diverged epoch reads null)."""
        values = [v for v in self.series(key) if isinstance(v, int | float) and math.isfinite(v)]
        return values[-1] if values else None

    def layer_series(self, key: str, layer: str) -> list[float | None]:
        return list((self.metrics.get(key) or {}).get(layer) or [])

    def iterations(self) -> int:
        return (steps_per_epoch(self.spec) or 0) * self.spec["training"]["epochs"]


def steps_per_epoch(spec: dict[str, Any]) -> int | None:
    """Updates an epoch, where the spec says it without loading the dataset (lessons on images set train_limit); what
    the page needs to plot loss against iterations."""
    limit = spec["dataset"].get("train_limit")
    batch = spec["training"]["batch_size"]
    if batch == "full":
        return 1
    return math.ceil(limit / batch) if limit else None


@dataclass(frozen=True)
class Verdict:
    """A decided claim: `ok`, the claim in both languages with its numbers, and the numbers themselves."""

    ok: bool
    en: str
    ja: str
    values: dict[str, float | int | None] = field(default_factory=dict)

    def as_dict(self, rule_id: str) -> dict[str, Any]:
        return {"id": rule_id, "state": "pass" if self.ok else "fail", "text": {"en": self.en, "ja": self.ja}, "values": self.values}


Runs = dict[str, Run]
Decide = Callable[[Runs], Verdict]


@dataclass(frozen=True)
class Rule:
    """A verdict rule: what it claims (shown before the runs end) and how it decides."""

    id: str
    claim_en: str
    claim_ja: str
    decide: Decide
    needs: tuple[str, ...]  # the variants it reads: decided once these are finished


@dataclass(frozen=True)
class Variant:
    id: str
    label_en: str
    label_ja: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Lesson:
    id: str
    figure: str  # the textbook's figures it reproduces, e.g. "6-9"
    title_en: str
    title_ja: str
    text_en: str
    text_ja: str
    expected_en: str  # the book's result in a sentence
    expected_ja: str
    minutes: float  # all variants submitted at once to a quiet 2-core server, measured, plus about half
    charts: tuple[str, ...]  # what the lesson view draws: loss, accuracy, test_accuracy, histograms, grad_depth, filters
    variants: tuple[Variant, ...]
    rules: tuple[Rule, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "figure": self.figure,
            "title": {"en": self.title_en, "ja": self.title_ja},
            "text": {"en": self.text_en, "ja": self.text_ja},
            "expected": {"en": self.expected_en, "ja": self.expected_ja},
            "minutes": self.minutes,
            "charts": list(self.charts),
            "variants": [
                {"id": v.id, "label": {"en": v.label_en, "ja": v.label_ja}, "spec": v.spec, "steps_per_epoch": steps_per_epoch(v.spec)}
                for v in self.variants
            ],
            "verdicts": [{"id": r.id, "claim": {"en": r.claim_en, "ja": r.claim_ja}, "needs": list(r.needs)} for r in self.rules],
        }


FINAL = ("completed", "diverged")  # what a verdict is decided on
VOID = ("failed", "cancelled")  # ended without the numbers: a verdict that needs such a run is never decided


def evaluate(lesson: Lesson, runs: dict[str, Run | None]) -> list[dict[str, Any]]:
    """Each rule's verdict over the runs given; `pending` while a run it reads is missing or still going, `void` when
    one of them failed or was cancelled."""
    out = []
    for rule in lesson.rules:
        given = {v: runs.get(v) for v in rule.needs}
        claim = {"en": rule.claim_en, "ja": rule.claim_ja}
        ended = [v for v, run in given.items() if run is not None and run.status in VOID]
        if ended:
            out.append({"id": rule.id, "state": "void", "text": claim, "values": {}, "ended": ended})
            continue
        unfinished = [v for v, run in given.items() if run is None or run.status not in FINAL]
        if unfinished:
            out.append({"id": rule.id, "state": "pending", "text": claim, "values": {}, "waiting": unfinished})
            continue
        verdict = rule.decide({v: run for v, run in given.items() if run is not None})
        out.append(verdict.as_dict(rule.id))
    return out
