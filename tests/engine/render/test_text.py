from __future__ import annotations

from engine.render.text import html_to_text


def test_links_are_written_as_text_then_url():
    text = html_to_text('<p>See <a href="https://example.org/a?b=1&amp;c=2">the guide</a>.</p>')
    assert "the guide (https://example.org/a?b=1&c=2)" in text


def test_link_whose_text_is_its_url_is_written_once():
    text = html_to_text('<p><a href="https://example.org">https://example.org</a></p>')
    assert text.strip() == "https://example.org"


def test_anchor_links_keep_only_their_text():
    assert html_to_text('<a href="#sec-1">Section one</a>').strip() == "Section one"


def test_merge_tags_survive_in_text_and_urls():
    long_line = "word " * 60
    link = '<a href="%%unsubscribe_url%%">Unsubscribe</a>'
    html = f"<p>{long_line}Hi %%first_name|there%%, {link}</p>"
    text = html_to_text(html)
    assert "Hi %%first_name|there%%" in text
    assert "Unsubscribe (%%unsubscribe_url%%)" in text


def test_hidden_preheader_and_outlook_blocks_are_dropped():
    html = (
        '<div style="display:none;max-height:0">Preview words</div>'
        "<!--[if mso | IE]><table><tr><td>Outlook only</td></tr></table><![endif]-->"
        "<p>Body</p>"
    )
    text = html_to_text(html)
    assert "Preview words" not in text
    assert "Outlook only" not in text
    assert "Body" in text


def test_list_items_keep_a_short_indent_and_blank_runs_collapse():
    text = html_to_text("<div><p>Intro</p><br><br><br><ul><li>One</li><li>Two</li></ul></div>")
    assert "  * One" in text
    assert "\n\n\n" not in text
