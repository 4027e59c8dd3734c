"""Marshmallow schemas of the issue API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from campaigns.issues.compiled import issue_problems
from campaigns.issues.editions import EDITION_LANGUAGES, is_out_of_date
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.revisions import SESSION_NAME_LIMIT
from campaigns.issues.workflow import COMMENT_LIMIT
from engine.api.fields import id_field, text_field
from engine.api.schemas import CursorQuerySchema, page_schema

_COMMENT = {
    "description": "Shown on the issue to its authors; line breaks allowed, no other control "
    "characters."
}
_CONTENT = {
    "description": "The issue content: title, subject, layout, blocks … (validated by the service)."
}


class IssueSummarySchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    layout = fields.String(required=True)
    language = fields.String(required=True)
    status = fields.String(required=True)
    revision = fields.Integer(required=True)
    observance_slug = fields.String(allow_none=True)
    topic_ids = fields.Method("_topic_ids", required=True)
    approved_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    edition_of_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The original issue, when this issue is one of its editions."},
    )
    translated_from_revision = fields.Integer(
        allow_none=True,
        metadata={"description": "The original's revision this edition was last saved against."},
    )
    out_of_date = fields.Method(
        "_out_of_date",
        metadata={"description": "An edition whose original changed since it was last saved."},
    )
    correction_of_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The sent issue this one corrects: its campaigns go to the people "
            "that issue was accepted for."
        },
    )

    def _topic_ids(self, issue: object) -> list[int]:
        return [topic.id for topic in issue.topics]  # type: ignore[attr-defined]

    def _out_of_date(self, issue: Issue) -> bool:
        return is_out_of_date(issue)


class IssueSchema(IssueSummarySchema):
    content = fields.Dict(required=True, metadata=_CONTENT)
    problems = fields.Method(
        "_problems",
        required=True,
        metadata={
            "description": "What is unfinished or wrong in the draft, each as {block_id, field, "
            "message}: they block review and sending, not saving."
        },
    )
    sent_at = fields.DateTime(
        attribute="published_at",
        allow_none=True,
        metadata={"description": "When the issue's first campaign finished sending."},
    )

    def _problems(self, issue: Issue) -> list[dict[str, Any]]:
        fields = ("block_id", "field", "message")
        return [{key: check[key] for key in fields} for check in issue_problems(issue)]


class EditionCreateSchema(Schema):
    language = fields.String(
        required=True,
        validate=validate.OneOf(list(EDITION_LANGUAGES)),
        metadata={"description": "The edition's language."},
    )


class EditionListSchema(Schema):
    items = fields.List(fields.Nested(IssueSummarySchema), required=True)


class IssueQuerySchema(CursorQuerySchema):
    status = fields.String(validate=validate.OneOf([str(s) for s in IssueStatus]))


class IssueCreateSchema(Schema):
    content = fields.Dict(required=True, metadata=_CONTENT)
    topic_ids = fields.List(id_field(), load_default=list, validate=validate.Length(max=100))
    observance_slug = text_field(80, allow_none=True, load_default=None)


class IssueUpdateSchema(Schema):
    base_revision = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=1_000_000),
        metadata={"description": "The revision this edit started from; 409 if it is stale."},
    )
    content = fields.Dict(required=True, metadata=_CONTENT)
    topic_ids = fields.List(id_field(), validate=validate.Length(max=100))
    observance_slug = text_field(80, allow_none=True)
    editing_session = text_field(
        SESSION_NAME_LIMIT,
        metadata={
            "description": "A name for this client's editing session: its saves within a few "
            "minutes gather into one revision."
        },
    )


class RevisionSummarySchema(Schema):
    number = fields.Integer(required=True)
    saved_at = fields.DateTime(required=True)
    saved_by = fields.String(required=True)
    blocks = fields.Integer(required=True)


class RevisionListSchema(Schema):
    items = fields.List(fields.Nested(RevisionSummarySchema), required=True)


class RevisionSchema(Schema):
    number = fields.Integer(required=True)
    saved_at = fields.DateTime(required=True)
    content = fields.Dict(required=True)


class DiffQuerySchema(Schema):
    from_ = fields.Integer(data_key="from", validate=validate.Range(min=1, max=1_000_000))
    to = fields.Integer(validate=validate.Range(min=1, max=1_000_000))


class DiffLineSchema(Schema):
    op = fields.String(required=True, metadata={"description": "'+', '-' or ' '"})
    text = fields.String(required=True)


class ChangeSchema(Schema):
    kind = fields.String(required=True)
    label = fields.String(required=True)
    status = fields.String(required=True)
    lines = fields.List(fields.Nested(DiffLineSchema), required=True)


class DiffSchema(Schema):
    old = fields.Integer(required=True)
    new = fields.Integer(required=True)
    changes = fields.List(fields.Nested(ChangeSchema), required=True)


class CheckSchema(Schema):
    code = fields.String(required=True)
    severity = fields.String(required=True)
    message = fields.String(required=True)
    block_id = fields.String(allow_none=True)
    field = fields.String(
        allow_none=True, metadata={"description": "The field of the block (or issue) it is about."}
    )


class ChecksSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "No blocking (error) check."})
    checks = fields.List(fields.Nested(CheckSchema), required=True)


class RenderedSchema(Schema):
    html = fields.String(required=True)
    text = fields.String(required=True)
    checks = fields.List(fields.Nested(CheckSchema), required=True)
    valid = fields.Boolean(required=True)


class PreviewSchema(Schema):
    content = fields.Dict(required=True, metadata=_CONTENT)


class ApproveSchema(Schema):
    topic_ids = fields.List(id_field(), required=True, validate=validate.Length(min=1, max=100))
    segment = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.String(validate=validate.Length(max=500)),
        load_default=dict,
        validate=validate.Length(max=1),
        metadata={"description": 'Optional attribute filter, e.g. {"state": "OH"}.'},
    )
    comment = text_field(COMMENT_LIMIT, load_default="", metadata=_COMMENT)


class ReturnSchema(Schema):
    comment = text_field(COMMENT_LIMIT, load_default="", metadata=_COMMENT)
    reason = text_field(
        COMMENT_LIMIT, load_default="", metadata={"description": "Older name of `comment`."}
    )


IssuePageSchema = page_schema(IssueSummarySchema, "IssuePage")
