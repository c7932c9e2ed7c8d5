"""What a rule can do to a case: each action is one case service call.

:func:`apply` runs one action (as checked by :mod:`goodwill.automation.spec`);
:func:`describe` says in words what it does, for the log and the dry run.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from goodwill.accounts.models import User
from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.automation.models import CaseSla, EmailTemplate, RoundRobin, Rule
from goodwill.automation.spec import ACTION_LABELS
from goodwill.cases import services as case_services
from goodwill.cases.models import (
    ACTIVE_STATES,
    Attachment,
    Case,
    CaseCategory,
    CaseType,
    OutboundMessage,
    Priority,
    Section,
    Stage,
    Watcher,
)
from goodwill.partners.models import TimelineEntry

MESSAGE_KINDS = (
    TimelineEntry.Kind.EMAIL_IN,
    TimelineEntry.Kind.EMAIL_OUT,
    TimelineEntry.Kind.NOTE,
)


def describe(action: dict[str, Any]) -> str:
    """The action in words: "Set the priority: 1 Highest"."""
    kind = action.get("type", "")
    label = ACTION_LABELS.get(kind, kind)
    value = action.get("value")
    if kind == "set_priority" and value in Priority.values:
        return f"{label}: {Priority(value).label}"
    if kind == "set_state":
        return f"{label}: {value}"
    if kind == "set_section":
        return f"{label}: {_name(Section, value)}"
    if kind == "set_stage":
        return f"{label}: {_name(Stage, value)}"
    if kind == "set_category":
        return f"{label}: {_name(CaseCategory, value)}"
    if kind == "set_responsible":
        user = User.objects.filter(pk=value).first() if value else None
        return f"{label}: {user.display_name if user else 'nobody'}"
    if kind == "assign":
        return f"{label} ({str(action.get('method', '')).replace('_', ' ')})"
    if kind == "email":
        to = [*action.get("to", []), *action.get("addresses", [])]
        return f"{label} '{action.get('template')}' to {', '.join(to)}"
    if kind == "remind":
        return f"{label} to the {action.get('who')}"
    if kind == "webhook":
        return f"{label}: POST {action.get('url')}"
    if kind == "follow_up":
        return f"{label} in {_name(Section, action.get('section'))}"
    return label


def _name(model: Any, pk: Any) -> str:
    row = model.objects.filter(pk=pk).first() if pk else None
    return str(row) if row is not None else f"(missing #{pk})"


def _get(model: Any, pk: Any, what: str) -> Any:
    row = model.objects.filter(pk=pk).first() if pk else None
    if row is None:
        raise ValidationError(f"The {what} #{pk} no longer exists.")
    return row


def apply(action: dict[str, Any], *, case: Case, rule: Rule | None) -> None:
    """Do *action* on *case*, through the case services (by nobody: the rule)."""
    kind = action["type"]
    value = action.get("value")
    if kind == "set_state":
        case_services.case_set_state(case=case, by=None, action=str(value))
    elif kind == "set_priority":
        case_services.case_set_priority(case=case, by=None, priority=int(str(value)))
    elif kind == "set_section":
        section = _get(Section, value, "section")
        case_services.case_update(case=case, by=None, values={"section": section})
    elif kind == "set_responsible":
        user = _get(User, value, "user") if value else None
        case_services.case_assign(case=case, by=None, responsible=user)
    elif kind == "set_stage":
        case_services.case_set_stage(case=case, by=None, stage=_get(Stage, value, "stage"))
    elif kind == "set_category":
        category = _get(CaseCategory, value, "category")
        case_services.case_update(case=case, by=None, values={"category": category})
    elif kind == "add_watchers":
        _watchers(case, action)
    elif kind == "assign":
        case_services.case_assign(case=case, by=None, responsible=assignee(case, action["method"]))
    elif kind == "escalate":
        case_services.case_escalate(case=case, by=None)
    elif kind == "email":
        _email(case, action)
    elif kind == "remind":
        _remind(case, action["who"])
    elif kind == "note":
        case_services.case_note_add(case=case, by=None, body=_fill(str(action["body"]), case))
    elif kind == "follow_up":
        _follow_up(case, action)
    elif kind == "webhook":
        from goodwill.automation.webhooks import webhook_queue

        webhook_queue(case=case, rule=rule, url=action["url"], secret=action.get("secret", ""))
    else:  # pragma: no cover - spec.actions_clean refuses other types
        raise ValidationError(f"Unknown action {kind!r}.")


#: Actions that set one field to a fixed value, which :func:`apply_many` does to
#: many cases in a few statements.
BULK_ACTIONS = {
    "set_priority": ("priority", None),
    "set_responsible": ("responsible", User),
    "set_stage": ("stage", Stage),
    "set_category": ("category", CaseCategory),
}


def apply_many(action: dict[str, Any], *, case_ids: list[int]) -> dict[int, str]:
    """Do a :data:`BULK_ACTIONS` action on many cases at once, through the case
    services; returns, by case id, why a case was left alone. A value wrong for
    every case (a deleted stage, an inactive user) raises ValidationError."""
    field_name, model = BULK_ACTIONS[action["type"]]
    value = action.get("value")
    if model is not None:
        value = _get(model, value, field_name) if value else None
    else:
        value = int(str(value))
    _changed, refused = case_services.cases_set(
        case_ids=case_ids, by=None, field=field_name, value=value
    )
    return refused


def _watchers(case: Case, action: dict[str, Any]) -> None:
    present = set(Watcher.objects.filter(case=case).values_list("user_id", "email"))
    for user in User.objects.filter(pk__in=action.get("users", [])):
        if (user.pk, "") not in present:
            case_services.watcher_add(case=case, by=None, user=user)
    for email in action.get("emails", []):
        if (None, email) not in present:
            case_services.watcher_add(case=case, by=None, email=email)


def assignee(case: Case, method: str) -> User:
    """The person an assignment picks: the section's responsible, or the section
    member a round robin or a least-loaded assignment picks."""
    if method == "section_responsible":
        chosen = case.section.responsible
        if chosen is None or not chosen.is_active:
            raise ValidationError(f"The section {case.section} has no active responsible person.")
        return chosen
    members = [
        u for u in case.section.members.filter(is_active=True).order_by("id") if can_use_staff_ui(u)
    ]
    if not members:
        raise ValidationError(f"The section {case.section} has no active staff members.")
    if method == "least_loaded":
        load = dict(
            Case.objects.filter(responsible__in=members, state__in=ACTIVE_STATES)
            .values("responsible")
            .annotate(n=Count("id"))
            .values_list("responsible", "n")
        )
        return min(members, key=lambda u: (load.get(u.pk, 0), u.pk))
    with transaction.atomic():
        state, _ = RoundRobin.objects.select_for_update().get_or_create(section=case.section)
        after = [u for u in members if state.last_user_id is not None and u.pk > state.last_user_id]
        chosen = after[0] if after else members[0]
        state.last_user = chosen
        state.save(update_fields=["last_user"])
    return chosen


def template_for(code: str, case: Case) -> EmailTemplate:
    """The template *code* in the partner's language, else the default one."""
    language = case.partner.language if case.partner_id and case.partner else ""
    rows = {t.language: t for t in EmailTemplate.objects.filter(code=code)}
    template = rows.get(language) or rows.get("") or next(iter(rows.values()), None)
    if template is None:
        raise ValidationError(f"There is no email template '{code}'.")
    return template


def _fill(text: str, case: Case) -> str:
    from goodwill.automation.rendering import template_render

    return template_render(text, email_context(case))


def message_of(entry: TimelineEntry) -> dict[str, Any]:
    """The ``message`` placeholders of a timeline message or note: who wrote it
    (a received mail's body starts "From <sender>"), its text, and whether it is
    internal."""
    body = entry.body
    author = entry.author.display_name if entry.author is not None else ""
    if entry.kind == TimelineEntry.Kind.EMAIL_IN and not author and body.startswith("From "):
        first, _, rest = body.partition("\n\n")
        author, body = first.removeprefix("From ").strip(), rest
    return {
        "author": author or entry.via,
        "text": body,
        "internal": entry.visibility == TimelineEntry.Visibility.INTERNAL,
    }


def email_context(case: Case, *, message: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template context of *case* with its SLA due times and *message*; by
    default the case's latest public message (never an internal note, which a
    rule could otherwise mail to the requester)."""
    from goodwill.automation.rendering import case_context

    sla = CaseSla.objects.filter(case=case).values("first_response_due", "resolution_due").first()
    if message is None:
        entry = (
            TimelineEntry.objects.filter(
                subject_type=ContentType.objects.get_for_model(Case),
                subject_id=case.pk,
                kind__in=MESSAGE_KINDS,
                visibility=TimelineEntry.Visibility.PUBLIC,
            )
            .select_related("author")
            .order_by("-created_at", "-id")
            .first()
        )
        message = message_of(entry) if entry is not None else None
    return case_context(case, sla=sla, message=message)


def _recipients(case: Case, who: list[str], addresses: list[str]) -> list[str]:
    """The addresses of *who* (in that order) and *addresses*, once each."""
    found: list[str] = []
    for name in who:
        if name == "responsible" and case.responsible_id and case.responsible.email:  # type: ignore[union-attr]
            found.append(case.responsible.email)  # type: ignore[union-attr]
        elif name == "requester" and case.requester_email:
            found.append(case.requester_email)
        elif name == "watchers":
            for user_email, email in Watcher.objects.filter(case=case).values_list(
                "user__email", "email"
            ):
                found.append(user_email or email)
    found.extend(addresses)
    return list(dict.fromkeys(a.lower() for a in found if a))


def _allowed(to: list[str]) -> list[str]:
    allowed = case_services.auto_mail_recipients(to, kind=OutboundMessage.Kind.AUTO)
    if not allowed:
        raise ValidationError(
            f"Not sent: {', '.join(to)} bounced before or had their automatic mail for this hour."
        )
    return allowed


def email_render(
    code: str, case: Case, *, message: dict[str, Any] | None = None
) -> tuple[str, str, str]:
    """(subject on one line, text, HTML or "") of template *code* for *case*,
    in the partner's language; *message* as for :func:`email_context`."""
    from goodwill.automation.rendering import template_render

    template = template_for(code, case)
    context = email_context(case, message=message)
    html = template_render(template.body_html, context, html=True) if template.body_html else ""
    subject = " ".join(template_render(template.subject, context).split())[:250]
    return subject, template_render(template.body_text, context), html


def _email(case: Case, action: dict[str, Any]) -> OutboundMessage | None:
    to = _recipients(case, action.get("to", []), action.get("addresses", []))
    if not to:
        raise ValidationError("Nobody to send it to: no such recipient on this case.")
    to = _allowed(to)
    subject, text, html = email_render(action["template"], case)
    files = list(Attachment.objects.filter(case=case)) if action.get("attachments") else []
    return case_services.case_mail_queue(
        case=case,
        kind=OutboundMessage.Kind.AUTO,
        to=to,
        subject=subject,
        body=text,
        body_html=html,
        attachments=files,
    )


def _remind(case: Case, who: str) -> None:
    """OpenERP's act_remind_user / act_remind_partner: the case's state and
    its next action, to the responsible or the requester."""
    to = _recipients(case, [who], [])
    if not to:
        raise ValidationError(f"The case has no {who} to remind.")
    if EmailTemplate.objects.filter(code="reminder").exists():
        _email(case, {"template": "reminder", "to": [who]})
        return
    to = _allowed(to)
    from django.urls import reverse

    link = settings.SITE_URL + reverse("cases:detail", args=[case.number])
    lines = [
        f"A reminder about {case.reference}: {case.subject}",
        f"State: {case.get_state_display()}",
    ]
    if case.next_action:
        lines.append(f"Next action: {case.next_action}")
    if case.deadline:
        lines.append(f"Deadline: {case.deadline:%Y-%m-%d %H:%M}")
    if who == "responsible":
        lines.append(link)
    case_services.case_mail_queue(
        case=case,
        kind=OutboundMessage.Kind.AUTO if who == "requester" else OutboundMessage.Kind.NOTIFY,
        to=to,
        subject=f"Reminder: {case.subject}",
        body="\n".join(lines),
    )


def _follow_up(case: Case, action: dict[str, Any]) -> Case:
    case_type = _get(CaseType, action["case_type"], "case type")
    section = _get(Section, action["section"], "section")
    subject = str(action.get("subject") or "").strip() or f"Follow-up of {case.reference}"
    return case_services.case_create(
        by=None,
        values={
            "case_type": case_type,
            "section": section,
            "subject": f"{subject}: {case.subject}"[:250],
            "partner": case.partner,
            "contact": case.contact,
            "requester_email": case.requester_email,
            "related": case,
            "priority": case.priority,
        },
    )
