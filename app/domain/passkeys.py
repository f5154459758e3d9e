"""Passkeys (WebAuthn) for staff, verified with py_webauthn; user verification is required.

Challenges are single-use: the verifier deletes the row it uses (DELETE … RETURNING), so a replayed
response finds nothing. They expire after CHALLENGE_LIFETIME.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.db.auth import Passkey, WebAuthnChallenge
from app.db.base import utcnow
from app.db.organisation import Staff
from app.settings import Settings

CHALLENGE_LIFETIME = timedelta(minutes=5)


class PasskeyError(Exception):
    """The browser's response did not verify; the message is for logs, not for people."""


async def _new_challenge(db: AsyncSession, purpose: str, staff_id: uuid.UUID | None) -> bytes:
    challenge = secrets.token_bytes(32)
    now = utcnow()
    await db.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < now))
    db.add(
        WebAuthnChallenge(
            challenge=bytes_to_base64url(challenge),
            purpose=purpose,
            staff_id=staff_id,
            expires_at=now + CHALLENGE_LIFETIME,
        )
    )
    await db.flush()
    return challenge


async def _claim_challenge(db: AsyncSession, credential: dict[str, Any], purpose: str) -> WebAuthnChallenge:
    try:
        client_data = json.loads(_b64decode(credential["response"]["clientDataJSON"]))
        challenge = str(client_data["challenge"])
    except (KeyError, TypeError, ValueError) as error:
        raise PasskeyError("malformed credential") from error
    row = (
        await db.execute(
            delete(WebAuthnChallenge)
            .where(WebAuthnChallenge.challenge == challenge, WebAuthnChallenge.purpose == purpose)
            .returning(WebAuthnChallenge.challenge, WebAuthnChallenge.staff_id, WebAuthnChallenge.expires_at)
        )
    ).first()
    if row is None:
        raise PasskeyError("unknown or used challenge")
    if row.expires_at < utcnow():
        raise PasskeyError("expired challenge")
    return WebAuthnChallenge(
        challenge=row.challenge, purpose=purpose, staff_id=row.staff_id, expires_at=row.expires_at
    )


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


async def registration_options(db: AsyncSession, settings: Settings, staff: Staff) -> str:
    existing = (await db.scalars(select(Passkey.credential_id).where(Passkey.staff_id == staff.id))).all()
    options = generate_registration_options(
        rp_id=settings.office_rp_id,
        rp_name="Kotopolku",
        user_name=staff.email,
        user_id=staff.id.bytes,
        user_display_name=staff.full_name,
        challenge=await _new_challenge(db, "register", staff.id),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in existing],
    )
    return str(options_to_json(options))


async def register(
    db: AsyncSession, settings: Settings, staff: Staff, credential: dict[str, Any], name: str
) -> Passkey:
    challenge = await _claim_challenge(db, credential, "register")
    if challenge.staff_id != staff.id:
        raise PasskeyError("challenge belongs to someone else")
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=_b64decode(challenge.challenge),
            expected_rp_id=settings.office_rp_id,
            expected_origin=settings.office_origin,
            require_user_verification=True,
        )
    except InvalidRegistrationResponse as error:
        raise PasskeyError(str(error)) from error
    transports = credential.get("response", {}).get("transports") or []
    passkey = Passkey(
        staff_id=staff.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(str(t) for t in transports)[:200] or None,
        name=name[:100],
    )
    db.add(passkey)
    await db.flush()
    return passkey


async def authentication_options(db: AsyncSession, settings: Settings, staff: Staff | None = None) -> str:
    """Options for a discoverable credential: the browser offers the passkeys it has for this site. For the
    second step after a password (`staff`), only that person's own passkeys, and the challenge is theirs."""
    allowed: list[PublicKeyCredentialDescriptor] = []
    if staff is not None:
        credentials = (
            await db.scalars(select(Passkey.credential_id).where(Passkey.staff_id == staff.id))
        ).all()
        allowed = [PublicKeyCredentialDescriptor(id=c) for c in credentials]
    options = generate_authentication_options(
        rp_id=settings.office_rp_id,
        challenge=await _new_challenge(
            db, "sign_in" if staff is None else "second_step", None if staff is None else staff.id
        ),
        allow_credentials=allowed or None,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return str(options_to_json(options))


async def authenticate(
    db: AsyncSession, settings: Settings, credential: dict[str, Any], staff_id: uuid.UUID | None = None
) -> Passkey:
    """The passkey that signed the challenge. With `staff_id` (the second step after that person's password)
    the challenge must have been issued for them and the passkey must be theirs."""
    challenge = await _claim_challenge(db, credential, "sign_in" if staff_id is None else "second_step")
    if challenge.staff_id != staff_id:
        raise PasskeyError("challenge belongs to someone else")
    try:
        credential_id = _b64decode(str(credential["rawId"]))
    except (KeyError, ValueError) as error:
        raise PasskeyError("malformed credential") from error
    query = select(Passkey).where(Passkey.credential_id == credential_id)
    if staff_id is not None:
        query = query.where(Passkey.staff_id == staff_id)
    passkey = await db.scalar(query)
    if passkey is None:
        raise PasskeyError("unknown credential")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=_b64decode(challenge.challenge),
            expected_rp_id=settings.office_rp_id,
            expected_origin=settings.office_origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse as error:
        raise PasskeyError(str(error)) from error
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return passkey


async def remove_all(db: AsyncSession, staff_id: uuid.UUID) -> int:
    """Every passkey of the person (a lost or stolen device, on an administrator's reset); how many."""
    result = await db.execute(delete(Passkey).where(Passkey.staff_id == staff_id))
    return int(result.rowcount)  # type: ignore[attr-defined]
