"""`/healthz` for the container HEALTHCHECK: says ok or not, nothing else."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from intake.configuration import current_config
from intake.db import get_session
from intake.services.blobstore import BlobStore

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    plain = {"Content-Type": "text/plain; charset=utf-8"}
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        return "unavailable\n", 503, plain
    if not BlobStore(current_config().blob_dir).is_writable():
        return "unavailable\n", 503, plain
    return "ok\n", 200, plain
