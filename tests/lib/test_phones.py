import pytest
from django.core.exceptions import ValidationError

from goodwill.lib.emailaddr import email_normalise
from goodwill.lib.phones import (
    phone_display,
    phone_normalise,
    phone_query_digits,
    phone_search_terms,
)


def test_phone_is_read_in_its_region_and_stored_as_e164() -> None:
    assert phone_normalise("030 1234567", region="DE") == "+49301234567"
    assert phone_normalise("+44 20 7946 0958", region="DE") == "+442079460958"
    assert phone_normalise("0044 20 7946 0958", region="DE") == "+442079460958"
    assert phone_display("+442079460958") == "+44 20 7946 0958"


@pytest.mark.parametrize("raw", ["", "abc", "12", "+49 1"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        phone_normalise(raw, region="DE")


def test_search_terms_cover_international_and_national_forms() -> None:
    assert phone_search_terms("+49301234567") == ["49301234567", "0301234567"]
    assert phone_query_digits("+49 (30) 123-45") == "493012345"
    assert phone_query_digits("acme") is None
    assert phone_query_digits("12") is None


def test_email_is_validated_offline_and_lowercased() -> None:
    assert email_normalise(" Pat.Doe@Example.COM ") == "pat.doe@example.com"
    assert email_normalise("zoë@bücher.example") == "zoë@bücher.example"
    for bad in ["", "pat", "pat@", "@example.com", "pat doe@example.com"]:
        with pytest.raises(ValidationError):
            email_normalise(bad)
