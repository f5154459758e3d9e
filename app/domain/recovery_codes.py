"""Officers' recovery codes: ten single-use codes for the second step of a password sign-in when the
authenticator app or the passkey is lost (ASVS 6.5.1–6.5.3).

A code is 10 characters from an alphabet without look-alikes (no 0/O, 1/I): 50 random bits from the
operating system's generator, shown as XXXXX-XXXXX. Below 112 bits a code is stored like a password
(ASVS 6.5.2): argon2id with a random salt, so a copy of the database does not give the codes away. Using
one checks the person's unused codes (ten at most, in a worker thread: argon2 is slow on purpose) and
marks the match used with one UPDATE … WHERE used_at IS NULL: of two requests with the same code, only
one finds it unused. Codes are shown once, when created; creating new ones replaces every old one."""

from __future__ import annotations

import secrets
import uuid

import anyio
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.auth import StaffRecoveryCode
from app.db.base import utcnow
from app.domain import auth
from app.settings import Settings

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 characters: no 0, O, 1 or I
LENGTH = 10
COUNT = 10
FEW = 2  # at most this many left: the profile warns


def normalise(code: str) -> str:
    """What people type: any case, with or without spaces and hyphens."""
    return "".join(ch for ch in code.upper() if not ch.isspace() and ch not in "-\u2010\u2011\u2013\u2014")[
        : LENGTH + 1
    ]


def shown(code: str) -> str:
    """XXXXX-XXXXX: two groups are easier to read, copy and type."""
    half = LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


async def create(db: AsyncSession, settings: Settings, staff_id: uuid.UUID) -> list[str]:
    """New codes replacing all the person's old ones, used or not; the codes as shown, to show once."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    hashes = await anyio.to_thread.run_sync(lambda: [auth.hash_password(settings, code) for code in codes])
    await remove_all(db, staff_id)
    now = utcnow()
    db.add_all(StaffRecoveryCode(staff_id=staff_id, code_hash=h, created_at=now) for h in hashes)
    await db.flush()
    return [shown(code) for code in codes]


async def use(db: AsyncSession, settings: Settings, staff_id: uuid.UUID, code: str) -> bool:
    """Whether the code is one of the person's unused codes; if so it is used now, and never again."""
    code = normalise(code)
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return False
    unused = (
        await db.execute(
            select(StaffRecoveryCode.id, StaffRecoveryCode.code_hash).where(
                StaffRecoveryCode.staff_id == staff_id, StaffRecoveryCode.used_at.is_(None)
            )
        )
    ).all()

    def match() -> uuid.UUID | None:
        return next((row.id for row in unused if auth.verify_password(settings, row.code_hash, code)), None)

    found = await anyio.to_thread.run_sync(match)
    if found is None:
        return False
    result = await db.execute(
        update(StaffRecoveryCode)
        .where(StaffRecoveryCode.id == found, StaffRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def counts(db: AsyncSession, staff_id: uuid.UUID) -> tuple[int, int]:
    """(unused, all) of the person's current codes."""
    unused, total = (
        await db.execute(
            select(
                func.count(StaffRecoveryCode.id).filter(StaffRecoveryCode.used_at.is_(None)),
                func.count(StaffRecoveryCode.id),
            ).where(StaffRecoveryCode.staff_id == staff_id)
        )
    ).one()
    return int(unused), int(total)


async def remove_all(db: AsyncSession, staff_id: uuid.UUID) -> int:
    """Every code of the person (new codes, or an administrator's reset); how many were unused."""
    unused, _total = await counts(db, staff_id)
    await db.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff_id))
    return unused
