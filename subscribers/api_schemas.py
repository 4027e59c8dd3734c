"""Marshmallow schemas of the subscriber API: topics, subscribers, suppressions and imports."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.api.fields import text_field
from engine.api.schemas import CursorQuerySchema, page_schema
from subscribers.models import (
    Frequency,
    ImportStatus,
    OptIn,
    SubscriberStatus,
    SuppressionReason,
    TopicVisibility,
)
from subscribers.topics import TRANSLATED_LANGUAGES

#: Rows accepted by one bulk upsert; larger lists go through a CSV import.
MAX_BULK_ROWS = 1000
SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Use lower-case letters, digits, -.")
STAFF_REASONS = [SuppressionReason.MANUAL, SuppressionReason.BOUNCE, SuppressionReason.COMPLAINT]


def _choice(enum: type[StrEnum]) -> validate.OneOf:
    return validate.OneOf([str(member) for member in enum])


def _slug_list(**kwargs: Any) -> fields.List:  # marshmallow Field options
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=80)),
        validate=validate.Length(max=50),
        **kwargs,
    )


class TopicTranslationSchema(Schema):
    name = text_field(200)
    description = text_field(2000)
    category = text_field(120, metadata={"description": "The category the topic is listed under."})


def _translations_field() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(TRANSLATED_LANGUAGES)),
        values=fields.Nested(TopicTranslationSchema),
        metadata={
            "description": "The name, description and category in readers' other languages, e.g. "
            '{"es": {"name": "Cuidado de crianza", "description": "…"}}; readers of a '
            "language whose form is empty see the English. On update, only the languages "
            "and fields given change; an empty string clears one."
        },
    )


class TopicSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(required=True, validate=[validate.Length(max=80), SLUG])
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = text_field(120, load_default="")
    description = text_field(2000, load_default="")
    visibility = fields.String(validate=_choice(TopicVisibility), load_default="public")
    opt_in = fields.String(validate=_choice(OptIn), load_default="double")
    translations = _translations_field()
    created_at = fields.DateTime(dump_only=True)


class TopicUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    category = text_field(120)
    description = text_field(2000)
    visibility = fields.String(validate=_choice(TopicVisibility))
    opt_in = fields.String(validate=_choice(OptIn))
    translations = _translations_field()


class TopicListSchema(Schema):
    items = fields.List(fields.Nested(TopicSchema), required=True)


def _frequency_field(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=_choice(Frequency),
        metadata={"description": "immediately (each bulletin), daily or weekly (a digest)."},
        **kwargs,
    )


class SubscriptionSchema(Schema):
    topic = fields.String(attribute="topic.slug", required=True)
    status = fields.String(required=True)
    frequency = _frequency_field(required=True)
    confirmed_at = fields.DateTime(allow_none=True)
    unsubscribed_at = fields.DateTime(allow_none=True)


class ProfileSchema(Schema):
    name = text_field(200)
    language = text_field(16)
    timezone = text_field(64)
    attributes = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.String(validate=validate.Length(max=500)),
        validate=validate.Length(max=100),
    )


class SubscriberCreateSchema(ProfileSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    topics = _slug_list(load_default=list)
    frequency = _frequency_field(load_default="")


class SubscriberSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    language = fields.String(required=True)
    timezone = fields.String(required=True)
    attributes = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    status = fields.String(required=True)
    consent_source = fields.String()
    created_at = fields.DateTime(required=True)
    confirmed_at = fields.DateTime(allow_none=True)
    subscriptions = fields.List(fields.Nested(SubscriptionSchema))


class SubscriberQuerySchema(CursorQuerySchema):
    q = text_field(
        200,
        load_default="",
        metadata={"description": "Address or name prefix, or key=value for an attribute."},
    )
    topic = fields.String(validate=validate.Length(max=80), metadata={"description": "Topic slug"})
    status = fields.String(validate=_choice(SubscriberStatus))


class TopicsBodySchema(Schema):
    topics = _slug_list(required=True)
    frequency = _frequency_field(load_default="immediately")


class FrequencySchema(Schema):
    frequency = _frequency_field(required=True)


class UnsubscribeSchema(Schema):
    topics = _slug_list(load_default=list)
    everywhere = fields.Boolean(
        load_default=False, metadata={"description": "Leave every topic and suppress the address."}
    )

    @validates_schema
    def _one_choice(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("topics")) == bool(data.get("everywhere")):
            raise ValidationError("Give either topics or everywhere=true.", "topics")


class BulkRowSchema(ProfileSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    frequency = _frequency_field()


class BulkSchema(Schema):
    topics = _slug_list(load_default=list)
    subscribers = fields.List(
        fields.Nested(BulkRowSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BULK_ROWS),
    )


class RowErrorSchema(Schema):
    row = fields.Integer(required=True, metadata={"description": "1 is the first subscriber."})
    column = fields.String(required=True)
    reason = fields.String(required=True)


class ImportSummarySchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    errors = fields.Integer(required=True)
    problems = fields.List(fields.Nested(RowErrorSchema), required=True)


class SubscribeResultSchema(Schema):
    subscriber = fields.Nested(SubscriberSchema, allow_none=True)
    started = fields.List(fields.String(), required=True)
    pending = fields.List(fields.String(), required=True)
    confirmation_queued = fields.Boolean(
        required=True,
        metadata={"description": "A confirmation email was queued (at most one a day)."},
    )
    confirmation_sent = fields.Boolean(
        required=True,
        metadata={
            "description": "This request sent it. False with a queued email: the scheduler "
            "sent it first, or it waits for a retry."
        },
    )


class SuppressionSchema(Schema):
    id = fields.Integer(required=True)
    address = fields.String(allow_none=True)
    reason = fields.String(required=True)
    source = fields.String()
    note = fields.String()
    created_at = fields.DateTime()


class SuppressionCreateSchema(Schema):
    address = fields.String(required=True, validate=validate.Length(min=1, max=254))
    reason = fields.String(validate=validate.OneOf(STAFF_REASONS), load_default="manual")
    note = text_field(1000, load_default="")


class SuppressionQuerySchema(CursorQuerySchema):
    q = text_field(254, load_default="", metadata={"description": "Address prefix"})


class ImportFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportFormSchema(Schema):
    topics = fields.String(
        load_default="", validate=validate.Length(max=2000),
        metadata={"description": "Comma-separated topic slugs every row is subscribed to."},
    )  # fmt: skip


class ImportJobSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    status = fields.String(required=True, validate=_choice(ImportStatus))
    percent = fields.Integer(required=True)
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    errors = fields.Integer(required=True)
    message = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


SubscriberPageSchema = page_schema(SubscriberSchema, "SubscriberPage")
SuppressionPageSchema = page_schema(SuppressionSchema, "SuppressionPage")
