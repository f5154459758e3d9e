"""staff password must change: a password an administrator gave is good for one sign-in (ASVS 6.4.1)

Revision ID: 2ac11d3a7d0f
Revises: 2b4bb26fb322
Create Date: 2026-11-30 12:19:54.531836
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '2ac11d3a7d0f'
down_revision: str | None = '2b4bb26fb322'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_must_change', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('password_must_change')

