"""`flask --app wsgi intake …` operator commands."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from intake import migrate
from intake.db import session_factory
from intake.models import Attachment
from intake.services.blobstore import BlobStore

intake_cli = AppGroup("intake", help="Operate this Intake instance.")


@intake_cli.command("migrate")
def migrate_command() -> None:
    """Upgrade the database schema to the newest revision."""
    migrate.upgrade(current_app.config["INTAKE"].database_url)
    click.echo("database is up to date")


@intake_cli.command("sweep")
def sweep_command() -> None:
    """Delete blob files no committed row refers to (older than an hour)."""
    with session_factory()() as session:
        referenced = set(session.scalars(select(Attachment.blob_name)))
    removed = BlobStore(current_app.config["INTAKE"].blob_dir).sweep_orphans(referenced)
    click.echo(f"removed {removed} orphaned blob file(s)")
