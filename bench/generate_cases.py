"""A deterministic bulk loader of cases and their timelines for the benchmarks.

``generate_cases(cases=N, entries=M)`` fills a database that already holds
generated partners (``bench.generate``) with a support and sales team: 12 staff
users, 10 sections with their stages and categories, N cases over the seeded
case types and M timeline entries on them, exactly as the services would have
left them: numbers, ``search_text`` (``services.case_search_text``),
``message_count`` (notes and emails), state with ``opened_at`` and ``closed_at``,
``final``, the stage and category of the case's own section, the "created" and
state-change entries, an outbox row per email sent. It does so without the ORM:
on PostgreSQL through ``COPY … FROM STDIN`` with the secondary indexes and
constraints of the loaded tables dropped during the load and rebuilt after it;
on SQLite through ``executemany`` in one transaction. Rows are generated and
written in chunks of cases, so memory stays flat whatever M is.

The same seed, sizes and partners always give the same rows. Two things are
planted for the benchmarks: one open helpdesk case, "Heavy benchmark case", with
exactly 500 entries, and the SALES section, whose opportunities (over 10,000
open ones at a million cases) fill its kanban.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import sys
import time
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from itertools import pairwise
from typing import Any, TextIO

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED

from bench.bulk import (
    PostgresSink,
    Row,
    Sink,
    SqliteSink,
    pg_reset_sequences,
    pg_restore,
    pg_strip,
)
from bench.generate import COUNTRIES, FIRST_NAMES, LAST_NAMES, MAIL_DOMAINS, STREETS
from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.accounts.services import user_create, user_set_roles
from goodwill.cases.models import Case, CaseCategory, CaseNumber, CaseType, Section, Stage
from goodwill.lib.text import fold
from goodwill.partners.models import Membership, Partner, TimelineEntry

SEED = 20261126
CHUNK = 5_000  # cases generated (and flushed, with their entries) at a time
HEAVY_SUBJECT = "Heavy benchmark case"
HEAVY_ENTRIES = 500
BENCH_AGENT = "lena.berg"  # the agent the case benchmark logs in as
SALES_CODE = "SALES"
SEARCH_TERM = "gasket"  # in ~0.15 % of subjects, in no partner name or email
FIRST_NUMBER = 1001  # where cases_case_number_seq starts
END_TIME = datetime(2026, 11, 20, tzinfo=UTC)  # "now" for the generated history
SPAN = timedelta(days=3 * 365)  # cases are created over the three years before
MAX_ENTRIES = 2_000  # per case, the heavy one aside

# Columns written per table, in order. Only these tables are loaded.
COLUMNS: dict[str, tuple[str, ...]] = {
    "cases_case": (
        "id", "number", "subject", "description", "case_type_id", "section_id", "category_id",
        "stage_id", "state", "priority", "responsible_id", "partner_id", "contact_id",
        "requester_email", "deadline", "next_action_at", "next_action", "channel", "related_id",
        "merged_into_id", "final", "planned_revenue", "planned_cost", "probability",
        "expected_close", "currency", "claim_subject", "claim_product", "root_cause",
        "corrective_action", "preventive_action", "location_address_id", "location_text",
        "scheduled_start", "scheduled_end", "technician_id", "amount", "approval",
        "approved_by_id", "approved_at", "message_count", "search_text", "created_at",
        "updated_at", "opened_at", "closed_at", "created_by_id",
    ),
    "partners_timelineentry": (
        "id", "subject_type_id", "subject_id", "partner_id", "kind", "action", "author_id",
        "body", "changes", "visibility", "created_at",
    ),
    "cases_outboundmessage": (
        "id", "case_id", "entry_id", "message_id", "in_reply_to", "references", "from_email",
        "reply_to", "to", "cc", "subject", "body_text", "status", "attempts", "last_error",
        "created_by_id", "created_at", "sent_at", "kind", "next_attempt_at",
    ),
    "cases_watcher": ("id", "case_id", "user_id", "email", "created_at"),
    "cases_case_attendees": ("id", "case_id", "partner_id"),
    "cases_case_attendee_users": ("id", "case_id", "user_id"),
}  # fmt: skip
TABLES = tuple(COLUMNS)
# Emptied before a load, besides the case entries of partners_timelineentry.
CASE_TABLES = (
    "cases_watcher", "cases_case_attendees", "cases_case_attendee_users", "cases_caselink",
    "cases_attachment", "cases_outboundmessage", "cases_case",
)  # fmt: skip

# Set up through the ORM with explicit ids (PostgreSQL's sequences are reset after).
CONFIG_TABLES = ("cases_section", "cases_stage", "cases_casecategory")

# -- the team ------------------------------------------------------------------

# username, first name, last name, role
USERS = (
    ("morgan.keller", "Morgan", "Keller", Role.MANAGER),
    ("lena.berg", "Lena", "Berg", Role.AGENT),
    ("tom.fischer", "Tom", "Fischer", Role.AGENT),
    ("sara.lindholm", "Sara", "Lindholm", Role.AGENT),
    ("jonas.weber", "Jonas", "Weber", Role.AGENT),
    ("amira.haddad", "Amira", "Haddad", Role.AGENT),
    ("pedro.alves", "Pedro", "Alves", Role.AGENT),
    ("nina.kowalska", "Nina", "Kowalska", Role.AGENT),
    ("oliver.grant", "Oliver", "Grant", Role.AGENT),
    ("yuki.tanaka", "Yuki", "Tanaka", Role.AGENT),
    ("fatima.rahman", "Fatima", "Rahman", Role.AGENT),
    ("lucas.moreau", "Lucas", "Moreau", Role.AGENT),
)
STAFF_DOMAIN = "goodwill-bench.example"


@dataclass(frozen=True)
class SectionSpec:
    code: str
    name: str
    team: tuple[str, ...]  # who handles its cases (responsible users)
    responsible: str
    # name, probability, role: "open" (a working column), "wait", "won" or "lost"
    stages: tuple[tuple[str, int | None, str], ...]
    categories: tuple[tuple[str, int | None], ...]  # name, default probability
    members_only: bool = False
    parent: str = ""


SECTIONS = (
    SectionSpec(
        "SUPPORT", "Customer support",
        ("lena.berg", "tom.fischer", "sara.lindholm", "amira.haddad", "pedro.alves"),
        "tom.fischer",
        (("New", None, "open"), ("In progress", None, "open"),
         ("Waiting for customer", None, "wait"), ("Solved", None, "won")),
        (("Account access", None), ("Billing", None), ("Delivery", None),
         ("Product question", None)),
        parent="SUPPORT2",
    ),
    SectionSpec(
        "SUPPORT2", "Second-level support", ("jonas.weber", "nina.kowalska"), "jonas.weber",
        (("New", None, "open"), ("Analysis", None, "open"), ("Fix in progress", None, "open"),
         ("Waiting for customer", None, "wait"), ("Solved", None, "won")),
        (("Defect", None), ("Configuration", None), ("Data correction", None)),
    ),
    SectionSpec(
        SALES_CODE, "Sales",
        ("lena.berg", "oliver.grant", "yuki.tanaka", "fatima.rahman"), "morgan.keller",
        (("New", 10, "open"), ("Qualified", 25, "open"), ("Proposal", 50, "open"),
         ("Negotiation", 75, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")),
        (("New business", 20), ("Upsell", 40), ("Renewal", 60), ("Tender", 15)),
        members_only=True,
    ),
    SectionSpec(
        "KEYACC", "Key accounts", ("oliver.grant", "fatima.rahman", "morgan.keller"),
        "morgan.keller",
        (("Prospect", 10, "open"), ("Proposal", 40, "open"), ("Negotiation", 70, "open"),
         ("Won", 100, "won"), ("Lost", 0, "lost")),
        (("Framework agreement", 50), ("Expansion", 40), ("Renewal", 70)),
    ),
    SectionSpec(
        "CLAIMS", "Quality and claims", ("nina.kowalska", "pedro.alves"), "nina.kowalska",
        (("Reported", None, "open"), ("Investigation", None, "open"),
         ("Corrective action", None, "open"), ("Closed", None, "won")),
        (("Transport damage", None), ("Defective product", None), ("Wrong quantity", None)),
    ),
    SectionSpec(
        "DEV", "Product development", ("jonas.weber", "lucas.moreau"), "jonas.weber",
        (("Triage", None, "open"), ("Backlog", None, "open"), ("In development", None, "open"),
         ("In review", None, "wait"), ("Released", None, "won")),
        (("Web app", None), ("Mobile app", None), ("Integrations", None), ("Firmware", None)),
    ),
    SectionSpec(
        "FIELD", "Field service", ("lucas.moreau", "pedro.alves", "amira.haddad"),
        "lucas.moreau",
        (("Requested", None, "open"), ("Scheduled", None, "open"), ("On site", None, "open"),
         ("Waiting for parts", None, "wait"), ("Done", None, "won")),
        (("Installation", None), ("Maintenance", None), ("Repair", None)),
    ),
    SectionSpec(
        "FINANCE", "Finance", ("sara.lindholm", "yuki.tanaka"), "morgan.keller",
        (("Submitted", None, "open"), ("Under review", None, "wait"), ("Approved", None, "won"),
         ("Rejected", None, "lost")),
        (("Travel", None), ("Hospitality", None), ("Equipment", None)),
        members_only=True,
    ),
    SectionSpec(
        "ONBOARD", "Onboarding", ("sara.lindholm", "yuki.tanaka", "tom.fischer"),
        "sara.lindholm",
        (("Kick-off", None, "open"), ("Setup", None, "open"), ("Training", None, "open"),
         ("Live", None, "won")),
        (("Standard", None), ("Enterprise", None)),
    ),
    SectionSpec(
        "PARTNERS", "Partner management", ("fatima.rahman", "lena.berg", "oliver.grant"),
        "fatima.rahman",
        (("Contacted", 10, "open"), ("Evaluating", 30, "open"), ("Agreement", 60, "open"),
         ("Active", 100, "won"), ("Dropped", 0, "lost")),
        (("Reseller", 30), ("Referral", 20), ("Technology", 40)),
    ),
)  # fmt: skip

# -- the cases -----------------------------------------------------------------

# Case type code: (share of all cases, sections with their weights, channels with weights)
TYPE_MIX: dict[str, tuple[float, tuple[tuple[str, float], ...], tuple[tuple[str, float], ...]]] = {
    "helpdesk": (0.34, (("SUPPORT", 0.7), ("SUPPORT2", 0.15), ("ONBOARD", 0.15)),
                 (("email", 0.5), ("phone", 0.2), ("portal", 0.15), ("web", 0.1), ("chat", 0.05))),
    "claim": (0.05, (("CLAIMS", 1.0),), (("email", 0.6), ("phone", 0.3), ("portal", 0.1))),
    "lead": (0.08, ((SALES_CODE, 0.6), ("PARTNERS", 0.4)),
             (("web", 0.5), ("email", 0.3), ("phone", 0.1), ("other", 0.1))),
    "opportunity": (0.065, ((SALES_CODE, 0.65), ("KEYACC", 0.35)),
                    (("email", 0.4), ("phone", 0.3), ("in_person", 0.3))),
    "bug": (0.06, (("DEV", 1.0),), (("web", 0.4), ("email", 0.4), ("other", 0.2))),
    "service": (0.09, (("FIELD", 1.0),), (("phone", 0.5), ("email", 0.3), ("portal", 0.2))),
    "expense": (0.04, (("FINANCE", 1.0),), (("", 1.0),)),
    "call": (0.165, (("SUPPORT", 0.4), (SALES_CODE, 0.4), ("PARTNERS", 0.2)), (("phone", 1.0),)),
    "meeting": (0.11, ((SALES_CODE, 0.4), ("KEYACC", 0.3), ("ONBOARD", 0.15), ("PARTNERS", 0.15)),
                (("in_person", 0.7), ("phone", 0.3))),
}  # fmt: skip
TYPE_CODES = tuple(TYPE_MIX)
STATES = ("draft", "open", "pending", "done", "cancel")
DRAFT, OPEN, PENDING, DONE, CANCEL = range(5)
STATE_LABELS = ("Draft", "Open", "Pending", "Done", "Cancelled")
# Active (draft, open, pending) 45 %, closed (done, cancel) 55 % overall; old cases
# are mostly closed, recent ones mostly active.
ACTIVE_SPLIT = ((DRAFT, 5 / 45), (OPEN, 30 / 45), (PENDING, 10 / 45))
CLOSED_SPLIT = ((DONE, 45 / 55), (CANCEL, 10 / 55))
PRIORITIES = ((1, 0.05), (2, 0.15), (3, 0.55), (4, 0.15), (5, 0.10))
PRIORITY_LABELS = {1: "1 Highest", 2: "2 High", 3: "3 Normal", 4: "4 Low", 5: "5 Lowest"}
SLA_HOURS = {1: 8, 2: 24, 3: 72, 4: 168, 5: 336}
DEADLINE_TYPES = frozenset({"helpdesk", "claim", "bug", "service", "expense"})
SALES_TYPES = frozenset({"lead", "opportunity"})
SCHEDULED_MINUTES = {"meeting": (30, 60, 90, 120), "call": (15, 30), "service": (60, 120, 240)}
NO_PARTNER_RATE = 0.03
KEY_ACCOUNT_RATE = 0.25  # of cases, going to a few hundred big customers
KEY_ACCOUNTS = 400
CONTACT_RATE = 0.6  # of company cases, with a contact person
DESCRIPTION_RATE = 0.7
CATEGORY_RATE = 0.8
WATCHER_RATE = 0.10
EMAIL_WATCHER_RATE = 0.04
UNASSIGNED = {DRAFT: 0.5, OPEN: 0.05, PENDING: 0.05, DONE: 0.03, CANCEL: 0.03}
# Kinds of the entries between "created" / "opened" and the closing state change.
MIDDLE_KINDS = (("note", 0.30), ("email_in", 0.25), ("email_out", 0.22), ("field_change", 0.23))

PRODUCTS = (
    "ProLine X200", "FlexDesk", "AquaPure filter", "Solar inverter", "Heat pump HP-9",
    "CloudSync", "Smart thermostat", "Conveyor belt", "Forklift", "Label printer",
    "Barcode scanner", "POS terminal", "Coffee machine", "Water cooler", "Air compressor",
    "Hydraulic press", "CNC mill", "Laser cutter", "3D printer", "Server rack", "Firewall",
    "VoIP phone", "Wireless headset", "Docking station", "Laptop", "Monitor arm",
    "Office chair", "Standing desk", "LED panel", "Security camera", "Access badge reader",
    "Pallet wrapper", "Cooling unit", "Backup generator", "Payroll module", "CRM licence",
    "Webshop", "Mobile app", "Data migration", "Training package",
)  # fmt: skip
RARE_PRODUCT = "Gasket kit"  # the subject search term's product
RARE_WEIGHT = 0.1  # against 1.0 for each product above
CITIES = tuple(city for cities in COUNTRIES.values() for city in cities)
SUBJECTS: dict[str, tuple[str, ...]] = {
    "helpdesk": (
        "Cannot log in to the {product} portal", "Invoice {invoice} shows the wrong amount",
        "Delivery of order {order} is late", "Question about the {product} warranty",
        "{product} stopped working after the update", "Wrong item delivered with order {order}",
        "Request for a copy of invoice {invoice}", "Change of billing address",
        "How do I reset the {product}?", "Missing parts for the {product}",
        "Password reset for the customer portal", "Return of {product} (order {order})",
    ),
    "claim": (
        "Damaged {product} in delivery {order}", "{product} fails quality check (batch {batch})",
        "Supplier claim: {product} batch {batch} out of tolerance",
        "Customer claim: {product} leaking", "Short delivery on order {order}",
    ),
    "lead": (
        "Interest in {product} for {city}", "Trade fair contact: {product}",
        "Request for quote: {qty} × {product}", "Website inquiry about {product}",
        "Referral from {city}: {product}",
    ),
    "opportunity": (
        "{product} rollout, {qty} units", "Framework agreement {year}: {product}",
        "Upgrade to {product}", "Renewal of the {product} service contract {year}",
        "{qty} × {product} for the {city} site",
    ),
    "bug": (
        "{product} app crashes on start", "Export of {product} data fails",
        "Error 500 when saving an order with {product}", "Wrong rounding in invoice totals",
        "{product} firmware {version} reboots", "Search does not find {product} orders",
    ),
    "service": (
        "Installation of {product} in {city}", "Annual maintenance of the {product}",
        "Repair visit: {product} out of order", "Replace the {product} at the {city} site",
    ),
    "expense": (
        "Travel to {city} ({month})", "Hotel in {city}, {month}", "Trade fair costs {month}",
        "Client dinner in {city}", "Train tickets to {city}",
    ),
    "call": (
        "Call back about {product}", "Follow-up call: order {order}", "Call: {product} questions",
        "Introductory call", "Call about invoice {invoice}",
    ),
    "meeting": (
        "Meeting in {city}: {product} demo", "Quarterly review {quarter}",
        "Kick-off meeting {product}", "Workshop on {product} in {city}",
    ),
}  # fmt: skip
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
SENTENCES = (
    "The customer confirmed the delivery address.",
    "I checked the order history; the last shipment left the warehouse on time.",
    "Spoke to the warehouse, the replacement goes out tomorrow morning.",
    "The invoice was corrected and sent again.",
    "Waiting for the serial number before we can go on.",
    "The technician will bring the spare parts on the next visit.",
    "Logs attached to the ticket in the shared folder; nothing unusual before the crash.",
    "The customer would like a call back after 2 pm.",
    "Discount of 5 % approved by the sales manager.",
    "We sent the updated proposal with the new delivery dates.",
    "The issue is reproducible with the latest version.",
    "A workaround was explained on the phone; the customer is fine with it for now.",
    "Credit note requested from accounting.",
    "The contract renewal is due at the end of the quarter.",
    "Their purchasing department needs the offer in their own template.",
    "Escalated to second-level support for an analysis.",
    "The firmware update fixed the problem on two of the three machines.",
    "The order was split in two deliveries because of stock.",
    "Demo scheduled with their operations team.",
    "The budget for next year is not yet approved on their side.",
    "They compare us with two other suppliers.",
    "Receipts are in the attachment of the original email.",
    "The customer asked for a certificate of conformity.",
    "Site visit confirmed; access badge to be picked up at the reception.",
)  # fmt: skip
GREETINGS = ("Hello,", "Hi,", "Good morning,", "Dear support team,", "Hello team,")
CLOSINGS = ("Kind regards", "Best regards", "Thanks", "Many thanks", "Cheers")
REPLY_OPENINGS = (
    "Thank you for your message.",
    "Thanks for getting back to us.",
    "Thank you for your patience.",
    "Following up on our call,",
)
NEXT_ACTIONS = ("Call back", "Send proposal", "Follow up by email", "Schedule a demo",
                "Check stock", "Ask for the purchase order", "Visit on site")  # fmt: skip
ROOT_CAUSES = ("Packaging too weak for the transport route.",
               "Supplier changed the seal material without notice.",
               "Calibration of the test bench had drifted.")  # fmt: skip
CORRECTIVE = ("Replacement shipped at our cost.", "Batch quarantined and re-inspected.")
PREVENTIVE = ("Packaging specification updated.", "Incoming inspection added for this part.")
BODY_POOL = 3_000  # distinct bodies per kind of entry


@dataclass
class CaseLoadReport:
    cases: int
    entries: int
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    heavy_number: int = 0
    sales_section_id: int = 0
    kanban_open: int = 0  # open opportunities in SALES
    search_matches: int = 0  # cases whose search_text holds SEARCH_TERM

    def print(self, out: TextIO) -> None:
        out.write(
            f"Loaded {self.cases:,} cases and {self.entries:,} entries in {self.seconds:.1f} s ("
        )
        out.write(", ".join(f"{name} {secs:.1f} s" for name, secs in self.phases.items()))
        out.write(")\n")
        width = max(len(t) for t in self.rows)
        for table, count in self.rows.items():
            out.write(f"  {table:<{width}}  {count:>12,}\n")
        out.write(
            f"  heavy case: #{self.heavy_number} ({HEAVY_SUBJECT!r}, {HEAVY_ENTRIES} entries)\n"
            f"  section {SALES_CODE}: id {self.sales_section_id}, "
            f"{self.kanban_open:,} open opportunities\n"
            f"  cases matching {SEARCH_TERM!r}: {self.search_matches:,}\n"
        )


def _slug(value: str) -> str:
    return "".join(ch for ch in fold(value) if ch.isascii() and ch.isalnum())


def _cumulative(weights: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values, cum, total = [], [], 0.0
    for value, weight in weights:
        total += weight
        values.append(value)
        cum.append(total)
    return values, [c / total for c in cum]


class _Pick:
    """A weighted choice by bisection: cheaper than random.choices in a hot loop."""

    def __init__(self, weights: Sequence[tuple[Any, float]]) -> None:
        self.values, self.cum = _cumulative(weights)
        self.last = len(self.values) - 1

    def __call__(self, rng: random.Random) -> Any:
        return self.values[min(bisect_right(self.cum, rng.random()), self.last)]


class _Clock:
    """Timestamps as integer seconds since the epoch, formatted for the sink."""

    def __init__(self, *, aware: bool) -> None:
        self.suffix = "+00:00" if aware else ""
        self.days: dict[int, str] = {}

    def __call__(self, ts: int) -> str:
        day, second = divmod(ts, 86400)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat()
            self.days[day] = prefix
        hour, rest = divmod(second, 3600)
        minute, sec = divmod(rest, 60)
        return f"{prefix} {hour:02d}:{minute:02d}:{sec:02d}{self.suffix}"

    @staticmethod
    def date(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).date().isoformat()

    @staticmethod
    def display(ts: int) -> str:
        """As the services show a datetime in a change row."""
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


@dataclass
class _Section:
    spec: SectionSpec
    id: int
    name: str
    email: str
    first_stage: int
    open_stages: _Pick
    wait_stage: int | None
    won_stage: int | None
    lost_stage: int | None
    stage_probability: dict[int, int | None]
    categories: list[tuple[int, int | None]]
    team: list[int]
    stage_changes: list[str]  # JSON change rows "Stage: a → b"


@dataclass
class _Partner:
    name: str
    email: str


def _min_entries(type_code: str, state: int) -> int:
    """Entries every case of this type and state has: created, opened, closed…"""
    base = (1, 2, 3, 3, 3)[state]  # draft: created; others: created, opened (+ pending/close)
    if type_code == "expense" and state != DRAFT:
        base += 1 if state in (OPEN, PENDING) else 2  # submitted (+ approved or rejected)
    return base


class _Generator:
    def __init__(
        self,
        *,
        cases: int,
        entries: int,
        seed: int,
        sink: Sink,
        aware: bool,
        content_type_id: int,
        first_entry_id: int,
        out: TextIO,
    ) -> None:
        self.n = cases
        self.m = entries
        self.sink = sink
        self.out = out
        self.content_type_id = content_type_id
        self.next_entry_id = first_entry_id
        self.plan_rng = random.Random(seed)
        self.rng = random.Random(seed * 31 + 7)
        self.ts = _Clock(aware=aware)
        self.rows: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.next_id: dict[str, int] = dict.fromkeys(TABLES, 1)
        self.end = int(END_TIME.timestamp())
        self.start = int((END_TIME - SPAN).timestamp())
        self.heavy_index = cases // 2
        self.heavy_number = FIRST_NUMBER + self.heavy_index
        self.kanban_open = 0
        self.search_matches = 0
        self.started = time.perf_counter()
        domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
        self.message_domain = domain
        self.tag_prefix = settings.CASE_TAG_PREFIX

    # -- set-up ----------------------------------------------------------------

    def setup(self) -> None:
        """Users, sections, stages and categories, through the ORM (a few hundred rows)."""
        self.users: dict[str, int] = {}
        for username, first, last, role in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    username=username,
                    password=None,
                    email=f"{username}@{STAFF_DOMAIN}",
                    first_name=first,
                    last_name=last,
                    roles=[role],
                )
            else:
                user_set_roles(user=user, roles=[role])
            self.users[username] = user.pk
        self.staff = list(self.users.values())

        # Explicit ids, so that a seed always gives the same rows.
        created: dict[str, Section] = {}
        for section_id, spec in enumerate(SECTIONS, start=1):
            created[spec.code] = Section.objects.create(
                id=section_id,
                name=spec.name,
                code=spec.code,
                responsible_id=self.users[spec.responsible],
                email=f"{spec.code.lower()}@{STAFF_DOMAIN}",
                visibility=(
                    Section.Visibility.MEMBERS if spec.members_only else Section.Visibility.PUBLIC
                ),
                description=f"{spec.name}: generated for the case benchmarks.",
            )
            if spec.members_only:
                created[spec.code].members.set([self.users[u] for u in spec.team])
        for spec in SECTIONS:
            if spec.parent:
                section = created[spec.code]
                section.parent = created[spec.parent]
                section.save(update_fields=["parent"])
        self.sections: dict[str, _Section] = {}
        stage_ids = itertools.count(1)
        category_ids = itertools.count(1)
        for spec in SECTIONS:
            section = created[spec.code]
            stages = [
                Stage.objects.create(
                    id=next(stage_ids),
                    section=section,
                    name=name,
                    sequence=(index + 1) * 10,
                    probability=probability,
                    folded=role in ("won", "lost"),
                )
                for index, (name, probability, role) in enumerate(spec.stages)
            ]
            roles = {
                role: stage.pk for stage, (_, _, role) in zip(stages, spec.stages, strict=True)
            }
            open_ids = [
                s.pk for s, (_, _, r) in zip(stages, spec.stages, strict=True) if r == "open"
            ]
            categories = [
                CaseCategory.objects.create(
                    id=next(category_ids),
                    section=section,
                    name=name,
                    default_probability=probability,
                )
                for name, probability in spec.categories
            ]
            changes = [
                json.dumps([{"label": "Stage", "old": a.name, "new": b.name}], ensure_ascii=False)
                for a, b in pairwise(stages)
            ]
            self.sections[spec.code] = _Section(
                spec=spec,
                id=section.pk,
                name=section.name,
                email=section.email,
                first_stage=stages[0].pk,
                # Earlier columns hold more cases than later ones.
                open_stages=_Pick([(pk, len(open_ids) - i) for i, pk in enumerate(open_ids)]),
                wait_stage=roles.get("wait"),
                won_stage=roles.get("won"),
                lost_stage=roles.get("lost"),
                stage_probability={s.pk: s.probability for s in stages},
                categories=[(c.pk, c.default_probability) for c in categories],
                team=[self.users[u] for u in spec.team],
                stage_changes=changes,
            )
        self.types = {t.code: t for t in CaseType.objects.filter(code__in=TYPE_CODES)}
        missing = set(TYPE_CODES) - set(self.types)
        if missing:
            raise RuntimeError(f"case types missing (migrate first): {', '.join(sorted(missing))}")
        for code, (_, sections, _) in TYPE_MIX.items():
            CaseType.objects.filter(code=code).update(
                default_section_id=self.sections[sections[0][0]].id
            )
        self.type_section = {
            code: _Pick([(self.sections[s], w) for s, w in sections])
            for code, (_, sections, _) in TYPE_MIX.items()
        }
        self.type_channel = {code: _Pick(channels) for code, (_, _, channels) in TYPE_MIX.items()}
        self.case_defaults = _case_defaults()
        self._pools()

    def _pools(self) -> None:
        rng = self.rng
        self.product = _Pick([*((p, 1.0) for p in PRODUCTS), (RARE_PRODUCT, RARE_WEIGHT)])
        self.priority = _Pick(PRIORITIES)
        self.middle_kind = _Pick(MIDDLE_KINDS)
        self.active_state = _Pick(ACTIVE_SPLIT)
        self.closed_state = _Pick(CLOSED_SPLIT)

        def sentences(low: int, high: int) -> str:
            return " ".join(rng.sample(SENTENCES, rng.randint(low, high)))

        def name() -> str:
            return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

        self.notes = [sentences(1, 3) for _ in range(BODY_POOL)]
        self.emails_in = [
            f"{rng.choice(GREETINGS)}\n\n{sentences(2, 4)}\n\n{rng.choice(CLOSINGS)}\n{name()}"
            for _ in range(BODY_POOL)
        ]
        self.emails_out = [
            f"{rng.choice(GREETINGS)}\n\n{rng.choice(REPLY_OPENINGS)} {sentences(1, 3)}\n\n"
            f"{rng.choice(CLOSINGS)}"
            for _ in range(BODY_POOL)
        ]
        self.descriptions = [sentences(1, 4) for _ in range(BODY_POOL)]
        changes: list[list[dict[str, str]]] = []
        for old, new in ((3, 2), (3, 1), (2, 3), (3, 4), (4, 3), (5, 3)):
            changes.append(
                [{"label": "Priority", "old": PRIORITY_LABELS[old], "new": PRIORITY_LABELS[new]}]
            )
        for action in NEXT_ACTIONS:
            changes.append([{"label": "Next action (what)", "old": "", "new": action}])
        for _ in range(40):
            ts = rng.randrange(self.start, self.end)
            changes.append([{"label": "Deadline", "old": "", "new": self.ts.display(ts)}])
        for username in self.users:
            changes.append([{"label": "Responsible", "old": "", "new": username}])
        self.field_changes = [json.dumps(c, ensure_ascii=False) for c in changes]
        self.state_changes = {
            (old, new): json.dumps(
                [{"label": "State", "old": STATE_LABELS[old], "new": STATE_LABELS[new]}]
            )
            for old in range(5)
            for new in range(5)
        }
        approvals = ("Not submitted", "Awaiting approval", "Approved", "Rejected")
        self.approval_changes = {
            "submitted": json.dumps(
                [{"label": "Approval", "old": approvals[0], "new": approvals[1]}]
            ),
            "approved": json.dumps(
                [{"label": "Approval", "old": approvals[1], "new": approvals[2]}]
            ),
            "rejected": json.dumps(
                [{"label": "Approval", "old": approvals[1], "new": approvals[3]}]
            ),
        }

    def load_partners(self) -> None:
        """Every partner's id, kind and creation time, by creation time (flat arrays)."""
        self.partner_ids = array("q")
        self.partner_created = array("q")
        self.partner_company = bytearray()
        # Epoch seconds straight from the database: parsing a million datetimes
        # in Python takes longer than the query.
        epoch = (
            "EXTRACT(EPOCH FROM created_at)::bigint"
            if connection.vendor == "postgresql"
            else "CAST(strftime('%s', created_at) AS INTEGER)"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, kind, {epoch} FROM partners_partner "
                "WHERE merged_into_id IS NULL ORDER BY created_at, id"
            )
            while rows := cursor.fetchmany(20_000):
                for pk, kind, created in rows:
                    self.partner_ids.append(pk)
                    self.partner_created.append(created)
                    self.partner_company.append(kind == Partner.Kind.COMPANY)
        if not self.partner_ids:
            raise RuntimeError("the database holds no partners: load them first (bench.generate)")
        old = bisect_right(self.partner_created, self.start) or len(self.partner_ids)
        companies = [i for i in range(old) if self.partner_company[i]] or list(range(old))
        self.key_accounts = self.plan_rng.sample(companies, min(KEY_ACCOUNTS, len(companies)))

    # -- plan: the type, state and number of entries of every case ---------------

    def plan(self) -> None:
        rng = self.plan_rng
        n = self.n
        type_pick = _Pick([(i, TYPE_MIX[c][0]) for i, c in enumerate(TYPE_CODES)])
        self.case_types = array("B", bytes(n))
        self.case_states = array("B", bytes(n))
        for i in range(n):
            self.case_types[i] = type_pick(rng)
            active = rng.random() < 0.15 + 0.6 * (i / n)
            self.case_states[i] = (self.active_state if active else self.closed_state)(rng)
        h = self.heavy_index
        self.case_types[h] = TYPE_CODES.index("helpdesk")
        self.case_states[h] = OPEN

        minimum = [
            _min_entries(TYPE_CODES[self.case_types[i]], self.case_states[i]) for i in range(n)
        ]
        floor = sum(minimum) - minimum[h] + HEAVY_ENTRIES
        if self.m < floor:
            raise ValueError(
                f"{self.m:,} entries are too few for {n:,} cases: they need at least {floor:,} "
                "(created, opened and closing entries, and the heavy case's 500)"
            )
        spare = (self.m - floor) / max(n - 1, 1)
        self.counts = array("H", bytes(2 * n))
        for i in range(n):
            extra = int(rng.expovariate(1 / spare) + rng.random()) if spare > 0 else 0
            self.counts[i] = min(minimum[i] + extra, MAX_ENTRIES)
        self.counts[h] = HEAVY_ENTRIES
        diff = self.m - sum(self.counts)
        while diff:
            i = rng.randrange(n)
            if i == h:
                continue
            if diff > 0 and self.counts[i] < MAX_ENTRIES:
                self.counts[i] += 1
                diff -= 1
            elif diff < 0 and self.counts[i] > minimum[i]:
                self.counts[i] -= 1
                diff += 1

    # -- generate ----------------------------------------------------------------

    def cases(self) -> None:
        buffers: dict[str, list[Row]] = {t: [] for t in TABLES}
        step = (self.end - self.start - 86400) / self.n
        for lo in range(0, self.n, CHUNK):
            hi = min(lo + CHUNK, self.n)
            self._chunk(lo, hi, step, buffers)
            self._flush(buffers)
            if (hi // CHUNK) % 20 == 0 or hi == self.n:
                elapsed = time.perf_counter() - self.started
                self.out.write(
                    f"  {hi:>10,} cases {self.rows['partners_timelineentry']:>12,} entries"
                    f"  ({elapsed:.0f} s)\n"
                )
                self.out.flush()

    def _flush(self, buffers: dict[str, list[Row]]) -> None:
        for table, rows in buffers.items():
            self.sink.write(table, rows)
            self.rows[table] += len(rows)
            rows.clear()

    def _take_id(self, table: str) -> int:
        pk = self.next_id[table]
        self.next_id[table] = pk + 1
        return pk

    def _choose_partner(self, created: int) -> int | None:
        """An index into the partner arrays, or None for an unknown sender."""
        rng = self.rng
        roll = rng.random()
        if roll < NO_PARTNER_RATE:
            return None
        if roll < NO_PARTNER_RATE + KEY_ACCOUNT_RATE:
            return rng.choice(self.key_accounts)
        known = bisect_right(self.partner_created, created) or len(self.partner_ids)
        return rng.randrange(known)

    def _chunk(self, lo: int, hi: int, step: float, buffers: dict[str, list[Row]]) -> None:
        rng = self.rng
        # First pass: when, and for whom; then look the partners up in two queries.
        created_at: list[int] = []
        partners: list[int | None] = []
        for i in range(lo, hi):
            created = self.start + int((i + rng.random()) * step)
            created_at.append(created)
            heavy = i == self.heavy_index
            partners.append(self.key_accounts[0] if heavy else self._choose_partner(created))
        partner_ids = {self.partner_ids[p] for p in partners if p is not None}
        companies = [
            self.partner_ids[p] for p in partners if p is not None and self.partner_company[p]
        ]
        members: dict[int, list[int]] = {}
        for company_id, person_id in (
            Membership.objects.filter(company_id__in=companies)
            .order_by("company_id", "person_id")
            .values_list("company_id", "person_id")
        ):
            members.setdefault(company_id, []).append(person_id)
        wanted = partner_ids | {p for people in members.values() for p in people}
        found = {
            pk: _Partner(name, email)
            for pk, name, email in Partner.objects.filter(pk__in=wanted).values_list(
                "pk", "name", "email"
            )
        }
        for offset, i in enumerate(range(lo, hi)):
            index = partners[offset]
            partner_id = self.partner_ids[index] if index is not None else None
            is_company = index is not None and bool(self.partner_company[index])
            contact_id = None
            if partner_id is not None and is_company:
                people = members.get(partner_id)
                if people and rng.random() < CONTACT_RATE:
                    contact_id = rng.choice(people)
            self._case(
                i,
                created=created_at[offset],
                partner_id=partner_id,
                partner=found.get(partner_id) if partner_id else None,
                partner_is_company=is_company,
                contact_id=contact_id,
                contact=found.get(contact_id) if contact_id else None,
                buffers=buffers,
            )

    def _case(
        self,
        i: int,
        *,
        created: int,
        partner_id: int | None,
        partner: _Partner | None,
        partner_is_company: bool,
        contact_id: int | None,
        contact: _Partner | None,
        buffers: dict[str, list[Row]],
    ) -> None:
        rng = self.rng
        ts = self.ts
        type_code = TYPE_CODES[self.case_types[i]]
        case_type = self.types[type_code]
        state = self.case_states[i]
        count = self.counts[i]
        heavy = i == self.heavy_index
        pk = i + 1
        number = FIRST_NUMBER + i
        section = self.sections["SUPPORT"] if heavy else self.type_section[type_code](rng)
        channel = "email" if heavy else self.type_channel[type_code](rng)
        priority = self.priority(rng)

        # Who
        if heavy:
            responsible: int | None = self.users[BENCH_AGENT]
        elif rng.random() < UNASSIGNED[state]:
            responsible = None
        else:
            responsible = rng.choice(section.team)
        helper = rng.choice(section.team)
        created_by = None if channel in ("email", "portal", "web") else (responsible or helper)
        person = contact or partner
        if person is not None:
            requester_email = person.email
        elif channel in ("phone", "in_person", ""):
            requester_email = ""
        else:
            requester_email = (
                f"{_slug(rng.choice(FIRST_NAMES))}.{_slug(rng.choice(LAST_NAMES))}"
                f"@{rng.choice(MAIL_DOMAINS)}"
            )

        # What
        subject = HEAVY_SUBJECT if heavy else self._subject(type_code, created)
        # services.case_search_text, inline: one fold of the four parts.
        search_text = fold(
            " ".join([f"#{number}", subject, requester_email, partner.name if partner else ""])
        )
        if SEARCH_TERM in search_text:
            self.search_matches += 1

        # When: the entries' times, the first at creation and the last the latest.
        opened: int | None = None
        closed = None
        if state != DRAFT:
            fast = channel in ("email", "portal", "web") and rng.random() < 0.5
            opened = min(created + (0 if fast else rng.randint(60, 4 * 3600)), self.end)
        schedule: tuple[int, int] | None = None
        minutes = SCHEDULED_MINUTES.get(type_code)
        if minutes:
            room = max(self.end - created, 7200)
            lead = rng.randint(3600, max(3601, min(21 * 86400, room // 2)))
            start = (created + lead) // 900 * 900
            schedule = (start, start + rng.choice(minutes) * 60)
        if heavy:
            last = self.end - 86400
        elif state in (DONE, CANCEL):
            took = int(min(max(rng.expovariate(1 / (5 * 86400)), 600), 120 * 86400))
            last = (opened or created) + took
            if schedule and state == DONE:
                last = max(last, schedule[1] + rng.randint(600, 86400))
            last = min(last, self.end)
            closed = last
        else:
            horizon = int(min(rng.expovariate(1 / (20 * 86400)), 180 * 86400))
            last = min((opened or created) + 60 + horizon, self.end)

        # Stage, category, probability
        stage = self._stage(section, state)
        category = None
        probability = None
        if section.categories and rng.random() < CATEGORY_RATE:
            category, probability = rng.choice(section.categories)
        if type_code == "opportunity" and probability is None:
            probability = section.stage_probability.get(stage) or rng.choice((10, 25, 50, 75))
        if type_code == "opportunity" and section.spec.code == SALES_CODE and state == OPEN:
            self.kanban_open += 1

        row: dict[str, Any] = dict(self.case_defaults)
        row.update(
            id=pk,
            number=number,
            subject=subject,
            description=rng.choice(self.descriptions) if rng.random() < DESCRIPTION_RATE else "",
            case_type_id=case_type.pk,
            section_id=section.id,
            category_id=category,
            stage_id=stage,
            state=STATES[state],
            priority=priority,
            responsible_id=responsible,
            partner_id=partner_id,
            contact_id=contact_id,
            requester_email=requester_email,
            channel=channel,
            final=state == DONE and case_type.final_close,
            probability=probability,
            search_text=search_text,
            created_at=ts(created),
            opened_at=ts(opened) if opened is not None else None,
            closed_at=ts(closed) if closed is not None else None,
            created_by_id=created_by,
        )
        if type_code in DEADLINE_TYPES and rng.random() < 0.7:
            row["deadline"] = ts(created + SLA_HOURS[priority] * 3600)
        follow_up = type_code in SALES_TYPES or type_code == "claim"
        if follow_up and state in (OPEN, PENDING) and rng.random() < 0.5:
            row["next_action_at"] = ts(self.end + rng.randint(-14 * 86400, 30 * 86400))
            row["next_action"] = rng.choice(NEXT_ACTIONS)
        if type_code == "opportunity":
            revenue = round(math.exp(rng.uniform(math.log(1000), math.log(500_000))), -2)
            row["planned_revenue"] = f"{revenue:.2f}"
            if rng.random() < 0.5:
                row["planned_cost"] = f"{revenue * rng.uniform(0.4, 0.7):.2f}"
            row["expected_close"] = ts.date(created + rng.randint(30, 180) * 86400)
            row["currency"] = rng.choice(("EUR", "EUR", "USD", "GBP"))
        elif type_code == "claim":
            row["claim_subject"] = rng.choice(("customer", "customer", "supplier"))
            row["claim_product"] = self.product(rng)
            if state == DONE:
                row["root_cause"] = rng.choice(ROOT_CAUSES)
                row["corrective_action"] = rng.choice(CORRECTIVE)
                row["preventive_action"] = rng.choice(PREVENTIVE)
        elif type_code == "expense":
            row["amount"] = f"{rng.uniform(20, 2000):.2f}"
            row["currency"] = "EUR"
        if schedule:
            row["scheduled_start"] = ts(schedule[0])
            row["scheduled_end"] = ts(schedule[1])
            if type_code != "call":
                row["location_text"] = (
                    f"{rng.choice(STREETS)} {rng.randint(1, 250)}, {rng.choice(CITIES)}"
                )
            if type_code == "service":
                row["technician_id"] = responsible or helper

        # The timeline
        messages = self._timeline(
            pk=pk,
            number=number,
            type_code=type_code,
            state=state,
            count=count,
            section=section,
            case_type_name=case_type.name,
            subject=subject,
            partner_id=partner_id,
            responsible=responsible,
            helper=helper,
            created_by=created_by,
            requester_email=requester_email,
            created=created,
            opened=opened,
            last=last,
            row=row,
            buffers=buffers,
        )
        row["message_count"] = messages
        buffers["cases_case"].append(tuple(row[c] for c in COLUMNS["cases_case"]))

        # Watchers and attendees
        watchers = [u for u in self.staff if u != responsible]
        watcher_count = 3 if heavy else 1 if rng.random() < WATCHER_RATE else 0
        for user in rng.sample(watchers, watcher_count):
            buffers["cases_watcher"].append(
                (self._take_id("cases_watcher"), pk, user, "", row["created_at"])
            )
        if requester_email and (heavy or rng.random() < EMAIL_WATCHER_RATE):
            domain = requester_email.rpartition("@")[2]
            for local in ("accounts", "office")[: 2 if heavy else 1]:
                buffers["cases_watcher"].append(
                    (
                        self._take_id("cases_watcher"),
                        pk,
                        None,
                        f"{local}@{domain}",
                        row["created_at"],
                    )
                )
        if type_code == "meeting":
            attendee = contact_id or (partner_id if not partner_is_company else None)
            if attendee:
                buffers["cases_case_attendees"].append(
                    (self._take_id("cases_case_attendees"), pk, attendee)
                )
            if responsible:
                buffers["cases_case_attendee_users"].append(
                    (self._take_id("cases_case_attendee_users"), pk, responsible)
                )

    def _subject(self, type_code: str, created: int) -> str:
        rng = self.rng
        template = rng.choice(SUBJECTS[type_code])
        year = datetime.fromtimestamp(created, UTC).year
        return template.format(
            product=self.product(rng),
            invoice=f"INV-{year}-{rng.randrange(10000, 99999)}",
            order=f"SO-{rng.randrange(10000, 99999)}",
            batch=f"B{rng.randrange(1000, 9999)}",
            city=rng.choice(CITIES),
            qty=rng.choice((5, 10, 12, 20, 25, 50, 100, 250)),
            year=year + 1,
            version=f"{rng.randint(1, 4)}.{rng.randint(0, 9)}",
            month=f"{MONTHS[rng.randrange(12)]} {year}",
            quarter=f"Q{rng.randint(1, 4)} {year}",
        )

    def _stage(self, section: _Section, state: int) -> int:
        if state == DRAFT:
            return section.first_stage
        if state == PENDING and section.wait_stage:
            return section.wait_stage
        if state == DONE and section.won_stage:
            return section.won_stage
        if state == CANCEL and section.lost_stage:
            return section.lost_stage
        return section.open_stages(self.rng)

    def _timeline(
        self,
        *,
        pk: int,
        number: int,
        type_code: str,
        state: int,
        count: int,
        section: _Section,
        case_type_name: str,
        subject: str,
        partner_id: int | None,
        responsible: int | None,
        helper: int,
        created_by: int | None,
        requester_email: str,
        created: int,
        opened: int | None,
        last: int,
        row: dict[str, Any],
        buffers: dict[str, list[Row]],
    ) -> int:
        """Write the case's *count* entries (and an outbox row per email sent);
        returns how many of them are messages (notes and emails)."""
        rng = self.rng
        ts = self.ts
        ct = self.content_type_id
        entries = buffers["partners_timelineentry"]
        staff = responsible or helper
        fixed = _min_entries(type_code, state)
        middle = count - fixed
        # The fixed entries: "created", then "opened", then the approval steps of an
        # expense claim, then the state change that left it pending or closed it.
        begin = opened if opened is not None else created
        times = sorted(rng.randint(begin, max(begin, last)) for _ in range(middle))
        latest = begin
        entries.append(
            (
                self._entry_id(), ct, pk, partner_id, "system", "created", created_by,
                f"{case_type_name} #{number} created in {section.name}: {subject}",
                "[]", "internal", ts(created),
            )
        )  # fmt: skip
        if opened is not None:
            entries.append(
                (
                    self._entry_id(), ct, pk, partner_id, "state_change", "open", responsible,
                    "", self.state_changes[(DRAFT, OPEN)], "internal", ts(opened),
                )
            )  # fmt: skip
        if type_code == "expense" and state != DRAFT:
            submitted = min((opened or created) + rng.randint(60, 3600), last)
            entries.append(
                (
                    self._entry_id(), ct, pk, partner_id, "state_change", "expense_submitted",
                    staff, "", self.approval_changes["submitted"], "internal", ts(submitted),
                )
            )  # fmt: skip
            row["approval"] = "requested"
            latest = max(latest, submitted)
            if state in (DONE, CANCEL):
                approver = self.users[section.spec.responsible]
                decided = max(submitted, last - rng.randint(60, 3600))
                verdict = "approved" if state == DONE else "rejected"
                entries.append(
                    (
                        self._entry_id(), ct, pk, partner_id, "state_change",
                        f"expense_{verdict}", approver,
                        "" if verdict == "approved" else "Receipts missing.",
                        self.approval_changes[verdict], "internal", ts(decided),
                    )
                )  # fmt: skip
                row["approval"] = verdict
                latest = max(latest, decided)
                row["approved_by_id"] = approver
                row["approved_at"] = ts(decided)

        # The middle: notes, emails both ways, and edits.
        messages = 0
        outbound_ids: list[str] = []
        draft = state == DRAFT
        field_changes = self.field_changes
        stage_changes = section.stage_changes
        for when in times:
            kind = self.middle_kind(rng)
            if draft and kind in ("email_in", "email_out"):
                kind = "note"
            if not requester_email and kind in ("email_in", "email_out"):
                kind = "note"
            stamp = ts(when)
            if kind == "note":
                messages += 1
                entries.append(
                    (
                        self._entry_id(), ct, pk, partner_id, "note", "note",
                        staff if rng.random() < 0.8 else helper, rng.choice(self.notes), "[]",
                        "internal", stamp,
                    )
                )  # fmt: skip
            elif kind == "email_in":
                messages += 1
                entries.append(
                    (
                        self._entry_id(), ct, pk, partner_id, "email_in", "received", None,
                        rng.choice(self.emails_in), "[]", "public", stamp,
                    )
                )  # fmt: skip
            elif kind == "email_out":
                messages += 1
                entry_id = self._entry_id()
                body = rng.choice(self.emails_out)
                author = staff if rng.random() < 0.8 else helper
                entries.append(
                    (
                        entry_id, ct, pk, partner_id, "email_out", "reply", author, body, "[]",
                        "public", stamp,
                    )
                )  # fmt: skip
                self._outbound(
                    pk=pk,
                    number=number,
                    entry_id=entry_id,
                    section=section,
                    subject=subject,
                    requester_email=requester_email,
                    body=body,
                    author=author,
                    when=when,
                    previous=outbound_ids,
                    buffers=buffers,
                )
            else:
                changes = (
                    rng.choice(stage_changes)
                    if stage_changes and rng.random() < 0.3
                    else rng.choice(field_changes)
                )
                entries.append(
                    (
                        self._entry_id(), ct, pk, partner_id, "field_change", "updated", staff,
                        "", changes, "internal", stamp,
                    )
                )  # fmt: skip

        if state in (PENDING, DONE, CANCEL):
            action = {PENDING: "pending", DONE: "close", CANCEL: "cancel"}[state]
            entries.append(
                (
                    self._entry_id(), ct, pk, partner_id, "state_change", action, staff, "",
                    self.state_changes[(OPEN, state)], "internal", ts(last),
                )
            )  # fmt: skip
        # Every change touched updated_at: it is the time of the latest entry.
        if times:
            latest = max(latest, times[-1])
        if state in (PENDING, DONE, CANCEL):
            latest = max(latest, last)
        row["updated_at"] = ts(latest)
        return messages

    def _entry_id(self) -> int:
        pk = self.next_entry_id
        self.next_entry_id = pk + 1
        return pk

    def _outbound(
        self,
        *,
        pk: int,
        number: int,
        entry_id: int,
        section: _Section,
        subject: str,
        requester_email: str,
        body: str,
        author: int,
        when: int,
        previous: list[str],
        buffers: dict[str, list[Row]],
    ) -> None:
        """The outbox row ``services.case_reply`` queues, as the gateway leaves it: sent."""
        message_id = f"<gw.c{number}.{self.rng.getrandbits(64):016x}@{self.message_domain}>"
        local, _, domain = section.email.partition("@")
        tag = f"[{self.tag_prefix}{number}]"
        tagged = subject if tag in subject else f"{tag} {subject}"
        first = previous[:20]  # case_reply threads onto the case's first 20 messages
        buffers["cases_outboundmessage"].append(
            (
                self._take_id("cases_outboundmessage"), pk, entry_id, message_id,
                first[-1] if first else "", " ".join(first),
                f"{section.name} <{section.email}>", f"{local}+c{number}@{domain}",
                json.dumps([requester_email]), "[]", tagged, body, "sent", 1, "", author,
                self.ts(when), self.ts(when + 5), "reply", self.ts(when),
            )
        )  # fmt: skip
        previous.append(message_id)


# --------------------------------------------------------------------------
# Entry point


def _case_defaults() -> dict[str, Any]:
    """A case row's values before the generator fills it: the model's defaults."""
    fields = {f.column: f for f in Case._meta.concrete_fields}
    defaults: dict[str, Any] = {}
    for column in COLUMNS["cases_case"]:
        model_field = fields[column]
        value = model_field.get_default() if model_field.has_default() else None
        if value is None and not model_field.null:
            value = ""
        defaults[column] = value
    return defaults


def _check_columns() -> None:
    """Fail early if the case model grew a column the generator does not write."""
    for model, table in ((Case, "cases_case"), (TimelineEntry, "partners_timelineentry")):
        known = set(COLUMNS[table])
        missing = [
            str(f.column)
            for f in model._meta.concrete_fields
            if f.column not in known and not f.null and f.db_default is NOT_PROVIDED
        ]
        if missing:
            raise RuntimeError(
                f"bench.generate_cases does not fill {table}: {', '.join(missing)}; add them"
            )


def _pg_has_case_entries(raw: Any, content_type_id: int) -> bool:
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM partners_timelineentry WHERE subject_type_id = %s)",
            [content_type_id],
        )
        return bool(cursor.fetchone()[0])


def _clear_postgres(raw: Any, content_type_id: int, *, entries: bool) -> None:
    """Empty the case tables and drop the case entries, keeping the partners' own.

    Runs after ``pg_strip``, so the partners' entries copied back update no index.
    """
    with raw.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(CASE_TABLES)} RESTART IDENTITY CASCADE")
        if entries:
            # Copying the partners' entries aside and back is much faster than
            # deleting millions of rows, and leaves no dead rows behind. CASCADE
            # reaches only tables that point at entries: the case tables above.
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_keep AS "
                "SELECT * FROM partners_timelineentry WHERE subject_type_id <> %s",
                [content_type_id],
            )
            cursor.execute("TRUNCATE partners_timelineentry CASCADE")
            cursor.execute("INSERT INTO partners_timelineentry SELECT * FROM bench_keep")
            cursor.execute("DROP TABLE bench_keep")


def _clear_sqlite(raw: Any, content_type_id: int) -> None:
    for table in CASE_TABLES:
        raw.execute(f"DELETE FROM {table}")
    raw.execute("DELETE FROM partners_timelineentry WHERE subject_type_id = ?", [content_type_id])


def _clear_config() -> None:
    """The sections with their stages, categories and members (cases are gone by now)."""
    CaseType.objects.update(default_section=None)
    Section.objects.update(parent=None)
    Stage.objects.all().delete()
    CaseCategory.objects.all().delete()
    Section.objects.all().delete()


def generate_cases(
    *, cases: int, entries: int, seed: int = SEED, out: TextIO = sys.stdout
) -> CaseLoadReport:
    """Replace the case data of the default database with *cases* generated cases
    and *entries* timeline entries on them; the partners must be loaded already."""
    if cases < 1:
        raise ValueError("cases must be at least 1")
    _check_columns()
    report = CaseLoadReport(cases=cases, entries=entries)
    started = time.perf_counter()
    content_type_id = ContentType.objects.get_for_model(Case).pk
    vendor = connection.vendor
    connection.ensure_connection()
    raw = connection.connection
    with transaction.atomic():
        if vendor == "postgresql":
            with raw.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            had_entries = _pg_has_case_entries(raw, content_type_id)
            schema = pg_strip(raw, TABLES)
            _clear_postgres(raw, content_type_id, entries=had_entries)
            sink: Sink = PostgresSink(raw, COLUMNS)
        elif vendor == "sqlite":
            _clear_sqlite(raw, content_type_id)
            sink = SqliteSink(raw, COLUMNS)
        else:
            raise RuntimeError(f"unsupported database vendor {vendor}")
        _clear_config()
        first_entry = (
            TimelineEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        ) + 1
        generator = _Generator(
            cases=cases,
            entries=entries,
            seed=seed,
            sink=sink,
            aware=vendor == "postgresql",
            content_type_id=content_type_id,
            first_entry_id=first_entry,
            out=out,
        )
        generator.setup()
        generator.load_partners()
        generator.plan()
        report.phases["set-up and plan"] = time.perf_counter() - started
        out.write(f"Generating {cases:,} cases with {entries:,} timeline entries…\n")
        out.flush()
        mark = time.perf_counter()
        generator.cases()
        report.phases["rows"] = time.perf_counter() - mark
        last_number = FIRST_NUMBER + cases - 1
        if vendor == "postgresql":
            mark = time.perf_counter()
            out.write("Rebuilding indexes and constraints…\n")
            out.flush()
            pg_restore(raw, schema)
            pg_reset_sequences(raw, TABLES + CONFIG_TABLES)
            with raw.cursor() as cursor:
                cursor.execute("SELECT setval('cases_case_number_seq', %s)", [last_number])
            report.phases["indexes and constraints"] = time.perf_counter() - mark
        else:
            CaseNumber.objects.update_or_create(pk=1, defaults={"value": last_number})
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # VACUUM also sets the visibility map, so index-only scans work at once.
            for table in TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")
    report.phases["analyze"] = time.perf_counter() - mark
    report.seconds = time.perf_counter() - started
    report.rows = generator.rows
    report.heavy_number = generator.heavy_number
    report.sales_section_id = generator.sections[SALES_CODE].id
    report.kanban_open = generator.kanban_open
    report.search_matches = generator.search_matches
    report.print(out)
    return report
