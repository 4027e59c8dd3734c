from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from engine.render.merge import KNOWN_KEYS, MergeTemplate

SOURCE = '<a href="%%unsubscribe_url%%">Unsubscribe</a> Hi %%first_name|there%%, %%first_name%%!'


def test_keys_lists_each_tag_once_in_order():
    assert MergeTemplate(SOURCE).keys == ("unsubscribe_url", "first_name")


def test_render_fills_values_and_fallbacks():
    template = MergeTemplate(SOURCE, escape=html.escape)
    out = template.render({"unsubscribe_url": "https://x.org/u?t=1&s=2", "first_name": ""})
    assert out == '<a href="https://x.org/u?t=1&amp;s=2">Unsubscribe</a> Hi there, !'


def test_html_variant_escapes_values_for_attributes():
    template = MergeTemplate('<a title="%%name%%">%%name%%</a>', escape=html.escape)
    out = template.render({"name": '"><script>alert(1)</script>'})
    assert "<script>" not in out
    assert 'title="&quot;&gt;&lt;script&gt;' in out


def test_text_variant_does_not_escape():
    template = MergeTemplate("Hi %%name%%", escape=None)
    assert template.render({"name": "Ana & <Bo>"}) == "Hi Ana & <Bo>"


def test_missing_values_render_empty_and_unknown_keys_are_reported():
    template = MergeTemplate("%%shoe_size%% and %%email%%")
    assert template.render({}) == " and "
    assert template.unknown_keys() == ("shoe_size",)


def test_text_without_tags_is_returned_unchanged():
    assert MergeTemplate("100% sure, 50%% off").render({"name": "x"}) == "100% sure, 50%% off"


keys = st.sampled_from(sorted(KNOWN_KEYS))
values = st.text(alphabet=st.characters(blacklist_characters="%"), max_size=20)
chunks = st.text(alphabet=st.characters(blacklist_characters="%"), max_size=15)


@given(
    pieces=st.lists(st.tuples(chunks, keys), max_size=8),
    tail=chunks,
    recipient=st.dictionaries(keys, values),
)
def test_render_equals_naive_replace(pieces, tail, recipient):
    source = "".join(f"{text}%%{key}%%" for text, key in pieces) + tail
    expected = source
    for key in KNOWN_KEYS:
        expected = expected.replace(f"%%{key}%%", recipient.get(key, ""))
    assert MergeTemplate(source).render(recipient) == expected


@given(recipient=st.dictionaries(keys, st.text(max_size=20)))
def test_escaped_render_equals_naive_replace_of_escaped_values(recipient):
    source = '<a href="%%webview_url%%">%%name%%</a> %%email%% %%first_name%%'
    expected = source
    for key in KNOWN_KEYS:
        expected = expected.replace(f"%%{key}%%", html.escape(recipient.get(key, "")))
    assert MergeTemplate(source, escape=html.escape).render(recipient) == expected
