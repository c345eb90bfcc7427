"""sources.codename_version: which derivation made the lookup id (1 for every source so far)

Revision ID: 0011
Revises: 0010

Downgrading keeps every source but drops what says which derivation made it:
the code of that time derives version 1 only, so codenames issued under
version 2 no longer log in until the next upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sources') as batch_op:
        batch_op.add_column(sa.Column('codename_version', sa.SmallInteger(), server_default='1', nullable=False))
        batch_op.create_index('ix_sources_codename_version', ['codename_version'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sources') as batch_op:
        batch_op.drop_index('ix_sources_codename_version')
        batch_op.drop_column('codename_version')
