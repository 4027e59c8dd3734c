"""Browser tests: the app served from a thread on a fresh SQLite database, driven by Chromium."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from engine.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder as a browser test."""
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _sqlite_only(request: pytest.FixtureRequest) -> None:
    """Run browser tests on SQLite only: the database legs are covered by the other tests."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("database_url") == "postgresql":
        pytest.skip("browser tests run on the SQLite leg only")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Launch the system's Chromium once per run, or skip when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install chromium to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def _server() -> Iterator[tuple[BaseWSGIServer, dict[str, Flask]]]:
    """Bind the port first so the app's BASE_URL (links in emails) can name it."""
    holder: dict[str, Flask] = {}

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    yield server, holder
    server.server_close()


@pytest.fixture
def settings(
    settings: Settings, database_url: str, _server: tuple[BaseWSGIServer, dict]
) -> Settings:
    """Return the test settings pointing at the live server, sending to the outbox folder.

    ``database_url`` is named so that pytest still parametrizes it for these tests.
    """
    return settings.with_overrides(
        MAIL_BACKEND="outbox", BASE_URL=f"http://127.0.0.1:{_server[0].server_port}"
    )


@pytest.fixture
def live_url(app: Flask, _server: tuple[BaseWSGIServer, dict[str, Flask]]) -> Iterator[str]:
    """Serve ``app`` from a thread and return its base URL."""
    server, holder = _server
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh browser contexts (one per signed-in person) and close them after."""
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def wcag_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core's WCAG 2.1 A and AA rules in ``page``; return every violation, any impact."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations'],
        })"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:8],
        }
        for v in result["violations"]
    ]


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core in ``page`` and return its serious and critical violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def signed_in_page(new_page: Callable[..., Any], base: str, email: str, width: int) -> Any:
    """Open a page ``width`` pixels wide and sign ``email`` in (the factories' password)."""
    from playwright.sync_api import expect

    from tests.factories import PASSWORD

    # axe-core is injected as an inline script, which the pages' CSP refuses.
    page = new_page(viewport={"width": width, "height": 900}, bypass_csp=True)
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    return page


@pytest.fixture
def editing(app: Flask, live_url: str, new_page: Callable[..., Any], session: Any) -> tuple:
    """An editor signed in, and the editor's address of an issue with blocks intro, more, third.

    Returns ``(page, url, issue_id)``.
    """
    from campaigns.issues.service import create_issue
    from tests.browser.test_editor_workflow import sign_in
    from tests.campaigns.issues.issue_data import basic
    from tests.factories import make_user

    user = make_user(session, "editor")
    content = basic()
    content["blocks"].append({"id": "third", "type": "heading", "text": "Third block"})
    issue = create_issue(session, content, author_id=user.id)
    session.commit()
    page = new_page()
    sign_in(page, live_url, user.email)
    return page, f"{live_url}/admin/issues/{issue.id}/edit", issue.id
