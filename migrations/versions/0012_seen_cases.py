"""seen_cases replaces case_reads; cases gets an (assignee_id, status, last_activity_day, number) index

"New activity only" compared each read marker's seen_seq with its case's
activity_seq: no index serves a comparison across two tables, so counting
the new cases joined all 100,000 (SQLite 0.45 s). A seen_cases row is kept
only while the lawyer has seen the case's latest activity (new activity
deletes the case's rows), so a case is new exactly when its number has no
row for the lawyer: one probe of the primary key per case, from the number
the cases indexes already hold. Only markers still current are carried over;
a stale one meant "new", as a missing row now does.

One lawyer's or nobody's cases were filtered by status row by row inside the
(assignee_id, last_activity_day, number) index; the new index counts and
pages them within the index.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_cases",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("case_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_number"],
            ["cases.number"],
            name=op.f("fk_seen_cases_case_number_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_seen_cases_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "case_number", name=op.f("pk_seen_cases")),
    )
    op.create_index("ix_seen_cases_case_number", "seen_cases", ["case_number"])
    op.execute(
        "INSERT INTO seen_cases (user_id, case_number)"
        " SELECT case_reads.user_id, cases.number FROM case_reads"
        " JOIN cases ON cases.id = case_reads.case_id"
        " WHERE case_reads.seen_seq >= cases.activity_seq"
    )
    op.drop_table("case_reads")
    op.create_index(
        "ix_cases_assignee_id_status_last_activity_day_number",
        "cases",
        ["assignee_id", "status", "last_activity_day", "number"],
    )


def downgrade() -> None:
    op.drop_index("ix_cases_assignee_id_status_last_activity_day_number", table_name="cases")
    op.create_table(
        "case_reads",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("seen_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_reads_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_reads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_reads")),
    )
    op.execute(
        "INSERT INTO case_reads (case_id, user_id, seen_seq)"
        " SELECT cases.id, seen_cases.user_id, cases.activity_seq FROM seen_cases"
        " JOIN cases ON cases.number = seen_cases.case_number"
    )
    op.drop_index("ix_seen_cases_case_number", table_name="seen_cases")
    op.drop_table("seen_cases")
