"""What the email gateway's endpoints accept and return.

Input serializers check the shape of a request: a raw message must be bytes
that start like an email, a section code must name a section the user can see.
Storing and processing the message is ``goodwill.mailgate``'s job.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from goodwill.api.case_serializers import PlainChoiceField
from goodwill.api.serializers import StrictSerializer
from goodwill.cases.models import OutboundMessage, Section
from goodwill.cases.permissions import visible_sections
from goodwill.mailgate.models import InboundMessage

# A message starts with a header field ("Name: value"), or with the "From "
# line of an mbox that an MTA's pipe may leave in front.
_STARTS_LIKE_MAIL = re.compile(rb"\A(?:From [^\r\n]*\r?\n)?[!-9;-~]+[ \t]*:")


def max_message_size() -> int:
    """The largest message accepted, in bytes (``MAILGATE_MAX_MESSAGE_MB``)."""
    return int(settings.MAILGATE_MAX_MESSAGE_MB) * 1024 * 1024


def raw_message_check(raw: bytes) -> bytes:
    """*raw* if it can be an email message; a validation error saying why not."""
    if not raw.strip():
        raise serializers.ValidationError("The message is empty.")
    if len(raw) > max_message_size():
        raise serializers.ValidationError(
            f"The message is larger than the {settings.MAILGATE_MAX_MESSAGE_MB} MB limit."
        )
    if not _STARTS_LIKE_MAIL.match(raw):
        raise serializers.ValidationError(
            "This is not an email message: it does not start with a header line."
        )
    return raw


def _absolute(path: str, request: Any) -> str:
    return request.build_absolute_uri(path) if request is not None else path


# --------------------------------------------------------------------------
# Query parameters and request bodies


class InboundFilterSerializer(serializers.Serializer):
    """The log's query parameters; unknown parameters are ignored."""

    status = PlainChoiceField(choices=InboundMessage.Status.choices, required=False)
    q = serializers.CharField(max_length=200, required=False)


class OutboxFilterSerializer(serializers.Serializer):
    status = PlainChoiceField(choices=OutboundMessage.Status.choices, required=False)
    kind = PlainChoiceField(choices=OutboundMessage.Kind.choices, required=False)


class SuppressionFilterSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=254, required=False)


class InboundSubmitOptionsSerializer(serializers.Serializer):
    """``section`` and ``process``: in the JSON body, or in the query string of a
    ``message/rfc822`` upload."""

    section = serializers.CharField(
        max_length=50,
        required=False,
        help_text="Deliver to this section (its code) instead of routing by the recipients.",
    )
    process = serializers.BooleanField(
        default=True,
        help_text="Process the message now (default), or leave it to the gateway's worker.",
    )

    def validate_section(self, code: str) -> Section:
        """A section's code (any case) among the sections the user can see."""
        section = visible_sections(self.context["user"]).filter(code__iexact=code).first()
        if section is None:
            raise serializers.ValidationError(f"No section has the code {code!r}.")
        return section


class InboundSubmitSerializer(StrictSerializer, InboundSubmitOptionsSerializer):
    raw = serializers.CharField(
        trim_whitespace=False,
        error_messages={"blank": "The message is empty."},
        help_text="The whole message (RFC 5322), base64-encoded; line breaks are allowed.",
    )

    def validate_raw(self, value: str) -> bytes:
        try:
            raw = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError(
                "This is not valid base64; encode the message's bytes with base64."
            ) from None
        return raw_message_check(raw)


class SuppressionAddSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254, help_text="The address to stop mailing.")


# --------------------------------------------------------------------------
# Received messages


class InboundRowSerializer(serializers.Serializer):
    """A row of the mail log: never the message's text."""

    id = serializers.IntegerField(read_only=True)
    received_at = serializers.DateTimeField(read_only=True)
    source = PlainChoiceField(  # type: ignore[assignment]  # not Field.source
        choices=InboundMessage.Source.choices, read_only=True, help_text="The door it came in by."
    )
    status = PlainChoiceField(choices=InboundMessage.Status.choices, read_only=True)
    reason = serializers.CharField(read_only=True, help_text="Why it was ignored or quarantined.")
    from_email = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    message_id = serializers.CharField(read_only=True, help_text="<id@host>, or empty.")
    size = serializers.IntegerField(read_only=True, help_text="Bytes.")
    sha256 = serializers.CharField(read_only=True)
    case = serializers.IntegerField(
        source="case.number",
        read_only=True,
        allow_null=True,
        help_text="The number of the case it went to, or null.",
    )
    attempts = serializers.IntegerField(read_only=True)
    processed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class InboundDetailSerializer(InboundRowSerializer):
    body_text = serializers.CharField(read_only=True)
    body_html = serializers.CharField(
        read_only=True, help_text="Sanitised: no scripts, remote images parked."
    )
    envelope_to = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="The SMTP recipients, if known."
    )
    raw_url = serializers.SerializerMethodField(help_text="The original bytes, message/rfc822.")

    @extend_schema_field(serializers.URLField())
    def get_raw_url(self, message: InboundMessage) -> str:
        return _absolute(
            reverse("api:mail_inbound_raw", args=[message.pk]), self.context.get("request")
        )


class InboundSubmittedSerializer(InboundDetailSerializer):
    created = serializers.SerializerMethodField(
        help_text="false when the same message (bytes and Message-ID) was already stored."
    )

    def get_created(self, message: InboundMessage) -> bool:
        return bool(self.context["created"])


class InboundStoredSerializer(serializers.Serializer):
    """A submitted message that went to a case out of the submitter's sight."""

    id = serializers.IntegerField(read_only=True)
    status = PlainChoiceField(choices=InboundMessage.Status.choices, read_only=True)
    created = serializers.BooleanField(read_only=True)


# --------------------------------------------------------------------------
# The outbox


class OutboxRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    case = serializers.IntegerField(source="case.number", read_only=True)
    kind = PlainChoiceField(choices=OutboundMessage.Kind.choices, read_only=True)
    status = PlainChoiceField(choices=OutboundMessage.Status.choices, read_only=True)
    subject = serializers.CharField(read_only=True)
    from_email = serializers.CharField(read_only=True)
    to = serializers.ListField(child=serializers.CharField(), read_only=True)
    cc = serializers.ListField(child=serializers.CharField(), read_only=True)
    message_id = serializers.CharField(read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    next_attempt_at = serializers.DateTimeField(read_only=True)
    last_error = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)


class OutboxDetailSerializer(OutboxRowSerializer):
    in_reply_to = serializers.CharField(read_only=True)
    references = serializers.CharField(read_only=True)
    reply_to = serializers.CharField(read_only=True)
    body_text = serializers.CharField(read_only=True)
    created_by = serializers.IntegerField(
        source="created_by_id", read_only=True, allow_null=True, help_text="A user id."
    )


# --------------------------------------------------------------------------
# Suppressions


class SuppressionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.CharField(read_only=True)
    reason = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="The bounce's DSN status, e.g. 5.1.1.")
    bounce_count = serializers.IntegerField(read_only=True)
    report = serializers.IntegerField(
        source="report_id",
        read_only=True,
        allow_null=True,
        help_text="The received bounce report's id.",
    )
    created_at = serializers.DateTimeField(read_only=True)
    last_bounce_at = serializers.DateTimeField(read_only=True)


# --------------------------------------------------------------------------
# Pages


class _Page(serializers.Serializer):
    next = serializers.URLField(
        read_only=True, allow_null=True, help_text="The next page, or null on the last one."
    )
    previous = serializers.URLField(
        read_only=True, allow_null=True, help_text="The previous page, or null on the first."
    )


class InboundPageSerializer(_Page):
    results = InboundRowSerializer(many=True, read_only=True)


class OutboxPageSerializer(_Page):
    results = OutboxRowSerializer(many=True, read_only=True)


class SuppressionPageSerializer(_Page):
    results = SuppressionSerializer(many=True, read_only=True)
