"""Ids and text the API accepts: bounded so no value can overflow a database column."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter

#: Largest id any table hands out (PostgreSQL ``integer``); larger ids simply do not exist.
MAX_ID = 2**31 - 1
#: OpenAPI description of an ``<id:…>`` path segment.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive id that fits the database; ``/x/99999999999999999999`` is 404."""

    def __init__(self, map: Any) -> None:
        super().__init__(map, min=1, max=MAX_ID)


def id_field(**kwargs: Any) -> fields.Integer:
    """Return a field for a row id (1 … ``MAX_ID``)."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def text_field(max_length: int, **kwargs: Any) -> fields.String:
    """Return a string field of at most ``max_length`` characters."""
    return fields.String(validate=validate.Length(max=max_length), **kwargs)
