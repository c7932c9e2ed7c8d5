"""Case pages. Views parse the request, ask the permission helper, call a
service or a selector, and render; nothing else happens here.

The case page is one fragment (``cases/_case.html``): every action on it posts
with htmx and gets the fragment back, so the header, the state buttons, the
sidebar and the timeline update together without a full reload. Without
JavaScript the same forms post normally and redirect back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.cases import selectors, services
from goodwill.cases.forms import (
    BulkForm,
    CaseFilterForm,
    CaseForm,
    ExpenseDecisionForm,
    LinkForm,
    MergeForm,
    NoteForm,
    ReplyForm,
    SavedFilterForm,
    SplitForm,
    StateForm,
    WatcherForm,
    case_initial,
)
from goodwill.cases.models import Case, CaseType, SavedFilter
from goodwill.cases.permissions import (
    can_case,
    check_case_action,
    get_attachment_for_user,
    get_case_for_user,
    get_saved_filter_for_user,
    visible_cases,
)
from goodwill.lib.forms import apply_errors, error_text
from goodwill.lib.ids import is_valid_id
from goodwill.lib.pagination import BadCursor
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.permissions import can_partner, get_partner_for_user

# --------------------------------------------------------------------------
# List


@require_GET
@staff_required
def case_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_case_action(request.user, "view")
    form = CaseFilterForm(request.GET, user=request.user)
    filters = form.filters()
    if not request.GET:
        filters.filter = "my_open"
        form = CaseFilterForm({"filter": "my_open"}, user=request.user)
        form.is_valid()
    try:
        page = selectors.case_list_page(
            user=request.user, filters=filters, cursor=request.GET.get("cursor")
        )
    except BadCursor as exc:
        messages.warning(request, str(exc))
        page = selectors.case_list_page(user=request.user, filters=filters, cursor=None)
    query = filters.as_query()
    without_sort = {k: v for k, v in query.items() if k != "sort"}
    context = {
        "form": form,
        "page": page,
        "filters": filters,
        "query": urlencode(query),
        "query_without_sort": urlencode(without_sort),
        "builtin": selectors.BUILTIN_FILTERS,
        "saved": SavedFilter.objects.filter(user=request.user),
        "bulk_form": BulkForm(),
        "can_merge": can_case(request.user, "merge"),
        "can_create": can_case(request.user, "create"),
        "title": selectors.BUILTIN_FILTERS.get(filters.filter, "Cases"),
    }
    if request.htmx and request.htmx.target == "case-results":
        return render(request, "cases/_results.html", context)
    return render(request, "cases/list.html", context)


@require_POST
@staff_required
def case_bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_case_action(request.user, "change")
    form = BulkForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("cases:list")
    if not form.is_valid():
        messages.error(request, "Select some cases and an action.")
        return redirect(back)
    ids = form.cleaned_data["ids"]
    cases = list(visible_cases(request.user).filter(pk__in=ids).select_related("case_type"))
    action = form.cleaned_data["action"]
    try:
        if action == "assign":
            result = services.cases_assign(
                cases=cases, by=request.user, responsible=form.cleaned_data["responsible"]
            )
        elif action == "state":
            if not form.cleaned_data["state"]:
                raise ValidationError("Choose the state to set.")
            result = services.cases_set_state(
                cases=cases, by=request.user, action=form.cleaned_data["state"]
            )
        elif action == "priority":
            if form.cleaned_data["priority"] is None:
                raise ValidationError("Choose the priority to set.")
            result = services.cases_set_priority(
                cases=cases, by=request.user, priority=form.cleaned_data["priority"]
            )
        else:
            check_case_action(request.user, "merge")
            survivor = services.cases_merge(cases=cases, by=request.user)
            messages.success(request, f"Merged {len(cases) - 1} cases into {survivor.reference}.")
            return redirect("cases:detail", survivor.number)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect(back)
    if result.done:
        messages.success(request, f"Updated {result.done} case{'s' if result.done != 1 else ''}.")
    for error in result.errors[:10]:
        messages.warning(request, error)
    return redirect(back)


@require_POST
@staff_required
def filter_save(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_case_action(request.user, "view")
    form = SavedFilterForm(request.POST)
    if form.is_valid():
        try:
            saved = services.saved_filter_save(
                user=request.user, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
            )
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, f"Saved the filter “{saved.name}”.")
            return redirect(f"{reverse('cases:list')}?{saved.query}")
    else:
        messages.error(request, "Name the filter to save it.")
    return redirect(f"{reverse('cases:list')}?{form.data.get('query', '')}")


@require_POST
@staff_required
def filter_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    saved = get_saved_filter_for_user(request.user, pk)
    services.saved_filter_delete(saved=saved)
    messages.success(request, f"Deleted the filter “{saved.name}”.")
    return redirect("cases:list")


@require_GET
@staff_required
def case_autocomplete(request: AuthenticatedHttpRequest) -> JsonResponse:
    check_case_action(request.user, "view")
    q = request.GET.get("q", "")[:200]
    if not q.strip():
        return JsonResponse({"results": []})
    cases = (
        visible_cases(request.user)
        .filter(selectors.search_q(q), merged_into__isnull=True)
        .order_by("-updated_at", "-id")[:20]
    )
    return JsonResponse(
        {
            "results": [
                {"value": c.pk, "text": str(c), "where": c.get_state_display()} for c in cases
            ]
        }
    )


# --------------------------------------------------------------------------
# Create and edit


@require_http_methods(["GET", "POST"])
@staff_required
def case_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_case_action(request.user, "create")
    if request.method == "POST":
        form = CaseForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                case = services.case_create(
                    by=request.user,
                    values=form.values(only_changed=False),
                    open_now=request.POST.get("open_now") == "1",
                )
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(request, f"Created case {case.reference}.")
                return redirect("cases:detail", case.number)
    else:
        initial: dict[str, Any] = {"priority": 3}
        type_code = request.GET.get("type", "")
        case_type = CaseType.objects.filter(code=type_code, active=True).first()
        if case_type is None and type_code.isdigit() and is_valid_id(type_code):
            case_type = CaseType.objects.filter(pk=int(type_code), active=True).first()
        if case_type is None:
            case_type = CaseType.objects.filter(active=True).first()
        if case_type is not None:
            initial["case_type"] = case_type.pk
            initial["section"] = case_type.default_section_id
        partner_id = request.GET.get("partner", "")
        if is_valid_id(partner_id) and can_partner(request.user, "view"):
            partner = Partner.objects.filter(pk=int(partner_id)).first()
            if partner is not None:
                if partner.kind == Partner.Kind.PERSON:
                    initial["contact"] = partner.pk
                    company = partner.memberships.values_list("company_id", flat=True).first()
                    initial["partner"] = company or partner.pk
                else:
                    initial["partner"] = partner.pk
                initial["requester_email"] = partner.email
        form = CaseForm(initial=initial, user=request.user)
    return render(
        request,
        "cases/form.html",
        {"form": form, "case": None, "types": _type_groups(), "title": "New case"},
        status=400 if request.method == "POST" else 200,
    )


def _type_groups() -> dict[str, list[str]]:
    """For the form's script: which field groups each case type shows."""
    return {str(t.pk): list(t.field_groups or []) for t in CaseType.objects.all()}


@require_http_methods(["GET", "POST"])
@staff_required
def case_edit(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    case = get_case_for_user(
        request.user, number, action="change", queryset=selectors.case_detail_queryset()
    )
    if case.final or case.merged_into_id:
        messages.error(request, f"Case {case.reference} can no longer be changed.")
        return redirect("cases:detail", case.number)
    initial = case_initial(case)
    if request.method == "POST":
        form = CaseForm(request.POST, initial=initial, user=request.user, case=case)
        if form.is_valid():
            try:
                services.case_update(
                    case=case, by=request.user, values=form.values(only_changed=True)
                )
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(request, f"Saved case {case.reference}.")
                return redirect("cases:detail", case.number)
    else:
        form = CaseForm(initial=initial, user=request.user, case=case)
    return render(
        request,
        "cases/form.html",
        {"form": form, "case": case, "types": _type_groups(), "title": f"Edit {case.reference}"},
        status=400 if request.method == "POST" else 200,
    )


# --------------------------------------------------------------------------
# Detail, timeline and the actions on a case


# Panels other apps add to the case page (automation's SLA clocks): a template
# and a function giving its context for a case, or None to show nothing.
CASE_PANELS: list[tuple[str, Callable[[Case], dict[str, Any] | None]]] = []


def _panels(case: Case) -> list[tuple[str, dict[str, Any]]]:
    shown = []
    for template, context_for in CASE_PANELS:
        context = context_for(case)
        if context is not None:
            shown.append((template, context))
    return shown


def _case_context(request: AuthenticatedHttpRequest, case: Case) -> dict[str, Any]:
    user = request.user
    can_change = can_case(user, "change") and not case.final and not case.merged_into_id
    shown = (
        set(
            visible_cases(user)
            .filter(pk__in=[pk for pk in (case.related_id, case.merged_into_id) if pk])
            .values_list("pk", flat=True)
        )
        if case.related_id or case.merged_into_id
        else set()
    )
    return {
        "case": case,
        # A related or surviving case in a section the user may not see is not named.
        "related": case.related if case.related_id in shown else None,
        "merged_into": case.merged_into if case.merged_into_id in shown else None,
        "timeline": selectors.case_timeline_page(case=case, cursor=None),
        "links": selectors.case_links(case=case, user=user),
        "other_cases": selectors.partner_other_cases(case=case, user=user),
        "attachments": list(case.attachments.all()),
        "state_actions": [
            (action, services.ACTION_LABELS[action]) for action in services.case_state_actions(case)
        ]
        if can_change
        else [],
        "can_change": can_change,
        "can_merge": can_change and can_case(user, "merge"),
        "can_escalate": can_change and case.section.parent_id is not None and not case.is_closed,
        "can_approve": services.can_approve_expense(case, user),
        "is_expense": case.case_type.has(CaseType.FieldGroup.EXPENSE),
        "groups": list(case.case_type.field_groups or []),
        "note_form": NoteForm(),
        "reply_form": ReplyForm(initial={"to": case.requester_email}),
        "cc_default": ", ".join(w.email for w in case.watchers.all() if w.email),
        "watcher_form": WatcherForm(),
        "link_form": LinkForm(user=user, auto_id="id_link_%s"),
        "max_mb": _max_mb(),
        "panels": _panels(case),
    }


def _max_mb() -> int:
    from django.conf import settings

    return int(settings.CASE_ATTACHMENT_MAX_MB)


def _load(request: AuthenticatedHttpRequest, number: int, action: str = "view") -> Case:
    return get_case_for_user(
        request.user, number, action=action, queryset=selectors.case_detail_queryset()
    )


@require_GET
@staff_required
def case_detail(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    case = _load(request, number)
    return render(request, "cases/detail.html", _case_context(request, case))


@require_GET
@staff_required
def case_timeline(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """Older timeline entries, appended below the shown ones (htmx)."""
    case = get_case_for_user(request.user, number)
    try:
        timeline = selectors.case_timeline_page(case=case, cursor=request.GET.get("cursor"))
    except BadCursor:
        return HttpResponse("This page link is no longer valid; reload the page.", status=400)
    can_change = can_case(request.user, "change") and not case.final and not case.merged_into_id
    return render(
        request,
        "cases/_timeline_page.html",
        {"case": case, "timeline": timeline, "can_change": can_change},
    )


def _after_action(
    request: AuthenticatedHttpRequest,
    number: int,
    *,
    success: str = "",
    error: ValidationError | None = None,
    forms: dict[str, Any] | None = None,
) -> HttpResponse:
    """Answer an action: the refreshed case fragment for htmx, a redirect otherwise."""
    if request.htmx:
        case = _load(request, number)
        context = _case_context(request, case)
        context.update(forms or {})
        context["flash_success"] = success
        context["flash_error"] = error_text(error) if error else ""
        return render(request, "cases/_case.html", context)
    if error is not None:
        messages.error(request, error_text(error))
    elif success:
        messages.success(request, success)
    return redirect("cases:detail", number)


@require_POST
@staff_required
def case_state(request: AuthenticatedHttpRequest, number: int, action: str) -> HttpResponse:
    case = _load(request, number, "change")
    if action not in services.STATE_SERVICES:
        raise Http404("No such state action.")
    form = StateForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.case_set_state(case=case, by=request.user, action=action, note=note)
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    case.refresh_from_db(fields=["state"])
    return _after_action(
        request, number, success=f"Case {case.reference} is now {case.get_state_display().lower()}."
    )


@require_POST
@staff_required
def case_escalate(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    case = _load(request, number, "change")
    form = StateForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        case = services.case_escalate(case=case, by=request.user, note=note)
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    return _after_action(request, number, success=f"Escalated to {case.section}.")


@require_POST
@staff_required
def case_assign(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """Assign to the user in the form, or to oneself ("Take it")."""
    case = _load(request, number, "change")
    form = WatcherForm(request.POST)  # reuses its staff "user" field
    form.is_valid()
    user = form.cleaned_data.get("user") if hasattr(form, "cleaned_data") else None
    if request.POST.get("me") == "1":
        user = request.user
    try:
        services.case_assign(case=case, by=request.user, responsible=user)
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    who = user.display_name if user else "nobody"
    return _after_action(request, number, success=f"Assigned to {who}.")


@require_POST
@staff_required
def case_note(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    case = _load(request, number, "change")
    form = NoteForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.case_note_add(
                case=case,
                by=request.user,
                body=form.cleaned_data["body"],
                files=request.FILES.getlist("files"),
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            return _after_action(request, number, success="Note added.")
    return _after_action(
        request, number, error=ValidationError("The note was not added."), forms={"note_form": form}
    )


@require_POST
@staff_required
def case_reply(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    case = _load(request, number, "change")
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        cc = form.addresses("cc")
        try:
            message = services.case_reply(
                case=case,
                by=request.user,
                body=form.cleaned_data["body"],
                files=request.FILES.getlist("files"),
                to=form.addresses("to"),
                cc=cc if "cc" in request.POST else None,
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            return _after_action(
                request, number, success=f"Reply to {', '.join(message.to)} queued for sending."
            )
    return _after_action(
        request,
        number,
        error=ValidationError("The reply was not queued."),
        forms={"reply_form": form, "composer_tab": "reply"},
    )


@require_POST
@staff_required
def case_attach(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    case = _load(request, number, "change")
    files = request.FILES.getlist("files")
    try:
        stored = services.case_attach(case=case, by=request.user, files=files)
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    return _after_action(request, number, success=f"Attached {len(stored)} file(s).")


@require_GET
@staff_required
def attachment_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    attachment = get_attachment_for_user(request.user, pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.name)
    response["Content-Type"] = "application/octet-stream"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@staff_required
def watcher_add(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    case = _load(request, number, "change")
    form = WatcherForm(request.POST)
    if not form.is_valid():
        return _after_action(
            request, number, error=ValidationError(form.errors.as_text() or "Pick a user or email.")
        )
    try:
        watcher = services.watcher_add(
            case=case,
            by=request.user,
            user=form.cleaned_data.get("user"),
            email=form.cleaned_data.get("email") or "",
        )
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    return _after_action(request, number, success=f"{watcher} now watches this case.")


@require_POST
@staff_required
def watcher_remove(request: AuthenticatedHttpRequest, number: int, pk: int) -> HttpResponse:
    case = _load(request, number, "change")
    watcher = case.watchers.filter(pk=pk).first()
    if watcher is None:
        raise Http404("No such watcher on this case.")
    try:
        services.watcher_remove(watcher=watcher, by=request.user)
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    return _after_action(request, number, success=f"{watcher} no longer watches this case.")


@require_POST
@staff_required
def link_add(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    case = _load(request, number, "change")
    form = LinkForm(request.POST, user=request.user)
    try:
        if not form.is_valid():
            raise ValidationError("Choose a case or a partner to link.")
        target = form.target()
        if isinstance(target, Partner):
            get_partner_for_user(request.user, target.pk)
        services.case_link_add(case=case, by=request.user, target=target)
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    return _after_action(request, number, success="Link added.")


@require_POST
@staff_required
def link_remove(request: AuthenticatedHttpRequest, number: int, pk: int) -> HttpResponse:
    case = _load(request, number, "change")
    link = case.links.filter(pk=pk).select_related("target_type").first()
    if link is None:
        raise Http404("No such link on this case.")
    try:
        services.case_link_remove(link=link, by=request.user)
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    return _after_action(request, number, success="Link removed.")


@require_POST
@staff_required
def case_expense(request: AuthenticatedHttpRequest, number: int, decision: str) -> HttpResponse:
    case = _load(request, number, "change")
    form = ExpenseDecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if decision == "submit":
            services.case_expense_submit(case=case, by=request.user)
            done = "Submitted for approval."
        elif decision in {"approve", "reject"}:
            services.case_expense_decide(
                case=case, by=request.user, approve=decision == "approve", reason=reason
            )
            done = "Approved." if decision == "approve" else "Rejected."
        else:
            raise Http404("No such decision.")
    except ValidationError as exc:
        return _after_action(request, number, error=exc)
    return _after_action(request, number, success=done)


@require_http_methods(["GET", "POST"])
@staff_required
def case_merge(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """Merge this case into another one (the other one survives)."""
    check_case_action(request.user, "merge")
    case = _load(request, number, "change")
    form = MergeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        keep = form.cleaned_data["into"]
        try:
            services.case_merge(keep=keep, drop=case, by=request.user)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"Merged {case.reference} into {keep.reference}.")
            return redirect("cases:detail", keep.number)
    return render(
        request,
        "cases/merge.html",
        {"case": case, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@staff_required
def case_split(request: AuthenticatedHttpRequest, number: int, pk: int) -> HttpResponse:
    """Split one entry of the case's timeline off into a new case."""
    check_case_action(request.user, "create")
    case = _load(request, number, "change")
    entry = (
        TimelineEntry.objects.filter(
            pk=pk, subject_type__app_label="cases", subject_type__model="case", subject_id=case.pk
        )
        .select_related("author")
        .first()
    )
    if entry is None:
        raise Http404("No such entry on this case.")
    form = SplitForm(
        request.POST or None, initial={"subject": services.entry_subject_line(entry.body)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            new = services.case_split(
                entry=entry, by=request.user, subject=form.cleaned_data["subject"]
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"Created {new.reference} from an entry of {case.reference}.")
            return redirect("cases:detail", new.number)
    return render(
        request,
        "cases/split.html",
        {"case": case, "entry": entry, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_GET
@staff_required
def partner_cases(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The "Cases" panel of a partner page (loaded by htmx)."""
    partner = get_partner_for_user(request.user, pk)
    check_case_action(request.user, "view")
    cases, open_count = selectors.partner_cases(partner=partner, user=request.user)
    return render(
        request,
        "cases/_partner_cases.html",
        {
            "partner": partner,
            "cases": cases,
            "open_count": open_count,
            "can_create": can_case(request.user, "create"),
        },
    )


@require_GET
@staff_required
def quick_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The top bar's search: "#1042" opens that case, anything else searches partners."""
    q = request.GET.get("q", "")[:200]
    match = re.fullmatch(r"\s*#\s*(\d{1,18})\s*", q)
    if match and can_case(request.user, "view"):
        case = visible_cases(request.user).filter(number=int(match.group(1))).first()
        if case is not None:
            return redirect("cases:detail", case.number)
        return redirect(f"{reverse('cases:list')}?{urlencode({'filter': 'all', 'q': q.strip()})}")
    return redirect(f"{reverse('partners:list')}?{urlencode({'q': q})}")
