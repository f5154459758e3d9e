"""Data transfer with the wellbeing services county (service 18): a JSON API for the county's system.

The system authenticates as a system client (OAuth2 client credentials, RFC 6749 §4.4) at /api/v1/token and
calls the other endpoints with the bearer token (RFC 6750). It sees only the clients its county cooperates
on (an accepted county_cooperation), only while the cooperation lasts; anything else is 404. Every call is
audit-logged as the system client acting for the county (app.domain.api_clients). Documented in the OpenAPI
schema at /schema and in docs/API.md.

Nothing here is cookie-authenticated, so the router opts out of CSRF (route opt `exclude_from_csrf`) and
sets no cookies. Responses are `Cache-Control: no-store` like every dynamic response (app.web).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.params import Body, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client import Client
from app.domain import api_clients
from app.domain.api_clients import BadCursor, MalformedCredentials, SharedClient, SystemActor
from app.settings import Settings
from app.web import db_of

OAUTH2 = "countyClientCredentials"
BASIC = "systemClientBasic"
REALM = "kotopolku-api"
TOKEN_URL = "/api/v1/token"  # noqa: S105 - an address, not a secret

# Named in main.py's OpenAPIConfig(components=[…]) so /schema documents how to authenticate.
OPENAPI_COMPONENTS = Components(
    security_schemes={
        OAUTH2: SecurityScheme(
            type="oauth2",
            description=(
                "A system client of the wellbeing services county gets a bearer token (valid 15 minutes) with "
                "the client-credentials grant and sends it as `Authorization: Bearer …`."
            ),
            flows=OAuthFlows(client_credentials=OAuthFlow(token_url=TOKEN_URL, scopes={})),
        ),
        BASIC: SecurityScheme(
            type="http",
            scheme="basic",
            description=(
                "The token endpoint's client authentication: client_id and client_secret as HTTP Basic "
                "(RFC 6749 §2.3.1), or as client_id and client_secret in the form body."
            ),
        ),
    }
)


# --- response shapes (msgspec; documented in the OpenAPI schema) -----------------------------------------


def doc(description: str) -> msgspec.Meta:
    return msgspec.Meta(description=description)


class TokenRequest(msgspec.Struct, kw_only=True):
    """application/x-www-form-urlencoded, RFC 6749 §4.4.2."""

    grant_type: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int


class OAuthError(msgspec.Struct, kw_only=True):
    """RFC 6749 §5.2 (token endpoint) and RFC 6750 §3 (bearer tokens)."""

    error: str
    error_description: str | None = None


class Language(msgspec.Struct, kw_only=True):
    language: Annotated[str, doc("ISO 639 code")]
    level: Annotated[str, doc("native, A1, A2, B1, B2, C1 or C2")]


class Contact(msgspec.Struct, kw_only=True):
    phone: Annotated[str | None, doc("In E.164 form, e.g. +358401234567")]
    email: str | None
    street_address: str | None
    postal_code: str | None
    post_office: str | None
    municipality_of_residence: str | None


class OrganisationRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str


class CooperationRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    since: Annotated[datetime, doc("When the county accepted the cooperation (UTC)")]
    share_health: Annotated[bool, doc("The client's consent covers health information")]


class ClientSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    first_names: str
    last_name: str
    native_name: str | None
    date_of_birth: date | None
    mother_tongue: Annotated[str | None, doc("ISO 639 code")]
    languages: list[Language]
    interpreter_needed: bool
    interpreter_language: str | None
    contact: Contact
    responsible_organisation: OrganisationRef
    cooperation: CooperationRef


class ClientPage(msgspec.Struct, kw_only=True):
    items: list[ClientSummary]
    next_cursor: Annotated[str | None, doc("Pass as ?cursor= to get the next page; null on the last page")]


class Goal(msgspec.Struct, kw_only=True):
    kind: Annotated[str, doc("long_term or plan_period")]
    type: Annotated[
        str,
        doc(
            "The goal type of §18: employment_goal, entrepreneurship, working_life_readiness, upper_secondary_education, language_skills_goal or other_goal"
        ),
    ]
    text: str
    attainment: Annotated[
        str | None, doc("goal_achieved, goal_partly_achieved or goal_not_achieved when the plan ended")
    ]


class Service(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: Annotated[str, doc("programme (from the integration programme), ngo or other_service")]
    service_type: Annotated[str | None, doc("The programme service's type, for programme services")]
    programme_service_id: uuid.UUID | None
    name: Annotated[
        str | None, doc("A programme service's name in the Accept-Language language (else Finnish)")
    ]
    status: Annotated[str, doc("planned, referred, started, completed or interrupted")]
    planned_start: date | None
    planned_end: date | None
    referred_on: date | None
    started_on: date | None
    completed_on: date | None
    interrupted_on: date | None


class Plan(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: int
    starts_on: date
    ends_on: date
    next_review_on: date | None
    multi_sector: bool
    goals: list[Goal]
    services: list[Service]


class MultiSectorAssessment(msgspec.Struct, kw_only=True):
    """The county's four need areas of the completed assessment (§14(4))."""

    id: uuid.UUID
    number: int
    assessed_on: date
    county_takes_part: bool
    mental_health_rehabilitation: str | None
    employment_education_services: str | None
    social_health_services: str | None
    other_needs_goals: str | None


class HealthEntry(msgspec.Struct, kw_only=True):
    text: str
    source: str
    recorded_at: Annotated[datetime, doc("When it was recorded (UTC)")]


class ClientDetail(ClientSummary, kw_only=True):
    identity_code: str | None
    temporary_identifier: str | None
    citizenship: str | None
    status: Annotated[str, doc("active, or ended when the client relationship has ended")]
    integration_plan: Annotated[Plan | None, doc("The plan in force; null when there is none")]
    multi_sector_assessment: Annotated[
        MultiSectorAssessment | None, doc("From the completed assessment; null when the county took no part")
    ]
    health_information: Annotated[
        list[HealthEntry] | None,
        doc(
            "Health and functional-capacity information (§73); null when the client's consent does not cover health data, [] when none is recorded"
        ),
    ]


# --- errors -----------------------------------------------------------------------------------------


class OAuthProblem(HTTPException):
    """An error of the token endpoint or of a bearer token, answered in the RFC's own JSON form."""

    def __init__(self, status_code: int, error: str, description: str, headers: dict[str, str] | None = None):
        super().__init__(status_code=status_code, detail=description, headers=headers)
        self.error = error
        self.description = description


def _oauth_problem(_request: Request[Any, Any, Any], exc: OAuthProblem) -> Response[OAuthError]:
    return Response(
        content=OAuthError(error=exc.error, error_description=exc.description),
        status_code=exc.status_code,
        headers={**(exc.headers or {}), "Pragma": "no-cache"},
    )


def _invalid_token_request(
    _request: Request[Any, Any, Any], _exc: ValidationException
) -> Response[OAuthError]:
    """A body that does not parse as the form (e.g. a parameter given twice, §3.2) is invalid_request."""
    return _oauth_problem(
        _request, OAuthProblem(400, "invalid_request", "Send each parameter once, form-encoded.")
    )


def _invalid_client(description: str) -> OAuthProblem:
    # §5.2: 401 with a WWW-Authenticate of the Basic scheme (also for body credentials: it tells the client
    # how it may authenticate).
    return OAuthProblem(401, "invalid_client", description, {"WWW-Authenticate": f'Basic realm="{REALM}"'})


TOKEN_ERRORS = {
    400: ResponseSpec(
        OAuthError,
        generate_examples=False,
        description="invalid_request (a missing or repeated parameter, two ways of client authentication) or "
        "unsupported_grant_type",
    ),
    401: ResponseSpec(
        OAuthError,
        generate_examples=False,
        description="invalid_client: unknown client, wrong secret or a deactivated client",
    ),
    429: ResponseSpec(
        OAuthError,
        generate_examples=False,
        description="Too many failed attempts for this client or from this address; see Retry-After",
    ),
}
BEARER_ERRORS = {
    401: ResponseSpec(
        OAuthError,
        generate_examples=False,
        description="No token, or an expired or revoked token (invalid_token)",
    ),
}


# --- the token endpoint -------------------------------------------------------------------------------


@post(
    "/token",
    summary="Get an access token (OAuth2 client credentials)",
    description=(
        "RFC 6749 §4.4. Form-encoded `grant_type=client_credentials`; the client authenticates with HTTP "
        "Basic (client_id:client_secret) or with client_id and client_secret in the body, not both. "
        "The token is valid for 15 minutes. Failed attempts are limited per client and per address (429)."
    ),
    status_code=200,
    security=[{BASIC: []}],
    responses=TOKEN_ERRORS,
    exception_handlers={ValidationException: _invalid_token_request},
)
async def token(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[TokenResponse]:
    if not data.grant_type:
        raise OAuthProblem(400, "invalid_request", "grant_type is missing.")
    try:
        basic = api_clients.basic_credentials(request.headers.get("authorization"))
    except MalformedCredentials:
        raise _invalid_client("The Authorization header cannot be read.") from None
    if basic and data.client_secret is not None:
        raise OAuthProblem(400, "invalid_request", "Use one way of client authentication, not two.")
    if basic:
        client_key, secret = basic
        if data.client_id not in (None, client_key):
            raise OAuthProblem(400, "invalid_request", "client_id differs from the Authorization header.")
    else:
        client_key, secret = data.client_id or "", data.client_secret or ""
    if data.grant_type != "client_credentials":
        raise OAuthProblem(400, "unsupported_grant_type", "Only client_credentials is supported.")
    if not client_key or not secret:
        raise _invalid_client("Client authentication is missing.")

    keys = api_clients.limiter_keys(settings, client_key, request.client.host if request.client else None)
    wait = await api_clients.retry_after(db_session, settings, keys)
    if wait:
        raise OAuthProblem(
            429,
            "temporarily_unavailable",  # RFC 6749 has no code of its own for this; the status says it
            "Too many failed attempts. Try again later.",
            {"Retry-After": str(wait)},
        )
    record = await api_clients.authenticate(db_session, client_key, secret)
    if record is None:
        await api_clients.record_failure(db_session, settings, client_key, keys)
        await db_session.commit()  # the failure counts although the answer is an error
        raise _invalid_client("Unknown client, wrong secret or a deactivated client.")
    access_token, expires_in = await api_clients.issue_token(db_session, record, keys)
    return Response(
        content=TokenResponse(
            access_token=access_token,
            token_type="Bearer",  # noqa: S106 - the RFC 6750 token type
            expires_in=expires_in,
        ),
        headers={"Pragma": "no-cache"},  # with app.web's Cache-Control: no-store (§5.1)
    )


# --- bearer-authenticated data --------------------------------------------------------------------------


async def bearer_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """The system client behind `Authorization: Bearer …`, read afresh on every call: a deactivated client
    or an expired token is refused at once (RFC 6750 §3.1)."""
    scheme, _, value = (connection.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise OAuthProblem(
            401, "invalid_request", "Send an access token.", {"WWW-Authenticate": f'Bearer realm="{REALM}"'}
        )
    system = await api_clients.resolve_token(db_of(connection), value.strip())
    if system is None:
        raise OAuthProblem(
            401,
            "invalid_token",
            "The access token is expired, revoked or unknown.",
            {"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
        )
    connection.state["system_actor"] = system


def _system(request: Request[Any, Any, Any]) -> SystemActor:
    system: SystemActor = request.state["system_actor"]
    return system


def _summary_fields(item: SharedClient) -> dict[str, Any]:
    client: Client = item.client
    return {
        "id": client.id,
        "first_names": client.first_names,
        "last_name": client.last_name,
        "native_name": client.native_name,
        "date_of_birth": client.date_of_birth,
        "mother_tongue": client.mother_tongue,
        "languages": [Language(language=lang.language, level=lang.level.value) for lang in client.languages],
        "interpreter_needed": client.interpreter_needed,
        "interpreter_language": client.interpreter_language,
        "contact": Contact(
            phone=client.phone,
            email=client.email,
            street_address=client.street_address,
            postal_code=client.postal_code,
            post_office=client.post_office,
            municipality_of_residence=client.municipality_of_residence,
        ),
        "responsible_organisation": OrganisationRef(id=item.organisation.id, name=item.organisation.name),
        "cooperation": CooperationRef(
            id=item.cooperation.id, since=item.since, share_health=item.cooperation.share_health
        ),
    }


@get(
    "/clients",
    summary="Clients the county cooperates on",
    description=(
        "One item per active (accepted) cooperation of the calling county, oldest first; a cooperation that "
        "has ended is not listed. Paginated: follow next_cursor until it is null. Each client returned is "
        "audit-logged as viewed by the county."
    ),
    responses={**BEARER_ERRORS, 400: ResponseSpec(None, description="A bad cursor or limit")},
    guards=[bearer_guard],
    security=[{OAUTH2: []}],
)
async def list_clients(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    limit: Annotated[
        int, Parameter(ge=1, le=api_clients.MAX_PAGE, description="Items per page")
    ] = api_clients.DEFAULT_PAGE,
    cursor: Annotated[str | None, Parameter(description="next_cursor of the previous page")] = None,
) -> ClientPage:
    try:
        found = await api_clients.shared_clients(db_session, _system(request), limit, cursor)
    except BadCursor:
        raise ValidationException("Bad cursor") from None
    return ClientPage(
        items=[ClientSummary(**_summary_fields(item)) for item in found.items], next_cursor=found.next_cursor
    )


@get(
    "/clients/{client_id:uuid}",
    summary="One client the county cooperates on",
    description=(
        "Basic data, the integration plan in force (goals and services with their dates), the multi-sector "
        "items of the completed assessment, and health information only when the client's consent covers "
        "it (health_information is null otherwise). Any other client id is 404. Audit-logged."
    ),
    responses={
        **BEARER_ERRORS,
        404: ResponseSpec(None, description="Not a client this county cooperates on"),
    },
    guards=[bearer_guard],
    security=[{OAUTH2: []}],
)
async def get_client(
    request: Request[Any, Any, Any], db_session: AsyncSession, client_id: uuid.UUID
) -> ClientDetail:
    detail = await api_clients.shared_client(db_session, _system(request), client_id, i18n.get_locale())
    if detail is None:
        await db_session.commit()  # the refused attempt stays in the audit log
        raise NotFoundException
    client = detail.shared.client
    plan = detail.plan
    assessment = detail.assessment
    return ClientDetail(
        **_summary_fields(detail.shared),
        identity_code=client.identity_code,
        temporary_identifier=client.temporary_identifier,
        citizenship=client.citizenship,
        status=client.status.value,
        integration_plan=Plan(
            id=plan.id,
            number=plan.number,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            next_review_on=plan.next_review_on,
            multi_sector=plan.multi_sector,
            goals=[
                Goal(
                    kind=g.kind.value,
                    type=g.goal_type.value,
                    text=g.text,
                    attainment=g.attainment.value if g.attainment else None,
                )
                for g in plan.goals
            ],
            services=[
                Service(
                    id=e.service.id,
                    kind=e.service.kind.value,
                    service_type=e.service_type,
                    programme_service_id=e.service.programme_service_id,
                    name=e.name,
                    status=e.service.status.value,
                    planned_start=e.service.planned_start,
                    planned_end=e.service.planned_end,
                    referred_on=e.service.referred_on,
                    started_on=e.service.started_on,
                    completed_on=e.service.completed_on,
                    interrupted_on=e.service.interrupted_on,
                )
                for e in detail.services
            ],
        )
        if plan
        else None,
        multi_sector_assessment=MultiSectorAssessment(
            id=assessment.id,
            number=assessment.number,
            assessed_on=assessment.assessed_on,
            county_takes_part=assessment.county_takes_part,
            mental_health_rehabilitation=assessment.county_mental_health_rehabilitation,
            employment_education_services=assessment.county_employment_education,
            social_health_services=assessment.county_social_health,
            other_needs_goals=assessment.county_other,
        )
        if assessment
        else None,
        health_information=[
            HealthEntry(text=h.text, source=h.source, recorded_at=h.created_at) for h in detail.health
        ]
        if detail.health is not None
        else None,
    )


router = Router(
    path="/api/v1",
    route_handlers=[token, list_clients, get_client],
    # Not cookie-authenticated: no CSRF token to check, and no CSRF cookie set on API responses.
    opt={"exclude_from_csrf": True},
    tags=["County data transfer (service 18)"],
    exception_handlers={OAuthProblem: _oauth_problem},
)
