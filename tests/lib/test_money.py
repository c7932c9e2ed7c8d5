from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goodwill.lib.money import CURRENCIES, minor_units, money_format, money_round

ZERO_DECIMAL = {"CLP", "ISK", "JPY", "KRW", "VND"}


def test_minor_units_follow_iso_4217() -> None:
    """Yen, won, Chilean peso, króna and đồng have no decimals; every other
    currency Goodwill offers has two (ISO still lists two for COP, HUF, IDR…)."""
    for code in CURRENCIES:
        assert minor_units(code) == (0 if code in ZERO_DECIMAL else 2), code
    assert minor_units("EUR") == 2
    assert minor_units("HUF") == 2
    assert minor_units("JPY") == 0


def test_minor_units_refuses_an_unknown_currency() -> None:
    with pytest.raises(ValueError, match=r"Unknown currency 'XXX': expected an ISO 4217 code"):
        minor_units("XXX")
    with pytest.raises(ValueError, match="Unknown currency 'eur'"):
        minor_units("eur")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.675", "EUR", "2.68"),  # exactly half: up, where a float would give 2.67
        ("2.665", "EUR", "2.67"),
        ("2.6749", "EUR", "2.67"),
        ("-2.675", "EUR", "-2.68"),  # half away from zero
        ("10", "EUR", "10.00"),
        ("1E+3", "USD", "1000.00"),
        ("1234.5", "JPY", "1235"),
        ("1234.4999", "KRW", "1234"),
        ("-0.5", "JPY", "-1"),
        ("0.4", "ISK", "0"),
        ("-0.001", "EUR", "0.00"),  # never a negative zero
    ],
)
def test_money_round(amount: str, currency: str, expected: str) -> None:
    """Rounds half up (away from zero) to exactly the currency's decimals."""
    result = money_round(Decimal(amount), currency)
    assert str(result) == expected


def test_money_round_refuses_floats_and_other_types() -> None:
    with pytest.raises(TypeError, match="money_round\\(\\) takes a Decimal, not float"):
        money_round(2.675, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not int"):
        money_round(3, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not str"):
        money_round("3", "EUR")  # type: ignore[arg-type]


def test_money_round_refuses_non_finite_amounts_and_unknown_currencies() -> None:
    with pytest.raises(ValueError, match="Cannot round NaN"):
        money_round(Decimal("NaN"), "EUR")
    with pytest.raises(ValueError, match="Cannot round Infinity"):
        money_round(Decimal("Infinity"), "EUR")
    with pytest.raises(ValueError, match="Unknown currency 'XYZ'"):
        money_round(Decimal(1), "XYZ")


def test_money_format() -> None:
    """Rounded, grouped by thousands, followed by the code."""
    assert money_format(Decimal("1234.5"), "EUR") == "1,234.50 EUR"
    assert money_format(Decimal("1234567.891"), "USD") == "1,234,567.89 USD"
    assert money_format(Decimal("-1234.5"), "JPY") == "-1,235 JPY"
    assert money_format(Decimal(0), "CHF") == "0.00 CHF"


amounts = st.decimals(
    min_value=Decimal("-1E12"),
    max_value=Decimal("1E12"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)
currencies = st.sampled_from(sorted(CURRENCIES))


@given(amounts, currencies)
def test_money_round_is_idempotent(amount: Decimal, currency: str) -> None:
    once = money_round(amount, currency)
    assert money_round(once, currency) == once
    assert str(money_round(once, currency)) == str(once)


@given(amounts, currencies)
def test_money_round_keeps_exactly_the_minor_units(amount: Decimal, currency: str) -> None:
    exponent = money_round(amount, currency).as_tuple().exponent
    assert exponent == -minor_units(currency)


@given(amounts, currencies)
def test_money_round_moves_by_at_most_half_a_minor_unit(amount: Decimal, currency: str) -> None:
    half_unit = Decimal(1).scaleb(-minor_units(currency)) / 2
    assert abs(money_round(amount, currency) - amount) <= half_unit


small_steps = st.decimals(min_value=0, max_value=Decimal("1.5"), places=6)


@given(amounts, st.one_of(small_steps, amounts.map(abs)), currencies)
def test_money_round_is_monotonic(x: Decimal, step: Decimal, currency: str) -> None:
    """x ≤ y ⇒ round(x) ≤ round(y); small steps land on both sides of a half unit."""
    y = x + step
    assert money_round(x, currency) <= money_round(y, currency)
