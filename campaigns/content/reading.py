"""Reading JSON-ish dicts into typed values, recording every problem found on the way.

Reading never stops at the first problem: each is recorded with its path and a sentence in plain
words. A *malformed* problem (a list where text goes, an unknown block type) means the data is
not issue content at all; every other problem is an unfinished part of a draft, which is saved
as written and reported until it is fixed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from engine.text_fields import control_character

MAX_LINE = 500
MAX_ITEMS = 100
_HTTP_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_LINK_URL = re.compile(r"(?:https?://[^\s<>\"']+|mailto:[^\s<>\"']+)", re.IGNORECASE)
_MERGE_URL = re.compile(r"%%[a-z_]+%%")
E = TypeVar("E", bound=StrEnum)

#: How messages name a field; fields not listed are named by their key.
FIELD_WORDS = {
    "alt": "alt text",
    "accent": "accent colour",
    "date_label": "date label",
    "intro": "introduction",
    "level": "heading level",
    "refs": "reference numbers",
    "size": "file size",
    "src": "address",
    "subject": "subject line",
    "url": "link",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to fix in issue content: where it is (`path`) and what to do, in plain words."""

    path: str
    message: str
    #: Not issue content at all (wrong JSON type, unknown block): no draft can hold it.
    malformed: bool = False

    def as_detail(self) -> dict[str, str]:
        """Return the ``{path, message}`` pair an error response lists."""
        return {"path": self.path, "message": self.message}


class ContentError(ValueError):
    """Issue content failed validation; `details` lists `{path, message}` for each problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        self.details = [problem.as_detail() for problem in self.problems]
        summary = "; ".join(f"{d['path']}: {d['message']}" for d in self.details[:5])
        super().__init__(f"invalid issue content: {summary}")


def field_words(name: str) -> str:
    """Return how messages name field `name` ("alt" → "alt text")."""
    return FIELD_WORDS.get(name, name.replace("_", " "))


class Reader:
    """Read typed fields from one dict, recording problems under a dotted path.

    ``where`` names the object in messages: "the issue", "the heading", "item 2".
    """

    def __init__(
        self, data: Any, path: str, problems: list[Problem], where: str = "the issue"
    ) -> None:
        self.path = path
        self.problems = problems
        self.where = where
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            self.refuse("", "must be an object")

    @property
    def subject(self) -> str:
        """Return ``where`` at the start of a sentence ("The heading", "Item 2")."""
        return self.where[:1].upper() + self.where[1:]

    def fail(self, name: str, message: str) -> None:
        """Record an unfinished or wrong value of field `name` (a draft may hold it)."""
        self.problems.append(Problem(self._path(name), message))

    def refuse(self, name: str, message: str) -> None:
        """Record that field `name` (or the object itself when empty) is not content at all."""
        self.problems.append(Problem(self._path(name), message, malformed=True))

    def _path(self, name: str) -> str:
        return f"{self.path}.{name}" if name and self.path else name or self.path

    def text(
        self, name: str, *, required: bool = False, max_len: int = MAX_LINE, line: bool = False
    ) -> str:
        """Read a string field as written; missing optional fields read as ''.

        A ``line`` (a title, subject …) may hold no control character, not even a tab: these
        end up in mail headers. No text may hold a null character, which no database stores.
        """
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, f"{self.subject} has no {field_words(name)} yet.")
            return ""
        if not isinstance(value, str):
            self.refuse(name, "must be a string")
            return ""
        if line and (problem := control_character(value)):
            self.refuse(name, f"contains {problem}; write it on one line")
        elif "\x00" in value:
            self.refuse(name, "contains a null character (U+0000); remove it")
        if len(value) > max_len:
            words = field_words(name)
            self.fail(
                name,
                f"The {words} of {self.where} is longer than {max_len:,} characters; shorten it.",
            )
        return value

    def url(self, name: str, *, required: bool = False, mailto: bool = False) -> str:
        """Read an absolute http(s) URL (or mailto: when allowed); merge-tag URLs pass."""
        value = self.text(name, required=required, max_len=2000)
        pattern = _LINK_URL if mailto else _HTTP_URL
        if value and not (pattern.fullmatch(value) or _MERGE_URL.fullmatch(value)):
            also = " or mailto:" if mailto else ""
            self.fail(
                name,
                f"The {field_words(name)} of {self.where} must be a full web address that starts "
                f"with https://{also}.",
            )
        return value

    def integer(self, name: str, *, low: int, high: int, default: int | None = None) -> int | None:
        """Read an optional integer; one outside [low, high] is kept as written and reported."""
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.refuse(name, f"must be an integer from {low} to {high}")
            return default
        if not low <= value <= high:
            self.fail(
                name,
                f"The {field_words(name)} of {self.where} must be a whole number from {low} "
                f"to {high}.",
            )
        return value

    def flag(self, name: str) -> bool:
        """Read an optional boolean (false when missing)."""
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            self.refuse(name, "must be true or false")
            return False
        return value

    def choice(self, name: str, enum: type[E], default: E) -> E:
        """Read one of the values of a `StrEnum`."""
        value = self.data.get(name)
        if value is None:
            return default
        try:
            return enum(value)
        except ValueError:
            self.refuse(name, "must be one of " + ", ".join(member.value for member in enum))
            return default

    def items(
        self, name: str, parse: Callable[[Reader], Any], *, noun: str, empty: str = ""
    ) -> tuple:
        """Read a list of objects, each parsed by `parse` as "`noun` 1", "`noun` 2" ….

        An empty list is reported with the sentence ``empty`` when one is given.
        """
        value = self.data.get(name)
        if value is None or value == []:
            if empty:
                self.fail(name, empty)
            return ()
        if not isinstance(value, list):
            self.refuse(name, "must be a list")
            return ()
        if len(value) > MAX_ITEMS:
            self.refuse(name, f"must have at most {MAX_ITEMS} items")
            return ()
        return tuple(
            parse(self.child(f"{name}[{i}]", item, f"{noun} {i + 1}"))
            for i, item in enumerate(value)
        )

    def numbers(self, name: str) -> tuple[int, ...]:
        """Read a list of reference numbers (1-999, up to 20)."""
        value = self.data.get(name) or []
        if not isinstance(value, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in value
        ):
            self.refuse(name, "must be a list of reference numbers")
            return ()
        if len(value) > 20 or not all(1 <= n <= 999 for n in value):
            self.fail(
                name,
                f"The reference numbers of {self.where} must be from 1 to 999, at most 20 of them.",
            )
        return tuple(value)

    def child(self, name: str, data: Any, where: str) -> Reader:
        """Return a reader for a nested object that messages call ``where``."""
        return Reader(data, self._path(name), self.problems, where)
