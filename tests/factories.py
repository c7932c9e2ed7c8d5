"""factory_boy factories. Partners are built through the services, like real ones."""

from __future__ import annotations

from typing import Any

import factory

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.accounts.services import user_create
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, CaseType, Section, Stage
from goodwill.partners import services
from goodwill.partners.models import Category, Partner

PASSWORD = "correct-horse-battery"


class UserFactory(factory.Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    roles: list[Role] = []

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return user_create(password=PASSWORD, **kwargs)

    @classmethod
    def _build(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        kwargs.pop("roles", None)
        return model_class(*args, **kwargs)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None


def _system_user() -> User:
    user = User.objects.filter(username="factory-bot").first()
    return user or user_create(username="factory-bot", password=None, roles=[Role.ADMINISTRATOR])


class PartnerFactory(factory.Factory):
    """``PartnerFactory(name=..., emails=["a@b.c"], phones=["+44…"], city="Paris")``.

    ``city`` (with ``country``) becomes an address; other keywords go to the service."""

    class Meta:
        model = Partner

    kind = Partner.Kind.COMPANY
    name = factory.Sequence(lambda n: f"Partner {n:05d}")
    emails: list[str] = []
    phones: list[str] = []
    city = ""
    country = ""

    @classmethod
    def _create(cls, model_class: type[Partner], *args: Any, **kwargs: Any) -> Partner:
        by = kwargs.pop("by", None) or _system_user()
        emails = [services.EmailInput(email=e) for e in kwargs.pop("emails", [])]
        phones = [services.PhoneInput(number=p) for p in kwargs.pop("phones", [])]
        city, country = kwargs.pop("city", ""), kwargs.pop("country", "")
        addresses = [services.AddressInput(city=city, country=country)] if city else []
        return services.partner_create(
            by=by, emails=emails, phones=phones, addresses=addresses, **kwargs
        )


class PersonFactory(PartnerFactory):
    kind = Partner.Kind.PERSON
    name = factory.Sequence(lambda n: f"Person {n:05d}")


class SectionFactory(factory.django.DjangoModelFactory):
    """A section with two stages ("New", "Doing") unless ``stages=[...]`` says otherwise."""

    class Meta:
        model = Section
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Section {n}")
    code = factory.Sequence(lambda n: f"S{n}")
    visibility = Section.Visibility.PUBLIC

    @factory.post_generation
    def stages(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if not create:
            return
        for sequence, name in enumerate(extracted or ["New", "Doing"], start=1):
            Stage.objects.create(section=self, name=name, sequence=sequence * 10)

    @factory.post_generation
    def members(self, create: bool, extracted: list[User] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.members.set(extracted)


def case_type(code: str = "helpdesk") -> CaseType:
    """One of the seeded case types: helpdesk, claim, lead, opportunity, bug,
    service, expense, call, meeting."""
    return CaseType.objects.get(code=code)


class CaseFactory(factory.Factory):
    """``CaseFactory(subject=..., section=..., type="opportunity", state="open", by=user)``.

    Goes through ``case_create`` (and ``case_set_state`` for another state), so
    the number, the stage and the timeline are as the services leave them."""

    class Meta:
        model = Case

    subject = factory.Sequence(lambda n: f"Case subject {n}")

    @classmethod
    def _create(cls, model_class: type[Case], *args: Any, **kwargs: Any) -> Case:
        by = kwargs.pop("by", None) or _system_user()
        state = kwargs.pop("state", "draft")
        kwargs["case_type"] = case_type(kwargs.pop("type", "helpdesk"))
        if "section" not in kwargs:
            kwargs["section"] = SectionFactory()
        case = case_services.case_create(by=by, values=kwargs)
        path = {
            "draft": [],
            "open": ["open"],
            "pending": ["open", "pending"],
            "done": ["open", "close"],
            "cancel": ["cancel"],
        }[state]
        for action in path:
            case = case_services.case_set_state(case=case, by=by, action=action)
        case.refresh_from_db()
        return case
