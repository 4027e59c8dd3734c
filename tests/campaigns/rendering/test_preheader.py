"""The inbox preview line: first in the body, hidden everywhere, with no colour to score."""

from __future__ import annotations

import re

import pytest

from campaigns.content.document import Layout
from tests.campaigns.rendering.factories import make_issue, render

PREHEADER = "Practical ideas and new resources for caseworkers and family partners."


@pytest.mark.parametrize("layout", list(Layout), ids=str)
def test_preheader_is_the_first_text_of_the_body_and_hidden(layout):
    _, rendered = render(make_issue(layout=layout.value, preheader=PREHEADER))
    body = rendered.html[rendered.html.index("<body") :]
    first_text = re.search(r">([^<>]*\w[^<>]*)<", body)
    assert first_text is not None and first_text.group(1) == PREHEADER
    style = re.search(r'<div class="pw-preheader" style="([^"]*)"', body)
    assert style is not None
    declarations = dict(d.split(":", 1) for d in style.group(1).strip(";").split(";"))
    assert declarations["display"] == "none" and declarations["mso-hide"] == "all"
    assert declarations["max-height"] == "0" and declarations["overflow"] == "hidden"
    # A colour matching the background is what SpamAssassin's HTML_FONT_LOW_CONTRAST scores.
    assert "color" not in declarations
    assert PREHEADER not in rendered.text


def test_no_preheader_no_hidden_line():
    _, rendered = render(make_issue(preheader=""))
    assert "pw-preheader" not in rendered.html
