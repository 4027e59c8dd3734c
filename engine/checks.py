"""Report operational checks, one outcome each, as printed by `pinwheel doctor` and `health`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome: ``ok``, ``warn`` (works, but look at it), ``fail`` or ``skip`` (not
    configured, nothing to check), with a hint."""

    name: str
    status: Status
    message: str
    hint: str = ""


def any_failed(checks: Sequence[Check]) -> bool:
    """Return whether any check failed."""
    return any(check.status == "fail" for check in checks)


def format_lines(checks: Sequence[Check]) -> str:
    """Return one line per check, with its hint indented beneath warnings and failures."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"{check.status:<4}  {check.name:<{width}}  {check.message}")
        if check.hint and check.status != "ok":
            lines.append(f"{'':<4}  {'':<{width}}  hint: {check.hint}")
    return "\n".join(lines)


def format_json(checks: Sequence[Check]) -> str:
    """Return the checks as one JSON document."""
    return json.dumps(
        {"ok": not any_failed(checks), "checks": [asdict(check) for check in checks]}, indent=2
    )
