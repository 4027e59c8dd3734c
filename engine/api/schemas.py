"""Schemas shared by every API resource: errors and cursor pages."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True)


class ErrorSchema(Schema):
    """Every error: ``{"error": {"code", "message", "details"}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


class CursorQuerySchema(Schema):
    """``?limit=&cursor=``: keyset pagination that stays fast on large tables."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """Return a schema for one page of ``item``: ``{"items": [...], "next_cursor": str|null}``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
        },
        name=name,
    )
