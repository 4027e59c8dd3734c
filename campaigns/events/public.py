"""Public tracking endpoints: the counted link redirect and the open pixel."""

from __future__ import annotations

import base64

from flask import Blueprint, Flask, Response, abort, redirect
from werkzeug.wrappers import Response as WerkzeugResponse

from campaigns.events.tracking import count_click, count_open
from engine.db import request_session

bp = Blueprint("tracking", __name__, url_prefix="/t")

#: The smallest transparent GIF (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"Cache-Control": "no-store, max-age=0", "Referrer-Policy": "no-referrer"}
#: Ids are 32-bit columns: a larger number in a link names nothing (404) and must never reach
#: the database, which refuses it as out of range.
_ID = "int(max=2147483647)"


@bp.get(f"/c/<{_ID}:campaign_id>/<{_ID}:link_id>")
def click(campaign_id: int, link_id: int) -> WerkzeugResponse:
    """Count the click and redirect to the stored link; unknown links are 404, never followed."""
    session = request_session()
    url = count_click(session, campaign_id, link_id)
    if url is None:
        session.rollback()
        abort(404, description="This link does not exist.")
    session.commit()
    response = redirect(url, code=302)
    response.headers.update(_NO_STORE)
    return response


@bp.get(f"/o/<{_ID}:campaign_id>.gif")
def pixel(campaign_id: int) -> Response:
    """Count an open of a tracked campaign and answer with a transparent pixel either way."""
    session = request_session()
    if count_open(session, campaign_id):
        session.commit()
    else:
        session.rollback()
    return Response(PIXEL, mimetype="image/gif", headers=_NO_STORE)


def init_app(app: Flask) -> None:
    """Register the tracking endpoints."""
    app.register_blueprint(bp)
