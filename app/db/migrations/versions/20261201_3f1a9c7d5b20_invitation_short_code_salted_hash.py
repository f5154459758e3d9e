"""invitation short code under a salted hash (ASVS 6.5.2): argon2id of the code, and a keyed hash of its
first group to find it by. The old keyed hashes of whole codes are removed: codes of invitations made before
this revision stop working (their QR links go on working until they expire, 7 days at most).

Revision ID: 3f1a9c7d5b20
Revises: 8d3e6b4f2a17
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3f1a9c7d5b20'
down_revision: str | None = '8d3e6b4f2a17'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('client_invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_code_lookup', sa.String(length=64), nullable=True))
        batch_op.alter_column('short_code_hash',
               existing_type=sa.VARCHAR(length=64),
               type_=sa.String(length=200),
               nullable=True)
        batch_op.drop_constraint(batch_op.f('uq_client_invitation_short_code_hash'), type_='unique')
        batch_op.create_index(batch_op.f('ix_client_invitation_short_code_lookup'), ['short_code_lookup'], unique=False)
    op.execute("UPDATE client_invitation SET short_code_hash = NULL")


def downgrade() -> None:
    # The old scheme cannot check these codes: each row gets a unique value no code matches.
    op.execute("UPDATE client_invitation SET short_code_hash = token_hash")
    with op.batch_alter_table('client_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_invitation_short_code_lookup'))
        batch_op.create_unique_constraint(batch_op.f('uq_client_invitation_short_code_hash'), ['short_code_hash'])
        batch_op.alter_column('short_code_hash',
               existing_type=sa.String(length=200),
               type_=sa.VARCHAR(length=64),
               nullable=False)
        batch_op.drop_column('short_code_lookup')
