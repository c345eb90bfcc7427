"""push notification channels (sealed per-lawyer addresses); email becomes one choice

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification_channels',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('ntfy', 'signal', 'matrix', name='channelkind', native_enum=False, length=32), nullable=False),
    sa.Column('address_sealed', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_channels_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_channels'))
    )
    with op.batch_alter_table('notification_settings') as batch_op:
        batch_op.add_column(sa.Column('by_email', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('notification_settings') as batch_op:
        batch_op.drop_column('by_email')
    op.drop_table('notification_channels')
