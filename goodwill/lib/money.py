"""Currencies (ISO 4217), their minor units, and rounding amounts of money to them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# The currencies Goodwill offers in choice lists: the world's most traded, plus
# those of every EU/EEA member and of the larger economies of each continent.
CURRENCIES: dict[str, str] = {
    "AED": "UAE dirham",
    "ARS": "Argentine peso",
    "AUD": "Australian dollar",
    "BGN": "Bulgarian lev",
    "BRL": "Brazilian real",
    "CAD": "Canadian dollar",
    "CHF": "Swiss franc",
    "CLP": "Chilean peso",
    "CNY": "Chinese yuan",
    "COP": "Colombian peso",
    "CZK": "Czech koruna",
    "DKK": "Danish krone",
    "EGP": "Egyptian pound",
    "EUR": "Euro",
    "GBP": "Pound sterling",
    "HKD": "Hong Kong dollar",
    "HUF": "Hungarian forint",
    "IDR": "Indonesian rupiah",
    "ILS": "Israeli new shekel",
    "INR": "Indian rupee",
    "ISK": "Icelandic króna",
    "JPY": "Japanese yen",
    "KES": "Kenyan shilling",
    "KRW": "South Korean won",
    "MAD": "Moroccan dirham",
    "MXN": "Mexican peso",
    "MYR": "Malaysian ringgit",
    "NGN": "Nigerian naira",
    "NOK": "Norwegian krone",
    "NZD": "New Zealand dollar",
    "PEN": "Peruvian sol",
    "PHP": "Philippine peso",
    "PLN": "Polish złoty",
    "RON": "Romanian leu",
    "RSD": "Serbian dinar",
    "SAR": "Saudi riyal",
    "SEK": "Swedish krona",
    "SGD": "Singapore dollar",
    "THB": "Thai baht",
    "TRY": "Turkish lira",
    "TWD": "New Taiwan dollar",
    "UAH": "Ukrainian hryvnia",
    "USD": "US dollar",
    "VND": "Vietnamese đồng",
    "ZAR": "South African rand",
}

CURRENCY_CHOICES = [(code, f"{code} — {name}") for code, name in CURRENCIES.items()]

# ISO 4217 minor units (the number of decimals) of the currencies above that do
# not use two. Every other currency in CURRENCIES has two, including those whose
# smallest coin is out of use (COP, HUF, IDR, RSD, TWD): ISO still lists two.
_MINOR_UNITS_NOT_TWO: dict[str, int] = {
    "CLP": 0,
    "ISK": 0,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
}


def minor_units(currency: str) -> int:
    """The number of decimals of *currency* (ISO 4217): 2 for EUR, 0 for JPY."""
    if currency not in CURRENCIES:
        raise ValueError(
            f"Unknown currency {currency!r}: expected an ISO 4217 code Goodwill knows."
        )
    return _MINOR_UNITS_NOT_TWO.get(currency, 2)


def money_round(amount: Decimal, currency: str) -> Decimal:
    """*amount* rounded half up (away from zero) to the minor unit of *currency*.

    Only ``Decimal`` is accepted: a float has already lost the cents it seems to
    hold (``2.675`` is ``2.67499…``), so it is refused with ``TypeError``. The
    result always has exactly ``minor_units(currency)`` decimals, and is never
    a negative zero.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"money_round() takes a Decimal, not {type(amount).__name__}.")
    if not amount.is_finite():
        raise ValueError(f"Cannot round {amount} as an amount of money.")
    exponent = Decimal(1).scaleb(-minor_units(currency))
    rounded = amount.quantize(exponent, rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def money_format(amount: Decimal, currency: str) -> str:
    """*amount* rounded to *currency* and written with thousands separators and
    the code: ``1,234.50 EUR``, ``-1,235 JPY``. Locale-neutral, for exports,
    logs and messages; templates localise on their own."""
    return f"{money_round(amount, currency):,} {currency}"
