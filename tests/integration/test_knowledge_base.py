"""The public knowledge base (service 21): starter articles in eight languages, full-text search in the
visitor's language (diacritics and Arabic vowel marks ignored, the last word a prefix, snippets escaped),
publishing and versions, stale translations flagged to editors and marked to readers, anonymous
questions (CSRF, honeypot, a rate limit per address, the text kept on errors, the e-mail address deleted
once answered), and who may edit (another organisation's article or question is not found).

Pages are asked for in English unless a test is about another language."""

from __future__ import annotations

import html
import logging
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app import i18n
from app.asgi import RedactInvitationLinks
from app.db.base import TextOrigin
from app.db.knowledge import (
    ArticleStatus,
    GuidanceQuestion,
    KnowledgeArticle,
    KnowledgeArticleText,
    KnowledgeArticleVersion,
    KnowledgeSearchDoc,
    QuestionStatus,
)
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.db.outbox import Channel, NotificationKind, OutboxMessage, OutboxStatus
from app.domain import knowledge, knowledge_questions
from app.domain.starter_articles import seed_starter_articles, starter_articles
from app.i18n import PUBLIC_LOCALES
from app.main import create_app
from app.settings import Settings
from tests import fake_libretranslate
from tests.conftest import BASE_URL, AppTestClient, Factory, post, sign_in
from tests.integration import test_outbox as outbox_tests

mailbox = outbox_tests.mailbox  # an SMTP server on loopback (aiosmtpd), as the outbox tests use
HOUSING_AR = "البحث عن سكن"


@pytest.fixture(autouse=True)
def english(client: TestClient[Litestar]) -> None:
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def home(factory: Factory) -> Organisation:
    """The deployment's only municipality: its articles are the public ones."""
    return factory.organisation("Kotokunta")


@pytest.fixture
def officer(client: TestClient[Litestar], factory: Factory, home: Organisation) -> Staff:
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


def seed(settings: Settings, organisation: Organisation | None = None) -> int:
    organisation_id = organisation.id if organisation else None
    return outbox_tests.in_session(settings, lambda db: seed_starter_articles(db, organisation_id, settings))


@pytest.fixture
def starter(settings: Settings, home: Organisation) -> int:
    return seed(settings)


def slugs_found(page: str) -> list[str]:
    return re.findall(r'<h3><a href="/guidance/articles/([a-z0-9-]+)"', page)


def public(client: TestClient[Litestar], path: str, lang: str, **params: str) -> Any:
    """A public page in `lang`, forgetting the choice afterwards (the cookie would outlast the request
    and put later pages, the back office's too, in that language)."""
    response = client.get(path, params={**params, "lang": lang})
    client.cookies.delete("kp_lang")
    return response


def search(client: TestClient[Litestar], words: str, lang: str) -> Any:
    return public(client, "/guidance/search", lang, q=words)


def article_id(db: Session, organisation: Organisation, slug: str) -> uuid.UUID:
    found = db.scalar(
        select(KnowledgeArticle.id).where(
            KnowledgeArticle.organisation_id == organisation.id, KnowledgeArticle.slug == slug
        )
    )
    assert found is not None
    return found


def versions(db: Session, article: uuid.UUID) -> list[int]:
    return list(
        db.scalars(
            select(KnowledgeArticleVersion.number)
            .where(KnowledgeArticleVersion.article_id == article)
            .order_by(KnowledgeArticleVersion.number)
        )
    )


def new_article(client: TestClient[Litestar], **fields: str) -> Any:
    values = {
        "topic": "housing",
        "source_language": "fi",
        "title": "Vuokravakuus",
        "slug": "",
        "summary": "Mikä vuokravakuus on.",
        "body": "Vuokranantaja pyytää usein vakuuden.\n\n## Lue lisää\n\n- [InfoFinland](https://www.infofinland.fi/)",
        **fields,
    }
    return post(client, "/officer/articles", values)


def created_id(response: Any) -> uuid.UUID:
    assert response.status_code == 303, response.text
    found = re.match(r"^/officer/articles/([0-9a-f-]{36})", response.headers["location"])
    assert found, response.headers["location"]
    return uuid.UUID(found.group(1))


def state_of(client: TestClient[Litestar], article: uuid.UUID) -> str:
    page = client.get(f"/officer/articles/{article}")
    found = re.search(r'name="state" value="([0-9a-f]{64})"', page.text)
    assert found, page.text
    return found.group(1)


def publish(client: TestClient[Litestar], article: uuid.UUID) -> Any:
    return post(client, f"/officer/articles/{article}/publish", {"state": state_of(client, article)})


def form_version(page: str) -> str:
    found = re.search(r'name="version" value="(\d*)"', page)
    assert found, page
    return found.group(1)


# --- starter content and the public pages --------------------------------------------------------------


def test_starter_articles_are_published_in_eight_languages_fresh_and_seeded_once(
    client: TestClient[Litestar], settings: Settings, db: Session, home: Organisation, starter: int
) -> None:
    assert starter == len(starter_articles()) == 10
    assert seed(settings) == 0  # idempotent: nothing is added or changed the second time
    assert db.scalar(select(func.count()).select_from(KnowledgeArticleVersion)) == 10
    texts = list(db.scalars(select(KnowledgeArticleText)))
    assert len(texts) == 10 * len(PUBLIC_LOCALES)
    assert {t.origin for t in texts if t.language != "fi"} == {TextOrigin.TRANSLATOR}
    # The translations were made from the Finnish original as it is: none is stale.
    assert db.scalar(select(func.count()).where(KnowledgeSearchDoc.stale.is_(True))) == 0

    front = client.get("/guidance")
    assert front.status_code == 200
    assert 'href="/guidance/topics/housing"' in front.text and "Housing" in front.text
    for locale in PUBLIC_LOCALES:
        page = public(client, "/guidance/articles/work-and-tax-card", locale)
        assert page.status_code == 200
        assert f'<article class="guidance-article" lang="{locale}"' in page.text
        assert 'href="https://www.vero.fi/"' in page.text  # the official source
        assert 'id="stale-note"' not in page.text
    arabic = public(client, "/guidance/articles/work-and-tax-card", "ar")
    assert (
        '<html lang="ar" dir="rtl">' in arabic.text
        and 'dir="rtl" aria-labelledby="article-title"' in arabic.text
    )
    # The landing page leads here.
    assert 'href="/guidance/"' in client.get("/").text


def test_every_topic_page_lists_its_articles_in_the_visitors_language(
    client: TestClient[Litestar], starter: int
) -> None:
    page = public(client, "/guidance/topics/health", "uk")
    assert page.status_code == 200
    assert 'href="/guidance/articles/health-services-and-emergencies" lang="uk"' in page.text
    assert "Медичні послуги" in page.text
    assert client.get("/guidance/topics/no-such-topic").status_code == 404
    assert client.get("/guidance/articles/no-such-article").status_code == 404


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("fi", "verokortti"),
        ("sv", "skattekort"),
        ("en", "tax card"),
        ("ar", "الضريبية"),
        ("fa", "مالیاتی"),
        ("ru", "налоговая карточка"),
        ("uk", "податкова"),
        ("so", "kaarka canshuurta"),
    ],
)
def test_search_in_each_language_finds_its_article_first(
    client: TestClient[Litestar], starter: int, locale: str, words: str
) -> None:
    page = search(client, words, locale)
    assert page.status_code == 200
    found = slugs_found(page.text)
    assert found and found[0] == "work-and-tax-card", found
    # The result is the text in the visitor's language, with the words marked.
    assert f'href="/guidance/articles/work-and-tax-card" lang="{locale}"' in page.text
    assert "<mark>" in page.text


def test_search_ignores_case_and_diacritics_and_the_last_word_is_a_prefix(
    client: TestClient[Litestar], starter: int
) -> None:
    # "lapsilisä" (child benefit) typed without the dots, in capitals.
    assert slugs_found(search(client, "LAPSILISA", "fi").text) == ["kela-basics"]
    # "Päivystysapuun" found by the start of its undotted form.
    assert "health-services-and-emergencies" in slugs_found(search(client, "paivystysap", "fi").text)
    # Every word must be found; only the last one is a prefix.
    assert slugs_found(search(client, "verok asumistuki", "fi").text) == []
    assert slugs_found(search(client, "asumistuki verok", "fi").text) == []
    assert "finding-housing" in slugs_found(search(client, "vuokrasopimus asumis", "fi").text)


def test_arabic_search_ignores_vowel_marks_on_either_side(client: TestClient[Litestar], starter: int) -> None:
    # Typed with vowel marks; the text has none.
    assert slugs_found(search(client, "الضَّرِيبِيَّة", "ar").text)[0] == "work-and-tax-card"
    # Typed without the shadda of "قدّم" in the text ("apply in several places").
    assert "finding-housing" in slugs_found(search(client, "قدم طلبات", "ar").text)
    # Hamza forms fold too ("أسبوع" → "اسبوع").
    assert "registering-and-residence" in slugs_found(search(client, "اسبوعا", "ar").text)


def test_search_results_are_escaped_and_the_query_is_not_logged(
    client: TestClient[Litestar], officer: Staff, db: Session, home: Organisation
) -> None:
    article = created_id(
        new_article(client, title="Ohje <script>alert(1)</script> vuokralaisille", slug="ohje")
    )
    assert publish(client, article).status_code == 303
    page = search(client, "script", "fi")
    assert slugs_found(page.text) == ["ohje"]
    assert "<script>alert" not in page.text
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in page.text
    # Nothing searched for reaches the access log.
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/guidance/search?q=turvapaikka+kielteinen&lang=fi", "1.1", 200), None,
    )  # fmt: skip
    RedactInvitationLinks().filter(record)
    assert "turvapaikka" not in record.getMessage() and "/guidance/search?…" in record.getMessage()


def test_an_article_body_is_escaped_and_only_safe_links_become_links() -> None:
    html = str(
        knowledge.render_body(
            "<b>x</b> [ok](https://kela.fi/) [bad](javascript:alert(1)) [site](/guidance/ask)\n\n- **one**\n- two"
        )
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert '<a href="https://kela.fi/">ok</a>' in html and '<a href="/guidance/ask">site</a>' in html
    assert "javascript:" not in html.replace("[bad](javascript:alert(1))", "")
    assert 'href="javascript' not in html
    assert "<ul><li><strong>one</strong></li><li>two</li></ul>" in html
    assert knowledge.body_errors("[x](javascript:alert(1))") is not None


# --- editing: drafts, publishing, versions --------------------------------------------------------


def test_a_draft_is_not_public_until_published_and_each_publication_is_a_version(
    client: TestClient[Litestar], officer: Staff, db: Session, home: Organisation
) -> None:
    article = created_id(new_article(client))
    slug = "vuokravakuus"  # made from the title
    assert client.get(f"/guidance/articles/{slug}").status_code == 404
    assert slugs_found(search(client, "vuokravakuus", "fi").text) == []

    assert publish(client, article).headers["location"].endswith("?done=published")
    assert "Vuokranantaja pyytää usein vakuuden." in public(client, f"/guidance/articles/{slug}", "fi").text
    assert versions(db, article) == [1]

    edit = client.get(f"/officer/articles/{article}/edit")
    changed = {
        "topic": "housing",
        "title": "Vuokravakuus",
        "slug": slug,
        "summary": "Mikä vuokravakuus on.",
        "body": "Vakuus on yleensä enintään kolmen kuukauden vuokra.",
        "version": form_version(edit.text),
    }
    assert post(client, f"/officer/articles/{article}", changed).status_code == 303
    # The public page keeps the published text until the next publication.
    assert "Vuokranantaja pyytää usein vakuuden." in public(client, f"/guidance/articles/{slug}", "fi").text
    assert "Changes not yet published" in client.get(f"/officer/articles/{article}").text
    published_state = state_of(client, article)
    assert post(client, f"/officer/articles/{article}/publish", {"state": published_state}).status_code == 303
    assert "kolmen kuukauden" in public(client, f"/guidance/articles/{slug}", "fi").text
    assert versions(db, article) == [1, 2]

    first = client.get(f"/officer/articles/{article}/versions/1")
    assert first.status_code == 200 and "Vuokranantaja pyytää usein vakuuden." in first.text
    history = client.get(f"/officer/articles/{article}")
    assert f"/officer/articles/{article}/versions/2" in history.text
    # Publishing what is already public adds no version.
    again = post(client, f"/officer/articles/{article}/publish", {"state": published_state})
    assert again.headers["location"].endswith("?done=nothing") and versions(db, article) == [1, 2]

    withdraw = post(client, f"/officer/articles/{article}/withdraw", {"version": form_version(history.text)})
    assert withdraw.status_code == 303
    assert client.get(f"/guidance/articles/{slug}").status_code == 404
    assert slugs_found(search(client, "vuokravakuus", "fi").text) == []
    assert (
        db.scalar(select(KnowledgeArticle.status).where(KnowledgeArticle.id == article))
        == ArticleStatus.DRAFT
    )


def test_publishing_what_the_page_did_not_show_is_refused(
    client: TestClient[Litestar], officer: Staff, db: Session
) -> None:
    article = created_id(new_article(client))
    seen = state_of(client, article)
    post(
        client,
        f"/officer/articles/{article}/texts/sv",
        {"title": "Hyresgaranti", "summary": "", "body": "Text.", "origin": "translator", "version": ""},
    )
    refused = post(client, f"/officer/articles/{article}/publish", {"state": seen})
    assert refused.status_code == 409 and "changed after you opened this page" in refused.text
    assert versions(db, article) == []


def test_a_stale_save_keeps_the_input_and_shows_what_is_saved(
    client: TestClient[Litestar], officer: Staff, db: Session
) -> None:
    article = created_id(new_article(client))
    version = form_version(client.get(f"/officer/articles/{article}/edit").text)
    base = {
        "topic": "housing",
        "slug": "vuokravakuus",
        "title": "Vuokravakuus",
        "summary": "",
        "version": version,
    }
    assert (
        post(client, f"/officer/articles/{article}", {**base, "body": "Ensimmäinen tallennus."}).status_code
        == 303
    )
    late = post(client, f"/officer/articles/{article}", {**base, "body": "Toinen, myöhästynyt teksti."})
    assert late.status_code == 409
    assert "Toinen, myöhästynyt teksti." in late.text and "Ensimmäinen tallennus." in late.text
    assert db.scalar(select(KnowledgeArticleText.body).where(KnowledgeArticleText.article_id == article)) == (
        "Ensimmäinen tallennus."
    )


def test_bad_input_shows_the_form_again_with_everything_typed(
    client: TestClient[Litestar], officer: Staff, db: Session
) -> None:
    taken = created_id(new_article(client, slug="vakuus"))
    again = new_article(client, slug="vakuus", body="Oma teksti [linkki](javascript:alert(1))")
    assert again.status_code == 422
    assert "A link must start with https://" in again.text
    assert "Oma teksti [linkki](javascript:alert(1))" in again.text
    clash = new_article(client, slug="vakuus", body="Oma teksti.")
    assert clash.status_code == 422 and "Another article already has this address" in clash.text
    assert db.scalar(select(func.count()).select_from(KnowledgeArticle)) == 1 and taken


# --- translations: origin and freshness ----------------------------------------------------------


def test_a_translation_from_an_older_original_is_flagged_to_editors_and_marked_to_readers(
    client: TestClient[Litestar], officer: Staff, db: Session, home: Organisation
) -> None:
    article = created_id(new_article(client, slug="vakuus"))
    swedish = {
        "title": "Hyresgaranti",
        "summary": "Vad en hyresgaranti är.",
        "body": "Hyresvärden ber ofta om en garanti.",
        "origin": "translator",
        "version": "",
    }
    assert post(client, f"/officer/articles/{article}/texts/sv", swedish).status_code == 303
    publish(client, article)
    fresh = public(client, "/guidance/articles/vakuus", "sv")
    assert 'lang="sv"' in fresh.text and "Hyresgaranti" in fresh.text and 'id="stale-note"' not in fresh.text

    edit = client.get(f"/officer/articles/{article}/edit")
    changed = {"topic": "housing", "slug": "vakuus", "title": "Vuokravakuus", "summary": "Mikä vakuus on."}
    changed |= {"body": "Uusi, tarkempi teksti.", "version": form_version(edit.text)}
    post(client, f"/officer/articles/{article}", changed)
    detail = client.get(f"/officer/articles/{article}")
    assert "Stale – translated from an older version" in detail.text
    editor = client.get(f"/officer/articles/{article}/texts/sv")
    assert (
        "Stale – translated from an older version" in editor.text and "Uusi, tarkempi teksti." in editor.text
    )
    assert "Translated by a translator" in editor.text

    publish(client, article)
    reader = public(client, "/guidance/articles/vakuus", "sv")
    assert 'id="stale-note"' in reader.text and "Hyresgaranti" in reader.text
    assert 'href="/guidance/articles/vakuus/fi"' in reader.text
    original = public(client, "/guidance/articles/vakuus/fi", "sv")
    assert original.status_code == 200 and "Uusi, tarkempi teksti." in original.text
    assert '<html lang="sv"' in original.text  # the interface stays in the reader's language
    (doc,) = db.scalars(
        select(KnowledgeSearchDoc).where(
            KnowledgeSearchDoc.article_id == article, KnowledgeSearchDoc.locale == "sv"
        )
    )
    assert doc.stale and doc.language == "sv"

    # Saving the translation again marks it as made from the current original.
    editor = client.get(f"/officer/articles/{article}/texts/sv")
    renewed = {**swedish, "body": "Ny, noggrannare text.", "version": form_version(editor.text)}
    assert post(client, f"/officer/articles/{article}/texts/sv", renewed).status_code == 303
    publish(client, article)
    assert 'id="stale-note"' not in public(client, "/guidance/articles/vakuus", "sv").text


def test_a_language_without_a_translation_shows_the_original_with_a_note(
    client: TestClient[Litestar], officer: Staff
) -> None:
    publish(client, created_id(new_article(client, slug="vakuus")))
    page = public(client, "/guidance/articles/vakuus", "so")
    assert page.status_code == 200
    # The Finnish original, marked as such, with the note in the visitor's language.
    note = i18n.translations("so").gettext(
        "This article is not yet available in %(wanted)s. Here it is in %(language)s."
    )
    assert '<article class="guidance-article" lang="fi"' in page.text
    assert note.split("%(")[0].strip() and note.split("%(")[0].strip() in html.unescape(page.text)
    assert client.get("/guidance/articles/vakuus/so").status_code == 404


def test_machine_translation_is_saved_unchecked_and_marked(
    settings: Settings, factory: Factory, home: Organisation, db: Session
) -> None:
    with fake_libretranslate.serve() as server:
        configured = replace(settings, machine_translation_url=server.url)
        with AppTestClient(create_app(configured), base_url=BASE_URL) as browser:
            browser.headers["Accept-Language"] = "en"
            sign_in(browser, factory.staff(home, Role.MANAGER))
            article = created_id(new_article(browser, slug="vakuus"))
            assert "Translate by machine" in browser.get(f"/officer/articles/{article}").text
            assert post(browser, f"/officer/articles/{article}/texts/ar/machine").status_code == 303
            row = db.scalar(
                select(KnowledgeArticleText).where(
                    KnowledgeArticleText.article_id == article, KnowledgeArticleText.language == "ar"
                )
            )
            assert row is not None and row.origin == TextOrigin.MACHINE and row.edited_by_id is None
            assert row.title == "[ar] Vuokravakuus"
            assert "Machine translation, not checked" in browser.get(f"/officer/articles/{article}").text
            publish(browser, article)
            marked = i18n.translations("ar").gettext(
                "This text was translated by a machine and has not been checked by a person."
            )
            assert marked in html.unescape(browser.get("/guidance/articles/vakuus?lang=ar").text)
            # A person's translation is never replaced by a machine's.
            editor = browser.get(f"/officer/articles/{article}/texts/ar")
            mine = {"title": "ضمان الإيجار", "summary": "", "body": "نص.", "origin": "officer"}
            post(
                browser,
                f"/officer/articles/{article}/texts/ar",
                {**mine, "version": form_version(editor.text)},
            )
            refused = post(browser, f"/officer/articles/{article}/texts/ar/machine")
            assert refused.status_code == 422 and "by a person; it is kept" in refused.text


# --- anonymous questions --------------------------------------------------------------------------


def ask(client: TestClient[Litestar], **fields: str) -> Any:
    return post(
        client, "/guidance/questions", {"question": "Miten haen asumistukea?", "language": "fi", **fields}
    )


def questions(db: Session) -> list[GuidanceQuestion]:
    db.expire_all()
    return list(db.scalars(select(GuidanceQuestion).order_by(GuidanceQuestion.id)))


def test_a_visitor_asks_without_an_account_and_only_the_day_is_kept(
    client: TestClient[Litestar], db: Session, home: Organisation, starter: int
) -> None:
    page = client.get("/guidance/articles/finding-housing")
    assert 'action="/guidance/questions"' in page.text and 'name="website"' in page.text
    sent = ask(client, article="finding-housing", email="")
    assert sent.status_code == 303 and sent.headers["location"] == "/guidance/questions/sent"
    (question,) = questions(db)
    assert question.organisation_id == home.id and question.email is None
    assert (
        question.topic is not None and question.topic.value == "housing" and question.article_id is not None
    )
    asked = question.created_at.astimezone(UTC)
    assert (asked.hour, asked.minute, asked.second) == (0, 0, 0)
    assert client.get("/guidance/questions/sent").status_code == 200


def test_a_question_without_the_csrf_token_is_refused(
    client: TestClient[Litestar], db: Session, home: Organisation
) -> None:
    client.get("/guidance/ask")
    refused = client.post(
        "/guidance/questions", data={"question": "Hei?", "language": "fi"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert questions(db) == []


def test_a_robot_filling_the_hidden_field_is_thanked_and_nothing_is_stored(
    client: TestClient[Litestar], db: Session, home: Organisation
) -> None:
    sent = ask(client, website="http://spam.example")
    assert sent.status_code == 303 and sent.headers["location"] == "/guidance/questions/sent"
    assert questions(db) == []


def test_bad_input_keeps_the_question(client: TestClient[Litestar], db: Session, home: Organisation) -> None:
    text = "Saako perheeni asumistukea, jos asumme alivuokralaisina?"
    answer = ask(client, question=text, email="not-an-address")
    assert answer.status_code == 422
    assert text in answer.text and "Enter an e-mail address like" in answer.text
    empty = ask(client, question="   ")
    assert empty.status_code == 422 and "Write your question." in empty.text
    assert questions(db) == []


def test_questions_are_rate_limited_per_address_with_retry_after(
    client: TestClient[Litestar], db: Session, home: Organisation
) -> None:
    for number in range(knowledge_questions.QUESTIONS_PER_ADDRESS):
        assert ask(client, question=f"Kysymys {number}").status_code == 303
    text = "Tämä kysymys tulee liian nopeasti."
    limited = ask(client, question=text)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "You have sent many questions in a short while" in limited.text
    assert text in limited.text  # kept for when the visitor may send again
    assert len(questions(db)) == knowledge_questions.QUESTIONS_PER_ADDRESS


def test_the_guidance_pages_are_not_in_use_without_a_public_organisation(
    client: TestClient[Litestar], factory: Factory
) -> None:
    factory.organisation("Kunta A")
    factory.organisation("Kunta B")  # two municipalities, none named in PUBLIC_ORGANISATION
    assert client.get("/guidance").status_code == 404
    assert "not in use here" in client.get("/guidance").text
    assert ask(client).status_code == 404


def test_an_answer_is_emailed_once_and_the_address_is_deleted(
    client: TestClient[Litestar],
    officer: Staff,
    db: Session,
    settings: Settings,
    mailbox: outbox_tests.Mailbox,
) -> None:
    ask(client, email="Kysyja@Example.net", language="en", question="How do I get a tax card?")
    (question,) = questions(db)
    assert question.email == "kysyja@example.net"
    waiting = client.get("/officer/articles/questions")
    assert "How do I get a tax card?" in waiting.text and "kysyja@example.net" not in waiting.text
    page = client.get(f"/officer/articles/questions/{question.id}")
    assert "kysyja@example.net" not in page.text  # officers do not need to see the address
    reply = "You get it from the Finnish Tax Administration, in MyTax or at a service point."
    answered = post(
        client,
        f"/officer/articles/questions/{question.id}/answer",
        {"answer": reply, "version": form_version(page.text)},
    )
    assert answered.status_code == 303
    (question,) = questions(db)
    assert question.status == QuestionStatus.ANSWERED and question.email is None and question.answer_emailed
    (row,) = db.scalars(select(OutboxMessage))
    assert (row.kind, row.channel, row.address, row.locale) == (
        NotificationKind.GUIDANCE_ANSWER,
        Channel.EMAIL,
        "kysyja@example.net",
        "en",
    )

    outbox_tests.deliver(replace(settings, smtp_host="127.0.0.1", smtp_port=mailbox.port))
    (message,) = mailbox.messages()
    assert message["To"] == "kysyja@example.net" and message["Subject"] == "Answer to your question"
    body = message.get_body(("plain",))
    assert (
        body is not None and reply in body.get_content() and "How do I get a tax card?" in body.get_content()
    )

    # Once sent, the outbox's copy of the address goes too.
    client.get("/officer/articles/questions")
    db.expire_all()
    row = db.scalars(select(OutboxMessage)).one()
    assert row.status == OutboxStatus.DELIVERED and row.address is None


def test_a_question_handled_meanwhile_keeps_the_typed_answer(
    client: TestClient[Litestar], officer: Staff, db: Session
) -> None:
    ask(client, email="someone@example.net")
    (question,) = questions(db)
    page = client.get(f"/officer/articles/questions/{question.id}")
    version = form_version(page.text)
    dismissed = post(client, f"/officer/articles/questions/{question.id}/dismiss", {"version": version})
    assert dismissed.status_code == 303
    (question,) = questions(db)
    assert question.status == QuestionStatus.DISMISSED and question.email is None  # deleted on closing too
    late = post(
        client,
        f"/officer/articles/questions/{question.id}/answer",
        {"answer": "Myöhässä.", "version": version},
    )
    assert late.status_code == 409 and "Myöhässä." in late.text
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_question_becomes_a_draft_article(
    client: TestClient[Litestar], officer: Staff, db: Session
) -> None:
    ask(client, question="Voiko vuokravakuuden maksaa erissä?")
    (question,) = questions(db)
    form = client.get(f"/officer/articles/new?question={question.id}")
    assert (
        "Voiko vuokravakuuden maksaa erissä?" in form.text
        and f'name="question" value="{question.id}"' in form.text
    )
    article = created_id(new_article(client, question=str(question.id), slug="vakuus-erissa"))
    (question,) = questions(db)
    assert question.draft_article_id == article
    assert (
        db.scalar(select(KnowledgeArticle.status).where(KnowledgeArticle.id == article))
        == ArticleStatus.DRAFT
    )


def test_old_handled_questions_are_deleted(client: TestClient[Litestar], officer: Staff, db: Session) -> None:
    ask(client, question="Vanha")
    ask(client, question="Uusi")
    old, new = questions(db)
    long_ago = datetime.now(UTC) - timedelta(days=knowledge_questions.QUESTION_KEEP_DAYS + 1)
    db.execute(
        update(GuidanceQuestion)
        .where(GuidanceQuestion.id == old.id)
        .values(status=QuestionStatus.ANSWERED, answered_at=long_ago, answer="x")
    )
    db.commit()
    client.get("/officer/articles/questions")
    assert [q.id for q in questions(db)] == [new.id]


# --- who may do what ------------------------------------------------------------------------------


def test_the_public_pages_show_only_the_public_organisations_articles(
    client: TestClient[Litestar], settings: Settings, factory: Factory, home: Organisation, db: Session
) -> None:
    other = factory.organisation("Naapurikunta", OrganisationType.EMPLOYMENT_AUTHORITY)
    seed(settings, other)  # another organisation's (published) articles
    assert client.get("/guidance/articles/kela-basics").status_code == 404
    assert slugs_found(search(client, "Kela", "fi").text) == []
    seed(settings)
    assert client.get("/guidance/articles/kela-basics").status_code == 200
    # The home municipality withdraws one; the neighbour's copy stays unpublished here.
    withdrawn = article_id(db, home, "where-to-get-help")
    db.execute(
        update(KnowledgeArticle).where(KnowledgeArticle.id == withdrawn).values(status=ArticleStatus.DRAFT)
    )
    db.execute(delete(KnowledgeSearchDoc).where(KnowledgeSearchDoc.article_id == withdrawn))
    db.commit()
    assert client.get("/guidance/articles/where-to-get-help").status_code == 404
    # A deployment naming the other organisation (PUBLIC_ORGANISATION) shows that one's articles.
    named = replace(settings, public_organisation="Naapurikunta")
    with AppTestClient(create_app(named), base_url=BASE_URL) as browser:
        assert browser.get("/guidance/articles/where-to-get-help").status_code == 200
        assert "where-to-get-help" in slugs_found(search(browser, "InfoFinland", "en").text)


def test_editing_needs_the_permission_and_another_organisations_objects_are_not_found(
    client: TestClient[Litestar], factory: Factory, home: Organisation, db: Session
) -> None:
    anonymous = client.get("/officer/articles", follow_redirects=False)
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/officer/sign-in")

    for role in (Role.INTERPRETER, Role.ADMINISTRATOR, Role.COUNTY_TEAM_MEMBER):
        person = factory.staff(home, role)
        sign_in(client, person)
        assert client.get("/officer/articles").status_code == 403, role
        assert client.get("/officer/articles/questions").status_code == 403, role
        assert new_article(client).status_code == 403, role

    author = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, author)
    article = created_id(new_article(client))
    ask(client)
    (question,) = questions(db)

    stranger = factory.staff(factory.organisation("Toinen kunta"), Role.MANAGER)
    sign_in(client, stranger)
    assert client.get("/officer/articles").status_code == 200
    for path in (
        f"/officer/articles/{article}",
        f"/officer/articles/{article}/edit",
        f"/officer/articles/{article}/texts/sv",
        f"/officer/articles/{article}/versions/1",
        f"/officer/articles/questions/{question.id}",
    ):
        assert client.get(path).status_code == 404, path
    assert post(client, f"/officer/articles/{article}/publish", {"state": "x"}).status_code == 404
    assert (
        post(client, f"/officer/articles/questions/{question.id}/dismiss", {"version": "1"}).status_code
        == 404
    )
    assert "Voiko" not in client.get("/officer/articles/questions").text
    assert questions(db)[0].status == QuestionStatus.OPEN


# --- offline reading ------------------------------------------------------------------------------


def test_the_service_worker_keeps_only_guidance_pages_and_precaches_the_offline_page(
    client: TestClient[Litestar], home: Organisation
) -> None:
    worker = client.get("/guidance/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert '"offline": "/guidance/offline"' in worker.text and "/static/js/me.js?v=" in worker.text
    assert '"kp-guidance-pages"' in worker.text and "kp-pages-" not in worker.text
    offline = client.get("/guidance/offline")
    assert offline.status_code == 200 and 'data-cache-prefix="kp-guidance-pages"' in offline.text
