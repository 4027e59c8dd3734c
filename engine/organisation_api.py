"""The settings API: read the organisation's settings, change them, upload or remove the logo."""

from __future__ import annotations

import base64
from typing import Any

from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.api import register
from engine.api.auth import current_api_user, require_role
from engine.api.fields import text_field
from engine.db import request_session
from engine.errors import ValidationFailed
from engine.media import MAX_IMAGE_BYTES
from engine.organisation import Organisation
from engine.organisation_cache import catalogue, current_organisation
from engine.organisation_settings import LogoUpload, change_settings
from engine.users import Role
from engine.web import get_settings

bp = Blueprint("settings_api", __name__, url_prefix="/api/v1", description="Organisation settings.")


class SettingSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "The value in force."})
    saved = fields.String(
        required=True, allow_none=True, metadata={"description": "null: the default is used."}
    )
    default = fields.String(required=True)
    env = fields.String(
        required=True, metadata={"description": "The environment variable of the default."}
    )


class LogoSchema(Schema):
    url = fields.String(required=True)
    alt = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)


class SettingsSchema(Schema):
    items = fields.List(fields.Nested(SettingSchema), required=True)
    logo = fields.Nested(LogoSchema, required=True, allow_none=True)


class SettingsChangeSchema(Schema):
    """Settings to change by key; an empty string or null goes back to the default."""

    values = fields.Dict(
        keys=text_field(80),
        values=text_field(2000, allow_none=True),
        required=True,
    )


class LogoUploadSchema(Schema):
    """A logo image, base64-encoded: request bodies may not hold the NUL bytes images do."""

    image = fields.String(
        required=True,
        validate=validate.Length(max=MAX_IMAGE_BYTES * 4 // 3 + 4),
        metadata={"description": "A PNG, JPEG, GIF or WebP file, base64-encoded."},
    )
    alt = text_field(2000, load_default="", metadata={"description": "The logo's alt text."})


def _settings_body(organisation: Organisation) -> dict[str, Any]:
    logo = organisation.logo(get_settings().BASE_URL)
    return {
        "items": [
            {
                "key": f.key,
                "label": f.label,
                "value": organisation.values[f.key],
                "saved": organisation.saved.get(f.key),
                "default": organisation.defaults[f.key],
                "env": f.env,
            }
            for f in organisation.fields
        ],
        "logo": None
        if logo is None
        else {"url": logo.url, "alt": logo.alt, "width": logo.width, "height": logo.height},
    }


def _change(changes: dict[str, str], logo: LogoUpload | None = None) -> dict[str, Any]:
    session = request_session()
    change_settings(session, catalogue(), changes, actor=current_api_user(), logo=logo)
    session.commit()
    return _settings_body(current_organisation())


@bp.get("/settings")
@require_role(Role.ADMIN)
@bp.response(200, SettingsSchema)
def settings_show() -> dict[str, Any]:
    """Return every setting: the value in force, the saved one and the default."""
    return _settings_body(current_organisation())


@bp.patch("/settings")
@require_role(Role.ADMIN)
@bp.arguments(SettingsChangeSchema)
@bp.response(200, SettingsSchema)
def settings_change(data: dict[str, Any]) -> dict[str, Any]:
    """Change settings; all are checked first, and none is saved if one is wrong."""
    return _change({key: value or "" for key, value in data["values"].items()})


@bp.put("/settings/logo")
@require_role(Role.ADMIN)
@bp.arguments(LogoUploadSchema)
@bp.response(200, SettingsSchema)
def logo_upload(data: dict[str, Any]) -> dict[str, Any]:
    """Upload the logo (PNG, JPEG, GIF or WebP, base64-encoded) with its ``alt`` text."""
    try:
        image = base64.b64decode(data["image"], validate=True)
    except ValueError:  # not base64 (binascii.Error), or not ASCII
        message = "Send the image base64-encoded, as `base64 logo.png` prints it."
        raise ValidationFailed(message, details={"logo": message}) from None
    changes = {"logo_alt": data["alt"]} if data["alt"] else {}
    return _change(changes, LogoUpload(image, get_settings().media_path))


@bp.delete("/settings/logo")
@require_role(Role.ADMIN)
@bp.response(200, SettingsSchema)
def logo_remove() -> dict[str, Any]:
    """Remove the logo: emails and pages show the organisation's name instead."""
    return _change({"logo": ""})


def init_app(app: Flask) -> None:
    """Register the settings API."""
    register(app, bp)
