"""Automation's setup pages (mounted at /automation/): rules, with their log and a
dry run on a case; email templates, with a preview; business calendars; SLA
policies.

Views parse the request, check the permission, call a service in
``goodwill.automation.services`` and render. The rules are shown in words, never
as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.automation import services
from goodwill.automation.actions import describe, email_context
from goodwill.automation.forms import (
    PATTERN_IN,
    SLA_STATUS_LABELS,
    STATE_LABELS,
    WATCHED_LABELS,
    BaseActionFormSet,
    CalendarForm,
    DryRunForm,
    PreviewForm,
    RuleChoices,
    RuleForm,
    SlaPolicyForm,
    TemplateForm,
    action_formset,
)
from goodwill.automation.models import (
    BusinessCalendar,
    CaseSla,
    EmailTemplate,
    Rule,
    RuleLog,
    ScheduleRebuild,
    SlaPolicy,
)
from goodwill.automation.rendering import (
    PLACEHOLDERS,
    TemplateProblem,
    template_check,
    template_render,
)
from goodwill.automation.routing import routing_section
from goodwill.automation.spec import ACTION_LABELS
from goodwill.automation.timed import schedule_rebuild_current
from goodwill.cases.models import Case, Priority
from goodwill.cases.permissions import case_visibility_q, visible_cases
from goodwill.lib.forms import apply_errors, error_text
from goodwill.lib.ids import is_valid_id
from goodwill.lib.pagination import BadCursor, Page, keyset_page
from goodwill.partners.models import Partner

LOG_PAGE_SIZE = 50
RULE_LOG_SCAN = 500
RULE_LOG_SHOWN = 50
NO_SUCH_CASE = "No such case."

EVENT_LABELS = {
    "case.created": "Case created",
    "case.state_changed": "State changed",
    "case.updated": "Fields changed",
    "message.received": "Message received",
    "message.queued": "Reply sent",
    "sla.at_risk": "SLA at risk",
    "sla.breached": "SLA breached",
}
UNIT_SINGULAR = {"minutes": "minute", "hours": "hour", "days": "day", "months": "month"}


# --------------------------------------------------------------------------
# Permissions: the role first, then the object (so ids cannot be probed)


def can(user: Any, perm: str) -> bool:
    return bool(user.has_perm(f"automation.{perm}"))


def check(user: Any, perm: str) -> None:
    """*perm* is an automation codename such as ``change_rule``."""
    if not can(user, perm):
        raise PermissionDenied("Your role does not allow you to do this.")


def get_rule_for_setup(user: Any, pk: int, *, perm: str = "view_rule") -> Rule:
    check(user, perm)
    try:
        return Rule.objects.select_related("section", "case_type").get(pk=pk)
    except Rule.DoesNotExist:
        raise Http404("No such rule.") from None


def get_template_for_setup(
    user: Any, pk: int, *, perm: str = "view_emailtemplate"
) -> EmailTemplate:
    check(user, perm)
    try:
        return EmailTemplate.objects.get(pk=pk)
    except EmailTemplate.DoesNotExist:
        raise Http404("No such email template.") from None


def get_calendar_for_setup(
    user: Any, pk: int, *, perm: str = "view_businesscalendar"
) -> BusinessCalendar:
    check(user, perm)
    try:
        return BusinessCalendar.objects.get(pk=pk)
    except BusinessCalendar.DoesNotExist:
        raise Http404("No such calendar.") from None


def get_policy_for_setup(user: Any, pk: int, *, perm: str = "view_slapolicy") -> SlaPolicy:
    check(user, perm)
    try:
        return SlaPolicy.objects.select_related(
            "section", "case_type", "partner_category", "calendar"
        ).get(pk=pk)
    except SlaPolicy.DoesNotExist:
        raise Http404("No such SLA policy.") from None


def case_for_test(user: Any, number: str) -> Case | None:
    """Case *number* (as typed) if *user* may see it; None for anything else."""
    number = number.strip().lstrip("#").strip()
    if not is_valid_id(number):
        return None
    return (
        visible_cases(user)
        .select_related("section", "case_type", "partner", "contact", "responsible")
        .filter(number=int(number))
        .first()
    )


def visible_logs(user: Any) -> QuerySet[RuleLog]:
    """The rule log rows of the cases *user* may see."""
    visibility = case_visibility_q(user, prefix="case__")
    rows = RuleLog.objects.select_related("case")
    return rows.filter(visibility) if visibility != Q() else rows


# --------------------------------------------------------------------------
# Rules in words


def trigger_text(rule: Rule) -> str:
    """ "State changes open → pending", "3 hours after the deadline"…"""
    if rule.trigger == Rule.Trigger.STATE:
        old = STATE_LABELS.get(rule.from_state, rule.from_state)
        if rule.to_state == "escalated":
            return "The case is escalated" + (f" while {old}" if old else "")
        new = STATE_LABELS.get(rule.to_state, rule.to_state)
        if old and new:
            return f"State changes {old} → {new}"
        if new:
            return f"State changes to {new}"
        return f"State changes from {old}" if old else "State changes"
    if rule.trigger == Rule.Trigger.FIELD:
        return f"{WATCHED_LABELS.get(rule.field_name, rule.field_name or 'A field')} changes"
    if rule.trigger == Rule.Trigger.TIME:
        unit = rule.time_unit
        if rule.time_amount == 1:
            unit = UNIT_SINGULAR.get(unit, unit)
        base = Rule.TimeBase(rule.time_base).label if rule.time_base else "after …"
        return f"{rule.time_amount} {unit} {base}"
    if rule.trigger == Rule.Trigger.SLA:
        event = {"at_risk": "at risk", "breached": "breached"}.get(rule.sla_event, "")
        return f"An SLA clock is {event or 'at risk or breached'}"
    return str(rule.get_trigger_display())


def scope_text(rule: Rule) -> str:
    parts = []
    if rule.section is not None:
        parts.append(f"Section {rule.section.name}")
    if rule.case_type is not None:
        parts.append(f"type {rule.case_type.name}" if parts else f"Type {rule.case_type.name}")
    return ", ".join(parts) if parts else "All cases"


def _among(labels: Iterable[str]) -> str:
    items = list(labels)
    return items[0] if len(items) == 1 else "one of " + ", ".join(items)


def conditions_text(conditions: Mapping[str, Any], choices: RuleChoices) -> list[str]:
    """Each condition as a sentence, in the order the engine checks them."""
    lines = []
    for key, what in (
        ("sections", "The section is"),
        ("case_types", "The type is"),
        ("categories", "The category is"),
        ("stages", "The stage is"),
    ):
        if conditions.get(key):
            lines.append(f"{what} {_among(choices.label(key, v) for v in conditions[key])}")
    if conditions.get("states"):
        lines.append(f"The state is {_among(STATE_LABELS.get(s, s) for s in conditions['states'])}")
    if conditions.get("responsibles"):
        names = (
            "nobody" if v == "none" else choices.label("users", v)
            for v in conditions["responsibles"]
        )
        lines.append(f"The responsible is {_among(names)}")
    if conditions.get("partners"):
        partners = dict(
            Partner.objects.filter(pk__in=conditions["partners"]).values_list("pk", "name")
        )
        names = (partners.get(pk, f"(deleted #{pk})") for pk in conditions["partners"])
        lines.append(f"The partner is {_among(names)}")
    if conditions.get("partner_categories"):
        names = (choices.label("partner_categories", v) for v in conditions["partner_categories"])
        lines.append(f"The partner is in {_among(names)}")
    if "priority_min" in conditions or "priority_max" in conditions:
        low = Priority(conditions.get("priority_min", 1)).label
        high = Priority(conditions.get("priority_max", 5)).label
        lines.append(f"The priority is from {low} to {high}")
    if conditions.get("channels"):
        channels = dict(Case.Channel.choices)
        names = (str(channels.get(c, c)) for c in conditions["channels"])
        lines.append(f"It came in through {_among(names)}")
    if conditions.get("min_messages"):
        lines.append(f"It has at least {conditions['min_messages']} messages")
    if conditions.get("pattern"):
        where = dict(PATTERN_IN).get(conditions.get("pattern_in", "both"), "").lower()
        if conditions.get("pattern_regex"):
            lines.append(
                f"{where.capitalize()} match the regular expression {conditions['pattern']}"
            )
        else:
            lines.append(f'{where.capitalize()} contain any of "{conditions["pattern"]}"')
    if conditions.get("sla_status"):
        names = (SLA_STATUS_LABELS.get(s, s).lower() for s in conditions["sla_status"])
        lines.append(f"The SLA status is {_among(names)}")
    if "requester_known" in conditions:
        known = conditions["requester_known"]
        lines.append("The requester is " + ("a known contact" if known else "an unknown sender"))
    return lines


def _describe(action: dict[str, Any]) -> str:
    try:
        return describe(action)
    except Exception:  # a rule saved before a spec change must not break its page
        return str(action.get("type", "?"))


# --------------------------------------------------------------------------
# Rules


@require_GET
@staff_required
def rule_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_rule")
    rules = list(
        Rule.objects.select_related(
            "section", "case_type", "route__section", "fallback_of__section"
        ).order_by("sequence", "id")
    )
    return render(
        request,
        "automation/rule_list.html",
        {
            "rows": [
                (rule, trigger_text(rule), scope_text(rule), routing_section(rule))
                for rule in rules
            ],
            "can_add": can(request.user, "add_rule"),
            "rebuild": schedule_rebuild_current(),
            "tab": "rules",
        },
    )


def _rule_errors(error: ValidationError, form: RuleForm, formset: BaseActionFormSet) -> None:
    """The service's messages next to the part of the form they are about."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for key, found in error.message_dict.items():
        for message in found:
            if key == "conditions":
                form.condition_error(message)
            elif key == "actions":
                formset.service_error(message)
            elif key in form.fields:
                form.add_error(key, message)
            else:
                form.add_error(None, message)


def _rule_editor(request: AuthenticatedHttpRequest, rule: Rule | None) -> HttpResponse:
    choices = RuleChoices.load(rule)
    if request.method == "POST":
        form = RuleForm(request.POST, rule=rule, choices=choices)
        formset = action_formset(request.POST, rule=rule, choices=choices)
        valid = form.is_valid()
        valid = formset.is_valid() and valid
        if valid:
            values = {
                **form.values(),
                "actions": formset.actions(keep=rule.actions if rule is not None else None),
            }
            try:
                saved = services.rule_save(rule=rule, by=request.user, values=values)
            except ValidationError as exc:
                if rule is not None:
                    rule.refresh_from_db()
                _rule_errors(exc, form, formset)
            else:
                verb = "created" if rule is None else "saved"
                messages.success(request, f"The rule {saved.name} was {verb}.")
                return redirect("automation:rule_detail", pk=saved.pk)
    else:
        initial = RuleForm.initial_for(rule) if rule is not None else None
        form = RuleForm(initial=initial, rule=rule, choices=choices)
        formset = action_formset(rule=rule, choices=choices)
    return render(
        request,
        "automation/rule_form.html",
        {
            "rule": rule,
            "form": form,
            "formset": formset,
            "creating": rule is None,
            "trigger_values": [value for value, _label in Rule.Trigger.choices],
            "action_types": list(ACTION_LABELS),
            "tab": "rules",
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@staff_required
def rule_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "add_rule")
    return _rule_editor(request, None)


@require_http_methods(["GET", "POST"])
@staff_required
def rule_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_setup(request.user, pk, perm="change_rule")
    routed = routing_section(rule)
    if routed is not None:
        messages.info(
            request,
            f"The rule {rule.name} is compiled from the routing table of {routed.name}: "
            "change the table instead.",
        )
        return redirect("automation:route_edit", section_id=routed.pk)
    return _rule_editor(request, rule)


@dataclass
class DryRunResult:
    case: Case | None = None
    error: str = ""
    matched: bool = False
    failed: str = ""
    would: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _dry_run(user: Any, rule: Rule, form: DryRunForm) -> DryRunResult | None:
    if not form.is_bound:
        return None
    if not form.is_valid():
        return DryRunResult(error=NO_SUCH_CASE)
    case = case_for_test(user, form.number())
    if case is None:
        return DryRunResult(error=NO_SUCH_CASE)
    try:
        run = services.rule_dry_run(rule=rule, case=case)
    except ValidationError as exc:
        return DryRunResult(case=case, error=f"The rule cannot be tested: {error_text(exc)}")
    return DryRunResult(
        case=case, matched=run.matched, failed=run.failed, would=run.would, problems=run.problems
    )


def _rule_log_rows(user: Any, rule: Rule) -> list[tuple[RuleLog, dict[str, Any]]]:
    """This rule's entries among the latest logs (the log is not indexed by rule)."""
    rows = []
    for log in visible_logs(user).order_by("-created_at", "-id")[:RULE_LOG_SCAN]:
        result = next(
            (r for r in log.results if isinstance(r, dict) and r.get("rule") == rule.pk), None
        )
        if result is not None:
            rows.append((log, result))
            if len(rows) >= RULE_LOG_SHOWN:
                break
    return rows


@require_GET
@staff_required
def rule_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_setup(request.user, pk)
    form = DryRunForm(request.GET if "case" in request.GET else None)
    choices = RuleChoices.load(rule)
    return render(
        request,
        "automation/rule_detail.html",
        {
            "rule": rule,
            "trigger": trigger_text(rule),
            "scope": scope_text(rule),
            "routed_from": routing_section(rule),
            "conditions": conditions_text(rule.conditions or {}, choices),
            "actions": [_describe(action) for action in rule.actions or []],
            "logs": _rule_log_rows(request.user, rule),
            "dry_run_form": form,
            "dry_run": _dry_run(request.user, rule, form),
            "can_change": can(request.user, "change_rule"),
            "can_delete": can(request.user, "delete_rule"),
            "can_log": can(request.user, "view_rulelog"),
            "rebuild": schedule_rebuild_current(),
            "tab": "rules",
        },
    )


@require_GET
@staff_required
def schedule_rebuild_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The progress of scheduling the open cases after a time rule was saved
    (polled by the rules pages until it ends)."""
    check(request.user, "view_rule")
    rebuild = ScheduleRebuild.objects.filter(pk=pk).first()
    if rebuild is None:
        raise Http404("No such schedule rebuild.")
    return render(request, "automation/_schedule_rebuild.html", {"rebuild": rebuild})


@require_POST
@staff_required
def rule_set_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_setup(request.user, pk, perm="change_rule")
    active = request.POST.get("active") == "1"
    try:
        services.rule_save(rule=rule, by=request.user, values={"active": active})
    except ValidationError as exc:
        messages.error(request, f"The rule could not be changed: {error_text(exc)}")
    else:
        state = "runs again" if active else "no longer runs"
        messages.success(request, f"The rule {rule.name} {state}.")
    return redirect("automation:rule_detail", pk=pk)


@transaction.atomic
@require_http_methods(["GET", "POST"])
@staff_required
def rule_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_setup(request.user, pk, perm="delete_rule")
    if request.method == "POST":
        name = rule.name
        services.rule_delete(rule=rule, by=request.user)
        messages.success(request, f"The rule {name} was deleted.")
        return redirect("automation:rule_list")
    return render(request, "automation/rule_delete.html", {"rule": rule, "tab": "rules"})


# --------------------------------------------------------------------------
# The rule log


def _log_page(request: AuthenticatedHttpRequest, rows: QuerySet[RuleLog]) -> Page[RuleLog]:
    """Newest first, LOG_PAGE_SIZE at a time (the first page again for a bad cursor)."""
    try:
        return keyset_page(
            rows, sort="-created_at", cursor=request.GET.get("cursor"), limit=LOG_PAGE_SIZE
        )
    except BadCursor as exc:
        messages.warning(request, str(exc))
        return keyset_page(rows, sort="-created_at", cursor=None, limit=LOG_PAGE_SIZE)


@require_GET
@staff_required
def rule_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_rulelog")
    page = _log_page(request, visible_logs(request.user))
    ids: set[int] = {
        r["rule"]
        for log in page.items
        for r in log.results
        if isinstance(r, dict) and isinstance(r.get("rule"), int)
    }
    existing = set(Rule.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    rows = [
        (
            log,
            EVENT_LABELS.get(log.event, log.event),
            [
                {**r, "exists": r.get("rule") in existing}
                for r in log.results
                if isinstance(r, dict)
            ],
        )
        for log in page.items
    ]
    return render(
        request,
        "automation/rule_log.html",
        {
            "page": page,
            "rows": rows,
            "can_view_rules": can(request.user, "view_rule"),
            "tab": "log",
        },
    )


# --------------------------------------------------------------------------
# Email templates


def _rules_using(codes: Iterable[str]) -> dict[str, list[Rule]]:
    """The rules whose email actions name each template code."""
    wanted = set(codes)
    found: dict[str, list[Rule]] = {}
    for rule in Rule.objects.only("id", "name", "actions").order_by("sequence", "id"):
        for action in rule.actions or []:
            code = action.get("template") if action.get("type") == "email" else None
            if code in wanted and rule not in found.get(code, []):
                found.setdefault(code, []).append(rule)
    return found


@require_GET
@staff_required
def template_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_emailtemplate")
    templates = list(EmailTemplate.objects.order_by("code", "language"))
    used = _rules_using(t.code for t in templates)
    return render(
        request,
        "automation/template_list.html",
        {
            "rows": [(t, used.get(t.code, [])) for t in templates],
            "can_add": can(request.user, "add_emailtemplate"),
            "can_change": can(request.user, "change_emailtemplate"),
            "tab": "templates",
        },
    )


@dataclass
class Preview:
    case: Case | None = None
    error: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    problems: list[str] = field(default_factory=list)


def _preview(user: Any, values: Mapping[str, Any], number: str) -> Preview:
    """The template as the case's requester would get it (nothing is sent)."""
    if not number:
        return Preview(error="Give the number of a case to preview with.")
    case = case_for_test(user, number)
    if case is None:
        return Preview(error=NO_SUCH_CASE)
    context = email_context(case)
    preview = Preview(case=case)
    for name, label, html in (
        ("subject", "Subject", False),
        ("body_text", "Text", False),
        ("body_html", "HTML", True),
    ):
        text = str(values.get(name) or "")
        if not text:
            continue
        preview.problems.extend(f"{label}: {p}" for p in template_check(text, html=html))
        try:
            rendered = template_render(text, context, html=html)
        except TemplateProblem as problem:
            if not template_check(text, html=html):
                preview.problems.extend(f"{label}: {p}" for p in problem.messages)
            continue
        if name == "subject":
            preview.subject = rendered.strip()
        elif name == "body_text":
            preview.text = rendered
        else:
            preview.html = rendered
    return preview


def _save_posted(
    request: AuthenticatedHttpRequest,
    form: Any,
    instance: Any,
    save: Callable[[], Any],
    *,
    what: str,
    done: str,
    errors: Callable[[ValidationError, Any], None] = apply_errors,
) -> HttpResponse | None:
    """What the setup editors do with a posted form: save a valid one through
    its service, then a message and the list; else None, with the service's
    errors on the form (and *instance* as stored, not as half-edited)."""
    if not form.is_valid():
        return None
    try:
        saved = save()
    except ValidationError as exc:
        if instance is not None:
            instance.refresh_from_db()
        errors(exc, form)
        return None
    verb = "created" if instance is None else "saved"
    messages.success(request, f"The {what} {saved} was {verb}.")
    return redirect(done)


def _template_editor(
    request: AuthenticatedHttpRequest, template: EmailTemplate | None
) -> HttpResponse:
    preview: Preview | None = None
    status = 200
    if request.method == "POST" and "preview" in request.POST:
        # Show what is typed, unsaved; errors wait for the save.
        form = TemplateForm(initial=request.POST.dict(), template=template)
        preview_form = PreviewForm(request.POST)
        number = preview_form.number() if preview_form.is_valid() else ""
        preview = _preview(request.user, request.POST, number)
    elif request.method == "POST":
        form = TemplateForm(request.POST, template=template)
        preview_form = PreviewForm(request.POST)
        status = 400
        done = _save_posted(
            request,
            form,
            template,
            lambda: services.template_save(
                template=template, by=request.user, values=form.values()
            ),
            what="email template",
            done="automation:template_list",
        )
        if done is not None:
            return done
    else:
        initial = TemplateForm.initial_for(template) if template is not None else None
        form = TemplateForm(initial=initial, template=template)
        preview_form = PreviewForm(request.GET if "case" in request.GET else None)
        if template is not None and preview_form.is_bound:
            number = preview_form.number() if preview_form.is_valid() else ""
            preview = _preview(request.user, TemplateForm.initial_for(template), number)
    return render(
        request,
        "automation/template_form.html",
        {
            "template": template,
            "form": form,
            "preview_form": preview_form,
            "preview": preview,
            "placeholders": [("{{ " + name + " }}", text) for name, text in PLACEHOLDERS.items()],
            "creating": template is None,
            "can_delete": template is not None and can(request.user, "delete_emailtemplate"),
            "tab": "templates",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@staff_required
def template_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_emailtemplate")
    check(request.user, "add_emailtemplate")
    return _template_editor(request, None)


@require_http_methods(["GET", "POST"])
@staff_required
def template_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    check(request.user, "view_emailtemplate")
    return _template_editor(
        request, get_template_for_setup(request.user, pk, perm="change_emailtemplate")
    )


@transaction.atomic
@require_http_methods(["GET", "POST"])
@staff_required
def template_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    template = get_template_for_setup(request.user, pk, perm="delete_emailtemplate")
    if request.method == "POST":
        name = str(template)
        services.template_delete(template=template, by=request.user)
        messages.success(request, f"The email template {name} was deleted.")
        return redirect("automation:template_list")
    last = not EmailTemplate.objects.filter(code=template.code).exclude(pk=template.pk).exists()
    return render(
        request,
        "automation/template_delete.html",
        {
            "template": template,
            "last": last,
            "rules": _rules_using([template.code]).get(template.code, []) if last else [],
            "tab": "templates",
        },
    )


# --------------------------------------------------------------------------
# Business calendars


def _calendar_errors(error: ValidationError, form: CalendarForm) -> None:
    if hasattr(error, "error_dict") and "hours" in error.message_dict:
        form.hours_errors.extend(error.message_dict["hours"])
        rest = {k: v for k, v in error.message_dict.items() if k != "hours"}
        if not rest:
            return
        error = ValidationError(rest)
    apply_errors(error, form)


def _week(calendar: BusinessCalendar) -> list[tuple[str, str]]:
    """(weekday, "09:00-12:00, 13:00-17:00") for each day the calendar works."""
    initial = CalendarForm.initial_for(calendar)
    days = [(day, initial[f"hours_{n}"]) for n, day in enumerate(services.WEEKDAYS)]
    return [(day, hours) for day, hours in days if hours]


@require_GET
@staff_required
def calendar_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_businesscalendar")
    calendars = list(BusinessCalendar.objects.annotate(policy_count=Count("slapolicy")))
    return render(
        request,
        "automation/calendar_list.html",
        {
            "rows": [(c, _week(c)) for c in calendars],
            "can_add": can(request.user, "add_businesscalendar"),
            "can_change": can(request.user, "change_businesscalendar"),
            "tab": "calendars",
        },
    )


def _calendar_editor(
    request: AuthenticatedHttpRequest, calendar: BusinessCalendar | None
) -> HttpResponse:
    if request.method == "POST":
        form = CalendarForm(request.POST)
        done = _save_posted(
            request,
            form,
            calendar,
            lambda: services.calendar_save(
                calendar=calendar, by=request.user, values=form.values()
            ),
            what="calendar",
            done="automation:calendar_list",
            errors=_calendar_errors,
        )
        if done is not None:
            return done
    else:
        initial = CalendarForm.initial_for(calendar) if calendar is not None else None
        form = CalendarForm(initial=initial or {f"hours_{d}": "09:00-17:00" for d in range(5)})
    return render(
        request,
        "automation/calendar_form.html",
        {"calendar": calendar, "form": form, "creating": calendar is None, "tab": "calendars"},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@staff_required
def calendar_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_businesscalendar")
    check(request.user, "add_businesscalendar")
    return _calendar_editor(request, None)


@require_http_methods(["GET", "POST"])
@staff_required
def calendar_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _calendar_editor(
        request, get_calendar_for_setup(request.user, pk, perm="change_businesscalendar")
    )


# --------------------------------------------------------------------------
# SLA policies


@require_GET
@staff_required
def sla_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_slapolicy")
    policies = list(
        SlaPolicy.objects.select_related(
            "section", "case_type", "partner_category", "calendar"
        ).order_by("sequence", "id")
    )
    return render(
        request,
        "automation/sla_list.html",
        {
            "rows": [
                (
                    p,
                    _priority_label(p.priority),
                    _hours(p.first_response_hours),
                    _hours(p.resolution_hours),
                )
                for p in policies
            ],
            "can_add": can(request.user, "add_slapolicy"),
            "can_change": can(request.user, "change_slapolicy"),
            "tab": "sla",
        },
    )


def _hours(value: Decimal | None) -> str:
    """8.50 → "8.5 h"; None → ""."""
    return f"{value.normalize():f} h" if value is not None else ""


def _priority_label(value: int | None) -> str:
    return str(Priority(value).label) if value in Priority.values else ""


def _sla_editor(request: AuthenticatedHttpRequest, policy: SlaPolicy | None) -> HttpResponse:
    if request.method == "POST":
        form = SlaPolicyForm(request.POST)
        done = _save_posted(
            request,
            form,
            policy,
            lambda: services.sla_policy_save(policy=policy, by=request.user, values=form.values()),
            what="SLA policy",
            done="automation:sla_list",
        )
        if done is not None:
            return done
    else:
        initial = SlaPolicyForm.initial_for(policy) if policy is not None else None
        form = SlaPolicyForm(initial=initial)
    return render(
        request,
        "automation/sla_form.html",
        {
            "policy": policy,
            "form": form,
            "creating": policy is None,
            "can_delete": policy is not None and can(request.user, "delete_slapolicy"),
            "tab": "sla",
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@staff_required
def sla_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_slapolicy")
    check(request.user, "add_slapolicy")
    return _sla_editor(request, None)


@require_http_methods(["GET", "POST"])
@staff_required
def sla_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _sla_editor(request, get_policy_for_setup(request.user, pk, perm="change_slapolicy"))


@transaction.atomic
@require_http_methods(["GET", "POST"])
@staff_required
def sla_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    policy = get_policy_for_setup(request.user, pk, perm="delete_slapolicy")
    if request.method == "POST":
        name = policy.name
        services.sla_policy_delete(policy=policy, by=request.user)
        messages.success(request, f"The SLA policy {name} was deleted.")
        return redirect("automation:sla_list")
    return render(
        request,
        "automation/sla_delete.html",
        {
            "policy": policy,
            "case_count": CaseSla.objects.filter(policy=policy).count(),
            "tab": "sla",
        },
    )
