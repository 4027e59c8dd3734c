"""Email addresses: validation, the normalised form stored everywhere, and its hash."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import unicodedata

import idna
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext

from engine.errors import ValidationFailed

MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_LENGTH = 64
#: An ASCII dot-atom local part: always valid, so only its domain needs the full check.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class InvalidAddress(ValidationFailed):
    """The text is not a usable email address; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, details=[{"path": "email", "message": message}])


class UnsupportedAddress(InvalidAddress):
    """A valid address the configured mail service cannot deliver to; the message says why."""


def normalise_address(raw: str, *, smtputf8: bool = False) -> str:
    """Return the stored form of ``raw`` (lower-cased, IDNA domain) or raise ``InvalidAddress``.

    Without ``smtputf8`` (``Settings.SMTPUTF8``: the mail service takes internationalised
    addresses) a character outside ASCII before the @ raises ``UnsupportedAddress``; an
    internationalised domain is accepted either way. No DNS lookups: deliverability is learnt
    from bounces, not guessed at sign-up.
    """
    text = raw.strip()
    if not text:
        raise InvalidAddress(gettext("Enter an email address."))
    local, at, domain = text.rpartition("@")
    if at and len(local) <= MAX_LOCAL_LENGTH and _PLAIN_LOCAL.fullmatch(local):
        # Domains repeat (a few mail providers cover most readers): validating each once keeps
        # a 100,000-row import from spending most of its time in the validator.
        address = f"{local.lower()}@{_normalise_domain(domain)}"
    else:
        if at and not smtputf8 and not local.isascii():
            raise UnsupportedAddress(_foreign_local_part(local))
        address = _validate(text)
    if len(address) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(gettext("This email address is too long."))
    return address


@functools.lru_cache(maxsize=4096)
def _normalise_domain(domain: str) -> str:
    # Stored in its ASCII (IDNA) form: every mail server takes it, SMTPUTF8 or not.
    return _validate(f"a@{domain}").rpartition("@")[2]


def _validate(text: str) -> str:
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidAddress(f"This is not a valid email address: {error}") from None
    return f"{valid.local_part}@{valid.ascii_domain}".lower()


def _foreign_local_part(local: str) -> str:
    char = next(char for char in local if not char.isascii())
    name = unicodedata.name(char, "")
    described = f"U+{ord(char):04X} {name}".rstrip()
    return gettext(
        "The address contains %(char)s (%(described)s) before the @. Our mail service can only "
        "deliver to addresses written there with plain letters (a to z), digits and ASCII "
        "punctuation such as . _ - + ': retype it, or use another address.",
        char=char,
        described=described,
    )


def address_hash(address: str) -> str:
    """Return the SHA-256 hex digest of an address (the only trace erasure keeps).

    The digest is taken over the domain's Unicode form, as addresses were stored before domains
    were kept in their ASCII (IDNA) form, so digests kept from then still match.
    """
    local, at, domain = address.strip().lower().rpartition("@")
    if at and "xn--" in domain:
        with contextlib.suppress(idna.IDNAError):
            domain = idna.decode(domain)
    return hashlib.sha256(f"{local}{at}{domain}".encode()).hexdigest()
