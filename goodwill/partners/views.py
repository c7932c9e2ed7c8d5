"""Partner pages. Views parse the request, ask the permission helper, call a
service or a selector, and render; nothing else happens here."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.lib.forms import apply_errors
from goodwill.lib.pagination import BadCursor
from goodwill.partners import selectors, services
from goodwill.partners.forms import (
    AddressFormSet,
    BulkForm,
    EmailFormSet,
    ExportForm,
    MembershipAddForm,
    MembershipForm,
    MergeForm,
    NoteForm,
    PartnerFilterForm,
    PartnerForm,
    PersonCompanyForm,
    PhoneFormSet,
    membership_initial,
)
from goodwill.partners.models import Partner, PartnerExport
from goodwill.partners.permissions import (
    can_partner,
    check_partner_action,
    get_export_for_user,
    get_membership_for_user,
    get_partner_for_user,
)
from goodwill.partners.services import MembershipInput

# Panels other apps add to the partner page (in their AppConfig.ready), each
# loaded lazily with htmx: (title, URL name taking the partner's pk, who may see it).
PARTNER_PANELS: list[tuple[str, str, Any]] = []


# --------------------------------------------------------------------------
# List


@require_GET
@staff_required
def partner_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_partner_action(request.user, "view")
    paths = selectors.category_paths()
    choices = selectors.category_choices(paths)
    form = PartnerFilterForm(request.GET, categories=choices)
    filters = form.filters()
    try:
        page = selectors.partner_list_page(filters=filters, cursor=request.GET.get("cursor"))
    except BadCursor as exc:
        messages.warning(request, str(exc))
        return redirect(f"{reverse('partners:list')}?{urlencode(filters.to_dict())}")
    query = filters.to_dict()
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "query": urlencode(query),
        "query_without_sort": urlencode({k: v for k, v in query.items() if k != "sort"}),
        "category_paths": paths,
        "bulk_categories": choices,
        "can_archive": can_partner(request.user, "archive"),
        "can_export": can_partner(request.user, "export"),
        "can_create": can_partner(request.user, "create"),
    }
    if request.htmx and request.htmx.target == "partner-results":
        return render(request, "partners/_results.html", context)
    return render(request, "partners/list.html", context)


@require_POST
@staff_required
def partner_bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = BulkForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("partners:list")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    action = form.cleaned_data["action"]
    check_partner_action(request.user, "archive" if action == "archive" else "change")
    partners = list(Partner.objects.filter(pk__in=form.cleaned_data["ids"]))
    try:
        if action == "archive":
            count = services.partners_archive(partners=partners, by=request.user)
            messages.success(request, f"Archived {count} partner{'s' if count != 1 else ''}.")
        else:
            category = form.cleaned_data["category"]
            count = services.partners_categorise(
                partners=partners, category=category, by=request.user
            )
            messages.success(
                request, f"Added {category.name} to {count} partner{'s' if count != 1 else ''}."
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(back)


@require_GET
@staff_required
def partner_autocomplete(request: AuthenticatedHttpRequest) -> JsonResponse:
    check_partner_action(request.user, "view")
    kind = request.GET.get("kind", "")
    if kind not in Partner.Kind.values:
        kind = ""
    partners = selectors.partner_autocomplete(q=request.GET.get("q", "")[:200], kind=kind)
    return JsonResponse(
        {
            "results": [
                {
                    "value": p.pk,
                    "text": p.name,
                    "kind": p.kind,
                    "where": ", ".join(x for x in (p.city, _country_name(p)) if x),
                }
                for p in partners
            ]
        }
    )


def _country_name(partner: Partner) -> str:
    return str(partner.country.name) if partner.country else ""  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# Create and edit


def _formsets(
    request: HttpRequest, *, initial: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    initial = initial or {}
    data = request.POST if request.method == "POST" else None
    addresses = AddressFormSet(data, prefix="addresses", initial=initial.get("addresses"))
    region = None
    if data is not None and addresses.is_valid():
        region = next(
            (f.cleaned_data.get("country") for f in addresses if f.cleaned_data.get("country")),
            None,
        )
    return {
        "emails": EmailFormSet(data, prefix="emails", initial=initial.get("emails")),
        "phones": PhoneFormSet(
            data, prefix="phones", initial=initial.get("phones"), form_kwargs={"region": region}
        ),
        "addresses": addresses,
    }


def _all_valid(*forms: Any) -> bool:
    """Validate every form (not stopping at the first failure) so all errors show."""
    results = [f.is_valid() for f in forms]
    return all(results)


def _collected(formsets: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [row for row in (f.as_input() for f in formset.forms) if row is not None]
        for name, formset in formsets.items()
    }


@staff_required
def partner_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_partner_action(request.user, "create")
    kind = request.GET.get("kind", Partner.Kind.COMPANY)
    if kind not in Partner.Kind.values:
        kind = Partner.Kind.COMPANY
    company_id = request.GET.get("company", "")
    initial = {"kind": kind}
    if request.method == "POST":
        form = PartnerForm(request.POST)
        person_form = PersonCompanyForm(request.POST, prefix="link")
    else:
        form = PartnerForm(initial=initial)
        person_form = PersonCompanyForm(
            prefix="link", initial={"company": company_id if company_id.isdigit() else None}
        )
    formsets = _formsets(request)
    duplicates: list[tuple[Partner, list[str]]] = []

    if request.method == "POST":
        valid = _all_valid(form, person_form, *formsets.values())
        if valid:
            rows = _collected(formsets)
            duplicates = selectors.partner_duplicates(
                name=form.cleaned_data["name"],
                emails=[r.email for r in rows["emails"]],
                phones=[r.number for r in rows["phones"]],
            )
            if duplicates and not request.POST.get("ignore_duplicates"):
                form.add_error(
                    None,
                    "Partners like this one already exist (listed beside the form). "
                    "Open one of them, or tick “Create anyway” to continue.",
                )
            else:
                companies = []
                if form.cleaned_data[
                    "kind"
                ] == Partner.Kind.PERSON and person_form.cleaned_data.get("company"):
                    companies.append(
                        MembershipInput(
                            company=person_form.cleaned_data["company"],
                            job_title=person_form.cleaned_data["job_title"],
                        )
                    )
                try:
                    partner = services.partner_create(
                        by=request.user,
                        categories=list(form.cleaned_data["categories"]),
                        companies=companies,
                        emails=rows["emails"],
                        phones=rows["phones"],
                        addresses=rows["addresses"],
                        **form.service_fields(),
                    )
                except ValidationError as exc:
                    apply_errors(exc, form, person_form)
                else:
                    messages.success(request, f"{partner.name} was created.")
                    return redirect("partners:detail", pk=partner.pk)

    return render(
        request,
        "partners/form.html",
        {
            "form": form,
            "person_form": person_form,
            "formsets": formsets,
            "duplicates": duplicates,
            "creating": True,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@staff_required
def partner_duplicates(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The live "already exists?" panel beside the create form (htmx)."""
    check_partner_action(request.user, "view")
    fields = {key: str(request.POST.get(key, "")) for key in request.POST}
    emails = [v for k, v in fields.items() if re.fullmatch(r"emails-\d+-email", k) and v]
    phones = [v for k, v in fields.items() if re.fullmatch(r"phones-\d+-number", k) and v]
    duplicates = selectors.partner_duplicates(
        name=request.POST.get("name", "")[:200], emails=emails[:20], phones=phones[:20]
    )
    return render(request, "partners/_duplicates.html", {"duplicates": duplicates})


@staff_required
def partner_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    partner = get_partner_for_user(request.user, pk, action="change")
    if partner.merged_into_id:
        messages.error(request, f"{partner.name} was merged into another partner.")
        return redirect("partners:detail", pk=partner.pk)
    initial: dict[str, list[dict[str, Any]]] = {
        "emails": [
            {"email": e.email, "kind": e.kind, "primary": e.is_primary}
            for e in partner.emails.all()
        ],
        "phones": [
            {"number": p.display, "kind": p.kind, "primary": p.is_primary}
            for p in partner.phones.all()
        ],
        "addresses": [
            {
                "kind": a.kind,
                "street": a.street,
                "street2": a.street2,
                "zip": a.zip,
                "city": a.city,
                "state": a.state,
                "country": str(a.country),
            }
            for a in partner.addresses.all()
        ],
    }
    if request.method == "POST":
        form = PartnerForm(request.POST)
    else:
        form = PartnerForm(initial=PartnerForm.initial_for(partner))
    formsets = _formsets(request, initial=initial)
    if request.method == "POST":
        valid = _all_valid(form, *formsets.values())
        if valid:
            try:
                services.partner_update(
                    partner=partner,
                    by=request.user,
                    categories=list(form.cleaned_data["categories"]),
                    **_collected(formsets),
                    **form.service_fields(),
                )
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(request, f"{form.cleaned_data['name']} was saved.")
                return redirect("partners:detail", pk=partner.pk)
    return render(
        request,
        "partners/form.html",
        {"form": form, "formsets": formsets, "partner": partner, "creating": False},
        status=400 if request.method == "POST" else 200,
    )


# --------------------------------------------------------------------------
# Detail and timeline


@require_GET
@staff_required
def partner_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    partner = get_partner_for_user(request.user, pk, queryset=selectors.partner_detail_queryset())
    timeline = selectors.partner_timeline_page(partner=partner, cursor=None, user=request.user)
    return render(
        request,
        "partners/detail.html",
        {
            "partner": partner,
            "timeline": timeline,
            "note_form": NoteForm(),
            "category_paths": selectors.category_paths(),
            "can_change": can_partner(request.user, "change"),
            "can_archive": can_partner(request.user, "archive"),
            "can_merge": can_partner(request.user, "merge"),
            "can_note": can_partner(request.user, "note"),
            "panels": [
                (title, reverse(url_name, args=[partner.pk]))
                for title, url_name, allowed in PARTNER_PANELS
                if allowed(request.user)
            ],
        },
    )


@require_GET
@staff_required
def partner_timeline(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Older timeline entries, appended below the shown ones (htmx)."""
    partner = get_partner_for_user(request.user, pk)
    try:
        timeline = selectors.partner_timeline_page(
            partner=partner, cursor=request.GET.get("cursor"), user=request.user
        )
    except BadCursor:
        return HttpResponse("This page link is no longer valid; reload the page.", status=400)
    return render(
        request, "partners/_timeline_page.html", {"partner": partner, "timeline": timeline}
    )


@require_POST
@staff_required
def partner_note_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    partner = get_partner_for_user(request.user, pk, action="note")
    form = NoteForm(request.POST)
    entry = None
    if form.is_valid():
        try:
            entry = services.partner_note_add(
                partner=partner, by=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            apply_errors(exc, form)
    if not request.htmx:
        if entry is None:
            for error in form.errors.values():
                messages.error(request, str(error[0]))
        else:
            messages.success(request, "Note added.")
        return redirect("partners:detail", pk=partner.pk)
    context = {
        "partner": partner,
        "note_form": NoteForm() if entry else form,
        "entry": entry,
    }
    return render(request, "partners/_note_added.html", context, status=200 if entry else 400)


# --------------------------------------------------------------------------
# Archive, restore, merge


@staff_required
def partner_archive(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    partner = get_partner_for_user(request.user, pk, action="archive")
    if request.method == "POST":
        try:
            services.partner_archive(partner=partner, by=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, f"{partner.name} was archived.")
        return redirect("partners:detail", pk=partner.pk)
    return render(request, "partners/archive_confirm.html", {"partner": partner})


@require_POST
@staff_required
def partner_restore(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    partner = get_partner_for_user(request.user, pk, action="archive")
    try:
        services.partner_restore(partner=partner, by=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"{partner.name} was restored.")
    return redirect("partners:detail", pk=partner.pk)


@staff_required
def partner_merge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Choose a partner to fold into this one, review both, then merge."""
    keep = get_partner_for_user(request.user, pk, action="merge")
    form = MergeForm(request.POST or request.GET or None)
    other_field = form.fields["other"]
    other_field.queryset = Partner.objects.filter(kind=keep.kind, merged_into__isnull=True).exclude(  # type: ignore[attr-defined]
        pk=keep.pk
    )
    other_field.widget.attrs["data-kind"] = keep.kind
    drop = None
    if form.is_bound and form.is_valid():
        drop = form.cleaned_data["other"]
        if request.method == "POST" and form.cleaned_data["confirm"]:
            try:
                services.partner_merge(keep=keep, drop=drop, by=request.user)
            except ValidationError as exc:
                form.add_error(None, exc.messages[0])
            else:
                messages.success(request, f"{drop.name} was merged into {keep.name}.")
                return redirect("partners:detail", pk=keep.pk)
    return render(request, "partners/merge.html", {"keep": keep, "drop": drop, "form": form})


# --------------------------------------------------------------------------
# Contacts of companies


@staff_required
def membership_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """From a company: add a person as a contact. From a person: add a company."""
    partner = get_partner_for_user(request.user, pk, action="change")
    other_kind = Partner.Kind.PERSON if partner.is_company else Partner.Kind.COMPANY
    form = MembershipAddForm(request.POST or None, other_kind=other_kind)
    if request.method == "POST" and form.is_valid():
        other = form.cleaned_data.pop("other")
        person, company = (other, partner) if partner.is_company else (partner, other)
        try:
            services.membership_add(
                person=person, company=company, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"{person.name} is now a contact of {company.name}.")
            return redirect("partners:detail", pk=partner.pk)
    return render(
        request,
        "partners/membership_form.html",
        {"partner": partner, "form": form, "adding": True},
        status=400 if request.method == "POST" else 200,
    )


@staff_required
def membership_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = get_membership_for_user(request.user, pk)
    back = _membership_back(request, membership)
    form = MembershipForm(request.POST or None, initial=membership_initial(membership))
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_update(membership=membership, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, "Saved.")
            return redirect(back)
    return render(
        request,
        "partners/membership_form.html",
        {"membership": membership, "form": form, "adding": False, "back": back},
        status=400 if request.method == "POST" else 200,
    )


@staff_required
def membership_remove(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = get_membership_for_user(request.user, pk)
    back = _membership_back(request, membership)
    if request.method == "POST":
        services.membership_remove(membership=membership, by=request.user)
        messages.success(
            request,
            f"{membership.person.name} is no longer a contact of {membership.company.name}.",
        )
        return redirect(back)
    return render(
        request, "partners/membership_remove.html", {"membership": membership, "back": back}
    )


def _membership_back(request: HttpRequest, membership: Any) -> str:
    side = request.GET.get("from") or request.POST.get("from")
    target = membership.person_id if side == "person" else membership.company_id
    return reverse("partners:detail", args=[target])


# --------------------------------------------------------------------------
# Export


@require_POST
@staff_required
def export_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_partner_action(request.user, "export")
    form = ExportForm(request.POST)
    filters = PartnerFilterForm(request.POST).filters()
    if not form.is_valid():
        messages.error(request, "Choose CSV or XLSX.")
        return redirect(f"{reverse('partners:list')}?{urlencode(filters.to_dict())}")
    export = services.partner_export_request(
        by=request.user, filters=filters.to_dict(), fmt=form.cleaned_data["format"]
    )
    return redirect("partners:export_detail", pk=export.pk)


@require_GET
@staff_required
def export_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_partner_action(request.user, "export")
    exports: QuerySet[PartnerExport] = PartnerExport.objects.filter(created_by=request.user)[:50]
    return render(request, "partners/export_list.html", {"exports": exports})


@require_GET
@staff_required
def export_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    export = get_export_for_user(request.user, pk)
    template = "partners/_export_status.html" if request.htmx else "partners/export_detail.html"
    return render(request, template, {"export": export})


@require_GET
@staff_required
def export_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    export = get_export_for_user(request.user, pk)
    if not export.file:
        raise Http404("This export has no file yet.")
    try:
        handle = export.file.open("rb")
    except FileNotFoundError:
        raise Http404("The export file is gone; export again.") from None
    content_type = (
        "text/csv; charset=utf-8"
        if export.format == PartnerExport.Format.CSV
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return FileResponse(
        handle, as_attachment=True, filename=export.filename, content_type=content_type
    )
