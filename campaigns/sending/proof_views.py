"""Staff test sends: a ``[Test]`` copy of a campaign, or of an issue before it has one.

The editor's test send is served here because issues may not import the send pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from campaigns.issues.models import Issue
from campaigns.issues.service import get_issue
from campaigns.sending.models import Campaign
from campaigns.sending.proofs import (
    MAX_TEST_ADDRESSES,
    allowed_test_addresses,
    test_send,
    test_send_issue,
)
from campaigns.sending.service import campaign_issue, get_campaign
from engine import audit
from engine.auth import roles_required
from engine.db import request_session
from engine.delivery.base import ResultStatus, SendResult
from engine.errors import PinwheelError, ValidationFailed
from engine.users import Role
from engine.web import get_settings

bp = Blueprint("test_sends", __name__, url_prefix="/admin")


@bp.get("/issues/<int:issue_id>/test-send")
@roles_required(Role.EDITOR)
def issue_form(issue_id: int) -> str:
    return _page(get_issue(request_session(), issue_id))


@bp.post("/issues/<int:issue_id>/test-send")
@roles_required(Role.EDITOR)
def issue_send(issue_id: int) -> WerkzeugResponse | tuple[str, int]:
    session = request_session()
    issue = get_issue(session, issue_id)
    return _send(
        lambda addresses: test_send_issue(session, issue, addresses, settings=get_settings()),
        audit_as=("issue.test_send", issue),
        label=f"Test send of revision {issue.revision}, the last saved,",
        back=url_for("editor.edit", issue_id=issue_id),
        page=lambda error: _page(issue, error=error),
    )


@bp.get("/campaigns/<int:campaign_id>/test-send")
@roles_required(Role.EDITOR)
def campaign_form(campaign_id: int) -> str:
    campaign = get_campaign(request_session(), campaign_id)
    return _page(campaign_issue(campaign), campaign)


@bp.post("/campaigns/<int:campaign_id>/test-send")
@roles_required(Role.EDITOR)
def campaign_send(campaign_id: int) -> WerkzeugResponse | tuple[str, int]:
    session = request_session()
    campaign = get_campaign(session, campaign_id)
    return _send(
        lambda addresses: test_send(session, campaign, addresses, settings=get_settings()),
        audit_as=("campaign.test_send", campaign),
        label="Test send",
        back=url_for("campaigns.show", campaign_id=campaign_id),
        page=lambda error: _page(campaign_issue(campaign), campaign, error=error),
    )


def _send(
    send: Callable[[list[str]], list[SendResult]],
    *,
    audit_as: tuple[str, Issue | Campaign],
    label: str,
    back: str,
    page: Callable[[str], str],
) -> WerkzeugResponse | tuple[str, int]:
    addresses = [address for address in request.form.getlist("addresses") if address.strip()]
    try:
        if not addresses:
            raise ValidationFailed("Choose at least one address to send the test to.")
        results = send(addresses)
    except PinwheelError as error:
        return page(error.message), error.status
    session = request_session()
    accepted = sum(1 for result in results if result.status == ResultStatus.ACCEPTED)
    action, target = audit_as
    audit.record(session, current_user, action, target, addresses=addresses, accepted=accepted)
    session.commit()
    tone = "success" if accepted == len(results) else "error"
    flash(outcome_message(label, addresses, results), tone)
    return redirect(back)


def outcome_message(label: str, addresses: Sequence[str], results: Sequence[SendResult]) -> str:
    """Say, address by address, what became of a test send."""
    outcomes = [
        f"{address}: sent"
        if result.status == ResultStatus.ACCEPTED
        else f"{address}: not sent ({result.error or result.status})"
        for address, result in zip(addresses, results, strict=False)
    ]
    return f"{label} with [Test] before the subject: " + "; ".join(outcomes) + "."


def _page(issue: Issue, campaign: Campaign | None = None, *, error: str = "") -> str:
    chosen = request.form.getlist("addresses") if request.method == "POST" else []
    return render_template(
        "campaigns/test_send.html",
        issue=issue,
        campaign=campaign,
        test_addresses=allowed_test_addresses(request_session(), get_settings()),
        chosen=chosen if error else [current_user.email],
        limit=MAX_TEST_ADDRESSES,
        error=error,
    )


def init_app(app: Flask) -> None:
    """Register the test-send pages."""
    app.register_blueprint(bp)
