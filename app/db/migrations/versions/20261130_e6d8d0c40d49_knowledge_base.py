"""knowledge base: articles, versions, per-locale search index, anonymous questions

Revision ID: e6d8d0c40d49
Revises: 75a515e7681f
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e6d8d0c40d49'
down_revision: str | None = '75a515e7681f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOPICS = ('registration', 'language_courses', 'kela', 'housing', 'health', 'schools', 'work_taxes', 'help')
ORIGINS = ('original', 'officer', 'translator', 'interpreter', 'machine')
KINDS_BEFORE = ('new_message', 'appointment_booked', 'appointment_changed', 'appointment_cancelled',
                'appointment_reminder', 'stakeholder_message')
KINDS_AFTER = (*KINDS_BEFORE, 'guidance_answer')

# SQLite: an FTS5 index of the folded words of knowledge_search_doc (external content, so the words are
# stored once), kept in step with the table by triggers: whatever writes or deletes documents — the
# domain code on publishing, a cascade, a test emptying tables — the index follows.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE knowledge_fts USING fts5(title_folded, body_folded, "
    "content='knowledge_search_doc', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER knowledge_search_doc_ai AFTER INSERT ON knowledge_search_doc BEGIN "
    "INSERT INTO knowledge_fts(rowid, title_folded, body_folded) VALUES (new.id, new.title_folded, new.body_folded); "
    "END",
    "CREATE TRIGGER knowledge_search_doc_ad AFTER DELETE ON knowledge_search_doc BEGIN "
    "INSERT INTO knowledge_fts(knowledge_fts, rowid, title_folded, body_folded) "
    "VALUES ('delete', old.id, old.title_folded, old.body_folded); "
    "END",
    "CREATE TRIGGER knowledge_search_doc_au AFTER UPDATE ON knowledge_search_doc BEGIN "
    "INSERT INTO knowledge_fts(knowledge_fts, rowid, title_folded, body_folded) "
    "VALUES ('delete', old.id, old.title_folded, old.body_folded); "
    "INSERT INTO knowledge_fts(rowid, title_folded, body_folded) VALUES (new.id, new.title_folded, new.body_folded); "
    "END",
]


def _topic() -> sa.Enum:
    return sa.Enum(*TOPICS, name='article_topic', native_enum=False, create_constraint=True, length=40)


def _notification_kinds(kinds: Sequence[str]) -> None:
    """The outbox's CHECK on notification kinds, with or without the answer to a guidance question."""
    allowed = ", ".join(f"'{kind}'" for kind in kinds)
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_message_notification_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_message_notification_kind'), sa.text(f"kind IN ({allowed})"))


def upgrade() -> None:
    op.create_table('knowledge_article',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('topic', _topic(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', name='article_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('source_language', sa.String(length=12), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_knowledge_article_created_by_id_staff')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_knowledge_article_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_article')),
    sa.UniqueConstraint('organisation_id', 'slug', name=op.f('uq_knowledge_article_organisation_id_slug'))
    )
    with op.batch_alter_table('knowledge_article', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_article_organisation_id_status_topic', ['organisation_id', 'status', 'topic'], unique=False)

    op.create_table('guidance_question',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('language', sa.String(length=12), nullable=False),
    sa.Column('topic', _topic(), nullable=True),
    sa.Column('article_id', sa.Uuid(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('status', sa.Enum('open', 'answered', 'dismissed', name='question_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Uuid(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_emailed', sa.Boolean(), nullable=False),
    sa.Column('draft_article_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['staff.id'], name=op.f('fk_guidance_question_answered_by_id_staff')),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_article.id'], name=op.f('fk_guidance_question_article_id_knowledge_article'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['draft_article_id'], ['knowledge_article.id'], name=op.f('fk_guidance_question_draft_article_id_knowledge_article'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_guidance_question_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guidance_question'))
    )
    with op.batch_alter_table('guidance_question', schema=None) as batch_op:
        batch_op.create_index('ix_guidance_question_organisation_id_status_created_at', ['organisation_id', 'status', 'created_at'], unique=False)

    op.create_table('knowledge_article_text',
    sa.Column('article_id', sa.Uuid(), nullable=False),
    sa.Column('language', sa.String(length=12), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('origin', sa.Enum(*ORIGINS, name='text_origin', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=False),
    sa.Column('edited_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_article.id'], name=op.f('fk_knowledge_article_text_article_id_knowledge_article'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['edited_by_id'], ['staff.id'], name=op.f('fk_knowledge_article_text_edited_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_article_text')),
    sa.UniqueConstraint('article_id', 'language', name=op.f('uq_knowledge_article_text_article_id_language'))
    )
    op.create_table('knowledge_article_version',
    sa.Column('article_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_article.id'], name=op.f('fk_knowledge_article_version_article_id_knowledge_article'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['staff.id'], name=op.f('fk_knowledge_article_version_published_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_article_version')),
    sa.UniqueConstraint('article_id', 'number', name=op.f('uq_knowledge_article_version_article_id_number'))
    )
    op.create_table('knowledge_search_doc',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('locale', sa.String(length=12), nullable=False),
    sa.Column('language', sa.String(length=12), nullable=False),
    sa.Column('topic', _topic(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('stale', sa.Boolean(), nullable=False),
    sa.Column('title_folded', sa.Text(), nullable=False),
    sa.Column('body_folded', sa.Text(), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_article.id'], name=op.f('fk_knowledge_search_doc_article_id_knowledge_article'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_knowledge_search_doc_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_search_doc')),
    sa.UniqueConstraint('article_id', 'locale', name=op.f('uq_knowledge_search_doc_article_id_locale'))
    )
    with op.batch_alter_table('knowledge_search_doc', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_search_doc_organisation_id_locale_topic', ['organisation_id', 'locale', 'topic'], unique=False)
        batch_op.create_index('ix_knowledge_search_doc_search_vector', ['search_vector'], unique=False, postgresql_using='gin')

    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)

    _notification_kinds(KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM outbox_message WHERE kind = 'guidance_answer'")
    _notification_kinds(KINDS_BEFORE)

    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("knowledge_search_doc_au", "knowledge_search_doc_ad", "knowledge_search_doc_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS knowledge_fts")

    with op.batch_alter_table('knowledge_search_doc', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_search_doc_search_vector', postgresql_using='gin')
        batch_op.drop_index('ix_knowledge_search_doc_organisation_id_locale_topic')

    op.drop_table('knowledge_search_doc')
    op.drop_table('knowledge_article_version')
    op.drop_table('knowledge_article_text')
    with op.batch_alter_table('guidance_question', schema=None) as batch_op:
        batch_op.drop_index('ix_guidance_question_organisation_id_status_created_at')

    op.drop_table('guidance_question')
    with op.batch_alter_table('knowledge_article', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_article_organisation_id_status_topic')

    op.drop_table('knowledge_article')
