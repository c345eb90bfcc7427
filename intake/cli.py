"""`flask --app wsgi intake …` operator commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from intake import migrate
from intake.configuration import current_config
from intake.db import session_factory
from intake.models import Attachment
from intake.services.blobstore import BlobStore
from intake.services.chunked_uploads import ChunkedUploads
from intake.services.clock import utc_now
from intake.services.mailer import MailConfigError, Mailer
from intake.services.notifications import Routes, notify
from intake.services.push import PushSender
from intake.services.retention import purge_expired_cases

intake_cli = AppGroup("intake", help="Operate this Intake instance.")


@intake_cli.command("migrate")
def migrate_command() -> None:
    """Upgrade the database schema to the newest revision."""
    migrate.upgrade(current_config().database_url)
    click.echo("database is up to date")


@intake_cli.command("sweep")
def sweep_command() -> None:
    """Apply retention (INTAKE_RETENTION_DAYS), then delete blob files no row refers to."""
    config = current_config()
    store = BlobStore(config.blob_dir)
    with session_factory()() as session:
        if config.retention_days is None:
            click.echo("retention: not configured, closed cases are kept")
        else:
            report = purge_expired_cases(session, store, config.retention_days, utc_now().date())
            click.echo(
                f"retention: deleted {report.cases} closed case(s) last active over "
                f"{config.retention_days} day(s) ago and {report.attachment_files} attachment file(s)"
            )
            if report.sqlite_wal_busy:
                click.echo(
                    "retention: SQLite's WAL was busy; deleted pages leave it at a later checkpoint",
                    err=True,
                )

    def referenced_names() -> set[str]:
        with session_factory()() as session:
            return set(session.scalars(select(Attachment.blob_name)))

    removed = store.sweep_orphans(referenced_names)
    click.echo(f"removed {removed} orphaned blob file(s)")
    abandoned = ChunkedUploads(store).sweep_abandoned()
    click.echo(f"removed {abandoned} abandoned chunked upload(s)")


@intake_cli.command("notify")
def notify_command() -> None:
    """Send due content-free notifications: urgent alerts, then at most one digest a day per lawyer.

    Run it every few minutes (urgent alerts wait for the next run).
    """
    config = current_config()
    if config.smtp_url is None and not config.notify_channels:
        click.echo("notifications: neither INTAKE_SMTP_URL nor a push channel is set, nothing sent")
        return
    try:
        mailer = Mailer.from_url(config.smtp_url, config.notify_sender) if config.smtp_url else None
    except MailConfigError as error:
        raise click.ClickException(str(error)) from None
    push = PushSender(config.notify_channels) if config.notify_channels else None
    with session_factory()() as session:
        routes = Routes(mailer, push, config.secret_key)
        report = notify(session, routes, utc_now(), config.notify_digest_hour)
    sent = ", ".join(f"{route} {count}" for route, count in sorted(report.sent.items())) or "none"
    click.echo(
        f"notifications: {report.urgent_alerts} urgent alert(s), {report.digests} digest(s), "
        f"{report.failures} failure(s); messages taken: {sent}"
    )
    if report.failures:
        raise SystemExit(1)
