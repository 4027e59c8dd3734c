"""Schemas of the report API: a campaign's report and a topic's comparison."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from campaigns.events.comparison import COMPARE_LIMIT, MAX_COMPARE


class CountsSchema(Schema):
    recipients = fields.Integer(required=True)
    accepted = fields.Integer(required=True)
    delivered = fields.Integer(required=True)
    deferred = fields.Integer(required=True)
    bounced = fields.Integer(required=True)
    dropped = fields.Integer(required=True)
    complaints = fields.Integer(required=True)
    unsubscribes = fields.Integer(required=True)
    unique_opens = fields.Integer(required=True)
    machine_opens = fields.Integer(required=True)
    clicks = fields.Integer(required=True)
    unique_clickers = fields.Integer(required=True)


#: ``delivery``, ``bounce``, ``complaint``, ``unsubscribe``, ``open``, ``click``; null when the
#: count it divides by is 0.
_RATES = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), required=True)


class LinkSchema(Schema):
    url = fields.String(required=True)
    link_id = fields.Integer(allow_none=True)
    redirect_clicks = fields.Integer(required=True)
    provider_clicks = fields.Integer(required=True)


class PeriodSchema(Schema):
    """Events from ``start`` (included) to ``end`` (excluded) by series: ``opened``,
    ``clicked``, ``delivered``, ``bounced``, ``dropped``."""

    start = fields.String(required=True, metadata={"format": "date-time"})
    end = fields.String(required=True, metadata={"format": "date-time"})
    values = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class TimelineSchema(Schema):
    """Events per hour for the first two local days of the send, then per local day."""

    zone = fields.String(required=True, metadata={"example": "America/New_York"})
    hours = fields.List(fields.Nested(PeriodSchema), required=True)
    days = fields.List(fields.Nested(PeriodSchema), required=True)
    later = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class DigestReachSchema(Schema):
    """Readers a bulletin reached through the digests of one frequency, apart from ``counts``."""

    frequency = fields.String(required=True, metadata={"example": "daily"})
    runs = fields.Integer(required=True)
    recipients = fields.Integer(required=True)
    accepted = fields.Integer(required=True)


class LanguageSchema(Schema):
    """The readers of one edition of a campaign sent in several languages."""

    language = fields.String(required=True, metadata={"example": "es"})
    recipients = fields.Integer(required=True)
    accepted = fields.Integer(required=True)
    not_sent = fields.Integer(
        required=True,
        metadata={"description": "Permanent failures, suppressions and uncertain outcomes."},
    )


class ReportSchema(Schema):
    campaign_id = fields.Integer(required=True)
    status = fields.String(required=True)
    auto_paused = fields.Boolean(required=True)
    counts = fields.Nested(CountsSchema, required=True)
    rates = _RATES
    links = fields.List(fields.Nested(LinkSchema), required=True)
    timeline = fields.Nested(TimelineSchema, required=True)
    pixel_opens = fields.Integer(allow_none=True)
    digest_reach = fields.List(fields.Nested(DigestReachSchema), required=True)
    languages = fields.List(
        fields.Nested(LanguageSchema),
        required=True,
        metadata={"description": "Per edition language, when the issue has editions."},
    )


class ComparisonQuerySchema(Schema):
    limit = fields.Integer(
        load_default=COMPARE_LIMIT, validate=validate.Range(min=1, max=MAX_COMPARE)
    )


class TopicRefSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class ComparedCampaignSchema(Schema):
    campaign_id = fields.Integer(required=True)
    name = fields.String(required=True)
    started_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    counts = fields.Nested(CountsSchema, required=True)
    rates = _RATES


class TotalSchema(Schema):
    counts = fields.Nested(CountsSchema, required=True)
    rates = _RATES


class ComparisonSchema(Schema):
    """A topic's last sent campaigns, newest first, and all of them added up."""

    topic = fields.Nested(TopicRefSchema, required=True)
    campaigns = fields.List(fields.Nested(ComparedCampaignSchema), required=True)
    total = fields.Nested(TotalSchema, required=True)
