"""Images staff upload for image blocks: sniffed by content, stored under a random name, served."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, jsonify, request, send_from_directory

from engine.auth import roles_required
from engine.errors import ValidationFailed
from engine.users import Role
from engine.web import get_settings

bp = Blueprint("media", __name__)
MAX_IMAGE_BYTES = 5 * 1024 * 1024
#: Stored names are ours alone, so a strict pattern is also the path-traversal guard.
_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}\.(png|jpg|gif|webp)")
_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def sniff_image(data: bytes) -> str | None:
    """Return the extension of a PNG, JPEG, GIF or WebP from its magic bytes, else ``None``.

    The file name and the declared content type are ignored: only the bytes decide, and SVG
    (which can carry script) is never an image here.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Return the width and height in pixels that a PNG, JPEG, GIF or WebP declares."""
    kind = sniff_image(data)
    if kind == "png" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if kind == "gif" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if kind == "jpg":
        return _jpeg_size(data)
    if kind == "webp":
        return _webp_size(data)
    return None


#: JPEG start-of-frame markers (every coding but the DHT, JPG and DAC markers in that range).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _JPEG_FRAMES:
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return width, height
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        return width, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        return width, int.from_bytes(data[27:30], "little") + 1
    return None


def check_image(data: bytes) -> str:
    """Return the extension of ``data`` if it is an image within the size limit, else refuse it."""
    if not data:
        raise ValidationFailed("Choose an image file to upload.")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationFailed(
            f"The image is {len(data) / 1_048_576:.1f} MB; the limit is "
            f"{MAX_IMAGE_BYTES // 1_048_576} MB."
        )
    extension = sniff_image(data)
    if extension is None:
        raise ValidationFailed("Only PNG, JPEG, GIF and WebP images can be uploaded.")
    return extension


def store_image(media_path: Path, data: bytes) -> str:
    """Check ``data`` is an image within the size limit, store it and return its new name."""
    extension = check_image(data)
    media_path.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(18)}.{extension}"
    (media_path / name).write_bytes(data)
    return name


def media_url(base_url: str, name: str) -> str:
    """Return the absolute URL emails use for a stored image."""
    return f"{base_url}/media/{name}"


@bp.post("/admin/media")
@roles_required(Role.EDITOR)
def upload() -> tuple[Response, int]:
    upload_file = request.files.get("file")
    # Read one byte past the limit so oversize files are refused without reading them whole.
    data = upload_file.stream.read(MAX_IMAGE_BYTES + 1) if upload_file else b""
    settings = get_settings()
    name = store_image(settings.media_path, data)
    return jsonify(name=name, url=media_url(settings.BASE_URL, name)), 201


@bp.get("/media/<name>")
def serve(name: str) -> Response:
    match = _NAME.fullmatch(name)
    if match is None:
        abort(404)
    response = send_from_directory(
        get_settings().media_path, name, mimetype=_TYPES[match.group(1)], max_age=31_536_000
    )
    # Names are random and never reused, so the content behind a URL never changes.
    response.cache_control.immutable = True
    response.cache_control.public = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


def init_app(app: Flask) -> None:
    """Register the upload endpoint and the public media route."""
    app.register_blueprint(bp)
