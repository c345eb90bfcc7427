"""an index of open cases only, by last activity

Ordering by urgency reads the 1,000 most recently active open cases. With 80 %
of cases closed, walking the (last_activity_day, number) index found them
among five times as many rows and read each one's status from the table:
at 100,000 cases 10 of the scan's 25 ms on PostgreSQL and 8 of 23 on SQLite.
A partial index holds the open cases alone. The inbox spells its condition
inline, as the index does (`status != 'closed'`): neither database uses a
partial index for a condition on a bound parameter.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status != 'closed'")


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_last_activity_day_number",
        "cases",
        ["last_activity_day", "number"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_last_activity_day_number", table_name="cases")
