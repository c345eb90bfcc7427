"""encrypted per-case summaries for the inbox; content-free notification settings

Revision ID: 0005
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_summaries',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_summaries_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_summaries'))
    )
    op.create_table('notification_settings',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('daily_digest', sa.Boolean(), nullable=False),
    sa.Column('urgent_alerts', sa.Boolean(), nullable=False),
    sa.Column('digest_sent_day', sa.Date(), nullable=True),
    sa.Column('seen_case_number', sa.Integer(), nullable=False),
    sa.Column('seen_follow_ups', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_last_activity_day_number', ['last_activity_day', 'number'], unique=False)
    with op.batch_alter_table('instance_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent_alerts_pending', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_last_activity_day_number')
    with op.batch_alter_table('instance_keys', schema=None) as batch_op:
        batch_op.drop_column('urgent_alerts_pending')
    op.drop_table('notification_settings')
    op.drop_table('case_summaries')
