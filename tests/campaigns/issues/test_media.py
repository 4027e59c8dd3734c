"""Image uploads: only real images, within the size limit, served with the right headers."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.media import MAX_IMAGE_BYTES, sniff_image
from tests.factories import login, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def staff(client: FlaskClient, session: Session, csrf_disabled) -> FlaskClient:
    user = make_user(session, "editor")
    session.commit()
    login(client, user)
    return client


def _upload(client: FlaskClient, data: bytes, name: str = "picture.png") -> object:
    return client.post(
        "/admin/media",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )


@pytest.mark.parametrize(
    ("data", "kind"), [(PNG, "png"), (JPEG, "jpg"), (GIF, "gif"), (WEBP, "webp")]
)
def test_magic_bytes_decide(data: bytes, kind: str) -> None:
    assert sniff_image(data) == kind


@pytest.mark.parametrize("data", [SVG, b"GIF", b"hello.png", b"RIFF\x00\x00\x00\x00WAVE"])
def test_non_images_are_not_images(data: bytes) -> None:
    assert sniff_image(data) is None


def test_upload_stores_under_a_random_name_and_serves_it(staff: FlaskClient, settings) -> None:
    response = _upload(staff, PNG, "../../etc/passwd.png")
    assert response.status_code == 201
    body = response.get_json()
    assert body["url"] == f"{settings.BASE_URL}/media/{body['name']}"
    assert "passwd" not in body["name"] and body["name"].endswith(".png")
    assert (settings.media_path / body["name"]).read_bytes() == PNG
    served = staff.get(f"/media/{body['name']}")
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.data == PNG
    assert "max-age=31536000" in served.headers["Cache-Control"]
    assert "immutable" in served.headers["Cache-Control"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("data", [SVG, b"not an image at all", b""])
def test_svg_and_fakes_are_refused(staff: FlaskClient, data: bytes, settings) -> None:
    response = _upload(staff, data, "logo.png")
    assert response.status_code == 422
    assert not settings.media_path.exists() or not any(settings.media_path.iterdir())


def test_oversize_images_are_refused(staff: FlaskClient) -> None:
    response = _upload(staff, PNG + b"\x00" * MAX_IMAGE_BYTES)
    assert response.status_code == 422
    assert "limit is 5 MB" in response.get_json()["error"]["message"]


def test_upload_needs_an_editor(client: FlaskClient, session: Session, csrf_disabled) -> None:
    assert _upload(client, PNG).status_code in (302, 401)
    approver = make_user(session, "approver")
    session.commit()
    login(client, approver)
    assert _upload(client, PNG).status_code == 403


@pytest.mark.parametrize("name", ["..%2Fsecret_key", "secret_key", "abc.png", "x" * 20 + ".svg"])
def test_only_stored_names_are_served(client: FlaskClient, name: str) -> None:
    assert client.get(f"/media/{name}").status_code == 404
