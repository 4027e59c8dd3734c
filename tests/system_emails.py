"""What every system email must be, whichever feature sends it."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.system import sender_domain
from engine.render.accessibility import check_html

_LAYOUT_TAG = re.compile(r"</?(?:a|p|br|li|ul|h[1-6]|div|span|strong|table|td)\b[^>]*>")


def assert_system_email(
    message: OutgoingMessage, settings: Settings, *, link_prefix: str, says: tuple[str, ...] = ()
) -> str:
    """Assert the layout, checks, text part, branding and headers; return the message's link."""
    assert re.search(r'<html lang="[a-z]{2,3}"', message.html)
    assert check_html(message.html) == []
    found = re.search(re.escape(link_prefix) + r"[^\s()]*", message.text)
    assert found is not None, message.text
    link = found.group(0)
    assert f'href="{html.escape(link)}"' in message.html
    assert _LAYOUT_TAG.search(message.text) is None, message.text
    assert "%%" not in message.html and "%%" not in message.text
    for phrase in (*says, settings.POSTAL_ADDRESS):
        assert phrase in message.text
    assert message.headers["Auto-Submitted"] == "auto-generated"
    domain = sender_domain(settings.SENDER_ADDRESS)
    assert message.headers["Message-ID"].endswith(f"@{domain}>")
    assert f"@{urlsplit(settings.BASE_URL).hostname}>" not in message.headers["Message-ID"]
    assert not any(name.lower().startswith("list-") for name in message.headers)
    return link
