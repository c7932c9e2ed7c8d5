"""The email gateway's setup: mailboxes, each section's mail settings and extra
addresses, suppressed (bouncing) addresses, and simulated incoming mail.

Every change the setup pages make goes through a function here; each validates
its input (a field-keyed ``ValidationError`` in words), runs in one transaction
and returns the object. The few reads the pages share sit at the end.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from goodwill.automation.models import EmailTemplate
from goodwill.cases.models import CaseType, Section
from goodwill.lib.emailaddr import email_normalise
from goodwill.lib.ids import is_valid_id
from goodwill.mailgate.inbound import inbound_receive
from goodwill.mailgate.models import (
    InboundAddress,
    InboundMessage,
    Mailbox,
    SectionMail,
    Suppression,
)

if TYPE_CHECKING:
    from goodwill.accounts.models import User

logger = logging.getLogger(__name__)

MIN_INTERVAL = 10  # seconds; the poller never polls more often anyway
MAX_INTERVAL = 7 * 24 * 3600
PLACEHOLDERS = ("number", "subject", "section", "name")
PLACEHOLDER_HELP = "Placeholders: {number}, {subject}, {section}, {name}."
# What the acknowledgement preview fills the placeholders with.
SAMPLE_VALUES = {
    "number": "1042",
    "subject": "The printer on floor 3 is jammed",
    "name": "Jane Doe",
}

_ANY_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_KNOWN_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_MESSAGE_ID = re.compile(r"<?([^<>\s@]+@[^<>\s@]+)>?")
# Fields whose change points the mailbox at other mail: what was read is forgotten.
_WHERE_FIELDS = ("host", "port", "username", "folder")


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _clean_all(
    values: dict[str, Any], cleaners: dict[str, Callable[[Any], Any]], what: str
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Run each value through its cleaner; collect every error, not just the first."""
    unknown = set(values) - set(cleaners)
    if unknown:
        raise ValidationError(f"Unknown {what} fields: {', '.join(sorted(unknown))}.")
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field, value in values.items():
        try:
            cleaned[field] = cleaners[field](value)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    return cleaned, errors


def _line(value: Any, *, label: str, max_length: int, required: bool = True) -> str:
    """One line of text: trimmed, without line breaks (they would forge headers)."""
    text = str(value if value is not None else "").strip()
    if "\r" in text or "\n" in text:
        raise ValidationError(f"The {label} must fit on one line.")
    if required and not text:
        raise ValidationError(f"Enter the {label}.")
    if len(text) > max_length:
        raise ValidationError(f"Keep the {label} to {max_length} characters (it has {len(text)}).")
    return text


def _integer(value: Any, *, low: int, high: int, message: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(message)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(message) from None
    if not low <= number <= high or str(number) != str(value).strip():
        raise ValidationError(message)
    return number


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Must be true or false.")
    return value


def _choice(value: Any, choices: list[str], message: str) -> str:
    if value not in choices:
        raise ValidationError(message)
    return str(value)


def _instance(value: Any, model: type[Any], label: str) -> Any:
    """A model instance from an instance or an id; None and "" stay None."""
    if value is None or value == "":
        return None
    if isinstance(value, model):
        if value.pk is None:
            raise ValidationError(f"Save the {label} first.")
        return value
    if is_valid_id(value):
        found = model._default_manager.filter(pk=int(value)).first()
        if found is not None:
            return found
    raise ValidationError(f"Choose an existing {label}.")


# --------------------------------------------------------------------------
# Mailboxes

MAILBOX_FIELDS = (
    "name",
    "host",
    "port",
    "security",
    "username",
    "password",
    "folder",
    "section",
    "after",
    "move_to",
    "interval",
    "active",
)


def _clean_host(value: Any) -> str:
    host = _line(value, label="server name", max_length=255)
    if any(ch.isspace() for ch in host) or "/" in host:
        raise ValidationError("Enter a server name such as imap.example.com, without spaces.")
    return host


def _clean_password(value: Any) -> str:
    text = str(value or "")
    if "\r" in text or "\n" in text:
        raise ValidationError("The password must fit on one line.")
    if len(text) > 255:
        raise ValidationError("Keep the password to 255 characters.")
    return text


_MAILBOX_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _line(v, label="name", max_length=100),
    "host": _clean_host,
    "port": lambda v: _integer(
        v, low=1, high=65535, message="Enter a port from 1 to 65535 (IMAP: 993 or 143)."
    ),
    "security": lambda v: _choice(
        v, Mailbox.Security.values, "Choose TLS, STARTTLS or no encryption."
    ),
    "username": lambda v: _line(v, label="user name", max_length=255),
    "password": _clean_password,
    "folder": lambda v: _line(v, label="folder", max_length=255),
    "section": lambda v: _instance(v, Section, "section"),
    "after": lambda v: _choice(
        v, Mailbox.After.values, "Choose whether processed mail is moved or flagged."
    ),
    "move_to": lambda v: _line(v, label="folder to move to", max_length=255, required=False),
    "interval": lambda v: _integer(
        v,
        low=MIN_INTERVAL,
        high=MAX_INTERVAL,
        message=f"Poll at most every {MIN_INTERVAL} seconds and at least once a week "
        f"(enter {MIN_INTERVAL} to {MAX_INTERVAL}).",
    ),
    "active": _bool,
}


def mailbox_clean(*, mailbox: Mailbox | None, values: dict[str, Any]) -> dict[str, Any]:
    """Check *values* for *mailbox* (None: a new one) without saving anything."""
    cleaned, errors = _clean_all(values, _MAILBOX_CLEANERS, "mailbox")
    if mailbox is None:
        for field in ("name", "host", "username", "section"):
            if field not in values:
                errors.setdefault(field, []).append(f"A mailbox needs a {field}.")
    section = cleaned.get("section")
    if "section" in values and section is None and "section" not in errors:
        errors.setdefault("section", []).append("Choose the section its mail goes to.")
    if (
        section is not None
        and not section.active
        and (mailbox is None or mailbox.section_id != section.pk)
    ):
        errors.setdefault("section", []).append(
            f"The section {section.name} is inactive; choose an active one."
        )
    after = cleaned.get("after", mailbox.after if mailbox else Mailbox.After.FLAG)
    move_to = cleaned.get("move_to", mailbox.move_to if mailbox else "")
    folder = cleaned.get("folder", mailbox.folder if mailbox else "INBOX")
    if after == Mailbox.After.MOVE and "move_to" not in errors:
        if not move_to:
            errors.setdefault("move_to", []).append(
                "Name the folder processed messages are moved to (e.g. Processed)."
            )
        elif move_to == folder:
            errors.setdefault("move_to", []).append(
                "Move processed messages to another folder than the one that is polled."
            )
    _raise_if(errors)
    return cleaned


@transaction.atomic
def mailbox_save(
    *, by: User | None, mailbox: Mailbox | None = None, values: dict[str, Any]
) -> Mailbox:
    """Create a mailbox (``mailbox=None``) or update one.

    An empty password on an existing mailbox keeps the stored one. Pointing the
    mailbox at another server, account or folder forgets which messages were
    read there (the next poll reads the folder's new mail from the start).
    """
    cleaned = mailbox_clean(mailbox=mailbox, values=values)
    target = Mailbox() if mailbox is None else mailbox
    if mailbox is not None and not cleaned.get("password"):
        cleaned.pop("password", None)
    moved = mailbox is not None and any(
        field in cleaned and getattr(target, field) != cleaned[field] for field in _WHERE_FIELDS
    )
    for field, value in cleaned.items():
        setattr(target, field, value)
    if moved:
        target.uidvalidity = None
        target.last_uid = 0
    target.save()
    logger.info(
        "mailbox %s %s by %s", target.pk, "created" if mailbox is None else "saved", _who(by)
    )
    return target


@transaction.atomic
def mailbox_set_active(*, by: User | None, mailbox: Mailbox, active: bool) -> Mailbox:
    """Start or stop polling *mailbox*; its settings and history stay."""
    if active and not Section.objects.filter(pk=mailbox.section_id, active=True).exists():
        raise ValidationError(
            "Its section is inactive: choose an active section before activating the mailbox."
        )
    Mailbox.objects.filter(pk=mailbox.pk).update(active=active)
    mailbox.active = active
    logger.info(
        "mailbox %s %s by %s", mailbox.pk, "activated" if active else "deactivated", _who(by)
    )
    return mailbox


def mailbox_poll_request(*, by: User | None, mailbox: Mailbox) -> Mailbox:
    """Queue a poll of *mailbox* now, whatever its interval (after the commit)."""
    task = getattr(import_module("goodwill.mailgate.tasks"), "mailbox_poll_task", None)
    if task is None:
        raise ValidationError("Polling on demand is not available in this version.")
    pk = mailbox.pk
    transaction.on_commit(lambda: task.enqueue(pk))
    logger.info("poll of mailbox %s queued by %s", pk, _who(by))
    return mailbox


@transaction.atomic
def mailbox_delete(*, by: User | None, mailbox: Mailbox) -> None:
    """Delete a mailbox that never delivered a message; others are deactivated instead."""
    count = InboundMessage.objects.filter(mailbox=mailbox).count()
    if count:
        raise ValidationError(
            f"{mailbox.name} delivered {count} message{'s' if count != 1 else ''}, which "
            "keep a record of where they came from: deactivate it instead of deleting it."
        )
    logger.info("mailbox %s (%s) deleted by %s", mailbox.pk, mailbox.name, _who(by))
    mailbox.delete()


# --------------------------------------------------------------------------
# Section mail settings

SECTION_MAIL_FIELDS = (
    "case_type",
    "acknowledge",
    "ack_subject",
    "ack_body",
    "notify",
    "relay",
    "create_contacts",
)


def template_check(text: str) -> None:
    """Raise if *text* uses a ``{placeholder}`` other than the four known ones."""
    unknown = [
        m.group(0) for m in _ANY_PLACEHOLDER.finditer(text) if m.group(1) not in PLACEHOLDERS
    ]
    if unknown:
        names = ", ".join(dict.fromkeys(unknown))
        raise ValidationError(
            f"Unknown placeholder{'s' if len(set(unknown)) > 1 else ''} {names}. "
            f"Use only {{number}}, {{subject}}, {{section}} and {{name}}."
        )


def _clean_template(value: Any, *, label: str, max_length: int | None, one_line: bool) -> str:
    text = str(value if value is not None else "")
    text = text.strip() if one_line else text.replace("\r\n", "\n").strip()
    if one_line and ("\r" in text or "\n" in text):
        raise ValidationError(f"The {label} must fit on one line.")
    if not text:
        raise ValidationError(f"Enter the {label}.")
    if max_length is not None and len(text) > max_length:
        raise ValidationError(f"Keep the {label} to {max_length} characters (it has {len(text)}).")
    template_check(text)
    return text


def _clean_case_type(value: Any) -> CaseType | None:
    case_type = _instance(value, CaseType, "case type")
    return case_type


_SECTION_MAIL_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "case_type": _clean_case_type,
    "acknowledge": _bool,
    "ack_subject": lambda v: _clean_template(
        v, label="acknowledgement subject", max_length=200, one_line=True
    ),
    "ack_body": lambda v: _clean_template(
        v, label="acknowledgement text", max_length=20_000, one_line=False
    ),
    "ack_template": lambda v: _instance(v, EmailTemplate, "email template"),
    "notify": _bool,
    "relay": _bool,
    "notify_template": lambda v: _instance(v, EmailTemplate, "email template"),
    "relay_template": lambda v: _instance(v, EmailTemplate, "email template"),
    "create_contacts": _bool,
}


def section_mail_for(section: Section) -> SectionMail:
    """The section's mail settings: its row, or an unsaved one with the defaults."""
    row = SectionMail.objects.select_related("case_type").filter(section=section).first()
    return row if row is not None else SectionMail(section=section)


@transaction.atomic
def section_mail_save(*, by: User | None, section: Section, values: dict[str, Any]) -> SectionMail:
    """Save how the gateway treats *section*'s mail (the row is made on the first save)."""
    cleaned, errors = _clean_all(values, _SECTION_MAIL_CLEANERS, "section mail")
    case_type = cleaned.get("case_type")
    if case_type is not None and not case_type.active:
        current = SectionMail.objects.filter(section=section).values_list("case_type", flat=True)
        if case_type.pk not in list(current):
            errors.setdefault("case_type", []).append(
                f"The case type {case_type.name} is inactive; choose an active one."
            )
    _raise_if(errors)
    row, _created = SectionMail.objects.select_for_update().get_or_create(section=section)
    for field, value in cleaned.items():
        setattr(row, field, value)
    row.save()
    logger.info("mail settings of section %s saved by %s", section.pk, _who(by))
    return row


def ack_preview(row: SectionMail) -> tuple[str, str]:
    """The acknowledgement of *row* as a sender would get it, with sample values."""
    from goodwill.mailgate.pipeline import fill_template

    values = {**SAMPLE_VALUES, "section": row.section.name}
    tag = f"[{settings.CASE_TAG_PREFIX}{values['number']}]"
    subject = fill_template(row.ack_subject, values)
    subject = subject if tag in subject else f"{tag} {subject}"
    return subject, fill_template(row.ack_body, values)


# --------------------------------------------------------------------------
# Inbound addresses


def _address_owner(address: str) -> str | None:
    """Who already receives mail at *address*: a sentence naming the section."""
    section = Section.objects.filter(email__iexact=address).order_by("id").first()
    if section is not None:
        return f"the address of the section {section.name}"
    inbound = (
        InboundAddress.objects.filter(address__iexact=address).select_related("section").first()
    )
    if inbound is not None:
        return f"an address of the section {inbound.section.name}"
    return None


@transaction.atomic
def inbound_address_add(*, by: User | None, section: Section, address: str) -> InboundAddress:
    """Let mail to *address* open cases in *section* too (one section per address)."""
    try:
        normalised = email_normalise(str(address or ""))
    except ValidationError as exc:
        raise ValidationError({"address": exc.messages}) from None
    if len(normalised) > 254:
        raise ValidationError({"address": "An email address has at most 254 characters."})
    owner = _address_owner(normalised)
    if owner is not None:
        raise ValidationError(
            {"address": f"{normalised} is already {owner}; each address leads to one section."}
        )
    try:
        with transaction.atomic():
            row = InboundAddress.objects.create(address=normalised, section=section)
    except IntegrityError:
        raise ValidationError({"address": f"{normalised} was added meanwhile."}) from None
    logger.info("inbound address %s added to section %s by %s", normalised, section.pk, _who(by))
    return row


@transaction.atomic
def inbound_address_remove(*, by: User | None, address: InboundAddress) -> Section:
    """Stop taking mail at *address*; returns the section it belonged to."""
    section = address.section
    logger.info(
        "inbound address %s removed from section %s by %s", address.address, section.pk, _who(by)
    )
    address.delete()
    return section


# --------------------------------------------------------------------------
# Suppressions


@transaction.atomic
def suppression_add(*, by: User, email: str) -> Suppression:
    """Stop automatic mail to *email* by hand (no bounce seen yet)."""
    try:
        normalised = email_normalise(str(email or ""))
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from None
    if len(normalised) > 254:
        raise ValidationError({"email": "An email address has at most 254 characters."})
    if Suppression.objects.filter(email=normalised).exists():
        raise ValidationError({"email": f"{normalised} is already suppressed."})
    who = by.get_full_name() or by.username
    try:
        with transaction.atomic():
            row = Suppression.objects.create(
                email=normalised, reason=f"added by {who}"[:300], bounce_count=0
            )
    except IntegrityError:
        raise ValidationError({"email": f"{normalised} is already suppressed."}) from None
    logger.info("suppression of %s added by %s", normalised, _who(by))
    return row


@transaction.atomic
def suppression_clear(*, by: User | None, suppression: Suppression) -> str:
    """Let automatic mail go to the address again; returns the address."""
    email = suppression.email
    Suppression.objects.filter(pk=suppression.pk).delete()
    logger.info("suppression of %s cleared by %s", email, _who(by))
    return email


# --------------------------------------------------------------------------
# Simulated incoming mail


@dataclass(frozen=True)
class Simulated:
    message: InboundMessage
    created: bool


def _clean_address(value: Any, label: str) -> str:
    try:
        return email_normalise(str(value or ""))
    except ValidationError:
        raise ValidationError(f"Enter a valid {label} address.") from None


def _clean_cc(value: Any) -> list[str]:
    text = str(value or "")
    if "\r" in text or "\n" in text:
        raise ValidationError("Separate Cc addresses with commas.")
    addresses: list[str] = []
    for part in re.split(r"[,;]", text):
        if part.strip():
            try:
                addresses.append(email_normalise(part))
            except ValidationError:
                raise ValidationError(f"{part.strip()} is not a valid email address.") from None
    if len(addresses) > 20:
        raise ValidationError("Give at most 20 Cc addresses.")
    return list(dict.fromkeys(addresses))


def _clean_message_id(value: Any) -> str:
    text = _line(value, label="Message-ID", max_length=250, required=False)
    if not text:
        return ""
    match = _MESSAGE_ID.fullmatch(text)
    if match is None:
        raise ValidationError("Enter a Message-ID such as <abc.123@example.com>.")
    return f"<{match.group(1)}>"


def simulate_build(
    *,
    from_name: str,
    from_email: str,
    to: str,
    cc: list[str],
    subject: str,
    body: str,
    in_reply_to: str = "",
) -> EmailMessage:
    """A real RFC 5322 message, as a mail client would send it."""
    message = EmailMessage()
    message["From"] = Address(display_name=from_name, addr_spec=from_email)
    message["To"] = to
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="simulated.invalid")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message


def inbound_simulate(
    *,
    by: User | None,
    from_name: str,
    from_email: str,
    to: str,
    subject: str,
    body: str,
    cc: str = "",
    in_reply_to: str = "",
) -> InboundMessage:
    """Receive a message as if a mail client had sent it to *to*, and process it now.

    *to* must be one of the gateway's addresses (:func:`simulate_addresses`).
    Not one transaction: like every door, the raw message is stored first and
    then processed, so a failure in the pipeline leaves it stored and
    quarantined, with the reason, instead of lost.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    cleaners: dict[str, tuple[Any, Callable[[Any], Any]]] = {
        "from_name": (from_name, lambda v: _line(v, label="name", max_length=100, required=False)),
        "from_email": (from_email, lambda v: _clean_address(v, "sender")),
        "to": (to, lambda v: _clean_address(v, "recipient")),
        "cc": (cc, _clean_cc),
        "subject": (subject, lambda v: _line(v, label="subject", max_length=300)),
        "body": (body, lambda v: str(v or "").replace("\r\n", "\n")),
        "in_reply_to": (in_reply_to, _clean_message_id),
    }
    for field, (value, cleaner) in cleaners.items():
        try:
            cleaned[field] = cleaner(value)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    if "to" in cleaned and cleaned["to"] not in simulate_addresses():
        errors.setdefault("to", []).append(
            f"{cleaned['to']} is not an address of an active section."
        )
    if not errors and len(cleaned["body"]) > 100_000:
        errors.setdefault("body", []).append("Keep the text to 100,000 characters.")
    _raise_if(errors)
    message = simulate_build(**cleaned)
    received = inbound_receive(
        message.as_bytes(),
        via=InboundMessage.Source.WEB,
        envelope_to=[cleaned["to"]],
        enqueue=False,  # processed right here, not by a worker
    )
    logger.info("simulated message %s received from %s", received.message.pk, _who(by))
    from goodwill.mailgate.pipeline import inbound_process

    return inbound_process(received.message)


# --------------------------------------------------------------------------
# Reads shared by the pages


def simulate_addresses() -> list[str]:
    """Every address the gateway takes mail at: active sections' own and extra ones."""
    own = Section.objects.filter(active=True).exclude(email="").values_list("email", flat=True)
    extra = InboundAddress.objects.filter(section__active=True).values_list("address", flat=True)
    return sorted({a.lower() for a in own} | {a.lower() for a in extra})


def mailboxes_for_setup() -> QuerySet[Mailbox]:
    return Mailbox.objects.select_related("section").order_by("-active", "name", "id")


def suppressions_for_setup(query: str = "") -> QuerySet[Suppression]:
    rows = Suppression.objects.order_by("-last_bounce_at", "-id")
    query = query.strip()
    return rows.filter(email__icontains=query.lower()) if query else rows


def _who(by: User | None) -> str:
    return f"user {by.pk}" if by is not None else "the system"
