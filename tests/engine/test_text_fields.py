"""Single-line text fields: every C0 control and DEL is refused, everything else passes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ValidationFailed
from engine.text_fields import check_line, check_text, control_character

CONTROLS = [chr(code) for code in range(0x20)] + ["\x7f"]


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_every_c0_control_and_del_is_found(char: str) -> None:
    problem = control_character(f"Ann{char}Smith")
    assert problem is not None and f"(U+{ord(char):04X})" in problem


def test_descriptions_name_the_usual_suspects() -> None:
    assert control_character("a\r\nb") == "a carriage return (U+000D)"
    assert control_character("a\nb") == "a line break (U+000A)"
    assert control_character("a\tb") == "a tab (U+0009)"
    assert control_character("a\x00b") == "a null character (U+0000)"
    assert control_character("a\x1bb") == "a control character (U+001B)"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), min_codepoint=0x20)))
def test_text_without_controls_passes_unchanged(text: str) -> None:
    text = text.replace("\x7f", "")
    assert control_character(text) is None
    assert check_line(text, "The name", path="name") == text


def test_check_line_names_the_field_and_the_character() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_line("Weekly\r\nBcc: everyone@example.com", "The subject", path="subject")
    error = caught.value
    assert error.status == 422
    assert error.message.startswith("The subject contains a carriage return (U+000D).")
    assert error.details == [{"path": "subject", "message": error.message}]


def test_several_lines_of_text_keep_line_breaks_and_refuse_other_controls() -> None:
    assert check_text("One\r\nTwo\nThree", "The comment", path="comment") == "One\nTwo\nThree"
    for bad in ("Tab\there", "Lone\rreturn", "Escape\x1b", "Delete\x7f"):
        with pytest.raises(ValidationFailed, match="line breaks are fine"):
            check_text(bad, "The comment", path="comment")
