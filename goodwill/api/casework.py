"""Requests → documents over the API: the time and products recorded on a
case, the quotations, invoices, purchase orders and vendor bills made from a
case, and invoicing the closed billable requests of a period.

Who may do what
    As on the pages (``goodwill.sales.case_views``). Agents see, record, change
    and remove work records, and make quotations and purchase orders from a
    case; managers and administrators also make invoices and expense-claim
    bills and invoice closed requests. The role is checked first, then the case
    is loaded through the cases app's visibility rules: a case the user may not
    see is a 404, like one that does not exist, and so is a record of one.
    Portal users and users with no role are refused (403).

Endpoints (the OpenAPI schema is at ``/api/schema/``)
    ``GET|POST           /api/cases/{number}/work/``           the case's records and
                                                             totals; record one; 201
    ``GET|PATCH|DELETE   /api/sales/work/{id}/``               one record; change it; 204
    ``POST /api/cases/{number}/quotation/``                    a draft quotation; 201
    ``POST /api/cases/{number}/invoice/``                      a draft invoice; 201
    ``POST /api/cases/{number}/purchase-order/``               ``{"supplier": id}``; 201
    ``POST /api/cases/{number}/expense-bill/``                 a vendor bill of a claim; 201
    ``POST /api/sales/invoices/from-requests/``                preview (200), or queue the
                                                             run (202)
    ``GET  /api/sales/invoices/from-requests/{id}/``           a run's progress and results

Every change goes through ``goodwill.sales.casework``; what it refuses is a 400
with its message.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from goodwill.api import common
from goodwill.api.cases import NUMBER
from goodwill.api.casework_serializers import (
    RequestInvoicingJobSerializer,
    RequestInvoicingPreviewSerializer,
    RequestInvoicingSerializer,
    SupplierSerializer,
    WorkRecordListSerializer,
    WorkRecordSerializer,
    WorkRecordWriteSerializer,
    preview_data,
)
from goodwill.api.common import ID, INVALID, MISSING, REFUSED
from goodwill.api.permissions import staff_user
from goodwill.api.sales import TAGS, invoice_response, order_response
from goodwill.api.sales_serializers import InvoiceDetailSerializer, OrderDetailSerializer
from goodwill.cases.models import Case
from goodwill.cases.permissions import get_case_for_user
from goodwill.sales import casework
from goodwill.sales.document_permissions import check_invoice_action, check_order_action
from goodwill.sales.models import Invoice, RequestInvoicing, WorkRecord
from goodwill.sales.permissions import check_sales

RECORD_RELATED = ("case", "product", "user", "invoice")


def _case_schema(
    *,
    operation_id: str,
    summary: str,
    description: str,
    response: type[Any],
    request: type[Any] | None = None,
) -> Any:
    """The schema of a POST on a case that answers with a new document (201)."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        parameters=[NUMBER],
        request=request,
        responses={201: response, **INVALID, **MISSING},
        tags=TAGS,
    )


# --------------------------------------------------------------------------
# Work records


def _record_for_user(user: Any, pk: int, *, action: str = "view") -> WorkRecord:
    """Record *pk* once *user* may *action* records: the role is checked first,
    and a record of a case out of the user's sight does not exist for them."""
    check_sales(user, "workrecord", action)
    record = WorkRecord.objects.select_related("case").filter(pk=pk).first()
    if record is None:
        raise Http404("No such record.")
    try:
        get_case_for_user(user, record.case.number, action="view")
    except Http404:
        raise Http404("No such record.") from None
    return record


def _record_response(
    request: Request, pk: int, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """Record *pk* as the API shows it; the caller checked the permission."""
    record = WorkRecord.objects.select_related(*RECORD_RELATED).get(pk=pk)
    return common.respond(
        WorkRecordSerializer(record, context=common.context(request)).data, status_code
    )


@extend_schema(
    methods=["GET"],
    operation_id="cases_work_list",
    summary="Time and products recorded on a case",
    description="Every record of the case by date (a case holds few), with the hours "
    "recorded, the billable hours and how many billable records are not invoiced yet.",
    parameters=[NUMBER],
    responses={200: WorkRecordListSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="cases_work_create",
    summary="Record time or a product on a case",
    description="`quantity` is in hours for time. A billable record needs the `product` it "
    "is billed as (a service for time), and a record without a product needs a "
    "`description`. A case closed for good or merged takes no records (a 400).",
    parameters=[NUMBER],
    request=WorkRecordWriteSerializer,
    responses={201: WorkRecordSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def case_work(request: Request, number: int) -> Response:
    if request.method == "POST":
        check_sales(request.user, "workrecord", "add")
        case = get_case_for_user(request.user, number, action="view")
        values = common.body(request, WorkRecordWriteSerializer)
        record = casework.work_record_add(case=case, by=staff_user(request), **values)
        return _record_response(request, record.pk, status_code=status.HTTP_201_CREATED)
    check_sales(request.user, "workrecord")
    case = get_case_for_user(request.user, number, action="view")
    records = list(WorkRecord.objects.filter(case=case).select_related(*RECORD_RELATED))
    data = {"case": case, "summary": casework.work_summary(records), "results": records}
    return Response(WorkRecordListSerializer(data, context=common.context(request)).data)


@extend_schema(
    methods=["GET"],
    operation_id="sales_work_retrieve",
    summary="Show a work record",
    parameters=[ID],
    responses={200: WorkRecordSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="sales_work_partial_update",
    summary="Change a work record",
    description="Changes the keys sent; the others keep their values. A billed record, or "
    "one of a case closed for good, does not change (a 400 that says why).",
    parameters=[ID],
    request=WorkRecordWriteSerializer,
    responses={200: WorkRecordSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["DELETE"],
    operation_id="sales_work_destroy",
    summary="Remove a work record",
    description="The case's timeline keeps what it was. A billed record cannot be removed "
    "(a 400): cancel or credit its invoice first.",
    parameters=[ID],
    request=None,
    responses={204: None, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH", "DELETE"])
@parser_classes([JSONParser])
def work_detail(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        record = _record_for_user(request.user, pk, action="change")
        values = common.body(request, WorkRecordWriteSerializer, partial=True)
        current = {
            "kind": record.kind,
            "product": record.product,
            "description": record.description,
            "quantity": record.quantity,
            "billable": record.billable,
            "work_date": record.work_date,
        }
        casework.work_record_update(record=record, by=staff_user(request), **(current | values))
        return _record_response(request, record.pk)
    if request.method == "DELETE":
        record = _record_for_user(request.user, pk, action="delete")
        casework.work_record_delete(record=record, by=staff_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
    record = _record_for_user(request.user, pk)
    return _record_response(request, record.pk)


# --------------------------------------------------------------------------
# Documents from a case


def _case_for(request: Request, number: int) -> Case:
    return get_case_for_user(request.user, number, action="view")


@_case_schema(
    operation_id="cases_quotation_create",
    summary="Make a quotation from a case",
    description="A draft quotation for the case's partner, with its campaign and a line per "
    "billable record not invoiced yet; it is linked to the case. A case without a partner is "
    "a 400. The answer is the quotation.",
    response=OrderDetailSerializer,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_quotation(request: Request, number: int) -> Response:
    check_order_action(request.user, "add")
    case = _case_for(request, number)
    order = casework.quotation_from_case(case=case, by=staff_user(request))
    return order_response(request, order.pk, status_code=status.HTTP_201_CREATED)


@_case_schema(
    operation_id="cases_invoice_create",
    summary="Invoice a case",
    description="Managers and administrators. A draft invoice for the case's partner of "
    "the billable records not invoiced yet, which it then bills (never twice). Nothing "
    "left to bill is a 400. The answer is the invoice.",
    response=InvoiceDetailSerializer,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_invoice(request: Request, number: int) -> Response:
    check_invoice_action(request.user, "add")
    case = _case_for(request, number)
    invoice = casework.invoice_from_case(case=case, by=staff_user(request))
    return invoice_response(request, invoice.pk, status_code=status.HTTP_201_CREATED)


@_case_schema(
    operation_id="cases_purchase_order_create",
    summary="Make a purchase order from a case",
    description="A draft purchase order to `supplier` for the products recorded on the "
    "case, linked to it. The answer is the order.",
    request=SupplierSerializer,
    response=OrderDetailSerializer,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_purchase_order(request: Request, number: int) -> Response:
    check_order_action(request.user, "add")
    case = _case_for(request, number)
    supplier = common.body(request, SupplierSerializer)["supplier"]
    order = casework.purchase_order_from_case(case=case, by=staff_user(request), supplier=supplier)
    return order_response(request, order.pk, status_code=status.HTTP_201_CREATED)


@_case_schema(
    operation_id="cases_expense_bill_create",
    summary="Bill an approved expense claim",
    description="Managers and administrators. A draft vendor bill to the employee for the "
    "approved amount of the claim. A case that is not an approved expense claim, one billed "
    "already, or a claimant with no employee record is a 400. The answer is the bill.",
    response=InvoiceDetailSerializer,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_expense_bill(request: Request, number: int) -> Response:
    check_invoice_action(request.user, "add")
    case = _case_for(request, number)
    bill = casework.expense_claim_bill(case=case, by=staff_user(request))
    return invoice_response(request, bill.pk, status_code=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------
# Invoicing closed requests


def _job_response(request: Request, job: RequestInvoicing, *, status_code: int) -> Response:
    invoices: list[Invoice] = []
    if job.is_finished:
        invoices = list(job.invoices.order_by("id"))
    context = common.context(request, invoices=invoices)
    data = RequestInvoicingJobSerializer(job, context=context).data
    headers = {"Location": data["url"]} if status_code == status.HTTP_202_ACCEPTED else None
    return Response(data, status=status_code, headers=headers)


@extend_schema(
    operation_id="sales_invoice_requests_create",
    summary="Invoice closed billable requests",
    description="Managers and administrators. One draft invoice per partner, with a line per "
    "billable record not invoiced yet of the requests (of billable case types) closed from "
    "`date_from` to `date_to`, narrowed to a `section`, `case_type` or `partner`. With "
    '`"preview": true` the answer (200) says what would be invoiced and nothing changes; '
    "otherwise the run is queued for the worker and the answer (202) is the run, whose "
    "`url` (also in `Location`) tells its progress.",
    request=RequestInvoicingSerializer,
    responses={
        200: RequestInvoicingPreviewSerializer,
        202: RequestInvoicingJobSerializer,
        **INVALID,
        **REFUSED,
    },
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def invoice_requests(request: Request) -> Response:
    check_invoice_action(request.user, "add")
    body = RequestInvoicingSerializer(data=request.data, context=common.context(request))
    body.is_valid(raise_exception=True)
    user = staff_user(request)
    if body.validated_data["preview"]:
        outcome = casework.invoice_closed_requests(by=user, preview=True, **body.options())
        return Response(RequestInvoicingPreviewSerializer(preview_data(outcome)).data)
    job = casework.request_invoicing_start(by=user, **body.options())
    job = RequestInvoicing.objects.select_related("created_by").get(pk=job.pk)
    return _job_response(request, job, status_code=status.HTTP_202_ACCEPTED)


@extend_schema(
    operation_id="sales_invoice_requests_retrieve",
    summary="A run of invoicing closed requests",
    description="Managers and administrators. Its `status` (`queued`, `running`, `done`, "
    "`failed`) and progress in partners; once finished, the counts, the draft invoices it "
    "made and the report (totals per currency, partners that could not be invoiced, "
    "requests without a partner).",
    parameters=[
        OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Run id.")
    ],
    responses={200: RequestInvoicingJobSerializer, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def invoice_requests_run(request: Request, pk: int) -> Response:
    check_invoice_action(request.user, "add")
    job = RequestInvoicing.objects.select_related("created_by").filter(pk=pk).first()
    if job is None:
        raise Http404("No such run.")
    return _job_response(request, job, status_code=status.HTTP_200_OK)
