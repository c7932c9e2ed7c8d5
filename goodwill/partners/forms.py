"""Forms parse and check what a person typed; the services decide and save."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django_countries import countries

from goodwill.lib.emailaddr import email_normalise
from goodwill.lib.ids import is_valid_id
from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.lib.phones import phone_normalise
from goodwill.partners.models import (
    LANGUAGE_CHOICES,
    Address,
    Category,
    Membership,
    Partner,
    PartnerEmail,
    PartnerPhone,
)
from goodwill.partners.selectors import (
    ROLE_FIELDS,
    SORTS,
    STATUSES,
    PartnerFilters,
    category_choices,
)
from goodwill.partners.services import AddressInput, EmailInput, PhoneInput

BLANK = [("", "—")]
COUNTRY_CHOICES = BLANK + [(code, name) for code, name in countries]


class PartnerChoiceWidget(forms.Select):
    """A select that renders only the chosen partner; the rest load by autocomplete.

    A plain select would print every partner in the database into the page.
    """

    def __init__(self, *, kind: str = "", attrs: dict[str, Any] | None = None) -> None:
        base = {"data-autocomplete": "partners", "data-kind": kind}
        super().__init__(attrs={**base, **(attrs or {})})

    def optgroups(self, name: str, value: list[Any], attrs: dict[str, Any] | None = None) -> Any:
        chosen = [v for v in value if is_valid_id(v)]
        partners = {str(p.pk): p for p in Partner.objects.filter(pk__in=chosen)} if chosen else {}
        options = [self.create_option(name, "", "—", not chosen, 0)]
        for index, pk in enumerate(chosen, start=1):
            partner = partners.get(str(pk))
            if partner is not None:
                options.append(self.create_option(name, str(pk), partner.name, True, index))
        return [(None, options, 0)]


class IdChoiceField(forms.ModelChoiceField):
    """A model choice that refuses ids no database column could hold (not a 500)."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not is_valid_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class PartnerChoiceField(IdChoiceField):
    def __init__(self, *, kind: str = "", **kwargs: Any) -> None:
        queryset = Partner.objects.filter(kind=kind) if kind else Partner.objects.all()
        super().__init__(queryset=queryset, widget=PartnerChoiceWidget(kind=kind), **kwargs)

    def label_from_instance(self, obj: Partner) -> str:
        return obj.name


class CategoriesField(forms.ModelMultipleChoiceField):
    """Categories labelled with their full path, "Industry / Retail"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Category.objects.all(), **kwargs)
        self.paths: dict[int, str] = {}

    def label_from_instance(self, obj: Category) -> str:
        return self.paths.get(obj.pk, obj.name)

    def clean(self, value: Any) -> Any:
        for item in value or []:
            if not is_valid_id(item):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": item},
                )
        return super().clean(value)


class PartnerForm(forms.Form):
    kind = forms.ChoiceField(choices=Partner.Kind.choices, widget=forms.RadioSelect)
    name = forms.CharField(max_length=200)
    parent = PartnerChoiceField(kind=Partner.Kind.COMPANY, required=False, label="Parent company")
    is_customer = forms.BooleanField(required=False, label="Customer")
    is_supplier = forms.BooleanField(required=False, label="Supplier")
    is_employee = forms.BooleanField(required=False, label="Employee")
    is_prospect = forms.BooleanField(required=False, label="Prospect")
    categories = CategoriesField(
        required=False, widget=forms.SelectMultiple(attrs={"data-tags": "categories"})
    )
    website = forms.CharField(max_length=300, required=False)
    vat = forms.CharField(max_length=40, required=False, label="VAT / tax id")
    language = forms.ChoiceField(choices=BLANK + LANGUAGE_CHOICES, required=False)
    currency = forms.ChoiceField(choices=BLANK + CURRENCY_CHOICES, required=False)
    channel = forms.ChoiceField(choices=BLANK + Partner.Channel.choices, required=False)
    state_of_mind = forms.DecimalField(
        min_value=0, max_value=1, decimal_places=2, required=False, help_text="0 to 1"
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(CategoriesField, self.fields["categories"]).paths = dict(category_choices())

    @classmethod
    def initial_for(cls, partner: Partner) -> dict[str, Any]:
        initial = {name: getattr(partner, name) for name in cls.base_fields if name != "categories"}
        initial["parent"] = partner.parent_id
        initial["categories"] = [c.pk for c in partner.categories.all()]
        return initial

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("categories", None)
        return data


class PersonCompanyForm(forms.Form):
    """On a new person: the company they are a contact of, and their job there."""

    company = PartnerChoiceField(kind=Partner.Kind.COMPANY, required=False, label="Contact of")
    job_title = forms.CharField(max_length=120, required=False)


class EmailRowForm(forms.Form):
    email = forms.CharField(max_length=254, required=False)
    kind = forms.ChoiceField(choices=PartnerEmail.Kind.choices, initial=PartnerEmail.Kind.WORK)
    primary = forms.BooleanField(required=False)

    def clean_email(self) -> str:
        value = self.cleaned_data["email"].strip()
        return email_normalise(value) if value else ""

    def as_input(self) -> EmailInput | None:
        data = self.cleaned_data
        if not data.get("email") or data.get("DELETE"):
            return None
        return EmailInput(email=data["email"], kind=data["kind"], primary=data["primary"])


class PhoneRowForm(forms.Form):
    number = forms.CharField(max_length=40, required=False)
    kind = forms.ChoiceField(choices=PartnerPhone.Kind.choices, initial=PartnerPhone.Kind.WORK)
    primary = forms.BooleanField(required=False)

    def __init__(self, *args: Any, region: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region or settings.PHONE_DEFAULT_REGION

    def clean_number(self) -> str:
        value = self.cleaned_data["number"].strip()
        return phone_normalise(value, region=self.region) if value else ""

    def as_input(self) -> PhoneInput | None:
        data = self.cleaned_data
        if not data.get("number") or data.get("DELETE"):
            return None
        return PhoneInput(number=data["number"], kind=data["kind"], primary=data["primary"])


class AddressRowForm(forms.Form):
    kind = forms.ChoiceField(choices=Address.Kind.choices, initial=Address.Kind.CONTACT)
    street = forms.CharField(max_length=200, required=False)
    street2 = forms.CharField(max_length=200, required=False, label="Street (line 2)")
    zip = forms.CharField(max_length=20, required=False, label="Postcode")
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=100, required=False, label="State / region")
    country = forms.ChoiceField(choices=COUNTRY_CHOICES, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        filled = any(data.get(k) for k in ("street", "street2", "zip", "city", "state"))
        if data.get("country") and not filled and not data.get("DELETE"):
            raise ValidationError("Add a street, a postcode or a city, or clear the country.")
        if data.get("street2") and not (data.get("street") or data.get("city") or data.get("zip")):
            raise ValidationError("An address needs at least a street, a postcode or a city.")
        return data

    def as_input(self) -> AddressInput | None:
        data = self.cleaned_data
        if data.get("DELETE") or not any(
            data.get(k) for k in ("street", "street2", "zip", "city", "state")
        ):
            return None
        return AddressInput(
            kind=data["kind"],
            street=data["street"],
            street2=data["street2"],
            zip=data["zip"],
            city=data["city"],
            state=data["state"],
            country=data["country"],
        )


EmailFormSet = formset_factory(
    EmailRowForm, extra=1, can_delete=True, max_num=20, validate_max=True
)
PhoneFormSet = formset_factory(
    PhoneRowForm, extra=1, can_delete=True, max_num=20, validate_max=True
)
AddressFormSet = formset_factory(
    AddressRowForm, extra=1, can_delete=True, max_num=10, validate_max=True
)


class PartnerFilterForm(forms.Form):
    """The list's query string. Bad values are reported and ignored, never a 500."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    kind = forms.ChoiceField(choices=[("", "All kinds"), *Partner.Kind.choices], required=False)
    role = forms.ChoiceField(
        choices=[("", "Any role")] + [(k, k.capitalize()) for k in ROLE_FIELDS], required=False
    )
    category = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    country = forms.ChoiceField(choices=[("", "Any country"), *list(countries)], required=False)
    status = forms.ChoiceField(
        choices=[("active", "Active"), ("archived", "Archived"), ("all", "Active and archived")],
        required=False,
    )
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False)

    def __init__(
        self, *args: Any, categories: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        category = cast(forms.TypedChoiceField, self.fields["category"])
        choices = category_choices() if categories is None else categories
        category.choices = [("", "Any category"), *choices]

    def filters(self) -> PartnerFilters:
        """The valid part of the query: each bad field falls back to its default."""
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        if data.get("status") not in STATUSES:
            data.pop("status", None)
        if data.get("sort") not in SORTS:
            data.pop("sort", None)
        return PartnerFilters.from_dict(data)


class NoteForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a note…"}),
        max_length=20_000,
        label="Note",
    )


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("categorise", "Add a category"), ("archive", "Archive")])
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)
    category = IdChoiceField(queryset=Category.objects.all(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any integer id is acceptable here; the view loads and checks them.
        ids = cast(forms.TypedMultipleChoiceField, self.fields["ids"])
        ids.valid_value = is_valid_id  # type: ignore[method-assign]
        ids.error_messages["required"] = "Select at least one partner."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "categorise" and not data.get("category"):
            self.add_error("category", "Choose the category to add.")
        return data


class MembershipForm(forms.Form):
    job_title = forms.CharField(max_length=120, required=False)
    department = forms.CharField(max_length=120, required=False)
    work_email = forms.CharField(max_length=254, required=False)
    work_phone = forms.CharField(max_length=40, required=False)

    def clean_work_email(self) -> str:
        value = self.cleaned_data["work_email"].strip()
        return email_normalise(value) if value else ""


class MembershipAddForm(MembershipForm):
    """Link a person and a company; which side is fixed comes from the page."""

    other = PartnerChoiceField(label="Partner")

    def __init__(self, *args: Any, other_kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(PartnerChoiceField, self.fields["other"])
        field.queryset = Partner.objects.filter(kind=other_kind)
        field.widget = PartnerChoiceWidget(kind=other_kind)
        field.label = "Company" if other_kind == Partner.Kind.COMPANY else "Person"
        self.order_fields(["other", "job_title", "department", "work_email", "work_phone"])


class MergeForm(forms.Form):
    other = PartnerChoiceField(label="Partner to merge into this one")
    confirm = forms.BooleanField(required=False)


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")])


def membership_initial(membership: Membership) -> dict[str, Any]:
    return {
        "job_title": membership.job_title,
        "department": membership.department,
        "work_email": membership.work_email,
        "work_phone": membership.work_phone_display,
    }
