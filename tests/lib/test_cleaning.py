from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from goodwill.lib import cleaning


def _messages(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return exc.value.messages


def test_clean_all_collects_every_error_by_field() -> None:
    cleaned, errors = cleaning.clean_all(
        {"name": " Spring   fair ", "active": "yes", "day": "soon"},
        {
            "name": lambda v: cleaning.text(v, label="name", max_length=20),
            "active": cleaning.boolean,
            "day": lambda v: cleaning.date(v, label="day"),
        },
    )
    assert cleaned == {"name": "Spring fair"}
    assert errors == {
        "active": ["Must be true or false."],
        "day": ["Enter the day as a date (YYYY-MM-DD)."],
    }


def test_check_keys_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError) as exc:
        cleaning.check_keys({"name": "x", "colour": "red", "age": 3}, ("name",), "product")
    assert _messages(exc) == ["Unknown product fields: age, colour."]


def test_require_names_each_missing_field() -> None:
    errors: cleaning.Errors = {"name": ["Enter a name."]}
    cleaning.require({"name": ""}, ("name", "valid_from"), "A rate", errors)
    assert errors == {"name": ["Enter a name."], "valid_from": ["A rate needs a valid from."]}
    with pytest.raises(ValidationError) as exc:
        cleaning.raise_if(errors)
    assert exc.value.message_dict == errors
    cleaning.raise_if({})  # nothing to raise


def test_text_folds_white_space_and_checks_length() -> None:
    assert cleaning.text("  a \n b ", label="name", max_length=3) == "a b"
    assert cleaning.text(None, label="name", max_length=3, required=False) == ""
    with pytest.raises(ValidationError, match="Enter a name"):
        cleaning.text(" ", label="name", max_length=3)
    with pytest.raises(ValidationError) as exc:
        cleaning.text("abcd", label="name", max_length=3)
    assert _messages(exc) == ["Keep the name to 3 characters (it has 4)."]


def test_description_may_be_empty_but_not_too_long() -> None:
    assert cleaning.description(None) == ""
    assert cleaning.description(" two\nlines ") == "two\nlines"
    with pytest.raises(ValidationError) as exc:
        cleaning.description("x" * 5_001)
    assert _messages(exc) == ["Keep the description to 5,000 characters (it has 5,001)."]


@pytest.mark.parametrize("value", ["", "2026-02-30", "tomorrow"])
def test_date_refuses_what_is_not_a_date(value: str) -> None:
    with pytest.raises(ValidationError):
        cleaning.date(value, label="start date")


def test_date_reads_iso_text_and_refuses_a_time() -> None:
    assert cleaning.date(" 2026-03-01 ", label="day") == datetime.date(2026, 3, 1)
    assert cleaning.date("", label="day", required=False) is None
    with pytest.raises(ValidationError, match="without a time"):
        cleaning.date(datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC), label="day")


@pytest.mark.parametrize("value", ["0.5", "", None, True, 1.5, "NaN", "lots", "10.01"])
def test_decimal_refuses_what_is_not_a_number_in_range(value: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        cleaning.decimal(
            value, minimum=Decimal(1), maximum=Decimal(10), places=2, message="Enter 1 to 10."
        )
    assert _messages(exc) == ["Enter 1 to 10."]


def test_decimal_says_when_a_number_is_too_large_or_too_precise() -> None:
    with pytest.raises(ValidationError) as exc:
        cleaning.decimal("10.01", maximum=Decimal(10), places=2, message="?", too_large="Big.")
    assert _messages(exc) == ["Big."]
    with pytest.raises(ValidationError) as exc:
        cleaning.decimal("1.234", maximum=Decimal(10), places=2, message="?")
    assert _messages(exc) == ["Use at most 2 decimals."]
    with pytest.raises(ValidationError) as exc:
        cleaning.decimal("1.234", maximum=Decimal(10), places=2, message="?", too_precise="Hm.")
    assert _messages(exc) == ["Hm."]


def test_decimal_keeps_the_exact_value() -> None:
    number = cleaning.decimal(" 9.50 ", maximum=Decimal(10), places=2, message="?")
    assert number == Decimal("9.50")
    assert str(number) == "9.50"
