"""The welcome email page on a 375 px phone: the table scrolls in its box, words stay whole."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from campaigns.welcome.delivering import send_pending_welcomes
from engine.config import Settings
from engine.db import get_database
from subscribers.models import Topic
from tests.browser.conftest import signed_in_page, wcag_violations

# The welcome tests' fixtures, for this page test among the browser tests.
from tests.campaigns.welcome.conftest import MakeWelcome, join, make_welcome, staff, topics  # noqa: F401
from tests.factories import make_user

pytestmark = pytest.mark.browser

#: A cell narrower than this at 375 px shows a word a few letters per line.
NARROWEST_CELL = 48


def test_the_page_reads_well_on_a_phone(
    app: Flask,
    new_page: Callable[..., Any],
    live_url: str,
    session: Session,
    settings: Settings,
    topics: dict[str, Topic],  # noqa: F811
    make_welcome: MakeWelcome,  # noqa: F811
) -> None:
    make_welcome()
    make_welcome("Practice", approved=False)
    join(session, "kim@example.org", [topics["policy"]])
    editor = make_user(session, role="editor", email="ed@agency.example.org")
    session.commit()
    assert send_pending_welcomes(get_database(app), settings).sent == 1
    page = signed_in_page(new_page, live_url, editor.email, 375)
    page.goto(f"{live_url}/admin/welcome/")
    widths = page.eval_on_selector_all(
        "main td, main th", "cells => cells.map(cell => cell.getBoundingClientRect().width)"
    )
    assert widths and min(widths) >= NARROWEST_CELL, widths
    # The page itself does not scroll sideways; only the table does, in its own box.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert wcag_violations(page) == []
