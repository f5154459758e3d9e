"""Demo data: TODO(helper) guidance."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.organisation import Organisation, Staff


async def seed(
    db: AsyncSession,
    city: Organisation,
    county: Organisation,
    officer: Staff,
    clients: list[Client],
    today: date,
) -> None:
    """TODO(helper)."""
