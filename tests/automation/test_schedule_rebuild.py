"""Rebuilding the schedules of the open cases after a time rule is saved: the
job that tracks it, its reuse while it waits for a worker, and the progress bar
on the rules pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from goodwill.accounts.models import User
from goodwill.automation import timed
from goodwill.automation.models import CaseSchedule, Rule, ScheduleRebuild
from goodwill.automation.services import rule_save
from goodwill.automation.tasks import schedule_rebuild_task
from goodwill.cases.models import Section
from goodwill.lib.jobs import JobStatus, job_claim, job_finish, job_progress
from tests.factories import CaseFactory, SectionFactory

pytestmark = pytest.mark.django_db

Run = Any
SCHEDULING = "Scheduling the open cases for the time rules"


@pytest.fixture
def section() -> Section:
    return cast(Section, SectionFactory(name="Support", code="SUPPORT"))


@pytest.fixture
def cases(section: Section) -> None:
    """Five open cases and two closed ones."""
    for _ in range(5):
        CaseFactory(section=section, state="open")
    for _ in range(2):
        CaseFactory(section=section, state="done")


def _time_rule(by: User, name: str = "Day old") -> Rule:
    return rule_save(
        rule=None,
        by=by,
        values={
            "name": name,
            "trigger": "time",
            "time_amount": 1,
            "time_unit": "days",
            "time_base": "created",
            "actions": [{"type": "note", "body": "A day old"}],
        },
    )


def _save(by: User, run: Run, name: str = "Day old") -> Rule:
    with run(execute=True):
        return _time_rule(by, name)


def _tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith="schedule_rebuild_task"))


def _status_url(job: ScheduleRebuild) -> str:
    return reverse("automation:schedule_rebuild_status", args=[job.pk])


def test_saving_a_time_rule_queues_a_job_for_its_task(
    maria: User, django_capture_on_commit_callbacks: Run
) -> None:
    """The job names the rule and who saved it; the task is queued with its id."""
    rule = _save(maria, django_capture_on_commit_callbacks)
    job = ScheduleRebuild.objects.get()
    assert (job.status, job.rule, job.created_by) == (JobStatus.QUEUED, rule, maria)
    assert [t.args_kwargs["kwargs"] for t in _tasks()] == [{"job_id": job.pk}]


def test_saving_another_kind_of_rule_queues_nothing(
    maria: User, django_capture_on_commit_callbacks: Run
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        rule_save(
            rule=None,
            by=maria,
            values={"name": "On creation", "trigger": "created", "actions": []},
        )
    assert not ScheduleRebuild.objects.exists()
    assert not _tasks()


def test_the_task_schedules_the_active_cases_and_ends_the_job_done(
    maria: User, cases: None, django_capture_on_commit_callbacks: Run
) -> None:
    _save(maria, django_capture_on_commit_callbacks)
    job = ScheduleRebuild.objects.get()
    assert schedule_rebuild_task.call(job_id=job.pk) == 5
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.progress_done == job.progress_total == 5
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.error == ""
    assert CaseSchedule.objects.count() == 5


def test_progress_is_reported_after_each_batch(
    maria: User,
    cases: None,
    django_capture_on_commit_callbacks: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The total is counted first, then each batch (here of 4 cases) adds to the done."""
    _save(maria, django_capture_on_commit_callbacks)
    job = ScheduleRebuild.objects.get()
    reported: list[tuple[int, int | None]] = []

    def spy(job: ScheduleRebuild, *, done: int, total: int | None = None) -> None:
        reported.append((done, total))
        job_progress(job, done=done, total=total)

    monkeypatch.setattr(timed, "BATCH", 1)
    monkeypatch.setattr(timed, "job_progress", spy)
    assert timed.schedule_rebuild(job=job) == 5
    assert reported == [(0, 5), (4, None), (5, None)]


def test_a_job_another_worker_has_is_left_to_it(
    maria: User, cases: None, django_capture_on_commit_callbacks: Run
) -> None:
    _save(maria, django_capture_on_commit_callbacks)
    job = ScheduleRebuild.objects.get()
    assert job_claim(job)
    assert schedule_rebuild_task.call(job_id=job.pk) == 0
    assert not CaseSchedule.objects.exists()


def test_a_failed_rebuild_records_its_error(
    maria: User,
    cases: None,
    django_capture_on_commit_callbacks: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _save(maria, django_capture_on_commit_callbacks)
    job = ScheduleRebuild.objects.get()

    def broken(case_ids: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(timed, "schedule_refresh", broken)
    with pytest.raises(RuntimeError):
        timed.schedule_rebuild(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "Scheduling the open cases failed: disk full"


def test_a_second_save_while_the_job_waits_reuses_it(
    maria: User, django_capture_on_commit_callbacks: Run
) -> None:
    """A job not started yet will read the rules as they are when it starts."""
    first = _save(maria, django_capture_on_commit_callbacks)
    _save(maria, django_capture_on_commit_callbacks, name="Week old")
    job = ScheduleRebuild.objects.get()
    assert job.rule == first
    assert len(_tasks()) == 1


def test_a_job_queued_long_ago_is_not_reused(
    maria: User, django_capture_on_commit_callbacks: Run
) -> None:
    """Its task may have been lost (the queue was down): a later save gets its own."""
    _save(maria, django_capture_on_commit_callbacks)
    stale = ScheduleRebuild.objects.get()
    ScheduleRebuild.objects.filter(pk=stale.pk).update(
        created_at=stale.created_at - timedelta(hours=1)
    )
    later = _save(maria, django_capture_on_commit_callbacks, name="Week old")
    fresh = ScheduleRebuild.objects.exclude(pk=stale.pk).get()
    assert (fresh.status, fresh.rule) == (JobStatus.QUEUED, later)
    assert len(_tasks()) == 2


def test_a_save_while_the_job_runs_queues_another(
    maria: User, django_capture_on_commit_callbacks: Run
) -> None:
    """The running job may have read the rules before this save: a new one covers it."""
    _save(maria, django_capture_on_commit_callbacks)
    running = ScheduleRebuild.objects.get()
    assert job_claim(running)
    later = _save(maria, django_capture_on_commit_callbacks, name="Week old")
    queued = ScheduleRebuild.objects.exclude(pk=running.pk).get()
    assert (queued.status, queued.rule) == (JobStatus.QUEUED, later)
    assert len(_tasks()) == 2


def test_the_status_shows_the_figures_and_keeps_polling(
    maria: User, maria_client: Client, django_capture_on_commit_callbacks: Run
) -> None:
    _save(maria, django_capture_on_commit_callbacks)
    job = ScheduleRebuild.objects.get()
    html = maria_client.get(_status_url(job)).content.decode()
    assert "waiting for the worker" in html
    assert 'hx-trigger="every 2s"' in html
    job_claim(job)
    job_progress(job, done=2, total=5)
    html = maria_client.get(_status_url(job)).content.decode()
    assert f"{SCHEDULING}: 2 of 5 (40%)" in html
    assert '<progress max="100" value="40"' in html
    assert 'hx-trigger="every 2s"' in html


def test_the_status_stops_polling_when_done(
    maria: User, maria_client: Client, cases: None, django_capture_on_commit_callbacks: Run
) -> None:
    _save(maria, django_capture_on_commit_callbacks)
    job = ScheduleRebuild.objects.get()
    schedule_rebuild_task.call(job_id=job.pk)
    html = maria_client.get(_status_url(job)).content.decode()
    assert "The open cases are scheduled for the time rules: 5 cases." in html
    assert "hx-trigger" not in html


def test_agents_and_users_without_a_role_cannot_see_the_status(
    maria: User,
    bob_client: Client,
    charlie_client: Client,
    django_capture_on_commit_callbacks: Run,
) -> None:
    _save(maria, django_capture_on_commit_callbacks)
    url = _status_url(ScheduleRebuild.objects.get())
    assert bob_client.get(url).status_code == 403
    assert charlie_client.get(url).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(
    maria: User, client: Client, django_capture_on_commit_callbacks: Run
) -> None:
    _save(maria, django_capture_on_commit_callbacks)
    response = client.get(_status_url(ScheduleRebuild.objects.get()))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_unknown_job_is_not_found(maria_client: Client) -> None:
    url = reverse("automation:schedule_rebuild_status", args=[999])
    assert maria_client.get(url).status_code == 404


def test_the_rule_pages_show_the_bar_while_the_job_runs(
    maria: User, maria_client: Client, cases: None, django_capture_on_commit_callbacks: Run
) -> None:
    rule = _save(maria, django_capture_on_commit_callbacks)
    job = ScheduleRebuild.objects.get()
    job_claim(job)
    job_progress(job, done=2, total=5)
    pages = [
        reverse("automation:rule_detail", args=[rule.pk]),
        reverse("automation:rule_list"),
    ]
    for url in pages:
        html = maria_client.get(url).content.decode()
        assert f"{SCHEDULING}: 2 of 5 (40%)" in html, url
        assert f'hx-get="{_status_url(job)}"' in html, url
    job_finish(job)
    for url in pages:
        assert SCHEDULING not in maria_client.get(url).content.decode(), url


def test_the_rule_pages_show_no_bar_without_a_job(maria: User, maria_client: Client) -> None:
    rule = _time_rule(maria)
    ScheduleRebuild.objects.all().delete()
    assert SCHEDULING not in maria_client.get(reverse("automation:rule_list")).content.decode()
    detail = maria_client.get(reverse("automation:rule_detail", args=[rule.pk]))
    assert SCHEDULING not in detail.content.decode()
