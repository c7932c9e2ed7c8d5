"""Case numbers stay unique when many cases are created at the same moment.

PostgreSQL hands numbers out from a sequence, so concurrent creations never wait
on each other; SQLite serialises writers (immediate transactions and a busy
timeout), so concurrent creations queue instead of failing with "database is
locked". Each thread below has its own database connection.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from goodwill.accounts.models import User
from goodwill.cases import services
from goodwill.cases.models import Case, CaseType, Section
from tests.factories import SectionFactory

PER_THREAD = 10


def _create_cases(
    *,
    user_id: int,
    section_id: int,
    case_type_id: int,
    start: threading.Barrier,
    numbers: list[int],
    errors: list[BaseException],
) -> None:
    try:
        user = User.objects.get(pk=user_id)
        section = Section.objects.get(pk=section_id)
        case_type = CaseType.objects.get(pk=case_type_id)
        start.wait(timeout=30)
        for n in range(PER_THREAD):
            case = services.case_create(
                by=user,
                values={
                    "subject": f"Concurrent {threading.get_ident()} {n}",
                    "case_type": case_type,
                    "section": section,
                },
            )
            numbers.append(case.number)
    except BaseException as exc:
        errors.append(exc)
        start.abort()
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_numbers_are_unique_under_concurrent_creation(bob: User) -> None:
    threads = 8 if connection.vendor == "postgresql" else 4
    # An earlier transactional test may have flushed the seeded case types.
    helpdesk, _ = CaseType.objects.get_or_create(
        code="helpdesk", defaults={"name": "Helpdesk request"}
    )
    section = SectionFactory(name="Rush")
    start = threading.Barrier(threads)
    per_thread: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    workers = [
        threading.Thread(
            target=_create_cases,
            kwargs={
                "user_id": bob.pk,
                "section_id": section.pk,
                "case_type_id": helpdesk.pk,
                "start": start,
                "numbers": numbers,
                "errors": errors,
            },
        )
        for numbers in per_thread
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers)
    assert errors == []

    every = [number for numbers in per_thread for number in numbers]
    assert len(every) == threads * PER_THREAD
    assert len(set(every)) == threads * PER_THREAD
    assert min(every) > 1000
    for numbers in per_thread:  # each creator sees its numbers increase
        assert numbers == sorted(numbers)
    stored = list(Case.objects.filter(section=section).values_list("number", flat=True))
    assert sorted(stored) == sorted(every)
