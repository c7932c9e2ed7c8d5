"""The sales API: products, price lists and prices, payment terms, exchange
rates, partners' commercial terms and balances, quotations and orders,
invoices, and payments.

Who may do what
    Exactly what the sales pages allow (``goodwill.sales.permissions`` and
    ``goodwill.sales.document_permissions``). Agents see the master data, every
    commercial document and payment, and create and change quotations and
    orders. Managers and administrators also change products, add exchange
    rates, change partners' terms, draft, post and cancel invoices, invoice
    orders and register payments. Portal users and users with no role are
    refused (403) everywhere. The role is checked before any lookup, so an
    outsider cannot probe which ids exist; an unknown id is a 404.

Endpoints (the OpenAPI schema is at ``/api/schema/``)
    ``GET        /api/sales/products/``                  list; q status kind category
    ``POST       /api/sales/products/``                  create (managers); 201
    ``GET|PATCH  /api/sales/products/{id}/``             one product; change it (managers)
    ``GET        /api/sales/product-categories/``        every category with its path
    ``GET        /api/sales/price-lists/``               every price list
    ``GET        /api/sales/price-lists/{id}/``          one list with its versions and rules
    ``GET        /api/sales/price/``                     product partner quantity date
                                                       price_list: a unit price
    ``GET        /api/sales/payment-terms/``             every payment term
    ``GET|POST   /api/sales/exchange-rates/``            rates, newest first; add one (managers)
    ``GET|PATCH  /api/partners/{id}/terms/``             a partner's commercial terms
    ``GET        /api/partners/{id}/balance/``           open balance, aging and sales summary
    ``GET|POST   /api/sales/orders/``                    list; kind state partner date_from
                                                       date_to campaign; create; 201
    ``GET|PATCH  /api/sales/orders/{id}/``               one order with its lines; change a
                                                       draft or sent quotation
    ``POST       /api/sales/orders/{id}/state/``         ``{"action": "send|confirm|done|cancel"}``
    ``POST       /api/sales/orders/{id}/invoice/``       a draft invoice of it (managers); 201
    ``GET|POST   /api/sales/invoices/``                  list; kind state partner date_from
                                                       date_to overdue campaign; create; 201
    ``GET|PATCH  /api/sales/invoices/{id}/``             one invoice with lines and payments;
                                                       change a draft
    ``POST       /api/sales/invoices/{id}/post/``        number and freeze a draft (managers)
    ``POST       /api/sales/invoices/{id}/cancel/``      cancel a draft (managers)
    ``POST       /api/sales/invoices/{id}/credit-note/`` a draft credit note of it (managers); 201
    ``GET|POST   /api/sales/payments/``                  list; direction partner date_from
                                                       date_to; register one (managers); 201
    ``GET        /api/sales/payments/{id}/``             one payment with its allocations

Errors
    As elsewhere in the API: ``{"detail": "…"}``, and for a 400 ``"errors":
    {"field": ["…"]}``. What the services refuse (a transition the state does
    not allow, a posted invoice that would change, an allocation larger than
    what is left to pay, a missing exchange rate, price lists in a cycle) is a
    400 with the service's message. Nothing is saved when a request is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from goodwill.accounts.models import User
from goodwill.api import common
from goodwill.api.common import CURSOR, ID, INVALID, MISSING, REFUSED
from goodwill.api.permissions import staff_user
from goodwill.api.sales_serializers import (
    ExchangeRateFilterSerializer,
    ExchangeRatePageSerializer,
    ExchangeRateSerializer,
    ExchangeRateWriteSerializer,
    InvoiceCreateSerializer,
    InvoiceDetailSerializer,
    InvoiceFilterSerializer,
    InvoicePageSerializer,
    InvoiceUpdateSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderFilterSerializer,
    OrderPageSerializer,
    OrderStateSerializer,
    OrderUpdateSerializer,
    PartnerBalanceSerializer,
    PartnerTermsSerializer,
    PartnerTermsWriteSerializer,
    PaymentCreateSerializer,
    PaymentDetailSerializer,
    PaymentFilterSerializer,
    PaymentPageSerializer,
    PaymentTermListSerializer,
    PriceListDetailSerializer,
    PriceListListSerializer,
    PriceQuerySerializer,
    PriceQuoteSerializer,
    ProductCategoryListSerializer,
    ProductFilterSerializer,
    ProductPageSerializer,
    ProductSerializer,
    ProductWriteSerializer,
    line_inputs,
)
from goodwill.cases.models import Case
from goodwill.cases.permissions import visible_cases
from goodwill.partners.permissions import get_partner_for_user
from goodwill.sales import casework, invoicing, orders, payments, services
from goodwill.sales.document_permissions import (
    can_invoice,
    can_order,
    check_invoice_action,
    check_order_action,
    get_invoice_for_user,
    get_order_for_user,
)
from goodwill.sales.models import (
    ExchangeRate,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    PartnerTerms,
    Payment,
    PaymentAllocation,
    PaymentTerm,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
    ProductCategory,
)
from goodwill.sales.permissions import (
    check_sales,
    get_price_list_for_user,
    get_product_for_user,
)
from goodwill.sales.pricing import price_for
from goodwill.sales.selectors import partner_sales_summary

TAGS = ["sales"]
SUMMARY_LATEST = 10
OPEN_STATES = (Invoice.State.POSTED, Invoice.State.PARTIAL)
PAYABLE = {Invoice.Kind.CUSTOMER_INVOICE, Invoice.Kind.VENDOR_BILL}
EDITABLE_ORDER_STATES = (Order.State.DRAFT, Order.State.SENT)
BASE_PRICE_PLACES = Decimal("0.0001")

DATE_RANGE = [
    OpenApiParameter("partner", OpenApiTypes.INT, description="A partner id."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="On or after this day."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="On or before this day."),
]
CAMPAIGN = OpenApiParameter("campaign", OpenApiTypes.INT, description="A campaign id.")

M = TypeVar("M", bound=Model)
D = TypeVar("D", Order, Invoice)


def _visible_cases(user: Any) -> Prefetch[str, QuerySet[Case], str]:
    """The cases of a document that *user* may see, as ``document.visible_cases``."""
    return Prefetch(
        "cases", queryset=visible_cases(user).only("id").order_by("id"), to_attr="visible_cases"
    )


# --------------------------------------------------------------------------
# The cases of a document
#
# ``order_create`` and ``invoice_create`` link cases, but no service replaces
# the cases of an existing document yet; until one does, this does it in the
# transaction of the service call that checked the document may change, and
# records it on the timeline like the services do.


def _cases_save(document: Order | Invoice, *, by: User, cases: list[Case]) -> None:
    """Make *cases* the cases of *document* that *by* can see; the cases out of
    *by*'s sight stay linked, unnamed."""
    linked = list(document.cases.values_list("pk", flat=True))
    seen = set(visible_cases(by).filter(pk__in=linked).values_list("pk", flat=True))
    casework.document_cases_set(
        document=document, by=by, cases=cases, keep=[pk for pk in linked if pk not in seen]
    )


# --------------------------------------------------------------------------
# What orders and invoices share: creating, changing and listing them


def _document_create(
    request: Request, serializer_class: type[Serializer], create: Callable[..., D]
) -> D:
    """A new document from the POST body: *create* (the service) makes it with
    its lines and cases."""
    values = common.body(request, serializer_class)
    values.setdefault("cases", [])
    return create(by=staff_user(request), lines=line_inputs(values.pop("lines")), **values)


def _draft_update(
    request: Request, serializer_class: type[Serializer], update: Callable[..., D]
) -> D:
    """Change a document with the keys of the PATCH body.

    *update* is the service bound to the document; it changes the header and,
    when ``lines`` is sent, replaces the lines. The cases sent replace the
    linked ones in the same transaction."""
    values = common.body(request, serializer_class, partial=True)
    cases, lines = values.pop("cases", None), values.pop("lines", None)
    user = staff_user(request)
    with transaction.atomic():
        document = update(
            by=user, values=values, lines=line_inputs(lines) if lines is not None else None
        )
        if cases is not None:
            _cases_save(document, by=user, cases=cases)
    return document


def _partner_and_dates(rows: QuerySet[M], values: dict[str, Any], *, date: str) -> QuerySet[M]:
    """*rows* narrowed to the ``partner`` and the ``date_from``–``date_to`` range
    (on the field *date*) of the list filters."""
    rows = common.exact_filters(rows, values, partner="partner_id")
    if values.get("date_from"):
        rows = rows.filter(**{f"{date}__gte": values["date_from"]})
    if values.get("date_to"):
        rows = rows.filter(**{f"{date}__lte": values["date_to"]})
    return rows


def _document_rows(
    request: Request, model: type[D], values: dict[str, Any], *, date: str
) -> QuerySet[D]:
    """The orders or invoices the list filters keep, with what a list row shows."""
    rows = model.objects.select_related("partner").prefetch_related(_visible_cases(request.user))
    rows = common.exact_filters(rows, values, kind="kind", state="state", campaign="campaign_id")
    return _partner_and_dates(rows, values, date=date)


def _document_list_parameters(model: type[D], *extra: OpenApiParameter) -> list[OpenApiParameter]:
    """The query parameters of a list of orders or invoices, *extra* among them."""
    return [
        OpenApiParameter("kind", OpenApiTypes.STR, enum=model.Kind.values),
        OpenApiParameter("state", OpenApiTypes.STR, enum=model.State.values),
        *DATE_RANGE,
        *extra,
        CAMPAIGN,
        CURSOR,
    ]


# --------------------------------------------------------------------------
# Products and categories


def _product_queryset(filters: dict[str, Any]) -> QuerySet[Product]:
    products = Product.objects.all()
    state = filters.get("status", "active")
    if state == "active":
        products = products.filter(active=True)
    elif state == "inactive":
        products = products.filter(active=False)
    if filters.get("kind"):
        products = products.filter(kind=filters["kind"])
    if filters.get("category") is not None:
        products = products.filter(category=filters["category"])
    q = " ".join(str(filters.get("q", "")).split())
    if q:
        products = products.filter(Q(code__istartswith=q) | Q(name__icontains=q))
    return products


def _product_response(
    request: Request, product: Product, *, status_code: int = status.HTTP_200_OK
) -> Response:
    context = common.context(request, category_paths=services.category_paths())
    return common.respond(ProductSerializer(product, context=context).data, status_code)


@extend_schema(
    methods=["GET"],
    operation_id="sales_products_list",
    summary="List products",
    description="One page of products by code; active ones unless `status` says otherwise.",
    parameters=[
        OpenApiParameter(
            "q", OpenApiTypes.STR, description="Start of the code, or part of the name."
        ),
        OpenApiParameter("status", OpenApiTypes.STR, enum=["active", "inactive", "all"]),
        OpenApiParameter("kind", OpenApiTypes.STR, enum=Product.Kind.values),
        OpenApiParameter("category", OpenApiTypes.INT, description="A product category id."),
        CURSOR,
    ],
    responses={200: ProductPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="sales_products_create",
    summary="Create a product",
    description="Managers and administrators. `code` and `name` are required.",
    request=ProductWriteSerializer,
    responses={201: ProductSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def product_collection(request: Request) -> Response:
    if request.method == "POST":
        check_sales(request.user, "product", "add")
        values = common.body(request, ProductWriteSerializer)
        product = services.product_save(by=staff_user(request), values=values)
        return _product_response(request, product, status_code=status.HTTP_201_CREATED)
    check_sales(request.user, "product")
    filters = common.filters(request, ProductFilterSerializer)
    return common.page_response(
        request,
        _product_queryset(filters.validated_data),
        filters=filters,
        sort="code",
        page_serializer=ProductPageSerializer,
        context=common.context(request, category_paths=services.category_paths()),
    )


@extend_schema(
    methods=["GET"],
    operation_id="sales_products_retrieve",
    summary="Show a product",
    parameters=[ID],
    responses={200: ProductSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="sales_products_partial_update",
    summary="Change a product",
    description="Managers and administrators; changes the keys sent.",
    parameters=[ID],
    request=ProductWriteSerializer,
    responses={200: ProductSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def product_detail(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        product = get_product_for_user(request.user, pk, action="change")
        values = common.body(request, ProductWriteSerializer, partial=True)
        product = services.product_save(by=staff_user(request), product=product, values=values)
        return _product_response(request, product)
    return _product_response(request, get_product_for_user(request.user, pk))


@extend_schema(
    operation_id="sales_product_categories_list",
    summary="List product categories",
    description="Every product category (they are few), sorted by path.",
    responses={200: ProductCategoryListSerializer, **REFUSED},
    tags=TAGS,
)
@api_view(["GET"])
def product_category_list(request: Request) -> Response:
    check_sales(request.user, "productcategory")
    paths = services.category_paths()
    categories = sorted(
        ProductCategory.objects.only("id", "name", "parent_id"),
        key=lambda c: paths.get(c.pk, c.name).casefold(),
    )
    context = common.context(request, category_paths=paths)
    return Response(ProductCategoryListSerializer({"results": categories}, context=context).data)


# --------------------------------------------------------------------------
# Price lists and prices


@extend_schema(
    operation_id="sales_price_lists_list",
    summary="List price lists",
    description="Every price list (they are few), by name; inactive ones too.",
    responses={200: PriceListListSerializer, **REFUSED},
    tags=TAGS,
)
@api_view(["GET"])
def price_list_list(request: Request) -> Response:
    check_sales(request.user, "pricelist")
    rows = list(PriceList.objects.order_by("name", "id"))
    return Response(
        PriceListListSerializer({"results": rows}, context=common.context(request)).data
    )


@extend_schema(
    operation_id="sales_price_lists_retrieve",
    summary="Show a price list",
    description="With its versions (active first, newest first) and each version's rules "
    "in the order they apply.",
    parameters=[ID],
    responses={200: PriceListDetailSerializer, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def price_list_detail(request: Request, pk: int) -> Response:
    price_list = get_price_list_for_user(request.user, pk)
    check_sales(request.user, "pricelistversion")
    check_sales(request.user, "pricerule")
    rules = PriceRule.objects.order_by("sequence", "id")
    versions = PriceListVersion.objects.order_by("-active", "-valid_from", "-id").prefetch_related(
        Prefetch("rules", queryset=rules)
    )
    prefetch_related_objects(
        [price_list], Prefetch("versions", queryset=versions, to_attr="versions_shown")
    )
    return Response(PriceListDetailSerializer(price_list, context=common.context(request)).data)


@extend_schema(
    operation_id="sales_price_retrieve",
    summary="Price a product",
    description="The unit price of a product for a quantity on a date: on `price_list` if "
    "given, else on the partner's price list (its commercial terms), else the product's list "
    "price in the company currency. The answer says which list, version and rule gave it. A "
    "missing exchange rate, price lists based on each other in a cycle, or a rule that "
    "gives a negative price is a 400 with the reason.",
    parameters=[
        OpenApiParameter("product", OpenApiTypes.INT, required=True),
        OpenApiParameter("partner", OpenApiTypes.INT),
        OpenApiParameter("quantity", OpenApiTypes.STR, description='Default "1".'),
        OpenApiParameter("date", OpenApiTypes.DATE, description="Default: today."),
        OpenApiParameter("price_list", OpenApiTypes.INT),
    ],
    responses={200: PriceQuoteSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET"])
def price(request: Request) -> Response:
    check_sales(request.user, "product")
    check_sales(request.user, "pricelist")
    values = common.filters(request, PriceQuerySerializer).validated_data
    day = values.get("date") or timezone.localdate()
    partner = values.get("partner")
    quote = price_for(
        product=values["product"],
        quantity=values["quantity"],
        on=day,
        partner=partner,
        price_list=values.get("price_list"),
    )
    data = {
        "product": values["product"].pk,
        "partner": partner.pk if partner is not None else None,
        "quantity": values["quantity"],
        "date": day,
        "unit_price": quote.unit_price,
        "currency": quote.currency,
        "base_price": quote.base_price.quantize(BASE_PRICE_PLACES),
        "price_list": quote.price_list,
        "version": quote.version,
        "rule": quote.rule,
    }
    return Response(PriceQuoteSerializer(data, context=common.context(request)).data)


# --------------------------------------------------------------------------
# Payment terms and exchange rates


@extend_schema(
    operation_id="sales_payment_terms_list",
    summary="List payment terms",
    description="Every payment term, inactive ones too, by net days.",
    responses={200: PaymentTermListSerializer, **REFUSED},
    tags=TAGS,
)
@api_view(["GET"])
def payment_term_list(request: Request) -> Response:
    check_sales(request.user, "paymentterm")
    rows = list(PaymentTerm.objects.order_by("net_days", "name"))
    return Response(PaymentTermListSerializer({"results": rows}).data)


@extend_schema(
    methods=["GET"],
    operation_id="sales_exchange_rates_list",
    summary="List exchange rates",
    description="Newest first. A rate is the number of units of the currency that one unit "
    "of the company currency buys, from its day until the next rate of that currency.",
    parameters=[OpenApiParameter("currency", OpenApiTypes.STR), CURSOR],
    responses={200: ExchangeRatePageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="sales_exchange_rates_create",
    summary="Add an exchange rate",
    description="Managers and administrators. One rate per currency and day.",
    request=ExchangeRateWriteSerializer,
    responses={201: ExchangeRateSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def exchange_rate_collection(request: Request) -> Response:
    if request.method == "POST":
        check_sales(request.user, "exchangerate", "add")
        values = common.body(request, ExchangeRateWriteSerializer)
        rate = services.exchange_rate_save(by=staff_user(request), values=values)
        return Response(ExchangeRateSerializer(rate).data, status=status.HTTP_201_CREATED)
    check_sales(request.user, "exchangerate")
    filters = common.filters(request, ExchangeRateFilterSerializer)
    rows = ExchangeRate.objects.all()
    if filters.validated_data.get("currency"):
        rows = rows.filter(currency=filters.validated_data["currency"])
    return common.page_response(
        request,
        rows,
        filters=filters,
        sort="-valid_from",
        page_serializer=ExchangeRatePageSerializer,
        context=common.context(request),
    )


# --------------------------------------------------------------------------
# Partners' terms and balances


PARTNER = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Partner id.")


def _terms_response(request: Request, partner_pk: int) -> Response:
    terms = (
        PartnerTerms.objects.select_related(
            "price_list", "supplier_price_list", "payment_term", "updated_by"
        )
        .filter(partner_id=partner_pk)
        .first()
    )
    if terms is None:
        terms = PartnerTerms(partner_id=partner_pk)
        terms.updated_at = None  # type: ignore[assignment]  # never saved: no date
    context = common.context(request, currency=settings.COMPANY_CURRENCY)
    return Response(PartnerTermsSerializer(terms, context=context).data)


@extend_schema(
    methods=["GET"],
    operation_id="partners_terms_retrieve",
    summary="A partner's commercial terms",
    description="Price lists, payment term, credit limit and ERP id; nulls when unset.",
    parameters=[PARTNER],
    responses={200: PartnerTermsSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="partners_terms_partial_update",
    summary="Change a partner's commercial terms",
    description="Managers and administrators; changes the keys sent (null clears one). "
    "The partner's timeline records each change.",
    parameters=[PARTNER],
    request=PartnerTermsWriteSerializer,
    responses={200: PartnerTermsSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def partner_terms(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        check_sales(request.user, "partnerterms", "change")
        check_sales(request.user, "partnerterms", "add")
        partner = get_partner_for_user(request.user, pk)
        values = common.body(request, PartnerTermsWriteSerializer, partial=True)
        services.partner_terms_save(by=staff_user(request), partner=partner, values=values)
        return _terms_response(request, partner.pk)
    check_sales(request.user, "partnerterms")
    partner = get_partner_for_user(request.user, pk)
    return _terms_response(request, partner.pk)


@extend_schema(
    operation_id="partners_balance_retrieve",
    summary="A partner's balance and sales",
    description="The open balance per currency with the receivable's aging (not due, 0–30, "
    "31–60, 61–90 and 90+ days overdue), and the sales summary of the partner and its "
    "subsidiaries: net invoiced in the last 12 months and all time (the lifetime value), "
    "first and last sale, and the latest documents.",
    parameters=[PARTNER],
    responses={200: PartnerBalanceSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def partner_balance(request: Request, pk: int) -> Response:
    check_invoice_action(request.user)
    partner = get_partner_for_user(request.user, pk)
    today = timezone.localdate()
    data = {
        "partner": partner,
        "date": today,
        "balances": payments.partner_balances(partner=partner, on=today),
        "sales": partner_sales_summary(partner=partner, today=today, latest=SUMMARY_LATEST),
    }
    return Response(PartnerBalanceSerializer(data, context=common.context(request)).data)


# --------------------------------------------------------------------------
# Orders


def _order_allowed(user: Any, order: Order) -> dict[str, Any]:
    may_change = can_order(user, "change")
    return {
        "change": may_change and order.state in EDITABLE_ORDER_STATES,
        "states": [
            action
            for action, (sources, _) in orders.TRANSITIONS.items()
            if may_change and order.state in sources
        ],
        "invoice": order.state == Order.State.CONFIRMED and can_order(user, "invoice"),
    }


def order_response(request: Request, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    """Order *pk* with everything its detail shows; the caller checked the permission."""
    order = (
        Order.objects.select_related("partner", "payment_term", "price_list", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("sequence", "id")),
            Prefetch("invoices", queryset=Invoice.objects.order_by("-id")),
            _visible_cases(request.user),
        )
        .get(pk=pk)
    )
    context = common.context(
        request, currency=order.currency, allowed=_order_allowed(request.user, order)
    )
    return common.respond(OrderDetailSerializer(order, context=context).data, status_code)


@extend_schema(
    methods=["GET"],
    operation_id="sales_orders_list",
    summary="List quotations and orders",
    description="Newest first, one page at a time; the dates filter on the order date.",
    parameters=_document_list_parameters(Order),
    responses={200: OrderPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="sales_orders_create",
    summary="Create a quotation or a purchase order",
    description="A draft, numbered at once. A line without `unit_price` is priced from the "
    "partner's price list (for a purchase, its supplier price list, else the product's "
    "cost); without `tax_rate` it takes the product's.",
    request=OrderCreateSerializer,
    responses={201: OrderDetailSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def order_collection(request: Request) -> Response:
    if request.method == "POST":
        check_order_action(request.user, "add")
        order = _document_create(request, OrderCreateSerializer, orders.order_create)
        return order_response(request, order.pk, status_code=status.HTTP_201_CREATED)
    check_order_action(request.user)
    filters = common.filters(request, OrderFilterSerializer)
    rows = _document_rows(request, Order, filters.validated_data, date="order_date")
    return common.page_response(
        request,
        rows,
        filters=filters,
        sort="-id",
        page_serializer=OrderPageSerializer,
        context=common.context(request),
    )


@extend_schema(
    methods=["GET"],
    operation_id="sales_orders_retrieve",
    summary="Show a quotation or order",
    description="With its lines, its invoices and what you may do with it now.",
    parameters=[ID],
    responses={200: OrderDetailSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="sales_orders_partial_update",
    summary="Change a quotation or order",
    description="Changes the keys sent of a draft or sent quotation; `lines` replaces every "
    "line (lines without a price are priced like on creation). Once confirmed, an order "
    "does not change: a PATCH is then a 400 that says so.",
    parameters=[ID],
    request=OrderUpdateSerializer,
    responses={200: OrderDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def order_detail(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        order = get_order_for_user(request.user, pk, action="change")
        update = functools.partial(orders.order_update, order=order)
        order = _draft_update(request, OrderUpdateSerializer, update)
        return order_response(request, order.pk)
    order = get_order_for_user(request.user, pk)
    return order_response(request, order.pk)


@common.action_schema(
    tags=TAGS,
    operation_id="sales_orders_state",
    summary="Send, confirm, finish or cancel an order",
    description="`send`: draft → sent; `confirm`: draft or sent → confirmed (it needs a "
    "line); `done`: confirmed → done; `cancel`: anything not done → cancelled (an order with "
    "invoices that are not cancelled cannot be). A move the state does not allow is a 400 "
    "that says why. Confirming a sales order that takes the customer over its credit limit "
    "is a 400 with the figures, unless a manager sends `over_credit_limit: true` (an agent "
    "who sends it gets a 403).",
    request=OrderStateSerializer,
    response=OrderDetailSerializer,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def order_state(request: Request, pk: int) -> Response:
    order = get_order_for_user(request.user, pk, action="change")
    data = common.body(request, OrderStateSerializer)
    over = bool(data.get("over_credit_limit")) and data["action"] == "confirm"
    if over and not can_invoice(request.user, "post"):
        raise PermissionDenied("Only managers can confirm an order over the credit limit.")
    orders.order_set_state(
        order=order, by=staff_user(request), action=data["action"], over_credit_limit=over
    )
    return order_response(request, order.pk)


@common.action_schema(
    tags=TAGS,
    operation_id="sales_orders_invoice",
    summary="Invoice an order",
    description="Managers and administrators. A draft invoice (a vendor bill for a purchase "
    "order) of what is not invoiced yet; the order is then done. The answer is the invoice.",
    response=InvoiceDetailSerializer,
    created=True,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def order_invoice(request: Request, pk: int) -> Response:
    order = get_order_for_user(request.user, pk, action="invoice")
    invoice = orders.order_invoice(order=order, by=staff_user(request))
    return invoice_response(request, invoice.pk, status_code=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------
# Invoices


def _invoice_allowed(user: Any, invoice: Invoice) -> dict[str, bool]:
    draft = invoice.state == Invoice.State.DRAFT
    return {
        "change": draft and can_invoice(user, "change"),
        "post": draft and can_invoice(user, "post"),
        "cancel": draft and can_invoice(user, "post"),
        "credit_note": invoice.state in {*OPEN_STATES, Invoice.State.PAID}
        and not invoice.is_refund
        and can_invoice(user, "add"),
        "pay": invoice.state in OPEN_STATES
        and invoice.kind in PAYABLE
        and can_invoice(user, "pay"),
    }


def invoice_response(
    request: Request, pk: int, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """Invoice *pk* with everything its detail shows; the caller checked the permission."""
    invoice = (
        Invoice.objects.select_related("partner", "payment_term", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("sequence", "id")),
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("payment").order_by("id"),
            ),
            Prefetch("refunds", queryset=Invoice.objects.order_by("id")),
            _visible_cases(request.user),
        )
        .get(pk=pk)
    )
    context = common.context(
        request,
        currency=invoice.currency,
        today=timezone.localdate(),
        allowed=_invoice_allowed(request.user, invoice),
    )
    return common.respond(InvoiceDetailSerializer(invoice, context=context).data, status_code)


@extend_schema(
    methods=["GET"],
    operation_id="sales_invoices_list",
    summary="List invoices, credit notes and vendor bills",
    description="Newest first, one page at a time; the dates filter on the invoice date. "
    "`overdue=true` keeps the open documents past their due date.",
    parameters=_document_list_parameters(Invoice, OpenApiParameter("overdue", OpenApiTypes.BOOL)),
    responses={200: InvoicePageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="sales_invoices_create",
    summary="Draft an invoice",
    description="Managers and administrators. Lines are priced like an order's; the "
    "draft is numbered when it is posted.",
    request=InvoiceCreateSerializer,
    responses={201: InvoiceDetailSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def invoice_collection(request: Request) -> Response:
    if request.method == "POST":
        check_invoice_action(request.user, "add")
        invoice = _document_create(request, InvoiceCreateSerializer, invoicing.invoice_create)
        return invoice_response(request, invoice.pk, status_code=status.HTTP_201_CREATED)
    check_invoice_action(request.user)
    filters = common.filters(request, InvoiceFilterSerializer)
    values = filters.validated_data
    today = timezone.localdate()
    rows = _document_rows(request, Invoice, values, date="invoice_date")
    overdue = Q(state__in=OPEN_STATES, due_date__lt=today)
    rows = common.flag_filter(rows, values.get("overdue"), overdue)
    return common.page_response(
        request,
        rows,
        filters=filters,
        sort="-id",
        page_serializer=InvoicePageSerializer,
        context=common.context(request, today=today),
    )


@extend_schema(
    methods=["GET"],
    operation_id="sales_invoices_retrieve",
    summary="Show an invoice",
    description="With its lines, the payments allocated to it, its credit notes and what you "
    "may do with it now.",
    parameters=[ID],
    responses={200: InvoiceDetailSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="sales_invoices_partial_update",
    summary="Change a draft invoice",
    description="Managers and administrators; changes the keys sent, and `lines` replaces "
    "every line. A posted document never changes: a PATCH of one is a 400 that says to "
    "correct it with a credit note.",
    parameters=[ID],
    request=InvoiceUpdateSerializer,
    responses={200: InvoiceDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def invoice_detail(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        invoice = get_invoice_for_user(request.user, pk, action="change")
        update = functools.partial(invoicing.invoice_update, invoice=invoice)
        invoice = _draft_update(request, InvoiceUpdateSerializer, update)
        return invoice_response(request, invoice.pk)
    invoice = get_invoice_for_user(request.user, pk)
    return invoice_response(request, invoice.pk)


@common.action_schema(
    tags=TAGS,
    operation_id="sales_invoices_post",
    summary="Post a draft invoice",
    description="Managers and administrators. Gives the number (no gaps), the date (today "
    "unless the draft has one) and the due date from the payment term, and freezes it.",
    response=InvoiceDetailSerializer,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def invoice_post(request: Request, pk: int) -> Response:
    invoice = get_invoice_for_user(request.user, pk, action="post")
    invoicing.invoice_post(invoice=invoice, by=staff_user(request))
    return invoice_response(request, invoice.pk)


@common.action_schema(
    tags=TAGS,
    operation_id="sales_invoices_cancel",
    summary="Cancel a draft invoice",
    description="Managers and administrators. A posted document is corrected with a credit "
    "note instead; cancelling one is a 400.",
    response=InvoiceDetailSerializer,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def invoice_cancel(request: Request, pk: int) -> Response:
    invoice = get_invoice_for_user(request.user, pk, action="post")
    invoicing.invoice_cancel(invoice=invoice, by=staff_user(request))
    return invoice_response(request, invoice.pk)


@common.action_schema(
    tags=TAGS,
    operation_id="sales_invoices_credit_note",
    summary="Credit a posted invoice",
    description="Managers and administrators. A draft credit note (a vendor refund for a "
    "bill) with the invoice's lines; change it if only part is credited, then post it. The "
    "answer is the credit note.",
    response=InvoiceDetailSerializer,
    created=True,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def invoice_credit_note(request: Request, pk: int) -> Response:
    invoice = get_invoice_for_user(request.user, pk, action="add")
    refund = invoicing.invoice_refund(invoice=invoice, by=staff_user(request))
    return invoice_response(request, refund.pk, status_code=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------
# Payments


def _payment_response(
    request: Request, pk: int, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """Payment *pk* with its allocations; the caller checked the permission."""
    try:
        payment = (
            Payment.objects.select_related("partner", "created_by")
            .prefetch_related(
                Prefetch(
                    "allocations",
                    queryset=PaymentAllocation.objects.select_related("invoice").order_by("id"),
                )
            )
            .get(pk=pk)
        )
    except Payment.DoesNotExist:
        raise Http404("No such payment.") from None
    context = common.context(request, currency=payment.currency)
    return common.respond(PaymentDetailSerializer(payment, context=context).data, status_code)


@extend_schema(
    methods=["GET"],
    operation_id="sales_payments_list",
    summary="List payments",
    description="Newest first, one page at a time; the dates filter on the payment date.",
    parameters=[
        OpenApiParameter("direction", OpenApiTypes.STR, enum=Payment.Direction.values),
        *DATE_RANGE,
        CURSOR,
    ],
    responses={200: PaymentPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="sales_payments_create",
    summary="Register a payment",
    description="Managers and administrators. A payment received (`in`) settles customer "
    "invoices, one made (`out`) vendor bills, of the same partner and currency. "
    "`allocations` says which and how much (partial payments are fine); left out, the "
    "oldest due invoices are settled first. What is not allocated stays on the partner as "
    "credit. An allocation to a document that is not open, or larger than what is left to "
    "pay, or allocations adding up to more than the payment, are a 400 and nothing is saved.",
    request=PaymentCreateSerializer,
    responses={201: PaymentDetailSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def payment_collection(request: Request) -> Response:
    if request.method == "POST":
        check_invoice_action(request.user, "pay")
        body = PaymentCreateSerializer(data=request.data, context=common.context(request))
        body.is_valid(raise_exception=True)
        values = body.validated_data
        payment = payments.payment_register(
            by=staff_user(request),
            direction=values["direction"],
            partner=values["partner"],
            amount=values["amount"],
            currency=values["currency"],
            payment_date=values["payment_date"],
            method=values["method"],
            reference=values["reference"],
            allocations=body.allocation_inputs(),
        )
        return _payment_response(request, payment.pk, status_code=status.HTTP_201_CREATED)
    check_sales(request.user, "payment")
    filters = common.filters(request, PaymentFilterSerializer)
    values = filters.validated_data
    rows = common.exact_filters(
        Payment.objects.select_related("partner"), values, direction="direction"
    )
    return common.page_response(
        request,
        _partner_and_dates(rows, values, date="payment_date"),
        filters=filters,
        sort="-id",
        page_serializer=PaymentPageSerializer,
        context=common.context(request),
    )


@extend_schema(
    operation_id="sales_payments_retrieve",
    summary="Show a payment",
    description="With the invoices it settled and how much of it is left as credit.",
    parameters=[ID],
    responses={200: PaymentDetailSerializer, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def payment_detail(request: Request, pk: int) -> Response:
    check_sales(request.user, "payment")
    return _payment_response(request, pk)
