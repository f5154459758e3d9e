"""Database: models (one module per aggregate), engine set-up and Alembic migrations."""
