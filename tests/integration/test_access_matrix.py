"""The access-control matrix (§§79–81): every role × every back-office route × method, aimed at another
organisation's objects, must be refused — 404 where the role could act but the object is out of its
scope, 403 only where the role lacks the permission altogether — without showing the other organisation's
data and without changing the database.

The routes are read from the Litestar app itself, so a new /officer/ route fails the inventory test until
it is added to MATRIX (or, with a reason, to SESSIONLESS). Positive controls run the same requests on the
actor's own organisation's objects, so a matrix that refuses everything for the wrong reason cannot pass.
The migrant app's /me routes are checked structurally here (client_guard, or listed in SESSIONLESS_ME with
a reason); isolation between clients is tested in test_me_isolation.py. So is the county data API
(/api/v1: a system client's bearer token on every route but the token endpoint); which clients a county's
system reaches is tested in test_api_v1.py.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import hashlib
import io
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.db.appointment import (
    Appointment,
    AppointmentClient,
    AppointmentPurpose,
    AppointmentStaff,
    AppointmentStatus,
    CalendarFeed,
    InterpretationEvent,
    InterpretationMode,
    Task,
)
from app.db.arrivals import (
    Arrival,
    ArrivalChecklistItem,
    ArrivalConsultation,
    ArrivalKind,
    ArrivalPerson,
    ArrivalRole,
    ArrivalStatus,
    ConsultationStatus,
)
from app.db.assessment import (
    Assessment,
    AssessmentLanguageSkill,
    AssessmentStatus,
    Cefr,
    LanguageSkill,
    Literacy,
    MeasureStatus,
    PlanNeed,
    RefiningMeasure,
    RefiningMeasureType,
)
from app.db.audit import AuditEvent
from app.db.auth import Passkey, StaffSession
from app.db.base import TextOrigin, utcnow
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientLanguage,
    ClientStatus,
    Consent,
    ConsentPurpose,
    DataCategory,
    FamilyLink,
    FamilyRelation,
    HealthInformation,
    KnownHow,
    PermitType,
)
from app.db.client_app import ClientInvitation, ClientPasskey, ClientSession, PlanTextTranslation
from app.db.contracts import Contract, ContractAttachment, ContractKind
from app.db.cooperation import (
    ApiAccessToken,
    ApiClient,
    CooperationStatus,
    CountyCooperation,
    CountyNote,
    CountyNoteTopic,
)
from app.db.costs import ClaimLine, ClaimStatus, CompensationClaim, Cost, CostCategory
from app.db.guidance import (
    GuidancePlan,
    GuidancePlanEndReason,
    GuidancePlanStatus,
    GuidanceTask,
    GuidanceTaskKind,
    GuidanceTopic,
    GuidanceVisit,
    GuidanceVisitReferral,
    GuidanceVisitTopic,
    VisitChannel,
    VisitReferral,
)
from app.db.knowledge import (
    ArticleStatus,
    ArticleTopic,
    GuidanceQuestion,
    KnowledgeArticle,
    KnowledgeArticleText,
    KnowledgeArticleVersion,
    KnowledgeSearchDoc,
    QuestionStatus,
)
from app.db.messaging import (
    AuthorKind,
    GroupKind,
    GroupMessage,
    GroupMessageText,
    Message,
    MessageTemplate,
    MessageTemplateText,
    MessageTranslation,
    StakeholderContact,
    StakeholderMessage,
    Thread,
    TranslationRequest,
    TranslationStatus,
)
from app.db.organisation import Organisation, OrganisationType, Role, Staff, StaffRole
from app.db.outbox import (
    Channel,
    ContactPreference,
    NotificationKind,
    OutboxAttempt,
    OutboxMessage,
    OutboxStatus,
)
from app.db.outreach import (
    AuthorityReferral,
    Benefit,
    BenefitSource,
    BenefitStatus,
    BenefitType,
    ContactChannel,
    ContactOutcome,
    ImportMode,
    ImportSource,
    OutreachContact,
    OutreachImport,
    OutreachItem,
    OutreachReason,
    OutreachStatus,
    ReferralStatus,
)
from app.db.plan import (
    ApprovalMethod,
    ClientTransfer,
    FamilyOverview,
    FamilyOverviewMember,
    GoalAttainment,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PlanApproval,
    PlanGoal,
    PlanPause,
    PlanReview,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    PlanStatus,
    PlanVersion,
)
from app.db.programme import (
    ProgrammePeriod,
    ProgrammeService,
    ProgrammeServiceLanguage,
    ProgrammeServiceText,
    ServiceType,
)
from app.db.quality import QuestionKind, Survey, SurveyAudience, SurveyQuestion
from app.db.retention import RetentionHold
from app.domain import api_clients, knowledge, uploads
from app.domain.appointments import at_local
from app.domain.arrivals import anonymised_summary
from app.domain.forms import today
from app.domain.plans import content_of
from app.domain.policy import Permission
from app.domain.translations import content_hash
from app.routes.api_v1 import bearer_guard
from app.settings import Settings
from app.web import client_guard, staff_guard
from tests.conftest import PASSWORD, client_section, csrf_token, post
from tests.soft_authenticator import SoftAuthenticator

# --- the policy as the issue states it ------------------------------------------------------------

# What each role may do in principle (checked against app.domain.policy.ROLE_PERMISSIONS in
# test_access_policy.py); which objects it applies to is what the matrix tests.
EXPECTED_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.INTEGRATION_OFFICER: frozenset(
        {
            Permission.CLIENT_READ,
            Permission.CLIENT_WRITE,
            Permission.HEALTH_READ,
            Permission.HEALTH_WRITE,
            Permission.CLIENT_ACCESS_HISTORY,
            Permission.PROGRAMME_READ,
            Permission.PROGRAMME_MANAGE,
            Permission.WORKLIST,
            Permission.CALENDAR,
            Permission.MESSAGES,
            Permission.TRANSLATION_WORK,
            Permission.CONTRACTS,
            Permission.COMPENSATION,
            Permission.KNOWLEDGE_EDIT,
            Permission.OUTREACH,
            Permission.ARRIVALS,
            Permission.GUIDANCE_VISITS,
        }
    ),
    Role.MANAGER: frozenset(
        {
            Permission.GUIDANCE_TOPICS,
            Permission.KNOWLEDGE_EDIT,
            Permission.CONTRACTS,
            Permission.COMPENSATION,
            Permission.REPORTS,
            Permission.QUALITY_MANAGE,
            Permission.RETENTION,
            Permission.CLIENT_READ,
            Permission.CLIENT_ACCESS_HISTORY,
            Permission.AUDIT_SEARCH,
            Permission.PROGRAMME_READ,
            Permission.PROGRAMME_MANAGE,
            Permission.TEAM_WORKLIST,
            Permission.CALENDAR,
        }
    ),
    Role.ADMINISTRATOR: frozenset({Permission.STAFF_MANAGE}),
    Role.COUNTY_TEAM_MEMBER: frozenset(
        {
            Permission.CLIENT_READ,
            Permission.HEALTH_READ,
            Permission.PROGRAMME_READ,
            Permission.COOPERATION_INBOX,
        }
    ),
    Role.INTERPRETER: frozenset({Permission.CALENDAR, Permission.TRANSLATION_WORK}),
}

# The organisation each role is signed in from (organisation A, from that role's point of view).
HOME_TYPE = {
    Role.INTEGRATION_OFFICER: OrganisationType.MUNICIPALITY,
    Role.MANAGER: OrganisationType.MUNICIPALITY,
    Role.ADMINISTRATOR: OrganisationType.MUNICIPALITY,
    Role.COUNTY_TEAM_MEMBER: OrganisationType.WELLBEING_COUNTY,
    Role.INTERPRETER: OrganisationType.SERVICE_PROVIDER,
}

ACTOR_NAMES = {
    Role.INTEGRATION_OFFICER: "Anna Omavirkailija",
    Role.MANAGER: "Matti Omaesihenkilö",
    Role.ADMINISTRATOR: "Aada Omaylläpitäjä",
    Role.COUNTY_TEAM_MEMBER: "Kaisa Maakuntatiimi",
    Role.INTERPRETER: "Tuomas Tulkkipalvelu",
}


Needs = Permission | tuple[Permission, ...] | None  # a tuple: any one of them will do


def holds(role: Role, needs: Needs) -> bool:
    if needs is None:
        return True
    wanted = needs if isinstance(needs, tuple) else (needs,)
    return any(permission in EXPECTED_PERMISSIONS[role] for permission in wanted)


# --- the world: organisation A (the actors'), organisation B (someone else's) ----------------------


@dataclass(frozen=True)
class Target:
    """Plain values (never ORM objects) naming the objects a request is aimed at."""

    organisation_id: uuid.UUID
    client_id: uuid.UUID
    client_display: str  # "Last, First", as every page shows a client
    phone: str
    email: str
    related_identifier: str  # another client of the *actor's* organisation, for a family link
    related_client_id: uuid.UUID  # a family member of client_id in the same organisation
    staff_id: uuid.UUID
    staff_name: str
    staff_email: str
    passkey_id: uuid.UUID
    passkey_name: str
    passkey_credential: str  # base64url, as in WebAuthn options
    # The statutory path of client_id (issue 3), see _statutory_path().
    assessment_id: uuid.UUID  # a draft amending the completed assessment, ready to be completed
    assessment_note: str  # its notes on literacy
    measure_id: uuid.UUID  # a refining measure ordered for it, result not yet recorded
    plan_id: uuid.UUID  # the plan in force, drawn up from the completed assessment
    plan_goal: str  # its long-term goal
    plan_service_id: uuid.UUID  # a service *in the plan* (the route calls it service_id: see Case.ids)
    removable_service_id: uuid.UUID  # another one, only planned: the one taken out of the plan
    presented_version_id: uuid.UUID  # the plan's latest presented version (kept current by fresh())
    overview_id: uuid.UUID  # a family overview of two other clients of the organisation
    overview_goals: str
    transfer_client_id: uuid.UUID  # the client the transfer moves (organisation A: a client of its own)
    employment_authority_id: uuid.UUID  # where the transfer moves them
    # The organisation's integration programme.
    programme_service_id: uuid.UUID  # a service of the programme (the routes' service_id)
    programme_name: str  # its name in Finnish, the source language
    translation_id: uuid.UUID  # its text in `language`, a translation
    translation_name: str
    period_id: uuid.UUID  # an intake of the service that no plan refers to
    period_note: str
    # Issue 5: calendar, tasks, messaging, translation work and notifications (see _communication()).
    interpreter_id: uuid.UUID  # the interpreter actor: booked for A's appointment, for none of B's
    appointment_id: uuid.UUID  # client_id's appointment with staff_id, interpreted by interpreter_id
    appointment_place: str  # its street address, shown to everyone who may open it
    removable_appointment_id: uuid.UUID  # a booking nobody has heard of: deletable (B: its only one)
    task_id: uuid.UUID  # a task about client_id
    task_title: str
    thread_id: uuid.UUID  # a thread with client_id
    thread_subject: str
    message_id: uuid.UUID  # the client's message in it (Arabic), with a machine translation
    message_body: str
    message_translation_id: uuid.UUID  # that translation (the routes' translation_id)
    request_id: uuid.UUID  # a translation request of the message, open (A: assigned to the interpreter)
    translated_request_id: uuid.UUID  # another one, translated, waiting to be checked
    template_id: uuid.UUID  # a message template, Finnish, with a Swedish translation
    template_name: str
    template_text_id: uuid.UUID  # its Swedish text
    group_id: uuid.UUID  # an unsent campaign to client_id's mother tongue, with a Swedish text
    group_title: str
    group_text_id: uuid.UUID  # its Swedish text
    draft_group_id: uuid.UUID  # another unsent group message, the one deleted (B: group_id)
    contact_id: uuid.UUID  # a partner's contact person
    contact_name: str
    stakeholder_message_id: uuid.UUID  # an e-mail sent to the contact
    stakeholder_subject: str
    # Issue 4: client_id's access to the migrant app and the plan's texts for them (see _client_app()).
    invitation_id: uuid.UUID  # an open invitation of client_id to the app
    client_passkey_name: str  # client_id's passkey in the app (their phone)
    plan_translation_id: uuid.UUID  # the plan's rationale in Arabic: machine output, not checked yet
    plan_translation_text: str
    # Issue 6: the county's cooperation, system clients, contracts, costs and claims, surveys and retention
    # (see _county_cooperation() and _back_office()).
    county_id: uuid.UUID  # the county client_id's cooperation is with (A: the county actor's own county)
    cooperation_id: uuid.UUID  # client_id's accepted cooperation (A: the county actor responsible, granted)
    cooperation_request_id: uuid.UUID  # related_client_id's request to the same county, not answered yet
    declinable_request_id: uuid.UUID  # another client's request to it (B: cooperation_request_id)
    county_member_id: uuid.UUID  # the county team member taking part (A: the county actor)
    county_note: str  # the county's note on client_id (A: shared with the organisation; B: not shared)
    api_client_id: uuid.UUID  # a system client of the organisation's (the county API of service 18)
    api_client_name: str
    contract_id: uuid.UUID  # a housing lease for client_id, with a PDF attachment stored on disk
    contract_subject: str
    contract_provider: str
    attachment_id: uuid.UUID
    attachment_text: str  # what the attached PDF says
    cost_id: uuid.UUID  # a cost of client_id, in no claim
    invoice_reference: str
    claim_id: uuid.UUID  # a draft compensation claim whose period holds the costs' dates
    survey_id: uuid.UUID  # an inactive feedback survey with one question
    survey_name: str
    hold_id: uuid.UUID  # a retention hold on client_id, in force
    hold_reason: str
    # Issue 7: the knowledge base for editors (see _knowledge_base()).
    article_id: uuid.UUID  # a published article, Finnish with a Swedish translation
    article_title: str  # its Finnish title
    article_text_id: uuid.UUID  # its Swedish text
    question_id: uuid.UUID  # a visitor's open question (with an e-mail address for the answer)
    question_text: str
    dismissable_question_id: uuid.UUID  # another open question (B: question_id)
    # Referrals by another authority (service 20, see _referrals()): two received, undecided.
    referral_id: uuid.UUID  # the one accepted (a new client: nobody in the register matches the person)
    referral_person: str  # its person, "Last, First", as the pages show it
    referral_reason: str  # why the person needs an initial assessment
    declinable_referral_id: uuid.UUID  # the one declined
    # Initial guidance (3.4.6, see _guidance_plan()): client_id's active plan, including the family.
    guidance_plan_id: uuid.UUID  # the routes' plan_id under /officer/guidance-plans/ (see Case.ids)
    guidance_task_id: uuid.UUID  # its open, recurring task, overdue (the routes' task_id there)
    guidance_task_description: str
    # Outreach (3.4.4) and benefit data (see _outreach()).
    import_id: uuid.UUID  # an imported Kela list
    import_file_name: str
    outreach_item_id: uuid.UUID  # the routes' item_id: a person from the list, to be reached, not a client
    outreach_name: str  # the person, "Last, First", as the pages show them
    outreach_identity_code: str
    outreach_contact_note: str  # the note of an attempt to reach them
    item_benefit_id: uuid.UUID  # their benefit from the list (the routes' benefit_id under /outreach/)
    linkable_item_id: uuid.UUID  # another person on the list: the one linked to client_id
    benefit_id: uuid.UUID  # client_id's own benefit (the routes' benefit_id under /clients/)
    # Planned arrivals (3.4.8–3.4.11, see _arrivals()).
    arrival_id: uuid.UUID  # a quota-refugee proposal whose summary was sent to the county
    arrival_reference: str
    arrival_person_id: uuid.UUID  # its head of family (the routes' person_id)
    arrival_person_name: str  # "Last, First"
    removable_person_id: uuid.UUID  # another person of the family: the one removed
    consultation_id: uuid.UUID  # the summary sent to county_id (A: the county actor's county), unanswered
    consultation_question: str
    placement_id: uuid.UUID  # a municipal placement from a reception centre (its routes' arrival_id)
    checklist_item_id: uuid.UUID  # its move-in step "keys", marked done
    # Guidance and counselling visits and their topics (service 4, see _guidance_visits()).
    topic_id: uuid.UUID  # the organisation's first visit topic
    topic_name: str  # its Finnish name (the back office's language in the tests)
    visit_id: uuid.UUID  # client_id's visit today, recorded by the integration officer actor (A)
    visit_note: str
    removable_visit_id: uuid.UUID  # an anonymous visit today by the same officer: the one deleted
    goal_ids: tuple[uuid.UUID, ...] = ()  # the plan's goals as saved now (kept current by fresh())
    article_state: str = ""  # the article's texts as a page shows them (kept current by fresh())
    language: str = "sv"
    # The version each form posts back, by the field naming the record (see VERSIONED and fresh()).
    versions: Mapping[str, int] = field(default_factory=dict)

    def version(self, name: str) -> str:
        return str(self.versions.get(name, 0))

    def fresh(self, db: Session) -> Target:
        """The same target with the versions as saved now (forms post the version they were opened at)."""
        versions = {
            name: db.scalar(select(model.version).where(model.id == getattr(self, name))) or 0
            for name, model in VERSIONED.items()
        }
        presented = db.scalar(
            select(PlanVersion.id)
            .where(PlanVersion.plan_id == self.plan_id)
            .order_by(PlanVersion.number.desc())
            .limit(1)
        )
        # The client's notification settings: keyed by the client, not by an id of their own.
        versions["preference"] = (
            db.scalar(select(ContactPreference.version).where(ContactPreference.client_id == self.client_id))
            or 0
        )
        # Publishing posts the state of the texts the page showed.
        article = db.scalar(
            select(KnowledgeArticle)
            .where(KnowledgeArticle.id == self.article_id)
            .options(selectinload(KnowledgeArticle.texts))
        )
        state = knowledge.state_token(article) if article else ""
        # Ending the plan records how each of its goals was attained (the goals the plan has now).
        goals = tuple(
            db.scalars(
                select(PlanGoal.id).where(PlanGoal.plan_id == self.plan_id).order_by(PlanGoal.position)
            )
        )
        db.rollback()
        return dataclasses.replace(
            self,
            versions=versions,
            presented_version_id=presented or self.presented_version_id,
            goal_ids=goals,
            article_state=state,
        )

    def nonexistent(self) -> Target:
        """Random ids: a refusal for another organisation's object must look exactly like this one."""
        return dataclasses.replace(
            self,
            client_id=uuid.uuid4(),
            related_client_id=uuid.uuid4(),
            staff_id=uuid.uuid4(),
            passkey_id=uuid.uuid4(),
            assessment_id=uuid.uuid4(),
            measure_id=uuid.uuid4(),
            plan_id=uuid.uuid4(),
            plan_service_id=uuid.uuid4(),
            removable_service_id=uuid.uuid4(),
            presented_version_id=uuid.uuid4(),
            overview_id=uuid.uuid4(),
            transfer_client_id=uuid.uuid4(),
            programme_service_id=uuid.uuid4(),
            translation_id=uuid.uuid4(),
            period_id=uuid.uuid4(),
            appointment_id=uuid.uuid4(),
            removable_appointment_id=uuid.uuid4(),
            task_id=uuid.uuid4(),
            thread_id=uuid.uuid4(),
            message_id=uuid.uuid4(),
            message_translation_id=uuid.uuid4(),
            request_id=uuid.uuid4(),
            translated_request_id=uuid.uuid4(),
            template_id=uuid.uuid4(),
            template_text_id=uuid.uuid4(),
            group_id=uuid.uuid4(),
            group_text_id=uuid.uuid4(),
            draft_group_id=uuid.uuid4(),
            contact_id=uuid.uuid4(),
            stakeholder_message_id=uuid.uuid4(),
            invitation_id=uuid.uuid4(),
            plan_translation_id=uuid.uuid4(),
            cooperation_id=uuid.uuid4(),
            cooperation_request_id=uuid.uuid4(),
            declinable_request_id=uuid.uuid4(),
            api_client_id=uuid.uuid4(),
            contract_id=uuid.uuid4(),
            attachment_id=uuid.uuid4(),
            cost_id=uuid.uuid4(),
            claim_id=uuid.uuid4(),
            survey_id=uuid.uuid4(),
            hold_id=uuid.uuid4(),
            goal_ids=tuple(uuid.uuid4() for _ in self.goal_ids),
            article_id=uuid.uuid4(),
            article_text_id=uuid.uuid4(),
            question_id=uuid.uuid4(),
            dismissable_question_id=uuid.uuid4(),
            referral_id=uuid.uuid4(),
            declinable_referral_id=uuid.uuid4(),
            guidance_plan_id=uuid.uuid4(),
            guidance_task_id=uuid.uuid4(),
            import_id=uuid.uuid4(),
            outreach_item_id=uuid.uuid4(),
            item_benefit_id=uuid.uuid4(),
            linkable_item_id=uuid.uuid4(),
            benefit_id=uuid.uuid4(),
            arrival_id=uuid.uuid4(),
            arrival_person_id=uuid.uuid4(),
            removable_person_id=uuid.uuid4(),
            consultation_id=uuid.uuid4(),
            placement_id=uuid.uuid4(),
            checklist_item_id=uuid.uuid4(),
            topic_id=uuid.uuid4(),
            visit_id=uuid.uuid4(),
            removable_visit_id=uuid.uuid4(),
        )


# Target fields naming a record whose version a form posts back → the record's model.
VERSIONED: dict[str, Any] = {
    "client_id": Client,
    "staff_id": Staff,
    "assessment_id": Assessment,
    "measure_id": RefiningMeasure,
    "plan_id": IntegrationPlan,
    "plan_service_id": PlanService,
    "overview_id": FamilyOverview,
    "transfer_client_id": Client,
    "programme_service_id": ProgrammeService,
    "translation_id": ProgrammeServiceText,
    "period_id": ProgrammePeriod,
    "appointment_id": Appointment,
    "task_id": Task,
    "message_translation_id": MessageTranslation,
    "request_id": TranslationRequest,
    "translated_request_id": TranslationRequest,
    "template_id": MessageTemplate,
    "template_text_id": MessageTemplateText,
    "group_id": GroupMessage,
    "group_text_id": GroupMessageText,
    "contact_id": StakeholderContact,
    "plan_translation_id": PlanTextTranslation,
    "cooperation_id": CountyCooperation,
    "cooperation_request_id": CountyCooperation,
    "declinable_request_id": CountyCooperation,
    "contract_id": Contract,
    "cost_id": Cost,
    "claim_id": CompensationClaim,
    "survey_id": Survey,
    "hold_id": RetentionHold,
    "article_id": KnowledgeArticle,
    "article_text_id": KnowledgeArticleText,
    "question_id": GuidanceQuestion,
    "dismissable_question_id": GuidanceQuestion,
    "referral_id": AuthorityReferral,
    "declinable_referral_id": AuthorityReferral,
    "guidance_plan_id": GuidancePlan,
    "guidance_task_id": GuidanceTask,
    "outreach_item_id": OutreachItem,
    "item_benefit_id": Benefit,
    "linkable_item_id": OutreachItem,
    "benefit_id": Benefit,
    "arrival_id": Arrival,
    "arrival_person_id": ArrivalPerson,
    "removable_person_id": ArrivalPerson,
    "consultation_id": ArrivalConsultation,
    "placement_id": Arrival,
    "topic_id": GuidanceTopic,
    "visit_id": GuidanceVisit,
    "removable_visit_id": GuidanceVisit,
}


@dataclass(frozen=True)
class World:
    actors: dict[Role, uuid.UUID]
    emails: dict[uuid.UUID, str]
    own: Target  # organisation A's objects; the passkey is the integration officer's
    own_passkeys: dict[Role, tuple[uuid.UUID, str, str]]
    other: Target  # organisation B's objects
    other_organisation_id: uuid.UUID
    other_client_ids: tuple[uuid.UUID, ...]
    other_staff_id: uuid.UUID
    own_client_id: uuid.UUID
    other_granted_client_id: uuid.UUID  # B's second client, granted (basic) to the county actor

    def own_target(self, role: Role) -> Target:
        passkey_id, name, credential = self.own_passkeys[role]
        return dataclasses.replace(
            self.own, passkey_id=passkey_id, passkey_name=name, passkey_credential=credential
        )

    def secrets(self, role: Role) -> tuple[str, ...]:
        """Strings from organisation B's records that no response to an organisation-A actor may contain.

        None of them is ever sent in a request, so an echo of the input cannot trip the check."""
        other = self.other
        found = (
            "Birgitta",  # B's client's first name
            "TMP-BVIERAS1",  # B's client's temporary identifier
            "Salainen terveystieto B",  # B's client's health information
            "Bertil Vierasvirkailija",  # B's officer
            other.staff_email,
            other.passkey_name,
            other.assessment_note,
            B_MEASURE_PROVIDER,  # the provider of the refining measure ordered for B's client
            other.plan_goal,
            other.overview_goals,
            # Issue 5: B's calendar, tasks, messages, translation work and partners' contacts.
            other.appointment_place,
            B_APPOINTMENT_TITLE,
            other.task_title,
            other.thread_subject,
            other.message_body,
            B_TRANSLATION,
            B_TRANSLATED_REQUEST,
            other.template_name,
            B_TEMPLATE_TEXT,
            other.group_title,
            B_GROUP_TEXT,
            other.contact_name,
            B_CONTACT_EMAIL,
            other.stakeholder_subject,
            B_INTERPRETER_NAME,
            # Issue 4: B's client's phone in the app and B's plan in Arabic.
            other.client_passkey_name,
            other.plan_translation_text,
            # Issue 6: B's county note (not shared even with B), the county member taking part for B's
            # client, B's system client, contract and its attachment, cost, survey and retention hold.
            other.county_note,
            B_COUNTY_MEMBER,
            other.api_client_name,
            other.contract_subject,
            other.contract_provider,
            B_ATTACHMENT_TEXT,
            other.invoice_reference,
            other.survey_name,
            other.hold_reason,
            # Issue 7: B's article (in both languages) and B's visitor's question and address.
            other.article_title,
            B_ARTICLE_TITLE_SV,
            other.question_text,
            B_QUESTION_EMAIL,
            # B's referrals (both people: the same last name) and why they were referred; B's guidance task.
            B_REFERRAL_LAST_NAME,
            other.referral_reason,
            B_DECLINABLE_REASON,
            other.guidance_task_description,
            # B's outreach list (both people: the same last name), its file and B's attempt to reach them.
            B_OUTREACH_LAST_NAME,
            other.import_file_name,
            other.outreach_contact_note,
            # B's arrivals: the family (one last name), the proposal, the question to the county, the handover.
            B_ARRIVAL_LAST_NAME,
            *B_ARRIVAL_FIRST_NAMES,
            other.arrival_reference,
            other.consultation_question,
            B_HANDOVER_DATA,
            # B's guidance visit and its topic in every language.
            other.visit_note,
            *B_TOPIC_NAMES,
        )
        programme = (other.programme_name, other.translation_name, other.period_note)
        # B's second client is granted to the county team member, and only to them; the grant also
        # opens B's programme catalogue to them (PROGRAMME_SHARED).
        if role is Role.COUNTY_TEAM_MEMBER:
            return found
        return (*found, "Bruno", *programme)


# The software authenticators of the world's passkeys, by the owner's e-mail address: with a passkey, a
# password sign-in asks for it as the second step (see sign_in below).
AUTHENTICATORS: dict[str, SoftAuthenticator] = {}


def _passkey(db: Session, staff_id: uuid.UUID, name: str) -> tuple[uuid.UUID, str, str]:
    authenticator = SoftAuthenticator(origin="http://testserver.local", rp_id="testserver.local")
    credential = authenticator.credential_id
    key = Passkey(
        staff_id=staff_id, credential_id=credential, public_key=authenticator.cose_public_key(), name=name
    )
    db.add(key)
    db.commit()
    AUTHENTICATORS[db.get(Staff, staff_id).email.casefold()] = authenticator
    return key.id, name, base64.urlsafe_b64encode(credential).rstrip(b"=").decode()


def sign_in(client: TestClient[Litestar], person: Any, password: str = PASSWORD) -> None:
    """The password and, for a person with a passkey (everyone in the world has one), the passkey as the
    second step, as a browser does."""
    answer = post(client, "/officer/sign-in", {"email": person.email, "password": password})
    assert answer.status_code == 302, answer.text
    if answer.headers["location"].startswith("/officer/sign-in/code"):
        headers = {"x-csrftoken": client.cookies["kp_csrf"], "accept": "application/json"}
        options = client.post("/officer/sign-in/code/passkey/options", json={}, headers=headers)
        assertion = AUTHENTICATORS[person.email.casefold()].get(options.json())
        answer = client.post("/officer/sign-in/code/passkey", json=assertion, headers=headers)
        assert answer.status_code == 201, answer.text


B_MEASURE_PROVIDER = "Vieras Kielitestaus B Oy"
# Officer-written texts of both organisations' plans that the client reads in the app (translatable).
PLAN_LANGUAGE_STUDIES = "Kotoutumiskoulutus suomeksi"
PLAN_RATIONALE = "Kielitaito on työllistymisen edellytys."


def plan_dates() -> dict[str, date]:
    """Both organisations' plans in force: started a month ago, the first review and the end ahead."""
    starts = today() - timedelta(days=30)
    return {
        "starts_on": starts,
        "ends_on": starts + timedelta(days=300),
        "next_review_on": starts + timedelta(days=150),
    }


def _programme(db: Session, organisation: Organisation, texts: Mapping[str, str]) -> dict[str, Any]:
    """A service of the organisation's programme: Finnish source text, Swedish translation, one intake."""
    source = {"name": texts["programme_name"], "description": "Keskustellaan suomeksi.", "eligibility": ""}
    digest = content_hash(source)
    translation = ProgrammeServiceText(
        language="sv",
        name=texts["translation_name"],
        description="Vi talar finska.",
        eligibility="",
        origin=TextOrigin.TRANSLATOR,
        source_hash=digest,  # made from the current source: not stale
    )
    period = ProgrammePeriod(
        starts_on=today() + timedelta(days=60),
        ends_on=today() + timedelta(days=120),
        capacity=15,
        language="fi",
        note=texts["period_note"],
    )
    service = ProgrammeService(
        organisation_id=organisation.id,
        service_type=ServiceType.NGO_ACTIVITY,
        provider_name="Kotoutumisyhdistys ry",
        source_language="fi",
        place="Pääkirjasto",
        hours=Decimal(20),
        texts=[
            ProgrammeServiceText(language="fi", origin=TextOrigin.ORIGINAL, source_hash=digest, **source),
            translation,
        ],
        languages=[ProgrammeServiceLanguage(language="fi")],
        periods=[period],
    )
    db.add(service)
    db.commit()
    return {
        "programme_service_id": service.id,
        "programme_name": texts["programme_name"],
        "translation_id": translation.id,
        "translation_name": texts["translation_name"],
        "period_id": period.id,
        "period_note": texts["period_note"],
    }


def _statutory_path(
    db: Session,
    person: Client,
    officer: Staff,
    programme_service_id: uuid.UUID,
    texts: Mapping[str, str],
) -> dict[str, Any]:
    """The client's completed assessment (a plan is needed), a draft amending it with a refining measure
    ordered, and the plan drawn up from it: in force, approved as presented, one programme service."""
    on = today()
    common: dict[str, Any] = {
        "client_id": person.id,
        "organisation_id": person.organisation_id,
        "created_by_id": officer.id,
        "officer_id": officer.id,
        "literacy": Literacy.LATIN_ALPHABET,
        "data_sources": ["client_interview"],
        "told_service_goals": True,
        "told_planning": True,
        "told_rights_and_duties": True,
        "told_data_processing": True,
        "plan_need": PlanNeed.NEEDED,
    }

    def skills() -> list[AssessmentLanguageSkill]:
        return [AssessmentLanguageSkill(language="fi", skill=s, level=Cefr.A1) for s in LanguageSkill]

    completed = Assessment(
        number=1,
        status=AssessmentStatus.COMPLETED,
        assessed_on=on - timedelta(days=40),
        planned_plan_date=on - timedelta(days=30),
        completed_at=utcnow() - timedelta(days=40),
        completed_by_id=officer.id,
        language_skills=skills(),
        **common,
    )
    db.add(completed)
    db.flush()
    draft = Assessment(  # everything completion asks for is there
        number=2,
        previous_id=completed.id,
        status=AssessmentStatus.DRAFT,
        amendment_reason="Kielitestin tulos tarkentaa arviota",
        assessed_on=on - timedelta(days=2),
        planned_plan_date=on + timedelta(days=7),
        literacy_note=texts["assessment_note"],
        language_skills=skills(),
        **common,
    )
    db.add(draft)
    db.flush()
    measure = RefiningMeasure(
        assessment_id=draft.id,
        measure_type=RefiningMeasureType.LANGUAGE_LEVEL_TEST,
        provider_name=texts["measure_provider"],
        ordered_on=on - timedelta(days=5),
        ordered_by_id=officer.id,
        status=MeasureStatus.ORDERED,
    )
    in_plan = PlanService(
        position=0,
        kind=PlanServiceKind.PROGRAMME,
        programme_service_id=programme_service_id,  # no intake: the intake can be deleted
        planned_start=on + timedelta(days=60),
        status=PlanServiceStatus.PLANNED,  # still to refer: on the worklist
        final_tests=[],
    )
    removable = PlanService(
        position=1,
        kind=PlanServiceKind.NGO,
        name="Vapaaehtoistyö eläinsuojeluyhdistyksessä",
        status=PlanServiceStatus.PLANNED,
        final_tests=[],
    )
    plan = IntegrationPlan(
        client_id=person.id,
        organisation_id=person.organisation_id,
        assessment_id=completed.id,
        number=1,
        status=PlanStatus.IN_FORCE,
        officer_id=officer.id,
        **plan_dates(),
        language_studies=PLAN_LANGUAGE_STUDIES,
        rationale=PLAN_RATIONALE,
        duties_explained=True,
        goals=[
            PlanGoal(
                position=0, kind=GoalKind.LONG_TERM, goal_type=GoalType.EMPLOYMENT, text=texts["plan_goal"]
            ),
            PlanGoal(
                position=1,
                kind=GoalKind.PLAN_PERIOD,
                goal_type=GoalType.LANGUAGE_SKILLS,
                text="Suomen kieli A2-tasolle",
            ),
        ],
        services=[in_plan, removable],
        pauses=[],
    )
    db.add_all([measure, plan])
    db.flush()
    content = content_of(plan)
    presented = PlanVersion(
        plan_id=plan.id,
        number=1,
        content=content,
        content_hash=content_hash(content),
        created_by_id=officer.id,
    )
    db.add(presented)
    db.flush()
    db.add(
        PlanApproval(
            plan_version_id=presented.id,
            client_id=person.id,
            method=ApprovalMethod.SIGNED_ON_PAPER,
            recorded_by_id=officer.id,
        )
    )
    db.commit()
    return {
        "assessment_id": draft.id,
        "assessment_note": texts["assessment_note"],
        "measure_id": measure.id,
        "plan_id": plan.id,
        "plan_goal": texts["plan_goal"],
        "plan_service_id": in_plan.id,
        "removable_service_id": removable.id,
        "presented_version_id": presented.id,
    }


def _family_overview(db: Session, officer: Staff, members: list[Client], goals: str) -> uuid.UUID:
    """A family overview of the members, with each member's family-overview consent recorded."""
    for member in members:
        db.add(
            Consent(
                client_id=member.id,
                purpose=ConsentPurpose.FAMILY_OVERVIEW,
                given=True,
                decided_on=today() - timedelta(days=10),
                recorded_by_id=officer.id,
            )
        )
    overview = FamilyOverview(
        organisation_id=members[0].organisation_id,
        created_by_id=officer.id,
        shared_goals=goals,
        family_needs="Lastenhoito kurssin ajaksi",
        members=[FamilyOverviewMember(client_id=m.id) for m in members],
    )
    db.add(overview)
    db.commit()
    return overview.id


# B's texts of issue 5 that have no field of their own in Target (all of them secrets).
B_APPOINTMENT_TITLE = "Salainen tapaaminen B"
B_TRANSLATION = "Salainen käännös B"
B_TRANSLATED_REQUEST = "Salainen pyydetty käännös B"
B_TEMPLATE_TEXT = "Vieras pohjateksti B"
B_GROUP_TEXT = "Vieras ryhmäteksti B"
B_CONTACT_EMAIL = "yhteys@vieras-b.example"
B_INTERPRETER_NAME = "Vieras Ulkotulkki B"
APPOINTMENT_DAY = 7  # days ahead: both organisations' appointments are on the same day, 10–11


def _communication(
    db: Session,
    person: Client,
    officer: Staff,
    assignee: Staff,
    interpreter: Staff | None,
    texts: Mapping[str, str],
) -> dict[str, Any]:
    """Issue 5 for the client: an appointment with the officer (and the interpreter, if any), an
    interpretation of it, a task, a thread with the client's message translated by machine, two
    translation requests, a template, unsent group messages, a partner's contact sent an e-mail, a failed
    notification with its attempts, and the client's notification settings."""
    organisation_id = person.organisation_id
    day = today() + timedelta(days=APPOINTMENT_DAY)

    def appointment(on: date, **fields: Any) -> Appointment:
        return Appointment(
            organisation_id=organisation_id,
            purpose=AppointmentPurpose.GUIDANCE,
            starts_at=at_local(on, time(10)),
            ends_at=at_local(on, time(11)),
            created_by_id=officer.id,
            clients=[AppointmentClient(client_id=person.id)],
            staff=[AppointmentStaff(staff_id=officer.id)],
            **fields,
        )

    booked = appointment(
        day,
        title=texts["appointment_title"],
        street_address=texts["appointment_place"],
        room="B 204",
        interpreter_language="ar",
        interpreter_mode=InterpretationMode.ON_SITE,
        interpreter_id=interpreter.id if interpreter else None,
        interpreter_name=None if interpreter else B_INTERPRETER_NAME,
        interpreter_booked_by_id=officer.id,
        interpreter_booked_at=utcnow(),
    )
    removable = appointment(day + timedelta(days=1), street_address="Kauppakatu 1") if interpreter else None
    db.add_all([booked, *([removable] if removable else [])])
    db.flush()
    db.add(
        InterpretationEvent(
            organisation_id=organisation_id,
            appointment_id=booked.id,
            client_id=person.id,
            language="ar",
            mode=InterpretationMode.ON_SITE,
            interpreter_id=interpreter.id if interpreter else None,
            interpreter_name=None if interpreter else B_INTERPRETER_NAME,
            occurred_on=today() - timedelta(days=3),
            duration_minutes=45,
            recorded_by_id=officer.id,
        )
    )
    task = Task(
        organisation_id=organisation_id,
        title=texts["task_title"],
        due_on=today() + timedelta(days=3),
        assignee_id=assignee.id,
        client_id=person.id,
        created_by_id=officer.id,
    )
    thread = Thread(client_id=person.id, organisation_id=organisation_id, subject=texts["thread_subject"])
    db.add_all([task, thread])
    db.flush()
    body = texts["message_body"]
    message = Message(thread_id=thread.id, author_kind=AuthorKind.CLIENT, language="ar", body=body)
    db.add(message)
    db.flush()
    machine = MessageTranslation(
        message_id=message.id,
        language="fi",
        body=texts["translation"],
        origin=TextOrigin.MACHINE,
        source_hash=content_hash(body),
    )
    request = {
        "organisation_id": organisation_id,
        "message_id": message.id,
        "source_language": "ar",
        "source_text": body,
        "source_hash": content_hash(body),
        "requested_by_id": officer.id,
    }
    open_request = TranslationRequest(
        **request,
        target_language="en",
        status=TranslationStatus.REQUESTED,
        translator_id=interpreter.id if interpreter else None,
    )
    translated = TranslationRequest(
        **request,
        target_language="sv",
        status=TranslationStatus.TRANSLATED,
        translator_id=interpreter.id if interpreter else None,
        translator_name=None if interpreter else B_INTERPRETER_NAME,
        translated_text=texts["translated_request"],
        translated_at=utcnow(),
    )

    def text_rows(model: Any, source: str, swedish: str) -> tuple[Any, Any]:
        digest = content_hash(source)
        return (
            model(language="fi", body=source, origin=TextOrigin.ORIGINAL, source_hash=digest),
            model(language="sv", body=swedish, origin=TextOrigin.TRANSLATOR, source_hash=digest),
        )

    template_texts = text_rows(MessageTemplateText, texts["template_text"], "Mall på svenska")
    template = MessageTemplate(
        organisation_id=organisation_id,
        name=texts["template_name"],
        source_language="fi",
        texts=list(template_texts),
    )
    group_texts = text_rows(GroupMessageText, texts["group_text"], "Kampanj på svenska")
    group = GroupMessage(
        organisation_id=organisation_id,
        kind=GroupKind.CAMPAIGN,
        title=texts["group_title"],
        criteria={"mother_tongue": "ar"},
        source_language="fi",
        created_by_id=officer.id,
        texts=list(group_texts),
    )
    draft = (
        GroupMessage(
            organisation_id=organisation_id,
            kind=GroupKind.GROUP,
            title="Luonnos, poistetaan",
            criteria={"client_ids": [str(person.id)]},
            source_language="fi",
            created_by_id=officer.id,
            texts=[text_rows(GroupMessageText, "Luonnos", "Utkast")[0]],
        )
        if interpreter
        else None
    )
    contact = StakeholderContact(
        organisation_id=organisation_id,
        provider_name=texts["provider_name"],
        name=texts["contact_name"],
        email=texts["contact_email"],
    )
    db.add_all([machine, open_request, translated, template, group, contact, *([draft] if draft else [])])
    db.flush()
    mail = StakeholderMessage(
        organisation_id=organisation_id,
        subject=texts["stakeholder_subject"],
        body="Kurssi alkaa maanantaina.",
        sent_by_id=officer.id,
        recipient_ids=[str(contact.id)],
    )
    failed = OutboxMessage(
        kind=NotificationKind.NEW_MESSAGE,
        channel=Channel.EMAIL,
        client_id=person.id,
        locale="fi",
        payload={"thread_id": str(thread.id)},
        status=OutboxStatus.FAILED,
        attempts=2,
    )
    db.add_all(
        [
            mail,
            failed,
            ContactPreference(
                client_id=person.id,
                push=True,
                email=True,
                sms=False,
                quiet_from=time(21),
                quiet_until=time(7),
            ),
        ]
    )
    db.flush()
    db.add_all(
        [
            OutboxMessage(
                kind=NotificationKind.STAKEHOLDER,
                channel=Channel.EMAIL,
                address=contact.email,
                locale="fi",
                payload={"stakeholder_message_id": str(mail.id)},
                status=OutboxStatus.DELIVERED,
                delivered_at=utcnow(),
            ),
            *(OutboxAttempt(outbox_id=failed.id, worker="w1", ok=False, detail="smtp 550") for _ in range(2)),
        ]
    )
    db.commit()
    return {
        "appointment_id": booked.id,
        "appointment_place": texts["appointment_place"],
        "removable_appointment_id": (removable or booked).id,
        "task_id": task.id,
        "task_title": texts["task_title"],
        "thread_id": thread.id,
        "thread_subject": texts["thread_subject"],
        "message_id": message.id,
        "message_body": body,
        "message_translation_id": machine.id,
        "request_id": open_request.id,
        "translated_request_id": translated.id,
        "template_id": template.id,
        "template_name": texts["template_name"],
        "template_text_id": template_texts[1].id,
        "group_id": group.id,
        "group_title": texts["group_title"],
        "group_text_id": group_texts[1].id,
        "draft_group_id": (draft or group).id,
        "contact_id": contact.id,
        "contact_name": texts["contact_name"],
        "stakeholder_message_id": mail.id,
        "stakeholder_subject": texts["stakeholder_subject"],
    }


def _client_app(
    db: Session, person: Client, officer: Staff, plan_id: uuid.UUID, texts: Mapping[str, str]
) -> dict[str, Any]:
    """Issue 4 for the client: an open invitation to the migrant app (only hashes of its secrets, as the
    app stores them), a passkey and a signed-in phone, and the plan's rationale machine-translated into
    Arabic, not yet checked by a person."""
    now = utcnow()
    invitation = ClientInvitation(
        client_id=person.id,
        token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        short_code_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        created_by_id=officer.id,
        created_at=now - timedelta(days=1),
        expires_at=now + timedelta(days=6),
    )
    translation = PlanTextTranslation(
        plan_id=plan_id,
        source_key="rationale",
        language="ar",
        text=texts["plan_translation"],
        origin=TextOrigin.MACHINE,
        source_hash=content_hash(PLAN_RATIONALE),
    )
    db.add_all(
        [
            invitation,
            translation,
            ClientPasskey(
                client_id=person.id,
                credential_id=uuid.uuid4().bytes,
                public_key=b"\x00" * 32,
                name=texts["client_passkey"],
            ),
            ClientSession(
                token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                client_id=person.id,
                expires_at=now + timedelta(days=30),
            ),
        ]
    )
    db.commit()
    return {
        "invitation_id": invitation.id,
        "client_passkey_name": texts["client_passkey"],
        "plan_translation_id": translation.id,
        "plan_translation_text": texts["plan_translation"],
    }


# B's texts of issue 6 that have no field of their own in Target (all of them secrets).
B_COUNTY_MEMBER = "Dagmar Vierasmaakunta"  # the county member who takes part for B's client (county D)
B_ATTACHMENT_TEXT = "Salainen liitesivu B"  # what B's contract attachment says
A_ATTACHMENT_TEXT = "Oma liitesivu A"
B_ARTICLE_TITLE_SV = "Främmande bostadsartikel B"  # B's article in Swedish (issue 7)
B_QUESTION_EMAIL = "kysyja@vieras-b.example"  # where B's visitor wants the answer


def _pdf(text: str) -> bytes:
    """A small, real PDF (a catalogue and nothing else) whose comment line says `text`."""
    return (
        b"%PDF-1.7\n% " + text.encode() + b"\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def _county_cooperation(
    db: Session,
    person: Client,
    sibling: Client,
    third: Client | None,
    officer: Staff,
    county: Organisation,
    member: Staff,
    texts: Mapping[str, str],
) -> dict[str, Any]:
    """Multi-sector cooperation (services 6 and 18): the client's accepted cooperation with the county,
    the county member named responsible and granted the client's basic data, and a note of theirs on the
    client (shared with the responsible organisation, or not); the sibling's request to the same county
    and, if given, a third client's, both unanswered. Each with the client's sharing consent, as a request
    records it."""
    earlier = utcnow() - timedelta(days=14)

    def cooperation(client: Client, **fields: Any) -> CountyCooperation:
        consent = Consent(
            client_id=client.id,
            purpose=ConsentPurpose.WELLBEING_COUNTY_SHARING,
            given=True,
            decided_on=today() - timedelta(days=14),
            recorded_by_id=officer.id,
        )
        db.add(consent)
        db.flush()
        record = CountyCooperation(
            client_id=client.id,
            organisation_id=client.organisation_id,
            county_id=county.id,
            reason="Mielenterveyspalvelujen tarve",
            consent_id=consent.id,
            requested_by_id=officer.id,
            requested_at=earlier,
            **fields,
        )
        db.add(record)
        db.flush()
        return record

    accepted = cooperation(
        person,
        status=CooperationStatus.ACCEPTED,
        decided_by_id=member.id,
        decided_at=earlier + timedelta(days=2),
        responsible_staff_id=member.id,
        contact_details="puh. 029 123 4567",
    )
    request = cooperation(sibling, status=CooperationStatus.REQUESTED)
    declinable = cooperation(third, status=CooperationStatus.REQUESTED) if third else request
    db.add_all(
        [
            ClientAccessGrant(
                client_id=person.id,
                staff_id=member.id,
                category=DataCategory.BASIC,
                granted_by_id=member.id,
                reason=accepted.reason,
                cooperation_id=accepted.id,
            ),
            CountyNote(
                client_id=person.id,
                organisation_id=county.id,
                author_id=member.id,
                cooperation_id=accepted.id,
                topic=CountyNoteTopic.SOCIAL_HEALTH,
                shared=texts["note_shared"] == "yes",
                text=texts["county_note"],
            ),
        ]
    )
    db.commit()
    return {
        "county_id": county.id,
        "county_member_id": member.id,
        "cooperation_id": accepted.id,
        "cooperation_request_id": request.id,
        "declinable_request_id": declinable.id,
        "county_note": texts["county_note"],
    }


def _back_office(
    db: Session, settings: Settings, person: Client, officer: Staff, texts: Mapping[str, str]
) -> dict[str, Any]:
    """The organisation's own records of issue 6: a system client of the county API, a housing lease for
    the client with a PDF attached (stored through app.domain.uploads, so the file is on disk), a cost of
    the client's that the compensation rules accept (social assistance in the first year) and a draft claim
    whose period holds it, an inactive survey with one question, and a retention hold on the client."""
    organisation_id = person.organisation_id
    on = today()
    system = ApiClient(
        organisation_id=organisation_id,
        name=texts["api_client_name"],
        client_key="kp-" + uuid.uuid4().hex,
        secret_hash=api_clients.hash_secret(api_clients.new_secret()),
        created_by_id=officer.id,
    )
    contract = Contract(
        organisation_id=organisation_id,
        kind=ContractKind.HOUSING_LEASE,
        subject=texts["contract_subject"],
        provider_name=texts["contract_provider"],
        starts_on=on - timedelta(days=200),
        ends_on=on + timedelta(days=400),
        value=Decimal("9600.00"),
        renewal_notice_days=90,
        responsible_staff_id=officer.id,
        client_id=person.id,
    )
    cost = Cost(
        organisation_id=organisation_id,
        client_id=person.id,
        category=CostCategory.SOCIAL_ASSISTANCE,
        amount=Decimal("245.50"),
        incurred_on=on - timedelta(days=10),
        accounting_code="4310",
        invoice_reference=texts["invoice_reference"],
        recorded_by_id=officer.id,
    )
    claim = CompensationClaim(
        organisation_id=organisation_id,
        period_start=on - timedelta(days=60),
        period_end=on,
        status=ClaimStatus.DRAFT,
        created_by_id=officer.id,
    )
    survey = Survey(
        organisation_id=organisation_id,
        name=texts["survey_name"],
        audience=SurveyAudience.APPOINTMENT,
        active=False,
    )
    hold = RetentionHold(
        client_id=person.id,
        reason=texts["hold_reason"],
        placed_by_id=officer.id,
        placed_at=utcnow() - timedelta(days=3),
    )
    db.add_all([system, contract, cost, claim, survey, hold])
    db.flush()
    stored = uploads.store(settings, io.BytesIO(_pdf(texts["attachment_text"])), "vuokrasopimus.pdf")
    attachment = ContractAttachment(
        contract_id=contract.id,
        filename=stored.filename,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        storage_name=stored.storage_name,
        uploaded_by_id=officer.id,
    )
    db.add_all(
        [
            attachment,
            SurveyQuestion(
                survey_id=survey.id,
                position=1,
                kind=QuestionKind.RATING,
                texts={"fi": "Oliko tapaamisesta apua?"},
            ),
        ]
    )
    db.commit()
    return {
        "api_client_id": system.id,
        "api_client_name": texts["api_client_name"],
        "contract_id": contract.id,
        "contract_subject": texts["contract_subject"],
        "contract_provider": texts["contract_provider"],
        "attachment_id": attachment.id,
        "attachment_text": texts["attachment_text"],
        "cost_id": cost.id,
        "invoice_reference": texts["invoice_reference"],
        "claim_id": claim.id,
        "survey_id": survey.id,
        "survey_name": texts["survey_name"],
        "hold_id": hold.id,
        "hold_reason": texts["hold_reason"],
    }


def _knowledge_base(
    db: Session, officer: Staff, texts: Mapping[str, str], *, second_question: bool
) -> dict[str, Any]:
    """Issue 7: the organisation's published article (Finnish, a translator's Swedish text, version 1 on
    the public pages) and a visitor's open question about it, with an address for the answer (and, if
    asked for, a second open question)."""
    source = KnowledgeArticleText(
        language="fi",
        title=texts["article_title"],
        summary="Näin haet vuokra-asuntoa.",
        body="Hae asuntoa kaupungin vuokrataloyhtiöltä.",
        origin=TextOrigin.ORIGINAL,
        source_hash="",
        edited_by_id=officer.id,
    )
    source.source_hash = knowledge.hash_of(source)
    swedish = KnowledgeArticleText(
        language="sv",
        title=texts["article_title_sv"],
        summary="Så söker du en hyresbostad.",
        body="Sök en bostad hos stadens hyresbolag.",
        origin=TextOrigin.TRANSLATOR,
        source_hash=source.source_hash,
        edited_by_id=officer.id,
    )
    article = KnowledgeArticle(
        organisation_id=officer.organisation_id,
        topic=ArticleTopic.HOUSING,
        slug=texts["slug"],
        status=ArticleStatus.PUBLISHED,
        source_language="fi",
        published_at=utcnow() - timedelta(days=5),
        created_by_id=officer.id,
        texts=[source, swedish],
    )
    db.add(article)
    db.flush()
    content = knowledge.current_content(article)
    db.add(
        KnowledgeArticleVersion(
            article_id=article.id,
            number=1,
            content=content,
            content_hash=content_hash(content),
            published_by_id=officer.id,
        )
    )

    def question(text: str, email: str | None) -> GuidanceQuestion:
        asked = GuidanceQuestion(
            organisation_id=officer.organisation_id,
            language="fi",
            topic=ArticleTopic.HOUSING,
            article_id=article.id,
            text=text,
            email=email,
            status=QuestionStatus.OPEN,
        )
        db.add(asked)
        return asked

    asked = question(texts["question"], texts["question_email"])
    other = question("Voiko asunnon vaihtaa?", None) if second_question else asked
    db.commit()
    return {
        "article_id": article.id,
        "article_title": texts["article_title"],
        "article_text_id": swedish.id,
        "question_id": asked.id,
        "question_text": texts["question"],
        "dismissable_question_id": other.id,
    }


# B's texts of the referrals by another authority that have no field of their own in Target (secrets).
B_REFERRAL_LAST_NAME = "Vieraslähetetty"  # both of B's referred people
B_DECLINABLE_REASON = "Salainen toinen lähete B"


def _referrals(db: Session, organisation: Organisation, texts: Mapping[str, str]) -> dict[str, Any]:
    """Referrals by another authority (service 20): two people referred to the organisation, with their
    consent, neither decided yet. Nobody in the register matches the first (accepting it registers a new
    client); the second is the one declined."""
    received = utcnow() - timedelta(days=2)

    def referral(first_names: str, reason: str, born: date) -> AuthorityReferral:
        return AuthorityReferral(
            organisation_id=organisation.id,
            status=ReferralStatus.RECEIVED,
            authority_name="Kela, Keskustan palvelupiste",
            contact_name="Kalle Lähettäjä",
            contact_email="lahettaja@kela.example",
            first_names=first_names,
            last_name=texts["last_name"],
            date_of_birth=born,
            language="so",  # not Arabic: the campaign of issue 5 still goes to Aino alone
            reason=reason,
            consent_given=True,
            consent_on=today() - timedelta(days=3),
            received_at=received,
        )

    accepted = referral(texts["first_names"], texts["reason"], date(1990, 5, 5))
    declined = referral(texts["second_first_names"], texts["second_reason"], date(1993, 7, 7))
    db.add_all([accepted, declined])
    db.commit()
    return {
        "referral_id": accepted.id,
        "referral_person": f"{texts['last_name']}, {texts['first_names']}",
        "referral_reason": texts["reason"],
        "declinable_referral_id": declined.id,
    }


def _guidance_plan(
    db: Session, person: Client, officer: Staff, description: str, for_client: Client | None = None
) -> dict[str, Any]:
    """Initial guidance (3.4.6): the client's active plan, including the family, started two weeks ago,
    with one weekly task (for `for_client`, a linked family member, if given), first due two days ago and
    never done: overdue, so on the upcoming list."""
    plan = GuidancePlan(
        client_id=person.id,
        status=GuidancePlanStatus.ACTIVE,
        includes_family=True,
        starts_on=today() - timedelta(days=14),
        created_by_id=officer.id,
    )
    db.add(plan)
    db.flush()
    task = GuidanceTask(
        plan_id=plan.id,
        kind=GuidanceTaskKind.HOUSING_GUIDANCE,
        description=description,
        for_client_id=for_client.id if for_client else None,
        first_due_on=today() - timedelta(days=2),
        every_days=7,
    )
    db.add(task)
    db.commit()
    return {
        "guidance_plan_id": plan.id,
        "guidance_task_id": task.id,
        "guidance_task_description": description,
    }


# B's texts of outreach, arrivals and guidance visits that have no field of their own in Target (secrets).
B_OUTREACH_LAST_NAME = "Vierasetsitty"  # both people on B's outreach list
B_ARRIVAL_LAST_NAME = "Vierastulokas"  # B's quota-refugee family
B_ARRIVAL_FIRST_NAMES = ("Bashir Vieras", "Basma Vieras")
B_HANDOVER_DATA = "Salainen siirtotieto B: tarvitsee tukea velkojen kanssa"
B_TOPIC_NAMES = ("Vieras aihe B", "Främmande ämne B", "Foreign topic B")
# What A's outreach person and A's family are called (the forms post these names back unchanged: never B's).
OUTREACH_FIRST_NAMES, OUTREACH_LAST_NAME = "Aada", "Omaetsitty"
ARRIVAL_FIRST_NAMES, ARRIVAL_LAST_NAME = ("Amir Oma", "Aisha Oma"), "Omatulokas"


def _outreach(db: Session, person: Client, officer: Staff, texts: Mapping[str, str]) -> dict[str, Any]:
    """Outreach (3.4.4) and benefit data: an imported Kela list; a person from it to be reached (not a
    client), with the benefit the list gave and an unanswered call; another person an officer added (the
    one linked to `person`); and the client's own benefit, recorded by an officer."""
    organisation_id = person.organisation_id
    record = OutreachImport(
        organisation_id=organisation_id,
        source=ImportSource.KELA,
        file_name=texts["file_name"],
        content_sha256=hashlib.sha256(texts["file_name"].encode()).hexdigest(),
        mode=ImportMode.ALL_OR_NOTHING,
        rows_total=1,
        rows_imported=1,
        rows_unchanged=0,
        rows_rejected=0,
        imported_by_id=officer.id,
    )
    db.add(record)
    db.flush()
    item = OutreachItem(
        organisation_id=organisation_id,
        status=OutreachStatus.TO_REACH,
        reason=OutreachReason.SOCIAL_ASSISTANCE,
        identity_code=texts["identity_code"],
        first_names=texts["first_names"],
        last_name=texts["last_name"],
        date_of_birth=date.fromisoformat(texts["born"]),
        first_permit_date=today() - timedelta(days=400),
        language="so",
        last_import_id=record.id,
        created_by_id=officer.id,
    )
    linkable = OutreachItem(
        organisation_id=organisation_id,
        status=OutreachStatus.REACHED,
        reason=OutreachReason.OTHER,
        first_names=texts["second_first_names"],
        last_name=texts["last_name"],
        created_by_id=officer.id,
    )
    db.add_all([item, linkable])
    db.flush()
    from_list = Benefit(
        organisation_id=organisation_id,
        outreach_item_id=item.id,
        type=BenefitType.SOCIAL_ASSISTANCE,
        status=BenefitStatus.RECEIVING,
        starts_on=date(2025, 1, 1),
        source=BenefitSource.IMPORT,
        import_id=record.id,
    )
    own = Benefit(
        organisation_id=organisation_id,
        client_id=person.id,
        type=BenefitType.HOME_CARE_ALLOWANCE,
        status=BenefitStatus.RECEIVING,
        starts_on=today() - timedelta(days=60),
        source=BenefitSource.OFFICER,
        recorded_by_id=officer.id,
    )
    db.add_all(
        [
            from_list,
            own,
            OutreachContact(
                item_id=item.id,
                channel=ContactChannel.PHONE,
                attempted_on=today() - timedelta(days=1),
                outcome=ContactOutcome.NO_ANSWER,
                note=texts["contact_note"],
                recorded_by_id=officer.id,
            ),
        ]
    )
    db.commit()
    return {
        "import_id": record.id,
        "import_file_name": texts["file_name"],
        "outreach_item_id": item.id,
        "outreach_name": f"{texts['last_name']}, {texts['first_names']}",
        "outreach_identity_code": texts["identity_code"],
        "outreach_contact_note": texts["contact_note"],
        "item_benefit_id": from_list.id,
        "linkable_item_id": linkable.id,
        "benefit_id": own.id,
    }


def _arrivals(
    db: Session, organisation: Organisation, officer: Staff, county_id: uuid.UUID, texts: Mapping[str, Any]
) -> dict[str, Any]:
    """Planned arrivals: the ELY centre's quota-refugee proposal of a family of two (head of family and
    another relative), its anonymised summary sent to the county with a question, not yet answered; and a
    municipal placement from a reception centre, handed over with consent, move-in step "keys" done."""
    quota = Arrival(
        organisation_id=organisation.id,
        kind=ArrivalKind.QUOTA_REFUGEES,
        status=ArrivalStatus.CONSULTING,
        reference=texts["reference"],
        received_on=today() - timedelta(days=10),
        sender="Uudenmaan ELY-keskus",
        responsible_officer_id=officer.id,
        created_by_id=officer.id,
    )
    placement = Arrival(
        organisation_id=organisation.id,
        kind=ArrivalKind.MUNICIPAL_PLACEMENT,
        status=ArrivalStatus.PROPOSED,
        reference=texts["placement_reference"],
        received_on=today() - timedelta(days=5),
        sender="Vastaanottokeskus",
        handover_consent_on=today() - timedelta(days=5),
        handover_data=texts["handover"],
        responsible_officer_id=officer.id,
        created_by_id=officer.id,
    )
    db.add_all([quota, placement])
    db.flush()
    head_names, relative_names = texts["first_names"]
    head = ArrivalPerson(
        arrival_id=quota.id,
        role=ArrivalRole.HEAD,
        first_names=head_names,
        last_name=texts["last_name"],
        date_of_birth=date(1980, 1, 1),
        citizenship="SY",
        mother_tongue="ar",
        interpreter_needed=True,
    )
    relative = ArrivalPerson(
        arrival_id=quota.id,
        role=ArrivalRole.OTHER_RELATIVE,
        first_names=relative_names,
        last_name=texts["last_name"],
        date_of_birth=date(1955, 2, 2),
        citizenship="SY",
        mother_tongue="ar",
        special_needs="Pyörätuoli",
    )
    db.add_all([head, relative])
    db.flush()
    consultation = ArrivalConsultation(
        arrival_id=quota.id,
        county_id=county_id,
        status=ConsultationStatus.SENT,
        summary=anonymised_summary(quota, [head, relative]),
        question=texts["question"],
        sent_by_id=officer.id,
        sent_at=utcnow() - timedelta(days=3),
    )
    step = ArrivalChecklistItem(
        arrival_id=placement.id, key="keys", done_on=today() - timedelta(days=1), done_by_id=officer.id
    )
    db.add_all([consultation, step])
    db.commit()
    return {
        "arrival_id": quota.id,
        "arrival_reference": texts["reference"],
        "arrival_person_id": head.id,
        "arrival_person_name": f"{texts['last_name']}, {head_names}",
        "removable_person_id": relative.id,
        "consultation_id": consultation.id,
        "consultation_question": texts["question"],
        "placement_id": placement.id,
        "checklist_item_id": step.id,
    }


def _guidance_visits(
    db: Session, person: Client, recorder: Staff, texts: Mapping[str, Any]
) -> dict[str, Any]:
    """Guidance and counselling (service 4): the organisation's two visit topics, the client's consent to
    keeping guidance records, and two visits recorded today by `recorder` (so still theirs to change): the
    client's, with a note, and an anonymous one."""
    organisation_id = person.organisation_id
    topics = [
        GuidanceTopic(
            organisation_id=organisation_id,
            name_fi=fi,
            name_sv=sv,
            name_en=en,
            active=True,
            position=position,
        )
        for position, (fi, sv, en) in enumerate(texts["topics"], start=1)
    ]
    consent = Consent(
        client_id=person.id,
        purpose=ConsentPurpose.GUIDANCE_RECORDS,
        given=True,
        decided_on=today() - timedelta(days=7),
        recorded_by_id=recorder.id,
    )
    db.add_all([*topics, consent])
    db.flush()

    def visit(channel: VisitChannel, minutes: int, **fields: Any) -> GuidanceVisit:
        return GuidanceVisit(
            organisation_id=organisation_id,
            visited_on=today(),
            channel=channel,
            duration_minutes=minutes,
            language="fi",
            recorded_by_id=recorder.id,
            recorded_at=utcnow(),
            **fields,
        )

    identified = visit(
        VisitChannel.WALK_IN, 30, client_id=person.id, consent_id=consent.id, note=texts["note"]
    )
    anonymous = visit(VisitChannel.PHONE, 10)
    db.add_all([identified, anonymous])
    db.flush()
    db.add_all(
        [
            GuidanceVisitTopic(visit_id=identified.id, topic_id=topics[0].id),
            GuidanceVisitTopic(visit_id=anonymous.id, topic_id=topics[1].id),
            GuidanceVisitReferral(visit_id=identified.id, referral=VisitReferral.KELA),
        ]
    )
    db.commit()
    return {
        "topic_id": topics[0].id,
        "topic_name": topics[0].name_fi,
        "visit_id": identified.id,
        "visit_note": texts["note"],
        "removable_visit_id": anonymous.id,
    }


@pytest.fixture(scope="module")
def settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The app and the factory store contract attachments (issue 6) in a directory of this module's own."""
    return dataclasses.replace(settings, attachments_dir=tmp_path_factory.mktemp("attachments"))


def build_world(factory: Any, db: Session) -> World:
    home = factory.organisation("Kunta A", OrganisationType.MUNICIPALITY)
    homes = {
        OrganisationType.MUNICIPALITY: home,
        OrganisationType.WELLBEING_COUNTY: factory.organisation(
            "Hyvinvointialue C", OrganisationType.WELLBEING_COUNTY
        ),
        OrganisationType.SERVICE_PROVIDER: factory.organisation(
            "Tulkkauspalvelu P", OrganisationType.SERVICE_PROVIDER
        ),
    }
    other = factory.organisation("Kunta B", OrganisationType.MUNICIPALITY)

    actors = {}
    for role in Role:
        person = factory.staff(homes[HOME_TYPE[role]], role)
        person.full_name = ACTOR_NAMES[role]
        actors[role] = person
    colleague = factory.staff(home, Role.INTEGRATION_OFFICER, email="aleksi.kollega@kunta-a.example")
    colleague.full_name = "Aleksi Omakollega"
    officer_b = factory.staff(other, Role.INTEGRATION_OFFICER, email="bertil.vieras@kunta-b.example")
    officer_b.full_name = "Bertil Vierasvirkailija"
    # B's clients' county: another county than the county actor's.
    other_county = factory.organisation("Hyvinvointialue D", OrganisationType.WELLBEING_COUNTY)
    member_d = factory.staff(other_county, Role.COUNTY_TEAM_MEMBER)
    member_d.full_name = B_COUNTY_MEMBER
    db.commit()

    client_b = factory.client(
        other,
        first_names="Birgitta",
        last_name="Vieraskuntalainen",
        identity_code="131052-308T",
        temporary_identifier="TMP-BVIERAS1",
        date_of_birth=date(1952, 10, 13),
        phone="+358401234567",
        email="birgitta@example.fi",
        permit_type=PermitType.INTERNATIONAL_PROTECTION,  # compensated (issue 6): B's cost is eligible
        first_residence_on=today() - timedelta(days=100),
    )
    granted_b = factory.client(other, first_names="Bruno", last_name="Vieraskuntalainen")
    client_a = factory.client(
        home,
        first_names="Aino",
        last_name="Omakuntalainen",
        mother_tongue="ar",  # the campaign of issue 5 goes to Arabic speakers
        date_of_birth=date(1985, 6, 15),
        phone="+358409876543",
        email="aino@example.fi",
        permit_type=PermitType.INTERNATIONAL_PROTECTION,  # compensated (issue 6): her costs go to a claim
        first_residence_on=today() - timedelta(days=100),
    )
    sibling_a = factory.client(home, first_names="Aapo", last_name="Omakuntalainen")
    # Asked about in another request to the county actor's county: the one the county declines.
    asked_a = factory.client(home, first_names="Alma", last_name="Omapyytäjä")
    db.add_all(
        [
            HealthInformation(
                client_id=client_b.id,
                text="Salainen terveystieto B",
                source="B:n lääkäri",
                recorded_by_id=officer_b.id,
            ),
            HealthInformation(
                client_id=client_a.id,
                text="Oma terveystieto A",
                source="A:n lääkäri",
                recorded_by_id=colleague.id,
            ),
            FamilyLink(client_id=client_b.id, related_client_id=granted_b.id, relation=FamilyRelation.SPOUSE),
            FamilyLink(client_id=granted_b.id, related_client_id=client_b.id, relation=FamilyRelation.SPOUSE),
            ClientAccessGrant(
                client_id=granted_b.id,
                staff_id=actors[Role.COUNTY_TEAM_MEMBER].id,
                category=DataCategory.BASIC,
                granted_by_id=officer_b.id,
                reason="Monialainen yhteistyö",
            ),
        ]
    )
    db.commit()

    # The statutory path (issue 3), the same in both organisations; B's texts are secrets.
    employment_authority = factory.organisation("Työllisyysalue E", OrganisationType.EMPLOYMENT_AUTHORITY)
    mover_a = factory.client(
        home, first_names="Arvo", last_name="Omasiirtyjä", date_of_birth=date(1979, 2, 2)
    )
    family_a = [
        factory.client(home, first_names="Olli", last_name="Omaperhe", date_of_birth=date(1982, 4, 4)),
        factory.client(home, first_names="Oona", last_name="Omaperhe", date_of_birth=date(2016, 8, 8)),
    ]
    db.add_all(
        [
            FamilyLink(
                client_id=family_a[0].id, related_client_id=family_a[1].id, relation=FamilyRelation.GUARDIAN
            ),
            FamilyLink(
                client_id=family_a[1].id, related_client_id=family_a[0].id, relation=FamilyRelation.CHILD
            ),
            # Aino and Aapo consent to a family overview: the one the officer makes once they are linked.
            *(
                Consent(
                    client_id=person.id,
                    purpose=ConsentPurpose.FAMILY_OVERVIEW,
                    given=True,
                    decided_on=date(2026, 1, 5),
                    recorded_by_id=colleague.id,
                )
                for person in (client_a, sibling_a)
            ),
        ]
    )
    client_b.responsible_officer_id = officer_b.id
    db.commit()
    own_programme = _programme(
        db,
        home,
        {
            "programme_name": "Oma kielikahvila A",
            "translation_name": "Eget språkcafé A",
            "period_note": "Oma syysryhmä A",
        },
    )
    other_programme = _programme(
        db,
        other,
        {
            "programme_name": "Vieras kielikahvila B",
            "translation_name": "Främmande språkcafé B",
            "period_note": "Vieras syysryhmä B",
        },
    )
    own_path = _statutory_path(
        db,
        client_a,
        colleague,
        own_programme["programme_service_id"],
        {
            "assessment_note": "Oma lukutaitohavainto A",
            "measure_provider": "Oma Kielitestaus A Oy",
            "plan_goal": "Oma tavoite A: lähihoitajaksi",
        },
    )
    other_path = _statutory_path(
        db,
        client_b,
        officer_b,
        other_programme["programme_service_id"],
        {
            "assessment_note": "Salainen lukutaitohavainto B",
            "measure_provider": B_MEASURE_PROVIDER,
            "plan_goal": "Salainen tavoite B: sairaanhoitajaksi",
        },
    )
    own_app = _client_app(
        db,
        client_a,
        colleague,
        own_path["plan_id"],
        {"client_passkey": "Ainon oma puhelin A", "plan_translation": "Oma suunnitelmakäännös A"},
    )
    other_app = _client_app(
        db,
        client_b,
        officer_b,
        other_path["plan_id"],
        {
            "client_passkey": "Birgitan salainen puhelin B",
            "plan_translation": "Salainen suunnitelmakäännös B",
        },
    )
    own_cooperation = _county_cooperation(
        db,
        client_a,
        sibling_a,
        asked_a,
        colleague,
        homes[OrganisationType.WELLBEING_COUNTY],
        actors[Role.COUNTY_TEAM_MEMBER],
        {"county_note": "Oma maakunnan muistiinpano A", "note_shared": "yes"},
    )
    other_cooperation = _county_cooperation(
        db,
        client_b,
        granted_b,
        None,
        officer_b,
        other_county,
        member_d,
        {"county_note": "Salainen maakunnan muistiinpano B", "note_shared": "no"},
    )
    own_office = _back_office(
        db,
        factory.settings,
        client_a,
        colleague,
        {
            "api_client_name": "Oma asiakastietojärjestelmä A",
            "contract_subject": "Oma vuokrasopimus A",
            "contract_provider": "Oma Asunto A Oy",
            "attachment_text": A_ATTACHMENT_TEXT,
            "invoice_reference": "Oma lasku A-1",
            "survey_name": "Oma palautekysely A",
            "hold_reason": "Oma vireillä oleva valitus A",
        },
    )
    other_office = _back_office(
        db,
        factory.settings,
        client_b,
        officer_b,
        {
            "api_client_name": "Vieras asiakastietojärjestelmä B",
            "contract_subject": "Salainen vuokrasopimus B",
            "contract_provider": "Vieras Asunto B Oy",
            "attachment_text": B_ATTACHMENT_TEXT,
            "invoice_reference": "Salainen lasku B-77",
            "survey_name": "Vieras palautekysely B",
            "hold_reason": "Salainen valitusasia B",
        },
    )
    own_knowledge = _knowledge_base(
        db,
        colleague,
        {
            "article_title": "Oma asuntoartikkeli A",
            "article_title_sv": "Egen bostadsartikel A",
            "slug": "oma-asuntoartikkeli",
            "question": "Oma kävijän kysymys A: saako asuntoon koiran?",
            "question_email": "kysyja@oma-a.example",
        },
        second_question=True,
    )
    other_knowledge = _knowledge_base(
        db,
        officer_b,
        {
            "article_title": "Vieras asuntoartikkeli B",
            "article_title_sv": B_ARTICLE_TITLE_SV,
            "slug": "vieras-asuntoartikkeli",
            "question": "Salainen kävijän kysymys B: miten haen tukea?",
            "question_email": B_QUESTION_EMAIL,
        },
        second_question=False,
    )
    own_referrals = _referrals(
        db,
        home,
        {
            "first_names": "Aili",
            "last_name": "Omalähetetty",
            "reason": "Oma lähetteen syy A: muutti juuri kuntaan",
            "second_first_names": "Arttu",
            "second_reason": "Oma toinen lähete A",
        },
    )
    other_referrals = _referrals(
        db,
        other,
        {
            "first_names": "Berit",
            "last_name": B_REFERRAL_LAST_NAME,
            "reason": "Salainen lähetteen syy B",
            "second_first_names": "Bengt",
            "second_reason": B_DECLINABLE_REASON,
        },
    )
    own_guidance = _guidance_plan(db, client_a, colleague, "Oma ohjaustehtävä A: asumisen neuvonta")
    # B's plan includes the family: its task is for Birgitta's spouse.
    other_guidance = _guidance_plan(
        db, client_b, officer_b, "Salainen ohjaustehtävä B: vuokrasopimus", for_client=granted_b
    )
    own_outreach = _outreach(
        db,
        client_a,
        colleague,
        {
            "file_name": "oma-kela-lista-A.csv",
            "identity_code": "140388-861X",
            "born": "1988-03-14",
            "first_names": OUTREACH_FIRST_NAMES,
            "last_name": OUTREACH_LAST_NAME,
            "second_first_names": "Anselmi",
            "contact_note": "Oma yhteydenotto A: ei vastannut",
        },
    )
    other_outreach = _outreach(
        db,
        client_b,
        officer_b,
        {
            "file_name": "vieras-kela-lista-B.csv",
            "identity_code": "020994-862L",
            "born": "1994-09-02",
            "first_names": "Berta Vieras",
            "last_name": B_OUTREACH_LAST_NAME,
            "second_first_names": "Benjamin Vieras",
            "contact_note": "Salainen yhteydenotto B: numero vaihtunut",
        },
    )
    # Each organisation's consultation goes to its clients' county: A's to the county actor's.
    own_arrivals = _arrivals(
        db,
        home,
        colleague,
        homes[OrganisationType.WELLBEING_COUNTY].id,
        {
            "reference": "OMA-ELY/2026/1",
            "placement_reference": "OMA-VOK/2026/2",
            "handover": "Oma siirtotieto A: kielikurssi kesken",
            "first_names": ARRIVAL_FIRST_NAMES,
            "last_name": ARRIVAL_LAST_NAME,
            "question": "Oma kysymys A: onko esteetön asunto tarpeen?",
        },
    )
    other_arrivals = _arrivals(
        db,
        other,
        officer_b,
        other_county.id,
        {
            "reference": "VIERAS-ELY/2026/77",
            "placement_reference": "VIERAS-VOK/2026/78",
            "handover": B_HANDOVER_DATA,
            "first_names": B_ARRIVAL_FIRST_NAMES,
            "last_name": B_ARRIVAL_LAST_NAME,
            "question": "Salainen kysymys B: tarvitaanko kotisairaanhoitoa?",
        },
    )
    # A's visits are the officer actor's own (only the recorder changes a visit, on the day).
    own_visits = _guidance_visits(
        db,
        client_a,
        actors[Role.INTEGRATION_OFFICER],
        {
            "topics": [
                ("Oma aihe A: asuminen", "Eget ämne A", "Own topic A"),
                ("Oma aihe A: työ", "Eget ämne A: arbete", "Own topic A: work"),
            ],
            "note": "Oma käyntimuistiinpano A: kysyi vuokravakuudesta",
        },
    )
    other_visits = _guidance_visits(
        db,
        client_b,
        officer_b,
        {
            "topics": [B_TOPIC_NAMES, ("Vieras toinen aihe B", "Främmande andra B", "Foreign second B")],
            "note": "Salainen käyntimuistiinpano B: velkaneuvonta",
        },
    )
    own_overview = _family_overview(db, colleague, family_a, "Oman perheen tavoite A")
    other_overview = _family_overview(db, officer_b, [client_b, granted_b], "Salainen perheen tavoite B")

    interpreter = actors[Role.INTERPRETER]
    own_communication = _communication(
        db,
        client_a,
        colleague,
        actors[Role.INTEGRATION_OFFICER],  # the officer's own task: on their list
        interpreter,
        {
            "appointment_title": "Oma tapaaminen A",
            "appointment_place": "Omakatu 1 A",
            "task_title": "Oma tehtävä A",
            "thread_subject": "Oma viestiketju A",
            "message_body": "Oma asiakasviesti A",
            "translation": "Oma konekäännös A",
            "translated_request": "Oma pyydetty käännös A",
            "template_name": "Oma viestipohja A",
            "template_text": "Oma pohjateksti A",
            "group_title": "Oma kampanja A",
            "group_text": "Oma ryhmäteksti A",
            "provider_name": "Oma Opisto A",
            "contact_name": "Oma Yhteyshenkilö A",
            "contact_email": "yhteys@oma-a.example",
            "stakeholder_subject": "Oma tiedote A",
        },
    )
    other_communication = _communication(
        db,
        client_b,
        officer_b,
        officer_b,
        None,  # an interpreter outside the system: the interpreter actor is booked for none of B's
        {
            "appointment_title": B_APPOINTMENT_TITLE,
            "appointment_place": "Vieraskatu 7 B",
            "task_title": "Salainen tehtävä B",
            "thread_subject": "Salainen viestiketju B",
            "message_body": "Salainen asiakasviesti B",
            "translation": B_TRANSLATION,
            "translated_request": B_TRANSLATED_REQUEST,
            "template_name": "Vieras viestipohja B",
            "template_text": B_TEMPLATE_TEXT,
            "group_title": "Vieras ryhmäviesti B",
            "group_text": B_GROUP_TEXT,
            "provider_name": "Vieras Opisto B",
            "contact_name": "Vieras Yhteyshenkilö B",
            "contact_email": B_CONTACT_EMAIL,
            "stakeholder_subject": "Vieras tiedote B",
        },
    )
    # B's officer's private calendar feed: revoking one's own feed leaves it alone.
    db.add(CalendarFeed(staff_id=officer_b.id, token_hash=hashlib.sha256(b"B-feed").hexdigest()))
    db.commit()

    own_passkeys = {role: _passkey(db, actors[role].id, f"Oma avain {role.value}") for role in Role}
    b_key, b_key_name, b_credential = _passkey(db, officer_b.id, "Bertilin avain")
    ids = {
        "client_b": client_b.id,
        "granted_b": granted_b.id,
        "client_a": client_a.id,
        "sibling": sibling_a.temporary_identifier,
    }
    world = World(
        actors={role: person.id for role, person in actors.items()},
        emails={person.id: person.email for person in [*actors.values(), colleague, officer_b]},
        own=Target(
            organisation_id=home.id,
            client_id=ids["client_a"],
            client_display="Omakuntalainen, Aino",
            phone="+358409876543",
            email="aino@example.fi",
            related_identifier=str(ids["sibling"]),
            related_client_id=sibling_a.id,
            staff_id=colleague.id,
            staff_name="Aleksi Omakollega",
            staff_email="aleksi.kollega@kunta-a.example",
            passkey_id=own_passkeys[Role.INTEGRATION_OFFICER][0],
            passkey_name=own_passkeys[Role.INTEGRATION_OFFICER][1],
            passkey_credential=own_passkeys[Role.INTEGRATION_OFFICER][2],
            **own_path,
            overview_id=own_overview,
            overview_goals="Oman perheen tavoite A",
            transfer_client_id=mover_a.id,
            employment_authority_id=employment_authority.id,
            **own_programme,
            interpreter_id=interpreter.id,
            **own_communication,
            **own_app,
            **own_cooperation,
            **own_office,
            **own_knowledge,
            **own_referrals,
            **own_guidance,
            **own_outreach,
            **own_arrivals,
            **own_visits,
        ),
        own_passkeys=own_passkeys,
        other=Target(
            organisation_id=other.id,
            client_id=ids["client_b"],
            client_display="Vieraskuntalainen, Birgitta",
            phone="+358401234567",
            email="birgitta@example.fi",
            related_identifier=str(ids["sibling"]),
            related_client_id=granted_b.id,
            staff_id=officer_b.id,
            staff_name="Bertil Vierasvirkailija",
            staff_email="bertil.vieras@kunta-b.example",
            passkey_id=b_key,
            passkey_name=b_key_name,
            passkey_credential=b_credential,
            **other_path,
            overview_id=other_overview,
            overview_goals="Salainen perheen tavoite B",
            transfer_client_id=ids["client_b"],  # B's client, as everywhere: refused, nothing moves
            employment_authority_id=employment_authority.id,
            **other_programme,
            interpreter_id=interpreter.id,
            **other_communication,
            **other_app,
            **other_cooperation,
            **other_office,
            **other_knowledge,
            **other_referrals,
            **other_guidance,
            **other_outreach,
            **other_arrivals,
            **other_visits,
        ),
        other_organisation_id=other.id,
        other_client_ids=(ids["client_b"], ids["granted_b"]),
        other_staff_id=officer_b.id,
        own_client_id=ids["client_a"],
        other_granted_client_id=ids["granted_b"],
    )
    db.rollback()
    return world


def sign_in_as(client: TestClient[Litestar], world: World, role: Role) -> None:
    client.cookies.clear()  # a fresh browser: B's officer's session (if any) stays alive
    sign_in(client, _Person(world.emails[world.actors[role]]))


@dataclass(frozen=True)
class _Person:
    email: str


def b_officer_opens_their_client(client: TestClient[Litestar], world: World) -> None:
    """Organisation B's own activity, so the audit log and access history hold B's events."""
    sign_in(client, _Person(world.other.staff_email))
    assert client.get(f"/officer/clients/{world.other.client_id}").status_code == 200
    client.cookies.clear()


# --- the matrix -----------------------------------------------------------------------------------

CLIENT_FORM = {
    "segment": "2",
    "known_on": "2025-03-01",
    "known_how": "municipal_placement",
    "first_names": "Olena",
    "last_name": "Shevchenko",
    "native_name": "Олена Шевченко",
    "citizenship": "UA",
    "mother_tongue": "uk",
    "first_permit_date": "2024-09-01",
    "permit_type": "temporary_protection",
}

Body = Callable[[Target], Any]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # exactly as app.routes names it
    needs: Needs  # the route's permission(s); None: any signed-in member of staff
    other: int  # the answer, for a role holding `needs`, when aimed at organisation B's object
    own: int  # the answer when aimed at the actor's own organisation's object (positive control)
    body: Body | None = None
    json: bool = False
    files: Body | None = None  # a multipart upload: {field: (file name, content, content type)}
    query: Callable[[Target], str] | None = None
    # Text a successful answer about the target shows: present for own objects, absent for B's.
    reveals: Callable[[Target], tuple[str, ...]] = lambda t: ()
    # Tables that gain a row when the request succeeds (every other count must stay as it was).
    creates: tuple[str, ...] = ()
    # Path parameters that name something else on this route than PATH_PARAMETERS says.
    ids: Mapping[str, Callable[[Target], Any]] = field(default_factory=dict)
    # The answer for a role whatever the target, where it differs by design (the reason at the case).
    answers: Mapping[Role, int] = field(default_factory=dict)
    # The answer for a role on its own organisation's object, where it differs from `own` (the reason at
    # the case): e.g. a manager reads a client but does not change the client's task (403).
    own_answers: Mapping[Role, int] = field(default_factory=dict)
    # Roles the policy lets read organisation B's object (the reason at the case): they get the `own`
    # answer and see the object (`reveals`); B's client data (World.secrets) must still never show.
    shared_with: frozenset[Role] = frozenset()

    @property
    def targeted(self) -> bool:
        """Aimed at an object by its id (in the path, or in the query, as the audit and team filters)."""
        return "{" in self.path or self.query is not None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _client_shown(t: Target) -> tuple[str, ...]:
    return (t.client_display,)


def _assessment_shown(t: Target) -> tuple[str, ...]:
    return (t.client_display, t.assessment_note)


def _plan_shown(t: Target) -> tuple[str, ...]:
    return (t.client_display, t.plan_goal)


def _days(n: int) -> str:
    return (today() + timedelta(days=n)).isoformat()


def assessment_form(t: Target) -> dict[str, Any]:
    """The whole draft as the page posts it, complete (completion is the next step)."""
    return {
        "assessment_form": "1",
        "version": t.version("assessment_id"),
        "assessed_on": _days(-2),
        "literacy": "literate_latin",
        "literacy_note": "Lukee sujuvasti latinalaisin kirjaimin",
        **{f"skill_fi_{skill.value}": "A2" for skill in LanguageSkill},
        "data_sources": ["client_interview", "refining_measure"],
        "told_service_goals": "on",
        "told_planning": "on",
        "told_rights_and_duties": "on",
        "told_data_processing": "on",
        "plan_need": "plan_needed",
        "planned_plan_date": _days(7),
        "amendment_reason": "Kielitestin tulos tarkentaa arviota",
    }


def plan_form(t: Target) -> dict[str, Any]:
    """The plan's content with new goals (within §§22–23, complete for presenting)."""
    dates = {name: value.isoformat() for name, value in plan_dates().items()}
    return {
        "version": t.version("plan_id"),
        **dates,
        "goal_kind": ["long_term", "plan_period"],
        "goal_type": ["employment_goal", "language_skills_goal"],
        "goal_text": ["Työ lähihoitajana", "Suomen kieli B1-tasolle"],
        "language_studies": PLAN_LANGUAGE_STUDIES,
        "rationale": PLAN_RATIONALE,
        "duties_explained": "on",
    }


def service_form(name: str, languages: list[str]) -> dict[str, Any]:
    return {
        "service_type": "ngo_activity",
        "provider_id": "",
        "provider_name": "Kotoutumisyhdistys ry",
        "source_language": "fi",
        "languages": languages,
        "place": "Pääkirjasto",
        "hours": "20",
        "active": "on",
        "name": name,
        "description": "Keskustellaan suomeksi.",
        "eligibility": "",
    }


def appointment_form(t: Target, *, starts: str, ends: str) -> dict[str, Any]:
    """A guidance meeting of the target's client with the target's member of staff."""
    return {
        "purpose": "guidance_meeting",
        "day": _days(APPOINTMENT_DAY),
        "starts_time": starts,
        "ends_time": ends,
        "street_address": "Kauppakatu 1",
        "room": "C 101",
        "client_id": str(t.client_id),
        "staff_id": str(t.staff_id),
    }


def period_form(note: str) -> dict[str, str]:
    return {"starts_on": _days(150), "ends_on": _days(210), "capacity": "12", "language": "fi", "note": note}


def contract_form(t: Target) -> dict[str, str]:
    """A housing lease for the target's client, the target's member of staff responsible."""
    return {
        "kind": "housing_lease",
        "subject": "Asunto kiintiöpakolaisperheelle",
        "provider_name": "Kaupungin Vuokratalot Oy",
        "provider_business_id": "0112038-9",
        "provider_contact": "Isännöitsijä, 040 765 4321",
        "starts_on": _days(0),
        "ends_on": _days(365),
        "value": "7 200,00",
        "renewal_notice_days": "60",
        "responsible_staff_id": str(t.staff_id),
        "client_id": str(t.client_id),
        "notes": "",
    }


def cost_form(invoice_reference: str, amount: str, days_ago: int) -> dict[str, str]:
    """Social assistance: compensated for the first year in the municipality (§63)."""
    return {
        "category": "cost_social_assistance",
        "amount": amount,
        "incurred_on": _days(-days_ago),
        "accounting_code": "4310",
        "invoice_reference": invoice_reference,
        "description": "Toimeentulotuki",
    }


def survey_form(name: str, audience: str = "survey_service") -> dict[str, str]:
    return {
        "name": name,
        "audience": audience,
        "rows": "1",
        "q0_position": "1",
        "q0_kind": "question_yes_no",
        "q0_fi": "Saitko tarvitsemasi tiedon?",
    }


# The county team member holds a grant on B's second client (Bruno), so they may read B's programme
# catalogue: app.domain.programme.readable_organisation_ids, deliberately, for joint planning.
PROGRAMME_SHARED = frozenset({Role.COUNTY_TEAM_MEMBER})

# Under /officer/guidance-plans/, plan_id is a guidance plan's and task_id a guidance task's (Case.ids).
GUIDANCE_PLAN: Mapping[str, Callable[[Target], Any]] = {"plan_id": lambda t: t.guidance_plan_id}
GUIDANCE_TASK: Mapping[str, Callable[[Target], Any]] = {
    **GUIDANCE_PLAN,
    "task_id": lambda t: t.guidance_task_id,
}
# Under /officer/outreach/, benefit_id is the outreach item's benefit (from the list), not the client's.
ITEM_BENEFIT: Mapping[str, Callable[[Target], Any]] = {"benefit_id": lambda t: t.item_benefit_id}
# The municipal placement's routes (its checklist, handover and cancelling): arrival_id is the placement.
PLACEMENT: Mapping[str, Callable[[Target], Any]] = {"arrival_id": lambda t: t.placement_id}


def kela_list(t: Target) -> bytes:
    """A Kela list of one person with the target's listed identity code (A: its own outreach person, with
    the same names; B: a person B has listed, unknown to A) receiving social assistance."""
    return (
        "identity_code,last_name,first_names,benefit,benefit_from\n"
        f"{t.outreach_identity_code},{OUTREACH_LAST_NAME},{OUTREACH_FIRST_NAMES},social_assistance,2025-06-01\n"
    ).encode()


MATRIX: list[Case] = [
    # Profile and passkeys: every member of staff, about themselves only.
    Case("GET", "/officer", None, 200, 200),
    Case("GET", "/officer/profile", None, 200, 200, reveals=lambda t: (t.passkey_name,)),
    Case(
        "POST",
        "/officer/profile/passkeys/options",
        None,
        201,  # Litestar's default for a POST handler
        201,
        json=True,
        body=lambda t: {"password": PASSWORD},
        # excludeCredentials lists the signed-in person's own passkeys, never anyone else's.
        reveals=lambda t: (t.passkey_credential,),
    ),
    Case(
        "POST",
        "/officer/profile/passkeys",
        None,
        400,  # an unverifiable credential: refused before anything is stored
        400,
        json=True,
        body=lambda t: {"name": "Uusi", "credential": {"id": t.passkey_credential, "response": {}}},
    ),
    # Removing is scoped to the signed-in person's own passkeys, after the password again: another
    # person's passkey cannot be chosen (422, as an unknown one), nothing is removed.
    Case(
        "POST",
        "/officer/profile/passkeys/remove",
        None,
        422,
        303,
        body=lambda t: {"passkey": str(t.passkey_id), "passkey_password": PASSWORD},
    ),
    # The password and the sessions: the person's own only, after the password again. A common new
    # password is refused (422) after the right current one, so nothing changes and nothing is counted.
    Case(
        "POST",
        "/officer/profile/password",
        None,
        422,
        422,
        body=lambda t: {
            "current_password": PASSWORD,
            "new_password": "Password123!",
            "new_password_again": "Password123!",
        },
    ),
    Case(
        "POST", "/officer/profile/sessions/end", None, 422, 422, body=lambda t: {"session_password": PASSWORD}
    ),
    # The authenticator app: one's own only. A wrong first code is refused; starting and removing need the
    # password (a wrong one here, so that nothing changes: it counts one failure per role, under the limit).
    Case("POST", "/officer/profile/totp/confirm", None, 422, 422, body=lambda t: {"code": "000000"}),
    Case("POST", "/officer/profile/totp/start", None, 422, 422, body=lambda t: {"totp_password": "wrong"}),
    Case("POST", "/officer/profile/totp/remove", None, 422, 422, body=lambda t: {"totp_password": "wrong"}),
    # Recovery codes: one's own only, after the password (a wrong one here: nothing is created).
    Case(
        "POST",
        "/officer/profile/recovery-codes",
        None,
        422,
        422,
        body=lambda t: {"recovery_password": "wrong"},
    ),
    # The client register without an id: scoped queries, never another organisation's client.
    Case("GET", "/officer/clients", Permission.CLIENT_READ, 200, 200),
    Case(
        "POST",
        "/officer/clients/search",
        Permission.CLIENT_READ,
        200,
        200,
        body=lambda t: {"q": t.client_display.split(",")[0]},
        reveals=_client_shown,
    ),
    Case("GET", "/officer/clients/new", Permission.CLIENT_WRITE, 200, 200),
    Case(
        "POST",
        "/officer/clients/duplicates",
        Permission.CLIENT_WRITE,
        200,
        200,
        body=lambda t: {**CLIENT_FORM, "phone": t.phone, "email": t.email, "client_id": ""},
        reveals=_client_shown,
    ),
    Case(
        "POST",
        "/officer/clients",
        Permission.CLIENT_WRITE,
        303,  # B's client with the same phone and e-mail is no duplicate of ours: saved in A
        422,  # our own client with the same phone and e-mail is shown as a probable duplicate
        # organisation_id is not a form field: the new client always belongs to the actor's organisation.
        body=lambda t: {
            **CLIENT_FORM,
            "phone": t.phone,
            "email": t.email,
            "organisation_id": t.organisation_id,
        },
        reveals=_client_shown,
        creates=("client",),
    ),
    # A client by id.
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=_client_shown,
    ),
    # The client page's sections loaded on demand (client_sections.py): the page's permission and client
    # scope; a section the role does not see of its own organisation's client is not found either.
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/sections/messages",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: (t.thread_subject,),
        own_answers={Role.MANAGER: 404, Role.COUNTY_TEAM_MEMBER: 404},  # the messaging permission
    ),
    Case(
        "GET", "/officer/clients/{client_id:uuid}/sections/interpretations", Permission.CLIENT_READ, 404, 200
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/sections/cooperation",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: (t.county_note,),  # A: shared with the organisation; the county wrote it
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/sections/compensation",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: (t.invoice_reference,),
        own_answers={Role.COUNTY_TEAM_MEMBER: 404},  # costs are the responsible organisation's
    ),
    Case("GET", "/officer/clients/{client_id:uuid}/sections/benefits", Permission.CLIENT_READ, 404, 200),
    Case(  # the client's initial guidance plan: whoever may read the client reads it (the county too)
        "GET",
        "/officer/clients/{client_id:uuid}/sections/guidance-plan",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: (t.guidance_task_description,),
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/sections/guidance-visits",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: (t.visit_note,),
        own_answers={Role.COUNTY_TEAM_MEMBER: 404},  # guidance records stay with the organisation
    ),
    Case("GET", "/officer/clients/{client_id:uuid}/sections/family", Permission.CLIENT_READ, 404, 200),
    Case("GET", "/officer/clients/{client_id:uuid}/sections/consents", Permission.CLIENT_READ, 404, 200),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/sections/notifications",
        Permission.CLIENT_READ,
        404,
        200,
        own_answers={Role.COUNTY_TEAM_MEMBER: 404},  # as /deliveries
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/sections/retention",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: (t.hold_reason,),
        own_answers={Role.COUNTY_TEAM_MEMBER: 404},
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/sections/health",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: ("Oma terveystieto A",),
        # Health data: the responsible organisation's integration officers, or a health grant.
        own_answers={Role.MANAGER: 404, Role.COUNTY_TEAM_MEMBER: 404},
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/edit",
        Permission.CLIENT_WRITE,
        404,
        200,
        reveals=_client_shown,
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/access-history",
        Permission.CLIENT_ACCESS_HISTORY,
        404,
        200,
        reveals=_client_shown,
    ),
    # Deadline worklists: the own organisation's clients only (Aino's plan has a service to refer).
    Case(
        "GET",
        "/officer/worklist",
        (Permission.WORKLIST, Permission.TEAM_WORKLIST),
        200,
        200,
        answers={Role.MANAGER: 303},  # a team lead without clients of their own goes to the team view
        reveals=_client_shown,
    ),
    Case(
        "GET",
        "/officer/worklist/team",
        Permission.TEAM_WORKLIST,
        404,  # narrowed to B's officer: not a member of the team
        200,
        query=lambda t: f"officer={t.staff_id}",
        reveals=lambda t: (t.staff_name,),
    ),
    # Initial guidance (3.4.6): Aino's plan, including the family, with a weekly task overdue. Reading it
    # follows the client (the client page above); every change, and a task's edit page, needs CLIENT_WRITE
    # and may_write_client (county staff with a grant, managers: 403). Changes in the order an officer
    # makes them; ending the plan last, so that a new one can start.
    Case(
        "GET",
        "/officer/guidance-plans",
        (Permission.WORKLIST, Permission.TEAM_WORKLIST),  # managers: the whole organisation's
        200,  # B's tasks are never listed
        200,
        reveals=lambda t: (t.client_display, t.guidance_task_description),
    ),
    Case(
        "GET",
        "/officer/guidance-plans/{plan_id:uuid}/tasks/{task_id:uuid}/edit",
        Permission.CLIENT_WRITE,
        404,
        200,
        ids=GUIDANCE_TASK,
        reveals=lambda t: (t.client_display, t.guidance_task_description),
    ),
    Case(
        "POST",
        "/officer/guidance-plans/{plan_id:uuid}/tasks",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids=GUIDANCE_PLAN,
        body=lambda t: {
            "kind": "info_session",
            "description": "Kuntainfo kirjastossa",
            "first_due_on": _days(3),
            "frequency": "once",
        },
        creates=("guidance_task",),
    ),
    Case(  # weekly until a month from now, then every other week
        "POST",
        "/officer/guidance-plans/{plan_id:uuid}/tasks/{task_id:uuid}",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids=GUIDANCE_TASK,
        body=lambda t: {
            "kind": "housing_guidance",
            "description": "Asumisen neuvonta kotikäynneillä",
            "for_client_id": "",
            "first_due_on": _days(-2),
            "frequency": "repeat",
            "every_days": "7",
            "taper": "less_often",
            "taper_on": _days(30),
            "taper_every_days": "14",
            "version": t.version("guidance_task_id"),
        },
    ),
    Case(  # done today: due again in a week
        "POST",
        "/officer/guidance-plans/{plan_id:uuid}/tasks/{task_id:uuid}/done",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids=GUIDANCE_TASK,
        body=lambda t: {"done_on": _days(0), "version": t.version("guidance_task_id")},
    ),
    Case(
        "POST",
        "/officer/guidance-plans/{plan_id:uuid}/tasks/{task_id:uuid}/not-needed",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids=GUIDANCE_TASK,
        body=lambda t: {"version": t.version("guidance_task_id")},
    ),
    Case(
        "POST",
        "/officer/guidance-plans/{plan_id:uuid}/end",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids=GUIDANCE_PLAN,
        body=lambda t: {"ends_on": _days(0), "version": t.version("guidance_plan_id")},
    ),
    Case(  # the plan ended above: a new one starts (one active plan at a time, else 409)
        "POST",
        "/officer/clients/{client_id:uuid}/guidance-plan",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"starts_on": _days(0), "includes_family": "on", "note": "Uusi ohjausjakso"},
        creates=("guidance_plan",),
    ),
    # Referrals by another authority (service 20): the organisation's own inbox, integration officers only
    # (OUTREACH); B's referrals are not found.
    Case("GET", "/officer/referrals", Permission.OUTREACH, 200, 200, reveals=lambda t: (t.referral_person,)),
    Case(
        "GET",
        "/officer/referrals/{referral_id:uuid}",
        Permission.OUTREACH,
        404,
        200,
        reveals=lambda t: (t.referral_person, t.referral_reason),
    ),
    Case(  # nobody in the register matches the person: a new client, and an outreach item to reach them
        "POST",
        "/officer/referrals/{referral_id:uuid}/accept",
        Permission.OUTREACH,  # and CLIENT_WRITE: every holder of OUTREACH has it
        404,
        303,
        body=lambda t: {"client": "new", "version": t.version("referral_id")},
        creates=("client", "outreach_item", "outbox_message"),
    ),
    Case(  # the referrer is e-mailed that it was declined (never why)
        "POST",
        "/officer/referrals/{referral_id:uuid}/decline",
        Permission.OUTREACH,
        404,
        303,
        ids={"referral_id": lambda t: t.declinable_referral_id},
        body=lambda t: {
            "decline_reason": "Henkilö on jo toisen kunnan asiakas",
            "version": t.version("declinable_referral_id"),
        },
        creates=("outbox_message",),
    ),
    # The assessment: the draft amending the completed one, with a refining measure ordered.
    Case(
        "GET",
        "/officer/assessments/{assessment_id:uuid}",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=_assessment_shown,
    ),
    Case(  # the client has a draft already: the officer is taken to it
        "POST",
        "/officer/clients/{client_id:uuid}/assessments",
        Permission.CLIENT_WRITE,
        404,
        303,
    ),
    Case(
        "POST",
        "/officer/assessments/{assessment_id:uuid}",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=assessment_form,
    ),
    Case(
        "POST",
        "/officer/assessments/{assessment_id:uuid}/measures",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "measure_type": "literacy_check",
            "provider_name": "Aikuisopisto",
            "ordered_on": _days(0),
        },
        creates=("refining_measure",),
    ),
    Case(
        "POST",
        "/officer/assessments/{assessment_id:uuid}/measures/{measure_id:uuid}",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "status": "done",
            "result_on": _days(0),
            "result": "Lukeminen A2, puhuminen A2",
            "version": t.version("measure_id"),
        },
    ),
    Case(  # the amended assessment replaces the completed one (superseded)
        "POST",
        "/officer/assessments/{assessment_id:uuid}/complete",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"version": t.version("assessment_id")},
    ),
    Case(  # now completed: amending it starts the next draft
        "POST",
        "/officer/assessments/{assessment_id:uuid}/amend",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"amendment_reason": "Asiakas aloitti työkokeilun"},
        creates=("assessment",),
    ),
    # The plan in force: reads first, then changes in the order an officer makes them, ending last.
    Case("GET", "/officer/plans/{plan_id:uuid}", Permission.CLIENT_READ, 404, 200, reveals=_plan_shown),
    Case("GET", "/officer/plans/{plan_id:uuid}/edit", Permission.CLIENT_WRITE, 404, 200, reveals=_plan_shown),
    Case("GET", "/officer/plans/{plan_id:uuid}/print", Permission.CLIENT_READ, 404, 200, reveals=_plan_shown),
    # The plan's texts in the client's languages (issue 4: the app shows them): changing client data, so
    # CLIENT_WRITE even to open the page (a manager: 403); the plan must be the client's in the path.
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/plans/{plan_id:uuid}/translations",
        Permission.CLIENT_WRITE,
        404,
        200,
        reveals=lambda t: (*_plan_shown(t), t.plan_translation_text),
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/plans/{plan_id:uuid}/translations",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "source_key": "language_studies",
            "language": "ar",
            "text": "دورة الاندماج",
            "origin": "translator",
            "version": "",  # no translation of it yet
            "source_hash": content_hash(PLAN_LANGUAGE_STUDIES),
        },
        creates=("plan_text_translation",),
    ),
    Case(  # the machine translation of the rationale, checked by a person
        "POST",
        "/officer/clients/{client_id:uuid}/plans/{plan_id:uuid}/translations/check",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "source_key": "rationale",
            "language": "ar",
            "version": t.version("plan_translation_id"),
            "source_hash": content_hash(PLAN_RATIONALE),
        },
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/plans/{plan_id:uuid}/translations/machine",
        Permission.CLIENT_WRITE,
        404,
        409,  # no machine translation server is configured in the tests: "not in use" (nothing saved)
        body=lambda t: {
            "source_key": "language_studies",
            "language": "so",
            "source_hash": content_hash(PLAN_LANGUAGE_STUDIES),
        },
        reveals=_plan_shown,
    ),
    Case("POST", "/officer/plans/{plan_id:uuid}", Permission.CLIENT_WRITE, 404, 303, body=plan_form),
    Case(
        "POST",
        "/officer/plans/{plan_id:uuid}/services",
        Permission.CLIENT_WRITE,
        404,
        303,
        # The plan picks a service of its own organisation's programme (for B: B's plan, B's programme).
        body=lambda t: {
            "service_kind": "programme",
            "programme_service_id": str(t.programme_service_id),
            "planned_start": _days(60),
        },
        creates=("plan_service",),
    ),
    Case(
        "POST",
        "/officer/plans/{plan_id:uuid}/services/{service_id:uuid}/status",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids={"service_id": lambda t: t.plan_service_id},  # a service in the plan, not in the programme
        body=lambda t: {"status": "referred", "on": _days(0), "version": t.version("plan_service_id")},
    ),
    Case(
        "POST",
        "/officer/plans/{plan_id:uuid}/services/{service_id:uuid}/delete",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids={"service_id": lambda t: t.removable_service_id},
    ),
    Case(
        "POST",
        "/officer/plans/{plan_id:uuid}/present",
        Permission.CLIENT_WRITE,
        404,
        303,
        creates=("plan_version",),  # the content changed above: a new version to approve
    ),
    Case(
        "POST",
        "/officer/plans/{plan_id:uuid}/approvals",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"version_id": str(t.presented_version_id), "method": "signed_on_paper"},
        creates=("plan_approval",),
    ),
    Case(
        "POST",
        "/officer/plans/{plan_id:uuid}/reviews",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "review_kind": "scheduled",
            "held_on": _days(0),
            "client_took_part": "on",
            "progress": "Kurssi alkanut hyvin",
            "next_review_on": _days(90),
        },
        creates=("plan_review",),
    ),
    Case(
        "POST",
        "/officer/plans/{plan_id:uuid}/pauses",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"reason": "illness", "pause_starts_on": _days(0), "pause_ends_on": _days(9)},
        creates=("plan_pause",),
    ),
    Case(
        "POST",
        "/officer/plans/{plan_id:uuid}/end",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "version": t.version("plan_id"),
            "outcome": "ended",
            "ended_on": _days(0),
            "end_reason": "employment",
            "goals_attained": "Työpaikka hoivakodissa",
            # Service quality (issue 6): how far each goal of the plan was attained.
            **{f"attainment_{goal}": GoalAttainment.ACHIEVED.value for goal in t.goal_ids},
        },
    ),
    Case(  # a follow-up plan from the completed assessment
        "POST",
        "/officer/clients/{client_id:uuid}/plans",
        Permission.CLIENT_WRITE,
        404,
        303,
        creates=("integration_plan",),
    ),
    # A family overview of two other clients.
    Case(
        "GET",
        "/officer/family-overviews/{overview_id:uuid}",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: (t.overview_goals,),
        # The county member takes part for Aino, not for the family whose overview this is.
        own_answers={Role.COUNTY_TEAM_MEMBER: 404},
    ),
    Case(
        "POST",
        "/officer/family-overviews/{overview_id:uuid}",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "shared_goals": "Perhe asettuu uuteen kotikuntaan",
            "family_needs": "Päivähoitopaikka",
            "version": t.version("overview_id"),
        },
    ),
    # The integration programme: not client data, but one organisation's own. The list and the new
    # service aim at no object; whatever the form says, a new service joins the actor's own programme.
    Case(
        "GET",
        "/officer/programme",
        Permission.PROGRAMME_READ,
        200,
        200,
        reveals=lambda t: (t.programme_name,),
        shared_with=PROGRAMME_SHARED,
    ),
    Case("GET", "/officer/programme/new", Permission.PROGRAMME_MANAGE, 200, 200),
    Case(
        "POST",
        "/officer/programme",
        Permission.PROGRAMME_MANAGE,
        303,
        303,
        body=lambda t: {
            **service_form("Uusi ompelukerho", ["fi"]),
            "organisation_id": str(t.organisation_id),
        },
        creates=("programme_service", "programme_service_text", "programme_service_language"),
    ),
    Case(
        "GET",
        "/officer/programme/{service_id:uuid}",
        Permission.PROGRAMME_READ,
        404,
        200,
        reveals=lambda t: (t.programme_name, t.period_note),
        shared_with=PROGRAMME_SHARED,
    ),
    Case(
        "GET",
        "/officer/programme/{service_id:uuid}/edit",
        Permission.PROGRAMME_MANAGE,
        404,
        200,
        reveals=lambda t: (t.programme_name,),
    ),
    Case(
        "GET",
        "/officer/programme/{service_id:uuid}/texts/{language:str}",
        Permission.PROGRAMME_MANAGE,
        404,
        200,
        reveals=lambda t: (t.translation_name,),
    ),
    Case(
        "GET",
        "/officer/programme/{service_id:uuid}/periods/{period_id:uuid}/edit",
        Permission.PROGRAMME_MANAGE,
        404,
        200,
        reveals=lambda t: (t.period_note,),
    ),
    Case(
        "POST",
        "/officer/programme/{service_id:uuid}",
        Permission.PROGRAMME_MANAGE,
        404,
        303,
        body=lambda t: {
            **service_form("Kielikahvila, uusi nimi", ["sv"]),
            "version": t.version("programme_service_id"),
        },
    ),
    Case(  # the source was renamed above: the translator brings the Swedish text up to date
        "POST",
        "/officer/programme/{service_id:uuid}/texts/{language:str}",
        Permission.PROGRAMME_MANAGE,
        404,
        303,
        body=lambda t: {
            "name": "Språkcafé, nytt namn",
            "description": "Vi talar finska.",
            "eligibility": "",
            "origin": "translator",
            "version": t.version("translation_id"),
        },
    ),
    Case(
        "POST",
        "/officer/programme/{service_id:uuid}/texts/{language:str}/delete",
        Permission.PROGRAMME_MANAGE,
        404,
        303,
    ),
    Case(
        "POST",
        "/officer/programme/{service_id:uuid}/periods",
        Permission.PROGRAMME_MANAGE,
        404,
        303,
        body=lambda t: period_form("Kevään ryhmä"),
        creates=("programme_period",),
    ),
    Case(
        "POST",
        "/officer/programme/{service_id:uuid}/periods/{period_id:uuid}",
        Permission.PROGRAMME_MANAGE,
        404,
        303,
        body=lambda t: {**period_form("Siirretty syksyyn"), "version": t.version("period_id")},
    ),
    Case(  # no plan refers to the intake, so it can go
        "POST",
        "/officer/programme/{service_id:uuid}/periods/{period_id:uuid}/delete",
        Permission.PROGRAMME_MANAGE,
        404,
        303,
    ),
    # --- Issue 5: the calendar and appointments (service 9), interpretations (service 15). -----------
    # Managers read their organisation's calendars; booking writes client data (officers only: 403 for
    # the others); interpreters open only the appointments they interpret (A's: see test_interpreter_…).
    Case(
        "GET",
        "/officer/calendar",
        Permission.TEAM_WORKLIST,  # a colleague's calendar: team leads only (others 403, own calendar 200)
        404,  # B's officer: not of the manager's organisation
        200,
        query=lambda t: f"staff={t.staff_id}&day={_days(APPOINTMENT_DAY)}",
        reveals=lambda t: (t.staff_name, t.appointment_place),
    ),
    Case(
        "GET",
        "/officer/appointments/new",
        Permission.CLIENT_WRITE,  # and CALENDAR: every holder of CLIENT_WRITE has it
        404,
        200,
        query=lambda t: f"client={t.client_id}",
        reveals=_client_shown,
    ),
    Case(
        "POST",
        "/officer/appointments/conflicts",
        Permission.CLIENT_WRITE,
        200,  # B's officer is left out of the check (not the organisation's staff): no warning
        200,  # the colleague's appointment at the same time is warned about
        body=lambda t: {
            "purpose": "guidance_meeting",
            "day": _days(APPOINTMENT_DAY),
            "starts_time": "10:30",
            "ends_time": "11:30",
            "staff_id": str(t.staff_id),
            "room": "B 204",
        },
        reveals=lambda t: (t.staff_name,),
    ),
    Case(
        "GET",
        "/officer/appointments/{appointment_id:uuid}",
        Permission.CALENDAR,
        404,
        200,
        reveals=lambda t: (t.appointment_place,),
    ),
    Case("GET", "/officer/appointments/{appointment_id:uuid}/ics", Permission.CALENDAR, 404, 200),
    Case(
        "GET",
        "/officer/appointments/{appointment_id:uuid}/edit",
        Permission.CLIENT_WRITE,
        404,
        200,
        reveals=lambda t: (t.appointment_place, t.client_display),
    ),
    Case(
        "POST",
        "/officer/appointments/new",
        Permission.CLIENT_WRITE,
        404,  # B's client (and B's officer) in the form
        303,
        body=lambda t: appointment_form(t, starts="14:00", ends="15:00"),
        creates=("appointment", "appointment_client", "appointment_staff"),
    ),
    Case(  # moved to noon, in another room
        "POST",
        "/officer/appointments/{appointment_id:uuid}/edit",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            **appointment_form(t, starts="12:00", ends="13:00"),
            "interpreter_language": "ar",
            "interpreter_mode": "on_site",
            "interpreter_id": str(t.interpreter_id),
            "version": t.version("appointment_id"),
        },
    ),
    Case(
        "POST",
        "/officer/appointments/{appointment_id:uuid}/interpretations",
        Permission.TRANSLATION_WORK,
        404,
        303,
        body=lambda t: {
            "client_id": str(t.client_id),
            "language": "ar",
            "mode": "on_site",
            "interpreter_id": str(t.interpreter_id),
            "occurred_on": _days(0),
            "duration_minutes": "50",
        },
        creates=("interpretation_event",),
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/interpretations",
        Permission.TRANSLATION_WORK,
        404,
        303,
        body=lambda t: {
            "language": "so",
            "mode": "phone",
            "interpreter_name": "Tulkki Ulkopuolinen",
            "occurred_on": _days(0),
            "duration_minutes": "20",
        },
        # An interpreter records interpretations of their own assignments only, not from a client page.
        own_answers={Role.INTERPRETER: 404},
        creates=("interpretation_event",),
    ),
    Case(
        "POST",
        "/officer/appointments/{appointment_id:uuid}/cancel",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "cancel_reason": "Virkailija sairastui",
            "client_told": "on",
            "version": t.version("appointment_id"),
        },
    ),
    Case(  # a booking nobody has heard of yet (B: its only appointment, refused)
        "POST",
        "/officer/appointments/{appointment_id:uuid}/delete",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids={"appointment_id": lambda t: t.removable_appointment_id},
    ),
    # The private feed of one's own calendar: no object of anyone else's is named.
    Case("GET", "/officer/calendar/feed", Permission.CALENDAR, 200, 200),
    Case("POST", "/officer/calendar/feed", Permission.CALENDAR, 200, 200, creates=("calendar_feed",)),
    Case("POST", "/officer/calendar/feed/revoke", Permission.CALENDAR, 303, 303),
    # Tasks: the own organisation's; one about a client is changed only by those who may write the client
    # (a manager: 403); an interpreter's organisation has no clients (A's client and task: 404).
    Case("GET", "/officer/tasks", Permission.CALENDAR, 200, 200),
    Case(
        "GET",
        "/officer/tasks/new",
        Permission.CALENDAR,
        404,
        200,
        query=lambda t: f"client={t.client_id}",
        reveals=_client_shown,
        own_answers={Role.MANAGER: 403, Role.INTERPRETER: 404},
    ),
    Case(
        "POST",
        "/officer/tasks/new",
        Permission.CALENDAR,
        404,
        303,
        body=lambda t: {
            "title": "Soita asiakkaalle",
            "due_on": _days(5),
            "assignee_id": str(t.staff_id),
            "client_id": str(t.client_id),
        },
        own_answers={Role.MANAGER: 403, Role.INTERPRETER: 404},
        creates=("task",),
    ),
    Case(
        "GET",
        "/officer/tasks/{task_id:uuid}/edit",
        Permission.CALENDAR,
        404,
        200,
        reveals=lambda t: (t.task_title, t.client_display),
        own_answers={Role.MANAGER: 403, Role.INTERPRETER: 404},
    ),
    Case(
        "POST",
        "/officer/tasks/{task_id:uuid}/edit",
        Permission.CALENDAR,
        404,
        303,
        body=lambda t: {
            "title": "Tarkista todistukset",
            "note": "Kopio asiakirjoista",
            "due_on": _days(4),
            "assignee_id": str(t.staff_id),
            "client_id": str(t.client_id),
            "version": t.version("task_id"),
        },
        own_answers={Role.MANAGER: 403, Role.INTERPRETER: 404},
    ),
    Case(
        "POST",
        "/officer/tasks/{task_id:uuid}/toggle",
        Permission.CALENDAR,
        404,
        303,
        body=lambda t: {"done": "1"},
        own_answers={Role.MANAGER: 403, Role.INTERPRETER: 404},
    ),
    # --- Issue 5: messaging (service 8) and translation work (service 15). --------------------------
    Case("GET", "/officer/messages", Permission.MESSAGES, 200, 200, reveals=lambda t: (t.thread_subject,)),
    Case(
        "GET",
        "/officer/messages/{thread_id:uuid}",
        Permission.MESSAGES,
        404,
        200,
        reveals=lambda t: (t.thread_subject, t.message_body),
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/threads/new",
        Permission.MESSAGES,
        404,
        200,
        reveals=_client_shown,
    ),
    Case(
        "POST",
        "/officer/messages/{thread_id:uuid}",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {"body": "Kiitos viestistä, palaan asiaan.", "language": "fi"},
        creates=("message",),
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/threads",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {"subject": "Kurssin alku", "body": "Tervetuloa kurssille.", "language": "fi"},
        creates=("message_thread", "message"),
    ),
    Case(
        "POST",
        "/officer/messages/{thread_id:uuid}/messages/{message_id:uuid}/translations",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {"language": "en", "body": "My own message", "origin": "officer", "version": ""},
        creates=("message_translation",),
    ),
    Case(  # the machine translation, checked by a person
        "POST",
        "/officer/messages/{thread_id:uuid}/translations/{translation_id:uuid}/check",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {"version": t.version("message_translation_id")},
    ),
    Case(
        "POST",
        "/officer/messages/{thread_id:uuid}/messages/{message_id:uuid}/machine-translation",
        Permission.MESSAGES,
        404,
        409,  # no machine translation server is configured in the tests: "not in use" (nothing saved)
        body=lambda t: {"language": "de"},
    ),
    Case(
        "POST",
        "/officer/messages/{thread_id:uuid}/messages/{message_id:uuid}/translation-requests",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {"language": "so", "translator_id": ""},
        creates=("translation_request",),
    ),
    Case("GET", "/officer/translation-requests", Permission.TRANSLATION_WORK, 200, 200),
    Case(
        "GET",
        "/officer/translation-requests/{request_id:uuid}",
        Permission.TRANSLATION_WORK,
        404,
        200,
        reveals=lambda t: (t.message_body,),
    ),
    Case(
        "POST",
        "/officer/translation-requests/{request_id:uuid}",
        Permission.TRANSLATION_WORK,
        404,
        303,
        body=lambda t: {
            "body": "My message, translated",
            "translator_name": "",
            "version": t.version("request_id"),
        },
    ),
    Case(  # the interpreter's translation, checked by an officer
        "POST",
        "/officer/translation-requests/{request_id:uuid}/check",
        Permission.MESSAGES,
        404,
        303,
        ids={"request_id": lambda t: t.translated_request_id},
        body=lambda t: {"version": t.version("translated_request_id"), "checked_body": ""},
    ),
    # Templates: the organisation's own.
    Case(
        "GET",
        "/officer/messages/templates",
        Permission.MESSAGES,
        200,
        200,
        reveals=lambda t: (t.template_name,),
    ),
    Case("GET", "/officer/messages/templates/new", Permission.MESSAGES, 200, 200),
    Case(
        "POST",
        "/officer/messages/templates",
        Permission.MESSAGES,
        303,
        303,
        body=lambda t: {"name": "Uusi pohja", "source_language": "fi", "body": "Tervetuloa", "active": "on"},
        creates=("message_template", "message_template_text"),
    ),
    Case(
        "GET",
        "/officer/messages/templates/{template_id:uuid}",
        Permission.MESSAGES,
        404,
        200,
        reveals=lambda t: (t.template_name,),
    ),
    Case(
        "GET",
        "/officer/messages/templates/{template_id:uuid}/edit",
        Permission.MESSAGES,
        404,
        200,
        reveals=lambda t: (t.template_name,),
    ),
    Case(  # the language chooser sends the officer to the text's own page
        "GET",
        "/officer/messages/templates/{template_id:uuid}/texts",
        Permission.MESSAGES,
        404,
        302,
        query=lambda t: f"language={t.language}",
    ),
    Case(
        "GET",
        "/officer/messages/templates/{template_id:uuid}/texts/{language:str}",
        Permission.MESSAGES,
        404,
        200,
        reveals=lambda t: (t.template_name,),
    ),
    Case(
        "POST",
        "/officer/messages/templates/{template_id:uuid}",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {
            "name": "Ajanvaraus",
            "body": "Muista tuoda passi.",
            "active": "on",
            "version": t.version("template_id"),
        },
    ),
    Case(
        "POST",
        "/officer/messages/templates/{template_id:uuid}/texts/{language:str}",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {
            "body": "Kom ihåg passet.",
            "origin": "translator",
            "version": t.version("template_text_id"),
        },
    ),
    Case(
        "POST",
        "/officer/messages/templates/{template_id:uuid}/texts/{language:str}/delete",
        Permission.MESSAGES,
        404,
        303,
    ),
    # Group messages and campaigns: the organisation's own; recipients only among its own clients.
    Case(
        "GET",
        "/officer/messages/groups",
        Permission.MESSAGES,
        200,
        200,
        reveals=lambda t: (t.group_title,),
    ),
    Case("GET", "/officer/messages/groups/new", Permission.MESSAGES, 200, 200),
    Case(
        "POST",
        "/officer/messages/groups",
        Permission.MESSAGES,
        303,
        303,
        body=lambda t: {
            "title": "Uusi kampanja",
            "source_language": "fi",
            "body": "Tule mukaan!",
            "recipients": "criteria",
            "mother_tongue": "ar",
        },
        creates=("group_message", "group_message_text"),
    ),
    Case(
        "GET",
        "/officer/messages/groups/{group_id:uuid}",
        Permission.MESSAGES,
        404,
        200,
        reveals=lambda t: (t.group_title,),
    ),
    Case(
        "GET",
        "/officer/messages/groups/{group_id:uuid}/edit",
        Permission.MESSAGES,
        404,
        200,
        reveals=lambda t: (t.group_title,),
    ),
    Case(
        "GET",
        "/officer/messages/groups/{group_id:uuid}/texts",
        Permission.MESSAGES,
        404,
        302,
        query=lambda t: f"language={t.language}",
    ),
    Case(
        "GET",
        "/officer/messages/groups/{group_id:uuid}/texts/{language:str}",
        Permission.MESSAGES,
        404,
        200,
        reveals=lambda t: (t.group_title,),
    ),
    Case(  # the source text changes: the Swedish text becomes stale
        "POST",
        "/officer/messages/groups/{group_id:uuid}",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {
            "title": "Kampanja arabiankielisille",
            "body": "Tervetuloa infotilaisuuteen!",
            "recipients": "criteria",
            "mother_tongue": "ar",
            "version": t.version("group_id"),
        },
    ),
    Case(
        "POST",
        "/officer/messages/groups/{group_id:uuid}/texts/{language:str}",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {
            "body": "Välkommen till infomötet!",
            "origin": "translator",
            "version": t.version("group_text_id"),
        },
    ),
    Case(
        "POST",
        "/officer/messages/groups/{group_id:uuid}/texts/{language:str}/delete",
        Permission.MESSAGES,
        404,
        303,
    ),
    Case(  # to the one client of A whose mother tongue is Arabic (Aino)
        "POST",
        "/officer/messages/groups/{group_id:uuid}/send",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {"expected": "1"},
    ),
    Case(  # another, unsent group message (B: its only one, refused)
        "POST",
        "/officer/messages/groups/{group_id:uuid}/delete",
        Permission.MESSAGES,
        404,
        303,
        ids={"group_id": lambda t: t.draft_group_id},
    ),
    # Partners' contacts and stakeholder e-mail: the organisation's own list.
    Case(
        "GET",
        "/officer/messages/stakeholders",
        Permission.MESSAGES,
        200,
        200,
        reveals=lambda t: (t.contact_name, t.stakeholder_subject),
    ),
    Case(
        "POST",
        "/officer/messages/stakeholders/contacts",
        Permission.MESSAGES,
        303,
        303,
        body=lambda t: {
            "name": "Liisa Opettaja",
            "email": "liisa@opisto.example",
            "provider_name": "Opisto",
            "active": "on",
        },
        creates=("stakeholder_contact",),
    ),
    Case(
        "GET",
        "/officer/messages/stakeholders/contacts/{contact_id:uuid}/edit",
        Permission.MESSAGES,
        404,
        200,
        reveals=lambda t: (t.contact_name,),
    ),
    Case(
        "GET",
        "/officer/messages/stakeholders/messages/{message_id:uuid}",
        Permission.MESSAGES,
        404,
        200,
        ids={"message_id": lambda t: t.stakeholder_message_id},
        reveals=lambda t: (t.stakeholder_subject,),
    ),
    Case(
        "POST",
        "/officer/messages/stakeholders/contacts/{contact_id:uuid}",
        Permission.MESSAGES,
        404,
        303,
        body=lambda t: {
            "name": "Pekka Rehtori",
            "email": "pekka@opisto.example",
            "provider_name": "Opisto",
            "active": "on",
            "version": t.version("contact_id"),
        },
    ),
    Case(
        "POST",
        "/officer/messages/stakeholders/messages",
        Permission.MESSAGES,
        422,  # B's contact is no recipient to choose: nobody chosen, nothing sent
        303,
        body=lambda t: {
            "subject": "Uusi ryhmä",
            "body": "Ryhmä alkaa 1.2.",
            "locale": "fi",
            "contact_ids": str(t.contact_id),
        },
        creates=("stakeholder_message", "outbox_message"),
    ),
    Case(
        "POST",
        "/officer/messages/stakeholders/contacts/{contact_id:uuid}/delete",
        Permission.MESSAGES,
        404,
        303,
    ),
    # --- Issue 5: the client's notifications and settings (officers of the client's organisation). --
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/deliveries",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=_client_shown,
        # The client's notifications are the responsible organisation's matter, not the county's.
        own_answers={Role.COUNTY_TEAM_MEMBER: 404},
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/contact-preferences",
        Permission.CLIENT_WRITE,
        404,
        200,
        reveals=lambda t: (t.client_display, 'value="21:00"'),
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/contact-preferences",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "push": "on",
            "sms": "on",
            "quiet_from": "22:00",
            "quiet_until": "08:00",
            "version": t.version("preference"),
        },
    ),
    # Subject-access export (GDPR art. 15): the organisation responsible answers, so CLIENT_WRITE.
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/subject-access.json",
        Permission.CLIENT_WRITE,
        404,
        200,
        reveals=lambda t: (t.client_display.split(", ")[0], t.plan_goal),
    ),
    Case(  # the same, as a page to print and hand over (the plan versions' content is in the JSON only)
        "GET",
        "/officer/clients/{client_id:uuid}/subject-access",
        Permission.CLIENT_WRITE,
        404,
        200,
        reveals=lambda t: (t.client_display.split(", ")[0], t.email, t.thread_subject),
    ),
    # --- Issue 4: the client's access to the migrant app (service 14). ------------------------------
    # Before the changes below (which rename and end the client: no invitation for an ended client).
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/app-access",
        Permission.CLIENT_READ,  # managers see it too, without the buttons
        404,
        200,
        reveals=lambda t: (t.client_display, t.client_passkey_name),
        # County staff reading the client through a cooperation: the app is the responsible organisation's.
        own_answers={Role.COUNTY_TEAM_MEMBER: 404},
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/invitations/{invitation_id:uuid}/revoke",
        Permission.CLIENT_WRITE,
        404,
        303,
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/invitations",
        Permission.CLIENT_WRITE,
        404,
        201,  # the page with the secrets, shown once
        reveals=lambda t: ('id="short-code"', "/me/join/"),
        creates=("client_invitation",),
    ),
    Case(  # the recovery path: every passkey and every session of the client's phones gone
        "POST",
        "/officer/clients/{client_id:uuid}/passkeys/revoke-all",
        Permission.CLIENT_WRITE,
        404,
        303,
    ),
    # --- Issue 6: multi-sector cooperation with the wellbeing services county (services 6 and 18). ---
    # The county team answers requests addressed to its own county: the county actor's county is the one
    # A's cooperations go to, B's go to another county (404). The county member taking part writes notes;
    # who reads them is policy.county_note_scope (B's note is not shared: never shown to anyone in A).
    Case(
        "GET",
        "/officer/cooperation",
        Permission.COOPERATION_INBOX,
        200,
        200,
        reveals=_client_shown,  # the client's active cooperation with the actor's county
    ),
    Case(
        "GET",
        "/officer/cooperation/{cooperation_id:uuid}",
        Permission.COOPERATION_INBOX,
        404,
        200,
        reveals=_client_shown,
    ),
    Case(  # the sibling's request: the county takes part, the county actor responsible
        "POST",
        "/officer/cooperation/{cooperation_id:uuid}/accept",
        Permission.COOPERATION_INBOX,
        404,
        303,
        ids={"cooperation_id": lambda t: t.cooperation_request_id},
        body=lambda t: {
            "responsible_staff_id": str(t.county_member_id),
            "contact_details": "puh. 029 765 4321",
            "version": t.version("cooperation_request_id"),
        },
        creates=("client_access_grant",),
    ),
    Case(  # another client's request: the county does not take part
        "POST",
        "/officer/cooperation/{cooperation_id:uuid}/decline",
        Permission.COOPERATION_INBOX,
        404,
        303,
        ids={"cooperation_id": lambda t: t.declinable_request_id},
        body=lambda t: {
            "decline_reason": "Asiakas on jo maakunnan palveluissa",
            "version": t.version("declinable_request_id"),
        },
    ),
    Case(  # the county member taking part adds to the plan
        "POST",
        "/officer/clients/{client_id:uuid}/county-notes",
        Permission.COOPERATION_INBOX,
        404,
        303,
        body=lambda t: {
            "topic": "plan_contribution",
            "text": "Terapiajakso alkaa tammikuussa",
            "plan_id": str(t.plan_id),
            "shared": "on",
        },
        creates=("county_note",),
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/county-notes",
        Permission.CLIENT_READ,
        404,
        200,
        reveals=lambda t: (t.county_note,),
    ),
    Case(  # after the county's reads above: the county ends its part, and the access it had with it
        "POST",
        "/officer/cooperation/{cooperation_id:uuid}/end",
        Permission.COOPERATION_INBOX,
        404,
        303,
        body=lambda t: {"end_reason": "Kuntoutusjakso päättyi", "version": t.version("cooperation_id")},
    ),
    # The responsible organisation: withdraw an unanswered request, end a cooperation, ask again.
    Case(  # the sibling's request (B: B's, refused)
        "POST",
        "/officer/clients/{client_id:uuid}/cooperation/{cooperation_id:uuid}/withdraw",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids={
            "client_id": lambda t: t.related_client_id,
            "cooperation_id": lambda t: t.cooperation_request_id,
        },
        body=lambda t: {"version": t.version("cooperation_request_id")},
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/cooperation/{cooperation_id:uuid}/end",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"end_reason": "Tarve päättyi", "version": t.version("cooperation_id")},
    ),
    Case(  # the cooperation ended above: the same county asked again (with the consent recorded)
        "POST",
        "/officer/clients/{client_id:uuid}/cooperation",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "county_id": str(t.county_id),
            "reason": "Päihdepalvelujen tarve",
            "consent_given": "on",
            "consent_decided_on": _days(0),
            "share_health": "on",
        },
        creates=("county_cooperation", "consent"),
    ),
    # --- Issue 6: contracts with service providers (service 11): the organisation's own. ------------
    Case(
        "GET",
        "/officer/contracts",
        Permission.CONTRACTS,
        200,
        200,
        reveals=lambda t: (t.contract_subject, t.contract_provider),
    ),
    Case("GET", "/officer/contracts/new", Permission.CONTRACTS, 200, 200),
    Case(
        "POST",
        "/officer/contracts",
        Permission.CONTRACTS,
        422,  # B's client and B's officer are no choices in the form: nothing saved
        303,
        body=contract_form,
        creates=("contract",),
    ),
    Case(  # the client search of the form (a POST: names never in addresses): B's clients never found
        "POST",
        "/officer/contracts/new/find-client",
        Permission.CONTRACTS,
        200,
        200,
        body=lambda t: {"kind": "housing_lease", "client_query": t.client_display.split(",")[0]},
        reveals=_client_shown,
    ),
    Case(
        "GET",
        "/officer/contracts/{contract_id:uuid}",
        Permission.CONTRACTS,
        404,
        200,
        reveals=lambda t: (t.contract_subject, t.contract_provider, t.client_display),
    ),
    Case(
        "GET",
        "/officer/contracts/{contract_id:uuid}/edit",
        Permission.CONTRACTS,
        404,
        200,
        reveals=lambda t: (t.contract_subject, t.client_display),
    ),
    Case(
        "POST",
        "/officer/contracts/{contract_id:uuid}/find-client",
        Permission.CONTRACTS,
        404,
        200,
        body=lambda t: {"kind": "housing_lease", "client_query": t.client_display.split(",")[0]},
        reveals=_client_shown,
    ),
    Case(
        "POST",
        "/officer/contracts/{contract_id:uuid}",
        Permission.CONTRACTS,
        404,
        303,
        body=lambda t: {**contract_form(t), "version": t.version("contract_id")},
    ),
    Case(  # the renewal reminder's decision: renewed (after the new end date saved above)
        "POST",
        "/officer/contracts/{contract_id:uuid}/renewal",
        Permission.CONTRACTS,
        404,
        303,
        body=lambda t: {
            "decision": "renewed",
            "new_ends_on": _days(800),
            "version": t.version("contract_id"),
        },
    ),
    Case(
        "POST",
        "/officer/contracts/{contract_id:uuid}/attachments",
        Permission.CONTRACTS,
        404,
        303,
        files=lambda t: {"file": ("liite.pdf", _pdf("Uusi liite"), "application/pdf")},
        creates=("contract_attachment",),
    ),
    Case(
        "GET",
        "/officer/contracts/{contract_id:uuid}/attachments/{attachment_id:uuid}",
        Permission.CONTRACTS,
        404,
        200,
        reveals=lambda t: (t.attachment_text,),
    ),
    Case(
        "POST",
        "/officer/contracts/{contract_id:uuid}/attachments/{attachment_id:uuid}/delete",
        Permission.CONTRACTS,
        404,
        303,
    ),
    # --- Issue 6: costs and compensation claims to KEHA (3.4.12): the organisation's own. -----------
    # Costs before the client's data changes below (the compensation rules read the first municipality
    # of residence, which the client form of the tests leaves empty).
    Case(
        "GET",
        "/officer/compensation",
        Permission.COMPENSATION,
        200,
        200,
        reveals=lambda t: (t.invoice_reference,),
    ),
    Case(
        "GET",
        "/officer/compensation/clients/{client_id:uuid}/costs/new",
        Permission.COMPENSATION,
        404,
        200,
        reveals=_client_shown,
    ),
    Case(  # a cost in the draft claim's period: the one its package takes below
        "POST",
        "/officer/compensation/clients/{client_id:uuid}/costs",
        Permission.COMPENSATION,
        404,
        303,
        body=lambda t: cost_form("Uusi lasku 2", "120,00", 5),
        creates=("cost",),
    ),
    Case(
        "GET",
        "/officer/compensation/costs/{cost_id:uuid}/edit",
        Permission.COMPENSATION,
        404,
        200,
        reveals=lambda t: (t.invoice_reference,),
    ),
    Case(
        "POST",
        "/officer/compensation/costs/{cost_id:uuid}",
        Permission.COMPENSATION,
        404,
        303,
        body=lambda t: {**cost_form("Korjattu lasku", "260,00", 10), "version": t.version("cost_id")},
    ),
    Case(  # the corrected cost is removed after all
        "POST",
        "/officer/compensation/costs/{cost_id:uuid}/delete",
        Permission.COMPENSATION,
        404,
        303,
        body=lambda t: {"version": t.version("cost_id")},
    ),
    Case("GET", "/officer/compensation/claims", Permission.COMPENSATION, 200, 200),
    Case(  # whatever is aimed at, a new claim is the actor's own organisation's
        "POST",
        "/officer/compensation/claims",
        Permission.COMPENSATION,
        303,
        303,
        body=lambda t: {
            "period_start": f"{today().year - 1}-01-01",
            "period_end": f"{today().year - 1}-12-31",
            "note": "Edellisen vuoden hakemus",
            "organisation_id": str(t.organisation_id),
        },
        creates=("compensation_claim",),
    ),
    Case("GET", "/officer/compensation/claims/{claim_id:uuid}", Permission.COMPENSATION, 404, 200),
    Case(  # the cost added above joins the claim
        "POST",
        "/officer/compensation/claims/{claim_id:uuid}/package",
        Permission.COMPENSATION,
        404,
        303,
        body=lambda t: {"version": t.version("claim_id")},
        creates=("claim_line",),
    ),
    Case(  # the package for KEHA identifies the persons: an audited download
        "GET",
        "/officer/compensation/claims/{claim_id:uuid}/package.csv",
        Permission.COMPENSATION,
        404,
        200,
        reveals=lambda t: ("Uusi lasku 2", t.client_display.split(", ")[0]),
    ),
    Case("GET", "/officer/compensation/claims/{claim_id:uuid}/summary", Permission.COMPENSATION, 404, 200),
    Case(  # sent to KEHA: its lines are frozen now
        "POST",
        "/officer/compensation/claims/{claim_id:uuid}/status",
        Permission.COMPENSATION,
        404,
        303,
        body=lambda t: {
            "step": "send",
            "sent_on": _days(0),
            "keha_reference": "KEHA/2026/123",
            "version": t.version("claim_id"),
        },
    ),
    Case(  # sent above: only a draft claim can be removed (409), nothing is
        "POST",
        "/officer/compensation/claims/{claim_id:uuid}/delete",
        Permission.COMPENSATION,
        404,
        409,
        body=lambda t: {"version": t.version("claim_id")},
    ),
    # --- Issue 6: feedback surveys (service 10), managers of the organisation. ----------------------
    Case("GET", "/officer/surveys", Permission.QUALITY_MANAGE, 200, 200, reveals=lambda t: (t.survey_name,)),
    Case("GET", "/officer/surveys/new", Permission.QUALITY_MANAGE, 200, 200),
    Case(  # whatever is aimed at, a new survey is the actor's own organisation's
        "POST",
        "/officer/surveys",
        Permission.QUALITY_MANAGE,
        303,
        303,
        body=lambda t: {**survey_form("Uusi kysely"), "organisation_id": str(t.organisation_id)},
        creates=("survey", "survey_question"),
    ),
    Case(
        "GET",
        "/officer/surveys/{survey_id:uuid}",
        Permission.QUALITY_MANAGE,
        404,
        200,
        reveals=lambda t: (t.survey_name,),
    ),
    Case(
        "GET",
        "/officer/surveys/{survey_id:uuid}/results",
        Permission.QUALITY_MANAGE,
        404,
        200,
        reveals=lambda t: (t.survey_name,),
    ),
    Case(  # renamed, with another question
        "POST",
        "/officer/surveys/{survey_id:uuid}",
        Permission.QUALITY_MANAGE,
        404,
        303,
        body=lambda t: {
            **survey_form("Tapaamisten palaute", "survey_appointment"),
            "version": t.version("survey_id"),
        },
    ),
    Case(
        "POST",
        "/officer/surveys/{survey_id:uuid}/copy",
        Permission.QUALITY_MANAGE,
        404,
        303,
        creates=("survey", "survey_question"),
    ),
    Case(
        "POST",
        "/officer/surveys/{survey_id:uuid}/activate",
        Permission.QUALITY_MANAGE,
        404,
        303,
        body=lambda t: {"version": t.version("survey_id")},
    ),
    Case(
        "POST",
        "/officer/surveys/{survey_id:uuid}/deactivate",
        Permission.QUALITY_MANAGE,
        404,
        303,
        body=lambda t: {"version": t.version("survey_id")},
    ),
    # --- Issue 6: managers' reports (service 13) and the retention register (§77). ------------------
    Case(  # narrowed to B's officer: not of the manager's organisation
        "GET",
        "/officer/reports",
        Permission.REPORTS,
        404,
        200,
        query=lambda t: f"officer={t.staff_id}",
        reveals=lambda t: (t.staff_name,),
    ),
    Case(
        "GET",
        "/officer/reports/export.csv",
        Permission.REPORTS,
        404,
        200,
        query=lambda t: f"officer={t.staff_id}",
    ),
    Case("GET", "/officer/reports/national.csv", Permission.REPORTS, 200, 200),
    Case(  # the held client, with the pending matter
        "GET",
        "/officer/retention",
        Permission.RETENTION,
        200,
        200,
        reveals=lambda t: (t.client_display, t.hold_reason),
    ),
    # --- Issue 7: the public knowledge base for its editors (service 21): the organisation's own articles
    # and its visitors' questions. Reads first, then the changes an editor makes, in order.
    Case(
        "GET", "/officer/articles", Permission.KNOWLEDGE_EDIT, 200, 200, reveals=lambda t: (t.article_title,)
    ),
    Case(  # a draft from a visitor's question: only from a question of the organisation's own
        "GET",
        "/officer/articles/new",
        Permission.KNOWLEDGE_EDIT,
        200,
        200,
        query=lambda t: f"question={t.question_id}",
        reveals=lambda t: (t.question_text,),
    ),
    Case(
        "GET",
        "/officer/articles/{article_id:uuid}",
        Permission.KNOWLEDGE_EDIT,
        404,
        200,
        reveals=lambda t: (t.article_title,),
    ),
    Case(
        "GET",
        "/officer/articles/{article_id:uuid}/edit",
        Permission.KNOWLEDGE_EDIT,
        404,
        200,
        reveals=lambda t: (t.article_title,),
    ),
    Case(
        "GET",
        "/officer/articles/{article_id:uuid}/versions/{number:int}",
        Permission.KNOWLEDGE_EDIT,
        404,
        200,
        reveals=lambda t: (t.article_title,),
    ),
    Case(
        "GET",
        "/officer/articles/{article_id:uuid}/texts/{language:str}",
        Permission.KNOWLEDGE_EDIT,
        404,
        200,
        reveals=lambda t: (t.article_title,),
    ),
    Case(
        "GET",
        "/officer/articles/questions",
        Permission.KNOWLEDGE_EDIT,
        200,
        200,
        reveals=lambda t: (t.question_text,),
    ),
    Case(
        "GET",
        "/officer/articles/questions/{question_id:uuid}",
        Permission.KNOWLEDGE_EDIT,
        404,
        200,
        reveals=lambda t: (t.question_text,),
    ),
    Case(  # whatever is aimed at, the new draft is the organisation's own (B's question is not linked)
        "POST",
        "/officer/articles",
        Permission.KNOWLEDGE_EDIT,
        303,
        303,
        body=lambda t: {
            "topic": "housing",
            "source_language": "fi",
            "slug": "koira-vuokra-asunnossa",
            "title": "Koira vuokra-asunnossa",
            "summary": "Kysy vuokranantajalta.",
            "body": "Vuokrasopimus kertoo, saako asunnossa pitää lemmikkejä.",
            "question": str(t.question_id),
            "organisation_id": str(t.organisation_id),
        },
        creates=("knowledge_article", "knowledge_article_text"),
    ),
    Case(  # the source text changes: the Swedish text becomes stale
        "POST",
        "/officer/articles/{article_id:uuid}",
        Permission.KNOWLEDGE_EDIT,
        404,
        303,
        body=lambda t: {
            "topic": "housing",
            "slug": "vuokra-asunnon-haku",
            "title": "Vuokra-asunnon haku",
            "summary": "Näin haet vuokra-asuntoa.",
            "body": "Hae asuntoa kaupungin vuokrataloyhtiöltä tai yksityiseltä vuokranantajalta.",
            "version": t.version("article_id"),
        },
    ),
    Case(  # the translator brings the Swedish text up to date
        "POST",
        "/officer/articles/{article_id:uuid}/texts/{language:str}",
        Permission.KNOWLEDGE_EDIT,
        404,
        303,
        body=lambda t: {
            "title": "Att söka en hyresbostad",
            "summary": "Så söker du en hyresbostad.",
            "body": "Sök en bostad hos stadens hyresbolag eller hos en privat hyresvärd.",
            "origin": "translator",
            "version": t.version("article_text_id"),
        },
    ),
    Case(  # no machine translation server in the tests: "not in use" (409, nothing saved), as for plans
        "POST",
        "/officer/articles/{article_id:uuid}/texts/{language:str}/machine",
        Permission.KNOWLEDGE_EDIT,
        404,
        409,
    ),
    Case(  # the changed texts as version 2 on the public pages
        "POST",
        "/officer/articles/{article_id:uuid}/publish",
        Permission.KNOWLEDGE_EDIT,
        404,
        303,
        body=lambda t: {"state": t.article_state},
        creates=("knowledge_article_version",),
    ),
    Case(
        "POST",
        "/officer/articles/{article_id:uuid}/withdraw",
        Permission.KNOWLEDGE_EDIT,
        404,
        303,
        body=lambda t: {"version": t.version("article_id")},
    ),
    Case(  # answered by e-mail, as the visitor asked (then the address is deleted)
        "POST",
        "/officer/articles/questions/{question_id:uuid}/answer",
        Permission.KNOWLEDGE_EDIT,
        404,
        303,
        body=lambda t: {
            "answer": "Katso vuokrasopimuksesi tai kysy vuokranantajalta.",
            "version": t.version("question_id"),
        },
        creates=("outbox_message",),
    ),
    Case(  # another open question (B: its only one, refused)
        "POST",
        "/officer/articles/questions/{question_id:uuid}/dismiss",
        Permission.KNOWLEDGE_EDIT,
        404,
        303,
        ids={"question_id": lambda t: t.dismissable_question_id},
        body=lambda t: {"version": t.version("dismissable_question_id")},
    ),
    # --- Issue 7: outreach (3.4.4) and benefit data: integration officers only (OUTREACH); an import, an
    # item or its benefit of B's is not found. The list, a person added, an import, then one person's page
    # and the changes an officer makes, the person becoming a client last.
    Case("GET", "/officer/outreach", Permission.OUTREACH, 200, 200, reveals=lambda t: (t.outreach_name,)),
    Case("GET", "/officer/outreach/new", Permission.OUTREACH, 200, 200),
    Case(
        "POST",
        "/officer/outreach",
        Permission.OUTREACH,
        303,  # B has listed the identity code: no matter, A's own list does not have it (saved in A)
        409,  # the own list has it already: the officer is shown the person instead
        body=lambda t: {
            "first_names": "Eemeli",
            "last_name": "Etsittävä",
            "identity_code": t.outreach_identity_code,
            "reason": "other",
        },
        creates=("outreach_item",),
    ),
    Case(
        "GET",
        "/officer/outreach/imports",
        Permission.OUTREACH,
        200,
        200,
        reveals=lambda t: (t.import_file_name,),
    ),
    Case(  # the preview reads the file and writes nothing
        "POST",
        "/officer/outreach/imports/preview",
        Permission.OUTREACH,
        200,
        200,
        body=lambda t: {"source": "kela_list"},
        files=lambda t: {"file": ("kela.csv", kela_list(t), "text/csv")},
    ),
    Case(  # the list names the target's listed person: A's item is updated; B's code makes an item of A's
        "POST",
        "/officer/outreach/imports",
        Permission.OUTREACH,
        303,
        303,
        body=lambda t: {
            "source": "kela_list",
            "mode": "all_or_nothing",
            "file_name": "kela.csv",
            "content": base64.b64encode(kela_list(t)).decode(),
        },
        creates=("outreach_import", "outreach_item", "benefit"),
    ),
    Case(
        "GET",
        "/officer/outreach/imports/{import_id:uuid}",
        Permission.OUTREACH,
        404,
        200,
        reveals=lambda t: (t.import_file_name,),
    ),
    Case(
        "GET",
        "/officer/outreach/{item_id:uuid}",
        Permission.OUTREACH,
        404,
        200,
        reveals=lambda t: (t.outreach_name, t.outreach_contact_note),
    ),
    Case(
        "GET",
        "/officer/outreach/{item_id:uuid}/edit",
        Permission.OUTREACH,
        404,
        200,
        reveals=lambda t: (t.outreach_name,),
    ),
    Case(
        "POST",
        "/officer/outreach/{item_id:uuid}",
        Permission.OUTREACH,
        404,
        303,
        body=lambda t: {
            "first_names": OUTREACH_FIRST_NAMES,
            "last_name": OUTREACH_LAST_NAME,
            "identity_code": t.outreach_identity_code,
            "reason": "social_assistance",
            "language": "so",
            "phone": "040 765 4321",
            "note": "Tavoitettavissa iltapäivisin",
            "version": t.version("outreach_item_id"),
        },
    ),
    Case(
        "POST",
        "/officer/outreach/{item_id:uuid}/contacts",
        Permission.OUTREACH,
        404,
        303,
        body=lambda t: {
            "channel": "phone",
            "attempted_on": _days(0),
            "outcome": "message_left",
            "note": "Jätetty viesti vastaajaan",
        },
        creates=("outreach_contact",),
    ),
    Case(
        "POST",
        "/officer/outreach/{item_id:uuid}/status",
        Permission.OUTREACH,
        404,
        303,
        body=lambda t: {"status": "reached", "version": t.version("outreach_item_id")},
    ),
    Case(
        "POST",
        "/officer/outreach/{item_id:uuid}/benefits",
        Permission.OUTREACH,
        404,
        303,
        body=lambda t: {"type": "unemployment_benefit", "status": "applied", "starts_on": _days(-10)},
        creates=("benefit",),
    ),
    Case(
        "GET",
        "/officer/outreach/{item_id:uuid}/benefits/{benefit_id:uuid}/edit",
        Permission.OUTREACH,
        404,
        200,
        ids=ITEM_BENEFIT,
        reveals=lambda t: (t.outreach_name,),
    ),
    Case(  # the benefit from the list ends in a month
        "POST",
        "/officer/outreach/{item_id:uuid}/benefits/{benefit_id:uuid}",
        Permission.OUTREACH,
        404,
        303,
        ids=ITEM_BENEFIT,
        body=lambda t: {
            "type": "social_assistance",
            "status": "receiving",
            "starts_on": "2025-01-01",
            "ends_on": _days(30),
            "version": t.version("item_benefit_id"),
        },
    ),
    Case(  # the other person on the list is the target's client (B: B's person and B's client, refused)
        "POST",
        "/officer/outreach/{item_id:uuid}/link",
        Permission.OUTREACH,  # and CLIENT_WRITE: every holder of OUTREACH has it
        404,
        303,
        ids={"item_id": lambda t: t.linkable_item_id},
        body=lambda t: {"client_id": str(t.client_id), "version": t.version("linkable_item_id")},
    ),
    Case(  # the person from the list becomes a client, their benefits with them
        "POST",
        "/officer/outreach/{item_id:uuid}/client",
        Permission.OUTREACH,  # and CLIENT_WRITE
        404,
        303,
        body=lambda t: {"version": t.version("outreach_item_id")},
        creates=("client",),
    ),
    # A client's benefits on the client page: changing client data (CLIENT_WRITE and may_write_client).
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/benefits",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"type": "unemployment_benefit", "status": "applied", "starts_on": _days(0)},
        creates=("benefit",),
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/benefits/{benefit_id:uuid}/edit",
        Permission.CLIENT_WRITE,
        404,
        200,
        reveals=_client_shown,
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/benefits/{benefit_id:uuid}",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "type": "home_care_allowance",
            "status": "receiving",
            "starts_on": _days(-45),
            "ends_on": "",
            "version": t.version("benefit_id"),
        },
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/benefits/{benefit_id:uuid}/end",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"end_ends_on": _days(0), "version": t.version("benefit_id")},
    ),
    # --- Issue 7: planned arrivals (3.4.8–3.4.11): integration officers only (ARRIVALS); B's arrival, person
    # or consultation is not found. The quota refugees from the proposal to the arrival, in order; the
    # municipal placement's checklist and handover, then it is cancelled.
    Case(
        "GET",
        "/officer/arrivals",
        Permission.ARRIVALS,
        200,
        200,
        reveals=lambda t: (t.arrival_reference,),
    ),
    Case("GET", "/officer/arrivals/new", Permission.ARRIVALS, 200, 200),
    Case(  # whatever the form says, the arrival is the actor's organisation's
        "POST",
        "/officer/arrivals",
        Permission.ARRIVALS,
        303,
        303,
        body=lambda t: {
            "kind": "quota_refugees",
            "reference": "UUDELY/2026/99",
            "received_on": _days(0),
            "sender": "Uudenmaan ELY-keskus",
            "organisation_id": str(t.organisation_id),
        },
        creates=("arrival",),
    ),
    Case(
        "GET",
        "/officer/arrivals/{arrival_id:uuid}",
        Permission.ARRIVALS,
        404,
        200,
        reveals=lambda t: (t.arrival_reference, t.arrival_person_name, t.consultation_question),
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/proposal",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {
            "reference": "UUDELY/2026/15",
            "received_on": _days(-9),
            "sender": "Uudenmaan ELY-keskus",
            "version": t.version("arrival_id"),
        },
    ),
    Case("GET", "/officer/arrivals/{arrival_id:uuid}/persons/new", Permission.ARRIVALS, 404, 200),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/persons",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {
            "role": "child",
            "first_names": "Aya Oma",
            "last_name": ARRIVAL_LAST_NAME,
            "date_of_birth": "2018-05-05",
            "citizenship": "SY",
            "mother_tongue": "ar",
        },
        creates=("arrival_person",),
    ),
    Case(
        "GET",
        "/officer/arrivals/{arrival_id:uuid}/persons/{person_id:uuid}",
        Permission.ARRIVALS,
        404,
        200,
        reveals=lambda t: (t.arrival_person_name,),
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/persons/{person_id:uuid}",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {
            "role": "head_of_family",
            "first_names": ARRIVAL_FIRST_NAMES[0],
            "last_name": ARRIVAL_LAST_NAME,
            "date_of_birth": "1980-01-01",
            "citizenship": "SY",
            "mother_tongue": "ar",
            "interpreter_needed": "on",
            "special_needs": "Diabetes",
            "version": t.version("arrival_person_id"),
        },
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/persons/{person_id:uuid}/remove",
        Permission.ARRIVALS,
        404,
        303,
        ids={"person_id": lambda t: t.removable_person_id},
        body=lambda t: {"version": t.version("removable_person_id")},
    ),
    Case(  # sent to the wrong county, say: taken back before the county answers
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/consultations/{consultation_id:uuid}/withdraw",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {"version": t.version("consultation_id")},
    ),
    Case(  # the family changed above: a new summary to the same county (the earlier one is withdrawn)
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/consultations",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {
            "county_id": str(t.county_id),
            "question": "Tarvitaanko kotihoitoa heti saapumisesta alkaen?",
            "version": t.version("arrival_id"),
        },
        creates=("arrival_consultation",),
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/decision",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {
            "decision": "accept",
            "decision_on": _days(0),
            "decision_note": "Kunta ottaa perheen vastaan",
            "version": t.version("arrival_id"),
        },
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/housing",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {
            "housing_address": "Omakatu 5 B 12",
            "lease_starts_on": _days(20),
            "lease_ends_on": "",
            "earliest_arrival_on": _days(30),
            "version": t.version("arrival_id"),
        },
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/reception",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {
            "arrives_on": _days(30),
            "arrives_time": "14:35",
            "flight": "AY 1234",
            "transport": "Kunnan tila-auto",
            "interpreter": "Arabian tulkki",
            "version": t.version("arrival_id"),
        },
    ),
    Case(  # the persons become clients of the organisation
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/arrived",
        Permission.ARRIVALS,
        404,
        303,
        body=lambda t: {
            "arrived_on": _days(0),
            "first_permit_date": _days(-60),
            "version": t.version("arrival_id"),
        },
        creates=("client",),
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/checklist/{key:str}",
        Permission.ARRIVALS,
        404,
        303,
        ids=PLACEMENT,
        body=lambda t: {
            "done_on-electricity_contract": _days(0),
            "note-electricity_contract": "Sopimus tehty",
        },
        creates=("arrival_checklist_item",),
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/checklist/{key:str}/undo",
        Permission.ARRIVALS,
        404,
        303,
        ids={**PLACEMENT, "key": lambda t: "keys"},
        body=lambda t: {"item_id": str(t.checklist_item_id)},
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/handover",
        Permission.ARRIVALS,
        404,
        303,
        ids=PLACEMENT,
        body=lambda t: {
            "handover_consent_on": _days(-5),
            "handover_data": "Tarvitsee tukea asunnon etsimisessä",
            "transfer_meeting_on": _days(3),
            "transfer_meeting_time": "10:00",
            "version": t.version("placement_id"),
        },
    ),
    Case(
        "POST",
        "/officer/arrivals/{arrival_id:uuid}/cancel",
        Permission.ARRIVALS,
        404,
        303,
        ids=PLACEMENT,
        body=lambda t: {"version": t.version("placement_id")},
    ),
    # The county's side of the consultation (service 5): county staff (COOPERATION_INBOX), only what was sent
    # to their own county (B's went to county D: not found), and only the anonymised summary.
    Case(
        "GET",
        "/officer/consultations",
        Permission.COOPERATION_INBOX,
        200,
        200,
        reveals=lambda t: (str(t.consultation_id),),
    ),
    Case(
        "GET",
        "/officer/consultations/{consultation_id:uuid}",
        Permission.COOPERATION_INBOX,
        404,
        200,
        reveals=lambda t: (t.consultation_question,),
    ),
    Case(
        "POST",
        "/officer/consultations/{consultation_id:uuid}/answer",
        Permission.COOPERATION_INBOX,
        404,
        303,
        body=lambda t: {
            "answer": "Maakunta järjestää kotihoidon saapumisesta alkaen",
            "version": t.version("consultation_id"),
        },
    ),
    # --- Issue 7: guidance and counselling visits (service 4): officers (GUIDANCE_VISITS) record them for
    # the organisation's consenting clients or anonymously; only the recorder changes a visit, on the day
    # it was recorded (A's: the officer actor's, today). Managers keep the topic list (GUIDANCE_TOPICS).
    Case(  # the officer's own visits by default
        "GET",
        "/officer/guidance-visits",
        Permission.GUIDANCE_VISITS,
        200,
        200,
        reveals=lambda t: (t.client_display, t.topic_name),
    ),
    Case(  # the form for a visit of the client: only a client of the organisation's own
        "GET",
        "/officer/guidance-visits/new",
        Permission.GUIDANCE_VISITS,
        404,
        200,
        query=lambda t: f"client_id={t.client_id}",
        reveals=lambda t: (t.client_display, t.topic_name),
    ),
    Case(  # the form's client search (a POST): B's clients never found
        "POST",
        "/officer/guidance-visits/new/find-client",
        Permission.GUIDANCE_VISITS,
        200,
        200,
        body=lambda t: {"client_query": t.client_display.split(",")[0], "visited_on": _days(0)},
        reveals=_client_shown,
    ),
    Case(
        "POST",
        "/officer/guidance-visits",
        Permission.GUIDANCE_VISITS,
        404,  # B's client (with B's topic): not found
        303,
        body=lambda t: {
            "client_id": str(t.client_id),
            "visited_on": _days(0),
            "topic": [str(t.topic_id)],
            "channel": "walk_in",
            "duration_minutes": "45",
            "language": "fi",
            "referral": ["to_housing"],
            "note": "Uusi käynti: vuokrasopimuksen läpikäynti",
        },
        creates=("guidance_visit", "guidance_visit_topic", "guidance_visit_referral"),
    ),
    Case(
        "GET",
        "/officer/guidance-visits/{visit_id:uuid}",
        Permission.GUIDANCE_VISITS,
        404,
        200,
        reveals=lambda t: (t.client_display, t.visit_note),
    ),
    Case(
        "GET",
        "/officer/guidance-visits/{visit_id:uuid}/edit",
        Permission.GUIDANCE_VISITS,
        404,
        200,
        reveals=lambda t: (t.client_display, t.visit_note),
    ),
    Case(
        "POST",
        "/officer/guidance-visits/{visit_id:uuid}",
        Permission.GUIDANCE_VISITS,
        404,
        303,
        body=lambda t: {
            "visited_on": _days(0),
            "topic": [str(t.topic_id)],
            "channel": "walk_in",
            "duration_minutes": "40",
            "language": "fi",
            "interpreter_used": "on",
            "referral": ["to_kela"],
            "note": "Käynti päivitetty: tulkki oli mukana",
            "version": t.version("visit_id"),
        },
    ),
    Case(
        "POST",
        "/officer/guidance-visits/{visit_id:uuid}/delete",
        Permission.GUIDANCE_VISITS,
        404,
        303,
        ids={"visit_id": lambda t: t.removable_visit_id},
        body=lambda t: {"version": t.version("removable_visit_id")},
    ),
    Case(
        "GET",
        "/officer/guidance-topics",
        Permission.GUIDANCE_TOPICS,
        200,
        200,
        reveals=lambda t: (t.topic_name,),
    ),
    Case(  # whatever the form says, the topic is the actor's organisation's
        "POST",
        "/officer/guidance-topics",
        Permission.GUIDANCE_TOPICS,
        303,
        303,
        body=lambda t: {
            "name_fi": "Uusi aihe: terveys",
            "name_sv": "Nytt ämne: hälsa",
            "name_en": "New topic: health",
            "organisation_id": str(t.organisation_id),
        },
        creates=("guidance_topic",),
    ),
    Case(
        "GET",
        "/officer/guidance-topics/{topic_id:uuid}/edit",
        Permission.GUIDANCE_TOPICS,
        404,
        200,
        reveals=lambda t: (t.topic_name,),
    ),
    Case(
        "POST",
        "/officer/guidance-topics/{topic_id:uuid}",
        Permission.GUIDANCE_TOPICS,
        404,
        303,
        body=lambda t: {
            "name_fi": "Asuminen ja arki",
            "name_sv": "Boende och vardag",
            "name_en": "Housing and everyday life",
            "version": t.version("topic_id"),
        },
    ),
    Case(
        "POST",
        "/officer/guidance-topics/{topic_id:uuid}/move",
        Permission.GUIDANCE_TOPICS,
        404,
        303,
        body=lambda t: {"direction": "down", "version": t.version("topic_id")},
    ),
    Case(
        "POST",
        "/officer/guidance-topics/{topic_id:uuid}/retire",
        Permission.GUIDANCE_TOPICS,
        404,
        303,
        body=lambda t: {"version": t.version("topic_id")},
    ),
    Case(
        "POST",
        "/officer/guidance-topics/{topic_id:uuid}/reactivate",
        Permission.GUIDANCE_TOPICS,
        404,
        303,
        body=lambda t: {"version": t.version("topic_id")},
    ),
    # Changes to a client: these run after the reads, which look for the client's name.
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {**CLIENT_FORM, "version": t.version("client_id")},
    ),
    Case(  # whose worklist the client is on: an officer of the client's own organisation (B: B's officer)
        "POST",
        "/officer/clients/{client_id:uuid}/responsible",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"responsible_officer_id": str(t.staff_id)},
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/family",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"relation": "spouse", "related_identifier": t.related_identifier},
    ),
    Case(  # after the link above: the two consenting adults (A), or B's family (refused)
        "POST",
        "/officer/clients/{client_id:uuid}/family-overview",
        Permission.CLIENT_WRITE,
        404,
        303,
    ),
    Case(  # after the link above: the officer removes the link it just made (A) or B's link (refused)
        "POST",
        "/officer/clients/{client_id:uuid}/family/{related_id:uuid}/delete",
        Permission.CLIENT_WRITE,
        404,
        303,
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/consents",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"purpose": "wellbeing_county_sharing", "given": "yes", "decided_on": "2026-01-10"},
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/health",
        Permission.HEALTH_WRITE,
        404,
        303,
        body=lambda t: {"text": "Tarvitsee esteettömän tilan", "source": "Asiakkaan oma kertomus"},
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/end",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "ended_on": "2026-01-31",
            "end_reason": "moved_away",
            "version": t.version("client_id"),
        },
    ),
    Case(  # to the employment authority: the client leaves A (one of its own, so the cases above keep Aino)
        "POST",
        "/officer/clients/{client_id:uuid}/transfer",
        Permission.CLIENT_WRITE,
        404,
        303,
        ids={"client_id": lambda t: t.transfer_client_id},
        body=lambda t: {
            "to_organisation_id": str(t.employment_authority_id),
            "transferred_on": _days(0),
            "reason": "Asiakas on työtön työnhakija",
            "version": t.version("transfer_client_id"),
        },
        creates=("client_transfer",),
    ),
    # Retention (§77): an ended client is read-only, but for the holds a pending matter places on the data;
    # the officer reopens the relationship when the person comes back before the data is deleted.
    Case(  # the client ended above
        "POST",
        "/officer/clients/{client_id:uuid}/holds",
        (Permission.CLIENT_WRITE, Permission.RETENTION),
        404,
        303,
        body=lambda t: {"hold_reason": "Oikaisuvaatimus vireillä hallinto-oikeudessa"},
        creates=("retention_hold",),
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/holds/{hold_id:uuid}/release",
        (Permission.CLIENT_WRITE, Permission.RETENTION),
        404,
        303,
        body=lambda t: {"version": t.version("hold_id")},
    ),
    Case(  # the person came back within the four years: the same relationship continues
        "POST",
        "/officer/clients/{client_id:uuid}/reopen",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"version": t.version("client_id")},
    ),
    # The audit log, filtered by another organisation's client: B's officer's events stay invisible.
    Case(
        "GET",
        "/officer/audit",
        Permission.AUDIT_SEARCH,
        200,
        200,
        query=lambda t: f"client={t.client_id}",
    ),
    # Administration.
    Case("GET", "/officer/admin/organisations", Permission.STAFF_MANAGE, 200, 200),
    Case(
        "POST",
        "/officer/admin/organisations",
        Permission.STAFF_MANAGE,
        303,
        303,
        body=lambda t: {"name": f"Uusi kunta {uuid.uuid4().hex[:6]}", "type": "municipality", "code": ""},
        creates=("organisation",),
    ),
    Case("GET", "/officer/admin/staff/new", Permission.STAFF_MANAGE, 200, 200),
    Case(
        "GET",
        "/officer/admin/staff",
        Permission.STAFF_MANAGE,
        200,
        200,
        reveals=lambda t: (t.staff_name, t.staff_email),
    ),
    Case(
        "POST",
        "/officer/admin/staff",
        Permission.STAFF_MANAGE,
        422,  # another organisation is out of scope: refused as a form error, nothing created
        200,
        body=lambda t: {
            "email": f"uusi.{uuid.uuid4().hex[:6]}@example.fi",
            "full_name": "Uusi Henkilö",
            "organisation_id": str(t.organisation_id),
            "roles": "integration_officer",
        },
        creates=("staff", "staff_role"),
    ),
    Case(
        "GET",
        "/officer/admin/staff/{staff_id:uuid}",
        Permission.STAFF_MANAGE,
        404,
        200,
        reveals=lambda t: (t.staff_name, t.staff_email),
    ),
    # System clients of the county API (service 18): an organisation's own; only a county creates them.
    Case(
        "GET",
        "/officer/admin/api-clients",
        Permission.STAFF_MANAGE,
        200,
        200,
        reveals=lambda t: (t.api_client_name,),
    ),
    Case(  # the matrix's administrator is a municipality's: no system clients by design (a county's: see
        # test_a_county_administrator_creates_system_clients_only_for_its_own_county)
        "POST",
        "/officer/admin/api-clients",
        Permission.STAFF_MANAGE,
        403,
        403,
        body=lambda t: {"name": "Uusi järjestelmä", "organisation_id": str(t.organisation_id)},
        creates=("api_client",),
    ),
    Case(  # a new secret, shown once
        "POST",
        "/officer/admin/api-clients/{api_client_id:uuid}/rotate",
        Permission.STAFF_MANAGE,
        404,
        200,
        reveals=lambda t: (t.api_client_name,),
    ),
    Case(
        "POST",
        "/officer/admin/api-clients/{api_client_id:uuid}/deactivate",
        Permission.STAFF_MANAGE,
        404,
        303,
    ),
    # State-changing staff administration last: if it wrongly succeeds on B, nothing after it is affected.
    Case(
        "POST",
        "/officer/admin/staff/{staff_id:uuid}",
        Permission.STAFF_MANAGE,
        404,
        303,
        body=lambda t: {
            "full_name": "Muutettu Nimi",
            "roles": ["integration_officer", "manager"],
            "version": t.version("staff_id"),
        },
        creates=("staff_role",),
    ),
    Case("POST", "/officer/admin/staff/{staff_id:uuid}/deactivate", Permission.STAFF_MANAGE, 404, 303),
    Case("POST", "/officer/admin/staff/{staff_id:uuid}/sign-out", Permission.STAFF_MANAGE, 404, 303),
    # The administrator's own organisation only, by construction (no id is taken); without the confirmation
    # nothing ends, so the matrix's other sessions stay (test_admin.py signs everyone out).
    Case("POST", "/officer/admin/staff/sign-out-everyone", Permission.STAFF_MANAGE, 422, 422),
    Case(
        "POST",
        "/officer/admin/staff/{staff_id:uuid}/reset-password",
        Permission.STAFF_MANAGE,
        404,
        200,
        reveals=lambda t: ('class="secret"',),  # the one-time password
    ),
]

# /officer/ routes that need no session, each with the reason.
SESSIONLESS: dict[tuple[str, str], str] = {
    ("GET", "/officer/sign-in"): "the sign-in page itself",
    ("POST", "/officer/sign-in"): "password sign-in: checks the credentials, rate-limited",
    (
        "GET",
        "/officer/sign-in/code",
    ): "the second step: only for a session waiting for its code, else to sign-in",
    (
        "POST",
        "/officer/sign-in/code",
    ): "the authenticator app's code: only for a session waiting for it, rate-limited",
    (
        "POST",
        "/officer/sign-in/recovery-code",
    ): "a recovery code as the second step: only for a session waiting for it, rate-limited",
    (
        "POST",
        "/officer/sign-in/code/passkey/options",
    ): "the second step's passkey challenge: only for a session waiting for it, lists that person's own",
    (
        "POST",
        "/officer/sign-in/code/passkey",
    ): "a passkey as the second step: only for a session waiting for it, the person's own, rate-limited",
    ("POST", "/officer/sign-in/passkey/options"): "a passkey sign-in challenge: holds no personal data",
    ("POST", "/officer/sign-in/passkey"): "passkey sign-in: checks the assertion, rate-limited",
    ("POST", "/officer/sign-out"): "ends whatever session the cookie names; nothing to do without one",
}

# Routes outside /officer/ and /me/, each with the reason it is not in the matrix.
PUBLIC_PATHS: dict[str, str] = {
    "/": "public landing page, no personal data",
    "/accessibility": "public accessibility statement",
    "/health": "liveness probe, no personal data",
    "/manifest.webmanifest": "the migrant app's web app manifest: names, icons and colours, no personal data",
    "/speech": (
        "read-aloud audio (espeak-ng) of text the caller sends and so already has; content-addressed, "
        "holds nothing about who asked; CSRF-protected, bounded in size and in concurrent processes"
    ),
    "/static/{file_path:path}": "static assets",
    "/calendar/feed/{token:str}": (
        "an officer's private iCalendar feed: no session, a random 32-byte token in the address is the "
        "credential and only its SHA-256 is stored; an unknown or revoked token answers the same 404; no "
        "client names (see test_a_calendar_feed_token_opens_only_its_own_calendar)"
    ),
    "/feedback": (
        "anonymous feedback on the service (issue 6): a rating, the organisation's active public survey and "
        "a comment; asks nothing personal and shows nothing stored; CSRF-protected, a honeypot field and a "
        "limit per address"
    ),
    "/feedback/thanks": "the thank-you page after anonymous feedback: no data",
    # Low-threshold guidance (issue 7, service 21): the deployment's organisation's published articles
    # only (drafts and other organisations' articles are not found), anonymous questions.
    "/guidance": "the public knowledge base's front page: topics and search, published articles only",
    "/guidance/topics/{topic:str}": "a topic's published articles",
    "/guidance/articles/{slug:str}": "a published article (its latest published version)",
    "/guidance/articles/{slug:str}/{language:str}": "a published article in a chosen language",
    "/guidance/search": "search of the published articles (GET; the words are neither logged nor stored)",
    "/guidance/ask": "the form for an anonymous question: no data",
    "/guidance/questions": (
        "an anonymous question (an e-mail address only if the visitor wants the answer so): CSRF-protected, "
        "a honeypot field and a limit per address; stores nothing it shows"
    ),
    "/guidance/questions/sent": "the thank-you page after a question: no data",
    "/guidance/sw.js": "the guidance pages' service worker: static code and a list of static files",
    "/guidance/offline": "the offline page: no data",
    # Referrals by another authority (service 20): the officers' inbox is in the matrix (/officer/referrals).
    "/referral": (
        "the public referral form for other authorities (GET: the form, the deployment's municipalities; POST: "
        "a referral, stored for the chosen municipality's officers and shown to nobody else): no session, "
        "CSRF-protected, a honeypot field and a limit per address; the answer shows only what was typed"
    ),
    "/referral/sent": "the thank-you page after a referral: its address and page hold nothing about it",
    # The county data-transfer API (issue 6, service 18): no session and no CSRF; its own authentication,
    # tested with every other county's and client's ids in tests/integration/test_api_v1.py.
    "/api/v1/token": (
        "OAuth2 client credentials: a system client's id and secret (only the secret's SHA-256 is stored) "
        "for a 15-minute bearer token; failed attempts limited per client and per address"
    ),
    "/api/v1/clients": "bearer token of a county's system client (bearer_guard): that county's cooperations",
    "/api/v1/clients/{client_id:uuid}": (
        "bearer token (bearer_guard): a client the county cooperates on; any other id answers 404"
    ),
}
PUBLIC_PREFIXES: dict[str, str] = {
    "/schema": "Litestar's generated OpenAPI documents and viewers (route descriptions, no data)",
}

# Methods Litestar adds by itself: OPTIONS (an Allow header, no application code; behind the same
# guards, see test_unauthenticated_requests_are_sent_to_sign_in) and HEAD (static files only).
AUTOMATIC_METHODS = {"OPTIONS", "HEAD"}

# The migrant app (/me): every route runs client_guard (a live client session) except these, each with
# the reason it needs none. Which client's records a signed-in route reaches is not this file's matter:
# handlers never take a client id from the request, and tests/integration/test_me_isolation.py tries
# every /me route with another client's ids. No /me route may run staff_guard (an officer's session is
# no client's, and a client's session is no officer's).
SESSIONLESS_ME: dict[tuple[str, str], str] = {
    ("GET", "/me/sign-in"): "the sign-in page itself (with the field for an invitation's short code)",
    ("POST", "/me/sign-in/passkey/options"): "a passkey sign-in challenge: holds no personal data",
    ("POST", "/me/sign-in/passkey"): "passkey sign-in: checks the assertion, rate-limited",
    ("POST", "/me/sign-in/code"): "an invitation's short code: checked by its keyed hash, rate-limited",
    ("GET", "/me/join/{token:str}"): "the QR code's link: the invitation's token is the credential",
    ("GET", "/me/enrol"): "enrolment: only with the MAC-protected ticket cookie of a usable invitation",
    ("POST", "/me/enrol/language"): "enrolment: the invitation's ticket cookie; sets the app language",
    ("GET", "/me/enrol/passkey"): "enrolment: the invitation's ticket cookie; a page without data",
    ("POST", "/me/enrol/passkey/options"): "enrolment: the invitation's ticket cookie; a challenge",
    ("POST", "/me/enrol/passkey"): "enrolment: the ticket and a verified new passkey; rate-limited",
    ("POST", "/me/sign-out"): "ends whatever session the cookie names; nothing to do without one",
    ("GET", "/me/sw.js"): "the service worker: static code and a list of static files",
    ("GET", "/me/offline"): "the offline page: no data (the phone lists its own cached copies)",
}

# What each path parameter names (a case can say otherwise: Case.ids).
PATH_PARAMETERS: dict[str, Callable[[Target], Any]] = {
    "client_id": lambda t: t.client_id,
    "related_id": lambda t: t.related_client_id,
    "staff_id": lambda t: t.staff_id,
    "passkey_id": lambda t: t.passkey_id,
    "assessment_id": lambda t: t.assessment_id,
    "measure_id": lambda t: t.measure_id,
    "plan_id": lambda t: t.plan_id,  # under /officer/guidance-plans/ a guidance plan: Case.ids
    "overview_id": lambda t: t.overview_id,
    "service_id": lambda t: t.programme_service_id,  # under /officer/plans/ a service in the plan: Case.ids
    "period_id": lambda t: t.period_id,
    "language": lambda t: t.language,
    "appointment_id": lambda t: t.appointment_id,
    "task_id": lambda t: t.task_id,  # under /officer/guidance-plans/ a guidance task: Case.ids
    "thread_id": lambda t: t.thread_id,
    "message_id": lambda t: t.message_id,  # under /stakeholders/ a stakeholder message: Case.ids
    "translation_id": lambda t: t.message_translation_id,
    "request_id": lambda t: t.request_id,
    "template_id": lambda t: t.template_id,
    "group_id": lambda t: t.group_id,
    "contact_id": lambda t: t.contact_id,
    "invitation_id": lambda t: t.invitation_id,
    "cooperation_id": lambda t: t.cooperation_id,  # a request to answer or withdraw: Case.ids
    "api_client_id": lambda t: t.api_client_id,
    "contract_id": lambda t: t.contract_id,
    "attachment_id": lambda t: t.attachment_id,
    "cost_id": lambda t: t.cost_id,
    "claim_id": lambda t: t.claim_id,
    "survey_id": lambda t: t.survey_id,
    "hold_id": lambda t: t.hold_id,
    "article_id": lambda t: t.article_id,
    "number": lambda t: 1,  # the article's first published version
    "question_id": lambda t: t.question_id,
    "referral_id": lambda t: t.referral_id,  # the one to decline: Case.ids
    "import_id": lambda t: t.import_id,
    "item_id": lambda t: t.outreach_item_id,  # the one linked to a client: Case.ids
    "benefit_id": lambda t: t.benefit_id,  # under /officer/outreach/ the item's benefit: Case.ids
    "arrival_id": lambda t: t.arrival_id,  # the municipal placement's routes: Case.ids
    "person_id": lambda t: t.arrival_person_id,  # the one removed: Case.ids
    "consultation_id": lambda t: t.consultation_id,
    "key": lambda t: "electricity_contract",  # a checklist step (the one undone: Case.ids)
    "visit_id": lambda t: t.visit_id,  # the one deleted: Case.ids
    "topic_id": lambda t: t.topic_id,
}


# --- sending and checking -------------------------------------------------------------------------


def url_for(case: Case, target: Target) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(case.ids.get(name, PATH_PARAMETERS[name])(target))

    url = re.sub(r"\{(\w+):\w+\}", fill, case.path)
    if url == "/officer":
        url = "/officer/"
    return url + (f"?{case.query(target)}" if case.query else "")


def send(client: TestClient[Litestar], case: Case, target: Target) -> Any:
    url = url_for(case, target)
    if case.method == "GET":
        return client.get(url, follow_redirects=False)
    body = case.body(target) if case.body else {}
    if case.json:
        headers = {"x-csrftoken": csrf_token(client), "accept": "application/json"}
        return client.post(url, json=body, headers=headers, follow_redirects=False)
    if case.files:
        return post(client, url, body, files=case.files(target))
    return post(client, url, body)


COUNTED = (
    Client,
    ClientLanguage,
    Consent,
    FamilyLink,
    HealthInformation,
    ClientAccessGrant,
    Organisation,
    Staff,
    StaffRole,
    Passkey,
    Assessment,
    AssessmentLanguageSkill,
    RefiningMeasure,
    IntegrationPlan,
    PlanGoal,
    PlanService,
    PlanPause,
    PlanVersion,
    PlanApproval,
    PlanReview,
    FamilyOverview,
    FamilyOverviewMember,
    ClientTransfer,
    ProgrammeService,
    ProgrammeServiceText,
    ProgrammeServiceLanguage,
    ProgrammePeriod,
    Appointment,
    AppointmentClient,
    AppointmentStaff,
    Task,
    CalendarFeed,
    InterpretationEvent,
    Thread,
    Message,
    MessageTranslation,
    TranslationRequest,
    MessageTemplate,
    MessageTemplateText,
    GroupMessage,
    GroupMessageText,
    StakeholderContact,
    StakeholderMessage,
    OutboxMessage,
    OutboxAttempt,
    ContactPreference,
    ClientInvitation,
    ClientPasskey,
    ClientSession,
    PlanTextTranslation,
    CountyCooperation,
    CountyNote,
    ApiClient,
    ApiAccessToken,
    Contract,
    ContractAttachment,
    Cost,
    CompensationClaim,
    ClaimLine,
    Survey,
    SurveyQuestion,
    RetentionHold,
    KnowledgeArticle,
    KnowledgeArticleText,
    KnowledgeArticleVersion,
    KnowledgeSearchDoc,
    GuidanceQuestion,
    AuthorityReferral,
    OutreachItem,
    GuidancePlan,
    GuidanceTask,
    OutreachImport,
    OutreachContact,
    Benefit,
    Arrival,
    ArrivalPerson,
    ArrivalChecklistItem,
    ArrivalConsultation,
    GuidanceTopic,
    GuidanceVisit,
    GuidanceVisitTopic,
    GuidanceVisitReferral,
)


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int]
    other: dict[str, Any]  # organisation B's records, down to versions and password hashes


def snapshot(db: Session, world: World) -> Snapshot:
    tallies = select(*(select(func.count()).select_from(m).scalar_subquery() for m in COUNTED))
    counts = dict(zip((m.__tablename__ for m in COUNTED), db.execute(tallies).one(), strict=True))
    b_clients = world.other_client_ids
    b_staff = db.scalars(select(Staff.id).where(Staff.organisation_id == world.other_organisation_id)).all()

    def rows(statement: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in db.execute(statement).all()]

    def staff_rows(statement: Any) -> list[tuple[Any, ...]]:
        return [(*r[:-1], (r[-1] or "")[-6:]) for r in rows(statement)]  # the hash's tail is enough

    b_assessments = select(Assessment.id).where(Assessment.client_id.in_(b_clients))
    b_plans = select(IntegrationPlan.id).where(IntegrationPlan.client_id.in_(b_clients))
    b_services = select(ProgrammeService.id).where(
        ProgrammeService.organisation_id == world.other_organisation_id
    )
    b_overviews = select(FamilyOverviewMember.overview_id).where(
        FamilyOverviewMember.client_id.in_(b_clients)
    )
    other = {
        "clients": rows(
            select(
                Client.id,
                Client.version,
                Client.status,
                Client.organisation_id,
                Client.responsible_officer_id,
                Client.updated_at,
            )
            .where(or_(Client.organisation_id == world.other_organisation_id, Client.id.in_(b_clients)))
            .order_by(Client.id)
        ),
        "assessments": rows(
            select(Assessment.id, Assessment.version, Assessment.status)
            .where(
                or_(
                    Assessment.client_id.in_(b_clients),
                    Assessment.organisation_id == world.other_organisation_id,
                )
            )
            .order_by(Assessment.id)
        ),
        "refining measures": rows(
            select(RefiningMeasure.id, RefiningMeasure.version, RefiningMeasure.status)
            .where(RefiningMeasure.assessment_id.in_(b_assessments))
            .order_by(RefiningMeasure.id)
        ),
        "plans": rows(
            select(
                IntegrationPlan.id, IntegrationPlan.version, IntegrationPlan.status, IntegrationPlan.ends_on
            )
            .where(
                or_(
                    IntegrationPlan.client_id.in_(b_clients),
                    IntegrationPlan.organisation_id == world.other_organisation_id,
                )
            )
            .order_by(IntegrationPlan.id)
        ),
        "plan goals": rows(
            select(PlanGoal.id, PlanGoal.text).where(PlanGoal.plan_id.in_(b_plans)).order_by(PlanGoal.id)
        ),
        "plan services": rows(
            select(PlanService.id, PlanService.version, PlanService.status)
            .where(PlanService.plan_id.in_(b_plans))
            .order_by(PlanService.id)
        ),
        "plan reviews": rows(
            select(PlanReview.id, PlanReview.version)
            .where(PlanReview.plan_id.in_(b_plans))
            .order_by(PlanReview.id)
        ),
        "plan pauses": rows(
            select(PlanPause.id).where(PlanPause.plan_id.in_(b_plans)).order_by(PlanPause.id)
        ),
        "plan versions": rows(
            select(PlanVersion.id, PlanVersion.content_hash)
            .where(PlanVersion.plan_id.in_(b_plans))
            .order_by(PlanVersion.id)
        ),
        "plan approvals": rows(
            select(PlanApproval.id).where(PlanApproval.client_id.in_(b_clients)).order_by(PlanApproval.id)
        ),
        "family overviews": rows(
            select(FamilyOverview.id, FamilyOverview.version)
            .where(
                or_(
                    FamilyOverview.organisation_id == world.other_organisation_id,
                    FamilyOverview.id.in_(b_overviews),
                )
            )
            .order_by(FamilyOverview.id)
        ),
        "family overview members": rows(
            select(FamilyOverviewMember.overview_id, FamilyOverviewMember.client_id)
            .where(FamilyOverviewMember.client_id.in_(b_clients))
            .order_by(FamilyOverviewMember.id)
        ),
        "transfers": rows(
            select(ClientTransfer.id, ClientTransfer.reviewed_at)
            .where(
                or_(
                    ClientTransfer.client_id.in_(b_clients),
                    ClientTransfer.from_organisation_id == world.other_organisation_id,
                    ClientTransfer.to_organisation_id == world.other_organisation_id,
                )
            )
            .order_by(ClientTransfer.id)
        ),
        "programme services": rows(
            select(ProgrammeService.id, ProgrammeService.version, ProgrammeService.active)
            .where(ProgrammeService.organisation_id == world.other_organisation_id)
            .order_by(ProgrammeService.id)
        ),
        "programme texts": rows(
            select(ProgrammeServiceText.id, ProgrammeServiceText.version, ProgrammeServiceText.language)
            .where(ProgrammeServiceText.service_id.in_(b_services))
            .order_by(ProgrammeServiceText.id)
        ),
        "programme languages": rows(
            select(ProgrammeServiceLanguage.id, ProgrammeServiceLanguage.language)
            .where(ProgrammeServiceLanguage.service_id.in_(b_services))
            .order_by(ProgrammeServiceLanguage.id)
        ),
        "programme periods": rows(
            select(ProgrammePeriod.id, ProgrammePeriod.version)
            .where(ProgrammePeriod.service_id.in_(b_services))
            .order_by(ProgrammePeriod.id)
        ),
        "languages": rows(select(ClientLanguage.id).where(ClientLanguage.client_id.in_(b_clients))),
        "consents": rows(select(Consent.id, Consent.version).where(Consent.client_id.in_(b_clients))),
        "family links": rows(
            select(FamilyLink.id, FamilyLink.version).where(
                or_(FamilyLink.client_id.in_(b_clients), FamilyLink.related_client_id.in_(b_clients))
            )
        ),
        "health information": rows(
            select(HealthInformation.id, HealthInformation.version).where(
                HealthInformation.client_id.in_(b_clients)
            )
        ),
        "grants": rows(
            select(ClientAccessGrant.id, ClientAccessGrant.version, ClientAccessGrant.ended_at).where(
                ClientAccessGrant.client_id.in_(b_clients)
            )
        ),
        "staff": rows(
            select(
                Staff.id, Staff.version, Staff.full_name, Staff.active, func.substr(Staff.password_hash, -6)
            )
            .where(Staff.organisation_id == world.other_organisation_id)
            .order_by(Staff.id)
        ),
        "roles": rows(
            select(StaffRole.staff_id, StaffRole.role)
            .where(StaffRole.staff_id.in_(b_staff))
            .order_by(StaffRole.id)
        ),
        "passkeys": rows(select(Passkey.id, Passkey.name).where(Passkey.staff_id.in_(b_staff))),
        **_communication_rows(db, world, rows, b_clients, b_staff),
        # Issue 4: B's clients' access to the app, and B's plans' texts for them.
        "client invitations": rows(
            select(ClientInvitation.id, ClientInvitation.revoked_at, ClientInvitation.used_at)
            .where(ClientInvitation.client_id.in_(b_clients))
            .order_by(ClientInvitation.id)
        ),
        "client passkeys": rows(
            select(ClientPasskey.id, ClientPasskey.name)
            .where(ClientPasskey.client_id.in_(b_clients))
            .order_by(ClientPasskey.id)
        ),
        "client sessions": rows(
            select(ClientSession.token_hash)
            .where(ClientSession.client_id.in_(b_clients))
            .order_by(ClientSession.token_hash)
        ),
        "plan translations": rows(
            select(
                PlanTextTranslation.id,
                PlanTextTranslation.version,
                PlanTextTranslation.origin,
                PlanTextTranslation.checked_at,
            )
            .where(PlanTextTranslation.plan_id.in_(b_plans))
            .order_by(PlanTextTranslation.id)
        ),
        "sessions": rows(select(StaffSession.token_hash).where(StaffSession.staff_id.in_(b_staff))),
        **_back_office_rows(db, world, rows, b_clients),
        **_referral_and_guidance_rows(db, world, rows, b_clients),
        **_outreach_arrival_and_visit_rows(db, world, rows, b_clients),
        "audit events about B": db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                or_(
                    AuditEvent.client_id.in_(b_clients),
                    AuditEvent.object_id.in_([str(s) for s in b_staff]),
                )
            )
        ),
    }
    db.rollback()  # end the read transaction: the app writes next
    return Snapshot(counts, other)


def _communication_rows(
    db: Session,
    world: World,
    rows: Callable[[Any], list[tuple[Any, ...]]],
    b_clients: tuple[uuid.UUID, ...],
    b_staff: Any,
) -> dict[str, Any]:
    """Organisation B's records of issue 5, down to versions, states and read markers."""
    b = world.other_organisation_id
    b_appointments = select(Appointment.id).where(Appointment.organisation_id == b)
    b_threads = select(Thread.id).where(or_(Thread.organisation_id == b, Thread.client_id.in_(b_clients)))
    b_messages = select(Message.id).where(Message.thread_id.in_(b_threads))
    b_outbox = select(OutboxMessage.id).where(
        or_(OutboxMessage.client_id.in_(b_clients), OutboxMessage.address == B_CONTACT_EMAIL)
    )
    return {
        "appointments": rows(
            select(Appointment.id, Appointment.version, Appointment.status, Appointment.starts_at)
            .where(
                or_(
                    Appointment.organisation_id == b,
                    Appointment.id.in_(
                        select(AppointmentClient.appointment_id).where(
                            AppointmentClient.client_id.in_(b_clients)
                        )
                    ),
                )
            )
            .order_by(Appointment.id)
        ),
        "appointment clients": rows(
            select(
                AppointmentClient.appointment_id,
                AppointmentClient.client_id,
                AppointmentClient.seen_by_staff_at,
            )
            .where(
                or_(
                    AppointmentClient.appointment_id.in_(b_appointments),
                    AppointmentClient.client_id.in_(b_clients),
                )
            )
            .order_by(AppointmentClient.id)
        ),
        "appointment staff": rows(
            select(AppointmentStaff.appointment_id, AppointmentStaff.staff_id)
            .where(
                or_(
                    AppointmentStaff.appointment_id.in_(b_appointments),
                    AppointmentStaff.staff_id.in_(b_staff),
                )
            )
            .order_by(AppointmentStaff.id)
        ),
        "interpretation events": rows(
            select(InterpretationEvent.id, InterpretationEvent.version)
            .where(
                or_(InterpretationEvent.organisation_id == b, InterpretationEvent.client_id.in_(b_clients))
            )
            .order_by(InterpretationEvent.id)
        ),
        "tasks": rows(
            select(Task.id, Task.version, Task.done_at)
            .where(or_(Task.organisation_id == b, Task.client_id.in_(b_clients)))
            .order_by(Task.id)
        ),
        "calendar feeds": rows(
            select(CalendarFeed.id, CalendarFeed.revoked_at)
            .where(CalendarFeed.staff_id.in_(b_staff))
            .order_by(CalendarFeed.id)
        ),
        "threads": rows(
            select(Thread.id, Thread.version, Thread.staff_read_at, Thread.last_message_at)
            .where(Thread.id.in_(b_threads))
            .order_by(Thread.id)
        ),
        "messages": rows(select(Message.id).where(Message.id.in_(b_messages)).order_by(Message.id)),
        "message translations": rows(
            select(MessageTranslation.id, MessageTranslation.version, MessageTranslation.checked_at)
            .where(MessageTranslation.message_id.in_(b_messages))
            .order_by(MessageTranslation.id)
        ),
        "translation requests": rows(
            select(TranslationRequest.id, TranslationRequest.version, TranslationRequest.status)
            .where(
                or_(TranslationRequest.organisation_id == b, TranslationRequest.message_id.in_(b_messages))
            )
            .order_by(TranslationRequest.id)
        ),
        "templates": rows(
            select(MessageTemplate.id, MessageTemplate.version, MessageTemplate.active)
            .where(MessageTemplate.organisation_id == b)
            .order_by(MessageTemplate.id)
        ),
        "template texts": rows(
            select(MessageTemplateText.id, MessageTemplateText.version)
            .where(
                MessageTemplateText.template_id.in_(
                    select(MessageTemplate.id).where(MessageTemplate.organisation_id == b)
                )
            )
            .order_by(MessageTemplateText.id)
        ),
        "group messages": rows(
            select(GroupMessage.id, GroupMessage.version, GroupMessage.sent_at)
            .where(GroupMessage.organisation_id == b)
            .order_by(GroupMessage.id)
        ),
        "group message texts": rows(
            select(GroupMessageText.id, GroupMessageText.version)
            .where(
                GroupMessageText.group_message_id.in_(
                    select(GroupMessage.id).where(GroupMessage.organisation_id == b)
                )
            )
            .order_by(GroupMessageText.id)
        ),
        "stakeholder contacts": rows(
            select(StakeholderContact.id, StakeholderContact.version, StakeholderContact.active)
            .where(StakeholderContact.organisation_id == b)
            .order_by(StakeholderContact.id)
        ),
        "stakeholder messages": rows(
            select(StakeholderMessage.id)
            .where(StakeholderMessage.organisation_id == b)
            .order_by(StakeholderMessage.id)
        ),
        "notifications": rows(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts)
            .where(OutboxMessage.id.in_(b_outbox))
            .order_by(OutboxMessage.id)
        ),
        "notification attempts": rows(
            select(OutboxAttempt.id).where(OutboxAttempt.outbox_id.in_(b_outbox)).order_by(OutboxAttempt.id)
        ),
        "notification settings": rows(
            select(
                ContactPreference.client_id,
                ContactPreference.version,
                ContactPreference.sms,
                ContactPreference.quiet_from,
            )
            .where(ContactPreference.client_id.in_(b_clients))
            .order_by(ContactPreference.client_id)
        ),
    }


def _back_office_rows(
    db: Session, world: World, rows: Callable[[Any], list[tuple[Any, ...]]], b_clients: tuple[uuid.UUID, ...]
) -> dict[str, Any]:
    """Organisation B's records of issues 6 and 7, down to versions, states and secret hashes."""
    b = world.other_organisation_id
    b_contracts = select(Contract.id).where(Contract.organisation_id == b)
    b_claims = select(CompensationClaim.id).where(CompensationClaim.organisation_id == b)
    b_surveys = select(Survey.id).where(Survey.organisation_id == b)
    b_articles = select(KnowledgeArticle.id).where(KnowledgeArticle.organisation_id == b)
    return {
        "cooperations": rows(
            select(
                CountyCooperation.id,
                CountyCooperation.version,
                CountyCooperation.status,
                CountyCooperation.responsible_staff_id,
            )
            .where(or_(CountyCooperation.client_id.in_(b_clients), CountyCooperation.organisation_id == b))
            .order_by(CountyCooperation.id)
        ),
        "county notes": rows(
            select(CountyNote.id, CountyNote.version, CountyNote.shared)
            .where(CountyNote.client_id.in_(b_clients))
            .order_by(CountyNote.id)
        ),
        "system clients": rows(
            select(ApiClient.id, ApiClient.version, ApiClient.active, ApiClient.secret_hash)
            .where(ApiClient.organisation_id == b)
            .order_by(ApiClient.id)
        ),
        "contracts": rows(
            select(Contract.id, Contract.version, Contract.ends_on, Contract.reminded_on, Contract.client_id)
            .where(or_(Contract.organisation_id == b, Contract.client_id.in_(b_clients)))
            .order_by(Contract.id)
        ),
        "contract attachments": rows(
            select(ContractAttachment.id, ContractAttachment.storage_name)
            .where(ContractAttachment.contract_id.in_(b_contracts))
            .order_by(ContractAttachment.id)
        ),
        "costs": rows(
            select(Cost.id, Cost.version, Cost.amount, Cost.claim_id)
            .where(or_(Cost.organisation_id == b, Cost.client_id.in_(b_clients)))
            .order_by(Cost.id)
        ),
        "claims": rows(
            select(CompensationClaim.id, CompensationClaim.version, CompensationClaim.status)
            .where(CompensationClaim.organisation_id == b)
            .order_by(CompensationClaim.id)
        ),
        "claim lines": rows(
            select(ClaimLine.id)
            .where(or_(ClaimLine.claim_id.in_(b_claims), ClaimLine.client_id.in_(b_clients)))
            .order_by(ClaimLine.id)
        ),
        "surveys": rows(
            select(Survey.id, Survey.version, Survey.active, Survey.name)
            .where(Survey.organisation_id == b)
            .order_by(Survey.id)
        ),
        "survey questions": rows(
            select(SurveyQuestion.id)
            .where(SurveyQuestion.survey_id.in_(b_surveys))
            .order_by(SurveyQuestion.id)
        ),
        "retention holds": rows(
            select(RetentionHold.id, RetentionHold.version, RetentionHold.released_at)
            .where(RetentionHold.client_id.in_(b_clients))
            .order_by(RetentionHold.id)
        ),
        # Issue 7: B's articles, their texts and versions, and B's visitors' questions.
        "articles": rows(
            select(
                KnowledgeArticle.id, KnowledgeArticle.version, KnowledgeArticle.status, KnowledgeArticle.slug
            )
            .where(KnowledgeArticle.organisation_id == b)
            .order_by(KnowledgeArticle.id)
        ),
        "article texts": rows(
            select(KnowledgeArticleText.id, KnowledgeArticleText.version, KnowledgeArticleText.source_hash)
            .where(KnowledgeArticleText.article_id.in_(b_articles))
            .order_by(KnowledgeArticleText.id)
        ),
        "article versions": rows(
            select(KnowledgeArticleVersion.id)
            .where(KnowledgeArticleVersion.article_id.in_(b_articles))
            .order_by(KnowledgeArticleVersion.id)
        ),
        "visitors' questions": rows(
            select(
                GuidanceQuestion.id,
                GuidanceQuestion.version,
                GuidanceQuestion.status,
                GuidanceQuestion.email,
                GuidanceQuestion.draft_article_id,
            )
            .where(GuidanceQuestion.organisation_id == b)
            .order_by(GuidanceQuestion.id)
        ),
    }


def _referral_and_guidance_rows(
    db: Session, world: World, rows: Callable[[Any], list[tuple[Any, ...]]], b_clients: tuple[uuid.UUID, ...]
) -> dict[str, Any]:
    """Organisation B's referrals by other authorities, outreach items and initial guidance plans."""
    b = world.other_organisation_id
    b_plans = select(GuidancePlan.id).where(GuidancePlan.client_id.in_(b_clients))
    return {
        "authority referrals": rows(
            select(
                AuthorityReferral.id,
                AuthorityReferral.version,
                AuthorityReferral.status,
                AuthorityReferral.client_id,
                AuthorityReferral.decline_reason,
            )
            .where(AuthorityReferral.organisation_id == b)
            .order_by(AuthorityReferral.id)
        ),
        "outreach items": rows(
            select(OutreachItem.id, OutreachItem.version, OutreachItem.status, OutreachItem.client_id)
            .where(or_(OutreachItem.organisation_id == b, OutreachItem.client_id.in_(b_clients)))
            .order_by(OutreachItem.id)
        ),
        "guidance plans": rows(
            select(GuidancePlan.id, GuidancePlan.version, GuidancePlan.status, GuidancePlan.ends_on)
            .where(GuidancePlan.id.in_(b_plans))
            .order_by(GuidancePlan.id)
        ),
        "guidance tasks": rows(
            select(
                GuidanceTask.id,
                GuidanceTask.version,
                GuidanceTask.description,
                GuidanceTask.last_done_on,
                GuidanceTask.completed_on,
            )
            .where(or_(GuidanceTask.plan_id.in_(b_plans), GuidanceTask.for_client_id.in_(b_clients)))
            .order_by(GuidanceTask.id)
        ),
    }


def _outreach_arrival_and_visit_rows(
    db: Session, world: World, rows: Callable[[Any], list[tuple[Any, ...]]], b_clients: tuple[uuid.UUID, ...]
) -> dict[str, Any]:
    """Organisation B's outreach imports, contact attempts and benefits; its arrivals with their persons,
    checklists and consultations (and whatever was sent to B's clients' county); its visit topics and
    guidance visits."""
    b = world.other_organisation_id
    b_items = select(OutreachItem.id).where(OutreachItem.organisation_id == b)
    b_arrivals = select(Arrival.id).where(Arrival.organisation_id == b)
    b_visits = select(GuidanceVisit.id).where(
        or_(GuidanceVisit.organisation_id == b, GuidanceVisit.client_id.in_(b_clients))
    )
    return {
        "outreach imports": rows(
            select(OutreachImport.id, OutreachImport.rows_imported, OutreachImport.rows_unchanged)
            .where(OutreachImport.organisation_id == b)
            .order_by(OutreachImport.id)
        ),
        "outreach contacts": rows(
            select(OutreachContact.id, OutreachContact.note)
            .where(OutreachContact.item_id.in_(b_items))
            .order_by(OutreachContact.id)
        ),
        "benefits": rows(
            select(Benefit.id, Benefit.version, Benefit.client_id, Benefit.outreach_item_id, Benefit.ends_on)
            .where(
                or_(
                    Benefit.organisation_id == b,
                    Benefit.client_id.in_(b_clients),
                    Benefit.outreach_item_id.in_(b_items),
                )
            )
            .order_by(Benefit.id)
        ),
        "arrivals": rows(
            select(Arrival.id, Arrival.version, Arrival.status, Arrival.handover_data)
            .where(Arrival.organisation_id == b)
            .order_by(Arrival.id)
        ),
        "arrival persons": rows(
            select(ArrivalPerson.id, ArrivalPerson.version, ArrivalPerson.client_id)
            .where(ArrivalPerson.arrival_id.in_(b_arrivals))
            .order_by(ArrivalPerson.id)
        ),
        "arrival checklists": rows(
            select(ArrivalChecklistItem.id, ArrivalChecklistItem.key)
            .where(ArrivalChecklistItem.arrival_id.in_(b_arrivals))
            .order_by(ArrivalChecklistItem.id)
        ),
        "arrival consultations": rows(
            select(ArrivalConsultation.id, ArrivalConsultation.version, ArrivalConsultation.status)
            .where(
                or_(
                    ArrivalConsultation.arrival_id.in_(b_arrivals),
                    ArrivalConsultation.county_id == world.other.county_id,
                )
            )
            .order_by(ArrivalConsultation.id)
        ),
        "guidance topics": rows(
            select(GuidanceTopic.id, GuidanceTopic.version, GuidanceTopic.active, GuidanceTopic.position)
            .where(GuidanceTopic.organisation_id == b)
            .order_by(GuidanceTopic.id)
        ),
        "guidance visits": rows(
            select(GuidanceVisit.id, GuidanceVisit.version, GuidanceVisit.client_id, GuidanceVisit.note)
            .where(GuidanceVisit.id.in_(b_visits))
            .order_by(GuidanceVisit.id)
        ),
        "guidance visit topics": rows(
            select(GuidanceVisitTopic.visit_id, GuidanceVisitTopic.topic_id)
            .where(GuidanceVisitTopic.visit_id.in_(b_visits))
            .order_by(GuidanceVisitTopic.visit_id, GuidanceVisitTopic.topic_id)
        ),
    }


def _row(values: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(v)[:8] if isinstance(v, uuid.UUID) else str(v) for v in values) + ")"


def _diff(before: Any, after: Any) -> str:
    """Rows gone and rows new, compactly (ids shortened), rather than two long lists."""
    if not isinstance(before, list):
        return f"{before} -> {after}"
    gone = [_row(r) for r in before if r not in after]
    new = [_row(r) for r in after if r not in before]
    return "; ".join(part for part in (f"gone {gone}" * bool(gone), f"new {new}" * bool(new)) if part)


def database_problems(before: Snapshot, after: Snapshot, allowed: tuple[str, ...]) -> list[str]:
    problems = [
        f"organisation B's {name} changed: {_diff(before.other[name], after.other[name])}"
        for name in before.other
        if before.other[name] != after.other[name]
    ]
    for table, count in before.counts.items():
        grown = after.counts[table] - count
        if grown and not (table in allowed and grown == 1):
            problems.append(f"{table}: {count} -> {after.counts[table]} rows")
    return problems


def check_refused(
    client: TestClient[Litestar], db: Session, world: World, role: Role, case: Case, before: Snapshot
) -> tuple[list[str], Snapshot]:
    """One role × route × method against organisation B's objects, starting from the database as `before`
    shows it; returns what went wrong and the database after it. (The unknown-id probe below runs after that
    snapshot: should it change anything, the next case's comparison reports it.)"""
    target = world.other.fresh(db)
    shared = role in case.shared_with
    expected = case.answers.get(role) or (
        (case.own if shared else case.other) if holds(role, case.needs) else 403
    )
    response = send(client, case, target)
    after = snapshot(db, world)
    problems = []
    if response.status_code != expected:
        problems.append(f"answered {response.status_code}, expected {expected}")
    hidden = world.secrets(role) if shared else (*world.secrets(role), *case.reveals(target))
    shown = [s for s in dict.fromkeys(hidden) if s in response.text]
    if shown:
        problems.append(f"the response shows organisation B's data: {shown}")
    if shared and (missing := [s for s in case.reveals(target) if s not in response.text]):
        problems.append(f"does not show what the policy shares: {missing}")
    succeeded = response.status_code < 400
    problems += database_problems(before, after, case.creates if succeeded else ())
    if case.targeted and not shared and not problems:
        # Indistinguishable from an id that does not exist: the answer confirms nothing.
        unknown = target.nonexistent()
        probe = send(client, case, unknown)
        # The page may echo the request's own ids (its address in language links, a filter's value):
        # that is what was asked, not knowledge.
        echoed = probe.text
        for name in (f.name for f in dataclasses.fields(Target)):
            asked, aimed = getattr(unknown, name), getattr(target, name)
            if isinstance(asked, uuid.UUID) and asked != aimed:
                echoed = echoed.replace(str(asked), str(aimed))
        seen = (response.status_code, response.headers.get("location"), response.text)
        if (probe.status_code, probe.headers.get("location"), echoed) != seen:
            # What differed, so that a failure explains itself (a static file edited during the run changes
            # the pages' asset versions, for one).
            diff = "".join(
                difflib.unified_diff(
                    response.text.splitlines(True), echoed.splitlines(True), "aimed", "unknown", n=1
                )
            )
            problems.append(
                f"answers differently for an unknown id ({probe.status_code}): existence leaks; aimed "
                f"{response.status_code} {response.headers.get('location')}, unknown {probe.status_code} "
                f"{probe.headers.get('location')}\n{diff[:2000]}"
            )
    return problems, after


# --- tests ----------------------------------------------------------------------------------------


def officer_routes(app: Litestar) -> dict[tuple[str, str], Any]:
    """(method, path) → handler for every /officer route, as the app itself routes them."""
    found = {}
    for route in app.routes:
        if not (route.path == "/officer" or route.path.startswith("/officer/")):
            continue
        for method, (handler, _kwargs) in route.route_handler_map.items():  # type: ignore[union-attr]
            if method not in AUTOMATIC_METHODS:
                found[(method, route.path)] = handler
    return found


def me_routes(app: Litestar) -> dict[tuple[str, str], Any]:
    """(method, path) → handler for every route of the migrant app (/me)."""
    found = {}
    for route in app.routes:
        if not (route.path == "/me" or route.path.startswith("/me/")):
            continue
        for method, (handler, _kwargs) in route.route_handler_map.items():  # type: ignore[union-attr]
            if method not in AUTOMATIC_METHODS:
                found[(method, route.path)] = handler
    return found


def test_every_route_is_in_the_matrix_or_explicitly_allowed(app):
    routes = officer_routes(app)
    covered = {(c.method, c.path) for c in MATRIX}
    assert len(covered) == len(MATRIX), "a route is listed twice in MATRIX"
    missing = sorted(set(routes) - covered - set(SESSIONLESS))
    stale = sorted((covered | set(SESSIONLESS)) - set(routes))
    assert not missing, f"/officer routes not in the access matrix (add them to MATRIX): {missing}"
    assert not stale, f"MATRIX/SESSIONLESS name routes the app no longer has: {stale}"
    assert not covered & set(SESSIONLESS)

    # Path parameters: each has another organisation's object to substitute.
    parameters = {name for _m, path in routes for name in re.findall(r"\{(\w+):", path)}
    assert parameters <= set(PATH_PARAMETERS), (
        f"no other-organisation object for {parameters - set(PATH_PARAMETERS)}"
    )

    # Every route outside /officer and /me is public on purpose.
    for route in app.routes:
        path = route.path
        if path in ("/officer", "/me") or path.startswith(("/officer/", "/me/")):
            continue
        assert path in PUBLIC_PATHS or path.startswith(tuple(PUBLIC_PREFIXES)), (
            f"route {path} is neither under /officer/ (and so in the matrix) nor listed as public"
        )
    stale_public = sorted(p for p in PUBLIC_PATHS if p not in {r.path for r in app.routes})
    assert not stale_public, f"PUBLIC_PATHS names routes the app no longer has: {stale_public}"

    # The county API: a system client's bearer token on every route but the token endpoint itself.
    api = {
        (method, route.path): handler
        for route in app.routes
        if route.path.startswith("/api/")
        for method, (handler, _kwargs) in route.route_handler_map.items()  # type: ignore[union-attr]
        if method not in AUTOMATIC_METHODS
    }
    unguarded_api = sorted(
        key
        for key, handler in api.items()
        if key != ("POST", "/api/v1/token") and bearer_guard not in handler.resolve_guards()
    )
    assert api, "no /api/ routes found"
    assert not unguarded_api, f"/api/ routes without bearer_guard: {unguarded_api}"

    # The migrant app: a client session on every route but the listed ones, and never staff_guard.
    me = me_routes(app)
    assert me, "no /me routes found"
    unguarded_me = sorted(
        key
        for key, handler in me.items()
        if key not in SESSIONLESS_ME and client_guard not in handler.resolve_guards()
    )
    assert not unguarded_me, (
        f"/me routes without client_guard (guard them or list them in SESSIONLESS_ME): {unguarded_me}"
    )
    guarded_anyway = sorted(
        key for key in SESSIONLESS_ME if key in me and client_guard in me[key].resolve_guards()
    )
    assert not guarded_anyway, f"SESSIONLESS_ME lists routes that run client_guard: {guarded_anyway}"
    stale_me = sorted(set(SESSIONLESS_ME) - set(me))
    assert not stale_me, f"SESSIONLESS_ME names routes the app no longer has: {stale_me}"
    with_staff_guard = sorted(key for key, handler in me.items() if staff_guard in handler.resolve_guards())
    assert not with_staff_guard, f"/me routes with staff_guard: {with_staff_guard}"

    # Structure, as a second line behind the HTTP tests: every matrix route runs the session guard.
    unguarded = [
        key
        for key, handler in routes.items()
        if key not in SESSIONLESS and staff_guard not in handler.resolve_guards()
    ]
    assert not unguarded, f"/officer routes without staff_guard: {unguarded}"


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_role_is_refused_another_organisations_objects(role, client, factory, db):
    world = build_world(factory, db)
    b_officer_opens_their_client(client, world)
    sign_in_as(client, world, role)
    failures: dict[tuple[Role, str, str], list[str]] = {}
    state = snapshot(db, world)
    for case in MATRIX:
        problems, state = check_refused(client, db, world, role, case, state)
        if problems:
            failures[(role, case.method, case.path)] = problems

    report = "\n".join(f"  {role.value} {m} {p}: {'; '.join(ps)}" for (_r, m, p), ps in failures.items())
    assert not failures, f"{len(failures)} of {len(MATRIX)} routes not refused as the policy says:\n{report}"


def sign_in_path(response) -> str:
    """The redirect's path; a GET carries ?next=<the page asked for> back after signing in."""
    return (response.headers.get("location") or "").split("?")[0]


def test_unauthenticated_requests_are_sent_to_sign_in(client, factory, db):
    world = build_world(factory, db)
    csrf_token(client)  # a token, so that a refusal is about the session, not CSRF
    failures = []
    after = snapshot(db, world)
    for case in MATRIX:
        before = after
        response = send(client, case, world.other.fresh(db))
        after = snapshot(db, world)
        problems = database_problems(before, after, ())
        if (response.status_code, sign_in_path(response)) != (302, "/officer/sign-in"):
            problems.append(f"answered {response.status_code} {response.headers.get('location')}")
        if shown := [s for s in world.secrets(Role.INTERPRETER) if s in response.text]:
            problems.append(f"shows {shown}")
        if problems:
            failures.append(f"  {case}: {'; '.join(problems)}")
    assert not failures, "without a session:\n" + "\n".join(failures)
    # OPTIONS (Litestar's automatic answer) sits behind the same router guards.
    for path in sorted({c.path for c in MATRIX}):
        answer = client.options(
            url_for(Case("OPTIONS", path, None, 0, 0), world.other), follow_redirects=False
        )
        assert (answer.status_code, sign_in_path(answer)) == (302, "/officer/sign-in"), path


@pytest.mark.parametrize(
    "role",
    list(Role),
    ids=lambda r: r.value,
)
def test_the_same_requests_succeed_on_own_objects(role, client, factory, db, settings):
    """Positive control: the matrix's requests, aimed at the actor's own organisation, go through. The
    county team member's "own" are organisation A's client and requests: A's cooperations are addressed
    to the county actor's county, and the county actor takes part for A's client."""
    world = build_world(factory, db)
    sign_in_as(client, world, role)
    failures = []
    for case in MATRIX:
        if not holds(role, case.needs):
            continue
        target = world.own_target(role).fresh(db)
        response = send(client, case, target)
        expected = case.answers.get(role, case.own_answers.get(role, case.own))
        problems = []
        if response.status_code != expected:
            problems.append(f"answered {response.status_code}, expected {expected}")
        shows = case.reveals(target) if role not in {*case.answers, *case.own_answers} else ()
        if missing := [s for s in shows if s not in response.text]:
            problems.append(f"does not show {missing}")
        if problems:
            failures.append(f"  {role.value} {case}: {'; '.join(problems)}")
    assert not failures, "own objects:\n" + "\n".join(failures)

    # What the successful requests did, so a 303 means the thing was really done.
    own = world.own
    if role is Role.INTEGRATION_OFFICER:
        saved = db.scalars(select(Client).where(Client.id == own.client_id)).one()
        assert saved.first_names == "Olena"
        # Ended, then reopened when the person came back (the reopening answers 409 unless it has ended).
        assert (saved.status, saved.ended_on, saved.end_reason) == (ClientStatus.ACTIVE, None, None)
        assert saved.responsible_officer_id == own.staff_id
        consents = db.scalars(select(Consent.purpose).where(Consent.client_id == own.client_id)).all()
        # The family overview's; the guidance records' (for the visits); the county sharing of the world's
        # cooperation, of the request made again and of the consent form.
        assert sorted(consents) == [
            ConsentPurpose.FAMILY_OVERVIEW,
            ConsentPurpose.GUIDANCE_RECORDS,
            *[ConsentPurpose.WELLBEING_COUNTY_SHARING] * 3,
        ]
        # Linked, then unlinked again; B's link between its two clients is untouched.
        b_links = (
            select(func.count())
            .select_from(FamilyLink)
            .where(FamilyLink.client_id.in_(world.other_client_ids))
        )
        assert db.scalar(b_links) == 2
        assert not db.scalar(select(FamilyLink).where(FamilyLink.client_id == own.client_id))
        health = db.scalars(
            select(HealthInformation.text).where(HealthInformation.client_id == own.client_id)
        )
        assert "Tarvitsee esteettömän tilan" in health.all()
        assert db.get(Passkey, world.own_target(role).passkey_id) is None
        _assert_the_statutory_path_was_walked(db, world)
        _assert_the_calendar_and_messages_were_used(db, world)
        _assert_the_app_access_and_translations_were_changed(db, world, world.actors[role])
        _assert_the_cooperation_was_changed_by_the_organisation(db, world, world.actors[role])
        _assert_the_back_office_was_used(db, world, world.actors[role], settings)
        _assert_the_hold_was_placed_and_released(db, world, world.actors[role])
        _assert_the_knowledge_base_was_edited(db, world, world.actors[role])
        _assert_the_referrals_were_decided_and_guidance_given(db, world, world.actors[role])
        _assert_outreach_was_worked(db, world, world.actors[role])
        _assert_the_family_arrived(db, world, world.actors[role])
        _assert_the_visits_were_recorded(db, world, world.actors[role])
    elif role is Role.COUNTY_TEAM_MEMBER:
        _assert_the_county_took_part(db, world, world.actors[role])
        consultation = db.get(ArrivalConsultation, world.own.consultation_id)
        assert (consultation.status, consultation.answered_by_id, consultation.answer) == (
            ConsultationStatus.ANSWERED,
            world.actors[role],
            "Maakunta järjestää kotihoidon saapumisesta alkaen",
        )
    elif role is Role.ADMINISTRATOR:
        colleague = db.get(Staff, own.staff_id)
        assert colleague.full_name == "Muutettu Nimi"
        assert colleague.role_set == {Role.INTEGRATION_OFFICER, Role.MANAGER}
        assert colleague.active  # deactivated, then reactivated by the password reset
        assert (
            db.scalar(select(func.count()).select_from(Staff).where(Staff.full_name == "Uusi Henkilö")) == 1
        )
        # The system client's secret replaced, then the client deactivated; none was created.
        system = db.get(ApiClient, own.api_client_id)
        assert not system.active
        assert system.version > 1
        assert db.scalar(select(func.count()).select_from(ApiClient)) == 2  # A's and B's
    elif role is Role.INTERPRETER:  # their own assignment and the translation asked of them
        interpreter = world.actors[role]
        event = db.scalar(
            select(InterpretationEvent).where(InterpretationEvent.recorded_by_id == interpreter)
        )
        assert (event.appointment_id, event.interpreter_id, event.duration_minutes) == (
            own.appointment_id,
            interpreter,
            50,
        )
        request = db.get(TranslationRequest, own.request_id)
        assert (request.status, request.translator_id) == (TranslationStatus.TRANSLATED, interpreter)
        assert request.translated_text == "My message, translated"
        assert db.get(Appointment, own.appointment_id).status == AppointmentStatus.BOOKED
        assert db.get(Task, own.task_id).done_at is None
    else:  # the manager reads the clients' records and changes only the programme
        assert db.get(IntegrationPlan, own.plan_id).status == PlanStatus.IN_FORCE
        assert db.get(Assessment, own.assessment_id).status == AssessmentStatus.DRAFT
        assert db.get(Task, own.task_id).done_at is None
        assert db.get(Appointment, own.appointment_id).status == AppointmentStatus.BOOKED
        # The app access page was read, nothing on it changed; no plan text was translated.
        invitations = db.scalars(select(ClientInvitation).where(ClientInvitation.client_id == own.client_id))
        assert [(i.id, i.revoked_at) for i in invitations] == [(own.invitation_id, None)]
        assert db.scalar(select(ClientPasskey.name).where(ClientPasskey.client_id == own.client_id)) == (
            own.client_passkey_name
        )
        assert (
            db.scalar(
                select(func.count())
                .select_from(ClientSession)
                .where(ClientSession.client_id == own.client_id)
            )
            == 1
        )
        assert db.scalars(
            select(PlanTextTranslation.source_key).where(PlanTextTranslation.plan_id == own.plan_id)
        ).all() == ["rationale"]
        # Guidance read, not changed; the referrals are not the manager's to decide.
        assert db.get(GuidancePlan, own.guidance_plan_id).status == GuidancePlanStatus.ACTIVE
        task = db.get(GuidanceTask, own.guidance_task_id)
        assert (task.description, task.last_done_on, task.completed_on) == (
            own.guidance_task_description,
            None,
            None,
        )
        assert db.get(AuthorityReferral, own.referral_id).status == ReferralStatus.RECEIVED
        manager = world.actors[role]
        _assert_the_topics_were_kept(db, world)
        _assert_the_back_office_was_used(db, world, manager, settings)
        _assert_the_hold_was_placed_and_released(db, world, manager)
        _assert_the_survey_was_changed(db, world, manager)
        _assert_the_knowledge_base_was_edited(db, world, manager)
    if role in (Role.INTEGRATION_OFFICER, Role.MANAGER):
        _assert_the_programme_was_changed(db, world)


def _assert_the_referrals_were_decided_and_guidance_given(
    db: Session, world: World, actor: uuid.UUID
) -> None:
    own = world.own
    db.expire_all()
    # The first referral accepted: a new client of the organisation, known by the referral, and an
    # outreach item to reach them; the second declined with the reason (kept for the officers).
    accepted = db.get(AuthorityReferral, own.referral_id)
    assert (accepted.status, accepted.decided_by_id) == (ReferralStatus.ACCEPTED, actor)
    registered = db.get(Client, accepted.client_id)
    assert (registered.organisation_id, registered.first_names, registered.last_name) == (
        own.organisation_id,
        "Aili",
        "Omalähetetty",
    )
    assert registered.known_how == KnownHow.AUTHORITY_REFERRAL
    item = db.get(OutreachItem, accepted.outreach_item_id)
    assert (item.organisation_id, item.client_id) == (own.organisation_id, registered.id)
    declined = db.get(AuthorityReferral, own.declinable_referral_id)
    assert (declined.status, declined.client_id) == (ReferralStatus.DECLINED, None)
    assert declined.decline_reason == "Henkilö on jo toisen kunnan asiakas"
    # The guidance task edited, done today, then no longer needed; another task added; the plan ended by
    # the officer. The plan started after it was ended with the integration plan, later in the matrix.
    plan = db.get(GuidancePlan, own.guidance_plan_id)
    assert (plan.status, plan.end_reason, plan.ends_on) == (
        GuidancePlanStatus.ENDED,
        GuidancePlanEndReason.NO_LONGER_NEEDED,
        today(),
    )
    task = db.get(GuidanceTask, own.guidance_task_id)
    assert (task.description, task.taper_every_days) == ("Asumisen neuvonta kotikäynneillä", 14)
    assert (task.last_done_on, task.completed_on) == (today(), today())
    added = db.scalars(
        select(GuidanceTask.description).where(
            GuidanceTask.plan_id == plan.id, GuidanceTask.id != own.guidance_task_id
        )
    )
    assert added.all() == ["Kuntainfo kirjastossa"]
    started = db.scalar(
        select(GuidancePlan).where(GuidancePlan.client_id == own.client_id, GuidancePlan.id != plan.id)
    )
    assert (started.created_by_id, started.note, started.end_reason) == (
        actor,
        "Uusi ohjausjakso",
        GuidancePlanEndReason.INTEGRATION_PLAN_ENDED,
    )


def _assert_outreach_was_worked(db: Session, world: World, actor: uuid.UUID) -> None:
    own = world.own
    db.expire_all()
    # Nobody added twice: the person the officer tried to add is the one already on the list, and the
    # imported Kela list updated them (a second benefit) instead of adding them again.
    assert not db.scalar(select(OutreachItem).where(OutreachItem.last_name == "Etsittävä"))
    listed = db.scalars(
        select(OutreachItem).where(OutreachItem.identity_code == own.outreach_identity_code)
    ).all()
    assert [i.id for i in listed] == [own.outreach_item_id]
    item = listed[0]
    assert (item.status, item.phone, item.note) == (
        OutreachStatus.REACHED,
        "+358407654321",
        "Tavoitettavissa iltapäivisin",
    )
    imported = db.scalars(
        select(OutreachImport).where(
            OutreachImport.organisation_id == own.organisation_id, OutreachImport.id != own.import_id
        )
    ).one()
    assert (imported.imported_by_id, imported.rows_imported) == (actor, 1)
    # The person became a client of the organisation; every benefit of theirs went with them.
    client = db.get(Client, item.client_id)
    assert (client.organisation_id, client.identity_code, client.known_how) == (
        own.organisation_id,
        own.outreach_identity_code,
        KnownHow.KELA_LIST,
    )
    moved = db.scalars(select(Benefit).where(Benefit.outreach_item_id == item.id)).all()
    assert sorted((b.type, b.starts_on, b.client_id) for b in moved) == [
        (BenefitType.SOCIAL_ASSISTANCE, date(2025, 1, 1), client.id),  # the earlier list's
        (BenefitType.SOCIAL_ASSISTANCE, date(2025, 6, 1), client.id),  # the imported list's
        (BenefitType.UNEMPLOYMENT_BENEFIT, today() - timedelta(days=10), client.id),  # the officer's
    ]
    assert db.get(Benefit, own.item_benefit_id).ends_on == today() + timedelta(days=30)
    contacts = db.scalars(select(OutreachContact.note).where(OutreachContact.item_id == item.id)).all()
    assert sorted(contacts) == ["Jätetty viesti vastaajaan", own.outreach_contact_note]
    # The other person linked to Aino; Aino's benefit changed and ended, another one recorded.
    assert db.get(OutreachItem, own.linkable_item_id).client_id == own.client_id
    benefit = db.get(Benefit, own.benefit_id)
    assert (benefit.starts_on, benefit.ends_on, benefit.recorded_by_id) == (
        today() - timedelta(days=45),
        today(),
        actor,
    )
    aino = db.scalars(select(Benefit.type).where(Benefit.client_id == own.client_id)).all()
    assert sorted(aino) == [BenefitType.HOME_CARE_ALLOWANCE, BenefitType.UNEMPLOYMENT_BENEFIT]


def _assert_the_family_arrived(db: Session, world: World, actor: uuid.UUID) -> None:
    own = world.own
    db.expire_all()
    # The quota refugees: accepted after the new consultation, arrived; the head of family and the child
    # added are clients of the organisation (the removed relative is not).
    quota = db.get(Arrival, own.arrival_id)
    assert (quota.status, quota.reference, quota.housing_address, quota.flight) == (
        ArrivalStatus.ARRIVED,
        "UUDELY/2026/15",
        "Omakatu 5 B 12",
        "AY1234",
    )
    persons = db.scalars(select(ArrivalPerson).where(ArrivalPerson.arrival_id == quota.id)).all()
    assert sorted((p.role, p.first_names) for p in persons) == [
        (ArrivalRole.CHILD, "Aya Oma"),
        (ArrivalRole.HEAD, ARRIVAL_FIRST_NAMES[0]),
    ]
    clients = [db.get(Client, p.client_id) for p in persons]
    assert {(c.organisation_id, c.segment, c.permit_type) for c in clients} == {
        (own.organisation_id, 3, PermitType.QUOTA_REFUGEE)
    }
    consultations = db.scalars(
        select(ArrivalConsultation).where(ArrivalConsultation.arrival_id == quota.id)
    ).all()
    assert sorted((c.status, c.county_id) for c in consultations) == [
        (ConsultationStatus.SENT, own.county_id),  # the new summary, unanswered still
        (ConsultationStatus.WITHDRAWN, own.county_id),
    ]
    # The placement: a step marked, another undone, the handover changed, then cancelled.
    placement = db.get(Arrival, own.placement_id)
    assert (placement.status, placement.handover_data) == (
        ArrivalStatus.CANCELLED,
        "Tarvitsee tukea asunnon etsimisessä",
    )
    steps = db.scalars(
        select(ArrivalChecklistItem.key).where(ArrivalChecklistItem.arrival_id == placement.id)
    ).all()
    assert steps == ["electricity_contract"]
    created = db.scalar(select(Arrival).where(Arrival.reference == "UUDELY/2026/99"))
    assert (created.organisation_id, created.created_by_id) == (own.organisation_id, actor)


def _assert_the_visits_were_recorded(db: Session, world: World, actor: uuid.UUID) -> None:
    own = world.own
    db.expire_all()
    changed = db.get(GuidanceVisit, own.visit_id)
    assert (changed.duration_minutes, changed.interpreter_used, changed.note) == (
        40,
        True,
        "Käynti päivitetty: tulkki oli mukana",
    )
    assert db.get(GuidanceVisit, own.removable_visit_id) is None
    new = db.scalar(
        select(GuidanceVisit).where(
            GuidanceVisit.id != own.visit_id, GuidanceVisit.client_id == own.client_id
        )
    )
    assert (new.organisation_id, new.recorded_by_id, new.duration_minutes) == (own.organisation_id, actor, 45)


def _assert_the_topics_were_kept(db: Session, world: World) -> None:
    own = world.own
    db.expire_all()
    topic = db.get(GuidanceTopic, own.topic_id)
    # Renamed, moved below the second topic, retired and reactivated (back at the end of the list).
    assert (topic.name_fi, topic.active) == ("Asuminen ja arki", True)
    names = db.scalars(
        select(GuidanceTopic.name_fi)
        .where(GuidanceTopic.organisation_id == own.organisation_id)
        .order_by(GuidanceTopic.position)
    ).all()
    assert names == ["Oma aihe A: työ", "Uusi aihe: terveys", "Asuminen ja arki"]


def _assert_the_knowledge_base_was_edited(db: Session, world: World, actor: uuid.UUID) -> None:
    own = world.own
    db.expire_all()
    # Edited, its Swedish text brought up to date, published as version 2, then withdrawn.
    article = db.scalar(
        select(KnowledgeArticle)
        .where(KnowledgeArticle.id == own.article_id)
        .options(selectinload(KnowledgeArticle.texts))
    )
    assert (article.slug, article.status) == ("vuokra-asunnon-haku", ArticleStatus.DRAFT)
    assert [(s.language, s.state) for s in knowledge.freshness(article) if s.row] == [
        ("fi", "original"),
        ("sv", "current"),
    ]
    versions = db.scalars(
        select(KnowledgeArticleVersion)
        .where(KnowledgeArticleVersion.article_id == article.id)
        .order_by(KnowledgeArticleVersion.number)
    ).all()
    assert [(v.number, v.content["texts"]["sv"]["title"]) for v in versions] == [
        (1, "Egen bostadsartikel A"),
        (2, "Att söka en hyresbostad"),
    ]
    assert versions[1].published_by_id == actor
    assert not db.scalar(select(KnowledgeSearchDoc).where(KnowledgeSearchDoc.article_id == article.id))
    # The question answered (its address then deleted, the answer on its way), the draft made from it is
    # the organisation's, the other question dismissed.
    asked = db.get(GuidanceQuestion, own.question_id)
    assert (asked.status, asked.answered_by_id, asked.email, asked.answer_emailed) == (
        QuestionStatus.ANSWERED,
        actor,
        None,
        True,
    )
    assert db.scalar(select(OutboxMessage).where(OutboxMessage.address == "kysyja@oma-a.example"))
    draft = db.get(KnowledgeArticle, asked.draft_article_id)
    assert (draft.organisation_id, draft.slug, draft.status) == (
        own.organisation_id,
        "koira-vuokra-asunnossa",
        ArticleStatus.DRAFT,
    )
    dismissed = db.get(GuidanceQuestion, own.dismissable_question_id)
    assert (dismissed.status, dismissed.answered_by_id) == (QuestionStatus.DISMISSED, actor)


def _assert_the_county_took_part(db: Session, world: World, actor: uuid.UUID) -> None:
    own = world.own
    db.expire_all()
    # The sibling's request accepted, the county actor responsible and granted the sibling's basic data.
    accepted = db.get(CountyCooperation, own.cooperation_request_id)
    assert (accepted.status, accepted.decided_by_id, accepted.responsible_staff_id) == (
        CooperationStatus.ACCEPTED,
        actor,
        actor,
    )
    grants = db.scalars(
        select(ClientAccessGrant).where(ClientAccessGrant.cooperation_id == accepted.id)
    ).all()
    assert [(g.client_id, g.staff_id, g.category, g.ended_at) for g in grants] == [
        (own.related_client_id, actor, DataCategory.BASIC, None)
    ]
    declined = db.get(CountyCooperation, own.declinable_request_id)
    assert (declined.status, declined.decline_reason) == (
        CooperationStatus.DECLINED,
        "Asiakas on jo maakunnan palveluissa",
    )
    # The note added to Aino's plan, shared; then the cooperation ended, and the county's access with it.
    note = db.scalar(select(CountyNote).where(CountyNote.text == "Terapiajakso alkaa tammikuussa"))
    assert (note.client_id, note.organisation_id, note.author_id, note.cooperation_id, note.plan_id) == (
        own.client_id,
        own.county_id,
        actor,
        own.cooperation_id,
        own.plan_id,
    )
    assert note.shared and note.topic == CountyNoteTopic.PLAN
    ended = db.get(CountyCooperation, own.cooperation_id)
    assert (ended.status, ended.ended_by_id, ended.end_reason) == (
        CooperationStatus.ENDED,
        actor,
        "Kuntoutusjakso päättyi",
    )
    assert (
        None
        not in db.scalars(
            select(ClientAccessGrant.ended_at).where(ClientAccessGrant.cooperation_id == ended.id)
        ).all()
    )


def _assert_the_cooperation_was_changed_by_the_organisation(
    db: Session, world: World, actor: uuid.UUID
) -> None:
    own = world.own
    db.expire_all()
    withdrawn = db.get(CountyCooperation, own.cooperation_request_id)
    assert (withdrawn.status, withdrawn.ended_by_id) == (CooperationStatus.WITHDRAWN, actor)
    ended = db.get(CountyCooperation, own.cooperation_id)
    assert (ended.status, ended.ended_by_id, ended.end_reason) == (
        CooperationStatus.ENDED,
        actor,
        "Tarve päättyi",
    )
    assert (
        None
        not in db.scalars(
            select(ClientAccessGrant.ended_at).where(ClientAccessGrant.cooperation_id == ended.id)
        ).all()
    )
    asked = db.scalars(
        select(CountyCooperation).where(
            CountyCooperation.client_id == own.client_id,
            CountyCooperation.status == CooperationStatus.REQUESTED,
        )
    ).all()
    assert [(c.county_id, c.requested_by_id, c.share_health) for c in asked] == [(own.county_id, actor, True)]
    # Another client's request is the county's to answer: untouched.
    assert db.get(CountyCooperation, own.declinable_request_id).status == CooperationStatus.REQUESTED


def _assert_the_back_office_was_used(db: Session, world: World, actor: uuid.UUID, settings: Settings) -> None:
    own = world.own
    db.expire_all()
    # The contract saved, renewed; its attachment removed with its file, another uploaded.
    contract = db.get(Contract, own.contract_id)
    assert (contract.subject, contract.client_id, contract.responsible_staff_id) == (
        "Asunto kiintiöpakolaisperheelle",
        own.client_id,
        own.staff_id,
    )
    assert contract.ends_on == today() + timedelta(days=800)
    assert db.get(ContractAttachment, own.attachment_id) is None
    files = db.scalars(select(ContractAttachment).where(ContractAttachment.contract_id == contract.id)).all()
    assert [(f.filename, f.uploaded_by_id) for f in files] == [("liite.pdf", actor)]
    assert uploads.path_of(settings, files[0].storage_name).read_bytes() == _pdf("Uusi liite")
    made = db.scalars(
        select(Contract).where(Contract.id != contract.id, Contract.organisation_id == own.organisation_id)
    ).all()
    assert [(c.kind, c.client_id) for c in made] == [(ContractKind.HOUSING_LEASE, own.client_id)]
    # The cost corrected, then removed; the new cost packaged into the claim, which was sent.
    assert db.get(Cost, own.cost_id) is None
    claim = db.get(CompensationClaim, own.claim_id)
    assert (claim.status, claim.keha_reference) == (ClaimStatus.SENT, "KEHA/2026/123")
    cost = db.scalar(select(Cost).where(Cost.invoice_reference == "Uusi lasku 2"))
    assert (cost.client_id, cost.amount, cost.claim_id) == (own.client_id, Decimal("120.00"), claim.id)
    lines = db.scalars(
        select(ClaimLine.cost_id).where(ClaimLine.claim_id == claim.id, ClaimLine.cost_id.is_not(None))
    )
    assert lines.all() == [cost.id]
    created = db.scalars(
        select(CompensationClaim).where(
            CompensationClaim.id != claim.id, CompensationClaim.organisation_id == own.organisation_id
        )
    ).all()
    assert [(c.period_start.year, c.created_by_id) for c in created] == [(today().year - 1, actor)]


def _assert_the_hold_was_placed_and_released(db: Session, world: World, actor: uuid.UUID) -> None:
    own = world.own
    db.expire_all()
    holds = {
        h.id: h for h in db.scalars(select(RetentionHold).where(RetentionHold.client_id == own.client_id))
    }
    assert holds[own.hold_id].released_by_id == actor
    placed = [h for h in holds.values() if h.id != own.hold_id]
    assert [(h.reason, h.placed_by_id, h.released_at) for h in placed] == [
        ("Oikaisuvaatimus vireillä hallinto-oikeudessa", actor, None)
    ]


def _assert_the_survey_was_changed(db: Session, world: World, actor: uuid.UUID) -> None:
    own = world.own
    db.expire_all()
    survey = db.get(Survey, own.survey_id)
    # Renamed with another question; activated, then deactivated again.
    assert (survey.name, survey.audience, survey.active) == (
        "Tapaamisten palaute",
        SurveyAudience.APPOINTMENT,
        False,
    )
    switched = db.scalars(
        select(AuditEvent.fields).where(
            AuditEvent.object_type == "survey", AuditEvent.object_id == str(survey.id)
        )
    ).all()
    assert switched.count(["active"]) == 2
    question = [{"fi": "Saitko tarvitsemasi tiedon?"}]
    assert (
        db.scalars(select(SurveyQuestion.texts).where(SurveyQuestion.survey_id == survey.id)).all()
        == question
    )
    # The new survey and the copy are the organisation's, with the same question.
    others = db.scalars(
        select(Survey).where(Survey.organisation_id == own.organisation_id, Survey.id != survey.id)
    ).all()
    assert len(others) == 2
    for other in others:
        texts = db.scalars(select(SurveyQuestion.texts).where(SurveyQuestion.survey_id == other.id)).all()
        assert texts == question


def _assert_the_calendar_and_messages_were_used(db: Session, world: World) -> None:
    own = world.own
    db.expire_all()
    officer = world.actors[Role.INTEGRATION_OFFICER]
    # Booked, moved, interpreted, cancelled; the mistaken booking deleted; a new one booked.
    moved = db.get(Appointment, own.appointment_id)
    assert moved.status == AppointmentStatus.CANCELLED and moved.cancel_reason == "Virkailija sairastui"
    assert moved.room == "C 101"
    assert db.get(Appointment, own.removable_appointment_id) is None
    booked = db.scalars(
        select(Appointment).where(Appointment.created_by_id == officer, Appointment.id != own.appointment_id)
    ).all()
    assert [a.status for a in booked] == [AppointmentStatus.BOOKED]
    recorded = db.scalars(
        select(InterpretationEvent.language).where(InterpretationEvent.recorded_by_id == officer)
    )
    assert sorted(recorded.all()) == ["ar", "so"]
    assert db.scalar(select(CalendarFeed.revoked_at).where(CalendarFeed.staff_id == officer)) is not None
    # The task edited and done; another one created.
    task = db.get(Task, own.task_id)
    assert task.title == "Tarkista todistukset" and task.done_at is not None
    assert db.scalar(select(Task.id).where(Task.title == "Soita asiakkaalle")) is not None
    # The thread: replied to, translated, its machine translation checked, a translation asked for.
    bodies = db.scalars(select(Message.body).where(Message.thread_id == own.thread_id)).all()
    assert "Kiitos viestistä, palaan asiaan." in bodies
    assert db.get(MessageTranslation, own.message_translation_id).checked_by_id == officer
    languages = db.scalars(
        select(MessageTranslation.language).where(MessageTranslation.message_id == own.message_id)
    )
    assert sorted(languages.all()) == ["en", "fi"]  # no machine translation into German: none in use
    assert db.get(TranslationRequest, own.translated_request_id).status == TranslationStatus.CHECKED
    assert db.get(TranslationRequest, own.request_id).translated_text == "My message, translated"
    asked = db.scalar(
        select(TranslationRequest.status).where(
            TranslationRequest.message_id == own.message_id, TranslationRequest.target_language == "so"
        )
    )
    assert asked == TranslationStatus.REQUESTED
    assert db.scalar(select(Thread.id).where(Thread.subject == "Kurssin alku")) is not None
    # The template renamed, its Swedish text deleted; the campaign sent to Aino; the draft deleted.
    template = db.get(MessageTemplate, own.template_id)
    assert template.name == "Ajanvaraus"
    assert db.get(MessageTemplateText, own.template_text_id) is None
    group = db.get(GroupMessage, own.group_id)
    assert group.sent_at is not None and group.recipient_count == 1
    assert db.get(GroupMessage, own.draft_group_id) is None
    # The contact renamed, e-mailed, then removed; the client's settings changed.
    assert db.scalar(select(StakeholderMessage.id).where(StakeholderMessage.subject == "Uusi ryhmä"))
    assert db.get(StakeholderContact, own.contact_id) is None
    preference = db.get(ContactPreference, own.client_id)
    assert (preference.sms, preference.quiet_from) == (True, time(22))


def _assert_the_statutory_path_was_walked(db: Session, world: World) -> None:
    own = world.own
    db.expire_all()
    # The draft was saved, its measure's result recorded, another measure ordered; completed, it
    # replaced the assessment it amended, and was then amended in turn.
    amended = db.get(Assessment, own.assessment_id)
    assert amended.status == AssessmentStatus.COMPLETED
    assert amended.literacy_note == "Lukee sujuvasti latinalaisin kirjaimin"
    assert db.get(Assessment, amended.previous_id).status == AssessmentStatus.SUPERSEDED
    measure = db.get(RefiningMeasure, own.measure_id)
    assert (measure.status, measure.result) == (MeasureStatus.DONE, "Lukeminen A2, puhuminen A2")
    ordered = db.scalars(
        select(RefiningMeasure.measure_type).where(RefiningMeasure.assessment_id == amended.id)
    )
    assert sorted(ordered.all()) == sorted(
        [RefiningMeasureType.LANGUAGE_LEVEL_TEST, RefiningMeasureType.LITERACY_CHECK]
    )
    next_draft = db.scalar(select(Assessment).where(Assessment.previous_id == amended.id))
    assert next_draft.status == AssessmentStatus.DRAFT
    assert next_draft.amendment_reason == "Asiakas aloitti työkokeilun"

    # The plan: new goals, a second service, the first one referred, presented and approved again,
    # reviewed, paused, ended; a follow-up draft started.
    plan = db.get(IntegrationPlan, own.plan_id)
    assert plan.status == PlanStatus.ENDED and plan.goals_attained == "Työpaikka hoivakodissa"
    goals = db.scalars(select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position)).all()
    assert [(g.text, g.attainment) for g in goals] == [
        ("Työ lähihoitajana", GoalAttainment.ACHIEVED),
        ("Suomen kieli B1-tasolle", GoalAttainment.ACHIEVED),
    ]
    assert plan.ends_on == plan_dates()["ends_on"] + timedelta(days=10)  # the pause moved the end
    services = db.scalars(select(PlanService).where(PlanService.plan_id == plan.id)).all()
    assert len(services) == 2
    assert db.get(PlanService, own.plan_service_id).status == PlanServiceStatus.REFERRED
    assert db.get(PlanService, own.removable_service_id) is None
    latest = db.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.number.desc()).limit(1)
    )
    assert latest.number == 2 and latest.content["goals"][0]["text"] == "Työ lähihoitajana"
    assert db.scalar(select(PlanApproval).where(PlanApproval.plan_version_id == latest.id)) is not None
    review = db.scalar(select(PlanReview).where(PlanReview.plan_id == plan.id))
    assert review.progress == "Kurssi alkanut hyvin"
    assert db.scalar(select(PlanPause.reason).where(PlanPause.plan_id == plan.id)) is not None
    follow_up = db.scalar(
        select(IntegrationPlan).where(IntegrationPlan.client_id == own.client_id, IntegrationPlan.number == 2)
    )
    assert follow_up.status == PlanStatus.DRAFT

    # The family overviews: the existing one edited, a new one for Aino and Aapo.
    assert db.get(FamilyOverview, own.overview_id).shared_goals == "Perhe asettuu uuteen kotikuntaan"
    created = db.scalar(
        select(FamilyOverviewMember.overview_id).where(FamilyOverviewMember.client_id == own.client_id)
    )
    members = db.scalars(
        select(FamilyOverviewMember.client_id).where(FamilyOverviewMember.overview_id == created)
    )
    assert set(members.all()) == {own.client_id, own.related_client_id}

    # The transfer moved the client to the employment authority.
    moved = db.get(Client, own.transfer_client_id)
    assert moved.organisation_id == own.employment_authority_id
    transfer = db.scalar(select(ClientTransfer).where(ClientTransfer.client_id == moved.id))
    assert (transfer.from_organisation_id, transfer.to_organisation_id) == (
        own.organisation_id,
        own.employment_authority_id,
    )


def _assert_the_app_access_and_translations_were_changed(db: Session, world: World, actor: uuid.UUID) -> None:
    own = world.own
    db.expire_all()
    # The open invitation revoked by hand; a new one issued (open); then every passkey and phone gone.
    invitations = db.scalars(
        select(ClientInvitation).where(ClientInvitation.client_id == own.client_id)
    ).all()
    revoked = {i.id: i.revoked_by_id for i in invitations if i.revoked_at is not None}
    assert revoked == {own.invitation_id: actor}
    assert len(invitations) == 2
    assert all(i.created_by_id == actor for i in invitations if i.id != own.invitation_id)
    for model in (ClientPasskey, ClientSession):
        assert not db.scalar(select(func.count()).select_from(model).where(model.client_id == own.client_id))
    # B's client keeps theirs.
    assert (
        db.scalar(
            select(func.count())
            .select_from(ClientPasskey)
            .where(ClientPasskey.client_id == world.other.client_id)
        )
        == 1
    )
    # The language studies translated into Arabic by a translator; the rationale's machine output checked.
    rows = {
        (r.source_key, r.language): r
        for r in db.scalars(select(PlanTextTranslation).where(PlanTextTranslation.plan_id == own.plan_id))
    }
    assert set(rows) == {("language_studies", "ar"), ("rationale", "ar")}  # nothing by machine: it is off
    studies = rows[("language_studies", "ar")]
    assert (studies.text, studies.origin, studies.translated_by_id) == (
        "دورة الاندماج",
        TextOrigin.TRANSLATOR,
        actor,
    )
    assert studies.source_hash == content_hash(PLAN_LANGUAGE_STUDIES)
    rationale = rows[("rationale", "ar")]
    assert (rationale.origin, rationale.checked_by_id) == (TextOrigin.MACHINE, actor)
    assert rationale.checked_at is not None


def _assert_the_programme_was_changed(db: Session, world: World) -> None:
    own = world.own
    db.expire_all()
    texts = db.scalars(
        select(ProgrammeServiceText).where(ProgrammeServiceText.service_id == own.programme_service_id)
    ).all()
    # Renamed; the Swedish text updated, then deleted.
    assert [(t.language, t.name) for t in texts] == [("fi", "Kielikahvila, uusi nimi")]
    languages = db.scalars(
        select(ProgrammeServiceLanguage.language).where(
            ProgrammeServiceLanguage.service_id == own.programme_service_id
        )
    )
    assert languages.all() == ["sv"]
    # An intake added; the existing one changed, then deleted.
    notes = db.scalars(
        select(ProgrammePeriod.note).where(ProgrammePeriod.service_id == own.programme_service_id)
    )
    assert notes.all() == ["Kevään ryhmä"]
    # The new service is in the actor's own programme, whatever the form said.
    created = db.scalar(
        select(ProgrammeService)
        .join(ProgrammeServiceText, ProgrammeServiceText.service_id == ProgrammeService.id)
        .where(ProgrammeServiceText.name == "Uusi ompelukerho")
    )
    assert created.organisation_id == own.organisation_id


def test_own_records_cannot_be_tied_to_another_organisations_records(client, factory, db):
    """The matrix aims every id at organisation B; here the route's record is the officer's own and only
    an id in the path or the form is B's. Each is refused, and neither organisation's data changes."""
    world = build_world(factory, db)
    own, other = world.own.fresh(db), world.other.fresh(db)
    sign_in_as(client, world, Role.INTEGRATION_OFFICER)
    plan, assessment, service = (
        f"/officer/plans/{own.plan_id}",
        f"/officer/assessments/{own.assessment_id}",
        f"/officer/programme/{own.programme_service_id}",
    )
    attempts: list[tuple[str, dict[str, Any] | None, int]] = [  # None: a GET
        (
            f"/officer/clients/{own.client_id}/responsible",
            {"responsible_officer_id": str(other.staff_id)},
            404,
        ),
        (
            f"/officer/clients/{own.client_id}/family",
            {"relation": "spouse", "related_identifier": "TMP-BVIERAS1"},
            422,
        ),
        (f"/officer/clients/{own.client_id}/family/{other.client_id}/delete", {}, 404),
        (
            f"/officer/clients/{own.transfer_client_id}/transfer",
            {  # to a municipality, B: not a transfer target
                "to_organisation_id": str(other.organisation_id),
                "transferred_on": _days(0),
                "reason": "Muutto",
                "version": own.version("transfer_client_id"),
            },
            422,
        ),
        (
            f"{plan}/services",
            {"service_kind": "programme", "programme_service_id": str(other.programme_service_id)},
            422,
        ),
        (
            f"{plan}/services",
            {  # B's intake under the own programme's service
                "service_kind": "programme",
                "programme_service_id": str(own.programme_service_id),
                "period_id": str(other.period_id),
            },
            422,
        ),
        (
            f"{plan}/services/{other.plan_service_id}/status",
            {"status": "referred", "on": _days(0), "version": other.version("plan_service_id")},
            404,
        ),
        (f"{plan}/services/{other.removable_service_id}/delete", {}, 404),
        (
            f"{plan}/approvals",
            {"version_id": str(other.presented_version_id), "method": "signed_on_paper"},
            422,
        ),
        (
            f"{assessment}/measures/{other.measure_id}",
            {"status": "done", "result_on": _days(0), "result": "x", "version": other.version("measure_id")},
            404,
        ),
        (f"{service}/periods/{other.period_id}/edit", None, 404),
        (
            f"{service}/periods/{other.period_id}",
            {**period_form("x"), "version": other.version("period_id")},
            404,
        ),
        (f"{service}/periods/{other.period_id}/delete", {}, 404),
        # Issue 5: B's staff, clients, messages, templates and contacts put into the officer's own records.
        (
            "/officer/appointments/new",
            {**appointment_form(own, starts="14:00", ends="15:00"), "staff_id": str(other.staff_id)},
            404,
        ),
        (
            f"/officer/appointments/{own.appointment_id}/edit",
            {
                **appointment_form(own, starts="10:00", ends="11:00"),
                "client_id": [str(own.client_id), str(other.client_id)],
                "version": own.version("appointment_id"),
            },
            404,
        ),
        (
            f"/officer/appointments/{own.appointment_id}/interpretations",
            {
                "client_id": str(other.client_id),
                "language": "ar",
                "mode": "on_site",
                "interpreter_id": str(own.interpreter_id),
                "occurred_on": _days(0),
                "duration_minutes": "50",
            },
            404,
        ),
        (
            "/officer/tasks/new",
            {"title": "x", "assignee_id": str(other.staff_id), "client_id": str(own.client_id)},
            404,
        ),
        (
            f"/officer/tasks/{own.task_id}/edit",
            {
                "title": "x",
                "assignee_id": str(own.staff_id),
                "client_id": str(other.client_id),
                "version": own.version("task_id"),
            },
            404,
        ),
        (
            f"/officer/messages/{own.thread_id}/messages/{other.message_id}/translations",
            {"language": "en", "body": "x", "origin": "officer", "version": ""},
            404,
        ),
        (
            f"/officer/messages/{own.thread_id}/translations/{other.message_translation_id}/check",
            {"version": other.version("message_translation_id")},
            404,
        ),
        (
            f"/officer/messages/{own.thread_id}",  # B's template inserted into a reply: not one to choose
            {"action": "insert", "template_choice": str(other.template_id), "language": "fi", "body": ""},
            422,
        ),
        (
            "/officer/messages/groups",
            {
                "title": "x",
                "source_language": "fi",
                "body": "x",
                "recipients": "chosen",
                "client_ids": str(other.client_id),
            },
            422,
        ),
        # Issue 4: B's invitation under the own client; a plan and a client that do not belong together
        # (B's plan under the own client, the own plan under B's client or under another own client).
        (f"/officer/clients/{own.client_id}/invitations/{other.invitation_id}/revoke", {}, 404),
        (f"/officer/clients/{own.related_client_id}/invitations/{own.invitation_id}/revoke", {}, 404),
        (f"/officer/clients/{own.client_id}/plans/{other.plan_id}/translations", None, 404),
        (f"/officer/clients/{other.client_id}/plans/{own.plan_id}/translations", None, 404),
        (f"/officer/clients/{own.related_client_id}/plans/{own.plan_id}/translations", None, 404),
        (
            f"/officer/clients/{own.client_id}/plans/{other.plan_id}/translations",
            {
                "source_key": "language_studies",
                "language": "ar",
                "text": "x",
                "origin": "officer",
                "version": "",
                "source_hash": content_hash(PLAN_LANGUAGE_STUDIES),
            },
            404,
        ),
        (
            f"/officer/clients/{own.related_client_id}/plans/{own.plan_id}/translations/check",
            {
                "source_key": "rationale",
                "language": "ar",
                "version": own.version("plan_translation_id"),
                "source_hash": content_hash(PLAN_RATIONALE),
            },
            404,
        ),
        # Issue 6: B's cooperation, attachment and hold under the officer's own client and contract; the
        # own client's records under another own client's address.
        (
            f"/officer/clients/{own.client_id}/cooperation/{other.cooperation_id}/end",
            {"end_reason": "x", "version": other.version("cooperation_id")},
            404,
        ),
        (  # a request to B, a municipality: only wellbeing services counties can be asked
            f"/officer/clients/{own.client_id}/cooperation",
            {
                "county_id": str(other.organisation_id),
                "reason": "x",
                "consent_given": "on",
                "consent_decided_on": _days(0),
            },
            422,
        ),
        (  # the sibling's request under Aino
            f"/officer/clients/{own.client_id}/cooperation/{own.cooperation_request_id}/withdraw",
            {"version": own.version("cooperation_request_id")},
            404,
        ),
        (f"/officer/contracts/{own.contract_id}/attachments/{other.attachment_id}", None, 404),
        (f"/officer/contracts/{own.contract_id}/attachments/{other.attachment_id}/delete", {}, 404),
        (f"/officer/contracts/{other.contract_id}/attachments/{own.attachment_id}", None, 404),
        (
            f"/officer/contracts/{own.contract_id}",
            {**contract_form(own), "client_id": str(other.client_id), "version": own.version("contract_id")},
            422,
        ),
        (
            f"/officer/contracts/{own.contract_id}",
            {
                **contract_form(own),
                "responsible_staff_id": str(other.staff_id),
                "version": own.version("contract_id"),
            },
            422,
        ),
        (
            f"/officer/clients/{own.client_id}/holds/{other.hold_id}/release",
            {"version": other.version("hold_id")},
            404,
        ),
        (  # Aino's hold under her sibling
            f"/officer/clients/{own.related_client_id}/holds/{own.hold_id}/release",
            {"version": own.version("hold_id")},
            404,
        ),
        # Initial guidance: B's client as the family member of a task on the own plan; the own task under
        # B's plan, and B's task under the own plan.
        (
            f"/officer/guidance-plans/{own.guidance_plan_id}/tasks",
            {
                "kind": "other",
                "description": "x",
                "for_client_id": str(other.client_id),
                "first_due_on": _days(1),
                "frequency": "once",
            },
            422,
        ),
        (f"/officer/guidance-plans/{other.guidance_plan_id}/tasks/{own.guidance_task_id}/edit", None, 404),
        (f"/officer/guidance-plans/{own.guidance_plan_id}/tasks/{other.guidance_task_id}/edit", None, 404),
        (
            f"/officer/guidance-plans/{own.guidance_plan_id}/tasks/{other.guidance_task_id}/done",
            {"done_on": _days(0), "version": other.version("guidance_task_id")},
            404,
        ),
        # Referrals: the own referral linked to B's client (no option offered: nothing decided).
        (
            f"/officer/referrals/{own.referral_id}/accept",
            {"client": str(other.client_id), "version": own.version("referral_id")},
            422,
        ),
        # Outreach and benefits: the own person on the list linked to B's client; B's benefits under the
        # own outreach person and the own client.
        (
            f"/officer/outreach/{own.linkable_item_id}/link",
            {"client_id": str(other.client_id), "version": own.version("linkable_item_id")},
            422,
        ),
        (f"/officer/outreach/{own.outreach_item_id}/benefits/{other.item_benefit_id}/edit", None, 404),
        (
            f"/officer/outreach/{own.outreach_item_id}/benefits/{other.item_benefit_id}",
            {
                "type": "other",
                "other_type": "x",
                "status": "applied",
                "version": other.version("item_benefit_id"),
            },
            404,
        ),
        (f"/officer/clients/{own.client_id}/benefits/{other.benefit_id}/edit", None, 404),
        (
            f"/officer/clients/{own.client_id}/benefits/{other.benefit_id}/end",
            {"end_ends_on": _days(0), "version": other.version("benefit_id")},
            404,
        ),
        # Arrivals: B's person and B's consultation under the own arrival.
        (f"/officer/arrivals/{own.arrival_id}/persons/{other.arrival_person_id}", None, 404),
        (
            f"/officer/arrivals/{own.arrival_id}/persons/{other.removable_person_id}/remove",
            {"version": other.version("removable_person_id")},
            404,
        ),
        (
            f"/officer/arrivals/{own.arrival_id}/consultations/{other.consultation_id}/withdraw",
            {"version": other.version("consultation_id")},
            404,
        ),
        # Guidance visits: B's topic on a visit of the own client.
        (
            "/officer/guidance-visits",
            {
                "client_id": str(own.client_id),
                "visited_on": _days(0),
                "topic": [str(other.topic_id)],
                "channel": "phone",
                "duration_minutes": "15",
                "language": "fi",
            },
            422,
        ),
        (
            f"/officer/guidance-visits/{own.visit_id}",
            {
                "visited_on": _days(0),
                "topic": [str(other.topic_id)],
                "channel": "phone",
                "duration_minutes": "15",
                "language": "fi",
                "version": own.version("visit_id"),
            },
            422,
        ),
    ]
    failures = []
    for url, body, expected in attempts:
        before = snapshot(db, world)
        own_client = db.get(Client, own.client_id)
        own_before = (own_client.version, own_client.responsible_officer_id)
        db.rollback()
        response = client.get(url, follow_redirects=False) if body is None else post(client, url, body)
        after = snapshot(db, world)
        problems = database_problems(before, after, ())
        if response.status_code != expected:
            problems.append(f"answered {response.status_code}, expected {expected}")
        # What the form posted may be shown again; nothing else of B's.
        if shown := [
            s for s in world.secrets(Role.INTEGRATION_OFFICER) if s in response.text and s not in str(body)
        ]:
            problems.append(f"shows {shown}")
        own_client = db.get(Client, own.client_id)
        if (own_client.version, own_client.responsible_officer_id) != own_before:
            problems.append("the own client changed")
        db.rollback()
        if problems:
            failures.append(f"  {url}: {'; '.join(problems)}")
    assert not failures, "own records with B's ids:\n" + "\n".join(failures)
    # Nor did the own records change through another client's path.
    assert db.get(ClientInvitation, own.invitation_id).revoked_at is None
    assert db.get(PlanTextTranslation, own.plan_translation_id).checked_at is None
    assert not db.scalar(select(PlanTextTranslation).where(PlanTextTranslation.text == "x"))
    assert db.get(CountyCooperation, own.cooperation_request_id).status == CooperationStatus.REQUESTED
    assert db.get(RetentionHold, own.hold_id).released_at is None
    assert db.get(Contract, own.contract_id).version == own.versions["contract_id"]
    assert db.get(GuidanceTask, own.guidance_task_id).version == own.versions["guidance_task_id"]
    assert db.get(AuthorityReferral, own.referral_id).status == ReferralStatus.RECEIVED
    assert db.get(OutreachItem, own.linkable_item_id).client_id is None
    assert db.get(ArrivalConsultation, own.consultation_id).status == ConsultationStatus.SENT
    assert db.get(GuidanceVisit, own.visit_id).version == own.versions["visit_id"]
    assert not db.scalar(select(GuidanceVisit).where(GuidanceVisit.duration_minutes == 15))


def _feed_path(client: TestClient[Litestar]) -> str:
    page = post(client, "/officer/calendar/feed", {})
    found = re.search(r"<code>https?://[^/<]+(/calendar/feed/[^<]+\.ics)</code>", page.text)
    if page.status_code != 200 or found is None:
        pytest.fail(f"no feed address shown: {page.status_code}")
    return found.group(1)


def test_a_calendar_feed_token_opens_only_its_own_calendar(client, factory, db):
    """The public feed (outside /officer, no session): B's officer's token gives B's appointments and
    never A's; the interpreter's token gives the assignment and nothing of B's; a revoked token answers
    exactly as an unknown one."""
    world = build_world(factory, db)
    own, other = world.own, world.other
    sign_in(client, _Person(other.staff_email))
    b_feed = _feed_path(client)
    sign_in_as(client, world, Role.INTERPRETER)
    a_feed = _feed_path(client)
    client.cookies.clear()

    theirs = client.get(b_feed)
    assert theirs.status_code == 200 and theirs.headers["content-type"].startswith("text/calendar")
    assert str(other.appointment_id) in theirs.text
    assert str(own.appointment_id) not in theirs.text and "Omakatu" not in theirs.text
    assert "Birgitta" not in theirs.text  # no client names even in one's own feed
    mine = client.get(a_feed)
    assert mine.status_code == 200 and str(own.appointment_id) in mine.text
    assert not [s for s in (str(other.appointment_id), *world.secrets(Role.INTERPRETER)) if s in mine.text]

    sign_in_as(client, world, Role.INTERPRETER)
    assert post(client, "/officer/calendar/feed/revoke", {}).status_code == 303
    client.cookies.clear()
    revoked = client.get(a_feed)
    unknown_path = "/calendar/feed/" + "x" * 43 + ".ics"
    unknown = client.get(unknown_path)
    assert revoked.status_code == unknown.status_code == 404
    token = a_feed.rsplit("/", 1)[1].removesuffix(".ics")
    strip = re.compile(r'"x-csrftoken": "[^"]*"')
    assert strip.sub("", revoked.text).replace(token, "T") == strip.sub("", unknown.text).replace(
        "x" * 43, "T"
    )
    assert client.get(b_feed).status_code == 200  # B's feed is not revoked with it


def test_county_team_member_sees_a_client_only_while_granted_and_health_only_by_a_health_grant(
    client, factory, db
):
    world = build_world(factory, db)
    county = world.actors[Role.COUNTY_TEAM_MEMBER]
    b_client, b_officer = world.other.client_id, world.other_staff_id
    sign_in_as(client, world, Role.COUNTY_TEAM_MEMBER)
    page_url = f"/officer/clients/{b_client}"
    assert client.get(page_url).status_code == 404

    db.add(
        ClientAccessGrant(
            client_id=b_client,
            staff_id=county,
            category=DataCategory.BASIC,
            granted_by_id=b_officer,
            reason="Monialainen yhteistyö",
        )
    )
    db.commit()
    page = client.get(page_url)
    assert page.status_code == 200
    assert "Vieraskuntalainen, Birgitta" in page.text
    assert 'id="health"' not in page.text
    assert "Salainen terveystieto B" not in page.text
    assert client_section(client, b_client, "health").status_code == 404
    found = post(
        client, "/officer/clients/search", {"q": "Vieraskuntalainen"}, headers={"HX-Request": "true"}
    )
    assert re.findall(r'href="/officer/clients/[0-9a-f-]+">([^<]+)</a>', found.text) == [
        "Vieraskuntalainen, Birgitta",
        "Vieraskuntalainen, Bruno",
    ]
    # Granted to read, not to write.
    assert post(client, page_url, {**CLIENT_FORM, "version": "1"}).status_code == 403
    assert client.get(f"{page_url}/access-history").status_code == 403

    db.add(
        ClientAccessGrant(
            client_id=b_client,
            staff_id=county,
            category=DataCategory.HEALTH,
            granted_by_id=b_officer,
            reason="Terveydentila vaikuttaa kotoutumiseen",
        )
    )
    db.commit()
    page = client.get(page_url)
    assert page.status_code == 200
    assert 'id="health"' in page.text and "Salainen terveystieto B" not in page.text  # loaded when opened
    health = client_section(client, b_client, "health")
    assert health.status_code == 200 and "Salainen terveystieto B" in health.text
    assert post(client, f"{page_url}/health", {"text": "x", "source": "y"}).status_code == 403

    # The grant ends: the very next request no longer finds the client, as if it never existed.
    db.execute(
        update(ClientAccessGrant)
        .where(ClientAccessGrant.client_id == b_client, ClientAccessGrant.staff_id == county)
        .values(ended_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    gone = client.get(page_url)
    unknown_url = f"/officer/clients/{uuid.uuid4()}"
    unknown = client.get(unknown_url)
    assert gone.status_code == 404
    assert client_section(client, b_client, "health").status_code == 404
    assert gone.text == unknown.text.replace(unknown_url, page_url)  # the same page but for its own address
    assert "Birgitta" not in gone.text
    # The other grant (Bruno, basic) is untouched.
    assert client.get(f"/officer/clients/{world.other_granted_client_id}").status_code == 200


def test_administrator_manages_staff_but_sees_no_client_data_without_an_officer_role(client, factory, db):
    world = build_world(factory, db)
    sign_in_as(client, world, Role.ADMINISTRATOR)
    assert client.get("/officer/clients", follow_redirects=False).status_code == 403
    assert client.get(f"/officer/clients/{world.own_client_id}", follow_redirects=False).status_code == 403
    staff = client.get("/officer/admin/staff")
    assert staff.status_code == 200
    assert "Aleksi Omakollega" in staff.text

    # With an officer role as well, the same person sees their own organisation's clients.
    home = db.get(Organisation, world.own.organisation_id)
    both = factory.staff(home, Role.ADMINISTRATOR, Role.INTEGRATION_OFFICER)
    client.cookies.clear()
    sign_in(client, both)
    assert client.get("/officer/clients").status_code == 200
    assert "Omakuntalainen, Aino" in client.get(f"/officer/clients/{world.own_client_id}").text
    assert client.get(f"/officer/clients/{world.other.client_id}").status_code == 404


def test_manager_searches_the_audit_log_and_reads_but_does_not_edit_own_clients(client, factory, db):
    world = build_world(factory, db)
    own_client = world.own_client_id
    sign_in_as(client, world, Role.INTEGRATION_OFFICER)
    assert client.get(f"/officer/clients/{own_client}").status_code == 200  # an event for the log

    sign_in_as(client, world, Role.MANAGER)
    log = client.get(f"/officer/audit?client={own_client}")
    assert log.status_code == 200
    assert "Anna Omavirkailija" in log.text
    page = client.get(f"/officer/clients/{own_client}")
    assert page.status_code == 200
    assert "Omakuntalainen, Aino" in page.text
    assert 'id="health"' not in page.text  # health data is narrower than client data
    assert "Oma terveystieto A" not in page.text
    assert client.get(f"/officer/clients/{own_client}/access-history").status_code == 200
    version = str(db.scalar(select(Client.version).where(Client.id == own_client)))
    db.rollback()
    before = snapshot(db, world)
    assert (
        post(client, f"/officer/clients/{own_client}", {**CLIENT_FORM, "version": version}).status_code == 403
    )
    assert client.get(f"/officer/clients/{own_client}/edit").status_code == 403
    assert db.scalar(select(Client.first_names).where(Client.id == own_client)) == "Aino"
    db.rollback()
    assert snapshot(db, world) == before


def _sign_in_or_stop(client: TestClient[Litestar], email: str, password: str) -> None:
    """Sign in, or stop the test: a failed sign-in is a broken set-up, not the behaviour under test."""
    csrf_token(client)
    answer = post(client, "/officer/sign-in", {"email": email, "password": password})
    if answer.status_code != 302:
        pytest.fail(f"could not sign in as {email}: {answer.status_code}")


def test_an_administrator_cannot_take_over_another_organisations_officer(client, factory, db):
    """Regression: an interpreter agency's administrator must not be able to reset municipality B's
    officer's password, sign in as that officer and read B's clients and their health data."""
    world = build_world(factory, db)
    agency = factory.organisation("Tulkkauspalvelu Q", OrganisationType.SERVICE_PROVIDER)
    admin = factory.staff(agency, Role.ADMINISTRATOR)
    _sign_in_or_stop(client, admin.email, PASSWORD)
    reset = post(client, f"/officer/admin/staff/{world.other_staff_id}/reset-password")
    shown = re.search(r"<code>([^<]+)</code>", reset.text)
    read = ""
    if shown:
        client.cookies.clear()
        _sign_in_or_stop(client, world.other.staff_email, shown.group(1))
        read = client.get(f"/officer/clients/{world.other.client_id}").text
    assert reset.status_code == 404, (
        f"reset answered {reset.status_code}; signed in with the shown password, the agency's administrator "
        f"read B's client: {'Birgitta' in read}, and their health data: {'Salainen terveystieto B' in read}"
    )


def test_county_notes_need_a_cooperation_of_ones_own_and_answers_name_only_the_counties_own_team(
    client, factory, db
):
    """Issue 6. B's second client is granted to the county actor without a cooperation: readable, but no
    notes (403). The answer to a request names only the county's own team (a member of another county:
    422); an answer to a form opened before a change is refused (409). None of it changes anything. Once
    the county ends its cooperation, the client and the notes on them are out of reach (404)."""
    world = build_world(factory, db)
    own, other = world.own.fresh(db), world.other.fresh(db)
    sign_in_as(client, world, Role.COUNTY_TEAM_MEMBER)
    note = {"topic": "other_needs_goals", "text": "Tarvitsee tukihenkilön"}
    accept = f"/officer/cooperation/{own.cooperation_request_id}/accept"
    answer = {
        "responsible_staff_id": str(own.county_member_id),
        "contact_details": "puh. 029 765 4321",
        "version": own.version("cooperation_request_id"),
    }
    assert client.get(f"/officer/clients/{world.other_granted_client_id}").status_code == 200
    before = snapshot(db, world)
    assert (
        post(client, f"/officer/clients/{world.other_granted_client_id}/county-notes", note).status_code
        == 403
    )
    assert post(client, accept, {**answer, "member": str(other.county_member_id)}).status_code == 422
    assert (
        post(client, accept, {**answer, "responsible_staff_id": str(other.county_member_id)}).status_code
        == 422
    )
    assert post(client, accept, {**answer, "version": str(int(answer["version"]) + 1)}).status_code == 409
    assert database_problems(before, snapshot(db, world), ()) == []
    assert db.get(CountyCooperation, own.cooperation_request_id).status == CooperationStatus.REQUESTED
    db.rollback()

    ended = post(
        client,
        f"/officer/cooperation/{own.cooperation_id}/end",
        {"end_reason": "Kuntoutusjakso päättyi", "version": own.version("cooperation_id")},
    )
    assert ended.status_code == 303
    assert client.get(f"/officer/clients/{own.client_id}").status_code == 404
    notes = client.get(f"/officer/clients/{own.client_id}/county-notes")
    assert notes.status_code == 404 and own.county_note not in notes.text
    assert post(client, f"/officer/clients/{own.client_id}/county-notes", note).status_code == 404
    assert not db.scalar(select(CountyNote).where(CountyNote.text == note["text"]))


def test_a_county_administrator_creates_system_clients_only_for_its_own_county(client, factory, db):
    """Issue 6: system clients of the county API are a county's. The county's administrator creates one
    (its secret shown once), for the county whatever the form says, and sees only the county's own; the
    municipality's and B's stay out of reach (404)."""
    world = build_world(factory, db)
    county = db.get(Organisation, world.own.county_id)
    administrator = factory.staff(county, Role.ADMINISTRATOR)
    client.cookies.clear()
    sign_in(client, administrator)
    name = "Maakunnan asiakastietojärjestelmä C"
    assert post(client, "/officer/admin/api-clients", {"name": ""}).status_code == 422
    created = post(
        client,
        "/officer/admin/api-clients",
        {"name": name, "organisation_id": str(world.other_organisation_id)},
    )
    assert created.status_code == 200 and 'class="facts secret"' in created.text
    record = db.scalar(select(ApiClient).where(ApiClient.name == name))
    assert record.organisation_id == county.id
    listing = client.get("/officer/admin/api-clients")
    assert name in listing.text
    assert world.own.api_client_name not in listing.text and world.other.api_client_name not in listing.text
    for theirs in (world.own.api_client_id, world.other.api_client_id):
        assert post(client, f"/officer/admin/api-clients/{theirs}/rotate").status_code == 404
        assert post(client, f"/officer/admin/api-clients/{theirs}/deactivate").status_code == 404
    db.expire_all()
    assert (
        db.get(ApiClient, world.own.api_client_id).active
        and db.get(ApiClient, world.other.api_client_id).active
    )
