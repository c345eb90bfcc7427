"""`flask --app wsgi intake init`, `intake invite` and `intake recover`: the operator's ceremonies.

`init` and `invite` print one-time URLs. The tokens behind them are stored
only hashed, so whoever reads the database later cannot use them. `recover`
rebuilds the recovery key from trustees' shares for as long as it runs.
"""

from __future__ import annotations

import sys

import click
from flask import current_app, url_for
from sqlalchemy.exc import SQLAlchemyError

from crypto import (
    RecoveryShareError,
    combine_recovery_shares,
    fingerprint,
    generate_identity,
    identity_from_secret,
    split_recovery_key,
)
from intake import migrate
from intake.cli import intake_cli
from intake.configuration import current_config
from intake.db import session_factory
from intake.models import Role
from intake.services import accounts, lawyer_sessions, vetting
from intake.services.blobstore import BlobStore
from intake.services.keyring import instance_keys, submission_recipients
from intake.services.rekey import RekeyReport, record_recovery, rekey_every_case

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
# SLIP-39's limit: a split never has more shares than this.
MAX_RECOVERY_SHARES = 16
_base_url_option = click.option(
    "--base-url",
    envvar="INTAKE_BASE_URL",
    help=(
        "Address staff reach this instance at: the (lawyers') .onion address. "
        f"Required in production; elsewhere defaults to {DEFAULT_BASE_URL}."
    ),
)


@intake_cli.command("init")
@click.option("--threshold", default=3, show_default=True, help="Recovery shares needed to rebuild the key.")
@click.option("--shares", default=5, show_default=True, help="Recovery shares to print, one per trustee.")
@click.option(
    "--force-new-setup-token",
    is_flag=True,
    help="Already initialised but nobody finished admin setup: print a new setup URL (keys are kept).",
)
@_base_url_option
def init_command(threshold: int, shares: int, force_new_setup_token: bool, base_url: str | None) -> None:
    """Migrate, create the recovery key, print its shares once and an admin setup URL."""
    config = current_config()
    migrate.upgrade(config.database_url)
    with session_factory()() as session:
        keys = instance_keys(session)
        if keys.recovery_recipient is not None:
            if not force_new_setup_token:
                raise click.ClickException(
                    "This instance is already initialised; its keys are never replaced. "
                    "To get a new admin setup URL, run again with --force-new-setup-token."
                )
            if vetting.count_admins(session) > 0:
                raise click.ClickException(
                    "An admin account exists; ask that admin for an invitation instead."
                )
            new_recovery = None
        else:
            try:
                new_recovery = _print_recovery_shares(threshold, shares)
            except ValueError as error:
                raise click.ClickException(str(error)) from None
        try:
            token = accounts.open_admin_setup(session, new_recovery)
        except SQLAlchemyError:
            raise click.ClickException(
                "Could not store the keys. Destroy any recovery shares printed above and run init again."
            ) from None
    click.echo("Admin setup URL (works once, for one hour):")
    click.echo(_external_url(base_url, "admin.setup", token=token))


@intake_cli.command("invite")
@click.argument("email")
@click.option(
    "--role", type=click.Choice([role.value for role in Role]), default=Role.LAWYER.value, show_default=True
)
@_base_url_option
def invite_command(email: str, role: str, base_url: str | None) -> None:
    """Print a one-time enrolment URL for EMAIL."""
    with session_factory()() as session:
        if accounts.email_is_taken(session, email):
            raise click.ClickException("An account with this email address already exists.")
        token = accounts.create_invite(session, email, Role(role), inviter=None)
    days = accounts.INVITE_LIFETIME.days
    click.echo(f"Enrolment URL for {accounts.normalise_email(email)} (works once, for {days} days):")
    click.echo(_external_url(base_url, "lawyer.enrol", token=token))


@intake_cli.command("end-sessions")
def end_sessions_command() -> None:
    """Delete every staff session's server half, so every key is locked until the next login.

    Run it on every restart (or after a suspected compromise) to make restarts
    destroy the server halves as well; without it sessions survive restarts
    and move freely between workers.
    """
    with session_factory()() as session:
        ended = lawyer_sessions.end_every_session_and_record(session)
    click.echo(f"ended {ended} staff session(s)")


@intake_cli.command("recover")
def recover_command() -> None:
    """Rebuild the recovery key from trustees' shares and re-encrypt every case to the vetted lawyers.

    Shares are read from standard input, one per line, until an empty line or
    the end of input; at a terminal they are typed without being shown.
    """
    config = current_config()
    with session_factory()() as session:
        expected_recipient = instance_keys(session).recovery_recipient
        if expected_recipient is None:
            raise click.ClickException("This instance has no recovery key: run init first.")
        if submission_recipients(session) is None:
            raise click.ClickException(
                "No lawyer is vetted, so there is nobody to give the cases to. "
                "Vet at least one lawyer first; nothing was changed."
            )
        click.echo(f"Recovery key fingerprint: {fingerprint(expected_recipient)}")
        click.echo("Compare it with the one on the trustees' sheets before anybody types a share.")
        try:
            recovery = identity_from_secret(combine_recovery_shares(_read_shares()))
        except RecoveryShareError as error:
            raise click.ClickException(f"{error} Nothing was changed.") from None
        try:
            if recovery.recipient != expected_recipient:
                raise click.ClickException(
                    "These shares rebuild a key, but not this instance's recovery key "
                    "(they belong to another instance or a failed init). Nothing was changed."
                )
            total = RekeyReport()
            for case_number, report in rekey_every_case(session, BlobStore(config.blob_dir), recovery.secret):
                total += report
                if report.rekeyed_items or report.unreadable_items:
                    click.echo(f"case {case_number}: {report.describe()}")
        finally:
            # Python cannot wipe memory; at least nothing refers to the key any more.
            del recovery
        record_recovery(session, total)
    click.echo(
        f"Re-encrypted {total.rekeyed_items} item(s) and {total.rewritten_files} file(s) "
        f"for every vetted lawyer; {total.current_items} item(s) were already up to date."
    )
    if total.unreadable_items:
        click.echo(
            f"{total.unreadable_items} item(s) could not be opened even with the recovery key "
            "(damaged, or a file is missing) and were left as they were.",
            err=True,
        )


def _read_shares() -> list[str]:
    """Shares, one per line, never echoed."""
    at_terminal = sys.stdin.isatty()
    if at_terminal:
        click.echo("Each trustee types their share (33 words) and presses Enter; it is not shown.")
        click.echo("Press Enter on an empty line when enough shares are in.")
    shares: list[str] = []
    while len(shares) < MAX_RECOVERY_SHARES:
        if at_terminal:
            line = click.prompt(f"Share {len(shares) + 1}", hide_input=True, default="", show_default=False)
        else:
            line = sys.stdin.readline()
        share = line.strip()
        if not share:
            break
        shares.append(share)
        if at_terminal:
            click.echo(f"Share {len(shares)} read.")
    return shares


def _print_recovery_shares(threshold: int, count: int) -> accounts.NewRecoveryKey:
    """Make the recovery key and print its shares; only the public half is returned, to be stored.

    Printing comes first: if the terminal fails, nothing is stored and the
    command can simply run again. If storing fails after printing, the printed
    shares belong to no instance and must be destroyed; the caller says so.
    """
    recovery = generate_identity()
    shares = split_recovery_key(recovery.secret, threshold, count)
    click.echo(f"Recovery key fingerprint: {fingerprint(recovery.recipient)}")
    click.echo(
        f"Recovery shares: any {threshold} of these {count} rebuild the key that decrypts every case.\n"
        "Give each to a different trustee, on paper. They are shown this once and stored nowhere.\n"
    )
    for number, share in enumerate(shares, start=1):
        click.echo(f"Share {number} of {count}:\n{share}\n")
    return accounts.NewRecoveryKey(recipient=recovery.recipient, threshold=threshold, count=count)


def _external_url(base_url: str | None, endpoint: str, **values: str) -> str:
    if base_url is None:
        # A loopback link printed on a server would be useless, or worse,
        # pasted into a chat; production must say where staff really are.
        if current_config().is_production:
            raise click.UsageError("give --base-url (or INTAKE_BASE_URL): the onion address staff use")
        base_url = DEFAULT_BASE_URL
    # No request exists in a CLI command; build one for the address staff will use.
    with current_app.test_request_context(base_url=base_url):
        return url_for(endpoint, _external=True, **values)
