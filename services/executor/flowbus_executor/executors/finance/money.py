"""Money: Decimal amounts in ISO 4217 currencies, never floats.

Storage choice: the finance tables keep amounts as BIGINT *minor units* of the row's
currency (cents for USD, yen for JPY, fils for KWD), so sums are exact integers on every
backend (SQLite has no exact decimal type). Python code works with Decimal; outputs carry
amounts as strings ("1234.56") so JSON keeps them exact.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flowbus_executor.amounts import AmountError
from flowbus_executor.amounts import parse_amount as read_amount

ZERO = Decimal(0)
CENT = Decimal("0.01")


def _codes(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[A-Z]{3}", text))


# Active ISO 4217 codes (2025).
CURRENCIES = _codes(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """
)
# Currencies whose minor unit is not the cent (ISO 4217 exponent); every other one has 2.
_EXPONENTS = {
    **dict.fromkeys(_codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"), 0),
    **dict.fromkeys(_codes("BHD IQD JOD KWD LYD OMR TND"), 3),
}
# Symbols as printed on documents; the bare "$" is read as USD unless a prefix says otherwise.
SYMBOLS = {
    "US$": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "MX$": "MXN",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "CHF": "CHF",
}
# Where the written convention is "1.234,56" (used only when the document itself does not tell).
DECIMAL_COMMA_CURRENCIES = _codes("EUR DKK NOK SEK ISK PLN CZK HUF RON BGN TRY BRL ARS IDR")

_NUMBER = re.compile(r"\d[\d.,' ]*\d|\d")


class MoneyError(ValueError):
    """An amount or currency that cannot be used as money."""


def currency_code(value: object) -> str:
    """`value` as an ISO 4217 code, or MoneyError."""
    code = str(value or "").strip().upper()
    if code not in CURRENCIES:
        raise MoneyError(f"{value!r} is not an ISO 4217 currency code")
    return code


def exponent(currency: str) -> int:
    """Digits after the decimal point of the currency's minor unit."""
    return _EXPONENTS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Rounded half-up to the currency's minor unit (the usual commercial rounding)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact minor units; MoneyError when `amount` has finer precision than the currency allows."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(int(units)).scaleb(-exponent(currency)).quantize(quantum(currency))


def money_str(amount: Decimal, currency: str | None = None) -> str:
    """Plain decimal text: at least the currency's decimals, more when the amount has them
    (a unit price of 0.125 stays 0.125)."""
    places = exponent(currency) if currency else 2
    exp = amount.as_tuple().exponent
    if isinstance(exp, int) and -exp > places:
        places = -exp
    return f"{amount:.{places}f}"


def to_decimal(value: object) -> Decimal:
    """A config value (string, int, or a JSON float taken at its shortest repr) as Decimal."""
    try:
        return read_amount(value)
    except AmountError:
        raise MoneyError(f"{value!r} is not an amount") from None


def parse_amount(text: str, *, decimal_comma: bool) -> Decimal:
    """An amount as printed ("$1,234.56", "1.234,56 €", "(12.00)", "-5"), or MoneyError."""
    raw = text.strip()
    negative = raw.startswith(("-", "(", "\u2212")) or raw.endswith(("-", ")"))
    match = _NUMBER.search(raw)
    if match is None:
        raise MoneyError(f"{text!r} is not an amount")
    digits = match.group().replace(" ", "").replace("'", "")
    digits = digits.replace(".", "").replace(",", ".") if decimal_comma else digits.replace(",", "")
    try:
        number = Decimal(digits)
    except InvalidOperation:
        raise MoneyError(f"{text!r} is not an amount") from None
    return -number if negative else number


def decimal_comma_evidence(text: str) -> int:
    """Positive when the text writes amounts as 1.234,56, negative for 1,234.56, 0 when it does
    not tell: only a final separator followed by exactly two digits is evidence."""
    score = 0
    for match in re.finditer(r"\d[.,]\d{2}(?![\d.,])", text):
        score += 1 if match.group()[1] == "," else -1
    return score
