"""Every email layout fits a 375 px phone screen without horizontal scrolling."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.content.document import content_from_dict
from campaigns.rendering.render import RenderContext, render_issue
from tests.campaigns.seed_issues import SEEDS

pytestmark = pytest.mark.browser
CONTEXT = RenderContext(
    base_url="https://news.example.org",
    sender_name="Pinwheel Newsletters",
    sender_address="newsletters@pinwheel.example.org",
    postal_address="330 C Street SW, Washington, DC 20201",
    archive_url="/view/sample",
    subscribe_url="/subscribe",
)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_layout_has_no_horizontal_scroll_at_375px(browser: Any, name: str) -> None:
    html = render_issue(content_from_dict(SEEDS[name]), CONTEXT).html
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        page = context.new_page()
        # Remote images never load in tests; the layout must hold without them.
        page.route("**/*", lambda route: route.abort())
        page.set_content(html)
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth,"
            " document.body.scrollWidth]"
        )
        assert widths[0] <= widths[1], f"{SEEDS[name]['layout']}: {widths}"
        assert widths[2] <= widths[1], f"{SEEDS[name]['layout']}: {widths}"
    finally:
        context.close()
