"""TODO(helper): benefits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.domain.policy import Actor


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> Any:
    """What the client page shows of this area (None: nothing)."""
    return None
