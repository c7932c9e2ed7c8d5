"""The email gateway's REST API: /api/mail/inbound/, /api/mail/outbox/ and
/api/mail/suppressions/."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from goodwill.accounts.models import User
from goodwill.cases import services
from goodwill.cases.models import Case, OutboundMessage, Section
from goodwill.mailgate.models import InboundMessage, Suppression
from tests.factories import CaseFactory, SectionFactory
from tests.mailgate.mail import deliver, make_mail

pytestmark = pytest.mark.django_db

MAIL_PATHS = {
    "/api/mail/inbound/",
    "/api/mail/inbound/{id}/",
    "/api/mail/inbound/{id}/raw/",
    "/api/mail/inbound/{id}/retry/",
    "/api/mail/outbox/",
    "/api/mail/outbox/{id}/",
    "/api/mail/outbox/{id}/retry/",
    "/api/mail/suppressions/",
    "/api/mail/suppressions/{id}/",
}


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def grant(user: User, *codenames: str) -> User:
    """*user* reloaded with the extra permissions (``app_label.codename``)."""
    for name in codenames:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label=app_label)
        )
    return User.objects.get(pk=user.pk)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
def support() -> Section:
    return SectionFactory(name="Support", code="SUPPORT", email="support@acme.example")


@pytest.fixture
def board() -> Section:
    """A members-only section that bob is not a member of."""
    return SectionFactory(
        name="Board",
        code="BOARD",
        email="board@acme.example",
        visibility=Section.Visibility.MEMBERS,
    )


def failed_reply(case: Case, by: User) -> OutboundMessage:
    message = services.case_reply(case=case, by=by, body="Here is the answer.")
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundMessage.Status.FAILED, last_error="550 mailbox unavailable"
    )
    message.refresh_from_db()
    return message


# --------------------------------------------------------------------------
# Who may do what


@pytest.mark.parametrize(
    "url",
    [
        "/api/mail/inbound/",
        "/api/mail/outbox/",
        "/api/mail/suppressions/",
    ],
)
def test_outsiders_and_agents_are_refused_the_logs(url: str, bob: User, charlie: User) -> None:
    """Anonymous requests are 401/403; a user without a role and an agent without the
    gateway's permissions get 403 on every list."""
    assert api().get(url).status_code in {401, 403}
    assert api(charlie).get(url).status_code == 403
    response = api(bob).get(url)
    assert response.status_code == 403
    assert response.json()["detail"]


def test_managers_read_every_list(maria: User, support: Section) -> None:
    """The Manager role has the gateway's permissions: the log, the outbox and the
    suppressions all answer 200."""
    deliver(make_mail(subject="Hello"))
    client = api(maria)
    for url in ("/api/mail/inbound/", "/api/mail/outbox/", "/api/mail/suppressions/"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.json())
        assert set(response.json()) == {"results", "next", "previous"}


def test_agents_may_not_submit_retry_or_suppress(bob: User, support: Section) -> None:
    """Without the permissions, writes are 403 and change nothing."""
    message = deliver(make_mail(to="nobody@acme.example"))
    client = api(grant(bob, "mailgate.view_inboundmessage"))
    raw = make_mail().as_bytes()

    assert client.post("/api/mail/inbound/", {"raw": b64(raw)}, format="json").status_code == 403
    assert client.post(f"/api/mail/inbound/{message.pk}/retry/").status_code == 403
    response = client.post("/api/mail/suppressions/", {"email": "x@example.com"}, format="json")
    assert response.status_code == 403
    assert InboundMessage.objects.count() == 1
    assert not Suppression.objects.exists()


# --------------------------------------------------------------------------
# The log


def test_the_list_shows_the_log_without_bodies(maria: User, support: Section) -> None:
    """Newest first, with the listed fields, the case's number, and never the text."""
    first = deliver(make_mail(subject="First", body="secret body one"))
    second = deliver(make_mail(subject="Second"))

    response = api(maria).get("/api/mail/inbound/")

    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [second.pk, first.pk]
    assert set(rows[0]) == {
        "id",
        "received_at",
        "source",
        "status",
        "reason",
        "from_email",
        "subject",
        "message_id",
        "size",
        "sha256",
        "case",
        "attempts",
        "processed_at",
    }
    assert rows[1]["case"] == first.case.number  # type: ignore[union-attr]
    assert rows[1]["status"] == "processed"
    assert rows[1]["from_email"] == "pat@customer.example"
    assert b"secret body one" not in response.content


def test_the_list_filters_by_status_and_query(maria: User, support: Section) -> None:
    """status narrows to one outcome; q matches sender or subject, or a Message-ID exactly."""
    deliver(make_mail(subject="Pump leaking", sender="pat@customer.example"))
    lost = deliver(make_mail(to="nobody@acme.example", subject="Lost one"))
    deliver(make_mail(subject="Other", sender="kim@elsewhere.example", message_id="<m1@x.example>"))
    client = api(maria)

    def subjects(**params: str) -> list[str]:
        response = client.get("/api/mail/inbound/", params)
        assert response.status_code == 200, response.json()
        return [row["subject"] for row in response.json()["results"]]

    assert subjects(status="quarantined") == ["Lost one"]
    assert lost.status == InboundMessage.Status.QUARANTINED
    assert subjects(q="pump") == ["Pump leaking"]
    assert subjects(q="elsewhere") == ["Other"]
    assert subjects(q="<m1@x.example>") == ["Other"]
    assert subjects(q="m1@x.example") == ["Other"]
    response = client.get("/api/mail/inbound/", {"status": "nope"})
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_the_list_pages_with_cursors(
    maria: User, support: Section, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages follow each other through next and previous, keeping the filters."""
    monkeypatch.setattr("goodwill.api.mail.PAGE_SIZE", 2)
    ids = [deliver(make_mail(subject=f"S{i}")).pk for i in range(5)]
    client = api(maria)

    first = client.get("/api/mail/inbound/", {"status": "processed"}).json()
    assert [r["id"] for r in first["results"]] == ids[::-1][:2]
    assert "status=processed" in first["next"]
    second = client.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == ids[::-1][2:4]
    back = client.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == ids[::-1][:2]
    assert client.get("/api/mail/inbound/", {"cursor": "garbage"}).status_code == 400


def test_members_only_cases_hide_their_messages(
    bob: User, maria: User, support: Section, board: Section
) -> None:
    """A log reader who is not a member of the section neither lists nor opens a message
    on its cases (404, like an id that does not exist); a manager does."""
    deliver(make_mail(subject="Visible problem"))
    secret = deliver(make_mail(to="board@acme.example", subject="Secret audit"))
    assert secret.case is not None
    client = api(grant(bob, "mailgate.view_inboundmessage", "mailgate.change_inboundmessage"))

    listed = [row["subject"] for row in client.get("/api/mail/inbound/").json()["results"]]
    assert listed == ["Visible problem"]
    assert client.get("/api/mail/inbound/", {"q": "Secret"}).json()["results"] == []
    for url in (
        f"/api/mail/inbound/{secret.pk}/",
        f"/api/mail/inbound/{secret.pk}/raw/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/mail/inbound/{secret.pk}/retry/").status_code == 404
    assert client.get("/api/mail/inbound/999999/").status_code == 404
    assert api(maria).get(f"/api/mail/inbound/{secret.pk}/").status_code == 200


def test_a_case_reader_opens_the_messages_on_the_case(bob: User, support: Section) -> None:
    """Without the log, an agent still opens a message on a case they can see."""
    message = deliver(make_mail(subject="On the case"))
    assert api(bob).get(f"/api/mail/inbound/{message.pk}/").status_code == 200


def test_the_detail_has_the_text_and_a_raw_link(maria: User, support: Section) -> None:
    """The detail adds the text, the sanitised HTML, the envelope and the raw URL, which
    serves the original bytes as message/rfc822."""
    raw = make_mail(
        subject="With HTML", html="<p>Hi</p><script>alert(1)</script>", body="Plain hi"
    ).as_bytes()
    message = deliver(raw, envelope_to=["Support@acme.example"])
    client = api(maria)

    body = client.get(f"/api/mail/inbound/{message.pk}/").json()

    assert "Plain hi" in body["body_text"]
    assert "<p>Hi</p>" in body["body_html"]
    assert "script" not in body["body_html"]
    assert body["envelope_to"] == ["support@acme.example"]
    assert body["raw_url"] == f"http://testserver/api/mail/inbound/{message.pk}/raw/"
    download = client.get(body["raw_url"], HTTP_ACCEPT="message/rfc822")
    assert download.status_code == 200
    assert download["Content-Type"] == "message/rfc822"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == raw  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# Submitting


def test_a_base64_message_is_stored_and_processed_into_a_case(
    maria: User, support: Section
) -> None:
    """JSON with the message in base64 stores it (source web), processes it at once and
    answers 201 with the detail: a new case."""
    raw = make_mail(subject="Submitted by API").as_bytes()
    encoded = base64.encodebytes(raw).decode()  # with line breaks, as MIME tools write it

    response = api(maria).post("/api/mail/inbound/", {"raw": encoded}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] is True
    assert body["status"] == "processed"
    assert body["source"] == "web"
    case = Case.objects.get(number=body["case"])
    assert case.subject == "Submitted by API"
    assert case.section == support
    assert response["Location"].endswith(f"/api/mail/inbound/{body['id']}/")
    message = InboundMessage.objects.get()
    assert message.raw.read() == raw


def test_a_message_rfc822_body_is_stored_with_the_section_from_the_query(
    maria: User, support: Section
) -> None:
    """The raw message as the body; ?section= delivers it to a section whatever its To."""
    raw = make_mail(to="someone@elsewhere.example", subject="Raw body").as_bytes()

    response = api(maria).post(
        "/api/mail/inbound/?section=support", raw, content_type="message/rfc822"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "processed"
    assert Case.objects.get(number=body["case"]).section == support
    assert InboundMessage.objects.get().section == support


def test_process_false_leaves_the_message_to_the_worker(
    maria: User, support: Section, django_capture_on_commit_callbacks: Any
) -> None:
    """With process: false the message is stored as received and queued."""
    raw = make_mail().as_bytes()
    with django_capture_on_commit_callbacks() as callbacks:
        response = api(maria).post(
            "/api/mail/inbound/", {"raw": b64(raw), "process": False}, format="json"
        )
    assert response.status_code == 201
    assert response.json()["status"] == "received"
    assert response.json()["case"] is None
    assert len(callbacks) == 1


def test_the_same_message_twice_is_stored_once(maria: User, support: Section) -> None:
    """A second submission of the same bytes answers 200 with created false."""
    raw = make_mail().as_bytes()
    client = api(maria)
    first = client.post("/api/mail/inbound/", {"raw": b64(raw)}, format="json")
    again = client.post("/api/mail/inbound/", raw, content_type="message/rfc822")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["id"] == first.json()["id"]
    assert InboundMessage.objects.count() == 1
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"raw": "not base64 at all!"}, "raw", "not valid base64"),
        ({"raw": ""}, "raw", "The message is empty."),
        ({"raw": b64(b"   \r\n")}, "raw", "The message is empty."),
        ({"raw": b64(b"just some text\n")}, "raw", "does not start with a header line"),
        ({}, "raw", "required"),
        ({"raw": b64(b"Subject: x\n\nx"), "section": "NOPE"}, "section", "No section"),
        ({"raw": b64(b"Subject: x\n\nx"), "sender": "x"}, "sender", "Unknown field."),
    ],
)
def test_bad_submissions_are_refused_and_nothing_is_stored(
    maria: User, support: Section, body: dict[str, Any], field: str, message: str
) -> None:
    """Each bad body is a 400 that names the field and says why; nothing is stored."""
    response = api(maria).post("/api/mail/inbound/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert message in " ".join(errors[field])
    assert not InboundMessage.objects.exists()


def test_bad_raw_bodies_are_refused(
    maria: User, support: Section, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty, headerless or oversized message/rfc822 body is a 400 on raw; another
    content type is a 415; nothing is stored."""
    client = api(maria)
    for raw, text in [(b"", "empty"), (b"hello", "header line")]:
        response = client.post("/api/mail/inbound/", raw, content_type="message/rfc822")
        assert response.status_code == 400
        assert text in response.json()["errors"]["raw"][0]
    monkeypatch.setattr("goodwill.api.mail.max_message_size", lambda: 100)
    monkeypatch.setattr("goodwill.api.mail_serializers.max_message_size", lambda: 100)
    response = client.post(
        "/api/mail/inbound/", make_mail(body="x" * 500).as_bytes(), content_type="message/rfc822"
    )
    assert response.status_code == 400
    assert "MB limit" in response.json()["errors"]["raw"][0]
    response = client.post("/api/mail/inbound/", b"From: x", content_type="text/plain")
    assert response.status_code == 415
    assert not InboundMessage.objects.exists()


def test_a_submission_on_a_hidden_case_answers_only_its_id(
    bob: User, support: Section, board: Section
) -> None:
    """An agent allowed to submit does not see the message's details when it lands on a
    members-only case."""
    client = api(grant(bob, "mailgate.add_inboundmessage", "mailgate.view_inboundmessage"))
    raw = make_mail(to="board@acme.example", subject="Secret").as_bytes()
    response = client.post("/api/mail/inbound/", {"raw": b64(raw)}, format="json")
    assert response.status_code == 201
    assert set(response.json()) == {"id", "status", "created"}
    assert response.json()["status"] == "processed"


# --------------------------------------------------------------------------
# Retrying


def test_a_quarantined_message_is_retried(maria: User, support: Section) -> None:
    """Retry processes it again; once processed, another retry is a 409."""
    message = deliver(make_mail(to="nobody@acme.example"))
    assert message.status == InboundMessage.Status.QUARANTINED
    support.email = "nobody@acme.example"
    support.save()
    client = api(maria)

    response = client.post(f"/api/mail/inbound/{message.pk}/retry/")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "processed"
    assert response.json()["case"] is not None
    again = client.post(f"/api/mail/inbound/{message.pk}/retry/")
    assert again.status_code == 409
    assert again.json()["detail"] == (
        "Only a quarantined message can be retried; this one is processed."
    )


def test_a_retry_that_fails_again_stays_quarantined(maria: User, support: Section) -> None:
    """Without a fix, a retry answers 200 with the message quarantined again."""
    message = deliver(make_mail(to="nobody@acme.example"))
    response = api(maria).post(f"/api/mail/inbound/{message.pk}/retry/")
    assert response.status_code == 200
    assert response.json()["status"] == "quarantined"
    assert response.json()["attempts"] == 2


# --------------------------------------------------------------------------
# The outbox


def test_the_outbox_lists_filters_and_shows(maria: User, support: Section) -> None:
    """Newest first, filtered by status and kind; the detail carries the text."""
    case = CaseFactory(section=support, requester_email="pat@customer.example")
    sent = services.case_reply(case=case, by=maria, body="First answer")
    failed = failed_reply(case, maria)
    client = api(maria)

    rows = client.get("/api/mail/outbox/").json()["results"]
    assert [row["id"] for row in rows] == [failed.pk, sent.pk]
    assert rows[0]["case"] == case.number
    assert "body_text" not in rows[0]
    failed_rows = client.get("/api/mail/outbox/", {"status": "failed"}).json()["results"]
    assert [row["id"] for row in failed_rows] == [failed.pk]
    assert client.get("/api/mail/outbox/", {"kind": "ack"}).json()["results"] == []
    assert client.get("/api/mail/outbox/", {"kind": "nope"}).status_code == 400
    detail = client.get(f"/api/mail/outbox/{sent.pk}/").json()
    assert detail["body_text"].startswith("First answer")
    assert detail["to"] == ["pat@customer.example"]


def test_a_failed_message_is_queued_again(maria: User, support: Section) -> None:
    """Retry puts a failed message back in the queue; a queued one is a 409."""
    case = CaseFactory(section=support, requester_email="pat@customer.example")
    message = failed_reply(case, maria)
    client = api(maria)

    response = client.post(f"/api/mail/outbox/{message.pk}/retry/")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "queued"
    assert response.json()["attempts"] == 0
    again = client.post(f"/api/mail/outbox/{message.pk}/retry/")
    assert again.status_code == 409
    assert "Only a failed message can be retried" in again.json()["detail"]


def test_the_outbox_hides_members_only_cases(
    bob: User, maria: User, support: Section, board: Section
) -> None:
    """An agent given the outbox sees the messages of the cases they see, not the board's;
    without the change permission a retry is a 403."""
    visible = failed_reply(CaseFactory(section=support, requester_email="a@x.example"), maria)
    hidden = failed_reply(CaseFactory(section=board, requester_email="b@x.example"), maria)
    client = api(grant(bob, "cases.view_outboundmessage"))

    rows = client.get("/api/mail/outbox/").json()["results"]
    assert [row["id"] for row in rows] == [visible.pk]
    assert client.get(f"/api/mail/outbox/{hidden.pk}/").status_code == 404
    assert client.post(f"/api/mail/outbox/{visible.pk}/retry/").status_code == 403
    visible.refresh_from_db()
    assert visible.status == OutboundMessage.Status.FAILED


# --------------------------------------------------------------------------
# Suppressions


def test_suppressions_are_added_listed_and_deleted(maria: User) -> None:
    """POST suppresses an address (normalised), twice is a 400; GET lists and searches;
    DELETE lets mail go to it again."""
    Suppression.objects.create(email="gone@customer.example", reason="550 user unknown")
    client = api(maria)

    added = client.post("/api/mail/suppressions/", {"email": " Boss@Example.COM "}, format="json")
    assert added.status_code == 201, added.json()
    assert added.json()["email"] == "boss@example.com"
    assert added.json()["reason"].startswith("added by Maria")
    twice = client.post("/api/mail/suppressions/", {"email": "boss@example.com"}, format="json")
    assert twice.status_code == 400
    assert "already suppressed" in twice.json()["errors"]["email"][0]
    bad = client.post("/api/mail/suppressions/", {"email": "not an address"}, format="json")
    assert bad.status_code == 400
    assert "email" in bad.json()["errors"]

    listed = [row["email"] for row in client.get("/api/mail/suppressions/").json()["results"]]
    assert sorted(listed) == ["boss@example.com", "gone@customer.example"]
    found = client.get("/api/mail/suppressions/", {"q": "GONE"}).json()["results"]
    assert [row["email"] for row in found] == ["gone@customer.example"]

    pk = added.json()["id"]
    assert client.delete(f"/api/mail/suppressions/{pk}/").status_code == 204
    assert not Suppression.objects.filter(pk=pk).exists()
    assert client.delete(f"/api/mail/suppressions/{pk}/").status_code == 404


def test_agents_may_not_delete_suppressions(bob: User) -> None:
    """Deleting needs mailgate.delete_suppression: 403, and the row stays."""
    row = Suppression.objects.create(email="gone@customer.example")
    assert api(bob).delete(f"/api/mail/suppressions/{row.pk}/").status_code == 403
    assert Suppression.objects.filter(pk=row.pk).exists()


# --------------------------------------------------------------------------
# Query counts and schema


def count_queries(user: User, url: str) -> tuple[int, Any]:
    client = api(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries), response.json()


@pytest.mark.parametrize("persona", ["maria", "bob"])
def test_list_query_counts_do_not_grow_with_rows(
    request: pytest.FixtureRequest, persona: str, support: Section
) -> None:
    """The log, the outbox and the suppressions take as many queries for 20 rows as for 1,
    and never count."""
    user = request.getfixturevalue(persona)
    if persona == "bob":
        user = grant(user, "mailgate.view_inboundmessage", "cases.view_outboundmessage")
        user = grant(user, "mailgate.view_suppression")
    case = CaseFactory(section=support, requester_email="pat@customer.example")

    def add_rows(n: int, start: int) -> None:
        for i in range(start, start + n):
            deliver(make_mail(subject=f"Message {i}"))
            services.case_reply(case=case, by=user, body=f"Answer {i}")
            Suppression.objects.create(email=f"gone{i}@customer.example")

    urls = ["/api/mail/inbound/", "/api/mail/outbox/", "/api/mail/suppressions/"]
    add_rows(1, 0)
    few = {url: count_queries(user, url)[0] for url in urls}
    add_rows(19, 1)
    for url in urls:
        count, body = count_queries(user, url)
        # Each delivered message also queues an acknowledgement in the outbox.
        assert len(body["results"]) >= 20, url
        assert count == few[url], url


def test_the_schema_lists_the_mail_endpoints_without_warnings(maria: User) -> None:
    """The schema is valid OpenAPI with every mail endpoint, generated without warnings."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        generated = SchemaGenerator().get_schema(request=None, public=True)
    complaints = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    assert not complaints, complaints
    assert set(generated["paths"]) >= MAIL_PATHS
    validate_schema(generated)
    assert set(generated["paths"]["/api/mail/suppressions/{id}/"]) == {"delete"}
    assert set(generated["paths"]["/api/mail/inbound/"]) == {"get", "post"}
