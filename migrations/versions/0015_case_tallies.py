"""case_tallies: how many cases have each status and assignee, kept by triggers on cases

Every inbox view counts the cases that pass its filters. Counting in an
index walks every matching entry: at 100,000 cases PostgreSQL took 13-17 ms
for all of them, 26-31 ms for the closed ones, and SQLite up to 12 ms. The
inbox now sums a few rows of this table. Triggers keep it, not the
application, so every write path stays counted: submissions, lawyer
actions, retention's deletions, a lawyer deleted and their cases set to
nobody by the foreign key, bulk loads, plain SQL. A TRUNCATE of cases
empties it on PostgreSQL (SQLite has none).

A case nobody is assigned counts under the all-zero UUID: a key column
cannot be NULL. Rows are added to with an upsert, so a move between two
rows never waits for a row that does not exist yet. On PostgreSQL a move
(status or assignee changed) takes its two rows in one fixed order, so two
moves in opposite directions cannot deadlock on them. Every new case adds
one to the row of new, unassigned cases: concurrent submissions queue on
that row's lock until each commits, a few milliseconds.

A batch migration on SQLite recreates its table, which drops the table's
triggers: such a migration of cases has to drop and create these around it
(as 0013's trigger).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CASE_STATUS = sa.Enum(
    "new", "in_progress", "waiting_for_submitter", "closed", name="casestatus", native_enum=False, length=32
)
# models.NOBODY as each database stores a Uuid column.
_SQLITE_NOBODY = "'00000000000000000000000000000000'"
_POSTGRES_NOBODY = "'00000000-0000-0000-0000-000000000000'::uuid"


def _sqlite_add(status: str, assignee: str, delta: int) -> str:
    # Built from this file's constants and trigger row names only.
    return (
        "INSERT INTO case_tallies (status, assignee_key, case_count)"  # noqa: S608
        f" VALUES ({status}, COALESCE({assignee}, {_SQLITE_NOBODY}), {delta})"
        f" ON CONFLICT (status, assignee_key) DO UPDATE SET case_count = case_count + ({delta});"
    )


_SQLITE_TRIGGERS = [
    f"""
CREATE TRIGGER cases_tally_insert AFTER INSERT ON cases
BEGIN
    {_sqlite_add("NEW.status", "NEW.assignee_id", 1)}
END
""",
    f"""
CREATE TRIGGER cases_tally_delete AFTER DELETE ON cases
BEGIN
    {_sqlite_add("OLD.status", "OLD.assignee_id", -1)}
END
""",
    f"""
CREATE TRIGGER cases_tally_update AFTER UPDATE OF status, assignee_id ON cases
FOR EACH ROW WHEN OLD.status IS NOT NEW.status OR OLD.assignee_id IS NOT NEW.assignee_id
BEGIN
    {_sqlite_add("OLD.status", "OLD.assignee_id", -1)}
    {_sqlite_add("NEW.status", "NEW.assignee_id", 1)}
END
""",
]

_POSTGRES_STATEMENTS = [
    """
CREATE FUNCTION case_tally_add(tally_status varchar, tally_key uuid, delta integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO case_tallies (status, assignee_key, case_count) VALUES (tally_status, tally_key, delta)
    ON CONFLICT (status, assignee_key) DO UPDATE SET case_count = case_tallies.case_count + delta
$$
""",
    f"""
CREATE FUNCTION cases_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_key uuid;
    new_key uuid;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM case_tally_add(NEW.status, COALESCE(NEW.assignee_id, {_POSTGRES_NOBODY}), 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM case_tally_add(OLD.status, COALESCE(OLD.assignee_id, {_POSTGRES_NOBODY}), -1);
    ELSIF OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id THEN
        old_key := COALESCE(OLD.assignee_id, {_POSTGRES_NOBODY});
        new_key := COALESCE(NEW.assignee_id, {_POSTGRES_NOBODY});
        -- Both rows in one order, whichever way the case moves: no deadlock between moves.
        IF ROW(OLD.status, old_key) < ROW(NEW.status, new_key) THEN
            PERFORM case_tally_add(OLD.status, old_key, -1);
            PERFORM case_tally_add(NEW.status, new_key, 1);
        ELSE
            PERFORM case_tally_add(NEW.status, new_key, 1);
            PERFORM case_tally_add(OLD.status, old_key, -1);
        END IF;
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER cases_tally AFTER INSERT OR DELETE OR UPDATE OF status, assignee_id ON cases
FOR EACH ROW EXECUTE FUNCTION cases_tally()
""",
    """
CREATE FUNCTION cases_tally_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM case_tallies;
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER cases_tally_truncate AFTER TRUNCATE ON cases
FOR EACH STATEMENT EXECUTE FUNCTION cases_tally_truncate()
""",
]


def upgrade() -> None:
    op.create_table(
        "case_tallies",
        sa.Column("status", _CASE_STATUS, nullable=False),
        sa.Column("assignee_key", sa.Uuid(), nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("status", "assignee_key", name=op.f("pk_case_tallies")),
    )
    nobody = _POSTGRES_NOBODY if _on_postgres() else _SQLITE_NOBODY
    op.execute(
        "INSERT INTO case_tallies (status, assignee_key, case_count)"  # noqa: S608 — constants only
        f" SELECT status, COALESCE(assignee_id, {nobody}), count(*) FROM cases"
        f" GROUP BY status, COALESCE(assignee_id, {nobody})"
    )
    for statement in _POSTGRES_STATEMENTS if _on_postgres() else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if _on_postgres():
        op.execute("DROP TRIGGER cases_tally_truncate ON cases")
        op.execute("DROP FUNCTION cases_tally_truncate()")
        op.execute("DROP TRIGGER cases_tally ON cases")
        op.execute("DROP FUNCTION cases_tally()")
        op.execute("DROP FUNCTION case_tally_add(varchar, uuid, integer)")
    else:
        for name in ("cases_tally_insert", "cases_tally_delete", "cases_tally_update"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("case_tallies")


def _on_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
