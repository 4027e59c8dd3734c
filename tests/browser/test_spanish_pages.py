"""The public pages in Spanish, in Chromium: WCAG 2.1 AA by axe-core at desktop and phone widths."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.config import Settings
from subscribers.links import SubscriberLinks
from tests.browser.conftest import wcag_violations
from tests.factories import make_sent_issue, make_subscriber, make_topic

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 375])
def test_spanish_public_pages_have_no_wcag_violations(
    width: int,
    live_url: str,
    new_page: Callable[..., Any],
    session: Session,
    settings: Settings,
) -> None:
    topic = make_topic(session, name="Trata de personas")
    issue = make_sent_issue(
        session, settings, "Spotlight", datetime(2026, 1, 12, tzinfo=UTC), [topic]
    )
    # A sent correction puts its dated note on the issue's web view and archive entry.
    correction = make_sent_issue(
        session, settings, "Corrección: Spotlight", datetime(2026, 1, 15, tzinfo=UTC), [topic]
    )
    correction.correction_of_id = issue.id
    reader = make_subscriber(session, language="es", topics=[topic])
    session.commit()
    links = SubscriberLinks.from_settings(settings)
    own = [links.confirm(reader.id), links.preferences(reader.id), links.unsubscribe(reader.id)]
    paths = [
        "/subscribe",
        "/archive",
        f"/view/{issue.slug}",
        "/no-such-page",
        *(link.removeprefix(settings.BASE_URL) for link in own),
    ]
    # axe-core is injected as an inline script, which the pages' CSP refuses.
    page = new_page(viewport={"width": width, "height": 900}, bypass_csp=True, locale="es-MX")
    found = []
    for path in paths:
        page.goto(live_url + path)
        assert page.evaluate("document.documentElement.lang") == "es", path
        if path in ("/archive", f"/view/{issue.slug}"):
            assert "Corregido el" in page.inner_text("main"), path
        found += [f"{path}: {v['id']} ({v['impact']}): {v['help']}" for v in wcag_violations(page)]
    assert found == []
