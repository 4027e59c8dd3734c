from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.render.text import WIDTH, html_to_text


def test_links_are_written_as_title_then_url():
    text = html_to_text('<p>See <a href="https://example.org/a?b=1&amp;c=2">the guide</a>.</p>')
    assert text == "See the guide: https://example.org/a?b=1&c=2.\n"


def test_link_whose_title_ends_a_sentence_needs_no_colon():
    text = html_to_text('<p><a href="https://example.org/r">Source cited in the report.</a></p>')
    assert text == "Source cited in the report. https://example.org/r\n"


def test_link_whose_text_is_its_url_is_written_once():
    text = html_to_text('<p><a href="https://example.org">https://example.org</a></p>')
    assert text.strip() == "https://example.org"


def test_anchor_links_keep_only_their_text():
    assert html_to_text('<a href="#sec-1">Section one</a>').strip() == "Section one"


def test_mailto_links_show_the_address_without_the_scheme():
    html = (
        '<p>Agency &middot; <a href="mailto:news@example.org">news@example.org</a></p>'
        '<p><a href="mailto:help@example.org?subject=Hi">Write to us</a></p>'
    )
    assert html_to_text(html) == "Agency · news@example.org\n\nWrite to us: help@example.org\n"


def test_merge_tags_survive_unbroken_and_url_tags_get_their_own_line():
    long_line = "word " * 60
    link = '<a href="%%unsubscribe_url%%">Unsubscribe</a>'
    html = f"<p>{long_line}Hi %%first_name|dear reader of ours%%, {link}</p>"
    text = html_to_text(html)
    assert "%%first_name|dear reader of ours%%," in text
    assert text.endswith("Unsubscribe:\n%%unsubscribe_url%%\n")
    assert all(len(line) <= WIDTH for line in text.splitlines())


def test_long_paragraphs_wrap_without_breaking_urls():
    url = "https://example.org/" + "long-path/" * 10
    html = f"<p>{'Families thrive with support. ' * 12}Read <a href='{url}'>the study</a> now.</p>"
    lines = html_to_text(html).splitlines()
    assert url in lines
    assert all(len(line) <= WIDTH for line in lines if line != url)
    assert min(len(line) for line in lines[:3]) > WIDTH - 15


def test_hidden_preheader_and_outlook_blocks_are_dropped():
    html = (
        '<div style="display:none;max-height:0">Preview words</div>'
        "<!--[if mso | IE]><table><tr><td>Outlook only</td></tr></table><![endif]-->"
        "<p>Body</p>"
    )
    text = html_to_text(html)
    assert "Preview words" not in text
    assert "Outlook only" not in text
    assert text == "Body\n"


def test_blocks_are_separated_by_one_blank_line_and_lists_stand_apart():
    html = (
        "<div><p>Intro</p><br><br><br><ul><li>One</li><li>Two</li></ul>"
        "<h2>Next</h2><p>After</p><div style='height:24px'>&#8202;</div><p>End</p></div>"
    )
    assert html_to_text(html) == "Intro\n\n- One\n- Two\n\nNext\n----\n\nAfter\n\nEnd\n"


def test_long_list_items_hang_and_stand_apart():
    item = "Kinship care keeps children with people they know and trust. " * 3
    text = html_to_text(f"<ul><li>{item}</li><li>Short</li></ul>")
    first, second = text.strip().split("\n\n")
    assert first.startswith("- Kinship")
    assert all(line.startswith("  ") for line in first.splitlines()[1:])
    assert second == "- Short"


def test_ordered_lists_number_and_endnotes_read_as_bracketed_numbers():
    html = (
        '<ol start="3"><li>Three</li><li>Four</li></ol>'
        '<div role="doc-endnotes"><h2>References</h2><ol>'
        '<li value="1"><a href="https://example.org/r1">Report (2024).</a></li>'
        '<li value="7">Study (2023).</li></ol></div>'
    )
    text = html_to_text(html)
    assert "3. Three\n4. Four" in text
    assert "[1] Report (2024). https://example.org/r1\n[7] Study (2023)." in text


def test_headings_are_underlined_and_quotes_indented():
    html = (
        "<h1>Title</h1><h3>Small</h3>"
        "<blockquote><p>Families are experts.</p><p>&mdash; A parent</p></blockquote>"
    )
    text = html_to_text(html)
    assert text == "Title\n=====\n\nSmall\n\n    Families are experts.\n\n    — A parent\n"


def test_a_row_of_links_gives_each_link_its_own_block():
    html = (
        '<p><a href="%%preferences_url%%">Manage preferences</a> &nbsp;|&nbsp; '
        '<a href="https://example.org/archive">Archive</a></p>'
    )
    text = html_to_text(html)
    assert (
        text == "Manage preferences:\n%%preferences_url%%\n\nArchive: https://example.org/archive\n"
    )


def test_spaces_and_nbsp_collapse_and_block_spans_take_their_own_line():
    html = (
        "<p>March 2026 &nbsp;&middot;&nbsp; Vol. 22</p>"
        '<ul><li><span style="display:block;font-size:11px">Training</span>'
        '<a href="https://example.org/c">Course</a><br><span>Two hours.</span></li></ul>'
    )
    text = html_to_text(html)
    assert text == (
        "March 2026 · Vol. 22\n\n- Training\n  Course: https://example.org/c\n  Two hours.\n"
    )


LONG_URL = "https://example.org/" + "x" * 80


@given(
    st.lists(
        st.sampled_from(["word", "a-much-longer-word", "%%first_name|a b%%", LONG_URL]),
        max_size=80,
    )
)
def test_wrapping_keeps_every_word_and_overflows_only_for_a_long_url(words):
    text = html_to_text(f"<ul><li>{' '.join(words)}</li></ul>")
    assert " ".join(text.split()) == " ".join(["-", *words])
    for line in text.splitlines():
        assert len(line) <= WIDTH or line.strip(" -") == LONG_URL
        assert "%%first_name|a" not in line or "%%first_name|a b%%" in line
