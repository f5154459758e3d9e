"""staff totp: officers' authenticator apps, the second factor after the password (ASVS 6.3.2)

Revision ID: 1948d12d1367
Revises: 2ac11d3a7d0f
Create Date: 2026-11-30 12:27:54.148404
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1948d12d1367'
down_revision: str | None = '2ac11d3a7d0f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('staff_totp',
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('secret', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_totp_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_totp'))
    )


def downgrade() -> None:
    op.drop_table('staff_totp')
