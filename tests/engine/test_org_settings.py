"""The organisation's settings: their defaults, their checks, their cache and the audit."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from engine import organisation_cache
from engine.app import create_app
from engine.audit import AuditEntry
from engine.config import Settings, load_settings
from engine.db import get_database
from engine.errors import ValidationFailed
from engine.media import image_size
from engine.organisation import Catalogue, Publication
from engine.organisation_cache import catalogue, current_organisation
from engine.organisation_settings import LogoUpload, change_settings
from engine.organisation_store import OrganisationSetting, saved_values
from engine.render.branding import DEFAULT_FOOTER, Branding, footer_line
from engine.web import get_settings

ENV = load_settings(
    environ={},
    ENV="testing",
    SECRET_KEY="test-secret-key-not-for-production",
    SENDER_ADDRESS="Agency News <news@agency.example.org>",
    POSTAL_ADDRESS="1 Agency Plaza, Columbus, OH 43215",
    TIMEZONE="America/Chicago",
)
PUBLICATIONS = (Publication("spotlight", "Spotlight"), Publication("digest", "Digest"))


def png(width: int, height: int) -> bytes:
    """Return a real PNG of ``width`` by ``height`` grey pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _catalogue() -> Catalogue:
    return Catalogue(ENV, PUBLICATIONS)


def _refusal(changes: dict[str, str], **options: bool) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        _catalogue().check(changes, {}, **options)
    return refused.value


# --- defaults and checks, without a database -------------------------------------------------


def test_unset_settings_take_the_environment_values() -> None:
    organisation = _catalogue().resolve({})
    assert organisation.name == "Agency News"
    assert organisation.from_address == "Agency News <news@agency.example.org>"
    assert organisation.postal_address == "1 Agency Plaza, Columbus, OH 43215"
    assert organisation.timezone == "America/Chicago"
    assert organisation.values["footer.spotlight"] == DEFAULT_FOOTER
    # Nothing saved: the environment's settings object itself, untouched.
    assert organisation.applied_to(ENV) is ENV


def test_saved_values_replace_the_sender_postal_address_and_zone() -> None:
    saved = {
        "sender_name": "Gateway, Children's Bureau",
        "sender_address": "digest@agency.example.org",
        "postal_address": "330 C Street SW, Washington, DC 20201",
        "timezone": "America/Denver",
    }
    settings = _catalogue().resolve(saved).applied_to(ENV)
    assert settings.SENDER_ADDRESS == '"Gateway, Children\'s Bureau" <digest@agency.example.org>'
    assert (saved["postal_address"], "America/Denver") == (
        settings.POSTAL_ADDRESS,
        settings.TIMEZONE,
    )
    assert settings.BASE_URL == ENV.BASE_URL


def test_a_low_contrast_colour_is_refused_with_its_ratio() -> None:
    refused = _refusal({"brand_colour": "#88CCEE"})
    assert refused.status == 422
    message = refused.details["brand_colour"]
    assert "#88ccee" in message and "4.5:1" in message and "darker" in message
    assert "1.55:1" in message  # on the emails' page background, rounded down
    cleaned = _catalogue().check({"brand_colour": "1F4E8C", "link_colour": "#036"}, {})
    assert cleaned == {"brand_colour": "#1f4e8c", "link_colour": "#003366"}
    assert "hex colour" in _refusal({"link_colour": "navy"}).details["link_colour"]


def test_a_logo_needs_alt_text() -> None:
    refused = _refusal({}, new_logo=True)
    assert set(refused.details) == {"logo_alt"} and "alt text" in refused.message
    with pytest.raises(ValidationFailed):
        _catalogue().check({"logo_alt": ""}, {"logo": "a.png", "logo_alt": "Agency"})
    assert _catalogue().check({"logo_alt": "Agency"}, {}, new_logo=True) == {"logo_alt": "Agency"}


def test_a_footer_sentence_links_one_part_in_brackets() -> None:
    assert "square brackets" in _refusal({"footer.digest": "Subscribe today."}).message
    assert _refusal({"footer.digest": "[Get] it [now]"}).details
    sentence = "Received this message from a colleague? [Get News From CB] sent to your inbox."
    assert _catalogue().check({"footer.digest": sentence}, {}) == {"footer.digest": sentence}
    line = footer_line(sentence)
    assert (line.before, line.link, line.after) == (
        "Received this message from a colleague? ",
        "Get News From CB",
        " sent to your inbox.",
    )


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("timezone", "Mars/Olympus", "not a time zone"),
        ("sender_address", "Agency <news@agency.example.org>", "only the address"),
        ("sender_address", "news@", "Sender address"),
        ("reply_to", "not an address", "only the address"),
        ("organisation_name", "Agency\nNews", "a line break"),
        ("organisation_name", "x" * 121, "at most 120"),
        ("footer.spotlight", "Hi %%unsubscribe_url%% [there]", "%%"),
        ("logo", "picture.png", "Upload the logo"),
        ("colour", "#000000", "no setting called 'colour'"),
    ],
)
def test_bad_values_are_refused_in_plain_words(key: str, value: str, says: str) -> None:
    assert says in _refusal({key: value}).message


def test_one_wrong_value_refuses_the_whole_change() -> None:
    refused = _refusal({"organisation_name": "Agency", "brand_colour": "#ffff00"})
    assert set(refused.details) == {"brand_colour"}


def test_the_sender_stays_on_the_domain_dkim_signs_for() -> None:
    signing = Catalogue(Settings(**{**_fields(ENV), "DKIM_SELECTOR": "s1"}), PUBLICATIONS)
    with pytest.raises(ValidationFailed) as refused:
        signing.check({"sender_address": "news@elsewhere.example.com"}, {})
    assert "agency.example.org" in refused.value.message and "DKIM" in refused.value.message


def _fields(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


def test_branding_carries_colours_and_footers() -> None:
    saved = {"brand_colour": "#1f4e8c", "footer.digest": "New here? [Join] us."}
    branding = _catalogue().resolve(saved).branding("https://news.example.org")
    assert branding.palette().accent == "#1f4e8c" and branding.palette().link == "#1a5796"
    assert branding.footer("digest").link == "Join"
    assert branding.footer("spotlight") == footer_line(DEFAULT_FOOTER)
    assert Branding().footer("anything") == footer_line(DEFAULT_FOOTER)


def test_image_sizes_are_read_from_the_file() -> None:
    assert image_size(png(300, 80)) == (300, 80)
    assert image_size(b"GIF89a" + struct.pack("<HH", 64, 32) + b"\x00" * 8) == (64, 32)
    jpeg = b"\xff\xd8\xff\xe0\x00\x04\x00\x00\xff\xc0\x00\x11\x08" + struct.pack(">HH", 90, 120)
    assert image_size(jpeg + b"\x00" * 8) == (120, 90)
    assert image_size(b"not an image") is None


# --- stored, cached and audited ----------------------------------------------------------------


def test_a_change_is_stored_audited_and_seen_at_once(app: Flask, session: Session) -> None:
    before = get_settings()
    assert current_organisation().name == "Pinwheel Newsletters"
    name = "Child Welfare Information Gateway"
    changed = change_settings(session, catalogue(), {"organisation_name": name}, actor="cli")
    session.commit()
    assert changed == {"organisation_name": {"before": "", "after": name}}
    assert current_organisation().name == name
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert (entry.actor, entry.action) == ("cli", "settings.change")
    assert entry.details["changes"] == changed
    # The sender was not changed: the same settings object as before.
    assert get_settings() is before


def test_a_refused_change_keeps_what_was_stored(app: Flask, session: Session) -> None:
    change_settings(session, catalogue(), {"brand_colour": "#1f4e8c"}, actor="cli")
    session.commit()
    with pytest.raises(ValidationFailed):
        change_settings(
            session,
            catalogue(),
            {"brand_colour": "#eeeeee", "organisation_name": "Half saved?"},
            actor="cli",
        )
    session.rollback()
    assert saved_values(session) == {"brand_colour": "#1f4e8c"}
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 1


def test_an_empty_value_goes_back_to_the_default(app: Flask, session: Session) -> None:
    change_settings(session, catalogue(), {"timezone": "Europe/London"}, actor="cli")
    session.commit()
    assert get_settings().TIMEZONE == "Europe/London"
    change_settings(session, catalogue(), {"timezone": " "}, actor="cli")
    session.commit()
    assert get_settings().TIMEZONE == app.extensions["pinwheel.settings"].TIMEZONE
    assert saved_values(session) == {}
    assert change_settings(session, catalogue(), {"timezone": ""}, actor="cli") == {}


def test_a_logo_is_stored_with_its_size(app: Flask, session: Session) -> None:
    media = get_settings().media_path
    upload = LogoUpload(png(600, 160), media)
    change_settings(session, catalogue(), {"logo_alt": "Agency"}, actor="cli", logo=upload)
    session.commit()
    logo = current_organisation().logo("https://news.example.org")
    assert logo is not None and (logo.alt, logo.width, logo.height) == ("Agency", 600, 160)
    assert logo.email_size == (240, 64)
    assert (media / logo.url.rpartition("/")[2]).read_bytes() == upload.data
    with pytest.raises(ValidationFailed) as refused:
        change_settings(session, catalogue(), {}, actor="cli", logo=LogoUpload(b"GIF8", media))
    assert refused.value.details == {"logo": refused.value.message}
    session.rollback()
    change_settings(session, catalogue(), {"logo": ""}, actor="cli")
    session.commit()
    assert current_organisation().logo("") is None and "logo_size" not in saved_values(session)
    # The file stays: emails already sent still show it.
    assert (media / logo.url.rpartition("/")[2]).exists()


def test_reading_settings_costs_no_query_until_they_may_have_changed(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    get_settings()
    statements: list[str] = []
    engine = get_database().engine
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for _ in range(1000):
        get_settings()
    assert statements == []
    # Another process saves a value: seen here once the snapshot is old enough.
    with engine.begin() as connection:
        connection.execute(
            sa.insert(OrganisationSetting).values(
                key="postal_address", value="2 Elm St", updated_at=sa.func.now(), updated_by="x"
            )
        )
    assert get_settings().POSTAL_ADDRESS != "2 Elm St"
    later = time.monotonic() + organisation_cache.REFRESH_SECONDS
    monkeypatch.setattr(organisation_cache.time, "monotonic", lambda: later)
    assert get_settings().POSTAL_ADDRESS == "2 Elm St"


def test_a_database_without_the_table_gives_the_environment_values(
    settings: Settings, tmp_path: Path
) -> None:
    empty = settings.with_overrides(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(empty)
    with app.app_context():
        assert get_settings().SENDER_ADDRESS == empty.SENDER_ADDRESS
        assert current_organisation().name == "Pinwheel Newsletters"
    get_database(app).dispose()
