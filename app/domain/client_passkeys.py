"""Migrants' passkeys (WebAuthn, py_webauthn) and approving a plan version with one (services 12 and 14).

- Enrolment: an open invitation → a discoverable passkey (resident key and user verification required)
  → the invitation is used up and the phone is signed in.
- Sign-in: a discoverable credential, user verification required.
- More passkeys: registered while signed in, after the client has confirmed with a passkey they have.
- Confirmation: a fresh assertion with one of the client's own passkeys on a signed-in phone, before
  passkeys change or other sessions end (client_auth.confirmed_recently).
- Plan approval: a fresh assertion, even on a signed-in phone, whose challenge is
  SHA-256(bytes.fromhex(version.content_hash) + nonce) with a fresh random nonce. The signed assertion
  is stored with the passkey's public key, so anyone can later check that this client approved exactly
  that content (approval_check()).

Challenges are single use (DELETE … RETURNING) and expire after CHALLENGE_LIFETIME.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_authenticator_data,
    verify_signature,
)
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
    WebAuthnException,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.db.base import utcnow
from app.db.client import Client
from app.db.client_app import ClientInvitation, ClientPasskey, ClientWebAuthnChallenge
from app.db.plan import ApprovalMethod, IntegrationPlan, PlanApproval, PlanService, PlanStatus, PlanVersion
from app.domain import audit, invitations, plans
from app.domain.audit import Action
from app.domain.passkeys import CHALLENGE_LIFETIME
from app.domain.translations import content_hash
from app.settings import Settings

RP_NAME = "Kotopolku"
ENROL, REGISTER, SIGN_IN, APPROVE_PLAN, CONFIRM = "enrol", "register", "sign_in", "approve_plan", "confirm"
MAX_PASSKEYS = 10


class PasskeyError(Exception):
    """The browser's response did not verify; the message is for logs, not for people."""


class NotPending(Exception):
    """The plan version is no longer the one waiting for the client's approval."""


@dataclass(frozen=True)
class Claimed:
    challenge: bytes
    client_id: uuid.UUID | None
    invitation_id: uuid.UUID | None
    plan_version_id: uuid.UUID | None
    nonce: str | None


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


async def _store_challenge(
    db: AsyncSession,
    purpose: str,
    challenge: bytes,
    *,
    client_id: uuid.UUID | None = None,
    invitation_id: uuid.UUID | None = None,
    plan_version_id: uuid.UUID | None = None,
    nonce: str | None = None,
) -> bytes:
    now = utcnow()
    await db.execute(delete(ClientWebAuthnChallenge).where(ClientWebAuthnChallenge.expires_at < now))
    db.add(
        ClientWebAuthnChallenge(
            challenge=bytes_to_base64url(challenge),
            purpose=purpose,
            client_id=client_id,
            invitation_id=invitation_id,
            plan_version_id=plan_version_id,
            nonce=nonce,
            expires_at=now + CHALLENGE_LIFETIME,
        )
    )
    await db.flush()
    return challenge


async def _claim(db: AsyncSession, credential: dict[str, Any], purpose: str) -> Claimed:
    """Take the challenge the browser signed: it is deleted, so a replay finds nothing."""
    try:
        client_data = json.loads(_b64decode(credential["response"]["clientDataJSON"]))
        challenge = str(client_data["challenge"])
    except (KeyError, TypeError, ValueError) as error:
        raise PasskeyError("malformed credential") from error
    c = ClientWebAuthnChallenge
    row = (
        await db.execute(
            delete(c)
            .where(c.challenge == challenge, c.purpose == purpose)
            .returning(c.challenge, c.client_id, c.invitation_id, c.plan_version_id, c.nonce, c.expires_at)
        )
    ).first()
    if row is None:
        raise PasskeyError("unknown or used challenge")
    if row.expires_at < utcnow():
        raise PasskeyError("expired challenge")
    return Claimed(
        _b64decode(row.challenge), row.client_id, row.invitation_id, row.plan_version_id, row.nonce
    )


def user_name(client: Client) -> str:
    """What the phone's passkey list shows: nothing personal, but telling two family members apart."""
    return f"Kotopolku {client.id.hex[:6].upper()}"


def device_name(user_agent: str | None) -> str:
    """A neutral name for a new passkey from the browser's description (no version numbers)."""
    return device_of(user_agent) or "Passkey"


def device_of(user_agent: str | None) -> str | None:
    """The kind of device a browser's description names ("Android", "iPhone"), or None."""
    ua = (user_agent or "").lower()
    for needle, name in (
        ("iphone", "iPhone"),
        ("ipad", "iPad"),
        ("android", "Android"),
        ("windows", "Windows"),
        ("mac os", "Mac"),
        ("cros", "Chromebook"),
        ("linux", "Linux"),
    ):
        if needle in ua:
            return name
    return None


async def passkeys_of(db: AsyncSession, client_id: uuid.UUID) -> list[ClientPasskey]:
    return list(
        (
            await db.scalars(
                select(ClientPasskey)
                .where(ClientPasskey.client_id == client_id)
                .order_by(ClientPasskey.created_at)
            )
        ).all()
    )


# --- registration: enrolment with an invitation, and more passkeys while signed in ------------------


async def _registration_options(
    db: AsyncSession, settings: Settings, client: Client, purpose: str, invitation_id: uuid.UUID | None
) -> str:
    existing = [p.credential_id for p in await passkeys_of(db, client.id)]
    challenge = await _store_challenge(
        db, purpose, secrets.token_bytes(32), client_id=client.id, invitation_id=invitation_id
    )
    options = generate_registration_options(
        rp_id=settings.rp_id,
        rp_name=RP_NAME,
        user_name=user_name(client),
        user_id=client.id.bytes,
        user_display_name=(client.first_names or "").split(" ")[0][:60] or user_name(client),
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in existing],
    )
    return str(options_to_json(options))


async def enrol_options(db: AsyncSession, settings: Settings, invitation: ClientInvitation) -> str:
    client = await db.get(Client, invitation.client_id)
    if client is None:
        raise PasskeyError("no client")
    return await _registration_options(db, settings, client, ENROL, invitation.id)


async def registration_options(db: AsyncSession, settings: Settings, client: Client) -> str:
    return await _registration_options(db, settings, client, REGISTER, None)


def _verify_registration(settings: Settings, challenge: bytes, credential: dict[str, Any]) -> Any:
    try:
        return verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.rp_id,
            expected_origin=settings.origin,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, KeyError, TypeError, ValueError) as error:
        raise PasskeyError(str(error)) from error


async def _add_passkey(
    db: AsyncSession, client_id: uuid.UUID, verified: Any, credential: dict[str, Any], name: str
) -> ClientPasskey:
    transports = (credential.get("response") or {}).get("transports") or []
    passkey = ClientPasskey(
        client_id=client_id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(str(t) for t in transports)[:200] or None,
        name=name.strip()[:100] or "Passkey",
    )
    db.add(passkey)
    await db.flush()
    return passkey


async def _credential_taken(db: AsyncSession, verified: Any) -> bool:
    found = await db.scalar(
        select(ClientPasskey.id).where(ClientPasskey.credential_id == verified.credential_id)
    )
    return found is not None


async def enrol(
    db: AsyncSession, settings: Settings, invitation_id: uuid.UUID, credential: dict[str, Any], name: str
) -> tuple[Client, ClientPasskey]:
    """Verify the new passkey of an enrolment and use up the invitation (exactly once). Nothing but the
    challenge is written before everything has verified, so a failure leaves the invitation open."""
    claimed = await _claim(db, credential, ENROL)
    if claimed.invitation_id != invitation_id or claimed.client_id is None:
        raise PasskeyError("challenge belongs to another invitation")
    verified = _verify_registration(settings, claimed.challenge, credential)
    if await _credential_taken(db, verified):
        raise PasskeyError("credential already registered")
    client = await db.get(Client, claimed.client_id)
    if client is None or await invitations.by_id(db, invitation_id) is None:
        raise PasskeyError("invitation no longer open")
    if not await invitations.mark_used(db, invitation_id):
        raise PasskeyError("invitation no longer open")
    passkey = await _add_passkey(db, client.id, verified, credential, name)
    await audit.record(
        db,
        Action.PASSKEY_ADDED,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="client_passkey",
        object_id=passkey.id,
        fields=["client_invitation.used_at", "client_passkey"],
    )
    return client, passkey


async def register(
    db: AsyncSession, settings: Settings, client: Client, credential: dict[str, Any], name: str
) -> ClientPasskey:
    claimed = await _claim(db, credential, REGISTER)
    if claimed.client_id != client.id:
        raise PasskeyError("challenge belongs to someone else")
    verified = _verify_registration(settings, claimed.challenge, credential)
    if await _credential_taken(db, verified):
        raise PasskeyError("credential already registered")
    count = await db.scalar(
        select(func.count()).select_from(ClientPasskey).where(ClientPasskey.client_id == client.id)
    )
    if (count or 0) >= MAX_PASSKEYS:
        raise PasskeyError("too many passkeys")
    passkey = await _add_passkey(db, client.id, verified, credential, name)
    await audit.record(
        db,
        Action.PASSKEY_ADDED,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="client_passkey",
        object_id=passkey.id,
        fields=["client_passkey"],
    )
    return passkey


async def remove(db: AsyncSession, client: Client, passkey_id: uuid.UUID) -> bool:
    """Remove one of the client's own passkeys; False when there is no such passkey of theirs."""
    passkey = await db.scalar(
        select(ClientPasskey).where(ClientPasskey.id == passkey_id, ClientPasskey.client_id == client.id)
    )
    if passkey is None:
        return False
    await db.delete(passkey)
    await db.flush()
    await audit.record(
        db,
        Action.PASSKEY_REMOVED,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="client_passkey",
        object_id=passkey_id,
        fields=["client_passkey"],
    )
    return True


# --- sign-in ----------------------------------------------------------------------------------------


async def authentication_options(db: AsyncSession, settings: Settings) -> str:
    """Options for a discoverable credential: the phone offers the passkeys it has for this site."""
    options = generate_authentication_options(
        rp_id=settings.rp_id,
        challenge=await _store_challenge(db, SIGN_IN, secrets.token_bytes(32)),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return str(options_to_json(options))


async def _verify_assertion(
    db: AsyncSession,
    settings: Settings,
    credential: dict[str, Any],
    challenge: bytes,
    client_id: uuid.UUID | None,
) -> ClientPasskey:
    try:
        credential_id = _b64decode(str(credential["rawId"]))
    except (KeyError, ValueError) as error:
        raise PasskeyError("malformed credential") from error
    query = select(ClientPasskey).where(ClientPasskey.credential_id == credential_id)
    if client_id is not None:
        query = query.where(ClientPasskey.client_id == client_id)
    passkey = await db.scalar(query)
    if passkey is None:
        raise PasskeyError("unknown credential")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.rp_id,
            expected_origin=settings.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, KeyError, TypeError, ValueError) as error:
        raise PasskeyError(str(error)) from error
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return passkey


async def authenticate(db: AsyncSession, settings: Settings, credential: dict[str, Any]) -> ClientPasskey:
    claimed = await _claim(db, credential, SIGN_IN)
    return await _verify_assertion(db, settings, credential, claimed.challenge, None)


def _own_assertion_options(settings: Settings, keys: list[ClientPasskey], challenge: bytes) -> str:
    """An assertion request that only this client's own passkeys can answer."""
    options = generate_authentication_options(
        rp_id=settings.rp_id,
        challenge=challenge,
        allow_credentials=[PublicKeyCredentialDescriptor(id=k.credential_id, transports=None) for k in keys],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return str(options_to_json(options))


# --- confirming it is them, on a signed-in phone ----------------------------------------------------


async def confirmation_options(db: AsyncSession, settings: Settings, client: Client) -> str:
    """Before adding or removing a passkey or ending other sessions (ASVS 7.5.1, 7.5.2): a fresh assertion
    with one of the client's own passkeys, so that a phone left signed in is not enough."""
    keys = await passkeys_of(db, client.id)
    if not keys:
        raise PasskeyError("no passkeys")
    challenge = await _store_challenge(db, CONFIRM, secrets.token_bytes(32), client_id=client.id)
    return _own_assertion_options(settings, keys, challenge)


async def confirm(
    db: AsyncSession, settings: Settings, client: Client, credential: dict[str, Any]
) -> ClientPasskey:
    claimed = await _claim(db, credential, CONFIRM)
    if claimed.client_id != client.id:
        raise PasskeyError("challenge belongs to someone else")
    return await _verify_assertion(db, settings, credential, claimed.challenge, client.id)


# --- approving a plan version ----------------------------------------------------------------------


def approval_challenge(content_hash_hex: str, nonce_hex: str) -> bytes:
    """The WebAuthn challenge that binds an approval to the exact content of one plan version."""
    return hashlib.sha256(bytes.fromhex(content_hash_hex) + bytes.fromhex(nonce_hex)).digest()


@dataclass(frozen=True)
class Pending:
    plan: IntegrationPlan
    version: PlanVersion


async def _open_plans(db: AsyncSession, client_id: uuid.UUID) -> list[IntegrationPlan]:
    return list(
        (
            await db.scalars(
                select(IntegrationPlan)
                .options(
                    selectinload(IntegrationPlan.goals),
                    selectinload(IntegrationPlan.services).selectinload(PlanService.final_tests),
                    selectinload(IntegrationPlan.pauses),
                )
                .where(
                    IntegrationPlan.client_id == client_id, IntegrationPlan.status.in_(plans.OPEN_STATUSES)
                )
                .order_by(IntegrationPlan.number.desc())
            )
        ).all()
    )


async def pending_approval(db: AsyncSession, client: Client) -> Pending | None:
    """The client's presented plan version that waits for their approval: the latest version of an open
    plan, not approved yet, and the plan not changed since it was presented."""
    for plan in await _open_plans(db, client.id):
        version = await plans.latest_version(db, plan)
        if version is None:
            continue
        approved = await db.scalar(
            select(PlanApproval.id).where(PlanApproval.plan_version_id == version.id).limit(1)
        )
        if approved is None and version.content_hash == content_hash(plans.content_of(plan)):
            return Pending(plan, version)
    return None


async def last_passkey_approval(db: AsyncSession, client: Client) -> tuple[PlanApproval, PlanVersion] | None:
    row = (
        await db.execute(
            select(PlanApproval, PlanVersion)
            .join(PlanVersion, PlanVersion.id == PlanApproval.plan_version_id)
            .where(PlanApproval.client_id == client.id, PlanApproval.method == ApprovalMethod.PASSKEY)
            .order_by(PlanApproval.approved_at.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def _pending_version(db: AsyncSession, client: Client, version_id: uuid.UUID) -> Pending:
    pending = await pending_approval(db, client)
    if pending is None or pending.version.id != version_id:
        raise NotPending
    return pending


async def approval_options(
    db: AsyncSession, settings: Settings, client: Client, version_id: uuid.UUID
) -> str:
    """An assertion request bound to the version's content hash; only this client's passkeys."""
    pending = await _pending_version(db, client, version_id)
    keys = await passkeys_of(db, client.id)
    if not keys:
        raise PasskeyError("no passkeys")
    nonce = secrets.token_bytes(32).hex()
    challenge = approval_challenge(pending.version.content_hash, nonce)
    await _store_challenge(
        db, APPROVE_PLAN, challenge, client_id=client.id, plan_version_id=pending.version.id, nonce=nonce
    )
    return _own_assertion_options(settings, keys, challenge)


async def approve(
    db: AsyncSession, settings: Settings, client: Client, version_id: uuid.UUID, credential: dict[str, Any]
) -> PlanApproval:
    """Verify the assertion and record the approval; a draft plan comes into force as with an approval
    in person. Raises PasskeyError (did not verify) or NotPending (409: no longer the version to approve)."""
    claimed = await _claim(db, credential, APPROVE_PLAN)
    if claimed.client_id != client.id or claimed.nonce is None:
        raise PasskeyError("challenge belongs to someone else")
    if claimed.plan_version_id != version_id:
        raise PasskeyError("challenge was made for another plan version")
    # One approval at a time per version (PostgreSQL; SQLite's transactions are serial anyway): a
    # concurrent second approval waits here, then finds the version approved (NotPending).
    await db.execute(select(PlanVersion.id).where(PlanVersion.id == version_id).with_for_update())
    pending = await _pending_version(db, client, version_id)
    expected = approval_challenge(pending.version.content_hash, claimed.nonce)
    if not secrets.compare_digest(expected, claimed.challenge):
        raise PasskeyError("the version's content hash has changed")  # the content was re-presented
    passkey = await _verify_assertion(db, settings, credential, expected, client.id)
    response = credential["response"]
    approval = PlanApproval(
        plan_version_id=pending.version.id,
        client_id=client.id,
        method=ApprovalMethod.PASSKEY,
        credential_id=passkey.credential_id,
        authenticator_data=_b64decode(str(response["authenticatorData"])),
        client_data_json=_b64decode(str(response["clientDataJSON"])),
        signature=_b64decode(str(response["signature"])),
        public_key=passkey.public_key,
        challenge_nonce=claimed.nonce,
    )
    db.add(approval)
    fields = ["method", "credential_id", "authenticator_data", "client_data_json", "signature", "public_key",
              "challenge_nonce"]  # fmt: skip
    if pending.plan.status == PlanStatus.DRAFT:
        # The same rule as an approval in person: a follow-up plan replaces the one in force.
        await plans.bring_into_force(db, None, pending.plan, client)
        fields.append("status")
    try:
        await db.flush()
    except StaleDataError as error:  # an officer changed the plan at this very moment
        raise NotPending from error
    await audit.record(
        db,
        Action.CREATE,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="plan_approval",
        object_id=pending.plan.id,
        fields=fields,
    )
    return approval


@dataclass(frozen=True)
class ApprovalCheck:
    """The re-verification of a stored passkey approval, for the officer's plan page."""

    verifies: bool
    problem: str | None = None  # for logs and tests, not for people


def approval_check(settings: Settings, approval: PlanApproval, version: PlanVersion) -> ApprovalCheck:
    """Check a stored approval from scratch: the version's content matches its hash, the challenge the
    client signed is SHA-256(content hash + nonce), the assertion is a webauthn.get for this site with
    user verification, and the signature verifies with the stored public key."""

    def fail(problem: str) -> ApprovalCheck:
        return ApprovalCheck(False, problem)

    if approval.method != ApprovalMethod.PASSKEY:
        return fail("not a passkey approval")
    if approval.plan_version_id != version.id:
        return fail("another version")
    data, client_data_json = approval.authenticator_data, approval.client_data_json
    signature, public_key, nonce = approval.signature, approval.public_key, approval.challenge_nonce
    if not (data and client_data_json and signature and public_key and nonce):
        return fail("incomplete record")
    if content_hash(version.content) != version.content_hash:
        return fail("the version's content does not match its hash")
    try:
        expected = approval_challenge(version.content_hash, nonce)
        client_data = json.loads(client_data_json)
        signed_challenge = _b64decode(str(client_data["challenge"]))
        if client_data.get("type") != "webauthn.get":
            return fail("not an assertion")
        if client_data.get("origin") != settings.origin:
            return fail("another origin")
        if not secrets.compare_digest(signed_challenge, expected):
            return fail("the signed challenge is not this version's")
        parsed = parse_authenticator_data(data)
        if parsed.rp_id_hash != hashlib.sha256(settings.rp_id.encode()).digest():
            return fail("another relying party")
        if not (parsed.flags.up and parsed.flags.uv):
            return fail("user not verified")
        decoded = decode_credential_public_key(public_key)
        verify_signature(
            public_key=decoded_public_key_to_cryptography(decoded),
            signature_alg=decoded.alg,
            signature=signature,
            data=data + hashlib.sha256(client_data_json).digest(),
        )
    except InvalidSignature:
        return fail("signature does not verify")
    except (KeyError, TypeError, ValueError, WebAuthnException) as error:
        return fail(f"malformed record: {error}")
    return ApprovalCheck(True)
