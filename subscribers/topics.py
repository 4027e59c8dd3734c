"""Topics: the lists readers choose from, grouped in categories on the public pages."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from babel import Locale
from sqlalchemy.orm import Session

from engine.db import Database
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.i18n import CODES, DEFAULT, supported
from engine.text_fields import check_line, check_text
from subscribers.models import OptIn, Topic, TopicVisibility

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

#: The languages a topic's name and description may be written in besides English.
TRANSLATED_LANGUAGES: tuple[str, ...] = tuple(code for code in CODES if code != DEFAULT)
#: One language's form of a topic: ``{"name": …, "description": …, "category": …}``, any may
#: be empty.
Translations = Mapping[str, Mapping[str, str]]
#: The parts of a topic another language's form may give.
TRANSLATED_PARTS = ("name", "description", "category")

#: The agency's starting catalogue (``pinwheel topics create`` adds more).
DEFAULT_TOPICS: tuple[tuple[str, str, str, str], ...] = (
    ("human-trafficking", "Human trafficking", "Child welfare practice",
     "Identifying and responding to child trafficking: guidance, training and alerts."),
    ("child-abuse-prevention", "Child abuse prevention", "Child welfare practice",
     "Prevention research, awareness months and resources for families and partners."),
    ("foster-care", "Foster care", "Child welfare practice",
     "News for foster families, caseworkers and courts."),
    ("monthly-digest", "Monthly digest", "Digests",
     "One email a month with the highlights of every topic."),
)  # fmt: skip

#: The starting catalogue's categories in Spanish.
DEFAULT_CATEGORIES_ES = {
    "Child welfare practice": "Práctica del bienestar infantil",
    "Digests": "Resúmenes",
}
#: The starting catalogue's Spanish names and descriptions, by slug.
DEFAULT_TOPICS_ES: dict[str, tuple[str, str]] = {
    "human-trafficking": ("Trata de personas",
        "Cómo identificar y atender la trata infantil: orientación, capacitación y alertas."),
    "child-abuse-prevention": ("Prevención del maltrato infantil",
        "Investigación sobre prevención, meses de concientización y recursos para familias y "
        "aliados."),
    "foster-care": ("Cuidado de crianza",
        "Noticias para familias de crianza, trabajadores sociales y tribunales."),
    "monthly-digest": ("Resumen mensual",
        "Un correo al mes con lo más destacado de cada tema."),
}  # fmt: skip


def create_topic(
    session: Session,
    slug: str,
    name: str,
    *,
    category: str = "",
    description: str = "",
    visibility: TopicVisibility = TopicVisibility.PUBLIC,
    opt_in: OptIn = OptIn.DOUBLE,
    translations: Translations | None = None,
) -> Topic:
    """Create a topic; the slug must be new and made of lower-case letters, digits and dashes.

    ``translations`` gives its name and description in other languages (``{"es": {"name":
    …, "description": …}}``); a form left empty shows the English.
    """
    if not SLUG_PATTERN.fullmatch(slug) or len(slug) > 80:
        raise ValidationFailed(
            f"Topic slug {slug!r} must be lower-case letters, digits and single dashes."
        )
    if not name.strip() or len(name) > 200:
        raise ValidationFailed("A topic needs a name of at most 200 characters.")
    _check_labels(name, category)
    translated = merge_translations({}, translations or {})
    if session.scalar(sa.select(Topic.id).where(Topic.slug == slug)) is not None:
        raise Conflict(f"A topic with the slug {slug!r} already exists.")
    position = session.scalar(sa.select(sa.func.coalesce(sa.func.max(Topic.position), 0))) or 0
    topic = Topic(
        slug=slug,
        name=name.strip(),
        category=category.strip(),
        description=description.strip(),
        visibility=visibility,
        opt_in=opt_in,
        position=position + 1,
        translations=translated,
    )
    session.add(topic)
    session.flush()
    return topic


_IN_DISPLAY_ORDER = sa.select(Topic).order_by(Topic.category, Topic.position, Topic.name)
# Built once: every subscribe post lists the public topics, and composing a statement (with its
# cache key) costs about as much as running it.
_PUBLIC_IN_DISPLAY_ORDER = _IN_DISPLAY_ORDER.where(Topic.visibility == TopicVisibility.PUBLIC)


def list_topics(session: Session, *, public_only: bool = False) -> list[Topic]:
    """Return topics in display order (category, then position)."""
    return list(session.scalars(_PUBLIC_IN_DISPLAY_ORDER if public_only else _IN_DISPLAY_ORDER))


class TopicRef(Protocol):
    """What subscribing needs of a topic: a ``Topic`` or a ``TopicChoice``."""

    @property
    def id(self) -> int: ...
    @property
    def slug(self) -> str: ...
    @property
    def opt_in(self) -> str: ...


@dataclass(frozen=True, slots=True)
class TopicChoice:
    """A public topic as the subscribe form shows it: plain values, safe to share and keep."""

    id: int
    slug: str
    name: str
    category: str
    description: str
    opt_in: OptIn
    position: int
    translations: Mapping[str, Any] = field(default_factory=dict, hash=False)


_t = Topic.__table__.c
_PUBLIC_CHOICES = (
    sa.select(_t.id, _t.slug, _t.name, _t.category, _t.description, _t.opt_in, _t.position)
    .add_columns(_t.translations)
    .where(_t.visibility == TopicVisibility.PUBLIC)
    .order_by(_t.category, _t.position, _t.name)
)


class PublicTopics:
    """The public topics for the subscribe form, read at most once per ``seconds`` per process.

    Every subscribe post checks the ticked topics against this list: reading it from the
    database each time cost a fifth of the post. Like the public pages' micro-cache, a change
    by staff shows within ``seconds`` (``PAGE_CACHE_SECONDS``; 0 reads every time). Topics are
    never deleted, so a cached id always names a topic.
    """

    def __init__(
        self, database: Database, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._database, self._seconds, self._clock = database, seconds, clock
        self._topics: tuple[TopicChoice, ...] = ()
        self._fresh_until = float("-inf")

    def get(self) -> tuple[TopicChoice, ...]:
        if self._clock() < self._fresh_until:
            return self._topics
        with self._database.read_engine.connect() as connection:
            rows = connection.execute(_PUBLIC_CHOICES).all()
        self._topics = tuple(
            TopicChoice(row.id, row.slug, row.name, row.category, row.description,
                        OptIn(row.opt_in), row.position, row.translations or {})
            for row in rows
        )  # fmt: skip
        self._fresh_until = self._clock() + self._seconds
        return self._topics


_Shown = TypeVar("_Shown", Topic, TopicChoice)


def group_by_category(topics: Iterable[_Shown]) -> list[tuple[str, list[_Shown]]]:
    """Return ``(category, topics)`` pairs for fieldsets on the public pages.

    Topics without a category come under ``""``, which the page names in its own language.
    """
    ordered = sorted(topics, key=lambda topic: (topic.category, topic.position, topic.name))
    return [
        (category, list(members))
        for category, members in groupby(ordered, key=lambda topic: topic.category)
    ]


def topics_by_slugs(session: Session, slugs: Sequence[str]) -> list[Topic]:
    """Return the topics named by ``slugs`` or raise ``NotFound`` naming the unknown ones."""
    found = {
        topic.slug: topic
        for topic in session.scalars(sa.select(Topic).where(Topic.slug.in_(slugs)))
    }
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise NotFound(f"No topic with the slug {', '.join(repr(slug) for slug in missing)}.")
    return [found[slug] for slug in dict.fromkeys(slugs)]


def ensure_default_topics(session: Session) -> list[Topic]:
    """Create the starting catalogue's missing topics; return the ones created."""
    created = []
    for slug, name, category, description in DEFAULT_TOPICS:
        if session.scalar(sa.select(Topic.id).where(Topic.slug == slug)) is None:
            name_es, description_es = DEFAULT_TOPICS_ES[slug]
            spanish = {
                "es": {
                    "name": name_es,
                    "description": description_es,
                    "category": DEFAULT_CATEGORIES_ES.get(category, ""),
                }
            }
            created.append(
                create_topic(
                    session,
                    slug,
                    name,
                    category=category,
                    description=description,
                    translations=spanish,
                )
            )
    return created


#: What staff may change on a topic; the slug is its public identifier and stays.
EDITABLE_TOPIC_FIELDS = ("name", "category", "description", "visibility", "opt_in", "translations")


def update_topic(session: Session, topic: Topic, changes: Mapping[str, Any]) -> Topic:
    """Change a topic's name, category, description, visibility, opt-in or other languages'
    forms (never its slug).

    ``changes["translations"]`` changes only the languages and fields it names: an empty
    string clears one, so readers of that language see the English again.
    """
    for key, value in changes.items():
        if key not in EDITABLE_TOPIC_FIELDS:
            raise ValidationFailed(f"A topic's {key} cannot be changed.")
        if key == "translations":
            topic.translations = merge_translations(topic.translations or {}, value)
        else:
            setattr(topic, key, str(value).strip())
    if not topic.name:
        raise ValidationFailed("A topic needs a name.", details={"json": {"name": ["Empty."]}})
    _check_labels(topic.name, topic.category)
    session.flush()
    return topic


def _check_labels(name: str, category: str) -> None:
    # Both are one-line labels: the name also goes into confirmation emails' text.
    check_line(name.strip(), "The topic name", path="name")
    check_line(category.strip(), "The topic category", path="category")


class Translatable(Protocol):
    """What ``topic_text`` reads: a ``Topic`` or a ``TopicChoice``."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def translations(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class TopicText:
    """A topic's name, description and category as one reader sees them."""

    name: str
    description: str
    category: str


def topic_text(topic: Translatable, language: str | None) -> TopicText:
    """Return ``topic``'s name, description and category in ``language``, each in English where
    the language's form is empty or missing (and for English or an unsupported language)."""
    code = supported(language) or DEFAULT
    form = (topic.translations or {}).get(code) if code != DEFAULT else None
    if not isinstance(form, Mapping):
        return TopicText(topic.name, topic.description, topic.category)
    name = str(form.get("name") or "").strip()
    description = str(form.get("description") or "").strip()
    category = str(form.get("category") or "").strip()
    return TopicText(
        name or topic.name, description or topic.description, category or topic.category
    )


def merge_translations(current: Mapping[str, Any], changes: Translations) -> dict[str, Any]:
    """Return ``current`` with ``changes`` applied, checked: known languages, a one-line name
    of at most 200 characters, a description of at most 2,000, a one-line category of at most
    120. Empty forms are dropped."""
    merged = {code: dict(form) for code, form in current.items() if isinstance(form, Mapping)}
    for code, form in changes.items():
        if code not in TRANSLATED_LANGUAGES:
            known = ", ".join(TRANSLATED_LANGUAGES)
            raise ValidationFailed(
                f"A topic can have its name and description in these languages: {known}."
            )
        for part, value in form.items():
            if part not in TRANSLATED_PARTS:
                raise ValidationFailed(
                    f"A topic's {code} form has a name, a description and a category, nothing else."
                )
            merged.setdefault(code, {})[part] = str(value or "").strip()
        _check_translation(code, merged.get(code, {}))
    return {
        code: {part: value for part, value in form.items() if value}
        for code, form in merged.items()
        if any(form.values())
    }


def _check_translation(code: str, form: Mapping[str, str]) -> None:
    language = Locale.parse(code).english_name
    name, description = form.get("name", ""), form.get("description", "")
    if len(name) > 200:
        raise ValidationFailed(f"The topic's {language} name must be at most 200 characters.")
    if len(description) > 2000:
        raise ValidationFailed(
            f"The topic's {language} description must be at most 2,000 characters."
        )
    category = form.get("category", "")
    if len(category) > 120:
        raise ValidationFailed(f"The topic's {language} category must be at most 120 characters.")
    check_line(category, f"The topic's {language} category", path=f"category_{code}")
    check_line(name, f"The topic's {language} name", path=f"name_{code}")
    check_text(description, f"The topic's {language} description", path=f"description_{code}")
