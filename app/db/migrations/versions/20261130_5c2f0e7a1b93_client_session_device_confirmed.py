"""client session: the device's name for the session list, and the last passkey confirmation (ASVS 7.5.1/7.5.2)

Revision ID: 5c2f0e7a1b93
Revises: 1948d12d1367
Create Date: 2026-11-30 15:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5c2f0e7a1b93'
down_revision: str | None = '1948d12d1367'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('client_session') as batch_op:
        batch_op.add_column(sa.Column('device', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('client_session') as batch_op:
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('device')
