"""Liveness and database reachability for load balancers and monitoring."""

from __future__ import annotations

from litestar import get
from litestar.response import Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession


@get("/health", opt={"exclude_from_csrf": True})
async def health(db_session: AsyncSession) -> Response[dict[str, str]]:
    try:
        await db_session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return Response({"status": "ok", "database": "ok"})
