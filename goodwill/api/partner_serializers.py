"""What the partner endpoints accept and return.

Input serializers check types and shape and turn the JSON into the arguments
of ``goodwill.partners.services``; the services decide whether the values make
sense (a valid email, a real phone number, a parent that is a company, …).
Output serializers render partners read through ``goodwill.partners.selectors``.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django_countries import countries
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from goodwill.api.serializers import StrictSerializer, UserRefSerializer, WholeItemsListField
from goodwill.lib.ids import MAX_ID
from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.partners.models import (
    LANGUAGE_CHOICES,
    Address,
    Category,
    Partner,
    PartnerEmail,
    PartnerPhone,
    TimelineEntry,
)
from goodwill.partners.services import AddressInput, EmailInput, MembershipInput, PhoneInput

# The same limits as the HTML form's rows.
MAX_EMAILS = 20
MAX_PHONES = 20
MAX_ADDRESSES = 10
MAX_CATEGORIES = 100
MAX_COMPANIES = 20


# --------------------------------------------------------------------------
# Fields


@extend_schema_field({"type": "array", "items": {"type": "integer"}})
class CategoryIdsField(serializers.ListField):
    """Category ids in, ``Category`` objects out, loaded in one query."""

    child = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    def to_internal_value(self, data: Any) -> list[Category]:
        ids = list(dict.fromkeys(super().to_internal_value(data)))
        found = Category.objects.in_bulk(ids)
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            noun = "category has" if len(missing) == 1 else "categories have"
            raise serializers.ValidationError(f"No {noun} id {', '.join(missing)}.")
        return [found[pk] for pk in ids]


def partner_id_field(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        queryset=Partner.objects.all(),
        error_messages={
            "does_not_exist": "No partner has id {pk_value}.",
            "incorrect_type": "Give a partner id (a number), not {data_type}.",
        },
        **kwargs,
    )


def partner_url(partner_id: int, request: Any) -> str:
    path = reverse("api:partner_detail", args=[partner_id])
    return request.build_absolute_uri(path) if request is not None else path


# --------------------------------------------------------------------------
# Collections: the same shape in and out


class EmailSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254, help_text="Stored lower-cased.")
    kind = serializers.ChoiceField(choices=PartnerEmail.Kind.choices, default="work")
    primary = serializers.BooleanField(
        source="is_primary",
        default=False,
        help_text="Exactly one address is primary: the first marked, else the first one.",
    )


class PhoneSerializer(StrictSerializer):
    number = serializers.CharField(
        max_length=40,
        help_text="In: any common notation; a number without +country code is read as a "
        "number of the partner's first address's country. Out: E.164 (+4930123456).",
    )
    display = serializers.CharField(
        read_only=True, help_text="The international notation, +49 30 123456."
    )
    kind = serializers.ChoiceField(choices=PartnerPhone.Kind.choices, default="work")
    primary = serializers.BooleanField(source="is_primary", default=False)


class AddressSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=Address.Kind.choices, default="contact")
    street = serializers.CharField(max_length=200, allow_blank=True, default="")
    street2 = serializers.CharField(max_length=200, allow_blank=True, default="")
    zip = serializers.CharField(max_length=20, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, allow_blank=True, default="")
    state = serializers.CharField(max_length=100, allow_blank=True, default="")
    country = serializers.ChoiceField(
        choices=list(countries), allow_blank=True, default="", help_text="ISO 3166 code."
    )


class MembershipInputSerializer(StrictSerializer):
    company = partner_id_field(help_text="The id of a company.")
    job_title = serializers.CharField(max_length=120, allow_blank=True, default="")
    department = serializers.CharField(max_length=120, allow_blank=True, default="")
    work_email = serializers.CharField(max_length=254, allow_blank=True, default="")
    work_phone = serializers.CharField(max_length=40, allow_blank=True, default="")


# --------------------------------------------------------------------------
# Writing partners


class PartnerWriteSerializer(StrictSerializer):
    """The body of a create (POST) or of a partial update (PATCH).

    A PATCH changes only the keys it sends; a collection that is sent replaces
    the whole collection.
    """

    kind = serializers.ChoiceField(choices=Partner.Kind.choices)
    name = serializers.CharField(max_length=200)
    parent = partner_id_field(  # type: ignore[assignment]  # not Field.parent
        allow_null=True, required=False, help_text="The id of the parent company (companies only)."
    )
    is_customer = serializers.BooleanField(required=False)
    is_supplier = serializers.BooleanField(required=False)
    is_employee = serializers.BooleanField(required=False)
    is_prospect = serializers.BooleanField(required=False)
    website = serializers.CharField(max_length=300, allow_blank=True, required=False)
    vat = serializers.CharField(max_length=40, allow_blank=True, required=False)
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, allow_blank=True, required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, allow_blank=True, required=False)
    channel = serializers.ChoiceField(
        choices=Partner.Channel.choices, allow_blank=True, required=False
    )
    state_of_mind = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=0,
        max_value=1,
        allow_null=True,
        required=False,
        coerce_to_string=False,
        help_text="0 (unhappy) to 1 (delighted).",
    )
    notes = serializers.CharField(allow_blank=True, required=False, trim_whitespace=False)
    emails = WholeItemsListField(child=EmailSerializer(), max_length=MAX_EMAILS, required=False)
    phones = WholeItemsListField(child=PhoneSerializer(), max_length=MAX_PHONES, required=False)
    addresses = WholeItemsListField(
        child=AddressSerializer(), max_length=MAX_ADDRESSES, required=False
    )
    categories = CategoryIdsField(max_length=MAX_CATEGORIES, required=False)
    companies = WholeItemsListField(
        child=MembershipInputSerializer(),
        max_length=MAX_COMPANIES,
        required=False,
        help_text="Only when creating a person: the companies they are a contact of.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.partial and "companies" in attrs:
            raise serializers.ValidationError(
                {"companies": "Companies can be given only when a person is created."}
            )
        return attrs

    def service_kwargs(self) -> dict[str, Any]:
        """The validated data as keyword arguments of ``partner_create``/``partner_update``."""
        data = dict(self.validated_data)
        if "emails" in data:
            data["emails"] = [_email_input(row) for row in data["emails"]]
        if "phones" in data:
            data["phones"] = [_phone_input(row) for row in data["phones"]]
        if "addresses" in data:
            data["addresses"] = [AddressInput(**row) for row in data["addresses"]]
        if "companies" in data:
            data["companies"] = [MembershipInput(**row) for row in data["companies"]]
        return data


def _email_input(row: dict[str, Any]) -> EmailInput:
    return EmailInput(email=row["email"], kind=row["kind"], primary=row["is_primary"])


def _phone_input(row: dict[str, Any]) -> PhoneInput:
    return PhoneInput(number=row["number"], kind=row["kind"], primary=row["is_primary"])


class NoteSerializer(StrictSerializer):
    body = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="Up to 20,000 characters."
    )
    visibility = serializers.ChoiceField(
        choices=TimelineEntry.Visibility.choices, default=TimelineEntry.Visibility.INTERNAL
    )


class MergeSerializer(StrictSerializer):
    drop = partner_id_field(
        help_text="The partner to fold into this one; it is archived and points here."
    )


# --------------------------------------------------------------------------
# Reading partners


class CategorySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    parent = serializers.IntegerField(  # type: ignore[assignment]  # not Field.parent
        source="parent_id", read_only=True, allow_null=True
    )
    path = serializers.SerializerMethodField(
        help_text='The full path, "Industry / Manufacturing / Automotive".'
    )

    def get_path(self, category: Category) -> str:
        paths: dict[int, str] = self.context.get("category_paths", {})
        return paths.get(category.pk, category.name)


class PartnerCategorySerializer(CategorySerializer):
    """A category on a partner: the list reads only id and name, so no parent here."""

    parent = None  # type: ignore[assignment]  # drops the inherited field


class PartnerRefSerializer(serializers.Serializer):
    """Another partner, named where it is mentioned."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text="company or person")
    name = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, partner: Partner) -> str:
        return partner_url(partner.pk, self.context.get("request"))


class _MembershipBase(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    job_title = serializers.CharField(read_only=True)
    department = serializers.CharField(read_only=True)
    work_email = serializers.CharField(read_only=True)
    work_phone = serializers.CharField(read_only=True, help_text="E.164.")
    work_phone_display = serializers.CharField(read_only=True)


class CompanyMembershipSerializer(_MembershipBase):
    """A company this person is a contact of."""

    company = PartnerRefSerializer(read_only=True)


class MemberSerializer(_MembershipBase):
    """A person who is a contact of this company."""

    person = PartnerRefSerializer(read_only=True)


class PartnerSummarySerializer(serializers.Serializer):
    """A row of the partner list."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    kind = serializers.CharField(read_only=True, help_text="company or person")
    name = serializers.CharField(read_only=True)
    roles = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Any of customer, supplier, employee, prospect.",
    )
    email = serializers.CharField(read_only=True, help_text="The primary email address.")
    phone = serializers.CharField(read_only=True, help_text="The primary phone number, E.164.")
    phone_display = serializers.CharField(read_only=True)
    city = serializers.CharField(read_only=True)
    country = serializers.CharField(read_only=True, help_text="ISO 3166 code.")
    active = serializers.BooleanField(read_only=True, help_text="False once archived.")
    categories = PartnerCategorySerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_url(self, partner: Partner) -> str:
        return partner_url(partner.pk, self.context.get("request"))


class PartnerActionsSerializer(serializers.Serializer):
    """What the requesting user's role allows on partners, for showing the right buttons."""

    change = serializers.BooleanField(read_only=True)
    note = serializers.BooleanField(read_only=True)
    archive = serializers.BooleanField(read_only=True, help_text="Archive and restore.")
    merge = serializers.BooleanField(read_only=True)


class PartnerDetailSerializer(PartnerSummarySerializer):
    """Everything about one partner.

    The context holds ``category_paths`` and ``allowed`` (``PartnerActionsSerializer``'s
    keys, each true or false).
    """

    parent = PartnerRefSerializer(read_only=True, allow_null=True)
    is_customer = serializers.BooleanField(read_only=True)
    is_supplier = serializers.BooleanField(read_only=True)
    is_employee = serializers.BooleanField(read_only=True)
    is_prospect = serializers.BooleanField(read_only=True)
    website = serializers.CharField(read_only=True)
    vat = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
    state_of_mind = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=0,
        max_value=1,
        coerce_to_string=False,
        read_only=True,
        allow_null=True,
    )
    notes = serializers.CharField(read_only=True)
    merged_into = PartnerRefSerializer(
        read_only=True, allow_null=True, help_text="Set once merged into another partner."
    )
    emails = EmailSerializer(many=True, read_only=True)
    phones = PhoneSerializer(many=True, read_only=True)
    addresses = AddressSerializer(many=True, read_only=True)
    memberships = CompanyMembershipSerializer(
        many=True, read_only=True, help_text="For a person: the companies they work with."
    )
    members = MemberSerializer(many=True, read_only=True, help_text="For a company: its contacts.")
    subsidiaries = PartnerRefSerializer(many=True, read_only=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    allowed = serializers.SerializerMethodField()

    @extend_schema_field(PartnerActionsSerializer)
    def get_allowed(self, partner: Partner) -> dict[str, bool]:
        return dict(self.context["allowed"])


class ChangeSerializer(serializers.Serializer):
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]  # not Field.label
    old = serializers.CharField(read_only=True)
    new = serializers.CharField(read_only=True)


class TimelineEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=TimelineEntry.Kind.choices, read_only=True)
    action = serializers.CharField(read_only=True, help_text="created, updated, archived, …")
    author = UserRefSerializer(read_only=True, allow_null=True)
    body = serializers.CharField(read_only=True)
    changes = ChangeSerializer(many=True, read_only=True, help_text="Field, old → new.")
    visibility = serializers.ChoiceField(choices=TimelineEntry.Visibility.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


# --------------------------------------------------------------------------
# Pages


class _PageSerializer(serializers.Serializer):
    next = serializers.URLField(
        read_only=True, allow_null=True, help_text="The next page, or null on the last one."
    )
    previous = serializers.URLField(
        read_only=True, allow_null=True, help_text="The previous page, or null on the first."
    )


class PartnerPageSerializer(_PageSerializer):
    results = PartnerSummarySerializer(many=True, read_only=True)


class TimelinePageSerializer(_PageSerializer):
    results = TimelineEntrySerializer(many=True, read_only=True)


class CategoryListSerializer(serializers.Serializer):
    results = CategorySerializer(many=True, read_only=True)
