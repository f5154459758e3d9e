"""Import every model so that Base.metadata is complete (Alembic and tests use this)."""

from app.db.audit import AuditChainHead, AuditEvent
from app.db.auth import Passkey, SignInFailure, StaffSession, WebAuthnChallenge
from app.db.base import Base
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientLanguage,
    Consent,
    FamilyLink,
    HealthInformation,
)
from app.db.organisation import Organisation, Staff, StaffRole

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "Client",
    "ClientAccessGrant",
    "ClientLanguage",
    "Consent",
    "FamilyLink",
    "HealthInformation",
    "Organisation",
    "Passkey",
    "SignInFailure",
    "Staff",
    "StaffRole",
    "StaffSession",
    "WebAuthnChallenge",
]
