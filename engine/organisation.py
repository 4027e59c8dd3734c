"""The organisation's settings: which there are, their defaults, their checks, their values.

Pure: the saved values come in as a mapping (``organisation_store``), the defaults from the
environment's `Settings`. A setting left empty takes its default, so the environment variables
keep working until someone saves a value on the settings page (or through the API or CLI).
"""

from __future__ import annotations

import dataclasses
import math
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from enum import StrEnum
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from engine.config import WEEKDAYS, ConfigError, Settings
from engine.errors import ValidationFailed
from engine.render.branding import DEFAULT_FOOTER, Branding, FooterError, Logo, footer_line
from engine.render.colours import MIN_CONTRAST, Palette, contrast_ratio
from engine.text_fields import control_character

_HEX = re.compile(r"#?([0-9a-f]{6}|[0-9a-f]{3})")
#: Emails' page background, the darkest light background text sits on (public pages' are
#: lighter): a colour legible on it is legible on every one, and white text on it too.
_BACKGROUND = Palette().page
FOOTER_PREFIX = "footer."
LOGO_SIZE = "logo_size"


class Kind(StrEnum):
    LINE = "line"
    EMAIL = "email"
    COLOUR = "colour"
    ZONE = "zone"
    WEEKDAY = "weekday"
    FOOTER = "footer"
    LOGO = "logo"


class Section(StrEnum):
    """The settings page's sections, in order."""

    ORGANISATION = "Organisation"
    SENDER = "Sender"
    FOOTERS = "Footer sentence of each publication"
    TIME = "Time"


@dataclass(frozen=True, slots=True)
class SettingField:
    key: str
    label: str
    hint: str
    kind: Kind
    section: Section
    max_length: int = 200
    #: The environment variable that gives the default, if one does.
    env: str = ""
    #: Empty is a value of its own ("none"), not "use the default".
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Publication:
    """A kind of issue (its layout) with a footer sentence of its own."""

    key: str
    label: str


FIELDS: tuple[SettingField, ...] = (
    SettingField(
        "organisation_name", "Organisation name",
        "Shown at the top of public pages and emails, and in page titles.",
        Kind.LINE, Section.ORGANISATION, 120, env="PINWHEEL_SENDER_ADDRESS",
    ),
    SettingField(
        "logo", "Logo",
        "PNG, JPEG, GIF or WebP. Shown instead of the name at the top of emails and public pages.",
        Kind.LOGO, Section.ORGANISATION, 100,
    ),
    SettingField(
        "logo_alt", "Logo alt text",
        "What the logo says, for screen readers and email apps that hide images; usually the "
        "organisation's name.",
        Kind.LINE, Section.ORGANISATION, 150,
    ),
    SettingField(
        "brand_colour", "Brand colour",
        "Bands, buttons and headings, as #rrggbb. It must reach a contrast of 4.5:1 on light "
        "backgrounds (WCAG AA).",
        Kind.COLOUR, Section.ORGANISATION, 7,
    ),
    SettingField(
        "link_colour", "Link colour",
        "Links in emails and on public pages, as #rrggbb, with the same contrast rule.",
        Kind.COLOUR, Section.ORGANISATION, 7,
    ),
    SettingField(
        "sender_name", "Sender name", "The name readers see in their inbox.",
        Kind.LINE, Section.SENDER, 100, env="PINWHEEL_SENDER_ADDRESS",
    ),
    SettingField(
        "sender_address", "Sender address",
        "The From address of every email. It must be on a domain set up for sending (SPF, DKIM).",
        Kind.EMAIL, Section.SENDER, 254, env="PINWHEEL_SENDER_ADDRESS",
    ),
    SettingField(
        "reply_to", "Reply-to address",
        "Where readers' replies go; empty sends them to the sender address.",
        Kind.EMAIL, Section.SENDER, 254, optional=True,
    ),
    SettingField(
        "postal_address", "Postal address",
        "Printed in every email's footer, as the law on commercial email requires.",
        Kind.LINE, Section.SENDER, 300, env="PINWHEEL_POSTAL_ADDRESS",
    ),
    SettingField(
        "timezone", "Default time zone",
        "An IANA name such as America/Chicago: schedules, the calendar and staff pages use it.",
        Kind.ZONE, Section.TIME, 64, env="PINWHEEL_TIMEZONE",
    ),
    SettingField(
        "digest_weekday", "Weekly digest day",
        "The day weekly digests go out, at 08:00 in the default time zone, listing the seven "
        "days before; a weekday in English such as saturday.",
        Kind.WEEKDAY, Section.TIME, 9, env="PINWHEEL_DIGEST_WEEKDAY",
    ),
)  # fmt: skip


def _footer_field(publication: Publication) -> SettingField:
    return SettingField(
        f"{FOOTER_PREFIX}{publication.key}",
        publication.label,
        "The last sentence above the footer links; the words in [square brackets] link to the "
        "subscribe page.",
        Kind.FOOTER,
        Section.FOOTERS,
        300,
    )


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass(frozen=True, slots=True)
class Organisation:
    """Every setting's value in force: the saved one, else its default."""

    values: Mapping[str, str]
    saved: Mapping[str, str]
    defaults: Mapping[str, str]
    fields: tuple[SettingField, ...]
    #: The logo's width and height in pixels, when there is one.
    logo_size: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        return self.values["organisation_name"]

    @property
    def postal_address(self) -> str:
        return self.values["postal_address"]

    @property
    def timezone(self) -> str:
        return self.values["timezone"]

    @property
    def digest_weekday(self) -> str:
        return self.values["digest_weekday"]

    @property
    def reply_to(self) -> str:
        return self.values["reply_to"]

    @property
    def from_address(self) -> str:
        """Return the ``From`` header value: the sender's name and address."""
        name, address = self.values["sender_name"], self.values["sender_address"]
        return str(Address(display_name=name, addr_spec=address)) if name else address

    def logo(self, base_url: str) -> Logo | None:
        """Return the logo served from ``base_url``, or ``None`` without one."""
        if not self.values["logo"] or self.logo_size is None:
            return None
        url = f"{base_url}/media/{self.values['logo']}"
        return Logo(url, self.values["logo_alt"], *self.logo_size)

    def branding(self, base_url: str) -> Branding:
        """Return what emails show of the organisation.

        Only footer sentences saved on the settings page are the organisation's own: a default
        one is Pinwheel's, which an email in another language takes from its catalogue instead.
        """
        footers = tuple(
            (f.key.removeprefix(FOOTER_PREFIX), self.saved[f.key])
            for f in self.fields
            if f.kind == Kind.FOOTER and self.saved.get(f.key)
        )
        return Branding(
            name=self.name,
            logo=self.logo(base_url),
            accent=self.values["brand_colour"],
            link=self.values["link_colour"],
            footers=footers,
        )

    def applied_to(self, base: Settings) -> Settings:
        """Return ``base`` with the sender, postal address, time zone and digest day in force."""
        sender, postal, zone = self.from_address, self.postal_address, self.timezone
        weekday = self.digest_weekday
        if (sender, postal, zone, weekday) == (
            base.SENDER_ADDRESS, base.POSTAL_ADDRESS, base.TIMEZONE, base.DIGEST_WEEKDAY,
        ):  # fmt: skip
            return base
        return dataclasses.replace(
            base, SENDER_ADDRESS=sender, POSTAL_ADDRESS=postal, TIMEZONE=zone,
            DIGEST_WEEKDAY=weekday,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The settings there are for one environment and its publications."""

    base: Settings
    publications: tuple[Publication, ...] = field(default=())

    @property
    def fields(self) -> tuple[SettingField, ...]:
        return FIELDS + tuple(_footer_field(p) for p in self.publications)

    def field(self, key: str) -> SettingField:
        """Return the setting called ``key``, or refuse an unknown name."""
        for candidate in self.fields:
            if candidate.key == key:
                return candidate
        names = ", ".join(f.key for f in self.fields)
        raise ValidationFailed(f"There is no setting called {key!r}; the settings are: {names}.")

    def defaults(self) -> dict[str, str]:
        """Return each setting's value when none is saved: the environment's or Pinwheel's."""
        sender_name, sender_address = parseaddr(self.base.SENDER_ADDRESS)
        palette = Palette()
        values = {
            "organisation_name": sender_name or "Pinwheel",
            "logo": "",
            "logo_alt": "",
            "brand_colour": palette.accent,
            "link_colour": palette.link,
            "sender_name": sender_name,
            "sender_address": sender_address,
            "reply_to": "",
            "postal_address": self.base.POSTAL_ADDRESS,
            "timezone": self.base.TIMEZONE,
            "digest_weekday": self.base.DIGEST_WEEKDAY,
        }
        values.update({f"{FOOTER_PREFIX}{p.key}": DEFAULT_FOOTER for p in self.publications})
        return values

    def resolve(self, saved: Mapping[str, str]) -> Organisation:
        """Return the values in force given the ``saved`` ones."""
        defaults = self.defaults()
        known = {key: value for key, value in saved.items() if key in defaults and value}
        if known.get("sender_name") and "organisation_name" not in known:
            # Until staff name the organisation, it is who the emails come from.
            defaults = {**defaults, "organisation_name": known["sender_name"]}
        return Organisation(
            values={**defaults, **known},
            saved=known,
            defaults=defaults,
            fields=self.fields,
            logo_size=_size(saved.get(LOGO_SIZE, "")) if known.get("logo") else None,
        )

    def check(
        self, changes: Mapping[str, str], saved: Mapping[str, str], *, new_logo: bool = False
    ) -> dict[str, str]:
        """Return ``changes`` cleaned (``""``: back to the default), or refuse them all.

        ``saved`` are the values stored now; ``new_logo`` says a logo comes with the changes.
        The refusal's details map each setting to what is wrong with it.
        """
        errors: dict[str, str] = {}
        cleaned: dict[str, str] = {}
        for key, raw in changes.items():
            setting = self.field(key)
            try:
                cleaned[key] = self._clean(setting, raw)
            except ValueError as error:
                errors[key] = str(error)
        merged = {**saved, **cleaned}
        if (new_logo or merged.get("logo")) and not merged.get("logo_alt"):
            errors.setdefault(
                "logo_alt",
                "Write the logo's alt text, usually the organisation's name: screen readers "
                "and email apps that hide images show it instead of the logo.",
            )
        if not errors:
            errors.update(self._check_sender(cleaned.get("sender_address", "")))
        if not errors:
            errors.update(self._check_settings(merged))
        if errors:
            raise ValidationFailed(" ".join(dict.fromkeys(errors.values())), details=errors)
        return cleaned

    def _clean(self, setting: SettingField, raw: str) -> str:
        value = raw.strip()
        if not value:
            return ""
        if len(value) > setting.max_length:
            raise ValueError(f"{setting.label} may have at most {setting.max_length} characters.")
        if problem := control_character(value):
            raise ValueError(f"{setting.label} contains {problem}; write it on one line.")
        if "%%" in value:
            raise ValueError(
                f"{setting.label} may not contain %%: it marks where each reader's own links go."
            )
        return _CLEANERS[setting.kind](self.base, setting, value)

    def _check_sender(self, address: str) -> dict[str, str]:
        # Pinwheel signs for one domain; without PINWHEEL_DKIM_DOMAIN that is the domain of the
        # environment's sender. An address elsewhere would fail DMARC at every inbox.
        if not address or not self.base.DKIM_SELECTOR:
            return {}
        signing = (self.base.DKIM_DOMAIN or parseaddr(self.base.SENDER_ADDRESS)[1]).lower()
        signing = signing.rpartition("@")[2]
        domain = address.rpartition("@")[2].lower()
        if domain == signing or domain.endswith(f".{signing}"):
            return {}
        return {
            "sender_address": f"Pinwheel signs its emails (DKIM) for {signing}; an address on "
            f"{domain} would fail the inbox's checks. Use an address on {signing}, or set up "
            "DKIM for the other domain first (PINWHEEL_DKIM_DOMAIN)."
        }

    def _check_settings(self, merged: Mapping[str, str]) -> dict[str, str]:
        # The environment's own checks of the sender, postal address and time zone.
        try:
            self.resolve(merged).applied_to(self.base).with_overrides()
        except ConfigError as error:
            return {"sender_address": str(error)}
        return {}


def _size(raw: str) -> tuple[int, int] | None:
    width, _, height = raw.partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) and int(height)):
        return None
    return int(width), int(height)


def _line(_base: Settings, _setting: SettingField, value: str) -> str:
    return value


def _email(base: Settings, setting: SettingField, value: str) -> str:
    if "<" in value or " " in value:
        raise ValueError(
            f"Write only the address in {setting.label} (news@agency.example.org); "
            "the name goes in Sender name."
        )
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=base.SMTPUTF8)
    except EmailNotValidError as error:
        raise ValueError(f"{setting.label}: {error}") from None
    return result.normalized


def _colour(_base: Settings, setting: SettingField, value: str) -> str:
    match = _HEX.fullmatch(value.lower())
    if match is None:
        raise ValueError(f"Write the {setting.label.lower()} as a hex colour such as #0b5a6e.")
    digits = match.group(1)
    colour = "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))
    ratio = contrast_ratio(colour, _BACKGROUND)
    if ratio < MIN_CONTRAST:
        shown = math.floor(ratio * 100) / 100
        raise ValueError(
            f"{setting.label} {colour} has a contrast ratio of {shown:.2f}:1 on the light "
            f"backgrounds of emails and pages; WCAG AA needs at least {MIN_CONTRAST}:1 for "
            "text. Choose a darker colour."
        )
    return colour


def _zone(_base: Settings, setting: SettingField, value: str) -> str:
    if value not in _zones():
        raise ValueError(
            f"{value!r} is not a time zone name; write one such as America/Chicago or "
            "Europe/London."
        )
    return value


def _weekday(_base: Settings, setting: SettingField, value: str) -> str:
    day = value.lower()
    for name in WEEKDAYS:
        if day in (name, name[:3]):
            return name
    raise ValueError(
        f"Write the {setting.label.lower()} as a weekday in English, such as saturday."
    )


def _footer(_base: Settings, _setting: SettingField, value: str) -> str:
    try:
        footer_line(value)
    except FooterError as error:
        raise ValueError(str(error)) from None
    return value


def _logo(_base: Settings, setting: SettingField, value: str) -> str:
    raise ValueError("Upload the logo as an image file; only removing it takes an empty value.")


_CLEANERS = {
    Kind.LINE: _line,
    Kind.EMAIL: _email,
    Kind.COLOUR: _colour,
    Kind.ZONE: _zone,
    Kind.WEEKDAY: _weekday,
    Kind.FOOTER: _footer,
    Kind.LOGO: _logo,
}
