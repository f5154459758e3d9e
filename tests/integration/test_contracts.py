"""Contracts with service providers (service 11): create, edit with optimistic locking, the business ID
and money checks, the list with its filters, renewal reminders on the worklist and their decisions, the
client link of a housing lease, and attachments — checked by content and size, stored outside the web
root under random names, downloaded only by the organisation's contract staff (audited), removed with
their file. Another organisation's contract answers 404; a role without the right answers 403."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import func, select, update

from app.db.audit import AuditEvent
from app.db.contracts import Contract, ContractAttachment, ContractKind
from app.db.organisation import Role
from app.domain import contracts as contract_rules
from app.domain import uploads
from app.domain.forms import today
from app.main import create_app
from app.settings import ROOT, Settings
from tests.conftest import csrf_token, post, sign_in

LIMIT = 64 * 1024  # the test app's ATTACHMENT_MAX_BYTES
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"This program cannot be run in DOS mode"
    + bytes(64)
)


def ooxml(main_type: str, part: str = "/word/document.xml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="{part}" ContentType="{main_type}"/></Types>',
        )
        archive.writestr(part.lstrip("/"), "<document/>")
    return buffer.getvalue()


DOCX = ooxml("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
XLSX = ooxml("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "/xl/workbook.xml")
DOCM = ooxml("application/vnd.ms-word.document.macroEnabled.main+xml")


def odf(mimetype: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", "<office:document-content/>", compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


ODT = odf("application/vnd.oasis.opendocument.text")


@pytest.fixture
def attachments_dir(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


@pytest.fixture
def app(settings: Settings, attachments_dir: Path) -> Litestar:
    return create_app(replace(settings, attachments_dir=attachments_dir, attachment_max_bytes=LIMIT))


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta")


@pytest.fixture
def elsewhere(factory):
    return factory.organisation("Muukunta")


@pytest.fixture
def officer(client, factory, home):
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


def make_contract(db, organisation, **fields: Any) -> Contract:
    values: dict[str, Any] = {
        "kind": ContractKind.INTERPRETATION,
        "subject": "Tulkkauspalvelut, puitesopimus",
        "provider_name": "Tulkkauspalvelu Sana Oy",
        "starts_on": date(2025, 1, 1),
        "ends_on": today() + timedelta(days=400),
    }
    values.update(fields)
    contract = Contract(organisation_id=organisation.id, **values)
    db.add(contract)
    db.commit()
    return contract


def form(**changes: str) -> dict[str, str]:
    data = {
        "kind": "interpretation_contract",
        "subject": "Tulkkauspalvelut 2026–2027",
        "provider_name": "Tulkkauspalvelu Sana Oy",
        "provider_business_id": "0112038-9",
        "provider_contact": "Sari Sana, 040 123 4567",
        "starts_on": "1.1.2026",
        "ends_on": "31.12.2027",
        "value": "12 500,50",
        "renewal_notice_days": "90",
        "responsible_staff_id": "",
        "client_id": "",
        "notes": "",
    }
    data.update(changes)
    return data


def upload(client, contract: Contract, name: str, content: bytes, declared: str = "application/pdf") -> Any:
    return post(
        client, f"/officer/contracts/{contract.id}/attachments", {}, files={"file": (name, content, declared)}
    )


def stored_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def events(db, object_type: str) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type).order_by(AuditEvent.id))
    )


# --- rules without the database ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0112038-9", "0112038-9"),  # Nokia Oyj
        (" 0112038-9 ", "0112038-9"),
        ("112038-9", "0112038-9"),  # an old six-digit ID gets its leading zero
        ("FI01120389", "0112038-9"),  # the VAT number form
        ("2617416-4", "2617416-4"),
        ("0112038-8", None),  # wrong check digit
        ("0112038", None),
        ("01120389", None),
        ("0000006-0", None),  # remainder 1: no check digit is valid
        ("0000006-1", None),
        ("abcdefg-h", None),
        ("", None),
    ],
)
def test_business_id_format_and_check_digit(raw, expected):
    assert contract_rules.normalise_business_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12 500,50", Decimal("12500.50")),
        ("12500.5", Decimal("12500.50")),
        ("12\u00a0500 €", Decimal("12500.00")),
        ("0", Decimal("0.00")),
        ("-5", None),
        ("12,345", None),  # three decimals
        ("1,2,3", None),
        ("12e3", None),
        ("NaN", None),
        ("abc", None),
    ],
)
def test_euros_accept_the_finnish_comma_and_two_decimals(raw, expected):
    if expected is None:
        with pytest.raises(ValueError, match=re.escape(raw)):
            contract_rules.parse_euros(raw)
    else:
        assert contract_rules.parse_euros(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\evil.pdf", "evil.pdf"),
        ("C:\\temp\\report.pdf", "report.pdf"),
        ("report.pdf\x00.exe", "report.pdf.exe"),  # the NUL goes; the real extension is then refused
        ("\u202egpj.exe", "gpj.exe"),  # a right-to-left override cannot disguise the extension
        ("..", ""),
        ("...pdf", "pdf"),
        (".htaccess", "htaccess"),
        ("a\nb\r\tc.pdf", "abc.pdf"),
        ("ＡＢＣ／..／x.pdf", "x.pdf"),  # fullwidth letters and solidus, NFKC
        ("e\u0301te\u0301.pdf", "été.pdf"),  # combining accents composed
        ('my "file" <1>.pdf', "my _file_ _1_.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
    ],
)
def test_filenames_are_sanitised(raw, expected):
    assert uploads.sanitise_filename(raw) == expected


def test_attachments_may_not_be_stored_under_the_web_root(settings):
    for inside in (ROOT / "static", ROOT / "static" / "attachments"):
        with pytest.raises(RuntimeError):
            uploads.storage_root(replace(settings, attachments_dir=inside))


# --- create, edit, list -----------------------------------------------------------------------------


def test_create_contract_and_see_it_in_the_list_and_on_its_page(client, db, officer):
    response = post(client, "/officer/contracts", form(responsible_staff_id=str(officer.id)))
    assert response.status_code == 303, response.text
    saved = db.scalar(select(Contract))
    assert response.headers["location"] == f"/officer/contracts/{saved.id}"
    assert saved.value == Decimal("12500.50")
    assert saved.provider_business_id == "0112038-9"
    assert (saved.starts_on, saved.ends_on) == (date(2026, 1, 1), date(2027, 12, 31))
    assert saved.responsible_staff_id == officer.id
    page = client.get(f"/officer/contracts/{saved.id}")
    assert page.status_code == 200
    assert "€12,500.50" in page.text
    assert officer.full_name in page.text
    listing = client.get("/officer/contracts")
    assert "Tulkkauspalvelut 2026–2027" in listing.text
    created = events(db, "contract")
    assert [e.action for e in created] == ["create"]
    assert "value" in created[0].fields and created[0].client_id is None


def test_bad_input_is_shown_again_with_every_value_and_translated_errors(client, db, officer):
    response = post(
        client,
        "/officer/contracts",
        form(
            subject="",
            provider_business_id="0112038-8",
            starts_on="1.6.2026",
            ends_on="31.5.2026",
            value="12,345",
            renewal_notice_days="many",
            provider_contact="Yhteyshenkilö Maija",
        ),
    )
    assert response.status_code == 422
    text = response.text
    assert "Write what the contract is about." in text
    assert "This is not a valid business ID." in text
    assert "The end date cannot be before the start date." in text
    assert "at most two decimals" in text
    assert "Enter a number of days" in text
    assert 'value="0112038-8"' in text and 'value="12,345"' in text and "Yhteyshenkilö Maija" in text
    assert db.scalar(select(func.count()).select_from(Contract)) == 0


def test_a_negative_value_and_someone_elses_staff_are_refused(client, db, factory, officer, elsewhere):
    stranger = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    response = post(client, "/officer/contracts", form(value="-100", responsible_staff_id=str(stranger.id)))
    assert response.status_code == 422
    assert "at most two decimals" in response.text
    assert "Choose one of the options." in response.text
    assert db.scalar(select(func.count()).select_from(Contract)) == 0


def test_a_stale_edit_gets_409_with_the_input_kept_then_saves_on_purpose(client, db, officer, home):
    contract = make_contract(db, home)
    edit = client.get(f"/officer/contracts/{contract.id}/edit")
    assert edit.status_code == 200 and 'name="version" value="1"' in edit.text
    # Someone else saves in between.
    db.execute(
        update(Contract).where(Contract.id == contract.id).values(subject="Changed by someone", version=2)
    )
    db.commit()
    mine = form(subject="My new subject", version="1")
    response = post(client, f"/officer/contracts/{contract.id}", mine)
    assert response.status_code == 409
    assert "Someone else saved changes to this contract" in response.text
    assert 'value="My new subject"' in response.text  # what I typed is kept
    assert "Changed by someone" in response.text  # the saved value is shown
    assert 'name="version" value="2"' in response.text
    db.expire_all()
    assert db.get(Contract, contract.id).subject == "Changed by someone"
    again = post(client, f"/officer/contracts/{contract.id}", {**mine, "version": "2"})
    assert again.status_code == 303
    db.expire_all()
    assert db.get(Contract, contract.id).subject == "My new subject"
    assert db.get(Contract, contract.id).version == 3


def test_a_new_end_date_starts_a_new_reminder_period(client, db, officer, home):
    contract = make_contract(db, home, ends_on=today() + timedelta(days=20), reminded_on=today())
    response = post(client, f"/officer/contracts/{contract.id}", form(ends_on="31.12.2030", version="1"))
    assert response.status_code == 303
    db.expire_all()
    saved = db.get(Contract, contract.id)
    assert (saved.ends_on, saved.reminded_on) == (date(2030, 12, 31), None)
    changed = events(db, "contract")[-1]
    assert changed.action == "update" and {"ends_on", "reminded_on"} <= set(changed.fields)


def test_an_edit_with_errors_keeps_input_and_changes_nothing(client, db, officer, home):
    contract = make_contract(db, home)
    response = post(
        client, f"/officer/contracts/{contract.id}", form(value="abc", subject="Kept", version="1")
    )
    assert response.status_code == 422
    assert 'value="Kept"' in response.text
    db.expire_all()
    assert db.get(Contract, contract.id).subject == "Tulkkauspalvelut, puitesopimus"


def test_list_filters_by_kind_status_and_text_sorted_by_end_date(client, db, officer, home, elsewhere):
    on = today()
    make_contract(
        db, home, subject="Äidinkielen opetus", kind=ContractKind.TRAINING, ends_on=on + timedelta(days=30)
    )
    make_contract(db, home, subject="Tulkkaus A", ends_on=on + timedelta(days=300))
    make_contract(
        db,
        home,
        subject="Vanha vuokrasopimus",
        kind=ContractKind.HOUSING_LEASE,
        ends_on=on - timedelta(days=5),
    )
    make_contract(db, home, subject="Toistaiseksi voimassa", ends_on=None)
    make_contract(db, elsewhere, subject="Muun kunnan sopimus")
    everything = client.get("/officer/contracts").text
    assert "Muun kunnan sopimus" not in everything
    order = [
        everything.index(s)
        for s in ("Vanha vuokrasopimus", "Äidinkielen opetus", "Tulkkaus A", "Toistaiseksi voimassa")
    ]
    assert order == sorted(order)  # by end date, open-ended last
    ending = client.get("/officer/contracts?status=ending").text
    assert "Äidinkielen opetus" in ending and "Tulkkaus A" not in ending
    assert 'class="ending"' in ending and "Ending soon" in ending
    ended = client.get("/officer/contracts?status=ended").text
    assert "Vanha vuokrasopimus" in ended and "Tulkkaus A" not in ended
    training = client.get("/officer/contracts?kind=training_contract").text
    assert "Äidinkielen opetus" in training and "Tulkkaus A" not in training
    found = client.get("/officer/contracts?q=aidinkielen").text  # case and diacritics folded
    assert "Äidinkielen opetus" in found and "Tulkkaus A" not in found
    by_provider = client.get("/officer/contracts?q=sana+oy").text
    assert "Tulkkaus A" in by_provider


# --- the client link of a housing lease -------------------------------------------------------------


def test_a_housing_lease_is_linked_to_an_own_client_found_by_search_and_audited(
    client, db, factory, officer, home
):
    person = factory.client(home, first_names="Amal", last_name="Haddad")
    found = post(
        client, "/officer/contracts/new/find-client", form(kind="housing_lease", client_query="Haddad")
    )
    assert found.status_code == 200
    assert "Haddad, Amal" in found.text and 'value="Tulkkauspalvelut 2026–2027"' in found.text  # input kept
    assert [e.action for e in events(db, "client")][-1] == "search"
    response = post(client, "/officer/contracts", form(kind="housing_lease", client_id=str(person.id)))
    assert response.status_code == 303
    contract = db.scalar(select(Contract))
    assert contract.client_id == person.id
    created = events(db, "contract")
    assert created[-1].action == "create" and created[-1].client_id == person.id
    page = client.get(f"/officer/contracts/{contract.id}")
    assert "Haddad, Amal" in page.text
    viewed = events(db, "contract")[-1]
    assert (viewed.action, viewed.client_id) == ("view", person.id)
    # Unlinking is recorded for the client unlinked.
    post(client, f"/officer/contracts/{contract.id}", form(kind="housing_lease", client_id="", version="1"))
    unlinked = [e for e in events(db, "contract") if e.action == "update"]
    assert any(e.client_id == person.id and "client_id" in e.fields for e in unlinked)


def test_another_organisations_client_cannot_be_linked(client, db, factory, officer, elsewhere):
    stranger = factory.client(elsewhere, first_names="Other", last_name="Person")
    found = post(client, "/officer/contracts/new/find-client", form(client_query="Person"))
    assert "Person, Other" not in found.text
    response = post(client, "/officer/contracts", form(client_id=str(stranger.id)))
    assert response.status_code == 422
    assert "Choose the client from the search results." in response.text
    assert "Person, Other" not in response.text
    assert db.scalar(select(func.count()).select_from(Contract)) == 0


# --- renewal reminders ------------------------------------------------------------------------------


def test_an_ending_contract_is_on_the_responsible_persons_worklist_until_decided(
    client, db, factory, officer, home
):
    on = today()
    ending = make_contract(db, home, subject="Kielikoulutus Aikuisopisto", ends_on=on + timedelta(days=30),
                           responsible_staff_id=officer.id)  # fmt: skip
    make_contract(
        db,
        home,
        subject="Kaukana päättyvä",
        ends_on=on + timedelta(days=200),
        responsible_staff_id=officer.id,
    )
    make_contract(db, home, subject="Lyhyt varoitusaika", ends_on=on + timedelta(days=20), renewal_notice_days=10,
                  responsible_staff_id=officer.id)  # fmt: skip
    colleague = factory.staff(home, Role.INTEGRATION_OFFICER)
    make_contract(
        db,
        home,
        subject="Kollegan sopimus",
        ends_on=on + timedelta(days=10),
        responsible_staff_id=colleague.id,
    )
    worklist = client.get("/officer/worklist").text
    assert "Contracts ending: renew or let end" in worklist
    assert "Kielikoulutus Aikuisopisto" in worklist
    assert f"/officer/contracts/{ending.id}#renewal" in worklist
    assert "Kaukana päättyvä" not in worklist  # its notice period has not begun
    assert "Lyhyt varoitusaika" not in worklist  # ten days' notice: not yet
    assert "Kollegan sopimus" not in worklist  # someone else's
    page = client.get(f"/officer/contracts/{ending.id}")
    assert "decide whether to renew it" in page.text
    decided = post(
        client, f"/officer/contracts/{ending.id}/renewal", {"decision": "will_end", "version": "1"}
    )
    assert decided.status_code == 303
    db.expire_all()
    assert db.get(Contract, ending.id).reminded_on == on
    assert "Kielikoulutus Aikuisopisto" not in client.get("/officer/worklist").text


def test_a_renewal_moves_the_end_and_starts_a_new_reminder_period(client, db, officer, home):
    on = today()
    contract = make_contract(db, home, ends_on=on + timedelta(days=10), responsible_staff_id=officer.id)
    too_early = post(client, f"/officer/contracts/{contract.id}/renewal",
                     {"decision": "renewed", "new_ends_on": (on + timedelta(days=5)).isoformat(), "version": "1"})  # fmt: skip
    assert too_early.status_code == 422
    assert "The new end date must be after the current one." in too_early.text
    stale = post(client, f"/officer/contracts/{contract.id}/renewal",
                 {"decision": "renewed", "new_ends_on": (on + timedelta(days=400)).isoformat(), "version": "0"})  # fmt: skip
    assert stale.status_code == 409
    renewed = post(client, f"/officer/contracts/{contract.id}/renewal",
                   {"decision": "renewed", "new_ends_on": (on + timedelta(days=400)).isoformat(), "version": "1"})  # fmt: skip
    assert renewed.status_code == 303
    db.expire_all()
    saved = db.get(Contract, contract.id)
    assert (saved.ends_on, saved.reminded_on) == (on + timedelta(days=400), None)
    assert contract.subject not in client.get("/officer/worklist").text


def test_the_team_worklist_counts_contracts_per_responsible_person(client, db, factory, home):
    manager = factory.staff(home, Role.MANAGER)
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    make_contract(db, home, subject="Vuokrasopimus Koivukuja 3", kind=ContractKind.HOUSING_LEASE,
                  ends_on=today() + timedelta(days=60), responsible_staff_id=officer.id)  # fmt: skip
    sign_in(client, manager)
    team = client.get("/officer/worklist/team")
    assert team.status_code == 200
    assert "Contracts ending: renew or let end" in team.text
    assert "Vuokrasopimus Koivukuja 3" in team.text
    assert officer.full_name in team.text


# --- attachments ------------------------------------------------------------------------------------


def test_upload_and_download_a_pdf(client, db, officer, home, attachments_dir):
    contract = make_contract(db, home)
    response = upload(client, contract, "Sopimus allekirjoitettu.pdf", PDF)
    assert response.status_code == 303, response.text
    attachment = db.scalar(select(ContractAttachment))
    assert attachment.filename == "Sopimus allekirjoitettu.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size_bytes == len(PDF)
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.uploaded_by_id == officer.id
    files = stored_files(attachments_dir)
    assert len(files) == 1 and files[0].name == attachment.storage_name and len(attachment.storage_name) == 64
    assert files[0].read_bytes() == PDF
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert not files[0].resolve().is_relative_to((ROOT / "static").resolve())
    assert client.get(f"/static/{attachment.storage_name}").status_code == 404
    page = client.get(f"/officer/contracts/{contract.id}")
    assert "Sopimus allekirjoitettu.pdf" in page.text

    download = client.get(f"/officer/contracts/{contract.id}/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["cache-control"] == "no-store"
    assert len(download.headers.get_list("content-disposition")) == 1
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Sopimus allekirjoitettu.pdf\"; filename*=UTF-8''Sopimus%20allekirjoitettu.pdf"
    )
    recorded = events(db, "contract_attachment")
    assert [(e.action, e.object_id) for e in recorded] == [
        ("create", str(attachment.id)),
        ("export", str(attachment.id)),
    ]


def test_a_non_ascii_name_is_offered_with_rfc_6266_filename_star(client, db, officer, home):
    contract = make_contract(db, home)
    assert upload(client, contract, "Vuokrasopimus – Äänekoski.pdf", PDF).status_code == 303
    attachment = db.scalar(select(ContractAttachment))
    disposition = client.get(f"/officer/contracts/{contract.id}/attachments/{attachment.id}").headers[
        "content-disposition"
    ]
    assert disposition.startswith('attachment; filename="Vuokrasopimus _ Aanekoski.pdf"')
    assert "filename*=UTF-8''Vuokrasopimus%20%E2%80%93%20%C3%84%C3%A4nekoski.pdf" in disposition


@pytest.mark.parametrize(
    ("name", "content", "expected_type"),
    [
        ("kuva.png", PNG, "image/png"),
        ("skannattu.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32), "image/jpeg"),
        ("sopimus.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("hinnat.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("liite.odt", ODT, "application/vnd.oasis.opendocument.text"),
        (
            "muistio.txt",
            "Sopimuksen ehdot: 30 päivän irtisanomisaika.\n".encode(),
            "text/plain; charset=utf-8",
        ),
        (
            "hinnasto.csv",
            "tuote;hinta\nTulkkaus;65,00 €\n".encode("cp1252"),
            "text/csv; charset=windows-1252",
        ),
        ("skannaus", PDF, "application/pdf"),  # no extension: the one the content has is added
    ],
)
def test_allowed_types_are_recognised_by_their_content(
    client, db, officer, home, name, content, expected_type
):
    contract = make_contract(db, home)
    response = upload(client, contract, name, content, declared="application/octet-stream")
    assert response.status_code == 303, response.text
    attachment = db.scalar(select(ContractAttachment))
    assert attachment.content_type == expected_type
    if name == "skannaus":
        assert attachment.filename == "skannaus.pdf"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "sopimus.pdf",
            b"<html><script>alert(1)</script></html>",
            "ends in .pdf, but its content is a TXT/CSV file",
        ),
        ("sopimus.pdf", EXE, "This type of file cannot be attached"),  # a program renamed .pdf
        ("ohjelma.exe", EXE, "This type of file cannot be attached"),
        ("sopimus.pdf", PNG, "ends in .pdf, but its content is a PNG file"),
        ("sopimus.docx", b"PK\x03\x04" + bytes(40), "This type of file cannot be attached"),  # not a real zip
        ("makrot.docx", DOCM, "This type of file cannot be attached"),  # macro-enabled Word
        ("kuva.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "ends in .svg"),
        ("report.pdf\x00.exe", PDF, "ends in .exe"),
    ],
)
def test_wrong_types_are_refused_whatever_they_are_called(
    client, db, officer, home, attachments_dir, name, content, message
):
    contract = make_contract(db, home)
    response = upload(client, contract, name, content, declared="application/pdf")
    assert response.status_code == 422
    assert message in response.text
    assert db.scalar(select(func.count()).select_from(ContractAttachment)) == 0
    assert stored_files(attachments_dir) == []


def test_empty_and_missing_files_are_refused(client, db, officer, home, attachments_dir):
    contract = make_contract(db, home)
    empty = upload(client, contract, "tyhja.pdf", b"")
    assert empty.status_code == 422
    assert "The file is empty." in empty.text
    missing = post(
        client,
        f"/officer/contracts/{contract.id}/attachments",
        {},
        files={"other": ("x.pdf", PDF, "application/pdf")},
    )
    assert missing.status_code == 422
    assert "Choose a file to attach." in missing.text
    assert stored_files(attachments_dir) == []


def test_a_file_just_over_the_limit_is_refused_with_413(client, db, officer, home, attachments_dir):
    contract = make_contract(db, home)
    response = upload(client, contract, "iso.pdf", PDF + b"0" * (LIMIT + 1 - len(PDF)))
    assert response.status_code == 413
    assert "The file is too large. The largest file allowed is 64 kB." in response.text
    assert stored_files(attachments_dir) == []
    assert upload(client, contract, "juuri.pdf", PDF + b"0" * (LIMIT - len(PDF))).status_code == 303


def test_a_much_larger_body_is_cut_off_before_it_is_read(client, db, officer, home, attachments_dir):
    contract = make_contract(db, home)
    response = upload(client, contract, "valtava.pdf", PDF + b"0" * (LIMIT * 4))
    assert response.status_code == 413
    assert "The file is too large" in response.text and "64 kB" in response.text
    assert "Nothing was saved." in response.text  # the cut-off page, not the form's own size check
    assert f"/officer/contracts/{contract.id}#attachments" in response.text
    # Without a Content-Length (chunked), reading stops where the body passes the limit.
    boundary = "kotopolkuboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n{csrf_token(client)}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()

    def body():
        yield head
        for _ in range(LIMIT // 1024 * 4):
            yield b"0" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    chunked = client.post(
        f"/officer/contracts/{contract.id}/attachments",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert chunked.status_code == 413
    assert "Nothing was saved." in chunked.text  # the cut-off page, not the form's own size check
    assert stored_files(attachments_dir) == []
    assert db.scalar(select(func.count()).select_from(ContractAttachment)) == 0


@pytest.mark.parametrize(
    ("name", "stored_as"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("/etc/passwd", "passwd.pdf"),
        ("..\\..\\Windows\\win.ini.pdf", "win.ini.pdf"),
        ("C:\\Users\\Public\\sopimus.pdf", "sopimus.pdf"),
    ],
)
def test_path_tricks_in_the_name_are_neutralised(client, db, officer, home, attachments_dir, name, stored_as):
    contract = make_contract(db, home)
    response = upload(client, contract, name, PDF)
    assert response.status_code == 303
    attachment = db.scalar(select(ContractAttachment))
    assert attachment.filename == stored_as
    files = stored_files(attachments_dir)
    assert [f.name for f in files] == [attachment.storage_name]
    assert all(f.resolve().is_relative_to(attachments_dir.resolve()) for f in files)
    assert not (ROOT / "etc").exists()


def test_removing_an_attachment_deletes_its_file(client, db, officer, home, attachments_dir):
    contract = make_contract(db, home)
    upload(client, contract, "liite.pdf", PDF)
    attachment = db.scalar(select(ContractAttachment))
    path = attachments_dir / attachment.storage_name[:2] / attachment.storage_name
    assert path.exists()
    address = f"/officer/contracts/{contract.id}/attachments/{attachment.id}"
    response = post(client, f"{address}/delete")
    assert response.status_code == 303
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ContractAttachment)) == 0
    assert not path.exists() and stored_files(attachments_dir) == []
    assert [e.action for e in events(db, "contract_attachment")] == ["create", "delete"]
    assert client.get(address).status_code == 404


# --- access -----------------------------------------------------------------------------------------


def test_another_organisation_and_roles_without_the_right_are_refused(
    client, db, factory, home, elsewhere, attachments_dir
):
    owner = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, owner)
    contract = make_contract(db, home)
    assert upload(client, contract, "liite.pdf", PDF).status_code == 303
    attachment = db.scalar(select(ContractAttachment))
    other_contract = make_contract(db, home, subject="Toinen")
    base = f"/officer/contracts/{contract.id}"
    download = f"{base}/attachments/{attachment.id}"
    # The attachment under another contract's address does not exist.
    assert (
        client.get(f"/officer/contracts/{other_contract.id}/attachments/{attachment.id}").status_code == 404
    )
    client.cookies.clear()

    stranger = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    sign_in(client, stranger)
    for url in (base, f"{base}/edit", download):
        assert client.get(url).status_code == 404, url
    assert post(client, base, form(version="1")).status_code == 404
    assert post(client, f"{base}/find-client", form()).status_code == 404
    assert post(client, f"{base}/renewal", {"decision": "will_end", "version": "1"}).status_code == 404
    assert upload(client, contract, "x.pdf", PDF).status_code == 404
    assert post(client, f"{download}/delete").status_code == 404
    assert "Tulkkauspalvelut, puitesopimus" not in client.get("/officer/contracts").text
    client.cookies.clear()

    for role in (Role.COUNTY_TEAM_MEMBER, Role.INTERPRETER, Role.ADMINISTRATOR):
        person = factory.staff(home if role != Role.COUNTY_TEAM_MEMBER else factory.organisation(), role)
        sign_in(client, person)
        for url in ("/officer/contracts", base, download):
            assert client.get(url).status_code == 403, (role, url)
        assert post(client, f"{download}/delete").status_code == 403
        assert upload(client, contract, "x.pdf", PDF).status_code == 403
        client.cookies.clear()

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ContractAttachment)) == 1
    assert len(stored_files(attachments_dir)) == 1
    exports = [e for e in events(db, "contract_attachment") if e.action == "export"]
    assert exports == []


def test_a_manager_handles_contracts_too(client, db, factory, home):
    manager = factory.staff(home, Role.MANAGER)
    sign_in(client, manager)
    response = post(client, "/officer/contracts", form(responsible_staff_id=str(manager.id)))
    assert response.status_code == 303
    contract = db.scalar(select(Contract))
    assert upload(client, contract, "liite.pdf", PDF).status_code == 303
