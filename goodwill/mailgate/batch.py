"""The pipeline in batches: what the worker runs when mail comes in numbers.

:func:`inbound_process_many` takes stored messages oldest first. The common
cases (a new case opened by a customer or a list, a customer's follow-up on an
open case, mail from our own address) are decided with a handful of lookups
for the whole batch and written with one bulk insert per table: the same rows,
timeline entries, threading references, acknowledgements and events as
:func:`~goodwill.mailgate.pipeline.inbound_process` writes one message at a
time. Everything else (delivery reports, staff mail and its commands, reopening
a case, new prospects, watchers, notifications, relays, attachments, subject
tags, errors) goes through ``inbound_process`` itself, in order: the batch
writes what it has decided first, so the message sees it, and looks again at
the database afterwards. ``tests/mailgate/test_batch.py`` checks that both
roads give the same result on the corpus.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import Count
from django.db.models.functions import Lower
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, CaseState, OutboundMessage, Section, Stage, Watcher
from goodwill.lib import events
from goodwill.lib.emailaddr import email_normalise
from goodwill.mailgate.addresses import section_for_address
from goodwill.mailgate.models import (
    AutoMessageLog,
    InboundMessage,
    MessageRef,
    SectionMail,
    Suppression,
)
from goodwill.mailgate.parsing import ParsedMessage
from goodwill.mailgate.pipeline import (
    _OWN_ID,
    _PLUS,
    FINISH_FIELDS,
    Status,
    _base_address,
    _current_config,
    _parse,
    _Router,
    _section_mail,
    _tag_pattern,
    ack_content,
    inbound_process,
    is_own_address,
    parsed_apply,
)
from goodwill.partners.models import Membership, Partner, PartnerEmail, TimelineEntry
from goodwill.partners.services import timeline_build

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
_REOPENING = {CaseState.PENDING, CaseState.DONE, CaseState.CANCEL}


def inbound_process_many(messages: Iterable[InboundMessage | int]) -> int:
    """Process stored messages, oldest first; returns how many this call finished.

    A message another worker holds, or that is already done, is skipped.
    """
    pending = sorted({m if isinstance(m, int) else m.pk for m in messages})
    parsed: dict[int, ParsedMessage] = {}
    done = 0
    while pending:
        chunk, pending = pending[:BATCH_SIZE], pending[BATCH_SIZE:]
        while chunk:
            finished, slow, rest = _segment(chunk, parsed)
            done += finished
            if slow is not None:
                inbound_process(slow, parsed.pop(slow.pk, None))
                done += 1
            chunk = rest
    return done


def inbound_drain(first: int) -> int:
    """Process message *first* and the oldest others waiting, one batch's worth."""
    others = (
        InboundMessage.objects.filter(status=Status.RECEIVED)
        .exclude(pk=first)
        .order_by("pk")
        .values_list("pk", flat=True)[: BATCH_SIZE - 1]
    )
    return inbound_process_many([first, *others])


def _segment(
    ids: list[int], parsed: dict[int, ParsedMessage]
) -> tuple[int, InboundMessage | None, list[int]]:
    """Decide and write the longest run of messages the batch can take, in one
    transaction. Returns (how many it finished, the message that needs the
    single-message pipeline or None, the ids after that message)."""
    try:
        with transaction.atomic():
            rows = list(
                InboundMessage.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ids, status=Status.RECEIVED)
                .order_by("pk")
            )
            if not rows:
                return 0, None, []
            batch = _Batch(rows, parsed)
            for index, row in enumerate(rows):
                if not batch.take(row):
                    batch.flush()
                    return len(batch.plans), row, [r.pk for r in rows[index + 1 :]]
            batch.flush()
            return len(batch.plans), None, []
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        # A defect of the batch must not cost a message: the single-message
        # pipeline takes them all, and quarantines what it cannot process.
        logger.exception("inbound batch failed; processing its messages one at a time")
        for pk in ids:
            message = InboundMessage.objects.filter(pk=pk, status=Status.RECEIVED).first()
            if message is not None:
                inbound_process(message, parsed.pop(pk, None))
        return len(ids), None, []


@dataclass
class _Plan:
    message: InboundMessage
    status: str
    reason: str = ""
    case: Case | None = None
    new: bool = False
    entry: TimelineEntry | None = None
    created_entry: TimelineEntry | None = None
    sender: str = ""
    body: str = ""
    files: list[Any] = field(default_factory=list)
    watchers: list[str] = field(default_factory=list)
    watcher_rows: list[Watcher] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    ack_to: str = ""  # the acknowledgement's recipient
    router: _Router | None = None
    section_mail: SectionMail | None = None


class _Batch:
    """What a run of messages needs from the database, read once, and what it
    will write, kept until :meth:`flush`."""

    def __init__(self, rows: Sequence[InboundMessage], parsed: dict[int, ParsedMessage]) -> None:
        self.config = _current_config()
        self.parsed = parsed
        self.plans: list[_Plan] = []
        for row in rows:
            if row.pk not in parsed:
                try:
                    parsed[row.pk] = _parse(row)
                except Exception:  # noqa: S112 - inbound_process quarantines it with the error
                    continue
        texts = [parsed[r.pk] for r in rows if r.pk in parsed]
        senders = {p.from_email.lower() for p in texts if p.from_email}
        refs = {r for p in texts for r in (*p.in_reply_to, *p.references) if r}
        self.staff = self._staff(senders)
        self.threads = self._threads(refs)
        self.cases = self._cases({case_id for _at, case_id in self.threads.values()})
        # Staff watching (notified), and the addresses already watching, per case.
        self.watched: set[int] = set()
        self.watching: dict[int, set[str]] = defaultdict(set)
        for case_id, user_id, email in Watcher.objects.filter(case_id__in=self.cases).values_list(
            "case_id", "user_id", "email"
        ):
            if user_id is not None:
                self.watched.add(case_id)
            if email:
                self.watching[case_id].add(email.lower())
        copied = {a for p in texts if not p.auto_reason for a in (*p.to, *p.cc) if a}
        self.user_emails = {
            e.lower() for e in User.objects.filter(email__in=copied).values_list("email", flat=True)
        }
        self.people = self._people(senders)
        self.addresses = set(senders)
        self.suppressed = set(
            Suppression.objects.filter(email__in=senders).values_list("email", flat=True)
        )
        since = timezone.now() - timedelta(hours=1)
        self.auto_sent: dict[str, int] = defaultdict(int)
        for address, sent in (
            AutoMessageLog.objects.filter(email__in=senders, created_at__gte=since)
            .values("email")
            .annotate(n=Count("id"))
            .values_list("email", "n")
        ):
            self.auto_sent[address] = sent
        self.watching_new: dict[int, set[str]] = defaultdict(set)
        self.stages: dict[int, Stage | None] = {}
        self.sections: dict[str, Section | None] = {}
        # Message-IDs recorded by this batch, newest last: they are newer than
        # anything in the database.
        self.recorded: dict[str, Case] = {}

    # ---- reading

    def _staff(self, senders: set[str]) -> set[str]:
        users = User.objects.annotate(address=Lower("email")).filter(
            address__in=senders, is_active=True
        )
        return {u.email.lower() for u in users if can_use_staff_ui(u)}

    def _threads(self, refs: set[str]) -> dict[str, tuple[datetime, int]]:
        """For each Message-ID a case sent or received: the newest (time, case)."""
        found: dict[str, tuple[datetime, int]] = {}
        if not refs:
            return found
        for model in (OutboundMessage, MessageRef):
            rows = model.objects.filter(message_id__in=refs).values_list(
                "message_id", "created_at", "case_id"
            )
            for message_id, created_at, case_id in rows:
                if message_id not in found or found[message_id][0] < created_at:
                    found[message_id] = (created_at, case_id)
        return found

    def _cases(self, ids: set[int]) -> dict[int, Case]:
        if not ids:
            return {}
        rows = (
            Case.objects.select_for_update(of=("self",))
            .select_related("case_type", "section", "partner")
            .filter(pk__in=ids)
        )
        return {case.pk: case for case in rows}

    def _people(self, senders: set[str]) -> dict[str, tuple[Partner | None, Partner | None]]:
        """(partner, contact) per known sender, as :meth:`_Router.sender_partner` finds them."""
        rows = (
            PartnerEmail.objects.filter(email__in=senders, partner__active=True)
            .select_related("partner", "partner__parent")
            .order_by("email", "-is_primary", "id")
        )
        first: dict[str, Partner] = {}
        for row in rows:
            first.setdefault(row.email, row.partner)
        persons = [p.pk for p in first.values() if p.kind == Partner.Kind.PERSON]
        companies: dict[int, list[Partner]] = defaultdict(list)
        for membership in Membership.objects.filter(
            person_id__in=persons, company__active=True
        ).select_related("company"):
            companies[membership.person_id].append(membership.company)
        people: dict[str, tuple[Partner | None, Partner | None]] = {}
        for address, person in first.items():
            if person.kind != Partner.Kind.PERSON:
                people[address] = (person, None)
            elif len(companies[person.pk]) == 1:
                people[address] = (companies[person.pk][0], person)
            elif person.parent_id:
                people[address] = (person.parent, person)
            else:
                people[address] = (person, person)
        return people

    def _section(self, router: _Router) -> Section | None:
        """:meth:`_Router.section`, each address looked up once per batch."""
        if router.message.section_id is not None:
            return router.section()
        for address in router.recipients():
            if address not in self.sections:
                self.sections[address] = section_for_address(address)
            if self.sections[address] is not None:
                return self.sections[address]
        return None

    # ---- deciding

    def take(self, message: InboundMessage) -> bool:
        """Plan *message* if the batch can take it; False if it needs the
        single-message pipeline."""
        parsed = self.parsed.get(message.pk)
        if parsed is None or parsed.report is not None:
            return False
        message.attempts += 1
        parsed_apply(message, parsed)
        own = self.config.own
        if is_own_address(parsed.from_email, own):
            reason = f"Loop: sent from our own address {parsed.from_email}."
            self.plans.append(_Plan(message, Status.IGNORED, reason))
            return True
        if _OWN_ID.match(parsed.message_id):
            return False  # perhaps our own message come back: the pipeline checks
        router = _Router(message, parsed, own=own)
        refs = list(dict.fromkeys([*parsed.in_reply_to, *parsed.references]))
        case = self._thread(refs)
        if case is None:
            plus = any(
                _PLUS.match(a) and is_own_address(_base_address(a), own)
                for a in router.recipients()
            )
            if plus or _tag_pattern().search(parsed.subject):
                return False
        sender = parsed.from_email.lower()
        if sender in self.staff:
            return False
        automatic = bool(parsed.auto_reason)
        plan = (
            self._follow_up(router, case, automatic)
            if case is not None
            else self._new_case(router, automatic)
        )
        if plan is None:
            return False
        plan.files = router._files()
        plan.refs = [
            i[:250] for i in dict.fromkeys([parsed.message_id, *parsed.alt_message_ids]) if i
        ]
        for ref in plan.refs:
            self.recorded.pop(ref, None)
            self.recorded[ref] = plan.case  # type: ignore[assignment]
        self.plans.append(plan)
        return True

    def _thread(self, refs: list[str]) -> Case | None:
        if not refs:
            return None
        wanted = set(refs)
        recorded = [case for ref, case in self.recorded.items() if ref in wanted]
        if recorded:
            return recorded[-1]
        known = [self.threads[r] for r in refs if r in self.threads]
        if not known:
            return None
        return self.cases.get(max(known, key=lambda row: row[0])[1])

    def _quiet(self, case_id: int | None, section: Any) -> bool:
        """True when a person's message needs no notification or relay."""
        row = _section_mail(section.pk)
        if row is not None and row.relay:
            return False
        if row is not None and not row.notify:
            return True
        return not section.responsible_id and case_id not in self.watched

    def _watchers(self, router: _Router, case: Case) -> list[str]:
        """Who in To or Cc joins *case* as a watcher (as :meth:`_Router.cc_watchers`)."""
        requester = case.requester_email.lower()
        known = self.watching[case.pk] if case.pk is not None else self.watching_new[id(case)]
        added = []
        for candidate in dict.fromkeys([*router.parsed.to, *router.parsed.cc]):
            if not candidate or candidate == requester or is_own_address(candidate, router.own):
                continue
            if candidate in known or candidate in self.user_emails:
                continue
            try:
                address = email_normalise(candidate)
            except ValidationError:
                continue
            if address in known:
                continue
            known.update({candidate, address})
            added.append(address)
        return added

    def _follow_up(self, router: _Router, case: Case, automatic: bool) -> _Plan | None:
        if case.pk is not None and (case.merged_into_id or case.final):
            return None
        if not automatic:
            if case.state in _REOPENING:
                return None
            if case.responsible_id or not self._quiet(case.pk, case.section):
                return None
        plan = _Plan(router.message, Status.PROCESSED, case=case)
        if not automatic:
            plan.watchers = self._watchers(router, case)
        plan.sender = router._sender_label()
        plan.body = router._body(router.parsed.visible_text)
        return plan

    def _new_case(self, router: _Router, automatic: bool) -> _Plan | None:
        parsed = router.parsed
        section = self._section(router)
        if section is None:
            return None
        row = _section_mail(section.pk)
        address = parsed.from_email
        if address and address not in self.people:
            creates = not (
                (row is not None and not row.create_contacts)
                or automatic
                or is_own_address(address, router.own)
            )
            if creates:
                return None  # a new prospect: the pipeline creates it
        partner, contact = self.people.get(address, (None, None)) if address else (None, None)
        requester = router.requester_address()
        if not automatic and not self._quiet(None, section):
            return None
        values: dict[str, Any] = {
            "case_type": (row.case_type if row else None) or router._default_type(),
            "section": section,
            "subject": (parsed.subject or "(no subject)")[:250],
            "description": parsed.visible_text[:100_000],
            "requester_email": requester,
            "channel": Case.Channel.EMAIL,
            "partner": partner,
            "contact": contact,
        }
        try:
            stage = self.stages.get(section.pk, case_services.FIRST_STAGE)
            case = case_services.case_build(by=None, values=values, stage=stage)
        except ValidationError:
            return None  # the pipeline quarantines it with the error
        self.stages.setdefault(section.pk, case.stage)
        plan = _Plan(router.message, Status.PROCESSED, "", case=case, new=True)
        if not automatic:
            plan.watchers = self._watchers(router, case)
        plan.sender = router._sender_label()
        plan.body = router._body(parsed.visible_text)
        plan.ack_to = self._ack_to(case, row, automatic)
        plan.router = router
        plan.section_mail = row
        return plan

    def _ack_to(self, case: Case, row: SectionMail | None, automatic: bool) -> str:
        """Who the new case's acknowledgement goes to ("" for nobody)."""
        if row is not None and not row.acknowledge:
            return ""
        if automatic or not case.requester_email:
            return ""
        address = case.requester_email.lower()
        if address not in self.addresses:
            # Normalising changed the sender's address: read its record now.
            self.addresses.add(address)
            self.suppressed.update(
                Suppression.objects.filter(email=address).values_list("email", flat=True)
            )
            since = timezone.now() - timedelta(hours=1)
            self.auto_sent[address] = AutoMessageLog.objects.filter(
                email=address, created_at__gte=since
            ).count()
        limit = int(getattr(settings, "MAILGATE_AUTO_PER_HOUR", 5))
        if address in self.suppressed or self.auto_sent[address] >= limit:
            return ""
        self.auto_sent[address] += 1
        return address

    # ---- writing

    def flush(self) -> None:
        plans = self.plans
        if not plans:
            return
        new = [p for p in plans if p.new and p.case is not None]
        for case, number in zip(
            [p.case for p in new], case_services.case_numbers_next(len(new)), strict=True
        ):
            case_services.case_number(case, number)  # type: ignore[arg-type]
        counts: dict[int, int] = defaultdict(int)
        for plan in plans:
            if plan.case is not None:
                counts[id(plan.case)] += 1
        for plan in new:
            plan.case.message_count = counts[id(plan.case)]  # type: ignore[union-attr]
        Case.objects.bulk_create([p.case for p in new])  # type: ignore[misc]

        entries: list[TimelineEntry] = []
        for plan in plans:
            case = plan.case
            if case is None:
                continue
            if plan.new:
                plan.created_entry = timeline_build(
                    subject=case,
                    partner=case.partner,
                    kind=TimelineEntry.Kind.SYSTEM,
                    author=None,
                    action="created",
                    body=case_services.case_created_text(case),
                )
                entries.append(plan.created_entry)
            # Built now that a new case has its id and number.
            plan.entry = case_services.email_in_entry_build(
                case, author=None, sender=plan.sender, body=plan.body
            )
            entries.append(plan.entry)
            for address in plan.watchers:
                plan.watcher_rows.append(Watcher(case=case, email=address))
                entries.append(case_services.watcher_entry_build(case, by=None, label=address))
        TimelineEntry.objects.bulk_create(entries)
        Watcher.objects.bulk_create(w for p in plans for w in p.watcher_rows)
        for plan in plans:
            if plan.files and plan.case is not None:
                case_services.case_files_store(plan.case, plan.files, entry=plan.entry)

        now = timezone.now()
        created = {id(p.case) for p in new}
        old = {
            id(p.case): p.case for p in plans if p.case is not None and id(p.case) not in created
        }
        if old:
            with connection.cursor() as cursor:
                cursor.executemany(
                    _UPDATE_CASE,
                    [
                        (counts[key], _db_value(Case, "updated_at", now), case.pk)
                        for key, case in old.items()
                    ],
                )
        MessageRef.objects.bulk_create(
            MessageRef(message_id=ref, case=p.case) for p in plans if p.case for ref in p.refs
        )
        acks = self._acks(plans)
        for plan in plans:
            message = plan.message
            message.status = plan.status
            message.processed_at = now
            if plan.case is not None:  # (a new case has its number now)
                what = "New case" if plan.new else "Added to"
                plan.reason = f"{what} {plan.case.reference}"
                message.case = plan.case
                message.entry = plan.entry
            message.reason = plan.reason[:2000]
        _save_all(InboundMessage, [p.message for p in plans], [*FINISH_FIELDS, "case", "entry"])
        for plan in plans:
            if plan.case is None:
                continue
            if plan.new:
                events.emit("case.created", case_id=plan.case.pk, by_id=None)
            events.emit(
                "message.received",
                case_id=plan.case.pk,
                entry_id=plan.entry.pk,  # type: ignore[union-attr]
                by_id=None,
                sender=plan.sender,
            )
            for watcher in plan.watcher_rows:
                events.emit(
                    "case.watcher_added", case_id=plan.case.pk, watcher_id=watcher.pk, by_id=None
                )
        for ack in acks:
            events.emit(
                "message.queued", case_id=ack.case_id, message_id=ack.pk, entry_id=None, by_id=None
            )

    def _acks(self, plans: list[_Plan]) -> list[OutboundMessage]:
        rows: list[OutboundMessage] = []
        logs: list[AutoMessageLog] = []
        for plan in plans:
            if not plan.ack_to or plan.case is None or plan.router is None:
                continue
            router, address, case = plan.router, plan.ack_to, plan.case
            subject, body, html = ack_content(case, plan.section_mail, router.parsed)
            logs.append(AutoMessageLog(email=address, kind=OutboundMessage.Kind.ACK))
            rows.append(
                case_services.outbound_build(
                    case,
                    kind=OutboundMessage.Kind.ACK,
                    entry=None,
                    by=None,
                    to=[address],
                    cc=[],
                    subject=subject,
                    body=body,
                    previous=plan.refs,
                    in_reply_to=router.parsed.message_id,
                )
            )
            rows[-1].body_html = html
        AutoMessageLog.objects.bulk_create(logs)
        return OutboundMessage.objects.bulk_create(rows)


_UPDATE_CASE = (
    f"UPDATE {Case._meta.db_table} SET message_count = message_count + %s, "  # noqa: S608 - names from the model
    "updated_at = %s WHERE id = %s"
)


def _db_value(model: type[models.Model], name: str, value: Any) -> Any:
    return model._meta.get_field(name).get_db_prep_save(value, connection)  # type: ignore[union-attr]


def _save_all(
    model: type[models.Model], rows: Sequence[models.Model], names: Sequence[str]
) -> None:
    """UPDATE *names* of each row, as one batch of statements (Django's
    bulk_update builds one CASE expression per field and row: far slower)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)  # type: ignore[union-attr,arg-type]
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
    params = [
        [
            *(f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields),  # type: ignore[union-attr]
            row.pk,
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
