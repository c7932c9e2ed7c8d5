"""The sales pages: products and their categories, payment terms, exchange rates,
price lists with their versions and rules, and the partner page's "Commercial
terms" panel.

Views parse the request, ask the permission helper, call a service in
``goodwill.sales.services``, and render; nothing else happens here. Agents see
these pages read-only; managers change them. A price list's versions and rules
update in place with htmx, and every action also works as a plain form post.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.lib.forms import apply_errors
from goodwill.lib.pagination import BadCursor, keyset_page
from goodwill.partners.permissions import get_partner_for_user
from goodwill.sales import services
from goodwill.sales.forms import (
    ExchangeRateForm,
    PartnerTermsForm,
    PaymentTermForm,
    PriceListForm,
    ProductCategoryForm,
    ProductFilterForm,
    ProductForm,
    RuleForm,
    VersionForm,
)
from goodwill.sales.models import (
    ExchangeRate,
    PartnerTerms,
    PaymentTerm,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
)
from goodwill.sales.permissions import (
    can_sales,
    check_sales,
    get_category_for_user,
    get_payment_term_for_user,
    get_price_list_for_user,
    get_product_for_user,
    get_rate_for_user,
    get_rule_for_user,
    get_version_for_user,
)

PAGE_SIZE = 50
RATES_PAGE_SIZE = 50
AUTOCOMPLETE_LIMIT = 20


def _status(request: AuthenticatedHttpRequest) -> int:
    return 400 if request.method == "POST" else 200


# --------------------------------------------------------------------------
# Products


def _product_queryset(filters: dict[str, Any]) -> QuerySet[Product]:
    products = Product.objects.select_related("category")
    status = filters.get("status", "")
    if status == "":
        products = products.filter(active=True)
    elif status == "inactive":
        products = products.filter(active=False)
    if filters.get("kind"):
        products = products.filter(kind=filters["kind"])
    if filters.get("category"):
        products = products.filter(category_id=filters["category"])
    q = " ".join(str(filters.get("q", "")).split())
    if q:
        products = products.filter(Q(code__istartswith=q) | Q(name__icontains=q))
    return products


@require_GET
@staff_required
def product_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "product")
    paths = services.category_paths()
    form = ProductFilterForm(request.GET, paths=paths)
    filters = form.filters()
    query = urlencode(filters)
    try:
        page = keyset_page(
            _product_queryset(filters),
            sort="code",
            cursor=request.GET.get("cursor"),
            limit=PAGE_SIZE,
        )
    except BadCursor as exc:
        messages.warning(request, str(exc))
        return redirect(f"{reverse('sales:product_list')}?{query}")
    for product in page.items:
        product.category_path = paths.get(product.category_id or 0, "")  # type: ignore[attr-defined]
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "query": query,
        "currency": settings.COMPANY_CURRENCY,
        "can_add": can_sales(request.user, "product", "add"),
    }
    if request.htmx and request.htmx.target == "product-results":
        return render(request, "sales/_product_results.html", context)
    return render(request, "sales/product_list.html", context)


@require_GET
@staff_required
def product_autocomplete(request: AuthenticatedHttpRequest) -> JsonResponse:
    """Products for a picker: code prefix or name match, active ones first."""
    check_sales(request.user, "product")
    q = " ".join(request.GET.get("q", "")[:200].split())
    if not q:
        return JsonResponse({"results": []})
    products = Product.objects.filter(Q(code__istartswith=q) | Q(name__icontains=q)).order_by(
        "-active", "code"
    )[:AUTOCOMPLETE_LIMIT]
    return JsonResponse(
        {
            "results": [
                {"value": p.pk, "text": str(p), "where": "" if p.active else "inactive"}
                for p in products
            ]
        }
    )


@require_http_methods(["GET", "POST"])
@staff_required
def product_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "product", "add")
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_save(by=request.user, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The product {product} was created.")
            return redirect("sales:product_list")
    return render(
        request,
        "sales/product_form.html",
        {"form": form, "creating": True},
        status=_status(request),
    )


@require_http_methods(["GET", "POST"])
@staff_required
def product_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    product = get_product_for_user(request.user, pk, action="change")
    if request.method == "POST":
        form = ProductForm(request.POST)
    else:
        form = ProductForm(initial=ProductForm.initial_for(product))
    if request.method == "POST" and form.is_valid():
        try:
            services.product_save(by=request.user, product=product, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The product {product} was saved.")
            return redirect("sales:product_list")
    return render(
        request,
        "sales/product_form.html",
        {"form": form, "product": product, "creating": False},
        status=_status(request),
    )


# --------------------------------------------------------------------------
# Product categories


@require_GET
@staff_required
def category_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "productcategory")
    paths = services.category_paths()
    counts = dict(
        Product.objects.filter(category__isnull=False)
        .values_list("category")
        .annotate(n=Count("id"))
        .values_list("category", "n")
    )
    rows = sorted(
        ((pk, path, counts.get(pk, 0)) for pk, path in paths.items()),
        key=lambda row: row[1].lower(),
    )
    return render(
        request,
        "sales/category_list.html",
        {
            "rows": rows,
            "can_add": can_sales(request.user, "productcategory", "add"),
            "can_change": can_sales(request.user, "productcategory", "change"),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def category_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "productcategory", "add")
    form = ProductCategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = services.product_category_save(by=request.user, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The category {category.name} was created.")
            return redirect("sales:category_list")
    return render(
        request,
        "sales/category_form.html",
        {"form": form, "creating": True},
        status=_status(request),
    )


@require_http_methods(["GET", "POST"])
@staff_required
def category_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    category = get_category_for_user(request.user, pk, action="change")
    if request.method == "POST":
        form = ProductCategoryForm(request.POST, category=category)
    else:
        form = ProductCategoryForm(
            initial=ProductCategoryForm.initial_for(category), category=category
        )
    if request.method == "POST" and form.is_valid():
        try:
            services.product_category_save(
                by=request.user, category=category, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The category {category.name} was saved.")
            return redirect("sales:category_list")
    return render(
        request,
        "sales/category_form.html",
        {"form": form, "category": category, "creating": False},
        status=_status(request),
    )


# --------------------------------------------------------------------------
# Payment terms


@require_GET
@staff_required
def payment_term_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "paymentterm")
    return render(
        request,
        "sales/payment_term_list.html",
        {
            "terms": list(PaymentTerm.objects.all()),
            "can_add": can_sales(request.user, "paymentterm", "add"),
            "can_change": can_sales(request.user, "paymentterm", "change"),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def payment_term_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "paymentterm", "add")
    form = PaymentTermForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            term = services.payment_term_save(by=request.user, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The payment term {term.name} was created.")
            return redirect("sales:payment_term_list")
    return render(
        request,
        "sales/payment_term_form.html",
        {"form": form, "creating": True},
        status=_status(request),
    )


@require_http_methods(["GET", "POST"])
@staff_required
def payment_term_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    term = get_payment_term_for_user(request.user, pk, action="change")
    if request.method == "POST":
        form = PaymentTermForm(request.POST)
    else:
        form = PaymentTermForm(initial=PaymentTermForm.initial_for(term))
    if request.method == "POST" and form.is_valid():
        try:
            services.payment_term_save(by=request.user, term=term, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The payment term {term.name} was saved.")
            return redirect("sales:payment_term_list")
    return render(
        request,
        "sales/payment_term_form.html",
        {"form": form, "term": term, "creating": False},
        status=_status(request),
    )


# --------------------------------------------------------------------------
# Exchange rates


def _render_rates(
    request: AuthenticatedHttpRequest, *, form: ExchangeRateForm | None = None, status: int = 200
) -> HttpResponse:
    currencies = list(
        ExchangeRate.objects.order_by("currency").values_list("currency", flat=True).distinct()
    )
    currency = request.GET.get("currency", "")
    if currency not in currencies:
        currency = currencies[0] if currencies else ""
    page = None
    if currency:
        rates = ExchangeRate.objects.filter(currency=currency)
        try:
            page = keyset_page(
                rates, sort="-valid_from", cursor=request.GET.get("cursor"), limit=RATES_PAGE_SIZE
            )
        except BadCursor as exc:
            messages.warning(request, str(exc))
            return redirect(f"{reverse('sales:rate_list')}?{urlencode({'currency': currency})}")
    can_add = can_sales(request.user, "exchangerate", "add")
    if form is None and can_add:
        form = ExchangeRateForm(initial={"currency": currency})
    return render(
        request,
        "sales/rate_list.html",
        {
            "currencies": currencies,
            "currency": currency,
            "page": page,
            "query": urlencode({"currency": currency}),
            "company_currency": settings.COMPANY_CURRENCY,
            "form": form,
            "can_add": can_add,
            "can_delete": can_sales(request.user, "exchangerate", "delete"),
        },
        status=status,
    )


@require_GET
@staff_required
def rate_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "exchangerate")
    return _render_rates(request)


@require_POST
@staff_required
def rate_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "exchangerate", "add")
    form = ExchangeRateForm(request.POST)
    if form.is_valid():
        try:
            rate = services.exchange_rate_save(by=request.user, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(
                request,
                f"1 {settings.COMPANY_CURRENCY} = {rate.rate} {rate.currency} "
                f"from {rate.valid_from.isoformat()} was recorded.",
            )
            url = reverse("sales:rate_list")
            return redirect(f"{url}?{urlencode({'currency': rate.currency})}")
    return _render_rates(request, form=form, status=400)


@require_http_methods(["GET", "POST"])
@staff_required
def rate_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    rate = get_rate_for_user(request.user, pk, action="delete")
    back = f"{reverse('sales:rate_list')}?{urlencode({'currency': rate.currency})}"
    if request.method != "POST":
        return render(
            request,
            "sales/delete_confirm.html",
            {
                "title": f"Delete the {rate.currency} rate of {rate.valid_from.isoformat()}?",
                "explanation": f"1 {settings.COMPANY_CURRENCY} = {rate.rate} {rate.currency}. "
                "Amounts on its days will be converted with the rate before it.",
                "back": back,
                "crumb": ("Exchange rates", back),
            },
        )
    services.exchange_rate_delete(by=request.user, rate=rate)
    messages.success(request, f"The {rate.currency} rate of {rate.valid_from} was deleted.")
    return redirect(back)


# --------------------------------------------------------------------------
# Price lists


@require_GET
@staff_required
def price_list_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "pricelist")
    price_lists = PriceList.objects.annotate(version_count=Count("versions")).order_by(
        "-active", "name"
    )
    return render(
        request,
        "sales/price_list_list.html",
        {"price_lists": list(price_lists), "can_add": can_sales(request.user, "pricelist", "add")},
    )


@require_http_methods(["GET", "POST"])
@staff_required
def price_list_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "pricelist", "add")
    form = PriceListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            price_list = services.price_list_save(by=request.user, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The price list {price_list.name} was created.")
            return redirect("sales:price_list_detail", pk=price_list.pk)
    return render(
        request,
        "sales/price_list_form.html",
        {"form": form, "creating": True},
        status=_status(request),
    )


@require_http_methods(["GET", "POST"])
@staff_required
def price_list_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    price_list = get_price_list_for_user(request.user, pk, action="change")
    if request.method == "POST":
        form = PriceListForm(request.POST)
    else:
        form = PriceListForm(initial=PriceListForm.initial_for(price_list))
    if request.method == "POST" and form.is_valid():
        try:
            services.price_list_save(
                by=request.user, price_list=price_list, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The price list {price_list.name} was saved.")
            return redirect("sales:price_list_detail", pk=price_list.pk)
    return render(
        request,
        "sales/price_list_form.html",
        {"form": form, "price_list": price_list, "creating": False},
        status=_status(request),
    )


def _amount_text(value: Decimal) -> str:
    """1,234.50 (two decimals at least, four at most)."""
    whole, _, decimals = f"{value:,.4f}".partition(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


def _percent_text(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def rule_summary(rule: PriceRule, paths: dict[int, str], currency: str) -> dict[str, str]:
    """What a rule applies to, and how it prices, in words."""
    if rule.product_id is not None:
        applies = str(rule.product)
    elif rule.category_id is not None:
        applies = f"{paths.get(rule.category_id, '?')} (and subcategories)"
    else:
        applies = "All products"
    if rule.min_quantity:
        applies += f", from {_percent_text(rule.min_quantity)}"
    if rule.base == PriceRule.Base.FIXED:
        price = f"{_amount_text(rule.fixed_price or Decimal(0))} {currency}"
    else:
        if rule.base == PriceRule.Base.OTHER_LIST and rule.base_price_list is not None:
            price = f"Price on {rule.base_price_list.name}"
        else:
            price = "List price"
        if rule.discount_percent > 0:
            price += f" − {_percent_text(rule.discount_percent)} %"
        elif rule.discount_percent < 0:
            price += f" + {_percent_text(-rule.discount_percent)} %"
        if rule.surcharge > 0:
            price += f" + {_amount_text(rule.surcharge)}"
        elif rule.surcharge < 0:
            price += f" − {_amount_text(-rule.surcharge)}"
    return {"applies": applies, "price": price}


def _versions(price_list: PriceList) -> list[PriceListVersion]:
    """The list's versions, newest first, each with its rules in order (three queries)."""
    rules = PriceRule.objects.select_related("product", "base_price_list").order_by(
        "sequence", "id"
    )
    versions = list(
        PriceListVersion.objects.filter(price_list=price_list)
        .order_by("-active", "-valid_from", "-id")
        .prefetch_related(Prefetch("rules", queryset=rules))
    )
    paths = services.category_paths() if any(v.rules.all() for v in versions) else {}
    for version in versions:
        version.period = services.version_period(version)  # type: ignore[attr-defined]
        for rule in version.rules.all():
            rule.summary = rule_summary(rule, paths, price_list.currency)  # type: ignore[attr-defined]
    return versions


def _panel_context(request: AuthenticatedHttpRequest, price_list: PriceList) -> dict[str, Any]:
    user = request.user
    return {
        "price_list": price_list,
        "company_currency": settings.COMPANY_CURRENCY,
        "versions": _versions(price_list),
        "version_form": VersionForm(adding=True, prefix="version"),
        "can_change_list": can_sales(user, "pricelist", "change"),
        "can_add_version": can_sales(user, "pricelistversion", "add"),
        "can_change_version": can_sales(user, "pricelistversion", "change"),
        "can_delete_version": can_sales(user, "pricelistversion", "delete"),
        "can_add_rule": can_sales(user, "pricerule", "add"),
        "can_change_rule": can_sales(user, "pricerule", "change"),
        "can_delete_rule": can_sales(user, "pricerule", "delete"),
    }


def _render_price_list(
    request: AuthenticatedHttpRequest,
    price_list: PriceList,
    *,
    status: int = 200,
    flash: str = "",
    **overrides: Any,
) -> HttpResponse:
    """The price list page, or with htmx only its versions panel.

    htmx does not swap error responses, so a panel showing form errors comes
    back as 200; the full page answers 400.
    """
    context = {**_panel_context(request, price_list), **overrides, "flash": flash}
    if request.htmx:
        return render(request, "sales/_versions.html", context)
    if flash:
        messages.success(request, flash)
    return render(request, "sales/price_list_detail.html", context, status=status)


def _done(request: AuthenticatedHttpRequest, price_list: PriceList, flash: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, flash)
        return redirect("sales:price_list_detail", pk=price_list.pk)
    return _render_price_list(request, price_list, flash=flash)


@require_GET
@staff_required
def price_list_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    price_list = get_price_list_for_user(request.user, pk)
    return _render_price_list(request, price_list)


@require_POST
@staff_required
def version_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    price_list = get_price_list_for_user(request.user, pk, what="pricelistversion", action="add")
    form = VersionForm(request.POST, adding=True, prefix="version")
    if form.is_valid():
        try:
            version = services.price_list_version_save(
                by=request.user, price_list=price_list, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            return _done(request, price_list, f"The version {version.name} was added.")
    return _render_price_list(request, price_list, status=400, version_form=form)


@require_http_methods(["GET", "POST"])
@staff_required
def version_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """GET: the price list page (or its versions panel) with this version in a form."""
    version = get_version_for_user(request.user, pk, action="change")
    price_list = version.price_list
    if request.method != "POST":
        form = VersionForm(initial=VersionForm.initial_for(version), prefix="edit-version")
        form.fields["name"].widget.attrs["autofocus"] = True
        return _render_price_list(
            request, price_list, editing_version=version, edit_version_form=form
        )
    form = VersionForm(request.POST, prefix="edit-version")
    if form.is_valid():
        try:
            services.price_list_version_save(
                by=request.user, version=version, price_list=price_list, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            return _done(request, price_list, f"The version {version.name} was saved.")
    return _render_price_list(
        request, price_list, status=400, editing_version=version, edit_version_form=form
    )


@require_http_methods(["GET", "POST"])
@staff_required
def version_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    version = get_version_for_user(request.user, pk, action="delete")
    price_list = version.price_list
    if request.method != "POST":
        back = reverse("sales:price_list_detail", args=[price_list.pk])
        count = version.rules.count()
        return render(
            request,
            "sales/delete_confirm.html",
            {
                "title": f"Delete the version {version.name} of {price_list.name}?",
                "explanation": f"Its {count} rule{'s' if count != 1 else ''} will be deleted "
                "with it. To keep them but stop using them, make the version inactive instead.",
                "back": back,
                "crumb": (price_list.name, back),
            },
        )
    services.price_list_version_delete(by=request.user, version=version)
    return _done(request, price_list, f"The version {version.name} was deleted.")


@require_http_methods(["GET", "POST"])
@staff_required
def rule_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """GET: the page (or panel) with an empty rule form under the version; POST: add."""
    version = get_version_for_user(request.user, pk, what="pricerule", action="add")
    price_list = version.price_list
    if request.method != "POST":
        form = RuleForm(price_list=price_list, prefix="rule")
        return _render_price_list(request, price_list, adding_rule_to=version, rule_form=form)
    form = RuleForm(request.POST, price_list=price_list, prefix="rule")
    if form.is_valid():
        try:
            services.price_rule_save(by=request.user, version=version, values=form.values())
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            return _done(request, price_list, f"A rule was added to {version.name}.")
    return _render_price_list(
        request, price_list, status=400, adding_rule_to=version, rule_form=form
    )


@require_http_methods(["GET", "POST"])
@staff_required
def rule_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_user(request.user, pk, action="change")
    version = rule.version
    price_list = version.price_list
    if request.method != "POST":
        form = RuleForm(initial=RuleForm.initial_for(rule), price_list=price_list, prefix="rule")
        return _render_price_list(request, price_list, editing_rule=rule, rule_form=form)
    form = RuleForm(request.POST, price_list=price_list, prefix="rule")
    if form.is_valid():
        try:
            services.price_rule_save(
                by=request.user, rule=rule, version=version, values=form.values()
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            return _done(request, price_list, f"The rule {rule.sequence} was saved.")
    return _render_price_list(request, price_list, status=400, editing_rule=rule, rule_form=form)


@require_http_methods(["GET", "POST"])
@staff_required
def rule_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_user(request.user, pk, action="delete")
    price_list = rule.version.price_list
    if request.method != "POST":
        back = reverse("sales:price_list_detail", args=[price_list.pk])
        return render(
            request,
            "sales/delete_confirm.html",
            {
                "title": f"Delete rule {rule.sequence} of {rule.version.name}?",
                "explanation": "The rules after it apply instead.",
                "back": back,
                "crumb": (price_list.name, back),
            },
        )
    services.price_rule_delete(by=request.user, rule=rule)
    return _done(request, price_list, f"The rule {rule.sequence} was deleted.")


# --------------------------------------------------------------------------
# Partners' commercial terms


def _terms_of(partner_pk: int) -> PartnerTerms | None:
    return (
        PartnerTerms.objects.select_related(
            "price_list", "supplier_price_list", "payment_term", "updated_by"
        )
        .filter(partner_id=partner_pk)
        .first()
    )


@require_GET
@staff_required
def partner_terms(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The "Commercial terms" panel of a partner page (loaded by htmx)."""
    check_sales(request.user, "partnerterms")
    partner = get_partner_for_user(request.user, pk)
    return render(
        request,
        "sales/_partner_terms.html",
        {
            "partner": partner,
            "terms": _terms_of(partner.pk),
            "currency": settings.COMPANY_CURRENCY,
            "can_change": can_sales(request.user, "partnerterms", "change")
            and can_sales(request.user, "partnerterms", "add"),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def partner_terms_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    check_sales(request.user, "partnerterms", "change")
    check_sales(request.user, "partnerterms", "add")
    partner = get_partner_for_user(request.user, pk)
    terms = _terms_of(partner.pk)
    if request.method == "POST":
        form = PartnerTermsForm(request.POST)
    else:
        form = PartnerTermsForm(initial=PartnerTermsForm.initial_for(terms))
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_terms_save(by=request.user, partner=partner, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The commercial terms of {partner.name} were saved.")
            return redirect("partners:detail", pk=partner.pk)
    return render(
        request,
        "sales/partner_terms_form.html",
        {"form": form, "partner": partner},
        status=_status(request),
    )
