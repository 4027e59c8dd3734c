"""Addresses: the stored form, and characters outside ASCII before the @."""

from __future__ import annotations

import pytest

from subscribers.addresses import InvalidAddress, UnsupportedAddress, normalise_address


def test_plain_address_is_lower_cased() -> None:
    assert normalise_address(" Reader@Example.ORG ") == "reader@example.org"


def test_non_ascii_before_the_at_is_refused_naming_the_character() -> None:
    with pytest.raises(UnsupportedAddress) as caught:
        normalise_address("local-with-\u2019-apostrophe@domain.com")
    message = caught.value.message
    assert "\u2019 (U+2019 RIGHT SINGLE QUOTATION MARK) before the @" in message
    assert "retype it" in message
    assert caught.value.status == 422
    assert caught.value.details == [{"path": "email", "message": message}]


def test_the_first_foreign_character_is_named() -> None:
    with pytest.raises(UnsupportedAddress, match=r"é \(U\+00E9 LATIN SMALL LETTER E WITH ACUTE\)"):
        normalise_address("josé.ñu@example.com")


def test_an_unsupported_address_is_an_invalid_address() -> None:
    # Callers that catch InvalidAddress (import rows, staff forms) refuse it too.
    with pytest.raises(InvalidAddress):
        normalise_address("zoë@example.com")


def test_smtputf8_accepts_internationalised_local_parts() -> None:
    assert normalise_address("Zoë@Example.com", smtputf8=True) == "zoë@example.com"


@pytest.mark.parametrize("smtputf8", [False, True])
def test_internationalised_domains_stay_accepted(smtputf8: bool) -> None:
    # Stored with the ASCII (IDNA) form of the domain, which every mail server accepts.
    stored = normalise_address("user@bücher.example", smtputf8=smtputf8)
    assert stored == "user@xn--bcher-kva.example"


def test_other_problems_keep_their_message() -> None:
    with pytest.raises(InvalidAddress, match="not a valid email address") as caught:
        normalise_address("two words@example.com")
    assert not isinstance(caught.value, UnsupportedAddress)
