"""The observance catalogue shipped with Pinwheel, and the windows of any observance.

Staff-defined observances are built with :func:`observance_from_dict` (their rule stored with
:func:`~campaigns.observances.rules.rule_to_dict`) and go through the same window functions.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from importlib import resources

from campaigns.observances.rules import (
    DateWindow,
    ObservanceError,
    Rule,
    YearNotListedError,
    rule_from_dict,
)

CATALOGUE_FILE = "data/observances.toml"
CATALOGUE_TOPICS = frozenset(
    {
        "human-trafficking",
        "child-abuse-prevention",
        "foster-care",
        "adoption",
        "youth-wellbeing",
        "monthly-digest",
    }
)
"""The topic slugs the shipped catalogue may suggest."""

_SLUG = (re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*"), "lowercase words joined by hyphens")
_COLOUR = (re.compile(r"#[0-9A-Fa-f]{6}"), "a #RRGGBB colour")
_FIELDS = frozenset(
    {"slug", "name", "kind", "rule", "region", "description", "topic", "colour", "banner", "es"}
)
#: Languages an observance's name and banner may also be written in, as ``es = { name, banner }``.
TRANSLATED = ("es",)


class ObservanceKind(StrEnum):
    MONTH = "month"
    WEEK = "week"
    DAY = "day"


class ObservanceSource(StrEnum):
    CATALOGUE = "catalogue"
    STAFF = "staff"


@dataclass(frozen=True)
class Observance:
    """A named awareness period with the rule that places it in any year."""

    slug: str
    name: str
    kind: ObservanceKind
    rule: Rule
    region: str
    description: str
    topic: str
    colour: str
    banner: str | None = None
    source: ObservanceSource = ObservanceSource.CATALOGUE
    #: ``(language, name, banner)`` for each language it is also written in.
    translations: tuple[tuple[str, str, str | None], ...] = ()

    def name_in(self, language: str) -> str:
        """Return the observance's name in ``language``, else its English name."""
        return next((name for code, name, _ in self.translations if code == language), self.name)

    def banner_in(self, language: str) -> str | None:
        """Return the banner in ``language``; its English banner only when none is written."""
        for code, _name, banner in self.translations:
            if code == language:
                return banner
        return self.banner


@dataclass(frozen=True)
class Occurrence:
    """One observance placed in one year."""

    observance: Observance
    window: DateWindow


def observance_from_dict(
    data: object, *, source: ObservanceSource = ObservanceSource.CATALOGUE, label: str = "?"
) -> Observance:
    """Build an observance from its plain-dict form; errors name the slug and the field."""
    if not isinstance(data, Mapping):
        raise ObservanceError(f"observance {label}: expected a table, got {type(data).__name__}")
    slug = _text(data, f"observance {label}", "slug", shape=_SLUG)
    who = f"observance {slug!r}"
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ObservanceError(f"{who}: {unknown[0]}: unknown field")
    return Observance(
        slug=slug,
        name=_text(data, who, "name"),
        kind=_kind(data, who),
        rule=rule_from_dict(data.get("rule"), slug=slug, field="rule"),
        region=_text(data, who, "region"),
        description=_text(data, who, "description"),
        topic=_text(data, who, "topic", shape=_SLUG),
        colour=_text(data, who, "colour", shape=_COLOUR).upper(),
        banner=None if data.get("banner") is None else _text(data, who, "banner"),
        source=source,
        translations=tuple(_translation(data, who, code) for code in TRANSLATED if code in data),
    )


def _translation(data: Mapping[str, object], who: str, code: str) -> tuple[str, str, str | None]:
    words = data[code]
    if not isinstance(words, Mapping) or set(words) - {"name", "banner"}:
        raise ObservanceError(f"{who}: {code}: must be a table of name and banner")
    banner = None if words.get("banner") is None else _text(words, f"{who} {code}", "banner")
    return code, _text(words, f"{who} {code}", "name"), banner


def _text(
    data: Mapping[str, object],
    who: str,
    name: str,
    *,
    shape: tuple[re.Pattern[str], str] | None = None,
) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ObservanceError(f"{who}: {name}: must be non-empty text, got {value!r}")
    if shape is not None and not shape[0].fullmatch(value):
        raise ObservanceError(f"{who}: {name}: {value!r} is not {shape[1]}")
    return value.strip()


def _kind(data: Mapping[str, object], who: str) -> ObservanceKind:
    value = data.get("kind")
    try:
        if isinstance(value, str):
            return ObservanceKind(value)
    except ValueError:
        pass
    allowed = ", ".join(kind.value for kind in ObservanceKind)
    raise ObservanceError(f"{who}: kind: must be one of {allowed}; got {value!r}")


def parse_catalogue(text: str) -> tuple[Observance, ...]:
    """Parse catalogue TOML (a list of ``[[observance]]`` tables) and check it as a whole."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ObservanceError(f"catalogue: invalid TOML: {exc}") from exc
    entries = document.get("observance")
    if not isinstance(entries, list) or not entries:
        raise ObservanceError("catalogue: expected one or more [[observance]] tables")
    observances = tuple(
        observance_from_dict(entry, label=f"#{index + 1}") for index, entry in enumerate(entries)
    )
    _check_catalogue(observances)
    return observances


def _check_catalogue(observances: tuple[Observance, ...]) -> None:
    seen: set[str] = set()
    for observance in observances:
        if observance.slug in seen:
            raise ObservanceError(f"observance {observance.slug!r}: slug: listed more than once")
        seen.add(observance.slug)
        if observance.topic not in CATALOGUE_TOPICS:
            raise ObservanceError(
                f"observance {observance.slug!r}: topic: {observance.topic!r} is not one of "
                + ", ".join(sorted(CATALOGUE_TOPICS))
            )


@functools.cache
def load_catalogue() -> tuple[Observance, ...]:
    """Load the catalogue shipped in ``campaigns/data/observances.toml``, once, then cached."""
    return parse_catalogue(_catalogue_text())


@functools.cache
def catalogue_revised() -> datetime:
    """Return when the shipped catalogue was last revised (its ``revised`` stamp), in UTC."""
    return parse_revised(_catalogue_text())


def parse_revised(text: str) -> datetime:
    """Read the ``revised`` stamp of catalogue TOML: a date and time with its UTC offset."""
    try:
        revised = tomllib.loads(text).get("revised")
    except tomllib.TOMLDecodeError as exc:
        raise ObservanceError(f"catalogue: invalid TOML: {exc}") from exc
    if not isinstance(revised, datetime) or revised.tzinfo is None:
        raise ObservanceError(
            f"catalogue: revised: must be a date and time with its offset, got {revised!r}"
        )
    return revised.astimezone(UTC)


def _catalogue_text() -> str:
    return resources.files("campaigns").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")


def find(slug: str, observances: Iterable[Observance] | None = None) -> Observance:
    """Return the observance named ``slug``, or raise an error that suggests close slugs."""
    candidates = {o.slug: o for o in (load_catalogue() if observances is None else observances)}
    if slug in candidates:
        return candidates[slug]
    close = difflib.get_close_matches(slug, list(candidates), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ObservanceError(f"unknown observance {slug!r}{hint}")


def window(observance: Observance, year: int) -> DateWindow:
    """Return the observance's window that its rule places in ``year``.

    Raises :class:`YearNotListedError` when an explicit per-year rule has no dates for the year,
    and :class:`ObservanceError` for any other year the rule cannot place.
    """
    try:
        return observance.rule.window(year)
    except YearNotListedError as exc:
        raise YearNotListedError(f"observance {observance.slug!r}: {exc}") from exc
    except (ValueError, OverflowError) as exc:
        raise ObservanceError(f"observance {observance.slug!r}: year {year}: {exc}") from exc


def observances_in_year(year: int, extra: Iterable[Observance] = ()) -> list[Occurrence]:
    """List the catalogue's (and ``extra``) observances whose windows start in ``year``.

    Sorted by start, longer windows first on the same day; per-year observances with no dates
    listed for ``year`` are left out.
    """
    occurrences = []
    for observance in (*load_catalogue(), *extra):
        try:
            occurrence = Occurrence(observance, window(observance, year))
        except YearNotListedError:
            continue
        if occurrence.window.start.year == year:
            occurrences.append(occurrence)
    return sorted(occurrences, key=lambda o: (o.window.start, -o.window.days, o.observance.slug))


def next_window(observance: Observance, on_or_after: date) -> DateWindow | None:
    """Return the observance's first window starting on or after the given day, if it has one."""
    windows = []
    for year in range(on_or_after.year - 1, on_or_after.year + 3):
        try:
            windows.append(window(observance, year))
        except YearNotListedError:
            continue
    upcoming = [w for w in windows if w.start >= on_or_after]
    return min(upcoming, key=lambda w: w.start, default=None)
