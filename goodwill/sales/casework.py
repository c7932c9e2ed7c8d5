"""Requests → documents: the time and products recorded on cases, and the
quotations, invoices, purchase orders and vendor bills made from them.

- Agents record time spent and products used on a case, each billable or not.
- "Create quotation / invoice / purchase order" on a case pre-fills the partner,
  the campaign and the lines from those records, and links the document and
  the case both ways; both timelines say so.
- :func:`invoice_closed_requests` is iDempiere's RequestInvoice: one draft
  invoice per partner for the billable records of the requests closed in a
  period, never invoicing a record twice.
- :func:`expense_claim_bill` is iDempiere's ExpenseAPInvoice: a vendor bill to
  the employee for an approved expense claim.

A billed record points at its invoice. Records are locked while they are
billed, so two people invoicing the same requests at once cannot both bill them.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from goodwill.cases.models import Case, CaseState, CaseType
from goodwill.lib import events
from goodwill.lib.jobs import job_claim, job_finish, job_progress
from goodwill.lib.money import CURRENCIES
from goodwill.partners.models import Partner, PartnerEmail, TimelineEntry
from goodwill.partners.services import timeline_add
from goodwill.sales.invoicing import LineInput, invoice_create
from goodwill.sales.models import Invoice, Order, Product, RequestInvoicing, WorkRecord
from goodwill.sales.orders import order_create

if TYPE_CHECKING:
    from goodwill.accounts.models import User

MAX_QUANTITY = Decimal("100000")


# --------------------------------------------------------------------------
# Recording time and products


def _check_case_open_for_work(case: Case) -> None:
    if case.final:
        raise ValidationError(f"Case #{case.number} is closed for good; it cannot change.")
    if case.merged_into_id:
        raise ValidationError(f"Case #{case.number} was merged into another case.")


def _clean_record(
    *, kind: str, product: Product | None, quantity: Any, billable: bool, description: str
) -> tuple[Decimal, str]:
    if kind not in WorkRecord.Kind.values:
        raise ValidationError({"kind": f"Unknown kind of record {kind!r}."})
    if not isinstance(quantity, Decimal):
        try:
            quantity = Decimal(str(quantity).strip().replace(",", "."))
        except ArithmeticError:
            raise ValidationError({"quantity": "Enter a number, such as 1.5."}) from None
    if not quantity.is_finite() or quantity <= 0:
        raise ValidationError({"quantity": "The quantity must be more than zero."})
    if quantity > MAX_QUANTITY:
        raise ValidationError({"quantity": f"The quantity cannot exceed {MAX_QUANTITY}."})
    if quantity != quantity.quantize(Decimal("0.0001")):
        raise ValidationError({"quantity": "Use at most four decimal places."})
    description = " ".join((description or "").split())[:500]
    if kind == WorkRecord.Kind.PRODUCT and product is None:
        raise ValidationError({"product": "Pick the product that was used."})
    if billable and product is None:
        raise ValidationError(
            {"product": "A billable record needs the product or service it is billed as."}
        )
    if not description and product is None:
        raise ValidationError({"description": "Say what was done."})
    return quantity, description


def _record_text(record: WorkRecord) -> str:
    unit = " h" if record.kind == WorkRecord.Kind.TIME else f" × {record.product}"
    quantity = f"{record.quantity.normalize():f}"
    what = record.description or (str(record.product) if record.kind == "time" else "")
    billed = "billable" if record.billable else "not billable"
    return f"{quantity}{unit}" + (f": {what}" if what else "") + f" ({billed})"


def _case_note(case: Case, *, by: User | None, action: str, body: str) -> None:
    timeline_add(
        subject=case,
        partner=case.partner,
        kind=TimelineEntry.Kind.SYSTEM,
        author=by,
        action=action,
        body=body,
    )


@transaction.atomic
def work_record_add(
    *,
    case: Case,
    by: User | None,
    quantity: Any,
    kind: str = WorkRecord.Kind.TIME,
    product: Product | None = None,
    description: str = "",
    billable: bool = True,
    work_date: datetime.date | None = None,
) -> WorkRecord:
    """Record time spent on *case* (hours) or a product used for it."""
    _check_case_open_for_work(case)
    quantity, description = _clean_record(
        kind=kind, product=product, quantity=quantity, billable=billable, description=description
    )
    record = WorkRecord.objects.create(
        case=case,
        kind=kind,
        product=product,
        description=description,
        quantity=quantity,
        billable=billable,
        work_date=work_date or timezone.localdate(),
        user=by,
    )
    _case_note(case, by=by, action="work recorded", body=_record_text(record))
    events.emit("case.work_recorded", case_id=case.pk, record_id=record.pk)
    return record


def _check_unbilled(record: WorkRecord) -> None:
    if record.invoice_id is not None:
        raise ValidationError(
            f"This record is billed on {record.invoice}; cancel or credit that first."
        )


@transaction.atomic
def work_record_update(
    *,
    record: WorkRecord,
    by: User | None,
    quantity: Any,
    kind: str,
    product: Product | None,
    description: str,
    billable: bool,
    work_date: datetime.date,
) -> WorkRecord:
    record = WorkRecord.objects.select_for_update().select_related("case").get(pk=record.pk)
    _check_unbilled(record)
    _check_case_open_for_work(record.case)
    quantity, description = _clean_record(
        kind=kind, product=product, quantity=quantity, billable=billable, description=description
    )
    record.kind, record.product, record.quantity = kind, product, quantity
    record.description, record.billable, record.work_date = description, billable, work_date
    record.save()
    _case_note(record.case, by=by, action="work changed", body=_record_text(record))
    return record


@transaction.atomic
def work_record_delete(*, record: WorkRecord, by: User | None) -> None:
    record = WorkRecord.objects.select_for_update().select_related("case").get(pk=record.pk)
    _check_unbilled(record)
    _check_case_open_for_work(record.case)
    text = _record_text(record)
    record.delete()
    _case_note(record.case, by=by, action="work removed", body=text)


@dataclass(frozen=True)
class WorkSummary:
    hours: Decimal
    billable_hours: Decimal
    unbilled: int


def work_summary(records: Sequence[WorkRecord]) -> WorkSummary:
    time = [r for r in records if r.kind == WorkRecord.Kind.TIME]
    return WorkSummary(
        hours=sum((r.quantity for r in time), Decimal(0)),
        billable_hours=sum((r.quantity for r in time if r.billable), Decimal(0)),
        unbilled=sum(1 for r in records if r.billable and r.invoice_id is None),
    )


# --------------------------------------------------------------------------
# Documents from one case


def _unbilled(case_ids: Sequence[int]) -> QuerySet[WorkRecord]:
    return WorkRecord.objects.filter(
        case_id__in=case_ids, billable=True, invoice__isnull=True
    ).order_by("case__number", "work_date", "id")


def _line(record: WorkRecord, *, with_case: bool = False) -> LineInput:
    description = record.description or (record.product.name if record.product else "")
    if with_case:
        description = f"#{record.case.number} {record.case.subject}: {description}"
    return LineInput(description=description, product=record.product, quantity=record.quantity)


def _document_partner(case: Case, partner: Partner | None) -> Partner:
    partner = partner or case.partner
    if partner is None:
        raise ValidationError(f"Case #{case.number} has no partner; set its partner first.")
    if partner.merged_into_id or not partner.active:
        raise ValidationError(f"{partner} is archived or merged; pick another partner.")
    return partner


def _link_note(case: Case, document: Order | Invoice, *, by: User | None) -> None:
    label = document.get_kind_display() if isinstance(document, Invoice) else _order_label(document)
    _case_note(
        case,
        by=by,
        action="document created",
        body=f"{label} {document} created from this case",
    )


def _order_label(order: Order) -> str:
    return "Purchase order" if order.kind == Order.Kind.PURCHASE else "Quotation"


@transaction.atomic
def quotation_from_case(*, case: Case, by: User | None, partner: Partner | None = None) -> Order:
    """A draft quotation for the case's partner with a line per billable record
    not billed yet (the records stay unbilled: the invoice of the order bills)."""
    _check_case_open_for_work(case)
    partner = _document_partner(case, partner)
    records = list(_unbilled([case.pk]).select_related("product", "case"))
    order = order_create(
        by=by,
        partner=partner,
        lines=[_line(r) for r in records],
        reference=f"Case #{case.number}",
        campaign=case.campaign,
        cases=[case],
    )
    _link_note(case, order, by=by)
    return order


@transaction.atomic
def purchase_order_from_case(*, case: Case, by: User | None, supplier: Partner) -> Order:
    """A draft purchase order to *supplier* for the products recorded on the case."""
    _check_case_open_for_work(case)
    supplier = _document_partner(case, supplier)
    records = (
        WorkRecord.objects.filter(case=case, kind=WorkRecord.Kind.PRODUCT)
        .select_related("product", "case")
        .order_by("work_date", "id")
    )
    order = order_create(
        by=by,
        partner=supplier,
        kind=Order.Kind.PURCHASE,
        lines=[
            LineInput(
                description=r.description or (r.product.name if r.product else ""),
                product=r.product,
                quantity=r.quantity,
            )
            for r in records
        ],
        reference=f"Case #{case.number}",
        campaign=case.campaign,
        cases=[case],
    )
    _link_note(case, order, by=by)
    return order


def _bill(
    *,
    partner: Partner,
    records: list[WorkRecord],
    by: User | None,
    cases: Sequence[Case],
    reference: str,
    with_case: bool,
    invoice_date: datetime.date | None = None,
) -> Invoice:
    campaigns = {c.campaign_id for c in cases}
    invoice = invoice_create(
        by=by,
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        partner=partner,
        lines=[_line(r, with_case=with_case) for r in records],
        reference=reference,
        invoice_date=invoice_date,
        campaign=cases[0].campaign if len(campaigns) == 1 else None,
        cases=cases,
    )
    WorkRecord.objects.filter(pk__in=[r.pk for r in records]).update(invoice=invoice)
    for case in cases:
        _link_note(case, invoice, by=by)
    return invoice


@transaction.atomic
def invoice_from_case(*, case: Case, by: User | None, partner: Partner | None = None) -> Invoice:
    """A draft invoice of the case's billable records not billed yet, which it then bills."""
    _check_case_open_for_work(case)
    partner = _document_partner(case, partner)
    records = list(
        _unbilled([case.pk]).select_related("product", "case").select_for_update(of=("self",))
    )
    if not records:
        raise ValidationError(
            f"Nothing billable is left to invoice on case #{case.number}: record billable "
            "time or products first."
        )
    return _bill(
        partner=partner,
        records=records,
        by=by,
        cases=[case],
        reference=f"Case #{case.number}",
        with_case=False,
    )


def _numbers(cases: Sequence[Case]) -> str:
    return ", ".join(f"#{case.number}" for case in sorted(cases, key=lambda c: c.number))


@transaction.atomic
def document_cases_set(
    *,
    document: Order | Invoice,
    by: User | None,
    cases: Sequence[Case],
    keep: Sequence[int] = (),
) -> None:
    """Make *cases* (plus the case ids in *keep*, which the caller may not
    name) the cases *document* answers; the document's timeline records old →
    new, and each newly linked case notes the document."""
    linked = {case.pk: case for case in document.cases.only("id", "number", "partner_id")}
    shown_before = [case for pk, case in linked.items() if pk not in set(keep)]
    wanted = {case.pk: case for case in cases}
    if set(wanted) == {case.pk for case in shown_before}:
        return
    document.cases.set([*keep, *wanted])
    timeline_add(
        subject=document,
        partner=document.partner,
        kind=TimelineEntry.Kind.FIELD_CHANGE,
        author=by,
        action="cases_updated",
        changes=[{"label": "Cases", "old": _numbers(shown_before), "new": _numbers(cases)}],
    )
    for pk, case in wanted.items():
        if pk not in linked:
            _case_note(case, by=by, action="document linked", body=f"Linked to {document}")


# --------------------------------------------------------------------------
# iDempiere RequestInvoice: invoice the closed billable requests of a period


@dataclass
class RequestInvoicingOutcome:
    """What :func:`invoice_closed_requests` did (or, in a preview, would do)."""

    invoices: list[Invoice] = field(default_factory=list)
    partners: int = 0
    cases: int = 0
    records: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    without_partner: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def closed_billable_cases(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    section_id: int | None = None,
    partner_id: int | None = None,
    case_type_id: int | None = None,
) -> QuerySet[Case]:
    """Done requests of billable types closed in the period (dates inclusive)
    that still have billable records not billed yet."""
    if date_to < date_from:
        raise ValidationError({"date_to": "The period ends before it starts."})
    start = timezone.make_aware(datetime.datetime.combine(date_from, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min)
    )
    cases = Case.objects.filter(
        state=CaseState.DONE,
        closed_at__gte=start,
        closed_at__lt=end,
        case_type__billable=True,
        work_records__billable=True,
        work_records__invoice__isnull=True,
    )
    if section_id:
        cases = cases.filter(section_id=section_id)
    if partner_id:
        cases = cases.filter(partner_id=partner_id)
    if case_type_id:
        cases = cases.filter(case_type_id=case_type_id)
    return cases.distinct().order_by("partner_id", "number")


def invoice_closed_requests(
    *,
    by: User | None,
    date_from: datetime.date,
    date_to: datetime.date,
    section_id: int | None = None,
    partner_id: int | None = None,
    case_type_id: int | None = None,
    invoice_date: datetime.date | None = None,
    preview: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RequestInvoicingOutcome:
    """One draft invoice per partner, with a line per billable record of the
    requests closed in the period; *preview* says what would be invoiced and
    writes nothing. A partner whose invoice fails (a missing price, say) is
    reported and the others are still invoiced."""
    outcome = RequestInvoicingOutcome()
    cases = list(
        closed_billable_cases(
            date_from=date_from,
            date_to=date_to,
            section_id=section_id,
            partner_id=partner_id,
            case_type_id=case_type_id,
        ).select_related("partner", "campaign")
    )
    by_partner: dict[int, list[Case]] = defaultdict(list)
    for case in cases:
        if case.partner_id is None:
            outcome.without_partner.append(case.number)
        else:
            by_partner[case.partner_id].append(case)
    if progress is not None:
        progress(0, len(by_partner))
    for done, group in enumerate(by_partner.values(), start=1):
        if progress is not None and done > 1:
            progress(done - 1, len(by_partner))
        partner = group[0].partner
        assert partner is not None  # noqa: S101 - grouped by partner above
        try:
            with transaction.atomic():
                records = list(
                    _unbilled([c.pk for c in group])
                    .select_related("product", "case")
                    .select_for_update(of=("self",))
                )
                if not records:  # billed meanwhile by someone else
                    continue
                if preview:
                    _preview(outcome, partner, records)
                    continue
                billed = {r.case_id for r in records}
                invoice = _bill(
                    partner=partner,
                    records=records,
                    by=by,
                    cases=[c for c in group if c.pk in billed],
                    reference=f"Requests closed {date_from:%Y-%m-%d} – {date_to:%Y-%m-%d}",
                    with_case=True,
                    invoice_date=invoice_date,
                )
        except ValidationError as error:
            outcome.errors.append(f"{partner}: {'; '.join(error.messages)}")
            continue
        outcome.invoices.append(invoice)
        outcome.partners += 1
        outcome.cases += len(billed)
        outcome.records += len(records)
        outcome.amounts[invoice.currency] = (
            outcome.amounts.get(invoice.currency, Decimal(0)) + invoice.amount_total
        )
    if not preview:
        events.emit(
            "sales.requests_invoiced",
            invoice_ids=[i.pk for i in outcome.invoices],
            by_id=getattr(by, "pk", None),
        )
    return outcome


def _preview(outcome: RequestInvoicingOutcome, partner: Partner, records: list[WorkRecord]) -> None:
    """Count what would be billed; the lines are priced as the invoice would price them."""
    from goodwill.sales.invoicing import price_lines

    currency = (partner.currency or settings.COMPANY_CURRENCY).upper()
    priced = price_lines(
        [_line(r, with_case=True) for r in records],
        partner=partner,
        currency=currency if currency in CURRENCIES else settings.COMPANY_CURRENCY,
        on=timezone.localdate(),
    )
    outcome.partners += 1
    outcome.cases += len({r.case_id for r in records})
    outcome.records += len(records)
    total = sum((line.subtotal + line.tax_amount for line in priced), Decimal(0))
    outcome.amounts[currency] = outcome.amounts.get(currency, Decimal(0)) + total


def request_invoicing_start(
    *,
    by: User,
    date_from: datetime.date,
    date_to: datetime.date,
    section_id: int | None = None,
    partner_id: int | None = None,
    case_type_id: int | None = None,
    invoice_date: datetime.date | None = None,
) -> RequestInvoicing:
    """Queue a run of :func:`invoice_closed_requests` for the worker."""
    if date_to < date_from:
        raise ValidationError({"date_to": "The period ends before it starts."})
    from goodwill.sales.tasks import request_invoicing_task

    job = RequestInvoicing.objects.create(
        created_by=by,
        date_from=date_from,
        date_to=date_to,
        section_id=section_id,
        partner_id=partner_id,
        case_type_id=case_type_id,
        invoice_date=invoice_date,
    )
    transaction.on_commit(lambda: request_invoicing_task.enqueue(job_id=job.pk))
    return job


def request_invoicing_run(*, job: RequestInvoicing) -> None:
    """The worker's side: claim the job, invoice with progress per partner,
    and keep what was made (a partner that fails is in the report)."""
    if not job_claim(job):
        return
    try:
        outcome = invoice_closed_requests(
            by=job.created_by,
            date_from=job.date_from,
            date_to=job.date_to,
            section_id=job.section_id,
            partner_id=job.partner_id,
            case_type_id=job.case_type_id,
            invoice_date=job.invoice_date,
            progress=lambda done, total: job_progress(job, done=done, total=total),
        )
    except Exception as error:  # the job must say why it stopped, not stay "running"
        job_finish(job, error=f"{type(error).__name__}: {error}")
        raise
    job.invoices.set(outcome.invoices)
    job_finish(
        job,
        partners=outcome.partners,
        cases=outcome.cases,
        records=outcome.records,
        progress_done=job.progress_total or 0,
        report={
            "amounts": {code: str(amount) for code, amount in sorted(outcome.amounts.items())},
            "errors": outcome.errors,
            "without_partner": outcome.without_partner,
        },
    )


# --------------------------------------------------------------------------
# iDempiere ExpenseAPInvoice: a vendor bill to the employee for an approved claim


def expense_claim_employee(case: Case) -> Partner | None:
    """The employee an expense claim reimburses: the case's partner when it is
    an employee, else the employee whose email is the claimant's."""
    if case.partner is not None and case.partner.is_employee:
        return case.partner
    emails = [e for e in (getattr(case.created_by, "email", ""), case.requester_email) if e]
    if not emails:
        return None
    found = (
        PartnerEmail.objects.filter(
            email__in=[e.lower() for e in emails],
            partner__is_employee=True,
            partner__merged_into__isnull=True,
        )
        .select_related("partner")
        .first()
    )
    return found.partner if found else None


def expense_claim_billed(case: Case) -> Invoice | None:
    return (
        case.invoices.filter(kind=Invoice.Kind.VENDOR_BILL)
        .exclude(state=Invoice.State.CANCELLED)
        .first()
    )


@transaction.atomic
def expense_claim_bill(*, case: Case, by: User | None) -> Invoice:
    """A draft vendor bill to the employee for the approved amount of the claim."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("case_type", "partner", "created_by", "campaign")
        .get(pk=case.pk)
    )
    if not case.case_type.has(CaseType.FieldGroup.EXPENSE):
        raise ValidationError(f"Case #{case.number} is not an expense claim.")
    if case.approval != Case.Approval.APPROVED:
        raise ValidationError(f"Expense claim #{case.number} is not approved.")
    if not case.amount or case.amount <= 0:
        raise ValidationError(f"Expense claim #{case.number} has no amount to reimburse.")
    already = expense_claim_billed(case)
    if already is not None:
        raise ValidationError(f"Expense claim #{case.number} is billed already on {already}.")
    employee = expense_claim_employee(case)
    if employee is None:
        raise ValidationError(
            f"No employee record found for claim #{case.number}: set the claim's partner "
            "to the employee's partner record (marked as employee)."
        )
    bill = invoice_create(
        by=by,
        kind=Invoice.Kind.VENDOR_BILL,
        partner=employee,
        currency=case.currency or settings.COMPANY_CURRENCY,
        reference=f"Expense claim #{case.number}",
        lines=[
            LineInput(
                description=f"Expense claim #{case.number}: {case.subject}",
                quantity=Decimal(1),
                unit_price=case.amount,
                tax_rate=Decimal(0),
            )
        ],
        campaign=case.campaign,
        cases=[case],
    )
    _link_note(case, bill, by=by)
    return bill
