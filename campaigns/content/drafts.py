"""Drafts: issue content as its author left it, which always saves unless it is not content.

A draft keeps every value as written, reports what is unfinished or wrong in plain words, and
offers the part that is ready to render: the blocks without problems, and safe values where
the issue's own fields are wrong. Submission and sending refuse a draft with problems.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from campaigns.content.document import IssueContent, content_to_dict, parse_content
from campaigns.content.reading import ContentError, Problem

_BLOCK_PATH = re.compile(r"blocks\[(\d+)\](?:\.(.+))?")


@dataclass(frozen=True, slots=True)
class Place:
    """Where a problem is: a block (by id) and the field inside it, or a field of the issue."""

    block_id: str | None
    field: str


@dataclass(frozen=True, slots=True)
class Draft:
    """Issue content as written (`data`), its problems, and the part that renders (`content`)."""

    data: dict[str, Any]
    content: IssueContent
    problems: tuple[Problem, ...]

    def place(self, problem: Problem) -> Place:
        """Return the block and field ``problem`` is about."""
        match = _BLOCK_PATH.fullmatch(problem.path)
        if match is None:
            return Place(None, problem.path)
        blocks = self.data.get("blocks") or []
        index = int(match.group(1))
        block_id = blocks[index].get("id") if index < len(blocks) else None
        return Place(block_id, match.group(2) or "")


def read_draft(data: Any) -> Draft:
    """Read ``data`` as a draft; raise ``ContentError`` only when it is not issue content at all.

    Not content: the wrong JSON type anywhere, an unknown block type or choice, a missing or
    repeated block id, too many blocks or items, control characters in a single-line field.
    """
    content, problems = parse_content(data)
    if any(problem.malformed for problem in problems):
        raise ContentError(problems)
    paths = [problem.path for problem in problems]
    unfinished = {int(m.group(1)) for path in paths if (m := _BLOCK_PATH.fullmatch(path))}
    ready = dataclasses.replace(
        content,
        blocks=tuple(b for i, b in enumerate(content.blocks) if i not in unfinished),
        language="en" if "language" in paths else content.language,
        theme=None if any(path.startswith("theme") for path in paths) else content.theme,
    )
    return Draft(content_to_dict(content), ready, tuple(problems))
