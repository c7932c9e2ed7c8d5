"""Forms of the email gateway's setup pages: they parse what a manager typed; the
services in ``goodwill.mailgate.setup_services`` decide and save."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import Q

from goodwill.automation.models import EmailTemplate
from goodwill.cases.models import CaseType, Section
from goodwill.mailgate.models import Mailbox, SectionMail
from goodwill.mailgate.setup_services import MIN_INTERVAL, PLACEHOLDER_HELP, simulate_addresses
from goodwill.partners.forms import IdChoiceField

KEEP_PASSWORD_HELP = "Leave empty to keep the stored password."  # noqa: S105 - help text


class SectionChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Section) -> str:
        label = f"{obj.name} ({obj.code})"
        return label if obj.active else f"{label}, inactive"


class MailboxForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you, e.g. Support inbox.")
    host = forms.CharField(max_length=255, label="IMAP server", help_text="e.g. imap.example.com")
    port = forms.IntegerField(initial=993, help_text="993 for TLS, 143 for STARTTLS.")
    security = forms.ChoiceField(choices=Mailbox.Security.choices, initial=Mailbox.Security.TLS)
    username = forms.CharField(max_length=255, label="User name")
    password = forms.CharField(
        max_length=255,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    folder = forms.CharField(max_length=255, initial="INBOX", help_text="The folder polled.")
    section = SectionChoiceField(
        queryset=Section.objects.none(), help_text="New cases from this mailbox open here."
    )
    after = forms.ChoiceField(
        choices=Mailbox.After.choices,
        initial=Mailbox.After.FLAG,
        label="After processing",
        help_text="What happens to a message on the server once it is stored.",
    )
    move_to = forms.CharField(
        max_length=255,
        required=False,
        label="Move to folder",
        help_text="Needed when messages are moved; created on the first move.",
    )
    interval = forms.IntegerField(
        initial=60, label="Poll every (seconds)", help_text=f"At least {MIN_INTERVAL}."
    )
    active = forms.BooleanField(required=False, initial=True, help_text="Polled by the scheduler.")

    def __init__(self, *args: Any, mailbox: Mailbox | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mailbox = mailbox
        condition = Q(active=True)
        if mailbox is not None:
            condition |= Q(pk=mailbox.section_id)
        cast(SectionChoiceField, self.fields["section"]).queryset = Section.objects.filter(
            condition
        ).order_by("name", "id")
        password = self.fields["password"]
        if mailbox is not None:
            password.help_text = KEEP_PASSWORD_HELP
        else:
            password.help_text = "The IMAP password (or an app password)."

    @staticmethod
    def initial_for(mailbox: Mailbox) -> dict[str, Any]:
        """The stored values, password excepted: it is never sent back to the browser."""
        return {
            "name": mailbox.name,
            "host": mailbox.host,
            "port": mailbox.port,
            "security": mailbox.security,
            "username": mailbox.username,
            "folder": mailbox.folder,
            "section": mailbox.section_id,
            "after": mailbox.after,
            "move_to": mailbox.move_to,
            "interval": mailbox.interval,
            "active": mailbox.active,
        }

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class CaseTypeChoiceField(IdChoiceField):
    def label_from_instance(self, obj: CaseType) -> str:
        return obj.name if obj.active else f"{obj.name}, inactive"


class SectionMailForm(forms.Form):
    case_type = CaseTypeChoiceField(
        queryset=CaseType.objects.none(),
        required=False,
        empty_label="Helpdesk request (the default)",
        label="Case type",
        help_text="The type of the cases that mail opens.",
    )
    acknowledge = forms.BooleanField(
        required=False,
        label="Acknowledge new cases",
        help_text="Thank the sender of a new case with its number.",
    )
    ack_subject = forms.CharField(
        max_length=200,
        label="Acknowledgement subject",
        help_text=f"{PLACEHOLDER_HELP} The case tag is added.",
    )
    ack_body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        strip=False,
        label="Acknowledgement text",
        help_text=PLACEHOLDER_HELP,
    )
    ack_template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.filter(language=""),
        required=False,
        empty_label="(the subject and text above)",
        label="Or an email template",
        help_text="A template from Automation → Email templates, sent in the "
        "customer's language when it has a translation.",
    )
    notify = forms.BooleanField(
        required=False,
        label="Notify staff",
        help_text="Mail the responsible person and the staff watchers when a message arrives.",
    )
    relay = forms.BooleanField(
        required=False,
        label="Relay messages",
        help_text="Forward each incoming message to the case's other participants.",
    )
    notify_template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.filter(language=""),
        required=False,
        empty_label="(the built-in text)",
        label="Notification template",
        help_text="The email template staff notifications use (new messages and internal "
        "notes); message.author, message.text and message.internal hold the message.",
    )
    relay_template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.filter(language=""),
        required=False,
        empty_label="(the message as written)",
        label="Relay template",
        help_text="The email template relayed messages use, in the participant's language.",
    )
    create_contacts = forms.BooleanField(
        required=False,
        label="Unknown senders become contacts",
        help_text="Create a prospect for a sender with an address Goodwill does not know.",
    )

    def __init__(self, *args: Any, row: SectionMail | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        condition = Q(active=True)
        if row is not None and row.case_type_id:
            condition |= Q(pk=row.case_type_id)
        cast(CaseTypeChoiceField, self.fields["case_type"]).queryset = CaseType.objects.filter(
            condition
        )

    @staticmethod
    def initial_for(row: SectionMail) -> dict[str, Any]:
        return {
            "case_type": row.case_type_id,
            "acknowledge": row.acknowledge,
            "ack_subject": row.ack_subject,
            "ack_body": row.ack_body,
            "ack_template": row.ack_template_id,
            "notify": row.notify,
            "relay": row.relay,
            "notify_template": row.notify_template_id,
            "relay_template": row.relay_template_id,
            "create_contacts": row.create_contacts,
        }

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class InboundAddressForm(forms.Form):
    address = forms.CharField(
        max_length=254,
        label="Another address",
        help_text="Mail to it opens cases here too, e.g. help@example.com.",
    )


class SuppressionForm(forms.Form):
    email = forms.CharField(
        max_length=254,
        label="Address",
        help_text="No automatic mail (acknowledgements, notifications) goes to it.",
    )


class SimulateForm(forms.Form):
    from_name = forms.CharField(max_length=100, required=False, label="From (name)")
    from_email = forms.CharField(max_length=254, label="From (email)")
    to = forms.ChoiceField(choices=[], label="To", help_text="An address the gateway takes.")
    cc = forms.CharField(
        max_length=2000, required=False, label="Cc", help_text="Addresses, separated by commas."
    )
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False, strip=False)
    in_reply_to = forms.CharField(
        max_length=250,
        required=False,
        label="In reply to (Message-ID)",
        help_text="Makes the message a reply, e.g. to an acknowledgement: <gw.c1042.…@…>.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.addresses = simulate_addresses()
        cast(forms.ChoiceField, self.fields["to"]).choices = [(a, a) for a in self.addresses]

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
