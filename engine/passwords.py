"""The password rules every way of setting a staff password goes through.

A password must be long enough and must not be one an attacker tries first: a common password
(``engine/data/common-passwords.txt``), the account's own address or the product's name with a
few digits or symbols around it, one character repeated, or a run along the keyboard or the
alphabet.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from engine.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 10
#: Rows of a US keyboard and the alphabet: a password that is a stretch of one (either way)
#: is a walk, however long.
_RUNS = (
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/-['=]",
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890123456789",
)
#: Digits and symbols people put around a word to satisfy a rule ("Pinwheel2024!").
_DECORATION = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$")


def check_password(password: str, *, email: str = "") -> None:
    """Refuse ``password`` with ``ValidationFailed`` unless it is long and hard to guess.

    ``email`` is the account's address: its name and domain are not allowed as the password.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    lowered = password.lower()
    core = _DECORATION.match(lowered)
    stem = core.group(1) if core else lowered
    if lowered in common_passwords() or stem in common_passwords():
        raise ValidationFailed(
            "That password is one of the most commonly used ones, which attackers try first. "
            "Choose another, such as a few unrelated words."
        )
    guessable = _guessable_words(email)
    if stem in guessable or _letters(lowered) in guessable:
        raise ValidationFailed(
            "That password is easy to guess: it is your address or the product's name. "
            "Choose another, such as a few unrelated words."
        )
    if len(set(lowered)) <= 2 or _is_walk(lowered):
        raise ValidationFailed(
            "That password is easy to guess: it repeats characters or runs along the keyboard. "
            "Choose another, such as a few unrelated words."
        )


@cache
def common_passwords() -> frozenset[str]:
    """Return the packaged list of common passwords, lower-cased."""
    text = resources.files("engine").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("# ")
    )


def _guessable_words(email: str) -> set[str]:
    local, _, domain = email.lower().partition("@")
    labels = [label for label in domain.split(".")[:-1] if label]
    words = {"pinwheel", "pinwheelnewsletters", "newsletter", "newsletters", *labels}
    words.update(part for part in (local, *re.split(r"[.+_-]", local)) if part)
    # The address itself, however it is punctuated: "jane.doe@agency" as "janedoeagency".
    words.update(_letters(local + "".join(labels[:n])) for n in range(len(labels) + 1))
    words.discard("")
    return words


def _letters(text: str) -> str:
    return re.sub(r"[\W\d_]+", "", text)


def _is_walk(password: str) -> bool:
    return any(password in run or password in run[::-1] for run in _RUNS)
