"""Provider webhooks: SendGrid's signed Event Webhook and SMTP bounces (DSNs)."""

from __future__ import annotations

import hmac
from functools import cache, partial

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from campaigns.events.dsn import MAX_DSN_BYTES, ingest_dsn
from campaigns.events.guard import alert_staff
from campaigns.events.webhook_batches import SENDGRID, run_batch, store_batch
from engine.clock import now
from engine.db import get_database, request_session
from engine.delivery.sendgrid_webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    WebhookConfigError,
    load_public_key,
    verify_signature,
)
from engine.web import csrf, error_response, get_settings

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)


@cache
def _public_key(b64_der: str) -> ec.EllipticCurvePublicKey:
    return load_public_key(b64_der)


@bp.post("/sendgrid")
def sendgrid() -> Response:
    """Verify the signature over the raw body, keep the batch, answer, then process it."""
    key = _configured_key()
    if isinstance(key, Response):
        return key
    body = request.get_data(cache=False)
    signature, timestamp = (
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(TIMESTAMP_HEADER),
    )
    try:
        verify_signature(key, body, signature, timestamp, now=now())
    except SignatureError as error:
        return error_response(error.status, "bad_signature", error.reason)
    if not body.lstrip().startswith(b"["):
        return error_response(400, "bad_payload", "The body must be a JSON array of events.")
    session = request_session()
    batch_id = store_batch(session, SENDGRID, body)
    session.commit()
    response = jsonify(status="accepted", batch=batch_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response.call_on_close(partial(_process_after_response, app, batch_id))
    return response


def _configured_key() -> ec.EllipticCurvePublicKey | Response:
    configured = get_settings().SENDGRID_WEBHOOK_PUBLIC_KEY
    if not configured:
        return error_response(
            503, "not_configured", "Set PINWHEEL_SENDGRID_WEBHOOK_PUBLIC_KEY to accept events."
        )
    try:
        return _public_key(configured)
    except WebhookConfigError as error:
        message = f"PINWHEEL_SENDGRID_WEBHOOK_PUBLIC_KEY is unusable: {error}."
        return error_response(503, "not_configured", message)


def _process_after_response(app: Flask, batch_id: int) -> None:
    with app.app_context():
        run_batch(get_database(app), get_settings(app), batch_id)


@bp.post("/dsn")
def dsn() -> Response | tuple[Response, int]:
    """Ingest one bounce message posted raw by the mail server, with the shared token."""
    token = get_settings().DSN_WEBHOOK_TOKEN
    if not token:
        return error_response(
            503, "not_configured", "Set PINWHEEL_DSN_WEBHOOK_TOKEN to accept bounces here."
        )
    if not hmac.compare_digest(_presented_token().encode(), token.encode()):
        return error_response(401, "unauthorized", "A valid bearer token is required.")
    if (request.content_length or 0) > MAX_DSN_BYTES:
        return error_response(413, "too_large", "A bounce message is never this large.")
    session = request_session()
    outcome = ingest_dsn(session, get_settings(), request.get_data(cache=False))
    session.commit()
    if outcome.trips:
        alert_staff(session, get_settings(), outcome.trips)
    return jsonify(status="ok", **outcome.result.as_json())


def _presented_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def init_app(app: Flask) -> None:
    """Register the webhook endpoints (CSRF-exempt: they authenticate by signature or token)."""
    app.register_blueprint(bp)
