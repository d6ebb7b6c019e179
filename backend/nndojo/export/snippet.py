"""Templates of generated code: Python with English `#` comments and `$name` placeholders, in the reader's language.

Why this form: a template reads like the code it makes, and its comments are translated line by line from one table
(nndojo.export.ja), so the English text is the key and nothing else has to be kept in step. Every template registers
itself, so a test can check that each comment has its Japanese line.
"""

from __future__ import annotations

import re
from string import Template
from textwrap import dedent
from typing import Literal

from nndojo.export.ja import JA

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = ("en", "ja")

# a comment: `# text` alone on its line, or after code and two spaces (no template has `  # ` inside a string)
COMMENT = re.compile(r"(?P<lead>^[ \t]*|  )# (?P<text>.+)$", re.MULTILINE)


def comments(code: str) -> list[str]:
    """The text of each comment in a piece of code."""
    return [match["text"] for match in COMMENT.finditer(code)]


def translate(code: str, lang: Lang) -> str:
    """The code with each comment in `lang`; a comment the table lacks stays English (a test keeps the table whole)."""
    if lang == "en":
        return code
    return COMMENT.sub(lambda match: f"{match['lead']}# {JA.get(match['text'], match['text'])}", code)


class Snippet:
    """One template. render() translates its comments first, then fills the placeholders (values are never translated)."""

    def __init__(self, text: str):
        self.text = dedent(text).strip("\n")
        SNIPPETS.append(self)

    def render(self, lang: Lang, **values: object) -> str:
        return Template(translate(self.text, lang)).substitute({key: str(value) for key, value in values.items()})


SNIPPETS: list[Snippet] = []  # every template made, for the test that the Japanese table covers their comments


def one_line(text: str, limit: int = 200) -> str:
    """User text (a run's name) made safe for a comment: one line of printable characters, so it cannot end the comment."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:limit]
