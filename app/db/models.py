"""Import every model so that Base.metadata is complete (Alembic and tests use this)."""

from app.db.assessment import (
    Assessment,
    AssessmentEducation,
    AssessmentLanguageSkill,
    AssessmentWork,
    RefiningMeasure,
)
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
from app.db.plan import (
    ClientTransfer,
    FamilyOverview,
    FamilyOverviewMember,
    FinalLanguageTest,
    IntegrationPlan,
    PlanApproval,
    PlanGoal,
    PlanPause,
    PlanReview,
    PlanService,
    PlanVersion,
)
from app.db.programme import (
    ProgrammePeriod,
    ProgrammeService,
    ProgrammeServiceLanguage,
    ProgrammeServiceText,
)

__all__ = [
    "Assessment",
    "AssessmentEducation",
    "AssessmentLanguageSkill",
    "AssessmentWork",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "Client",
    "ClientAccessGrant",
    "ClientLanguage",
    "ClientTransfer",
    "Consent",
    "FamilyLink",
    "FamilyOverview",
    "FamilyOverviewMember",
    "FinalLanguageTest",
    "HealthInformation",
    "IntegrationPlan",
    "Organisation",
    "Passkey",
    "PlanApproval",
    "PlanGoal",
    "PlanPause",
    "PlanReview",
    "PlanService",
    "PlanVersion",
    "ProgrammePeriod",
    "ProgrammeService",
    "ProgrammeServiceLanguage",
    "ProgrammeServiceText",
    "RefiningMeasure",
    "SignInFailure",
    "Staff",
    "StaffRole",
    "StaffSession",
    "WebAuthnChallenge",
]
