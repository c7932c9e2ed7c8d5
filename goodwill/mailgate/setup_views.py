"""The email gateway's setup pages (mounted at /mail/setup/): IMAP mailboxes, each
section's mail settings and addresses, suppressed addresses, and a form that
simulates incoming mail.

Views parse the request, check the permission, call a service in
``goodwill.mailgate.setup_services`` and render; nothing else happens here.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.cases.models import Section
from goodwill.cases.permissions import visible_sections
from goodwill.lib.forms import apply_errors, error_text
from goodwill.mailgate import setup_services as services
from goodwill.mailgate.models import (
    InboundAddress,
    InboundMessage,
    Mailbox,
    SectionMail,
    Suppression,
)
from goodwill.mailgate.setup_forms import (
    InboundAddressForm,
    MailboxForm,
    SectionMailForm,
    SimulateForm,
    SuppressionForm,
)

logger = logging.getLogger(__name__)

SUPPRESSION_LIMIT = 200
RECENT_MESSAGES = 10


# --------------------------------------------------------------------------
# Permissions: the role first, then the object (so ids cannot be probed)


def can(user: Any, perm: str) -> bool:
    return bool(user.has_perm(f"mailgate.{perm}"))


def check(user: Any, perm: str) -> None:
    """*perm* is a mailgate codename such as ``change_mailbox``."""
    if not can(user, perm):
        raise PermissionDenied("Your role does not allow you to do this.")


def get_mailbox_for_setup(user: Any, pk: int, *, perm: str = "view_mailbox") -> Mailbox:
    check(user, perm)
    try:
        return Mailbox.objects.select_related("section").get(pk=pk)
    except Mailbox.DoesNotExist:
        raise Http404("No such mailbox.") from None


def get_section_for_mail_setup(user: Any, pk: int, *, perm: str = "view_sectionmail") -> Section:
    check(user, perm)
    try:
        return visible_sections(user).get(pk=pk)
    except Section.DoesNotExist:
        raise Http404("No such section.") from None


def get_inbound_address_for_setup(user: Any, pk: int) -> InboundAddress:
    check(user, "delete_inboundaddress")
    try:
        return InboundAddress.objects.select_related("section").get(
            pk=pk, section__in=visible_sections(user)
        )
    except InboundAddress.DoesNotExist:
        raise Http404("No such address.") from None


def get_suppression_for_setup(user: Any, pk: int) -> Suppression:
    check(user, "delete_suppression")
    try:
        return Suppression.objects.get(pk=pk)
    except Suppression.DoesNotExist:
        raise Http404("No such suppressed address.") from None


def inbound_url(pk: int) -> str:
    """The page of received message *pk* (the mail log's, when it is mounted)."""
    try:
        return reverse("mailgate:inbound_detail", args=[pk])
    except NoReverseMatch:
        return f"/mail/inbound/{pk}/"


# --------------------------------------------------------------------------
# Mailboxes


@require_GET
@staff_required
def mailbox_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_mailbox")
    return render(
        request,
        "mailgate/setup/mailbox_list.html",
        {
            "mailboxes": list(services.mailboxes_for_setup()),
            "can_add": can(request.user, "add_mailbox"),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def mailbox_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "add_mailbox")
    form = MailboxForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mailbox = services.mailbox_save(by=request.user, values=form.values())
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(
                request, f"The mailbox {mailbox.name} was created. Test its connection."
            )
            return redirect("mailgate_setup:mailbox_detail", pk=mailbox.pk)
    return render(
        request,
        "mailgate/setup/mailbox_form.html",
        {"form": form, "creating": True},
        status=400 if request.method == "POST" else 200,
    )


def _mailbox_context(request: AuthenticatedHttpRequest, mailbox: Mailbox) -> dict[str, Any]:
    user = request.user
    return {
        "mailbox": mailbox,
        "can_change": can(user, "change_mailbox"),
        "can_delete": can(user, "delete_mailbox"),
    }


@require_GET
@staff_required
def mailbox_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_setup(request.user, pk)
    recent = list(
        InboundMessage.objects.filter(mailbox=mailbox)
        .only("id", "received_at", "from_email", "subject", "status", "mailbox_id")
        .order_by("-received_at", "-id")[:RECENT_MESSAGES]
    )
    rows = [(message, inbound_url(message.pk)) for message in recent]
    return render(
        request,
        "mailgate/setup/mailbox_detail.html",
        {**_mailbox_context(request, mailbox), "recent": rows},
    )


@require_http_methods(["GET", "POST"])
@staff_required
def mailbox_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_setup(request.user, pk, perm="change_mailbox")
    if request.method == "POST":
        form = MailboxForm(request.POST, mailbox=mailbox)
    else:
        form = MailboxForm(initial=MailboxForm.initial_for(mailbox), mailbox=mailbox)
    if request.method == "POST" and form.is_valid():
        try:
            services.mailbox_save(by=request.user, mailbox=mailbox, values=form.values())
        except ValidationError as exc:
            mailbox.refresh_from_db()
            apply_errors(exc, form)
        else:
            messages.success(request, f"The mailbox {mailbox.name} was saved.")
            return redirect("mailgate_setup:mailbox_detail", pk=mailbox.pk)
    return render(
        request,
        "mailgate/setup/mailbox_form.html",
        {**_mailbox_context(request, mailbox), "form": form, "creating": False},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@staff_required
def mailbox_test(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Connect with the stored settings and say what happened (never a 500)."""
    mailbox = get_mailbox_for_setup(request.user, pk, perm="change_mailbox")
    try:
        from goodwill.mailgate.imap import mailbox_test as imap_test

        result = imap_test(mailbox)
    except ValidationError as exc:
        messages.error(request, f"The connection test failed: {error_text(exc)}")
    except Exception as exc:
        logger.exception("mailbox %s: the connection test failed unexpectedly", mailbox.pk)
        messages.error(request, f"The connection test failed: {type(exc).__name__}: {exc}")
    else:
        messages.success(request, result)
    return redirect("mailgate_setup:mailbox_detail", pk=mailbox.pk)


@require_POST
@staff_required
def mailbox_poll(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_setup(request.user, pk, perm="change_mailbox")
    try:
        services.mailbox_poll_request(by=request.user, mailbox=mailbox)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "Polling queued. Reload this page in a moment to see the result.")
    return redirect("mailgate_setup:mailbox_detail", pk=mailbox.pk)


@require_POST
@staff_required
def mailbox_set_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_setup(request.user, pk, perm="change_mailbox")
    active = request.POST.get("active") == "1"
    try:
        services.mailbox_set_active(by=request.user, mailbox=mailbox, active=active)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        state = "is polled again" if active else "is no longer polled"
        messages.success(request, f"The mailbox {mailbox.name} {state}.")
    return redirect("mailgate_setup:mailbox_detail", pk=mailbox.pk)


@require_http_methods(["GET", "POST"])
@staff_required
def mailbox_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_setup(request.user, pk, perm="delete_mailbox")
    if request.method == "POST":
        try:
            services.mailbox_delete(by=request.user, mailbox=mailbox)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
            return redirect("mailgate_setup:mailbox_detail", pk=mailbox.pk)
        messages.success(request, f"The mailbox {mailbox.name} was deleted.")
        return redirect("mailgate_setup:mailbox_list")
    return render(
        request,
        "mailgate/setup/mailbox_delete.html",
        {
            **_mailbox_context(request, mailbox),
            "has_messages": InboundMessage.objects.filter(mailbox=mailbox).exists(),
        },
    )


# --------------------------------------------------------------------------
# Section mail settings and addresses


@require_GET
@staff_required
def section_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_sectionmail")
    sections = (
        visible_sections(request.user)
        .filter(active=True)
        .select_related("mail", "mail__case_type")
        .prefetch_related(
            Prefetch("inbound_addresses", queryset=InboundAddress.objects.order_by("address"))
        )
        .order_by("name", "id")
    )
    rows = [(section, getattr(section, "mail", None)) for section in sections]
    return render(
        request,
        "mailgate/setup/section_list.html",
        {"rows": rows, "defaults": SectionMail()},
    )


def _render_section(
    request: AuthenticatedHttpRequest,
    section: Section,
    *,
    form: SectionMailForm | None = None,
    address_form: InboundAddressForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    row = services.section_mail_for(section)
    if form is None:
        form = SectionMailForm(initial=SectionMailForm.initial_for(row), row=row)
    subject, body = services.ack_preview(row)
    return render(
        request,
        "mailgate/setup/section_detail.html",
        {
            "section": section,
            "row": row,
            "form": form,
            "addresses": list(section.inbound_addresses.order_by("address")),
            "address_form": address_form or InboundAddressForm(prefix="address"),
            "preview_subject": subject,
            "preview_body": body,
            "can_change": can(user, "change_sectionmail"),
            "can_add_address": can(user, "add_inboundaddress"),
            "can_remove_address": can(user, "delete_inboundaddress"),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@staff_required
def section_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if request.method == "GET":
        return _render_section(request, get_section_for_mail_setup(request.user, pk))
    section = get_section_for_mail_setup(request.user, pk, perm="change_sectionmail")
    row = services.section_mail_for(section)
    form = SectionMailForm(request.POST, row=row)
    if form.is_valid():
        try:
            services.section_mail_save(by=request.user, section=section, values=form.values())
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The mail settings of {section.name} were saved.")
            return redirect("mailgate_setup:section_detail", pk=section.pk)
    return _render_section(request, section, form=form, status=400)


@require_POST
@staff_required
def address_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    section = get_section_for_mail_setup(request.user, pk, perm="add_inboundaddress")
    form = InboundAddressForm(request.POST, prefix="address")
    if form.is_valid():
        try:
            row = services.inbound_address_add(
                by=request.user, section=section, address=form.cleaned_data["address"]
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"Mail to {row.address} now opens cases in {section.name}.")
            return redirect("mailgate_setup:section_detail", pk=section.pk)
    return _render_section(request, section, address_form=form, status=400)


@require_POST
@staff_required
def address_remove(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    address = get_inbound_address_for_setup(request.user, pk)
    text = address.address
    section = services.inbound_address_remove(by=request.user, address=address)
    messages.success(request, f"Mail to {text} no longer opens cases in {section.name}.")
    return redirect("mailgate_setup:section_detail", pk=section.pk)


# --------------------------------------------------------------------------
# Suppressions


def _render_suppressions(
    request: AuthenticatedHttpRequest, *, form: SuppressionForm | None = None, status: int = 200
) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:254]
    rows = list(services.suppressions_for_setup(query)[: SUPPRESSION_LIMIT + 1])
    more = len(rows) > SUPPRESSION_LIMIT
    rows = rows[:SUPPRESSION_LIMIT]
    return render(
        request,
        "mailgate/setup/suppression_list.html",
        {
            "rows": [(row, inbound_url(row.report_id) if row.report_id else "") for row in rows],
            "more": more,
            "limit": SUPPRESSION_LIMIT,
            "query": query,
            "form": form or SuppressionForm(),
            "can_add": can(request.user, "add_suppression"),
            "can_clear": can(request.user, "delete_suppression"),
        },
        status=status,
    )


@require_GET
@staff_required
def suppression_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_suppression")
    return _render_suppressions(request)


@require_POST
@staff_required
def suppression_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_suppression")
    check(request.user, "add_suppression")
    form = SuppressionForm(request.POST)
    if form.is_valid():
        try:
            row = services.suppression_add(by=request.user, email=form.cleaned_data["email"])
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"No automatic mail goes to {row.email} any more.")
            return redirect("mailgate_setup:suppression_list")
    return _render_suppressions(request, form=form, status=400)


@require_POST
@staff_required
def suppression_clear(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    suppression = get_suppression_for_setup(request.user, pk)
    email = services.suppression_clear(by=request.user, suppression=suppression)
    messages.success(request, f"Automatic mail goes to {email} again.")
    return redirect("mailgate_setup:suppression_list")


# --------------------------------------------------------------------------
# Simulated incoming mail


def _outcome(message: InboundMessage) -> str:
    text = f"The simulated message was {message.get_status_display().lower()}"
    if message.case is not None:
        text += f" on case {message.case.reference}"
    return f"{text}: {message.reason}" if message.reason else f"{text}."


@require_http_methods(["GET", "POST"])
@staff_required
def simulate(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "add_inboundmessage")
    if request.method == "POST":
        form = SimulateForm(request.POST)
    else:
        form = SimulateForm(initial={"in_reply_to": request.GET.get("in_reply_to", "")[:250]})
    if request.method == "POST" and form.is_valid():
        try:
            message = services.inbound_simulate(by=request.user, **form.values())
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            level = (
                messages.SUCCESS
                if message.status == InboundMessage.Status.PROCESSED
                else messages.WARNING
            )
            messages.add_message(request, level, _outcome(message))
            try:
                return redirect(reverse("mailgate:inbound_detail", args=[message.pk]))
            except NoReverseMatch:
                return redirect("mailgate_setup:simulate")
    return render(
        request,
        "mailgate/setup/simulate.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
