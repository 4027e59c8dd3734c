from __future__ import annotations

import pytest

from engine.render.mjml import MjmlCompileError, compile_mjml

BODY = (
    "<mj-body><mj-section><mj-column><mj-text>Hello %%first_name|friend%%</mj-text>"
    "</mj-column></mj-section></mj-body>"
)


def test_compile_returns_html_with_text_and_merge_tags():
    html = compile_mjml(f'<mjml lang="en">{BODY}</mjml>')
    assert html.startswith("<!doctype html>")
    assert "Hello %%first_name|friend%%" in html


def test_lang_of_the_root_is_kept():
    html = compile_mjml(f'<mjml lang="es">{BODY}</mjml>')
    assert '<html lang="es"' in html


def test_missing_lang_never_becomes_und():
    html = compile_mjml(f"<mjml>{BODY}</mjml>", default_lang="fr")
    assert 'lang="und"' not in html
    assert '<html lang="fr"' in html


def test_bad_default_lang_falls_back_to_english():
    html = compile_mjml(f"<mjml>{BODY}</mjml>", default_lang='x" onload="')
    assert '<html lang="en"' in html


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("<mjml><mj-body><mj-frobnicate /></mj-body></mjml>", "mj-frobnicate"),
        ("<mjml><mj-head></mj-head></mjml>", "mj-body"),
        ("this is not mjml", "no <mjml> root"),
    ],
)
def test_compile_errors_carry_the_compiler_message(source, fragment):
    with pytest.raises(MjmlCompileError) as caught:
        compile_mjml(source)
    assert fragment in caught.value.message
    assert fragment in str(caught.value)


def test_indentation_is_collapsed():
    html = compile_mjml(f"<mjml>{BODY}</mjml>")
    assert "\n    " not in html
