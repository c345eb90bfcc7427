"""seen_cases rows carry their case's status and assignee, kept by a trigger on cases

"New activity only" was counted by probing seen_cases once per matching case
(NOT EXISTS): at 100,000 cases 30 ms for the open new ones, 64 ms for one
lawyer's (SQLite). Counted instead as the matching cases less this lawyer's
seen rows whose case matches, each count stays within one index; for the
second, a seen row needs its case's status and assignee beside the lawyer,
in the (user_id, case_status, case_assignee_id) index.

The copies are kept by the database, not by the application: a trigger on
cases rewrites them whenever a case's status or assignee changes, so every
write path (lawyer actions, a follow-up reopening a case, a lawyer deleted
and their cases set to nobody, plain SQL) keeps them right. A batch
migration on SQLite recreates its table, which drops the table's triggers
and fails on a trigger naming a missing table: such a migration of cases or
seen_cases has to drop and create this trigger around it.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As cases.status is declared (0001): a plain string.
_CASE_STATUS = sa.Enum(
    "new", "in_progress", "waiting_for_submitter", "closed", name="casestatus", native_enum=False, length=32
)

_SQLITE_TRIGGER = """
CREATE TRIGGER cases_copy_to_seen_cases
AFTER UPDATE OF status, assignee_id ON cases
FOR EACH ROW WHEN OLD.status IS NOT NEW.status OR OLD.assignee_id IS NOT NEW.assignee_id
BEGIN
    UPDATE seen_cases SET case_status = NEW.status, case_assignee_id = NEW.assignee_id
    WHERE case_number = NEW.number;
END
"""

_POSTGRES_FUNCTION = """
CREATE FUNCTION cases_copy_to_seen_cases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE seen_cases SET case_status = NEW.status, case_assignee_id = NEW.assignee_id
    WHERE case_number = NEW.number;
    RETURN NULL;
END
$$
"""

_POSTGRES_TRIGGER = """
CREATE TRIGGER cases_copy_to_seen_cases
AFTER UPDATE OF status, assignee_id ON cases
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id)
EXECUTE FUNCTION cases_copy_to_seen_cases()
"""


def upgrade() -> None:
    op.add_column("seen_cases", sa.Column("case_status", _CASE_STATUS, nullable=True))
    op.add_column("seen_cases", sa.Column("case_assignee_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE seen_cases SET"
        " case_status = (SELECT cases.status FROM cases WHERE cases.number = seen_cases.case_number),"
        " case_assignee_id = (SELECT cases.assignee_id FROM cases WHERE cases.number = seen_cases.case_number)"
    )
    with op.batch_alter_table("seen_cases") as batch_op:
        batch_op.alter_column("case_status", existing_type=_CASE_STATUS, nullable=False)
    op.create_index(
        "ix_seen_cases_user_id_case_status_case_assignee_id",
        "seen_cases",
        ["user_id", "case_status", "case_assignee_id"],
    )
    # After the batch above: on SQLite it renames a copy of seen_cases into place, which
    # fails while a trigger names seen_cases.
    if _on_postgres():
        op.execute(_POSTGRES_FUNCTION)
        op.execute(_POSTGRES_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    if _on_postgres():
        op.execute("DROP TRIGGER cases_copy_to_seen_cases ON cases")
        op.execute("DROP FUNCTION cases_copy_to_seen_cases()")
    else:
        op.execute("DROP TRIGGER cases_copy_to_seen_cases")
    op.drop_index("ix_seen_cases_user_id_case_status_case_assignee_id", table_name="seen_cases")
    with op.batch_alter_table("seen_cases") as batch_op:
        batch_op.drop_column("case_assignee_id")
        batch_op.drop_column("case_status")


def _on_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
