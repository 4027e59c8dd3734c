"""Schemas of the campaign report API."""

from __future__ import annotations

from marshmallow import Schema, fields


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


class LinkSchema(Schema):
    url = fields.String(required=True)
    link_id = fields.Integer(allow_none=True)
    redirect_clicks = fields.Integer(required=True)
    provider_clicks = fields.Integer(required=True)


class BucketSchema(Schema):
    hour = fields.String(required=True)
    values = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ReportSchema(Schema):
    campaign_id = fields.Integer(required=True)
    status = fields.String(required=True)
    auto_paused = fields.Boolean(required=True)
    counts = fields.Nested(CountsSchema, required=True)
    rates = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)
    timeline = fields.List(fields.Nested(BucketSchema), required=True)
    pixel_opens = fields.Integer(allow_none=True)
