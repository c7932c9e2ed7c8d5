"""The pipeline: what becomes of a stored message.

:func:`inbound_process` parses the raw bytes, protects against loops, handles
delivery reports, finds the section and the case the message belongs to, and
then either adds it to that case or opens a new one, through the case
services. Every message ends processed, ignored (with the reason) or
quarantined (with the error, for a retry after a fix): an exception never
escapes, except a database outage, which leaves the message "received" for the
next attempt.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, CaseType, OutboundMessage, Section, Watcher
from goodwill.cases.permissions import visible_cases
from goodwill.cases.seed import case_types_ensure
from goodwill.lib.emailaddr import email_normalise
from goodwill.lib.forms import error_text
from goodwill.mailgate.addresses import section_for_address
from goodwill.mailgate.models import (
    AutoMessageLog,
    InboundMessage,
    MessageRef,
    SectionMail,
    Suppression,
)
from goodwill.mailgate.parsing import ParsedMessage, parse_message
from goodwill.partners.models import Membership, Partner, PartnerEmail

if TYPE_CHECKING:
    from goodwill.mailgate.parsing import DeliveryReport

logger = logging.getLogger(__name__)

Status = InboundMessage.Status

_OWN_ID = re.compile(r"^<gw\.c(\d+)\.[0-9a-f]+@", re.IGNORECASE)
_PLUS = re.compile(r"^[^@+]+\+c(\d+)@", re.IGNORECASE)


def _tag_pattern() -> re.Pattern[str]:
    return re.compile(r"\[" + re.escape(settings.CASE_TAG_PREFIX) + r"(\d{1,18})\]")


# --------------------------------------------------------------------------
# Entry point


def inbound_process(message: InboundMessage, parsed: ParsedMessage | None = None) -> InboundMessage:
    """Process one stored message (again, for a retry); returns it with its outcome.

    One transaction claims the row (so two workers never process it twice),
    parses, routes and records the outcome. If anything fails it is rolled
    back whole, and the message is quarantined with the error instead.
    """
    try:
        with transaction.atomic():
            locked = (
                InboundMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message.pk, status__in=[Status.RECEIVED, Status.QUARANTINED])
                .first()
            )
            if locked is None:
                message.refresh_from_db()
                return message
            message = locked
            message.attempts += 1
            if parsed is None:
                parsed = _parse(message)
            else:
                parsed_apply(message, parsed)
            outcome = _Router(message, parsed).run()
            return _finish(
                message, outcome.status, outcome.reason, case=outcome.case, entry=outcome.entry
            )
    except (OperationalError, InterfaceError):
        raise
    except ValidationError as exc:
        reason = error_text(exc)
    except Exception as exc:  # quarantined with the error
        logger.exception("inbound #%s failed", message.pk)
        reason = f"Unexpected error: {type(exc).__name__}: {exc}"
    message.refresh_from_db()
    message.attempts += 1
    # For the log: who sent it and what about, if the bytes can be read.
    with contextlib.suppress(Exception):
        _parse(message)
    return _finish(message, Status.QUARANTINED, reason)


def _attachment_limit() -> int:
    return int(settings.CASE_ATTACHMENT_MAX_MB) * 1024 * 1024


def _parse(message: InboundMessage) -> ParsedMessage:
    """Parse the stored bytes. A message past MAILGATE_MAX_MESSAGE_MB (possible
    through the pipe and IMAP; the SMTP door refuses it) keeps its text, and its
    attachments are dropped with a note."""
    message_limit = int(settings.MAILGATE_MAX_MESSAGE_MB) * 1024 * 1024
    too_big = message.size > message_limit
    try:
        with message.raw.open("rb") as raw:
            parsed = parse_message(
                cast(BinaryIO, raw), attachment_max_bytes=0 if too_big else _attachment_limit()
            )
    except OSError as exc:
        raise ValidationError(f"Could not read the stored message: {exc}") from exc
    if too_big:
        reason = (
            f"the message is {message.size / 1024 / 1024:.1f} MB, over the "
            f"{settings.MAILGATE_MAX_MESSAGE_MB} MB limit"
        )
        for attachment in parsed.attachments:
            attachment.data = None
            attachment.dropped_reason = reason
    parsed_apply(message, parsed)
    return parsed


def parsed_apply(message: InboundMessage, parsed: ParsedMessage) -> None:
    """Copy what the log shows of *parsed* onto *message* (saved by :func:`_finish`)."""
    message.from_email = parsed.from_email[:254]
    message.subject = parsed.subject[:300]
    message.body_text = parsed.text
    message.body_html = parsed.html


FINISH_FIELDS = (
    "status",
    "reason",
    "processed_at",
    "attempts",
    "from_email",
    "subject",
    "body_text",
    "body_html",
)


def _finish(
    message: InboundMessage,
    status: str,
    reason: str,
    *,
    case: Case | None = None,
    entry: Any = None,
) -> InboundMessage:
    message.status = status
    message.reason = reason[:2000]
    message.processed_at = timezone.now()
    fields = list(FINISH_FIELDS)
    if case is not None:
        message.case = case
        fields.append("case")
    if entry is not None:
        message.entry = entry
        fields.append("entry")
    message.save(update_fields=fields)
    return message


@dataclass
class Outcome:
    status: str
    reason: str = ""
    case: Case | None = None
    entry: Any = None


# --------------------------------------------------------------------------
# Addresses Goodwill itself sends from


CONFIG_TTL = 30.0


@dataclass
class _Config:
    """The gateway's configuration, read once per CONFIG_TTL seconds per process
    (and again at once when it changes in this process)."""

    own: set[str]
    sections: dict[int, Section]
    section_mail: dict[int, SectionMail]
    default_type: CaseType | None
    loaded_at: float


_config: _Config | None = None


def config_clear(**_kwargs: Any) -> None:
    global _config
    _config = None


def _current_config() -> _Config:
    global _config
    if _config is not None and time.monotonic() - _config.loaded_at < CONFIG_TTL:
        return _config
    from goodwill.mailgate.models import InboundAddress

    sections = {s.pk: s for s in Section.objects.select_related("responsible")}
    own = {
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower(),
        parseaddr(settings.SERVER_EMAIL)[1].lower(),
        *(s.email.lower() for s in sections.values() if s.email),
        *(a.lower() for a in InboundAddress.objects.values_list("address", flat=True)),
    }
    own.discard("")
    section_mail = {row.section_id: row for row in SectionMail.objects.select_related("case_type")}
    _config = _Config(
        own=own,
        sections=sections,
        section_mail=section_mail,
        default_type=CaseType.objects.filter(code="helpdesk").first(),
        loaded_at=time.monotonic(),
    )
    return _config


def own_addresses() -> set[str]:
    return _current_config().own


def _section_mail(section_id: int) -> SectionMail | None:
    return _current_config().section_mail.get(section_id)


def _base_address(address: str) -> str:
    local, _, domain = address.lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def is_own_address(address: str, own: set[str]) -> bool:
    return bool(address) and (address.lower() in own or _base_address(address) in own)


# --------------------------------------------------------------------------
# Automatic mail: who may receive it


def auto_mail_allowed(address: str) -> bool:
    """False for a bouncing address, or one that had its hourly share already."""
    address = address.lower()
    if not address or Suppression.objects.filter(email=address).exists():
        return False
    limit = int(getattr(settings, "MAILGATE_AUTO_PER_HOUR", 5))
    since = timezone.now() - timedelta(hours=1)
    sent = AutoMessageLog.objects.filter(email=address, created_at__gte=since).count()
    return sent < limit


def auto_mail_queue(
    *,
    case: Case,
    kind: str,
    to: Iterable[str],
    subject: str,
    body: str,
    in_reply_to: str = "",
    body_html: str = "",
) -> OutboundMessage | None:
    """Queue an automatic message to those of *to* that may receive one."""
    recipients = [a for a in dict.fromkeys(x.lower() for x in to if x) if auto_mail_allowed(a)]
    if not recipients:
        return None
    AutoMessageLog.objects.bulk_create(AutoMessageLog(email=a, kind=kind) for a in recipients)
    return case_services.case_mail_queue(
        case=case,
        kind=kind,
        to=recipients,
        subject=subject,
        body=body,
        in_reply_to=in_reply_to,
        body_html=body_html,
    )


# --------------------------------------------------------------------------
# Staff commands


COMMAND_LINE = re.compile(
    r"^\s*(set-state|set-priority|set-user|set-section|set-revenue|set-cost|set-probability)"
    r"\s*:\s*(.*?)\s*$",
    re.IGNORECASE,
)
_STATE_ACTIONS = {
    "open": "open",
    "pending": "pending",
    "done": "close",
    "close": "close",
    "closed": "close",
    "cancel": "cancel",
    "cancelled": "cancel",
    "canceled": "cancel",
    "draft": "reset",
}


def split_commands(text: str) -> tuple[list[tuple[str, str]], str]:
    """The command lines at the top of *text*, and the text without them."""
    lines = text.splitlines()
    commands: list[tuple[str, str]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        match = COMMAND_LINE.match(line)
        if match:
            commands.append((match.group(1).title(), match.group(2)))
        elif (line.strip() and commands) or line.strip():
            break
        index += 1
    return commands, "\n".join(lines[index:]).strip()


def _find_staff(value: str) -> User:
    value = value.strip()
    address = parseaddr(value)[1] if "@" in value else ""
    users = User.objects.filter(is_active=True)
    if address:
        matches = list(users.filter(email__iexact=address))
    else:
        matches = list(users.filter(username__iexact=value))
        if not matches:
            parts = value.split()
            query = Q()
            if len(parts) >= 2:
                query = Q(first_name__iexact=parts[0], last_name__iexact=" ".join(parts[1:]))
            query |= Q(first_name__iexact=value)
            matches = list(users.filter(query))
    matches = [u for u in matches if can_use_staff_ui(u)]
    if not matches:
        raise ValidationError(f"No staff user is called {value!r}.")
    if len(matches) > 1:
        raise ValidationError(f"{value!r} names {len(matches)} staff users; use an email address.")
    return matches[0]


def _decimal(value: str, what: str) -> Decimal:
    try:
        return Decimal(value.replace(",", "").strip())
    except InvalidOperation:
        raise ValidationError(f"{what} must be a number, not {value!r}.") from None


def apply_command(case: Case, by: User, name: str, value: str) -> None:
    """Apply one ``Set-…`` command through the case services."""
    if name == "Set-State":
        action = _STATE_ACTIONS.get(value.strip().lower())
        if action is None:
            raise ValidationError(f"Set-State takes open, pending, done or cancel, not {value!r}.")
        case_services.case_set_state(case=case, by=by, action=action)
    elif name == "Set-Priority":
        if value.strip() not in {"1", "2", "3", "4", "5"}:
            raise ValidationError(f"Set-Priority takes 1 to 5, not {value!r}.")
        case_services.case_set_priority(case=case, by=by, priority=int(value))
    elif name == "Set-User":
        case_services.case_assign(case=case, by=by, responsible=_find_staff(value))
    elif name == "Set-Section":
        section = Section.objects.filter(code__iexact=value.strip(), active=True).first()
        if section is None:
            raise ValidationError(f"No active section has the code {value!r}.")
        case_services.case_update(case=case, by=by, values={"section": section})
    elif name == "Set-Revenue":
        case_services.case_update(
            case=case, by=by, values={"planned_revenue": _decimal(value, "Set-Revenue")}
        )
    elif name == "Set-Cost":
        case_services.case_update(
            case=case, by=by, values={"planned_cost": _decimal(value, "Set-Cost")}
        )
    elif name == "Set-Probability":
        number = _decimal(value.rstrip("% "), "Set-Probability")
        if not 0 <= number <= 100:
            raise ValidationError(f"Set-Probability takes 0 to 100, not {value!r}.")
        case_services.case_update(case=case, by=by, values={"probability": int(number)})
    else:  # pragma: no cover - COMMAND_LINE only matches the names above
        raise ValidationError(f"Unknown command {name}.")


# --------------------------------------------------------------------------
# The router


@dataclass
class _Router:
    message: InboundMessage
    parsed: ParsedMessage
    own: set[str] = field(default_factory=set)

    def run(self) -> Outcome:
        self.own = own_addresses()
        parsed = self.parsed
        if parsed.report is not None:
            return self.delivery_report(parsed.report)
        if is_own_address(parsed.from_email, self.own):
            return Outcome(Status.IGNORED, f"Loop: sent from our own address {parsed.from_email}.")
        if (
            _OWN_ID.match(parsed.message_id)
            and OutboundMessage.objects.filter(message_id=parsed.message_id).exists()
        ):
            return Outcome(Status.IGNORED, "Loop: our own outgoing message came back.")
        case = self.thread()
        section = self.section()
        staff = self.staff_sender()
        if case is not None:
            case = self.survivor(case)
            if case.final:
                return self.new_case(section or case.section, staff, related=case)
            if staff is not None and visible_cases(staff).filter(pk=case.pk).exists():
                return self.staff_message(case, staff)
            return self.customer_message(case)
        if section is None:
            recipients = ", ".join(self.recipients()) or "(none)"
            raise ValidationError(
                f"No section takes mail for {recipients}. Give a section this address "
                "(Case setup → Sections, or the section's mail settings) and retry."
            )
        return self.new_case(section, staff)

    # ---- who and where

    def recipients(self) -> list[str]:
        parsed = self.parsed
        return list(
            dict.fromkeys(
                a.lower()
                for a in [*self.message.envelope_to, *parsed.envelope_to, *parsed.to, *parsed.cc]
                if a
            )
        )

    def section(self) -> Section | None:
        if self.message.section_id is not None:
            cached = _current_config().sections.get(self.message.section_id)
            return cached or Section.objects.get(pk=self.message.section_id)
        for address in self.recipients():
            section = section_for_address(address)
            if section is not None:
                return section
        return None

    def staff_sender(self) -> User | None:
        address = self.parsed.from_email
        if not address:
            return None
        for user in User.objects.filter(email__iexact=address, is_active=True):
            if can_use_staff_ui(user):
                return user
        return None

    def survivor(self, case: Case) -> Case:
        seen = {case.pk}
        while case.merged_into_id and case.merged_into_id not in seen:
            seen.add(case.merged_into_id)
            case = Case.objects.select_related("section", "case_type").get(pk=case.merged_into_id)
        return case

    # ---- threading

    def thread(self) -> Case | None:
        parsed = self.parsed
        refs = list(dict.fromkeys([*parsed.in_reply_to, *parsed.references]))
        if refs:
            # One query over what the cases sent and received; the newest wins.
            sent = (
                OutboundMessage.objects.filter(message_id__in=refs)
                .order_by()
                .values_list("created_at", "case_id")
            )
            received = (
                MessageRef.objects.filter(message_id__in=refs)
                .order_by()
                .values_list("created_at", "case_id")
            )
            found = sent.union(received).order_by("-created_at")[:1]
            if found:
                return Case.objects.select_related("section", "case_type").get(pk=found[0][1])
        for address in self.recipients():
            match = _PLUS.match(address)
            if match and is_own_address(_base_address(address), self.own):
                case = self._case_number(match.group(1))
                if case is not None:
                    return case
        for number in _tag_pattern().findall(parsed.subject):
            case = self._case_number(number)
            if case is not None and self.may_use_tag(case, refs):
                return case
        return None

    def _case_number(self, number: str) -> Case | None:
        return (
            Case.objects.select_related("section", "case_type").filter(number=int(number)).first()
        )

    def may_use_tag(self, case: Case, refs: list[str]) -> bool:
        """A subject tag alone is easy to forge: it counts only from someone the
        case knows, or with the case's own Message-ID pattern in References."""
        sender = self.parsed.from_email
        if any((m := _OWN_ID.match(ref)) and int(m.group(1)) == case.number for ref in refs):
            return True
        if not sender:
            return False
        if sender == case.requester_email.lower():
            return True
        if (
            Watcher.objects.filter(case=case)
            .filter(Q(email__iexact=sender) | Q(user__email__iexact=sender))
            .exists()
        ):
            return True
        return self.staff_sender() is not None

    # ---- outcomes

    def _record_ids(self, case: Case) -> None:
        ids = [self.parsed.message_id, *self.parsed.alt_message_ids]
        MessageRef.objects.bulk_create(
            MessageRef(message_id=i[:250], case=case) for i in dict.fromkeys(ids) if i
        )

    def _files(self) -> list[ContentFile[bytes]]:
        files = []
        for attachment in self.parsed.attachments:
            if attachment.data is None:
                continue
            upload = ContentFile(attachment.data, name=attachment.filename)
            upload.content_type = attachment.content_type  # type: ignore[attr-defined]
            files.append(upload)
        return files

    def _body(self, text: str) -> str:
        dropped = [
            f"[{a.filename} ({a.content_type}) was dropped: {a.dropped_reason}]"
            for a in self.parsed.attachments
            if a.data is None
        ]
        return "\n\n".join(part for part in [text, *dropped] if part)

    def _automatic(self) -> bool:
        return bool(self.parsed.auto_reason)

    def new_case(
        self, section: Section, staff: User | None, *, related: Case | None = None
    ) -> Outcome:
        parsed = self.parsed
        settings_row = _section_mail(section.pk)
        case_type = (settings_row.case_type if settings_row else None) or self._default_type()
        partner, contact = self.sender_partner(settings_row)
        values: dict[str, Any] = {
            "case_type": case_type,
            "section": section,
            "subject": (parsed.subject or "(no subject)")[:250],
            "description": parsed.visible_text[:100_000],
            "requester_email": self.requester_address(),
            "channel": Case.Channel.EMAIL,
            "partner": partner,
            "contact": contact,
        }
        if related is not None:
            values["related"] = related
        commands: list[tuple[str, str]] = []
        text = parsed.visible_text
        if staff is not None:
            commands, text = split_commands(text)
            values["requester_email"] = ""
        case = case_services.case_create(by=staff, values=values)
        self._record_ids(case)
        entry = case_services.case_email_in(
            case=case,
            author=staff,
            sender=self._sender_label(),
            body=self._body(text),
            files=self._files(),
            reopen=False,
        )
        self.cc_watchers(case)
        errors = self.run_commands(case, staff, commands) if staff is not None else []
        if staff is None:
            self.acknowledge(case, settings_row)
        self.notify(case, settings_row, entry_text=text, exclude=staff)
        if errors:
            self.command_errors(case, staff, errors)
        reason = f"New case {case.reference}"
        if related is not None:
            reason += f", since {related.reference} is closed for good"
        return Outcome(Status.PROCESSED, reason, case=case, entry=entry)

    def customer_message(self, case: Case) -> Outcome:
        self._record_ids(case)
        entry = case_services.case_email_in(
            case=case,
            author=None,
            sender=self._sender_label(),
            body=self._body(self.parsed.visible_text),
            files=self._files(),
            reopen=not self._automatic(),
        )
        self.cc_watchers(case)
        settings_row = _section_mail(case.section_id)
        self.notify(case, settings_row, entry_text=self.parsed.visible_text, exclude=None)
        self.relay(case, settings_row)
        return Outcome(Status.PROCESSED, f"Added to {case.reference}", case=case, entry=entry)

    def staff_message(self, case: Case, staff: User) -> Outcome:
        commands, text = split_commands(self.parsed.visible_text)
        errors = self.run_commands(case, staff, commands)
        case.refresh_from_db()
        entry = None
        if text or self._files():
            if case.final:
                errors.append("The case is closed for good; your message was not sent.")
            else:
                recipients = [
                    a for a in [case.requester_email] if a and a.lower() != staff.email.lower()
                ]
                if recipients:
                    reply = case_services.case_reply(
                        case=case,
                        by=staff,
                        body=self._body(text) or "(no text)",
                        files=self._files(),
                        to=recipients,
                    )
                    entry = reply.entry
                else:
                    entry = case_services.case_note_add(
                        case=case, by=staff, body=self._body(text) or "(no text)"
                    )
        if errors:
            self.command_errors(case, staff, errors)
        # Recorded after the reply, whose In-Reply-To is the customer's last
        # message rather than the staff's own mail to Goodwill.
        self._record_ids(case)
        applied = len(commands) - len(errors)
        reason = f"Staff message from {staff.display_name} on {case.reference}"
        if commands:
            reason += f"; {applied} of {len(commands)} commands applied"
        return Outcome(Status.PROCESSED, reason, case=case, entry=entry)

    def run_commands(self, case: Case, staff: User, commands: list[tuple[str, str]]) -> list[str]:
        errors = []
        for name, value in commands:
            try:
                with transaction.atomic():
                    apply_command(case, staff, name, value)
                case.refresh_from_db()
            except ValidationError as exc:
                errors.append(f"{name}: {value} — {error_text(exc)}")
        return errors

    def command_errors(self, case: Case, staff: User | None, errors: list[str]) -> None:
        if staff is None or not staff.email:
            return
        body = (
            "Some commands in your message could not be applied:\n\n"
            + "\n".join(f"  - {e}" for e in errors)
            + "\n\nThe rest of your message was kept."
        )
        case_services.case_mail_queue(
            case=case,
            kind=OutboundMessage.Kind.ERROR,
            to=[staff.email],
            subject=f"Commands not applied: {self.parsed.subject or case.subject}",
            body=body,
            in_reply_to=self.parsed.message_id,
        )

    def acknowledge(self, case: Case, settings_row: SectionMail | None) -> None:
        if settings_row is not None and not settings_row.acknowledge:
            return
        if self._automatic() or not case.requester_email:
            return
        if is_own_address(self.parsed.from_email, self.own):
            return
        subject, body, html = ack_content(case, settings_row, self.parsed)
        auto_mail_queue(
            case=case,
            kind=OutboundMessage.Kind.ACK,
            to=[case.requester_email],
            subject=subject,
            body=body,
            body_html=html,
            in_reply_to=self.parsed.message_id,
        )

    def notify(
        self,
        case: Case,
        settings_row: SectionMail | None,
        *,
        entry_text: str,
        exclude: User | None,
    ) -> None:
        if settings_row is not None and not settings_row.notify:
            return
        if self._automatic():
            return
        to = _staff_to_notify(case, exclude=exclude, sender=self.parsed.from_email)
        if not to:
            return
        message = {"author": self._sender_label(), "text": entry_text[:5000], "internal": False}
        subject, body, html = notify_content(case, settings_row, message)
        auto_mail_queue(
            case=case,
            kind=OutboundMessage.Kind.NOTIFY,
            to=to,
            subject=subject,
            body=body,
            body_html=html,
            in_reply_to=self.parsed.message_id,
        )

    def relay(self, case: Case, settings_row: SectionMail | None) -> None:
        if settings_row is None or not settings_row.relay or self._automatic():
            return
        present = {self.parsed.from_email, *self.parsed.to, *self.parsed.cc}
        participants = [
            case.requester_email.lower(),
            *(
                w.lower()
                for w in Watcher.objects.filter(case=case)
                .exclude(email="")
                .values_list("email", flat=True)
            ),
        ]
        to = [
            a
            for a in dict.fromkeys(participants)
            if a and a not in present and not is_own_address(a, self.own)
        ]
        if not to:
            return
        message = {
            "author": self._sender_label(),
            "text": self.parsed.visible_text,
            "internal": False,
        }
        if settings_row.relay_template_id is not None:
            from goodwill.automation.actions import email_render

            subject, body, html = email_render(
                settings_row.relay_template.code,  # type: ignore[union-attr]
                case,
                message=message,
            )
        else:
            subject = self.parsed.subject or case.subject
            body, html = f"{message['author']} wrote:\n\n{message['text']}", ""
        auto_mail_queue(
            case=case,
            kind=OutboundMessage.Kind.RELAY,
            to=to,
            subject=subject,
            body=body,
            body_html=html,
            in_reply_to=self.parsed.message_id,
        )

    def cc_watchers(self, case: Case) -> None:
        """Someone in To or Cc who is not us, the requester or staff joins the
        case (not from automatic mail: a list's address is no participant)."""
        if self._automatic():
            return
        candidates = [
            a
            for a in dict.fromkeys([*self.parsed.to, *self.parsed.cc])
            if a and a != case.requester_email.lower() and not is_own_address(a, self.own)
        ]
        if not candidates:
            return
        known = {
            e.lower()
            for e in Watcher.objects.filter(case=case, email__in=candidates).values_list(
                "email", flat=True
            )
        } | {
            e.lower()
            for e in User.objects.filter(email__in=candidates).values_list("email", flat=True)
        }
        for address in candidates:
            if address in known:
                continue
            try:
                with transaction.atomic():
                    case_services.watcher_add(case=case, by=None, email=address)
            except ValidationError:
                continue

    def sender_partner(
        self, settings_row: SectionMail | None
    ) -> tuple[Partner | None, Partner | None]:
        """(partner, contact) for the sender: its company and itself when it is a
        contact of exactly one company."""
        address = self.parsed.from_email
        if not address:
            return None, None
        row = (
            PartnerEmail.objects.filter(email=address, partner__active=True)
            .select_related("partner")
            .first()
        )
        # (Partner.email, the primary address, always has its PartnerEmail row.)
        person = row.partner if row else None
        if person is None:
            if settings_row is not None and not settings_row.create_contacts:
                return None, None
            if self._automatic() or is_own_address(address, self.own):
                return None, None
            person = self.create_prospect()
            if person is None:
                return None, None
        if person.kind != Partner.Kind.PERSON:
            return person, None
        companies = list(
            Membership.objects.filter(person=person, company__active=True).select_related(
                "company"
            )[:2]
        )
        if len(companies) == 1:
            return companies[0].company, person
        if person.parent_id:
            return person.parent, person
        return person, person

    def create_prospect(self) -> Partner | None:
        from goodwill.partners.services import EmailInput, partner_create

        name = (self.parsed.from_name or self.parsed.from_email.split("@")[0]).strip()[:200]
        try:
            with transaction.atomic():
                return partner_create(
                    by=None,
                    kind=Partner.Kind.PERSON,
                    name=name or self.parsed.from_email,
                    emails=[EmailInput(email=self.parsed.from_email, primary=True)],
                    is_prospect=True,
                    channel="email",
                )
        except ValidationError:
            logger.info("no prospect for %s: invalid data", self.parsed.from_email)
            return None

    def requester_address(self) -> str:
        """The sender's address if it is one Goodwill can write to ("" for, say,
        a quoted local part or a reserved domain: the case still opens, the
        timeline names the sender, and no automatic mail goes out)."""
        try:
            return email_normalise(self.parsed.from_email) if self.parsed.from_email else ""
        except ValidationError:
            return ""

    def _sender_label(self) -> str:
        parsed = self.parsed
        if parsed.from_name and parsed.from_email:
            return f"{parsed.from_name} <{parsed.from_email}>"
        return parsed.from_email or "an unknown sender"

    def _default_type(self) -> CaseType:
        config = _current_config()
        if config.default_type is None:
            case_types_ensure()
            config.default_type = CaseType.objects.filter(code="helpdesk").first()
        if config.default_type is None:  # pragma: no cover - seeded above
            raise ValidationError("No case type exists; run the migrations.")
        return config.default_type

    # ---- delivery reports

    def delivery_report(self, report: DeliveryReport) -> Outcome:
        case: Case | None = None
        candidates = [report.original_message_id, *self.parsed.in_reply_to, *self.parsed.references]
        candidates = [c for c in candidates if c]
        if candidates:
            case_id = (
                OutboundMessage.objects.filter(message_id__in=candidates)
                .values_list("case_id", flat=True)
                .first()
            ) or (
                MessageRef.objects.filter(message_id__in=candidates)
                .values_list("case_id", flat=True)
                .first()
            )
            if case_id:
                case = Case.objects.select_related("section", "case_type").get(pk=case_id)
        failed = [] if report.delayed else report.failed_recipients
        for address in failed:
            suppression_mark(
                address, reason=report.diagnostic[:300], status=report.status, report=self.message
            )
        what = "Delivery delayed" if report.delayed else "Delivery failed"
        recipients = ", ".join(report.failed_recipients) or "an unknown recipient"
        detail = f"{what} for {recipients}"
        if report.status:
            detail += f" (status {report.status})"
        if report.diagnostic:
            detail += f": {report.diagnostic[:500]}"
        if case is not None and not case.final:
            with self.message.raw.open("rb") as raw:
                data = raw.read()
            entry = case_services.case_note_add(
                case=case,
                by=None,
                body=detail,
                files=[ContentFile(data, name="delivery-report.eml")],
            )
            return Outcome(
                Status.PROCESSED, f"{detail} (on {case.reference})", case=case, entry=entry
            )
        return Outcome(
            Status.IGNORED, f"Delivery report, no case to attach it to. {detail}", case=case
        )


def _staff_to_notify(case: Case, *, exclude: User | None, sender: str = "") -> list[str]:
    """The responsible person (or, for an unassigned case, the section's) and
    the staff watchers who may see the case, less *exclude* and *sender*."""
    if case.responsible_id:
        users = {case.responsible}
    else:
        users = {case.section.responsible} if case.section.responsible_id else set()
    users.update(
        w.user for w in Watcher.objects.filter(case=case, user__isnull=False).select_related("user")
    )
    return [
        u.email
        for u in users
        if u is not None
        and u.email
        and u != exclude
        and u.email.lower() != sender
        and u.is_active
        and visible_cases(u).filter(pk=case.pk).exists()
    ]


def notify_note(*, case_id: int, entry_id: int, by_id: int | None) -> OutboundMessage | None:
    """Tell the case's staff about an internal note (Odoo's internal followers)."""
    from goodwill.partners.models import TimelineEntry

    case = Case.objects.select_related("section", "responsible", "section__responsible").get(
        pk=case_id
    )
    row = _section_mail(case.section_id)
    if row is not None and not row.notify:
        return None
    entry = TimelineEntry.objects.select_related("author").get(pk=entry_id)
    author = entry.author
    to = _staff_to_notify(case, exclude=author)
    if not to:
        return None
    message = {
        "author": author.display_name if author else (entry.via or "Goodwill"),
        "text": entry.body[:5000],
        "internal": True,
    }
    subject, body, html = notify_content(case, row, message)
    return auto_mail_queue(
        case=case,
        kind=OutboundMessage.Kind.NOTIFY,
        to=to,
        subject=subject,
        body=body,
        body_html=html,
    )


def notify_content(
    case: Case, row: SectionMail | None, message: dict[str, Any]
) -> tuple[str, str, str]:
    """(subject, text, HTML) of a staff notification about *message* (a received
    mail, or an internal note when ``message["internal"]``): the section's
    notification template, else the built-in text."""
    if row is not None and row.notify_template_id is not None:
        from goodwill.automation.actions import email_render

        return email_render(row.notify_template.code, case, message=message)  # type: ignore[union-attr]
    link = settings.SITE_URL + reverse("cases:detail", args=[case.number])
    if message["internal"]:
        return (
            f"Note: {case.subject}",
            f"{message['author']} added an internal note on {case.reference} "
            f"({case.subject}):\n\n{message['text']}\n\n{link}\n\n"
            "This note is internal: do not forward it.",
            "",
        )
    return (
        f"New message: {case.subject}",
        f"{message['author']} wrote on {case.reference} ({case.subject}):\n\n"
        f"{message['text']}\n\n{link}",
        "",
    )


def ack_content(case: Case, row: SectionMail | None, parsed: ParsedMessage) -> tuple[str, str, str]:
    """(subject, text, HTML) of a new case's acknowledgement: the section's
    email template in the partner's language, else its own subject and text."""
    if row is not None and row.ack_template_id is not None:
        from goodwill.automation.actions import email_render

        return email_render(row.ack_template.code, case)  # type: ignore[union-attr]
    row = row or SectionMail(section=case.section)
    values = {
        "number": str(case.number),
        "subject": case.subject,
        "section": case.section.name,
        "name": parsed.from_name or parsed.from_email,
    }
    return fill_template(row.ack_subject, values), fill_template(row.ack_body, values), ""


_PLACEHOLDER = re.compile(r"\{(number|subject|section|name)\}")


def fill_template(template: str, values: dict[str, str]) -> str:
    """Replace the known {placeholders} and nothing else (no format-string tricks)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def suppression_mark(
    address: str, *, reason: str, status: str = "", report: InboundMessage | None = None
) -> Suppression:
    address = address.lower()
    row, created = Suppression.objects.get_or_create(
        email=address, defaults={"reason": reason, "status": status, "report": report}
    )
    if not created:
        row.bounce_count += 1
        row.reason = reason or row.reason
        row.status = status or row.status
        row.report = report or row.report
        row.last_bounce_at = timezone.now()
        row.save(update_fields=["bounce_count", "reason", "status", "report", "last_bounce_at"])
    return row
