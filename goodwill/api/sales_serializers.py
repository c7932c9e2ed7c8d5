"""What the sales endpoints accept and return.

Input serializers check types and shape (a number is a number, an id names a
record the user may pick) and turn the JSON into the arguments of the services
in ``goodwill.sales`` (``services``, ``orders``, ``invoicing``, ``payments``);
the services decide whether the values make sense. Output serializers render
what the selectors and services return.

Money goes out as strings: amounts (totals, payments, balances) with the
decimals of their currency (``"1234.50"``, ``"1235"`` for JPY); unit prices,
quantities and percentages with the four decimals they are stored with.
Decimals come in as strings (``"12.50"``) or whole numbers; a JSON number
with a fraction is refused, because it may already have lost its cents.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import get_attribute

from goodwill.api.case_serializers import (
    NamedRefSerializer,
    ObjectIdField,
    ObjectIdsField,
    PlainChoiceField,
)
from goodwill.api.partner_serializers import PartnerRefSerializer, partner_id_field
from goodwill.api.serializers import StrictSerializer, UserRefSerializer, WholeItemsListField
from goodwill.campaigns.models import Campaign
from goodwill.cases.models import Case
from goodwill.cases.permissions import visible_cases
from goodwill.lib.money import CURRENCY_CHOICES, money_round
from goodwill.sales.invoicing import MAX_LINES, LineInput
from goodwill.sales.models import (
    Invoice,
    Order,
    Payment,
    PaymentTerm,
    PriceList,
    Product,
    ProductCategory,
)
from goodwill.sales.orders import TRANSITIONS
from goodwill.sales.payments import BUCKETS, Allocation

MAX_CASES = 100
MAX_ALLOCATIONS = 200
POSITIVE = Decimal("0.0001")


def _absolute(path: str, request: Any) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def api_url(name: str, pk: int, request: Any) -> str:
    """The absolute URL of API route *name* for object *pk*."""
    return _absolute(reverse(f"api:{name}", args=[pk]), request)


def document_url(document: Order | Invoice, request: Any) -> str:
    """The absolute URL of an order's or an invoice's detail."""
    name = "sales_order_detail" if isinstance(document, Order) else "sales_invoice_detail"
    return api_url(name, document.pk, request)


# --------------------------------------------------------------------------
# Fields


class DecimalStringField(serializers.DecimalField):
    """A decimal in: a string (``"12.50"``) or a whole number, never a JSON
    number with a fraction (a float may already have lost its cents)."""

    default_error_messages = {
        "float": 'Send decimals as strings, e.g. "12.50", so that no cent is lost.',
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, float):
            self.fail("float")
        value: Decimal = super().to_internal_value(data)
        return value

    def quantize(self, value: Decimal) -> Decimal:
        """Keep the decimals as sent (the precision is checked already), so that the
        services' messages quote the number the client wrote: 10.005, not 10.0050."""
        if self.read_only:
            return super().quantize(value)
        return value


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "example": "1234.50",
        "description": "An amount with the decimals of its currency.",
    }
)
class AmountField(serializers.Field):
    """An amount of money, out only, rounded to its currency's minor unit.

    The currency is the attribute *currency_from* of the object being shown,
    else ``context["currency"]`` (the document that lines and allocations
    belong to)."""

    def __init__(self, *, currency_from: str = "", **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.currency_from = currency_from

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        if self.currency_from:
            currency = get_attribute(instance, self.currency_from.split("."))
        else:
            currency = self.context["currency"]
        return None if value is None else (Decimal(value), str(currency))

    def to_representation(self, value: tuple[Decimal, str]) -> str:
        amount, currency = value
        return str(money_round(amount, currency))


def _decimal(**kwargs: Any) -> DecimalStringField:
    return DecimalStringField(read_only=True, **kwargs)


def _campaigns(user: Any) -> QuerySet[Campaign]:
    return Campaign.objects.all()


def _cases(user: Any) -> QuerySet[Case]:
    return visible_cases(user)


def _products(user: Any) -> QuerySet[Product]:
    return Product.objects.all()


def _categories(user: Any) -> QuerySet[ProductCategory]:
    return ProductCategory.objects.all()


def _active_terms(user: Any) -> QuerySet[PaymentTerm]:
    return PaymentTerm.objects.filter(active=True)


def _all_terms(user: Any) -> QuerySet[PaymentTerm]:
    return PaymentTerm.objects.all()


def _active_price_lists(user: Any) -> QuerySet[PriceList]:
    return PriceList.objects.filter(active=True)


def _all_price_lists(user: Any) -> QuerySet[PriceList]:
    return PriceList.objects.all()


def _invoices(user: Any) -> QuerySet[Invoice]:
    return Invoice.objects.select_related("partner")


def _pick(choices: Callable[[Any], QuerySet[Any]], noun: str, **kwargs: Any) -> ObjectIdField:
    kwargs.setdefault("allow_null", True)
    kwargs.setdefault("required", False)
    return ObjectIdField(choices=choices, noun=noun, **kwargs)


def campaign_field() -> ObjectIdField:
    return _pick(_campaigns, "campaign", help_text="The campaign that brought it, or null.")


def reference_field(**kwargs: Any) -> serializers.CharField:
    """A document's reference: the customer's order number, the supplier's invoice number."""
    return serializers.CharField(max_length=100, allow_blank=True, **kwargs)


def notes_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_blank=True, max_length=20000, **kwargs)


def cases_field() -> ObjectIdsField:
    return ObjectIdsField(
        choices=_cases,
        noun="case",
        max_length=MAX_CASES,
        required=False,
        help_text="The ids of the cases it answers; the list replaces the old one. Cases "
        "you cannot see are refused like ids that do not exist, and links to them stay.",
    )


# --------------------------------------------------------------------------
# Shared pieces


class DocumentRefSerializer(serializers.Serializer):
    """Another commercial document, named where it is mentioned."""

    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True, help_text="Empty for a draft invoice.")
    kind = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    amount_total = AmountField(currency_from="currency")
    currency = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, document: Order | Invoice) -> str:
        return document_url(document, self.context.get("request"))


# What a row of a list of orders or invoices starts with. Each kind of document
# states what its ``kind`` and ``state`` can be (a field declared again keeps its
# place here), then adds its own fields; its ``cases`` SerializerMethodField is
# filled by ``get_cases``. (A comment, not a docstring: the schema would show it
# as the description of every order and invoice.)
class DocumentSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    number = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    partner = PartnerRefSerializer(read_only=True)
    currency = serializers.CharField(read_only=True)

    def get_url(self, document: Order | Invoice) -> str:
        return document_url(document, self.context.get("request"))

    def get_cases(self, document: Order | Invoice) -> list[int]:
        return [case.pk for case in document.visible_cases]  # type: ignore[union-attr]


class _PageSerializer(serializers.Serializer):
    next = serializers.URLField(
        read_only=True, allow_null=True, help_text="The next page, or null on the last one."
    )
    previous = serializers.URLField(
        read_only=True, allow_null=True, help_text="The previous page, or null on the first."
    )


def _id_filter() -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


class ListFilterSerializer(serializers.Serializer):
    """Query parameters shared by the document lists; unknown ones are ignored."""

    partner = _id_filter()
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and end < start:
            raise serializers.ValidationError({"date_to": ["The range ends before it starts."]})
        return attrs


class DocumentFilterSerializer(ListFilterSerializer):
    """The filters of the lists of orders and of invoices; each adds its ``kind``
    and ``state`` choices."""

    campaign = _id_filter()


# --------------------------------------------------------------------------
# Products and categories


class ProductFilterSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, required=False, help_text="Code prefix or name.")
    status = PlainChoiceField(
        choices=[("active", "Active"), ("inactive", "Inactive"), ("all", "All")],
        required=False,
        help_text="Default: active.",
    )
    kind = PlainChoiceField(choices=Product.Kind.choices, required=False)
    category = _pick(_categories, "product category", allow_null=False)


class ProductSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text="product or service")
    category = serializers.IntegerField(source="category_id", read_only=True, allow_null=True)
    category_path = serializers.SerializerMethodField(
        help_text='"Machines / Robots", or empty without a category.'
    )
    unit = serializers.CharField(read_only=True)
    list_price = _decimal(help_text="In the company currency.")
    cost = _decimal()
    tax_rate = _decimal(help_text="Percent.")
    active = serializers.BooleanField(read_only=True)
    description = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_url(self, product: Product) -> str:
        return api_url("sales_product_detail", product.pk, self.context.get("request"))

    def get_category_path(self, product: Product) -> str:
        paths: dict[int, str] = self.context.get("category_paths", {})
        return paths.get(product.category_id or 0, "")


class ProductPageSerializer(_PageSerializer):
    results = ProductSerializer(many=True, read_only=True)


class ProductWriteSerializer(StrictSerializer):
    """A new product (``code`` and ``name`` required), or the keys of one to change."""

    code = serializers.CharField(max_length=60, help_text="Unique; stored upper-cased.")
    name = serializers.CharField(max_length=200)
    kind = PlainChoiceField(choices=Product.Kind.choices, required=False)
    category = _pick(_categories, "product category")
    unit = PlainChoiceField(choices=Product.Unit.choices, required=False)
    list_price = DecimalStringField(min_value=Decimal(0), required=False)
    cost = DecimalStringField(min_value=Decimal(0), required=False)
    tax_rate = DecimalStringField(
        min_value=Decimal(0), max_value=Decimal(100), max_digits=7, required=False
    )
    active = serializers.BooleanField(required=False)
    description = serializers.CharField(
        allow_blank=True, required=False, max_length=5000, trim_whitespace=False
    )


class ProductCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    parent = serializers.IntegerField(  # type: ignore[assignment]  # not Field.parent
        source="parent_id", read_only=True, allow_null=True
    )
    path = serializers.SerializerMethodField(help_text='"Machines / Robots / Grippers".')

    def get_path(self, category: ProductCategory) -> str:
        paths: dict[int, str] = self.context.get("category_paths", {})
        return paths.get(category.pk, category.name)


class ProductCategoryListSerializer(serializers.Serializer):
    results = ProductCategorySerializer(many=True, read_only=True)


# --------------------------------------------------------------------------
# Price lists and prices


class PriceRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    sequence = serializers.IntegerField(read_only=True, help_text="Rules apply in this order.")
    product = serializers.IntegerField(source="product_id", read_only=True, allow_null=True)
    category = serializers.IntegerField(source="category_id", read_only=True, allow_null=True)
    min_quantity = _decimal()
    base = serializers.CharField(
        read_only=True, help_text="`list` (list price), `pricelist` (another list) or `fixed`."
    )
    base_price_list = serializers.IntegerField(
        source="base_price_list_id", read_only=True, allow_null=True
    )
    fixed_price = _decimal(allow_null=True)
    discount_percent = _decimal(help_text="Negative for a markup.")
    surcharge = _decimal()


class PriceListVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    valid_from = serializers.DateField(read_only=True, allow_null=True)
    valid_to = serializers.DateField(read_only=True, allow_null=True)
    active = serializers.BooleanField(read_only=True)
    rules = PriceRuleSerializer(many=True, read_only=True)


class PriceListSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    name = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    active = serializers.BooleanField(read_only=True)
    description = serializers.CharField(read_only=True)

    def get_url(self, price_list: PriceList) -> str:
        return api_url("sales_price_list_detail", price_list.pk, self.context.get("request"))


class PriceListListSerializer(serializers.Serializer):
    results = PriceListSerializer(many=True, read_only=True)


class PriceListDetailSerializer(PriceListSerializer):
    versions = PriceListVersionSerializer(
        many=True,
        read_only=True,
        source="versions_shown",
        help_text="Active ones first, then newest first; each with its rules in order.",
    )


class PriceQuerySerializer(serializers.Serializer):
    """The price endpoint's query parameters."""

    product = _pick(_products, "product", allow_null=False, required=True)
    partner = partner_id_field(
        required=False, help_text="Price with this partner's price list (its terms)."
    )
    quantity = DecimalStringField(min_value=Decimal(0), default=Decimal(1))
    date = serializers.DateField(required=False, help_text="Default: today.")
    price_list = _pick(
        _all_price_lists, "price list", allow_null=False, help_text="Wins over the partner's."
    )


class RuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    sequence = serializers.IntegerField(read_only=True)


class PriceQuoteSerializer(serializers.Serializer):
    product = serializers.IntegerField(read_only=True)
    partner = serializers.IntegerField(read_only=True, allow_null=True)
    quantity = _decimal()
    date = serializers.DateField(read_only=True)
    unit_price = AmountField(currency_from="currency", help_text="Rounded to the currency.")
    currency = serializers.CharField(read_only=True)
    base_price = _decimal(
        max_digits=40, help_text="What the rule started from, before discount and surcharge."
    )
    price_list = NamedRefSerializer(read_only=True, allow_null=True)
    version = NamedRefSerializer(read_only=True, allow_null=True)
    rule = RuleRefSerializer(
        read_only=True, allow_null=True, help_text="Null when the list price was used."
    )


# --------------------------------------------------------------------------
# Payment terms and exchange rates


class PaymentTermSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    upfront_percent = _decimal(help_text="Due at once, percent.")
    net_days = serializers.IntegerField(read_only=True, help_text="The rest is due after.")
    active = serializers.BooleanField(read_only=True)


class PaymentTermListSerializer(serializers.Serializer):
    results = PaymentTermSerializer(many=True, read_only=True)


class ExchangeRateFilterSerializer(serializers.Serializer):
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)


class ExchangeRateSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    currency = serializers.CharField(read_only=True)
    valid_from = serializers.DateField(read_only=True)
    rate = _decimal(
        max_digits=20,
        decimal_places=10,
        help_text="Units of the currency for one unit of the company currency.",
    )
    created_at = serializers.DateTimeField(read_only=True)


class ExchangeRatePageSerializer(_PageSerializer):
    results = ExchangeRateSerializer(many=True, read_only=True)


class ExchangeRateWriteSerializer(StrictSerializer):
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    valid_from = serializers.DateField(help_text="The first day the rate applies.")
    rate = DecimalStringField(
        max_digits=20,
        decimal_places=10,
        help_text="Units of the currency for one unit of the company currency.",
    )


# --------------------------------------------------------------------------
# Partners' terms and balances


class PartnerTermsSerializer(serializers.Serializer):
    partner = serializers.IntegerField(source="partner_id", read_only=True)
    price_list = NamedRefSerializer(read_only=True, allow_null=True)
    supplier_price_list = NamedRefSerializer(read_only=True, allow_null=True)
    payment_term = NamedRefSerializer(read_only=True, allow_null=True)
    credit_limit = AmountField(allow_null=True, help_text="In the company currency.")
    external_id = serializers.CharField(read_only=True, help_text="The partner's id in the ERP.")
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by = UserRefSerializer(read_only=True, allow_null=True)


class PartnerTermsWriteSerializer(StrictSerializer):
    price_list = _pick(_all_price_lists, "price list")
    supplier_price_list = _pick(_all_price_lists, "price list")
    payment_term = _pick(_all_terms, "payment term")
    credit_limit = DecimalStringField(min_value=Decimal(0), allow_null=True, required=False)
    external_id = serializers.CharField(max_length=100, allow_blank=True, required=False)


class AgingSerializer(serializers.Serializer):
    """The receivable by days past the due date."""

    not_due = AmountField(currency_from="currency")
    days_0_30 = AmountField(currency_from="currency")
    days_31_60 = AmountField(currency_from="currency")
    days_61_90 = AmountField(currency_from="currency")
    days_90_plus = AmountField(currency_from="currency")


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    receivable = AmountField(currency_from="currency", help_text="Open customer invoices.")
    payable = AmountField(currency_from="currency", help_text="Open vendor bills.")
    credit = AmountField(currency_from="currency", help_text="Payments received not allocated.")
    open_balance = AmountField(currency_from="currency", help_text="Receivable less credit.")
    overdue = AmountField(currency_from="currency")
    aging = serializers.SerializerMethodField()

    @extend_schema_field(AgingSerializer)
    def get_aging(self, balance: Any) -> dict[str, Any]:
        row = _Aging(balance.currency, balance.aging)
        return dict(AgingSerializer(row).data)


class _Aging:
    def __init__(self, currency: str, buckets: dict[str, Decimal]) -> None:
        self.currency = currency
        for bucket in BUCKETS:
            setattr(self, bucket, buckets[bucket])


class PaymentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    direction = serializers.CharField(read_only=True, help_text="`in` or `out`.")
    amount = AmountField(currency_from="currency")
    currency = serializers.CharField(read_only=True)
    payment_date = serializers.DateField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, payment: Payment) -> str:
        return api_url("sales_payment_detail", payment.pk, self.context.get("request"))


class SalesSummarySerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True, help_text="The company currency.")
    turnover_12_months = AmountField(currency_from="currency")
    turnover_all_time = AmountField(currency_from="currency")
    lifetime_value = AmountField(currency_from="currency")
    first_sale = serializers.DateField(read_only=True, allow_null=True)
    last_sale = serializers.DateField(read_only=True, allow_null=True)
    invoices = DocumentRefSerializer(many=True, read_only=True, help_text="The latest ones.")
    orders = DocumentRefSerializer(many=True, read_only=True, help_text="The latest ones.")
    payments = PaymentRefSerializer(many=True, read_only=True, help_text="The latest ones.")


class PartnerBalanceSerializer(serializers.Serializer):
    partner = PartnerRefSerializer(read_only=True)
    date = serializers.DateField(read_only=True, help_text="The day the aging counts from.")
    balances = BalanceSerializer(many=True, read_only=True, help_text="One per currency.")
    sales = SalesSummarySerializer(
        read_only=True, help_text="Net invoiced, with the partner's subsidiaries."
    )


# --------------------------------------------------------------------------
# Lines


class LineInputSerializer(StrictSerializer):
    """One line; without ``unit_price`` the price comes from the partner's
    terms, without ``tax_rate`` from the product."""

    product = _pick(_products, "product", help_text="A product id.")
    description = serializers.CharField(
        max_length=500, allow_blank=True, default="", help_text="Default: the product's name."
    )
    quantity = DecimalStringField(
        min_value=POSITIVE,
        default=Decimal(1),
        error_messages={"min_value": "The quantity must be more than zero."},
    )
    unit_price = DecimalStringField(
        min_value=Decimal(0),
        allow_null=True,
        required=False,
        help_text="Null or left out: the price from the partner's price list.",
    )
    discount_percent = DecimalStringField(
        min_value=Decimal(0), max_value=Decimal(100), max_digits=7, default=Decimal(0)
    )
    tax_rate = DecimalStringField(
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=7,
        allow_null=True,
        required=False,
        help_text="Percent; left out: the product's.",
    )


def line_inputs(rows: list[dict[str, Any]]) -> list[LineInput]:
    return [
        LineInput(
            description=row.get("description", ""),
            product=row.get("product"),
            quantity=row["quantity"],
            unit_price=row.get("unit_price"),
            discount_percent=row["discount_percent"],
            tax_rate=row.get("tax_rate"),
        )
        for row in rows
    ]


def lines_field(**kwargs: Any) -> WholeItemsListField:
    return WholeItemsListField(child=LineInputSerializer(), max_length=MAX_LINES, **kwargs)


class LineSerializer(serializers.Serializer):
    """A line as stored; amounts are in the document's currency."""

    id = serializers.IntegerField(read_only=True)
    sequence = serializers.IntegerField(read_only=True)
    product = serializers.IntegerField(source="product_id", read_only=True, allow_null=True)
    description = serializers.CharField(read_only=True)
    quantity = _decimal()
    unit_price = _decimal()
    discount_percent = _decimal()
    tax_rate = _decimal()
    subtotal = AmountField()
    tax_amount = AmountField()


class OrderLineSerializer(LineSerializer):
    quantity_invoiced = _decimal()
    quantity_delivered = _decimal(help_text="Delivered, or received for a purchase.")


# --------------------------------------------------------------------------
# Orders


class OrderFilterSerializer(DocumentFilterSerializer):
    kind = PlainChoiceField(choices=Order.Kind.choices, required=False)
    state = PlainChoiceField(choices=Order.State.choices, required=False)


class OrderCreateSerializer(StrictSerializer):
    kind = PlainChoiceField(choices=Order.Kind.choices, default=Order.Kind.SALE)
    partner = partner_id_field()
    currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES,
        allow_blank=True,
        default="",
        help_text="Default: the price list's, else the partner's, else the company's.",
    )
    order_date = serializers.DateField(required=False, help_text="Default: today.")
    valid_until = serializers.DateField(required=False, allow_null=True)
    payment_term = _pick(_active_terms, "payment term", help_text="Default: the partner's.")
    price_list = _pick(_active_price_lists, "price list", help_text="Default: the partner's.")
    reference = reference_field(default="")
    notes = notes_field(default="")
    lines = lines_field(default=list)
    campaign = campaign_field()
    cases = cases_field()


class OrderUpdateSerializer(StrictSerializer):
    """The keys of a draft or sent quotation to change; its kind is set for good."""

    partner = partner_id_field(required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    order_date = serializers.DateField(required=False)
    valid_until = serializers.DateField(required=False, allow_null=True)
    payment_term = _pick(_active_terms, "payment term")
    price_list = _pick(_active_price_lists, "price list")
    reference = reference_field(required=False)
    notes = notes_field(required=False)
    lines = lines_field(
        required=False, help_text="Replaces every line; lines without a price are repriced."
    )
    campaign = campaign_field()
    cases = cases_field()


class OrderStateSerializer(StrictSerializer):
    action = PlainChoiceField(
        choices=[(action, action) for action in TRANSITIONS],
        help_text="send (draft → sent), confirm (draft or sent → confirmed), done "
        "(confirmed → done), cancel (anything not done → cancelled).",
    )
    over_credit_limit = serializers.BooleanField(
        required=False,
        default=False,
        help_text="With confirm: a manager accepts taking the customer over its credit limit.",
    )


class OrderActionsSerializer(serializers.Serializer):
    change = serializers.BooleanField(read_only=True, help_text="Change the header and lines.")
    states = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The state actions open now: send, confirm, done, cancel.",
    )
    invoice = serializers.BooleanField(read_only=True, help_text="Make a draft invoice of it.")


class OrderSummarySerializer(DocumentSummarySerializer):
    kind = serializers.CharField(read_only=True, help_text="`sale` or `purchase`.")
    state = serializers.CharField(
        read_only=True, help_text="`draft`, `sent`, `confirmed`, `done` or `cancelled`."
    )
    order_date = serializers.DateField(read_only=True)
    valid_until = serializers.DateField(read_only=True, allow_null=True)
    amount_untaxed = AmountField(currency_from="currency")
    amount_tax = AmountField(currency_from="currency")
    amount_total = AmountField(currency_from="currency")
    campaign = serializers.IntegerField(source="campaign_id", read_only=True, allow_null=True)
    cases = serializers.SerializerMethodField(help_text="The ids of the cases you can see.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class OrderPageSerializer(_PageSerializer):
    results = OrderSummarySerializer(many=True, read_only=True)


class OrderDetailSerializer(OrderSummarySerializer):
    payment_term = NamedRefSerializer(read_only=True, allow_null=True)
    price_list = NamedRefSerializer(read_only=True, allow_null=True)
    reference = serializers.CharField(read_only=True)
    notes = serializers.CharField(read_only=True)
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    lines = OrderLineSerializer(many=True, read_only=True, source="lines.all")
    invoices = DocumentRefSerializer(many=True, read_only=True, source="invoices.all")
    allowed = serializers.SerializerMethodField()

    @extend_schema_field(OrderActionsSerializer)
    def get_allowed(self, order: Order) -> dict[str, Any]:
        return dict(self.context["allowed"])


# --------------------------------------------------------------------------
# Invoices


class InvoiceFilterSerializer(DocumentFilterSerializer):
    kind = PlainChoiceField(choices=Invoice.Kind.choices, required=False)
    state = PlainChoiceField(choices=Invoice.State.choices, required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)


class InvoiceCreateSerializer(StrictSerializer):
    kind = PlainChoiceField(choices=Invoice.Kind.choices, default=Invoice.Kind.CUSTOMER_INVOICE)
    partner = partner_id_field()
    currency = serializers.ChoiceField(
        choices=CURRENCY_CHOICES,
        allow_blank=True,
        default="",
        help_text="Default: the partner's, else the company's.",
    )
    invoice_date = serializers.DateField(
        required=False, allow_null=True, help_text="Default: the day it is posted."
    )
    payment_term = _pick(_active_terms, "payment term", help_text="Default: the partner's.")
    reference = reference_field(default="")
    notes = notes_field(default="")
    lines = lines_field(default=list)
    campaign = campaign_field()
    cases = cases_field()


class InvoiceUpdateSerializer(StrictSerializer):
    """The keys of a draft to change; a posted document does not change."""

    partner = partner_id_field(required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    invoice_date = serializers.DateField(required=False, allow_null=True)
    payment_term = _pick(_active_terms, "payment term")
    reference = reference_field(required=False)
    notes = notes_field(required=False)
    lines = lines_field(required=False, help_text="Replaces every line.")
    campaign = campaign_field()
    cases = cases_field()


class InvoiceActionsSerializer(serializers.Serializer):
    change = serializers.BooleanField(read_only=True, help_text="Edit the draft.")
    post = serializers.BooleanField(read_only=True)
    cancel = serializers.BooleanField(read_only=True)
    credit_note = serializers.BooleanField(read_only=True)
    pay = serializers.BooleanField(read_only=True, help_text="Register a payment of it.")


class InvoiceSummarySerializer(DocumentSummarySerializer):
    number = serializers.CharField(read_only=True, help_text="Empty until posted.")
    kind = serializers.CharField(
        read_only=True, help_text="`out_invoice`, `out_refund`, `in_invoice` or `in_refund`."
    )
    state = serializers.CharField(
        read_only=True, help_text="`draft`, `posted`, `partial`, `paid` or `cancelled`."
    )
    invoice_date = serializers.DateField(read_only=True, allow_null=True)
    due_date = serializers.DateField(read_only=True, allow_null=True)
    amount_untaxed = AmountField(currency_from="currency")
    amount_tax = AmountField(currency_from="currency")
    amount_total = AmountField(currency_from="currency")
    amount_paid = AmountField(currency_from="currency")
    amount_residual = AmountField(currency_from="currency", help_text="Left to pay.")
    overdue = serializers.SerializerMethodField()
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    origin = serializers.IntegerField(
        source="origin_id",
        read_only=True,
        allow_null=True,
        help_text="The invoice a credit note corrects.",
    )
    campaign = serializers.IntegerField(source="campaign_id", read_only=True, allow_null=True)
    cases = serializers.SerializerMethodField(help_text="The ids of the cases you can see.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_overdue(self, invoice: Invoice) -> bool:
        """Open and past its due date."""
        return (
            invoice.state in {Invoice.State.POSTED, Invoice.State.PARTIAL}
            and invoice.due_date is not None
            and invoice.due_date < self.context["today"]
        )


class InvoicePageSerializer(_PageSerializer):
    results = InvoiceSummarySerializer(many=True, read_only=True)


class InvoiceAllocationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    payment = serializers.IntegerField(source="payment_id", read_only=True)
    amount = AmountField()
    payment_date = serializers.DateField(source="payment.payment_date", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class InvoiceDetailSerializer(InvoiceSummarySerializer):
    payment_term = NamedRefSerializer(read_only=True, allow_null=True)
    reference = serializers.CharField(read_only=True)
    notes = serializers.CharField(read_only=True)
    posted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    lines = LineSerializer(many=True, read_only=True, source="lines.all")
    allocations = InvoiceAllocationSerializer(
        many=True, read_only=True, source="allocations.all", help_text="The payments of it."
    )
    refunds = DocumentRefSerializer(
        many=True, read_only=True, source="refunds.all", help_text="Its credit notes."
    )
    allowed = serializers.SerializerMethodField()

    @extend_schema_field(InvoiceActionsSerializer)
    def get_allowed(self, invoice: Invoice) -> dict[str, Any]:
        return dict(self.context["allowed"])


# --------------------------------------------------------------------------
# Payments


class PaymentFilterSerializer(ListFilterSerializer):
    direction = PlainChoiceField(choices=Payment.Direction.choices, required=False)


class AllocationInputSerializer(StrictSerializer):
    invoice = _pick(_invoices, "invoice", allow_null=False, required=True)
    amount = DecimalStringField(
        min_value=POSITIVE, error_messages={"min_value": "The amount must be more than zero."}
    )


class PaymentCreateSerializer(StrictSerializer):
    direction = PlainChoiceField(
        choices=Payment.Direction.choices,
        help_text="`in`: received from a customer; `out`: paid to a supplier.",
    )
    partner = partner_id_field()
    amount = DecimalStringField(
        min_value=POSITIVE, error_messages={"min_value": "The amount must be more than zero."}
    )
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    payment_date = serializers.DateField()
    method = PlainChoiceField(choices=Payment.Method.choices, default=Payment.Method.BANK)
    reference = serializers.CharField(max_length=100, allow_blank=True, default="")
    allocations = WholeItemsListField(
        child=AllocationInputSerializer(),
        max_length=MAX_ALLOCATIONS,
        required=False,
        help_text="Left out: the oldest due invoices first. `[]`: all of it stays as credit.",
    )

    def allocation_inputs(self) -> list[Allocation] | None:
        rows = self.validated_data.get("allocations")
        if rows is None:
            return None
        return [Allocation(invoice=row["invoice"], amount=row["amount"]) for row in rows]


class PaymentSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    direction = serializers.CharField(read_only=True, help_text="`in` or `out`.")
    partner = PartnerRefSerializer(read_only=True)
    amount = AmountField(currency_from="currency")
    currency = serializers.CharField(read_only=True)
    payment_date = serializers.DateField(read_only=True)
    method = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True)
    amount_allocated = AmountField(currency_from="currency")
    amount_unallocated = AmountField(currency_from="currency", help_text="Left as credit.")
    created_at = serializers.DateTimeField(read_only=True)

    def get_url(self, payment: Payment) -> str:
        return api_url("sales_payment_detail", payment.pk, self.context.get("request"))


class PaymentPageSerializer(_PageSerializer):
    results = PaymentSummarySerializer(many=True, read_only=True)


class PaymentAllocationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    invoice = DocumentRefSerializer(read_only=True)
    amount = AmountField()
    created_at = serializers.DateTimeField(read_only=True)


class PaymentDetailSerializer(PaymentSummarySerializer):
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    allocations = PaymentAllocationSerializer(many=True, read_only=True, source="allocations.all")
