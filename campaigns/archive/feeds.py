"""Atom feeds of sent issues, overall and per topic.

The document is built as an element tree and serialized by ``xml.etree``, which escapes every
text and attribute value: an issue title such as ``Kids & Families <2027>`` stays one title and
cannot close its element or add an entry.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parseaddr

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.archive.service import (
    ArchiveFilters,
    CorrectionNote,
    published_corrections,
    search_archive,
)
from campaigns.issues.models import Issue
from engine.clock import now
from engine.config import Settings
from engine.errors import NotFound
from engine.i18n import LANGUAGES, translations
from subscribers.models import Topic, TopicVisibility

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
#: Each feed language named in its own language (``engine.i18n.LANGUAGES``).
_LANGUAGE_NAMES = dict(LANGUAGES)
#: Characters XML 1.0 cannot carry at all, escaped or not (C0 controls but tab, CR and LF;
#: lone surrogates; U+FFFE and U+FFFF): the serializer would write them and break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def atom_document(
    session: Session, settings: Settings, *, topic_slug: str | None, language: str = ""
) -> bytes:
    """Return the Atom feed of the newest sent issues (of one public topic when given).

    With ``language``, the issues written in it (editions included), each edition's entry
    linking its other languages.
    """
    topic = None
    if topic_slug is not None:
        topic = session.scalar(
            sa.select(Topic).where(
                Topic.slug == topic_slug.replace("\x00", ""),
                Topic.visibility == TopicVisibility.PUBLIC,
            )
        )
        if topic is None:
            raise NotFound(f"There is no public topic {topic_slug!r}.")
    page = search_archive(session, ArchiveFilters(topic=topic_slug or "", language=language))
    corrections = published_corrections(session, page.issues)
    changes = [issue.published_at for issue in page.issues if issue.published_at]
    changes += [note.corrected_at for notes in corrections.values() for note in notes]
    feed = _feed_element(settings, topic, max(changes, default=now()), language)
    for issue in page.issues:
        feed.append(_entry_element(settings.BASE_URL, issue, corrections.get(issue.id, [])))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _feed_element(
    settings: Settings, topic: Topic | None, updated: datetime, language: str = ""
) -> ET.Element:
    archive_url = f"{settings.BASE_URL}/archive"
    topic_url = archive_url if topic is None else f"{archive_url}/topics/{topic.slug}"
    page_url = archive_url if topic is None else f"{archive_url}?topic={topic.slug}"
    if language:
        topic_url, page_url = f"{archive_url}/{language}", f"{archive_url}?lang={language}"
    feed = ET.Element("feed", xmlns=ATOM_NAMESPACE)
    title = "Newsletter archive" if topic is None else f"{topic.name}: Newsletter archive"
    if language:
        feed.set("xml:lang", language)
        title = f"{title} ({_LANGUAGE_NAMES.get(language, language)})"
    _text(feed, "title", title)
    _text(feed, "id", topic_url)
    ET.SubElement(feed, "link", rel="alternate", type="text/html", href=page_url)
    ET.SubElement(
        feed, "link", rel="self", type="application/atom+xml", href=f"{topic_url}/feed.atom"
    )
    _text(feed, "updated", updated.isoformat())
    author = ET.SubElement(feed, "author")
    _text(author, "name", parseaddr(settings.SENDER_ADDRESS)[0] or "Newsletter")
    return feed


def _entry_element(
    base_url: str, issue: Issue, corrections: list[CorrectionNote] | None = None
) -> ET.Element:
    """Return an issue's entry; a correction moves its ``updated`` and heads its summary."""
    url = f"{base_url}/view/{issue.slug}"
    published = issue.published_at.isoformat() if issue.published_at else ""
    entry = ET.Element("entry")
    _text(entry, "title", issue.title)
    _text(entry, "id", url)
    ET.SubElement(entry, "link", rel="alternate", type="text/html", href=url)
    notes = corrections or []
    for note in notes:
        ET.SubElement(
            entry,
            "link",
            rel="related",
            type="text/html",
            href=f"{base_url}/view/{note.correction.slug}",
            title=_NOT_XML.sub("", note.title),
        )
    _text(entry, "published", published)
    _text(entry, "updated", notes[-1].corrected_at.isoformat() if notes else published)
    lines = [_correction_line(issue.language, note) for note in notes]
    preheader = issue.content.get("preheader")
    if preheader:
        lines.append(str(preheader))
    if lines:
        _text(entry, "summary", "\n\n".join(lines))
    return entry


def _correction_line(language: str, note: CorrectionNote) -> str:
    # In the entry's language, whatever the feed's: a Spanish edition's entry speaks Spanish.
    words = translations(language)
    day = note.corrected_at.date().isoformat()
    if not note.summary:
        return words.gettext("Corrected on %(day)s.") % {"day": day}
    return words.gettext("Corrected on %(day)s: %(summary)s") % {
        "day": day,
        "summary": note.summary,
    }


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = _NOT_XML.sub("", text)
