"""The demo cases of ``goodwill demo``: sections, their pipelines, and 300 cases.

Seven sections with their stages and categories: SUPPORT (the helpdesk),
CLAIMS (escalating to QUALITY, a members-only section that agent bob cannot
see, which escalates to MANAGEMENT), SALES (the pipeline the kanban shows),
FIELD (service visits), FINANCE (expense claims) and MANAGEMENT (the top of
the escalation chain). The case types get their default sections.

The cases cover every type, state and priority: helpdesk requests about
products, invoices, logins and deliveries; bugs; customer and supplier claims
with root cause, corrective and preventive action; leads and opportunities
across the sales stages; service visits, calls and meetings in this week and
the next (so the calendar has something to show); expense claims in EUR and
USD, submitted, approved, rejected and reimbursed. They have notes, replies
waiting in the outbox, watchers, escalations, two merges, links, a few late
deadlines, and several closed this week.

``demo_cases_plan`` builds all of this as plain data from one
``random.Random(seed)``, without the database; times are offsets from "now",
so the same seed always gives the same plan. ``demo_cases_load`` saves the
plan through the setup services (``goodwill.cases.configuration``) and the
case services, picking partners and contacts among those already stored (the
demo partners), and then spreads the timestamps over the past months
(``_history_spread``), since the services stamp everything "now".
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.cases import configuration, services
from goodwill.cases.models import (
    CLOSED_STATES,
    Case,
    CaseCategory,
    CaseLink,
    CaseState,
    CaseType,
    OutboundMessage,
    Section,
    Stage,
    Watcher,
)
from goodwill.cases.selectors import week_start
from goodwill.partners.models import Address, Membership, Partner, TimelineEntry

DOMAIN = "demo.goodwill.example"
MACHINES = ("X200", "X400 Pro", "Nova 3")
PRODUCTS = (*MACHINES, "Atlas Cloud", "Orbit sensor kit")
HOUR = 1.0
DAY = 24.0
WEEK = 7 * DAY

# --------------------------------------------------------------------------
# Sections, stages and categories


@dataclass(frozen=True)
class StageSpec:
    name: str
    probability: int | None = None
    folded: bool = False


@dataclass(frozen=True)
class SectionSpec:
    code: str
    name: str
    mailbox: str  # the local part of the section's address at DOMAIN
    description: str
    stages: tuple[StageSpec, ...]
    categories: tuple[tuple[str, int | None], ...]  # name, default probability
    visibility: str = Section.Visibility.PUBLIC
    parent: str | None = None
    responsible: str | None = None
    members: tuple[str, ...] = ()

    @property
    def email(self) -> str:
        return f"{self.mailbox}@{DOMAIN}"


def _stages(*names: str) -> tuple[StageSpec, ...]:
    """Plain stages; the last one is folded on the kanban."""
    return tuple(
        StageSpec(name, folded=index == len(names) - 1) for index, name in enumerate(names)
    )


SECTIONS = (
    SectionSpec(
        code="MANAGEMENT",
        name="Management",
        mailbox="management",
        description="Where escalations end: key accounts, disputes and goodwill decisions.",
        stages=_stages("New", "Under review", "Decided"),
        categories=(("Key account", None), ("Commercial dispute", None), ("Goodwill", None)),
        responsible="alice",
        members=("alice", "maria"),
    ),
    SectionSpec(
        code="QUALITY",
        name="Quality",
        mailbox="quality",
        description="Root-cause analysis, supplier quality and internal audits (ISO 9001 CAPA).",
        stages=_stages("New", "Investigation", "Actions", "Effectiveness check", "Closed"),
        categories=(
            ("Customer complaint", None),
            ("Supplier non-conformity", None),
            ("Internal audit", None),
            ("Process deviation", None),
        ),
        visibility=Section.Visibility.MEMBERS,
        parent="MANAGEMENT",
        responsible="maria",
        members=("maria", "chen"),
    ),
    SectionSpec(
        code="SUPPORT",
        name="Customer support",
        mailbox="support",
        description="The helpdesk: questions, problems and requests from customers.",
        stages=_stages("New", "In progress", "Waiting on customer", "Solved"),
        categories=(
            ("Login and access", None),
            ("Invoices and billing", None),
            ("Product question", None),
            ("Installation", None),
            ("Delivery", None),
            ("Bug report", None),
        ),
        parent="MANAGEMENT",
        responsible="maria",
        members=("bob", "chen"),
    ),
    SectionSpec(
        code="CLAIMS",
        name="Claims",
        mailbox="claims",
        description="Customer claims about damaged, wrong or late goods.",
        stages=_stages("New", "Analysis", "Corrective action", "Verification", "Closed"),
        categories=(
            ("Transport damage", None),
            ("Product defect", None),
            ("Wrong delivery", None),
            ("Late delivery", None),
            ("Documentation", None),
        ),
        parent="QUALITY",
        responsible="maria",
        members=("bob", "chen"),
    ),
    SectionSpec(
        code="SALES",
        name="Sales",
        mailbox="sales",
        description="Leads and opportunities, calls and meetings with customers and prospects.",
        stages=(
            StageSpec("New", 10),
            StageSpec("Qualified", 20),
            StageSpec("Proposition", 50),
            StageSpec("Negotiation", 75),
            StageSpec("Won", 100, folded=True),
        ),
        categories=(
            ("Trade fair", 10),
            ("Website enquiry", 10),
            ("Referral", 25),
            ("Existing customer", 30),
            ("Tender", 15),
        ),
        parent="MANAGEMENT",
        responsible="maria",
        members=("maria", "bob", "chen"),
    ),
    SectionSpec(
        code="FIELD",
        name="Field service",
        mailbox="service",
        description="Installations, maintenance, repairs and training at the customer's site.",
        stages=_stages("Requested", "Planned", "On site", "Report", "Done"),
        categories=(
            ("Installation", None),
            ("Maintenance", None),
            ("Repair", None),
            ("Inspection", None),
            ("Training", None),
        ),
        parent="SUPPORT",
        responsible="maria",
        members=("bob", "chen"),
    ),
    SectionSpec(
        code="FINANCE",
        name="Finance",
        mailbox="finance",
        description="Expense claims: submitted by staff, approved by the responsible.",
        stages=_stages("New", "Checking", "Reimbursed"),
        categories=(
            ("Travel", None),
            ("Accommodation", None),
            ("Meals", None),
            ("Equipment", None),
            ("Training", None),
        ),
        responsible="maria",
    ),
)

TYPE_SECTIONS = {
    "helpdesk": "SUPPORT",
    "bug": "SUPPORT",
    "claim": "CLAIMS",
    "lead": "SALES",
    "opportunity": "SALES",
    "service": "FIELD",
    "expense": "FINANCE",
    "call": "SALES",
    "meeting": "SALES",
}

# The stages a case walks through, by section: work in progress, waiting, and done.
WORK_STAGES = {
    "SUPPORT": ("In progress",),
    "CLAIMS": ("Analysis", "Corrective action", "Verification"),
    "QUALITY": ("Investigation", "Actions", "Effectiveness check"),
    "FIELD": ("Planned",),
    "FINANCE": ("Checking",),
}
WAITING_STAGE = {"SUPPORT": "Waiting on customer"}
DONE_STAGE = {
    "SUPPORT": "Solved",
    "CLAIMS": "Closed",
    "QUALITY": "Closed",
    "FIELD": "Done",
    "FINANCE": "Reimbursed",
    "SALES": "Won",
}

# --------------------------------------------------------------------------
# The plan: plain data, built without the database


@dataclass
class Step:
    """One thing someone does to a case after creating it.

    ``action``: open, pending, close, cancel, stage (``arg`` the stage name,
    ``values`` more fields), update (``values``), note, reply, watch (``arg`` a
    username, or ``@mailbox`` at the partner's domain), escalate, submit,
    approve, reject.
    """

    action: str
    by: str | None
    text: str = ""
    arg: str = ""
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PartnerPick:
    """A partner among those stored: ``pool`` says which kind, ``pick`` which one.

    Pools: customer, prospect, supplier (companies, with one of their contacts),
    private (a person on their own), portal (the portal persona and her
    company), and staff:<username> (an employee's own partner record).
    """

    pool: str
    pick: int


@dataclass(frozen=True)
class Schedule:
    """A slot relative to the Monday of the current week (week 0)."""

    week: int
    day: int
    hour: int
    minute: int
    minutes: int


@dataclass
class CaseSpec:
    key: int
    case_type: str
    section: str
    subject: str
    description: str
    by: str | None  # who creates it; None: it came in by email or the web form
    category: str = ""
    stage: str = ""  # at creation; the section's first stage when empty
    responsible: str | None = None
    partner: PartnerPick | None = None
    values: dict[str, Any] = field(default_factory=dict)  # plain case fields
    watchers: tuple[str, ...] = ()
    steps: list[Step] = field(default_factory=list)
    # Times, in hours before now: created, and the last activity after creation.
    age: float = 0.0
    span: float = 1.0
    this_week: float | None = None  # closed at this share of the current week so far
    deadline: float | None = None  # hours from now; negative: already late
    expected_close: int | None = None  # days from today
    next_action: tuple[float, str] | None = None  # hours from now, what
    schedule: Schedule | None = None
    # For an event of this week: what happens once it is over (at load time).
    after_event: list[Step] = field(default_factory=list)
    technician: str | None = None
    attendee_users: tuple[str, ...] = ()
    location: bool = False  # at the partner's address


@dataclass(frozen=True)
class MergeSpec:
    keep: int
    drop: int
    by: str


@dataclass(frozen=True)
class LinkSpec:
    case: int
    target: int
    by: str


@dataclass
class DemoCasesPlan:
    sections: tuple[SectionSpec, ...]
    type_sections: dict[str, str]
    cases: list[CaseSpec] = field(default_factory=list)
    merges: list[MergeSpec] = field(default_factory=list)
    links: list[LinkSpec] = field(default_factory=list)


# --------------------------------------------------------------------------
# Texts


@dataclass(frozen=True)
class Template:
    subject: str
    description: str
    category: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # more fields, formatted like the texts


def _t(subject: str, description: str, category: str = "", **extra: str) -> Template:
    return Template(subject, " ".join(description.split()), category, tuple(extra.items()))


HELPDESK = (
    _t(
        "Cannot log in to Atlas Cloud since this morning",
        """Since about 8:30 none of our users can log in to Atlas Cloud. The login page
        says "Invalid credentials" even after a password reset. {n} people are waiting
        to enter today's orders; please call me back as soon as possible.""",
        "Login and access",
    ),
    _t(
        "Password reset email never arrives",
        """I requested a password reset three times today, but no email came, not even
        in the spam folder. Our mail administrator sees nothing blocked on our side.""",
        "Login and access",
    ),
    _t(
        "Two-factor code rejected after changing phones",
        """I moved to a new phone and restored the authenticator app from a backup.
        Atlas Cloud now rejects every code. How can I enrol the second factor again?""",
        "Login and access",
    ),
    _t(
        "Please create an account for our new buyer",
        """Our new buyer starts on Monday and needs access to the order history and the
        invoices, with the same rights as me. Her work email is in your contact list.""",
        "Login and access",
    ),
    _t(
        "Account locked after too many attempts",
        """My account was locked after I mistyped the password a few times. Please
        unlock it: I need to download the delivery notes for today's shipment.""",
        "Login and access",
    ),
    _t(
        "Invoice {invoice} charged twice",
        """Our bank statement shows two debits of the same amount for invoice {invoice}.
        Please refund the second payment, or confirm that it will be credited on the
        next invoice.""",
        "Invoices and billing",
    ),
    _t(
        "VAT number missing on invoice {invoice}",
        """Invoice {invoice} does not show our VAT number, so our accounting department
        cannot book it. Please send a corrected invoice.""",
        "Invoices and billing",
    ),
    _t(
        "Credit note for the returned {machine} not received",
        """We returned one {machine} under {rma} four weeks ago and were promised a
        credit note. We have not received anything yet.""",
        "Invoices and billing",
    ),
    _t(
        "Wrong billing address on invoice {invoice}",
        """Invoice {invoice} went to our old address. We moved two months ago; please
        update the address in your system and send the invoice again.""",
        "Invoices and billing",
    ),
    _t(
        "Payment reminder although invoice {invoice} is paid",
        """We received a reminder for invoice {invoice}, but we paid it on the due date.
        The remittance advice is attached to my email; please check, and stop the
        reminders.""",
        "Invoices and billing",
    ),
    _t(
        "Copies of last year's invoices for our auditors",
        """Our auditors ask for copies of all the invoices we received from you last
        year. Can you send them as PDF files, or tell me where to download them?""",
        "Invoices and billing",
    ),
    _t(
        "How do I calibrate the {machine}?",
        """The manual only describes the calibration of the previous model. Which steps
        apply to the {machine}, and do we need the calibration kit for it?""",
        "Product question",
    ),
    _t(
        "{machine}: firmware update stops at 80 %",
        """The update to firmware {version} stops at 80 % with error E-214 on two of our
        {machine} units. They still run on the old version. Is it safe to try again?""",
        "Product question",
    ),
    _t(
        "Spare parts list for the {machine}",
        """Our maintenance team wants to keep the usual wear parts in stock. Could you
        send the spare parts list of the {machine}, with part numbers and prices?""",
        "Product question",
    ),
    _t(
        "Does the Orbit sensor kit work with a 24 V supply?",
        """We want to fit Orbit sensor kits to machines that only have a 24 V DC supply.
        Does the kit support that, or do we need an adapter?""",
        "Product question",
    ),
    _t(
        "Daily export of the Nova 3 measurement logs",
        """We need to import the Nova 3 measurement logs into our quality system every
        day. Is there a scheduled export, or an API we can call?""",
        "Product question",
    ),
    _t(
        "Error E-117 on the {machine} display",
        """Since yesterday the {machine} on line {n} shows error E-117 after about an
        hour of running. It restarts fine, then the error comes back.""",
        "Product question",
    ),
    _t(
        "Mounting the {machine} in a 19-inch rack",
        """We want to mount the {machine} in a standard 19-inch rack. Is there a rack
        kit, and what clearance does it need for ventilation?""",
        "Installation",
    ),
    _t(
        "Orbit sensors not detected after installation",
        """We installed the sensor kit following the quick start guide, but the gateway
        does not list any sensor. The LEDs on the sensors blink green twice.""",
        "Installation",
    ),
    _t(
        "Network ports needed for Atlas Cloud",
        """Our IT department needs the list of outgoing ports and host names that the
        Atlas Cloud connector uses before they open the firewall.""",
        "Installation",
    ),
    _t(
        "Where is order {order}?",
        """Order {order} was confirmed for delivery last week, but nothing has arrived
        and the tracking link shows no update since Tuesday.""",
        "Delivery",
    ),
    _t(
        "Please change the delivery address of order {order}",
        """Please deliver order {order} to our warehouse instead of the head office:
        same city, gate 4. As far as I know it has not shipped yet.""",
        "Delivery",
    ),
    _t(
        "Delivery note missing from shipment {order}",
        """Shipment {order} arrived today without a delivery note, so our goods receipt
        cannot book it. Could you email the delivery note?""",
        "Delivery",
    ),
)

BUGS = (
    _t(
        "Atlas Cloud: CSV export drops accented characters",
        """Names like Müller or Gonçalves come out as M?ller in the CSV export. Reproduced
        with Excel and LibreOffice; the XLSX export is fine.""",
    ),
    _t(
        "Dashboard totals show yesterday's figures after midnight",
        """Between midnight and 2:00 the dashboard still shows the totals of the day
        before. It looks like the day is computed in UTC, not in the customer's zone.""",
    ),
    _t(
        "PDF report cuts off the last column in landscape mode",
        """The monthly report in landscape mode loses its last column (the totals). Portrait
        mode is fine. Happens with more than eight columns.""",
    ),
    _t(
        "Orbit gateway stops syncing after 24 hours",
        """Gateways on firmware {version} stop sending data after about 24 hours. A
        restart fixes it until the next day. Three customers report it.""",
    ),
    _t(
        "Mobile app crashes when opening an order without lines",
        """Opening an order that has no lines yet (a draft) crashes the Android app.
        iOS shows an empty order as expected.""",
    ),
    _t(
        "Search does not find orders by the customer's reference",
        """Typing the customer's own order reference into the search box finds nothing;
        only our order numbers work.""",
    ),
    _t(
        "Scheduled exports run an hour late since the clock change",
        """Since the daylight saving change, exports scheduled for 6:00 arrive at 7:00.""",
    ),
    _t(
        "{machine} fan runs at full speed after standby",
        """After waking up from standby, the fan of the {machine} stays at full speed until
        a restart. Seen on firmware {version}.""",
    ),
    _t(
        "Password reset link expires after five minutes",
        """The reset link should stay valid for 24 hours, but it expires after five minutes,
        so customers who read their mail later cannot use it.""",
    ),
    _t(
        "Invoice PDF shows the wrong currency symbol for CHF",
        """Invoices in Swiss francs show the euro sign in the totals, although the amounts
        are right.""",
    ),
)

CLAIMS = (
    _t(
        "Damaged pallet on delivery {order}",
        """Two of the {qty} units on the pallet arrived with broken housings. The stretch
        film was torn and the tilt indicator had triggered. We sent photos by email.""",
        "Transport damage",
        claim_product="{machine}",
        root_cause="""The pallet was not strapped and travelled at the back of the truck; the
        carrier's driver confirmed a hard braking.""",
        corrective_action="Replacement units shipped by express; claim filed with the carrier.",
        preventive_action="""Straps and corner boards are now required for machine pallets;
        packing instruction PI-07 updated.""",
    ),
    _t(
        "{qty} Orbit sensors with cracked housings",
        """{qty} sensors from batch {batch} have hairline cracks next to the cable gland.
        Moisture got into two of them.""",
        "Product defect",
        claim_product="Orbit sensor kit, batch {batch}",
        root_cause="""Batch {batch} was moulded with too short a cooling time after a tool
        change.""",
        corrective_action="Batch {batch} blocked; the customer's stock replaced.",
        preventive_action="""Cooling time locked in the machine recipe; first-article check
        after every tool change.""",
    ),
    _t(
        "Wrong item delivered for order {order}",
        """We ordered the {machine} and received the previous model instead. Our
        installation is planned for next week.""",
        "Wrong delivery",
        claim_product="{machine}",
        root_cause="Picking error: two articles with similar numbers in neighbouring bins.",
        corrective_action="The right item shipped by express; the wrong one collected.",
        preventive_action="Bins separated; barcode scan at picking made mandatory.",
    ),
    _t(
        "Wrong serial numbers on the labels of batch {batch}",
        """The serial numbers on the labels of batch {batch} do not match the ones in the
        test certificates, so our incoming inspection rejected the whole batch.""",
        "Documentation",
        claim_product="Nova 3, batch {batch}",
        root_cause="""The label template still used the old serial range after the label
        printer was replaced.""",
        corrective_action="Labels reprinted and sent; batch released after checking.",
        preventive_action="Label template under change control; check of the first label.",
    ),
    _t(
        "Late delivery stopped the customer's production line",
        """Order {order} arrived four days after the confirmed date. The line waited for the
        parts for two shifts, and the customer asks for compensation.""",
        "Late delivery",
        claim_product="Spare parts for the {machine}",
        root_cause="""The order was confirmed with a lead time our supplier could not meet;
        nobody was alerted when the purchase order slipped.""",
        corrective_action="Partial delivery by courier; a credit for the downtime agreed.",
        preventive_action="Daily report of purchase orders late against customer dates.",
    ),
    _t(
        "{machine} units fail the leak test on arrival",
        """{qty} of the {machine} units we received fail our incoming leak test at 2 bar.
        The units were not opened.""",
        "Product defect",
        claim_product="{machine}",
        root_cause="An O-ring of the wrong hardness was fitted after a supplier change.",
        corrective_action="Units reworked on site with the right O-rings.",
        preventive_action="O-ring hardness added to the incoming inspection plan.",
    ),
    _t(
        "Calibration certificates missing for {qty} Nova 3 units",
        """The delivery of {qty} Nova 3 units came without calibration certificates; we
        cannot put them into service without them.""",
        "Documentation",
        claim_product="Nova 3",
        root_cause="The certificates were generated but not added to the shipping documents.",
        corrective_action="Certificates emailed the same day; originals sent by post.",
        preventive_action="Shipping checklist now lists the certificates per serial number.",
    ),
    _t(
        "Scratched front panels on {qty} X200 units",
        """{qty} X200 units from order {order} have scratches on the front panel, visible
        from a metre away. The customer wants new panels.""",
        "Transport damage",
        claim_product="X200",
        root_cause="The protective film was left off at final assembly on one shift.",
        corrective_action="New front panels sent; fitted by the customer's maintenance team.",
        preventive_action="Protective film added to the final-assembly checklist.",
    ),
)

SUPPLIER_CLAIMS = (
    _t(
        "Supplier batch {batch}: sensor boards out of tolerance",
        """Incoming inspection found {qty} sensor boards of batch {batch} outside the
        tolerance of the reference voltage.""",
        "Supplier non-conformity",
        claim_subject="supplier",
        claim_product="Sensor board SB-4, batch {batch}",
        root_cause="""The supplier changed the reference diode to a second source without
        telling us.""",
        corrective_action="Batch returned; replacement boards tested at 100 %.",
        preventive_action="Change notification clause added to the supplier agreement.",
    ),
    _t(
        "Corroded connector pins in delivery {order}",
        """The connectors of delivery {order} show corrosion on the pins. They were packed
        without desiccant.""",
        "Supplier non-conformity",
        claim_subject="supplier",
        claim_product="Connector C-12",
        root_cause="Packed without desiccant and stored outdoors at the forwarder.",
        corrective_action="Delivery rejected; replacement received within a week.",
        preventive_action="Packing specification with desiccant sent to the supplier.",
    ),
    _t(
        "Housings delivered in the wrong colour",
        """{qty} housings came in RAL 7035 instead of RAL 7016. Assembly cannot use them for
        the current orders.""",
        "Supplier non-conformity",
        claim_subject="supplier",
        claim_product="Housing H-400",
        root_cause="The supplier worked from an old drawing revision.",
        corrective_action="Housings repainted at the supplier's cost.",
        preventive_action="Drawing revision now printed on each purchase order.",
    ),
    _t(
        "Certificate of conformity missing for batch {batch}",
        """Batch {batch} arrived without its certificate of conformity; it sits in the
        blocked stock.""",
        "Supplier non-conformity",
        claim_subject="supplier",
        claim_product="Batch {batch}",
    ),
)

QUALITY_INTERNAL = (
    _t(
        "Internal audit: calibration records incomplete in the workshop",
        """The internal audit found six gauges in the workshop without a calibration record
        for the last period.""",
        "Internal audit",
        root_cause="Calibration dates were tracked in a spreadsheet nobody owned.",
        corrective_action="All six gauges calibrated; records completed.",
        preventive_action="Gauges now tracked in the maintenance system with reminders.",
    ),
    _t(
        "Repeated packing damage: analysis of the last six months",
        """Transport damage claims doubled in the last six months. Analyse the claims by
        carrier, route and packing type.""",
        "Customer complaint",
    ),
    _t(
        "Trend: complaints about Orbit sensor housings",
        """Three customers reported cracked sensor housings this quarter. Check whether the
        cases share a batch or a supplier.""",
        "Customer complaint",
    ),
    _t(
        "Deviation: final test skipped on the night shift",
        """The test logs show that {qty} units left final test without the leak test on the
        night shift of the {n}th.""",
        "Process deviation",
        root_cause="The test station was down and units were released to keep the schedule.",
        corrective_action="The units traced at the customers and tested on site.",
        preventive_action="Release is blocked in the system without a test record.",
    ),
)

LEADS = (
    _t(
        "Trade fair contact: {machine} for {n} sites",
        """Met at our booth. They run older machines at {n} sites and want to standardise on
        the {machine}. Asked for a visit in the coming weeks.""",
        "Trade fair",
    ),
    _t(
        "Website enquiry: demo of Atlas Cloud",
        """Form on the website: "We are looking for a way to see the state of all our machines
        in one place. Can you show us Atlas Cloud?" """,
        "Website enquiry",
    ),
    _t(
        "Referral: maintenance contract for {n} machines",
        """Recommended by one of our customers. They need a maintenance contract with a
        four-hour response time for {n} machines.""",
        "Referral",
    ),
    _t(
        "Quote request: Orbit sensor kits for a pilot line",
        """They want to equip one pilot line with Orbit sensor kits before deciding on the
        whole plant. About {qty} sensors.""",
        "Website enquiry",
    ),
    _t(
        "Webinar attendee asked for pricing",
        """Attended the webinar on predictive maintenance and asked for the price list of the
        sensor kits and the Atlas Cloud plans.""",
        "Website enquiry",
    ),
    _t(
        "Replacing an old competitor system",
        """Their current test benches are out of support next year. They are collecting offers
        for {n} replacements.""",
        "Tender",
    ),
    _t(
        "Public tender: test equipment for the regional labs",
        """Tender published for {n} test benches with five years of service. Documents due in
        six weeks.""",
        "Tender",
    ),
    _t(
        "Existing customer: second plant needs {machine} units",
        """The buyer mentioned that their second plant will need {n} {machine} units next
        year.""",
        "Existing customer",
    ),
)

OPPORTUNITIES = (
    _t(
        "{n} × {machine} for the new production hall",
        """New hall planned; {n} {machine} units with installation and operator training.""",
        "Existing customer",
    ),
    _t(
        "Atlas Cloud subscription for {users} users",
        """Three-year subscription for {users} users, with the ERP connector.""",
        "Website enquiry",
    ),
    _t(
        "Maintenance contract for {n} machines",
        """Full-service contract, four-hour response time, spare parts included.""",
        "Referral",
    ),
    _t(
        "Retrofit of {n} X200 lines with Orbit sensors",
        """Sensor retrofit of {n} lines with the Atlas Cloud dashboard for the plant manager.""",
        "Existing customer",
    ),
    _t(
        "Framework agreement for Orbit sensor kits",
        """Yearly volume of about {qty} kits, with call-off orders per site.""",
        "Tender",
    ),
    _t(
        "Replacing {n} legacy testers with the Nova 3",
        """Their testers are out of support; the Nova 3 with data export to their quality
        system.""",
        "Trade fair",
    ),
    _t(
        "Operator training package for {n} people",
        """Two-day training on site for {n} operators and a train-the-trainer session.""",
        "Existing customer",
    ),
    _t(
        "Extending Atlas Cloud to the {site} site",
        """The {site} site joins the existing subscription, with {users} more users.""",
        "Existing customer",
    ),
)

SERVICES = (
    _t(
        "Annual maintenance of {n} {machine} units",
        """Yearly maintenance as per contract: filters, belts, calibration and a safety
        check.""",
        "Maintenance",
    ),
    _t(
        "Repair: noisy spindle on the {machine}",
        """The spindle of the {machine} on line {n} makes a grinding noise above 3,000 rpm.
        Bearings probably worn.""",
        "Repair",
    ),
    _t(
        "Installation of {n} Orbit sensor kits",
        """Mount and commission {n} sensor kits and connect the gateway to Atlas Cloud.""",
        "Installation",
    ),
    _t(
        "Inspection after a damage claim",
        """Inspect the delivered units on site and confirm which parts must be replaced.""",
        "Inspection",
    ),
    _t(
        "Operator training on the {machine}",
        """Half-day training on the {machine} for {n} operators of the early shift.""",
        "Training",
    ),
    _t(
        "Replace the worn drive belt on the {machine}",
        """Drive belt slips under load; replace the belt and check the tensioner.""",
        "Repair",
    ),
    _t(
        "Commissioning of the new Nova 3 test bench",
        """Commission the Nova 3, run the acceptance test with the customer and hand over
        the documents.""",
        "Installation",
    ),
)

CALLS = (
    _t("Follow-up call on quote {quote}", "Check whether the quote is clear and when they decide."),
    _t("Call back about the Atlas Cloud trial", "The trial ends next week; ask for feedback."),
    _t("Quarterly check-in call", "Usage, open issues, and plans for the next quarter."),
    _t("Call: delivery dates for the framework order", "Confirm the call-off dates per site."),
    _t("Reference call with an existing customer", "Connect the prospect with a reference user."),
    _t("Call about renewing the maintenance contract", "Contract ends in two months; renew."),
)

MEETINGS = (
    _t("Atlas Cloud demo for the purchasing team", "Live demo with their own machine data."),
    _t("Negotiation meeting: framework agreement", "Prices, volumes and the call-off process."),
    _t("Quarterly business review", "Figures of the quarter, service levels, next steps."),
    _t("Kick-off meeting for the roll-out", "Plan, people and dates of the roll-out."),
    _t("Plant visit: requirements for the sensor retrofit", "Walk the lines with maintenance."),
    _t("Contract signature and handover", "Sign the contract; hand over to project delivery."),
    _t("Workshop: connecting Atlas Cloud to the ERP", "Interfaces, fields and responsibilities."),
)

# claimant, subject, amount, currency, category
EXPENSES = (
    ("Train ticket Hamburg–Munich for a customer visit", "189.40", "EUR", "Travel"),
    ("Hotel, two nights, trade fair in Hanover", "412.00", "EUR", "Accommodation"),
    ("Dinner with the customer after the Atlas Cloud demo", "146.80", "EUR", "Meals"),
    ("Taxi from the airport to the customer's plant", "58.50", "EUR", "Travel"),
    ("Flight to Chicago for the trade show", "1284.00", "USD", "Travel"),
    ("Hotel in Chicago, three nights", "687.00", "USD", "Accommodation"),
    ("USB-C docking station for the home office", "219.00", "EUR", "Equipment"),
    ("Online course: advanced spreadsheets", "129.00", "EUR", "Training"),
    ("Parking at Frankfurt airport, four days", "96.00", "EUR", "Travel"),
    ("Rental car for the service tour in Bavaria", "264.30", "EUR", "Travel"),
    ("Lunch with the Nova 3 pilot customer", "78.20", "EUR", "Meals"),
    ("Conference ticket: Field Service Summit in Boston", "895.00", "USD", "Training"),
    ("Mileage: 412 km with my own car for service visits", "123.60", "EUR", "Travel"),
    ("Safety shoes for site visits", "89.90", "EUR", "Equipment"),
    ("Rides between customer sites in New York", "74.25", "USD", "Travel"),
)

NOTES = {
    "Login and access": (
        "Checked the logs: the account was locked by the brute-force protection at 08:12.",
        "The SSO certificate on their side expired yesterday; their IT is renewing it.",
        "Called the customer and walked her through the reset; works now.",
    ),
    "Invoices and billing": (
        "Asked accounting to check the payment on their side.",
        "Accounting confirms the double debit; the refund goes out with Friday's run.",
        "Corrected invoice created; the old one is cancelled.",
    ),
    "Product question": (
        "Known issue with firmware {version}; the fix is in the next release.",
        "Sent the question to product management, they answer within two days.",
        "Customer is a Gold partner: keep to the four-hour response time.",
    ),
    "Installation": (
        "The gateway was on a VLAN without internet access; their IT moved it.",
        "Offered a remote session for tomorrow at 10:00.",
    ),
    "Delivery": (
        "The carrier confirms the parcel is held at the depot for a missing house number.",
        "Order is on the truck today; tracking updated.",
    ),
    "Bug report": (
        "Reproduced on the test system; ticket filed for the next sprint.",
        "Workaround sent to the customers who reported it.",
        "Fix deployed on staging; waiting for the customer to confirm.",
    ),
    "claim": (
        "Photos received; the damage is consistent with a drop from the forklift.",
        "8D report sent to the customer.",
        "The carrier accepted liability for the damage.",
        "Checked the retained samples: same defect on two of five.",
    ),
    "sales": (
        "Budget approved on their side for next quarter.",
        "A competitor is 8 % cheaper; we stay on value: service network and uptime.",
        "The decision maker is the plant manager, not purchasing.",
        "Sent the revised quote with the volume discount.",
        "They want a reference visit before signing.",
    ),
    "service": (
        "Parts ordered: drive belt and two bearings.",
        "Access badge requested at the gate for the technician.",
        "Customer asks to start after the early shift, at 14:00.",
    ),
}

REPLIES = {
    "Login and access": (
        "Thank you for your message. We have unlocked your account; please try again and "
        "tell us if the problem remains.",
        "We are looking into it and will come back to you within the hour.",
    ),
    "Invoices and billing": (
        "Thank you, we are checking this with our accounting department and will come back "
        "to you by tomorrow.",
        "The corrected invoice is on its way by email. Sorry for the trouble.",
    ),
    "Product question": (
        "Could you send us the serial number of the unit and a photo of the display?",
        "Please find the instructions below. If the update stops again, send us the log "
        "file from the service menu.",
    ),
    "Installation": (
        "The connector needs outgoing HTTPS (port 443) to our cloud; the full list of host "
        "names is in the installation guide, chapter 3.",
        "Could we have a short remote session tomorrow to look at the gateway together?",
    ),
    "Delivery": (
        "Your order left our warehouse today; the tracking number is in the shipping confirmation.",
        "We have changed the delivery address; the order ships tomorrow.",
    ),
    "Bug report": (
        "Thank you for reporting this. We have reproduced it and will ship a fix in the "
        "next update; until then, please use the XLSX export.",
    ),
    "claim": (
        "We are sorry for the trouble. Replacement parts are on their way; we will send "
        "you our analysis within ten working days.",
        "Could you send us photos of the labels and the packaging?",
    ),
}

SOLUTIONS = {
    "Login and access": ("Solved: the customer confirmed she can log in again.",),
    "Invoices and billing": ("Credit note issued and sent.", "Corrected invoice sent."),
    "Product question": ("Answered; the customer is happy with the instructions.",),
    "Installation": ("Installed and running; customer confirmed.",),
    "Delivery": ("Delivered; customer confirmed receipt.",),
    "Bug report": ("Fixed in release {version}.",),
    "claim": ("Actions verified as effective; claim closed.",),
}
CANCEL_NOTES = (
    "The customer withdrew the request.",
    "No answer after three reminders.",
    "Opened twice by mistake.",
)
PENDING_NOTES = (
    "Waiting for the customer's screenshots.",
    "Waiting for the customer to test the fix.",
    "Waiting for the serial number.",
)
LOST = (
    "Lost on price to a local competitor.",
    "Project postponed to next year.",
    "They keep their old system for now.",
    "No budget after their reorganisation.",
)
WON = ("Order received; handed over to project delivery.", "Signed today.")
LEAD_DONE = ("Qualified: turned into an opportunity.",)
LEAD_CANCEL = ("Not interested after all.", "No budget this year.", "Student project.")
NEXT_ACTIONS = (
    "Send the revised quote",
    "Call the plant manager",
    "Prepare the reference visit",
    "Follow up on the decision",
    "Send the contract draft",
)
REPORTS = {
    "Maintenance": "Done: filters and belts replaced, recalibrated; back in production.",
    "Repair": "Done: worn parts replaced and tested under load; customer signed the report.",
    "Installation": "Done: installed and commissioned; the customer signed the acceptance.",
    "Inspection": "Done: inspected; two panels to replace, parts ordered under the claim.",
    "Training": "Done: training given; attendance list attached to the report.",
}
MEETING_REPORTS = (
    "Good meeting; they want the quote by the end of the month.",
    "Agreed on the next steps; minutes sent to all participants.",
    "They will decide after their budget meeting.",
)
SITES = ("Lyon", "Porto", "Gdańsk", "Pune", "Monterrey", "Kraków", "Tianjin", "Leeds")
REJECTIONS = (
    "Please attach the itemised receipt, not the card slip.",
    "Business class is not covered by the travel policy; resubmit the economy fare.",
)

# --------------------------------------------------------------------------
# Building the plan


class _Builder:
    """Draws the demo cases from one seeded random generator, in a fixed order."""

    def __init__(self, *, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data must be deterministic
        self.plan = DemoCasesPlan(sections=SECTIONS, type_sections=dict(TYPE_SECTIONS))

    # ------------------------------------------------------------------ helpers

    def fills(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "machine": rng.choice(MACHINES),
            "product": rng.choice(PRODUCTS),
            "invoice": f"INV-{rng.randint(10000, 99999)}",
            "order": f"SO-{rng.randint(100000, 999999)}",
            "rma": f"RMA-{rng.randint(1000, 9999)}",
            "batch": f"B{rng.randint(20, 26)}-{rng.randint(100, 999)}",
            "quote": f"Q-{rng.randint(10000, 99999)}",
            "version": f"4.{rng.randint(1, 9)}.{rng.randint(0, 5)}",
            "qty": rng.choice((3, 4, 5, 6, 8, 12, 20, 24, 40, 60)),
            "n": rng.randint(2, 12),
            "users": rng.choice((15, 25, 40, 60, 120, 250)),
            "site": rng.choice(SITES),
        }

    def text(self, template: str, fills: dict[str, Any]) -> str:
        return " ".join(template.format(**fills).split())

    def priority(self) -> int:
        return self.rng.choices((1, 2, 3, 4, 5), weights=(4, 18, 52, 19, 7))[0]

    def pick(self, pool: str) -> PartnerPick:
        return PartnerPick(pool, self.rng.randrange(1_000_000))

    def quotas(self, **counts: int) -> list[str]:
        states = [state for state, count in counts.items() for _ in range(count)]
        self.rng.shuffle(states)
        return states

    def add(self, spec: CaseSpec) -> CaseSpec:
        spec.key = len(self.plan.cases)
        self.plan.cases.append(spec)
        return spec

    def new(self, case_type: str, template: Template, **kwargs: Any) -> CaseSpec:
        fills = self.fills()
        values: dict[str, Any] = {name: self.text(value, fills) for name, value in template.extra}
        values.update(kwargs.pop("values", {}))
        values.setdefault("priority", self.priority())
        return self.add(
            CaseSpec(
                key=0,
                case_type=case_type,
                section=kwargs.pop("section", TYPE_SECTIONS[case_type]),
                subject=self.text(template.subject, fills),
                description=self.text(template.description, fills),
                by=kwargs.pop("by", None),
                category=kwargs.pop("category", template.category),
                values=values,
                **kwargs,
            )
        )

    def times(
        self, spec: CaseSpec, state: str, *, open_days: float, long_ago: bool = False
    ) -> None:
        """Creation and last activity: closed cases over the past year (some this
        week), active ones open for about *open_days* (longer for a sale than for a
        helpdesk request)."""
        rng = self.rng
        if state in CLOSED_STATES:
            if rng.random() < 0.12 and not long_ago:
                spec.this_week = rng.uniform(0.05, 0.95)
                spec.span = rng.uniform(2 * HOUR, 12 * DAY)
                return
            spec.span = rng.uniform(2 * HOUR, 20 * DAY)
            spec.age = spec.span + rng.uniform(8 * DAY, 365 * DAY)
        elif state == CaseState.DRAFT:
            spec.age = rng.uniform(0.5 * HOUR, 3 * DAY)
            spec.span = 0
        else:
            spec.age = min(rng.expovariate(1 / (open_days * DAY)) + 2 * HOUR, 240 * DAY)
            spec.span = spec.age * rng.uniform(0.3, 0.95)

    def flow(
        self,
        spec: CaseSpec,
        state: str,
        *,
        kind: str,
        resp: str | None,
        reply: bool = True,
    ) -> None:
        """The steps of a service-desk case (helpdesk, bug, claim) to reach *state*."""
        rng = self.rng
        section = spec.section
        work = WORK_STAGES.get(section, ())
        if state == CaseState.DRAFT:
            return
        if state == CaseState.CANCEL and rng.random() < 0.5:
            spec.steps.append(Step("cancel", resp, rng.choice(CANCEL_NOTES)))
            return
        spec.steps.append(Step("open", resp))
        if state == CaseState.CANCEL:
            spec.steps.append(Step("cancel", resp, rng.choice(CANCEL_NOTES)))
            return
        # One move to the furthest work stage reached (a claim always records it).
        reached = len(work) if state == CaseState.DONE else rng.randint(0, len(work))
        if reached and (state != CaseState.DONE or kind == "claim" or rng.random() < 0.4):
            spec.steps.append(Step("stage", resp, arg=work[reached - 1]))
            if rng.random() < 0.5:
                self.note(spec, resp, kind)
        if reply and spec.partner is not None and rng.random() < 0.6:
            spec.steps.append(Step("reply", resp, rng.choice(REPLIES.get(kind, REPLIES["claim"]))))
        if rng.random() < 0.4:
            self.note(spec, resp, kind)
        if state == CaseState.PENDING:
            if section in WAITING_STAGE:
                spec.steps.append(Step("stage", resp, arg=WAITING_STAGE[section]))
            spec.steps.append(Step("pending", resp, rng.choice(PENDING_NOTES)))
        elif state == CaseState.DONE:
            if section in DONE_STAGE:
                spec.steps.append(Step("stage", resp, arg=DONE_STAGE[section]))
            solution = rng.choice(SOLUTIONS.get(kind, SOLUTIONS["claim"]))
            spec.steps.append(Step("close", resp, solution.format(**self.fills())))

    def note(self, spec: CaseSpec, by: str | None, kind: str) -> None:
        if by is None:
            return
        body = self.rng.choice(NOTES.get(kind, NOTES["claim"])).format(**self.fills())
        spec.steps.append(Step("note", by, body))

    def deadline(self, spec: CaseSpec, state: str, *, late: bool) -> None:
        if state not in (CaseState.OPEN, CaseState.PENDING):
            return
        if late:
            spec.deadline = -self.rng.uniform(4 * HOUR, 5 * DAY)
            spec.age = max(spec.age, -spec.deadline + self.rng.uniform(1 * DAY, 6 * DAY))
            spec.span = spec.age * self.rng.uniform(0.3, 0.9)
        elif self.rng.random() < 0.45:
            spec.deadline = self.rng.uniform(6 * HOUR, 12 * DAY)

    # ------------------------------------------------------------------ types

    def helpdesk(self) -> None:
        rng = self.rng
        states = self.quotas(draft=9, open=29, pending=12, done=37, cancel=6)
        late_for = {"bob": 3, "chen": 2}
        open_for_bob = 0
        for index, state in enumerate(states):
            template = rng.choice(HELPDESK)
            portal = index < 4  # the portal persona's company has a few requests
            pool = "portal" if portal else "private" if rng.random() < 0.15 else "customer"
            resp = (
                None
                if state == CaseState.DRAFT
                else rng.choices(("bob", "chen", "maria"), weights=(45, 42, 13))[0]
            )
            if state == CaseState.OPEN and open_for_bob < 6:
                resp, open_for_bob = "bob", open_for_bob + 1
            channel = (
                "portal"
                if portal
                else rng.choices(("email", "phone", "web", "chat"), weights=(60, 22, 12, 6))[0]
            )
            by = None if channel in {"email", "web", "portal"} else resp
            spec = self.new(
                "helpdesk",
                template,
                by=by,
                responsible=resp if by else None,
                partner=self.pick(pool),
                values={"channel": channel},
            )
            if spec.values["priority"] <= 2 and resp and resp != "maria" and rng.random() < 0.5:
                spec.watchers = ("maria",)
            self.times(spec, state, open_days=10)
            late = bool(resp and late_for.get(resp) and state == CaseState.OPEN)
            if late and resp:
                late_for[resp] -= 1
            self.deadline(spec, state, late=late)
            self.flow(spec, state, kind=template.category, resp=resp)
            if rng.random() < 0.1 and state not in CLOSED_STATES and resp:
                spec.steps.append(Step("watch", resp, arg="@purchasing"))
        self.escalations(
            [s for s in self.plan.cases if s.case_type == "helpdesk"], count=3, note_to="SUPPORT"
        )
        self.merges()

    def escalations(self, specs: list[CaseSpec], *, count: int, note_to: str) -> None:
        """Some open cases go up to the parent section (and its responsible)."""
        candidates = [
            s
            for s in specs
            if s.steps
            and s.steps[-1].action in {"open", "stage", "note", "reply"}
            and _opener(s) not in {None, "maria"}
            and (s.deadline is None or s.deadline > 0)
        ]
        for spec in self.rng.sample(candidates, min(count, len(candidates))):
            spec.values["priority"] = min(spec.values["priority"], 2)
            spec.steps.append(
                Step(
                    "escalate",
                    _opener(spec),
                    "The customer threatens to cancel the contract; this needs a decision "
                    "above my level."
                    if note_to == "SUPPORT"
                    else "Same defect at several customers: needs a root-cause analysis.",
                )
            )

    def merges(self) -> None:
        """Two customers wrote twice about the same thing: the second case is merged
        into the first while it is being worked on."""
        keeps = [
            s
            for s in self.plan.cases
            if s.case_type == "helpdesk"
            and s.by is None
            and s.steps
            and s.steps[-1].action in {"open", "stage", "note", "reply"}
            and _opener(s) is not None
            and s.partner is not None
            and s.partner.pool != "portal"
        ]
        for keep in self.rng.sample(keeps, min(2, len(keeps))):
            merged_at = keep.age - keep.span  # hours ago: the keeper's last activity
            age = merged_at + keep.span * self.rng.uniform(0.2, 0.8)
            drop = self.add(
                CaseSpec(
                    key=0,
                    case_type="helpdesk",
                    section="SUPPORT",
                    subject=f"Re: {keep.subject}",
                    description="Any news on this? I wrote to you about it a few days ago. "
                    + keep.description,
                    by=None,
                    category=keep.category,
                    partner=keep.partner,
                    values={"priority": keep.values["priority"], "channel": "email"},
                    age=age,
                    span=age - merged_at,
                )
            )
            self.plan.merges.append(MergeSpec(keep=keep.key, drop=drop.key, by=_opener(keep) or ""))

    def bugs(self) -> None:
        rng = self.rng
        for state in self.quotas(open=5, pending=2, done=5, cancel=2):
            resp = rng.choices(("chen", "bob", "maria"), weights=(50, 30, 20))[0]
            with_customer = rng.random() < 0.7
            spec = self.new(
                "bug",
                rng.choice(BUGS),
                by=resp,
                responsible=resp,
                category="Bug report",
                partner=self.pick("customer") if with_customer else None,
                values={"channel": "email" if with_customer else "other"},
            )
            self.times(spec, state, open_days=30)
            self.deadline(spec, state, late=False)
            if state == CaseState.CANCEL:
                spec.steps.append(Step("open", resp))
                spec.steps.append(
                    Step("cancel", resp, "Cannot reproduce with the customer's data.")
                )
                continue
            self.flow(spec, state, kind="Bug report", resp=resp)

    def claims(self) -> None:
        rng = self.rng
        specs = []
        for state in self.quotas(draft=1, open=8, pending=2, done=8, cancel=1):
            template = rng.choice(CLAIMS)
            resp = None if state == CaseState.DRAFT else rng.choice(("bob", "chen", "chen"))
            spec = self.new(
                "claim",
                template,
                by=None if state == CaseState.DRAFT else resp,
                responsible=resp,
                partner=self.pick("customer"),
                values={"claim_subject": "customer", "channel": "email"},
            )
            capa = _pop_capa(spec)
            self.times(spec, state, open_days=25)
            self.deadline(spec, state, late=False)
            self.flow(spec, state, kind="claim", resp=resp)
            self.capa(spec, capa)
            specs.append(spec)
        self.escalations(
            [s for s in specs if s.responsible == "bob"] or specs, count=2, note_to="CLAIMS"
        )
        escalated = [s for s in specs if s.steps and s.steps[-1].action == "escalate"]
        if escalated:
            # The first goes on up to management: the top of the chain.
            escalated[0].steps.append(
                Step("note", "maria", "Several key accounts hit: escalating.")
            )
            escalated[0].steps.append(Step("escalate", "maria", "Needs a goodwill decision."))
        for state in self.quotas(open=4, pending=1, done=3):
            supplier = rng.random() < 0.6
            template = rng.choice(SUPPLIER_CLAIMS if supplier else QUALITY_INTERNAL)
            resp = rng.choice(("maria", "chen"))
            spec = self.new(
                "claim",
                template,
                section="QUALITY",
                by=resp,
                responsible=resp,
                partner=self.pick("supplier") if supplier else None,
                values={"channel": "other"},
                watchers=("maria",) if resp == "chen" else (),
            )
            capa = _pop_capa(spec)
            self.times(spec, state, open_days=40)
            self.flow(spec, state, kind="claim", resp=resp, reply=supplier)
            self.capa(spec, capa)

    def capa(self, spec: CaseSpec, fields: dict[str, str]) -> None:
        """Root cause, then corrective and preventive action, are filled in as the
        claim moves through the work stages: with the move to the stage reached."""
        work = WORK_STAGES[spec.section]
        moves = [s for s in spec.steps if s.action == "stage" and s.arg in work]
        if not moves or not fields:
            return
        names = ("root_cause", "corrective_action", "preventive_action")
        reached = names[: work.index(moves[-1].arg) + 1]
        moves[-1].values.update({name: fields[name] for name in reached if name in fields})

    def leads(self) -> None:
        rng = self.rng
        for state in self.quotas(draft=3, open=11, pending=2, done=4, cancel=4):
            template = rng.choice(LEADS)
            resp = None if state == CaseState.DRAFT else rng.choice(("maria", "bob", "chen"))
            web = template.category in {"Website enquiry", "Tender"} or state == CaseState.DRAFT
            spec = self.new(
                "lead",
                template,
                by=None if web else resp,
                responsible=None if web else resp,
                partner=self.pick("prospect" if rng.random() < 0.7 else "customer"),
                values={"channel": "web" if web else rng.choice(("phone", "in_person"))},
            )
            self.times(spec, state, open_days=30)
            if state == CaseState.DRAFT:
                continue
            spec.steps.append(Step("open", resp))
            if state == CaseState.CANCEL:
                spec.steps.append(Step("cancel", resp, rng.choice(LEAD_CANCEL)))
                continue
            if state == CaseState.DONE or rng.random() < 0.5:
                spec.steps.append(Step("stage", resp, arg="Qualified", values={"probability": 20}))
            self.note(spec, resp, "sales")
            if state == CaseState.PENDING:
                spec.steps.append(Step("pending", resp, "They come back after their budget round."))
            elif state == CaseState.DONE:
                spec.steps.append(Step("close", resp, LEAD_DONE[0]))

    def opportunities(self) -> None:
        rng = self.rng
        stages = next(s for s in SECTIONS if s.code == "SALES").stages
        states = self.quotas(
            new=8, qualified=12, proposition=14, negotiation=12, pending=3, won=8, lost=5
        )
        leads_done = [
            s
            for s in self.plan.cases
            if s.case_type == "lead" and s.steps and (s.steps[-1].action == "close")
        ]
        for outcome in states:
            template = rng.choice(OPPORTUNITIES)
            resp = rng.choices(("maria", "bob", "chen"), weights=(40, 32, 28))[0]
            revenue = Decimal(rng.choice((8, 12, 18, 24, 36, 48, 65, 90, 120, 180, 250)) * 1000)
            revenue += Decimal(rng.randrange(0, 20) * 250)
            margin = Decimal(rng.choice((45, 52, 58, 63, 70))) / 100
            state = {
                "won": CaseState.DONE,
                "lost": CaseState.CANCEL,
                "pending": CaseState.PENDING,
            }.get(outcome, CaseState.OPEN)
            spec = self.new(
                "opportunity",
                template,
                by=resp,
                responsible=resp,
                partner=self.pick("prospect" if rng.random() < 0.4 else "customer"),
                values={
                    "planned_revenue": revenue,
                    "planned_cost": (revenue * margin).quantize(Decimal("1")),
                    "currency": "EUR",
                    "channel": rng.choice(("email", "phone", "in_person")),
                },
            )
            self.times(spec, state, open_days=60)
            if state not in CLOSED_STATES:
                spec.expected_close = rng.randint(7, 120)
                if rng.random() < 0.6:
                    spec.next_action = (rng.uniform(-2 * DAY, 10 * DAY), rng.choice(NEXT_ACTIONS))
            if rng.random() < 0.3 and resp != "maria":
                spec.watchers = ("maria",)
            spec.steps.append(Step("open", resp))
            target = {
                "new": 0,
                "qualified": 1,
                "proposition": 2,
                "negotiation": 3,
                "pending": rng.randint(1, 3),
                "won": 4,
                "lost": rng.randint(0, 3),
            }[outcome]
            # Most are entered where they stand (after a first meeting, say); some
            # show every step of the pipeline on their timeline.
            walked = stages[1 : target + 1]
            if rng.random() < 0.7:
                entered = min(target, 3)  # a won one was entered in negotiation
                spec.stage = stages[entered].name
                spec.values["probability"] = stages[entered].probability
                walked = stages[entered + 1 : target + 1]
            for stage in walked:
                spec.steps.append(
                    Step("stage", resp, arg=stage.name, values={"probability": stage.probability})
                )
                if rng.random() < 0.35:
                    self.note(spec, resp, "sales")
            if outcome == "pending":
                spec.steps.append(Step("pending", resp, "On hold until their budget is approved."))
            elif outcome == "won":
                spec.steps.append(Step("close", resp, rng.choice(WON)))
            elif outcome == "lost":
                spec.steps.append(Step("cancel", resp, rng.choice(LOST)))
            if leads_done and outcome in {"qualified", "proposition"}:
                lead = leads_done.pop()
                self.plan.links.append(LinkSpec(case=spec.key, target=lead.key, by=resp))

    def scheduled(
        self,
        case_type: str,
        templates: Sequence[Template],
        *,
        weeks: dict[int, int],
        cancelled: int,
        minutes: Sequence[int],
    ) -> None:
        """Service visits, calls and meetings: *weeks* maps week offsets to counts."""
        rng = self.rng
        slots = [week for week, count in weeks.items() for _ in range(count)]
        slots += [rng.randint(-3, 1) for _ in range(cancelled)]
        for index, week in enumerate(slots):
            cancel = index >= len(slots) - cancelled
            template = rng.choice(templates)
            resp = rng.choices(("bob", "chen", "maria"), weights=(40, 40, 20))[0]
            if case_type == "service":
                resp = rng.choice(("bob", "chen"))
            start_hour = rng.choice((8, 9, 10, 11, 13, 14, 15, 16))
            schedule = Schedule(
                week=week,
                day=rng.randint(0, 4),
                hour=start_hour,
                minute=rng.choice((0, 0, 15, 30, 45)),
                minutes=rng.choice(minutes),
            )
            service = case_type == "service"
            spec = self.new(
                case_type,
                template,
                by=resp,
                responsible=resp,
                category=template.category,
                partner=self.pick("prospect" if rng.random() < 0.3 and not service else "customer"),
                values={"channel": "phone" if case_type == "call" else "in_person"},
                schedule=schedule,
                technician=resp if service else None,
                location=service or (case_type == "meeting" and rng.random() < 0.6),
                attendee_users=()
                if service
                else tuple(sorted({resp, *rng.sample(("maria", "bob", "chen", "alice"), 1)})),
            )
            spec.span = rng.uniform(1 * HOUR, 3 * DAY)
            spec.age = spec.span + rng.uniform(1 * DAY, 20 * DAY)
            spec.steps.append(Step("open", resp))
            if service:
                spec.stage = "Planned"  # it has a date, so it is planned from the start
            if rng.random() < 0.4:
                self.note(spec, resp, "service" if service else "sales")
            report = REPORTS[template.category] if service else rng.choice(MEETING_REPORTS)
            done = [Step("stage", resp, arg="Done")] if service else []
            done.append(Step("close", resp, report))
            if cancel:
                spec.steps.append(Step("cancel", resp, "The customer cancelled; to be replanned."))
            elif week < 0:
                spec.steps.extend(done)
            elif week == 0:
                spec.after_event = done

    def unscheduled_service(self) -> None:
        spec = self.new(
            "service",
            SERVICES[1],
            by=None,
            partner=self.pick("customer"),
            values={"channel": "email", "priority": 2},
            location=True,
        )
        spec.age, spec.span = 5 * HOUR, 0

    def expenses(self) -> None:
        rng = self.rng
        outcomes = self.quotas(
            draft=3, submitted=6, approved=4, reimbursed=6, rejected=2, withdrawn=1
        )
        for outcome in outcomes:
            subject, amount, currency, category = rng.choice(EXPENSES)
            claimant = rng.choices(("bob", "chen", "alice"), weights=(45, 40, 15))[0]
            state = {
                "draft": CaseState.DRAFT,
                "reimbursed": CaseState.DONE,
                "withdrawn": CaseState.CANCEL,
            }.get(outcome, CaseState.OPEN)
            spec = self.add(
                CaseSpec(
                    key=0,
                    case_type="expense",
                    section="FINANCE",
                    subject=subject,
                    description="Receipt attached to the claim; paid with my own card.",
                    by=claimant,
                    category=category,
                    responsible=claimant,
                    partner=PartnerPick(f"staff:{claimant}", 0),
                    values={
                        "amount": Decimal(amount),
                        "currency": currency,
                        "priority": 3,
                        "channel": "other",
                    },
                )
            )
            self.times(spec, state, open_days=7, long_ago=outcome != "reimbursed")
            if outcome == "draft":
                continue
            spec.steps.append(Step("open", claimant))
            if outcome == "withdrawn":
                spec.steps.append(Step("cancel", claimant, "Entered twice; withdrawn."))
                continue
            spec.steps.append(Step("submit", claimant))
            if outcome in {"approved", "reimbursed"}:
                spec.steps.append(Step("approve", "maria"))
            elif outcome == "rejected":
                spec.steps.append(Step("reject", "maria", rng.choice(REJECTIONS)))
            if outcome == "reimbursed":
                spec.steps.append(Step("stage", "maria", arg="Reimbursed"))
                spec.steps.append(Step("close", "maria", "Paid with this month's payroll."))


def _opener(spec: CaseSpec) -> str | None:
    """Who opens the case (and so becomes responsible, when nobody is)."""
    return next((step.by for step in spec.steps if step.action == "open"), None)


def _pop_capa(spec: CaseSpec) -> dict[str, str]:
    names = ("root_cause", "corrective_action", "preventive_action")
    return {name: spec.values.pop(name) for name in names if name in spec.values}


def demo_cases_plan(*, seed: int) -> DemoCasesPlan:
    """Build the demo sections and cases as plain data; the same seed gives the same plan."""
    builder = _Builder(seed=seed)
    builder.helpdesk()
    builder.bugs()
    builder.claims()
    builder.leads()
    builder.opportunities()
    builder.scheduled(
        "service",
        SERVICES,
        weeks={-6: 2, -4: 2, -2: 2, -1: 3, 0: 7, 1: 6, 2: 2},
        cancelled=1,
        minutes=(90, 120, 180, 240),
    )
    builder.unscheduled_service()
    builder.scheduled(
        "call", CALLS, weeks={-3: 1, -2: 2, -1: 2, 0: 5, 1: 3}, cancelled=1, minutes=(15, 30)
    )
    builder.scheduled(
        "meeting",
        MEETINGS,
        weeks={-5: 1, -2: 1, -1: 2, 0: 5, 1: 4, 2: 1},
        cancelled=1,
        minutes=(60, 90, 120),
    )
    builder.expenses()
    return builder.plan


# --------------------------------------------------------------------------
# Loading


def demo_cases_present() -> bool:
    """Whether the case setup or any case exists already (then the demo leaves it alone)."""
    return Section.objects.exists() or Case.objects.exists()


@dataclass
class _Times:
    created: datetime
    end: datetime  # the last activity of the case's own steps
    start: datetime | None = None  # of a scheduled case
    finish: datetime | None = None
    report_due: bool = False  # an event of this week that is over: close it with its report


def _times(spec: CaseSpec, *, now: datetime, monday: datetime) -> _Times:
    """The planned offsets as dates: the creation and the last activity of the case."""
    hour = timedelta(hours=1)
    latest = now - hour / 6
    last = spec.steps[-1].action if spec.steps else ""
    if spec.schedule is not None:
        slot = spec.schedule
        start = monday + timedelta(
            days=7 * slot.week + slot.day, hours=slot.hour, minutes=slot.minute
        )
        finish = start + timedelta(minutes=slot.minutes)
        report_due = bool(spec.after_event) and finish + hour < now
        if last == "cancel":  # called off before the event
            end = min(start - 3 * hour, latest)
            return _Times(end - hour * spec.age, end, start, finish)
        if last == "close" or report_due:  # planned a while before, closed after the event
            end = min(finish + 2 * hour, latest)
            created = min(start - hour * spec.age, end - hour)
            return _Times(created, end, start, finish, report_due)
        created = now - hour * spec.age
        return _Times(created, min(created + hour * spec.span, latest), start, finish)
    if spec.this_week is not None:
        end = monday + (now - monday) * spec.this_week
        return _Times(end - hour * spec.span, end)
    created = now - hour * spec.age
    end = created + hour * spec.span
    if last in {"close", "cancel"}:
        end = min(end, monday - hour)  # closed before this week
        created = min(created, end - hour)
    return _Times(created, min(end, latest))


class _Partners:
    """The stored partners the plan's picks resolve to (read once, ordered by id)."""

    def __init__(self, users: dict[str, User]) -> None:
        companies = Partner.objects.filter(
            kind=Partner.Kind.COMPANY, active=True, merged_into__isnull=True
        ).exclude(email__endswith=f"@{DOMAIN}")
        self.pools: dict[str, list[int]] = {
            "customer": list(companies.filter(is_customer=True).values_list("pk", flat=True)),
            "prospect": list(companies.filter(is_prospect=True).values_list("pk", flat=True)),
            "supplier": list(companies.filter(is_supplier=True).values_list("pk", flat=True)),
            "private": list(
                Partner.objects.filter(
                    kind=Partner.Kind.PERSON,
                    active=True,
                    is_customer=True,
                    memberships__isnull=True,
                )
                .exclude(email="")
                .values_list("pk", flat=True)
            ),
        }
        people = Partner.objects.filter(
            kind=Partner.Kind.PERSON, email__in=[u.email for u in users.values() if u.email]
        )
        by_email = {p.email: p.pk for p in people}
        for username, user in users.items():
            if user.email in by_email:
                self.pools[f"staff:{username}"] = [by_email[user.email]]
        self.contacts: dict[int, list[int]] = defaultdict(list)
        for company, person in (
            Membership.objects.filter(person__active=True, company__active=True)
            .order_by("company_id", "person_id")
            .values_list("company_id", "person_id")
        ):
            self.contacts[company].append(person)
        portal = users.get("paula")
        self.portal: tuple[int, int] | None = None
        if portal is not None and portal.email in by_email:
            person = by_email[portal.email]
            employer = (
                Membership.objects.filter(person_id=person)
                .order_by("pk")
                .values_list("company_id", flat=True)
                .first()
            )
            if employer is not None:
                self.portal = (employer, person)
        self.address_ids: dict[int, int] = {}
        for partner_id, address_id in Address.objects.order_by("-id").values_list(
            "partner_id", "id"
        ):
            self.address_ids[partner_id] = address_id  # the first address of each partner
        self.loaded: dict[int, Partner] = {}
        self.addresses: dict[int, Address] = {}

    def resolve(self, pick: PartnerPick | None) -> tuple[int | None, int | None]:
        """(partner id, contact id) for *pick*, falling back to customers, or nobody."""
        if pick is None:
            return None, None
        if pick.pool == "portal":
            if self.portal is not None:
                return self.portal
            pick = PartnerPick("customer", pick.pick)
        pool = self.pools.get(pick.pool) or (
            [] if pick.pool.startswith("staff:") else self.pools["customer"]
        )
        if not pool:
            return None, None
        partner = pool[pick.pick % len(pool)]
        contacts = self.contacts.get(partner, [])
        contact = contacts[(pick.pick // 7) % len(contacts)] if contacts else None
        return partner, contact

    def fetch(self, ids: Sequence[int]) -> None:
        """Read the partners the plan uses, and their first address, in two queries."""
        self.loaded.update(Partner.objects.in_bulk([i for i in ids if i not in self.loaded]))
        wanted = [self.address_ids[i] for i in ids if i in self.address_ids]
        for address in Address.objects.filter(pk__in=wanted):
            self.addresses[address.partner_id] = address


def _setup_save(*, by: User, users: dict[str, User]) -> dict[str, Section]:
    """The sections with their stages and categories, and the types' default sections."""
    sections: dict[str, Section] = {}
    for spec in SECTIONS:
        section = configuration.section_save(
            by=by,
            values={
                "name": spec.name,
                "code": spec.code,
                "email": spec.email,
                "visibility": spec.visibility,
                "description": spec.description,
                "parent": sections[spec.parent] if spec.parent else None,
                "responsible": users.get(spec.responsible or ""),
                "members": [users[name] for name in spec.members if name in users],
            },
            pipeline=configuration.Pipeline.NONE,
        )
        for stage in spec.stages:
            configuration.stage_save(
                by=by,
                section=section,
                values={
                    "name": stage.name,
                    "probability": stage.probability,
                    "folded": stage.folded,
                },
            )
        for name, probability in spec.categories:
            configuration.category_save(
                by=by,
                section=section,
                values={"name": name, "default_probability": probability},
            )
        sections[spec.code] = section
    for case_type in CaseType.objects.filter(code__in=TYPE_SECTIONS):
        configuration.case_type_save(
            by=by,
            case_type=case_type,
            values={"default_section": sections[TYPE_SECTIONS[case_type.code]]},
        )
    return sections


class _Loader:
    def __init__(self, *, plan: DemoCasesPlan, users: dict[str, User]) -> None:
        self.plan = plan
        self.users = users
        self.sections = _setup_save(by=users["alice"], users=users)
        self.types = {t.code: t for t in CaseType.objects.all()}
        self.stages = {
            (s.section_id, s.name): s
            for s in Stage.objects.filter(section__in=self.sections.values())
        }
        self.categories = {
            (c.section_id, c.name): c
            for c in CaseCategory.objects.filter(section__in=self.sections.values())
        }
        self.partners = _Partners(users)
        self.cases: dict[int, Case] = {}

    def user(self, name: str | None) -> User | None:
        return self.users.get(name) if name else None

    def create(self, spec: CaseSpec, times: _Times, now: datetime, *, open_now: bool) -> Case:
        section = self.sections[spec.section]
        partner_id, contact_id = self.partners.resolve(spec.partner)
        partner = self.partners.loaded.get(partner_id) if partner_id else None
        contact = self.partners.loaded.get(contact_id) if contact_id else None
        values: dict[str, Any] = {
            "subject": spec.subject,
            "description": spec.description,
            "case_type": self.types[spec.case_type],
            "section": section,
            "partner": partner,
            "contact": contact,
            "responsible": self.user(spec.responsible),
            **spec.values,
        }
        if spec.category:
            values["category"] = self.categories[(section.pk, spec.category)]
        if spec.stage:
            values["stage"] = self.stages[(section.pk, spec.stage)]
        if spec.deadline is not None:
            values["deadline"] = now + timedelta(hours=spec.deadline)
        if spec.expected_close is not None:
            values["expected_close"] = timezone.localdate(now) + timedelta(days=spec.expected_close)
        elif spec.case_type == "opportunity":
            values["expected_close"] = timezone.localdate(times.end)
        if spec.next_action is not None:
            values["next_action_at"] = now + timedelta(hours=spec.next_action[0])
            values["next_action"] = spec.next_action[1]
        if times.start is not None:
            values["scheduled_start"] = times.start
            values["scheduled_end"] = times.finish
        if spec.technician:
            values["technician"] = self.user(spec.technician)
        if spec.location and partner_id in self.partners.addresses:
            values["location_address"] = self.partners.addresses[partner_id]
        if spec.attendee_users:
            values["attendee_users"] = [self.users[n] for n in spec.attendee_users]
        if spec.schedule is not None and contact is not None and spec.case_type != "service":
            values["attendees"] = [contact]
        watchers = [self.users[n] for n in spec.watchers if n in self.users]
        return services.case_create(
            by=self.user(spec.by), values=values, watchers=watchers, open_now=open_now
        )

    def step(self, case: Case, step: Step) -> Case:
        by = self.user(step.by)
        action = step.action
        if action == "open":
            return services.case_open(case=case, by=by)
        if action == "pending":
            return services.case_pending(case=case, by=by, note=step.text)
        if action == "close":
            return services.case_close(case=case, by=by, note=step.text)
        if action == "cancel":
            return services.case_cancel(case=case, by=by, note=step.text)
        if action == "stage":
            stage = self.stages[(case.section_id, step.arg)]
            return services.case_update(case=case, by=by, values={"stage": stage, **step.values})
        if action == "update":
            return services.case_update(case=case, by=by, values=step.values)
        if action == "note":
            services.case_note_add(case=case, by=by, body=step.text)
            return case
        if action == "reply":
            if case.requester_email:
                services.case_reply(case=case, by=by, body=step.text)
                case.refresh_from_db(fields=["message_count", "updated_at"])
            return case
        if action == "watch":
            if step.arg.startswith("@"):
                domain = case.requester_email.rpartition("@")[2]
                if not domain or domain.endswith(DOMAIN):
                    return case
                services.watcher_add(case=case, by=by, email=f"{step.arg[1:]}@{domain}")
            else:
                services.watcher_add(case=case, by=by, user=self.user(step.arg))
            return case
        if action == "escalate":
            return services.case_escalate(case=case, by=by, note=step.text)
        if action == "submit":
            return services.case_expense_submit(case=case, by=by)
        if action in {"approve", "reject"}:
            if by is None:
                raise ValueError("An expense claim is decided by someone.")
            return services.case_expense_decide(
                case=case, by=by, approve=action == "approve", reason=step.text
            )
        raise ValueError(f"Unknown demo step {action!r}.")


def demo_cases_load(*, users: dict[str, User], seed: int) -> None:
    """Save the demo sections and cases through the services, as people using
    Goodwill would, then spread their history over the past months."""
    plan = demo_cases_plan(seed=seed)
    now = timezone.now()
    monday = week_start(now)
    with transaction.atomic():
        loader = _Loader(plan=plan, users=users)
        times = {spec.key: _times(spec, now=now, monday=monday) for spec in plan.cases}
        picks = [loader.partners.resolve(spec.partner) for spec in plan.cases]
        loader.partners.fetch([i for pair in picks for i in pair if i is not None])

        # Oldest first, so that case numbers grow with the creation dates.
        def created(spec: CaseSpec) -> tuple[datetime, int]:
            return _office_hours(times[spec.key].created, times[spec.key], now=now), spec.key

        for spec in sorted(plan.cases, key=created):
            steps = list(spec.steps)
            # Whoever creates a case and opens it at once does so in one go.
            open_now = bool(spec.by and steps and steps[0] == Step("open", spec.by))
            case = loader.create(spec, times[spec.key], now, open_now=open_now)
            steps = steps[1:] if open_now else steps
            if times[spec.key].report_due:
                steps.extend(spec.after_event)
            for step in steps:
                case = loader.step(case, step)
            loader.cases[spec.key] = case
        for merge in plan.merges:
            services.case_merge(
                keep=loader.cases[merge.keep],
                drop=loader.cases[merge.drop],
                by=users[merge.by],
            )
        for link in plan.links:
            services.case_link_add(
                case=loader.cases[link.case],
                by=users.get(link.by),
                target=loader.cases[link.target],
            )
        _history_spread(
            seed=seed,
            times={loader.cases[key].pk: t for key, t in times.items()},
            now=now,
        )


def _midnight(at: datetime) -> datetime:
    return timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)


def _office_hours(at: datetime, window: _Times, *, now: datetime) -> datetime:
    """Squeeze a past day into 8:00-18:00, keeping the order of all times.

    Today is left alone (it must not move past now), and so is the day of a
    scheduled event onwards (its report follows the event's real end).
    """
    limit = _midnight(now)
    if window.start is not None:
        limit = min(limit, _midnight(window.start))
    if at >= limit:
        return at
    midnight = _midnight(at)
    return midnight + timedelta(hours=8) + (timezone.localtime(at) - midnight) * 10 / 24


def _history_spread(*, seed: int, times: dict[int, _Times], now: datetime) -> None:
    """Move the cases' timestamps from "now" into the past months, keeping their order.

    The services stamp everything "now", so a fresh demo would read "0 minutes
    ago" everywhere and nothing would count as closed this week or last year.
    This is demo staging, not a change of state: it only moves timestamps.

    Each case's timeline entries are spread, in their order, between the case's
    planned creation and its last activity (an "open" comes soon after the
    creation), and past days are squeezed into office hours. A merged case's
    creation entry, which moved to the case it was merged into, keeps the time
    of its own case. The case's created, updated, opened and closed times, its
    expense decision, its outbox messages, watchers and links follow its
    entries. Scheduled times, deadlines and expected closing dates were set
    through the services relative to now, and are left as they are.
    """
    rng = random.Random(seed + 2)  # noqa: S311 - demo staging must be deterministic
    case_type = ContentType.objects.get_for_model(Case)
    entries = list(
        TimelineEntry.objects.filter(subject_type=case_type, subject_id__in=times)
        .order_by("pk")
        .only("pk", "subject_id", "action", "body", "created_at")
    )
    drops = {
        (keep, f" #{number} created in "): pk
        for pk, number, keep in Case.objects.filter(
            pk__in=times, merged_into__isnull=False
        ).values_list("pk", "number", "merged_into")
    }
    by_case: dict[int, list[TimelineEntry]] = defaultdict(list)
    for entry in entries:
        origin = entry.subject_id
        if entry.action == "created":
            origin = next(
                (pk for (keep, tag), pk in drops.items() if keep == origin and tag in entry.body),
                origin,
            )
        by_case[origin].append(entry)

    def stamp(at: datetime, window: _Times) -> datetime:
        return _office_hours(at, window, now=now)

    for case_id, own in by_case.items():
        window = times[case_id]
        length = window.end - window.created
        points = sorted(rng.random() for _ in own)
        raw: list[datetime] = []
        for index, entry in enumerate(own):
            if index == 0 and (len(own) > 1 or entry.action == "created"):
                at = window.created
            elif index == len(own) - 1:
                at = window.end
            elif entry.action == "open" and own[index - 1].action == "created":
                at = raw[-1] + min(timedelta(minutes=rng.uniform(2, 90)), length / len(own))
            elif entry.action == "updated" and own[index + 1].action == "close":
                # Moved to the last stage when closing.
                at = window.end - min(timedelta(minutes=rng.uniform(1, 20)), length / len(own))
            else:
                at = window.created + length * points[index]
            raw.append(max(at, raw[-1]) if raw else at)
        previous: datetime | None = None
        for entry, at in zip(own, raw, strict=True):
            at = stamp(at, window)
            if previous is not None and at <= previous:
                at = previous + timedelta(seconds=rng.uniform(20, 60))
            entry.created_at = previous = at
    TimelineEntry.objects.bulk_update(entries, ["created_at"], batch_size=500)
    stamped = {entry.pk: entry.created_at for entry in entries}
    on_case: dict[int, list[TimelineEntry]] = defaultdict(list)
    for entry in entries:
        on_case[entry.subject_id].append(entry)

    cases = list(
        Case.objects.filter(pk__in=times).only(
            "pk", "state", "created_at", "updated_at", "opened_at", "closed_at", "approved_at"
        )
    )
    for case in cases:
        own = sorted(on_case.get(case.pk, []), key=lambda e: e.created_at)
        window = times[case.pk]
        case.created_at = stamp(window.created, window)
        case.updated_at = max([stamp(window.end, window), *(e.created_at for e in own)])
        if case.opened_at is not None:
            opened = [e.created_at for e in own if e.action == "open"]
            case.opened_at = opened[0] if opened else case.created_at
        if case.state in CLOSED_STATES:
            closed = [e.created_at for e in own if e.action in {"close", "cancel", "merged"}]
            case.closed_at = closed[-1] if closed else case.updated_at
        decided = [
            e.created_at for e in own if e.action in {"expense_approved", "expense_rejected"}
        ]
        if case.approved_at is not None and decided:
            case.approved_at = decided[-1]
    Case.objects.bulk_update(
        cases, ["created_at", "updated_at", "opened_at", "closed_at", "approved_at"], batch_size=500
    )

    messages = list(
        OutboundMessage.objects.filter(case_id__in=times).only("pk", "entry_id", "created_at")
    )
    for message in messages:
        if message.entry_id in stamped:
            message.created_at = stamped[message.entry_id]
    OutboundMessage.objects.bulk_update(messages, ["created_at"], batch_size=500)
    created = {case.pk: case.created_at for case in cases}
    watchers = list(Watcher.objects.filter(case_id__in=times).only("pk", "case_id", "created_at"))
    for watcher in watchers:
        watcher.created_at = created[watcher.case_id]
    Watcher.objects.bulk_update(watchers, ["created_at"], batch_size=500)
    # A link has its own entry, except the one a merge leaves (at the case's last change).
    linked = {e.subject_id: e.created_at for e in entries if e.action == "linked"}
    updated = {case.pk: case.updated_at for case in cases}
    links = list(CaseLink.objects.filter(case_id__in=times).only("pk", "case_id", "created_at"))
    for link in links:
        link.created_at = linked.get(link.case_id, updated[link.case_id])
    CaseLink.objects.bulk_update(links, ["created_at"], batch_size=500)
