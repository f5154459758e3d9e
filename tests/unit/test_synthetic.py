"""The benchmark data set's generator (app/domain/synthetic_activity.py): the audit events it writes must
verify as the app's own do, and `--full` means issue 8's volumes."""

import uuid
from datetime import UTC, datetime

import pytest

from app.db.audit import AuditEvent
from app.domain import audit
from app.domain.synthetic_activity import AUDIT_KINDS, Volumes, audit_digest


@pytest.mark.parametrize(
    ("actor_kind", "organisation", "roles", "client", "object_id"),
    [
        ("staff", uuid.uuid4(), "integration_officer,manager", uuid.uuid4(), "x"),
        ("client", None, "", uuid.uuid4(), None),
        ("staff", uuid.uuid4(), "integration_officer", None, None),
    ],
)
def test_generated_hashes_are_the_audit_logs_own(actor_kind, organisation, roles, client, object_id):
    actor = uuid.uuid4()
    for at in (datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC), datetime(2026, 3, 1, 9, 30, tzinfo=UTC)):
        event = AuditEvent(
            chain=7, seq=42, at=at, actor_id=actor, actor_kind=actor_kind, actor_organisation_id=organisation,
            actor_roles=roles, action="view", client_id=client, object_type="client", object_id=object_id,
            fields=["plans", "basic"], prev_hash="a" * 64,
        )  # fmt: skip
        assert audit_digest(
            7, 42, at, str(actor), actor_kind, str(organisation) if organisation else None, roles, "view",
            str(client) if client else None, "client", object_id, ["plans", "basic"], "a" * 64,
        ) == audit._digest(event)  # fmt: skip


def test_full_means_the_issues_volumes():
    assert Volumes.full(100_000) == Volumes(
        plans=60_000, appointments=1_000_000, messages=300_000, audit_events=5_000_000, articles=500
    )
    assert not Volumes().any()


def test_generated_events_use_the_apps_actions():
    actions = {str(a) for a in audit.Action}
    assert {kind[2] for kind in AUDIT_KINDS} <= actions
    assert all(kind[1] in ("staff", "client") for kind in AUDIT_KINDS)
