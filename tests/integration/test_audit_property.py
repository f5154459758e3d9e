"""Property (Hypothesis): every change to client data produces its audit event.

Hypothesis generates a client and a sequence of operations an officer does through the back office's
routes: edit the basic data and languages (with the version the form showed), record a consent, add
health information, link and unlink a family member, set the responsible officer, end the relationship
and reopen it. After each operation the client's data is compared with what it was before, and the audit
events written by the operation must be exactly the ones the change calls for: the action, the client,
the object and the names of the changed fields. An operation that is refused (the relationship has
ended) changes nothing and writes nothing. After each example every audit chain verifies.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.client import (
    Client,
    ClientLanguage,
    Consent,
    ConsentPurpose,
    EndReason,
    FamilyLink,
    FamilyRelation,
    HealthInformation,
    KnownHow,
    LanguageLevel,
)
from app.db.organisation import Role
from app.domain.audit import verify_chain
from app.domain.clients import BASIC_FIELDS
from app.domain.forms import as_input, today
from tests.conftest import post, sign_in

Event = tuple[str, uuid.UUID | None, str | None, str | None, tuple[str, ...]]
EXAMPLES = 50
RELATIONSHIP_FIELDS = ("end_note", "end_reason", "ended_on", "status")

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäöABCDÅÄÖ", min_size=1, max_size=12)
optional_words = st.one_of(st.just(""), words)
past_days = st.integers(min_value=1, max_value=300).map(lambda n: (today() - timedelta(days=n)).isoformat())
languages = st.lists(
    st.tuples(
        st.sampled_from(["fi", "sv", "en", "ar", "so", "fa", "ru"]), st.sampled_from(list(LanguageLevel))
    ),
    max_size=3,
    unique_by=lambda pair: pair[0],
)
basic = {
    "segment": st.sampled_from(["1", "2", "3"]),
    "known_on": past_days,
    "known_how": st.sampled_from([k.value for k in KnownHow]),
    "first_names": words,
    "last_name": words,
    "post_office": optional_words,
    "municipality_of_residence": optional_words,
    "postal_code": st.one_of(st.just(""), st.from_regex(r"\A[0-9]{5}\Z")),
    "phone": st.sampled_from(["", "040 123 4567", "+358 50 765 4321"]),
    "email": st.sampled_from(["", "a@example.fi", "b.c@example.net"]),
    "mother_tongue": st.sampled_from(["", "ar", "so", "fa"]),
    "unaccompanied_minor": st.sampled_from(["", "on"]),
}
REQUIRED = ("segment", "known_on", "known_how", "first_names", "last_name")
new_client = st.fixed_dictionaries(
    {name: basic[name] for name in REQUIRED},
    optional={name: value for name, value in basic.items() if name not in REQUIRED},
)
operation = st.one_of(
    st.tuples(st.just("edit"), st.fixed_dictionaries({}, optional=basic), st.one_of(st.none(), languages)),
    st.tuples(
        st.just("consent"),
        st.sampled_from(list(ConsentPurpose)),
        st.sampled_from(["yes", "no"]),
        past_days,
        optional_words,
    ),
    st.tuples(st.just("health"), words, words),
    st.tuples(st.just("family"), st.sampled_from(list(FamilyRelation))),
    st.tuples(st.just("responsible"), st.booleans()),
    st.tuples(st.just("end"), past_days, st.sampled_from(list(EndReason)), optional_words),
    st.just(("reopen",)),
)


@dataclass(frozen=True)
class State:
    """A client's data as stored: what the audit log has to account for."""

    basic: dict[str, Any]
    relationship: tuple[Any, ...]
    responsible: uuid.UUID | None
    version: int
    languages: frozenset[tuple[str, str]]
    consents: dict[uuid.UUID, tuple[str, bool]]  # id → (purpose, has a note)
    health: frozenset[uuid.UUID]
    family: frozenset[tuple[uuid.UUID, uuid.UUID, str]]


def state_of(db: Session, client_id: uuid.UUID) -> State:
    db.expire_all()
    row = db.get(Client, client_id)
    assert row is not None
    return State(
        basic={name: getattr(row, name) for name in BASIC_FIELDS},
        relationship=(row.end_note, row.end_reason, row.ended_on, row.status),
        responsible=row.responsible_officer_id,
        version=row.version,
        languages=frozenset(
            (str(lang), str(level))
            for lang, level in db.execute(
                select(ClientLanguage.language, ClientLanguage.level).where(
                    ClientLanguage.client_id == client_id
                )
            )
        ),
        consents={
            c.id: (c.purpose.value, bool(c.note))
            for c in db.scalars(select(Consent).where(Consent.client_id == client_id))
        },
        health=frozenset(
            db.scalars(select(HealthInformation.id).where(HealthInformation.client_id == client_id))
        ),
        family=frozenset(
            (link.client_id, link.related_client_id, link.relation.value)
            for link in db.scalars(
                select(FamilyLink).where(
                    or_(FamilyLink.client_id == client_id, FamilyLink.related_client_id == client_id)
                )
            )
        ),
    )


def expected_events(client_id: uuid.UUID, before: State, after: State) -> Counter[Event]:
    """The events a change calls for, from the difference of the stored data alone."""
    me = str(client_id)
    events: Counter[Event] = Counter()
    changed = [name for name in BASIC_FIELDS if before.basic[name] != after.basic[name]]
    changed += ["languages"] if before.languages != after.languages else []
    if changed:
        events[("update", client_id, "client", me, tuple(sorted(changed)))] += 1
    if before.relationship != after.relationship:
        events[("update", client_id, "client", me, RELATIONSHIP_FIELDS)] += 1
    if before.responsible != after.responsible:
        events[("update", client_id, "client", me, ("responsible_officer_id",))] += 1
    for consent_id in after.consents.keys() - before.consents.keys():
        purpose, noted = after.consents[consent_id]
        fields = ("decided_on", "given", "note") if noted else ("decided_on", "given")
        events[("create", client_id, "consent", purpose, fields)] += 1
    for entry in after.health - before.health:
        events[("create", client_id, "health_information", str(entry), ("source", "text"))] += 1
    for a, b, _relation in after.family - before.family:
        events[("create", a, "family_link", str(b), ("relation",))] += 1
    for a, b, _relation in before.family - after.family:
        events[("delete", a, "family_link", str(b), ("relation",))] += 1
    return events


def changes_recorded_after(db: Session, last_id: int) -> tuple[Counter[Event], int]:
    rows = db.scalars(
        select(AuditEvent).where(AuditEvent.id > last_id, AuditEvent.action.not_in(["view", "search"]))
    ).all()
    events = Counter((r.action, r.client_id, r.object_type, r.object_id, tuple(r.fields)) for r in rows)
    return events, max((r.id for r in rows), default=last_id)


def last_event_id(db: Session) -> int:
    return int(db.scalar(select(func.max(AuditEvent.id))) or 0)


def form_rows(values: dict[str, str], langs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rows = list(values.items())
    for code, level in langs:
        rows += [("language", code), ("language_level", str(level))]
    return rows


def test_every_change_to_client_data_is_audited(client, factory, db):
    organisation = factory.organisation()
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    colleague = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    counts: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        initial=new_client,
        initial_languages=languages,
        operations=st.lists(operation, min_size=1, max_size=8),
    )
    def run(
        initial: dict[str, str], initial_languages: list[tuple[str, str]], operations: list[tuple[Any, ...]]
    ) -> None:
        relative = factory.client(organisation, last_name="Relative")
        last_id = last_event_id(db)
        created = post(
            client, "/officer/clients", form_rows({**initial, "confirm_new": "on"}, initial_languages)
        )
        assert created.status_code == 303, created.text
        client_id = uuid.UUID(created.headers["location"].rsplit("/", 1)[1])
        after = state_of(db, client_id)
        recorded, last_id = changes_recorded_after(db, last_id)
        fields = [n for n in BASIC_FIELDS if after.basic[n] is not None] + (
            ["languages"] if after.languages else []
        )
        assert recorded == Counter(
            {("create", client_id, "client", str(client_id), tuple(sorted(fields))): 1}
        )
        counts["create"] += 1

        for op in operations:
            before = state_of(db, client_id)
            active = before.relationship[3].value == "active"
            base = f"/officer/clients/{client_id}"
            kind = op[0]
            if kind == "edit":
                row = db.get(Client, client_id)
                shown = {**as_input(row, BASIC_FIELDS), "version": str(before.version)}
                langs = op[2] if op[2] is not None else sorted(before.languages)
                response = post(client, base, form_rows({**shown, **op[1]}, langs))
                expected_status = 303 if active else 403
            elif kind == "consent":
                _kind, purpose, given_, decided_on, note = op
                data = {"purpose": purpose.value, "given": given_, "decided_on": decided_on, "note": note}
                response = post(client, f"{base}/consents", data)
                expected_status = 303 if active else 403
            elif kind == "health":
                response = post(client, f"{base}/health", {"text": op[1], "source": op[2]})
                expected_status = 303 if active else 404
            elif kind == "family":
                if any(relative.id in (a, b) for a, b, _r in before.family):  # linked: unlink instead
                    kind = "unlink"
                    response = post(client, f"{base}/family/{relative.id}/delete")
                else:
                    data = {"relation": op[1].value, "related_identifier": relative.temporary_identifier}
                    response = post(client, f"{base}/family", data)
                expected_status = 303 if active else 403
            elif kind == "responsible":
                response = post(
                    client,
                    f"{base}/responsible",
                    {"responsible_officer_id": str(colleague.id) if op[1] else ""},
                )
                expected_status = 303 if active else 403
            elif kind == "end":
                _kind, ended_on, reason, note = op
                data = {
                    "version": str(before.version),
                    "ended_on": ended_on,
                    "end_reason": reason.value,
                    "end_note": note,
                }
                response = post(client, f"{base}/end", data)
                expected_status = 303 if active else 422
            else:
                response = post(client, f"{base}/reopen", {"version": str(before.version)})
                expected_status = 409 if active else 303
            assert response.status_code == expected_status, (op, response.status_code, response.text[:500])

            after = state_of(db, client_id)
            recorded, last_id = changes_recorded_after(db, last_id)
            expected = expected_events(client_id, before, after)
            assert recorded == expected, (op, recorded, expected)
            if expected_status == 303 and kind not in ("edit", "responsible"):  # these may repeat a value
                assert expected, op  # the operation did change something (so the property is not empty)
            counts[kind if expected_status == 303 else "refused"] += 1
            counts["events"] += sum(recorded.values())

        with Session(db.get_bind()) as fresh:  # verify_chain expunges what it walked
            report = verify_chain(fresh)
        assert report.ok, report

    run()
    print(f"\noperations through the routes, each checked against its audit events: {dict(counts)}")
    assert counts["create"] == EXAMPLES and counts["edit"] > 0 and counts["refused"] > 0
