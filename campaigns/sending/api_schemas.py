"""Marshmallow schemas of the campaign API."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from campaigns.sending.languages import edition_notices
from campaigns.sending.models import CampaignStatus, DeliveryStatus
from engine.api.fields import id_field, text_field
from engine.api.schemas import CursorQuerySchema, page_schema
from engine.db import request_session


def _choice(enum: type[StrEnum]) -> validate.OneOf:
    return validate.OneOf([str(member) for member in enum])


class CampaignSchema(Schema):
    id = fields.Integer(required=True)
    issue_id = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "null for a digest run: it lists bulletins, it sends no issue."},
    )
    issue_revision = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    subject = fields.String(required=True)
    topic_ids = fields.Method("_topic_ids", required=True)
    segment = fields.Dict(required=True)
    send_at = fields.DateTime(allow_none=True)
    timezone = fields.String()
    schedule = fields.Dict()
    recipients = fields.Integer(required=True)
    tracking = fields.Boolean()
    corrects_issue_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "A correction's original: its accepted recipients are the audience."
        },
    )
    include_uncertain = fields.Boolean()
    paused_reason = fields.String()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)

    def _topic_ids(self, campaign: Any) -> list[int]:
        return [topic.id for topic in campaign.topics]


class CampaignShowSchema(CampaignSchema):
    # Read in the request's session: only a campaign's own page carries it, never a list.
    edition_warnings = fields.Function(
        lambda campaign: edition_notices(request_session(), campaign),
        metadata={
            "description": "Editions whose readers get the original instead, and why: those the "
            "start would leave out now (changed, unapproved or out of date since the campaign "
            "was created), or, once started, those it left out."
        },
    )


class CampaignQuerySchema(CursorQuerySchema):
    status = fields.String(validate=_choice(CampaignStatus))


class CampaignCreateSchema(Schema):
    issue_id = id_field(required=True)
    topic_ids = fields.List(
        id_field(),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "Required, except for a correction (its own topics)."},
    )
    segment = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.String(validate=validate.Length(max=500)),
        load_default=dict,
        validate=validate.Length(max=1),
        metadata={"description": 'Optional attribute filter, e.g. {"state": "OH"}.'},
    )
    name = text_field(300, load_default=None, allow_none=True)
    tracking = fields.Boolean(
        load_default=False,
        metadata={"description": "Count clicks per link and pixel loads, for nobody in person."},
    )
    include_uncertain = fields.Boolean(
        load_default=False,
        metadata={"description": "A correction: also the original's uncertain recipients."},
    )


class ScheduleSchema(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(["absolute", "observance"]))
    tz = text_field(64, load_default="", metadata={"description": "IANA zone; default: service's"})
    local = fields.NaiveDateTime(metadata={"description": "absolute: wall-clock time in tz"})
    observance = text_field(80, metadata={"description": "observance: its slug"})
    rule = text_field(80, metadata={"description": "observance: e.g. 'first-business-day 10:00'"})
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    skip_weekends = fields.Boolean(load_default=False)
    skip_holidays = fields.Boolean(load_default=False)
    local_time_zones = fields.Boolean(
        load_default=False, metadata={"description": "Send at that time in each reader's zone."}
    )

    @validates_schema
    def _mode_fields(self, data: dict[str, Any], **_: Any) -> None:
        needed = ["local"] if data.get("mode") == "absolute" else ["observance", "rule"]
        missing = [name for name in needed if not data.get(name)]
        if missing:
            raise ValidationError(f"Required for mode {data.get('mode')}.", missing[0])


class TestSendSchema(Schema):
    addresses = fields.List(
        fields.String(validate=validate.Length(min=1, max=254)),
        required=True,
        validate=validate.Length(min=1, max=10),
    )


class SendResultSchema(Schema):
    status = fields.String(required=True)
    error = fields.String(allow_none=True)


class TestSendResultSchema(Schema):
    accepted = fields.Integer(required=True)
    results = fields.List(fields.Nested(SendResultSchema), required=True)


class ResendSchema(Schema):
    queued = fields.Integer(required=True)
    campaign = fields.Nested(CampaignSchema, required=True)


class ProgressSchema(Schema):
    campaign_id = fields.Integer(required=True)
    status = fields.String(required=True)
    paused_reason = fields.String(required=True)
    recipients = fields.Integer(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    sent = fields.Integer(required=True)
    done = fields.Integer(required=True)
    percent = fields.Float(required=True)
    failures = fields.Integer(required=True)
    rate = fields.Float(required=True, metadata={"description": "Messages per second."})
    eta_seconds = fields.Integer(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    subscriber_id = fields.Integer(allow_none=True)
    address = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    provider_message_id = fields.String(allow_none=True)
    last_error = fields.String()
    event_state = fields.String(allow_none=True)
    updated_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)


class DeliveryQuerySchema(CursorQuerySchema):
    status = fields.String(validate=_choice(DeliveryStatus))


CampaignPageSchema = page_schema(CampaignSchema, "CampaignPage")
DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPage")
