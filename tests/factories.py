"""factory_boy factories. Partners are built through the services, like real ones."""

from __future__ import annotations

from typing import Any

import factory

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.accounts.services import user_create
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
