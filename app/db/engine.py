"""Engine construction: the same models on SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.settings import Settings


def make_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.async_database_url,
            echo=settings.sql_echo,
            connect_args={"timeout": 30},
            **kwargs,
        )
        _serialise_sqlite_writers(engine)
        return engine
    return create_async_engine(
        settings.async_database_url,
        echo=settings.sql_echo,
        pool_size=kwargs.pop("pool_size", 10),
        max_overflow=kwargs.pop("max_overflow", 10),
        # No pre-ping round trip per request: a connection that died is invalidated when it fails, and
        # recycling keeps connections younger than typical proxy/firewall idle limits.
        pool_recycle=1800,
        **kwargs,
    )


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    """SQLite: WAL, foreign keys on, and BEGIN IMMEDIATE so that two requests never deadlock
    upgrading read locks to write locks (SQLAlchemy's documented pysqlite recipe)."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
