"""VAT rates of the 27 EU member states: the domain part of the `vat-rates` micromodel.

The micromodel is deterministic: it answers "GetAllTaxRatesByCountry" from a
packaged copy of the public `ibericode/vat-rates` data set (see `data/README.md`),
never from a language model, so the answer is reproducible and citable. The
models below are also the wire contract: their field descriptions and examples
flow into the JSON Schema / AsyncAPI documents, and `CountryCode` becomes an
enum from which a constrained-decoding grammar is built.
"""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

# A Literal rather than a str with a pattern so that the JSON Schema is a closed
# `enum`: a grammar built from it can only ever produce one of these 27 codes.
# Order: the EU's protocol order (alphabetical by English name), which is also
# the order in which "all" lists the countries.
CountryCode = Literal[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]  # fmt: skip

# Nested Literals flatten (PEP 586), so this is one 28-value enum in the JSON
# Schema rather than an `anyOf` of an enum and a const: simpler for a grammar.
CountryOrAll = Literal[CountryCode, "all"]

# ISO 3166-1 alpha-2 code -> English short name, in `CountryCode` order.
EU_MEMBER_STATES: Final[dict[str, str]] = {
    "AT": "Austria",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "HR": "Croatia",
    "CY": "Cyprus",
    "CZ": "Czechia",
    "DK": "Denmark",
    "EE": "Estonia",
    "FI": "Finland",
    "FR": "France",
    "DE": "Germany",
    "GR": "Greece",
    "HU": "Hungary",
    "IE": "Ireland",
    "IT": "Italy",
    "LV": "Latvia",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "MT": "Malta",
    "NL": "Netherlands",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SK": "Slovakia",
    "SI": "Slovenia",
    "ES": "Spain",
    "SE": "Sweden",
}

MEMBER_STATE_CODES: Final[tuple[CountryCode, ...]] = get_args(CountryCode)

# The two lists above are written out twice (a Literal cannot be built from a
# dict and still type-check), so fail at import rather than drift apart silently.
if tuple(EU_MEMBER_STATES) != MEMBER_STATE_CODES:  # pragma: no cover
    raise RuntimeError("EU_MEMBER_STATES and CountryCode disagree")

# Greece's VAT code (used by VIES and some data sets) differs from its ISO code.
_VAT_CODE_ALIASES: Final[dict[str, CountryCode]] = {"EL": "GR"}

# Facts about the packaged copy that the file itself does not carry.
SOURCE: Final = "ibericode/vat-rates (https://github.com/ibericode/vat-rates), commit 5abb1e1, MIT"
SOURCE_DATE: Final = date(2025, 8, 12)

_DATA_PACKAGE: Final = "slmesh.vat_rates"
_DATA_FILE: Final = "data/vat-rates.json"


class VatRatesQuery(BaseModel):
    """Request of GetAllTaxRatesByCountry: one member state, or all of them."""

    # Unknown fields are an error on the wire, not silently dropped, and values
    # are immutable so a cached answer cannot be altered by a caller. (Written out
    # in each model rather than shared so the pydantic mypy plugin sees `frozen`.)
    model_config = ConfigDict(extra="forbid", frozen=True)

    country: CountryOrAll = Field(
        description='ISO 3166-1 alpha-2 code of an EU member state, or "all".',
        examples=["DE", "FR", "all"],
    )

    @field_validator("country", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        # Callers other than the grammar-constrained model (people, ERP systems)
        # write "de" or Greece's VAT code "EL"; accept those, still reject "GB".
        if not isinstance(value, str):
            return value
        code = value.strip()
        if code.lower() == "all":
            return "all"
        code = code.upper()
        return _VAT_CODE_ALIASES.get(code, code)


class CountryVatRates(BaseModel):
    """The VAT rates of one member state in one period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: CountryCode = Field(
        description="ISO 3166-1 alpha-2 code of the member state (Greece is GR, not EL).",
        examples=["DE"],
    )
    name: str = Field(description="English short name of the member state.", examples=["Germany"])
    standard: float = Field(description="Standard VAT rate, in percent.", examples=[19, 25.5])
    reduced: list[float] = Field(
        description="All reduced VAT rates, in percent, highest first; empty if none.",
        examples=[[7], [10, 5.5]],
    )
    super_reduced: float | None = Field(
        description="Super-reduced VAT rate (below 5%), in percent, or null if none.",
        examples=[2.1, None],
    )
    parking: float | None = Field(
        description="Parking VAT rate, in percent, or null if none.", examples=[13, None]
    )
    effective_from: date | None = Field(
        description=(
            "First day these rates apply, or null if the source gives no start date "
            "(in force since before the data set's history)."
        ),
        examples=["2021-01-01", None],
    )
    exceptions: list[str] = Field(
        description="Names of territories of the member state with their own VAT rates.",
        examples=[["Büsingen am Hochrhein", "Heligoland"], []],
    )


class VatRates(BaseModel):
    """Response of GetAllTaxRatesByCountry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rates: list[CountryVatRates] = Field(
        description="VAT rates of the requested member states, in protocol order.",
        examples=[
            [
                {
                    "country": "DE",
                    "name": "Germany",
                    "standard": 19,
                    "reduced": [7],
                    "super_reduced": None,
                    "parking": None,
                    "effective_from": "2021-01-01",
                    "exceptions": ["Büsingen am Hochrhein", "Heligoland"],
                }
            ]
        ],
    )
    source: str = Field(description="The data set the rates come from.", examples=[SOURCE])
    source_date: date = Field(
        description="Date of the data set: rates changed after it are not known.",
        examples=[SOURCE_DATE.isoformat()],
    )


# --- the data file ----------------------------------------------------------------------
# Private models of the file's shape. `extra="forbid"` on rates is deliberate: an
# unknown rate category in a newer copy must fail loudly rather than be dropped.


class _RawRates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    standard: float
    reduced: float | None = None
    reduced1: float | None = None
    reduced2: float | None = None
    # Estonia, from 2025-07-01: a reduced rate reserved for press publications.
    press_publications: float | None = None
    super_reduced: float | None = None
    parking: float | None = None


class _RawException(BaseModel):
    # Only the name is reported; the postcode pattern and rates of a territory
    # are not part of the answer, so tolerate whatever else an entry holds.
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str


class _RawPeriod(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    effective_from: date | None
    rates: _RawRates
    exceptions: list[_RawException] = []

    @field_validator("effective_from", mode="before")
    @classmethod
    def _year_zero(cls, value: Any) -> Any:
        # The file marks "since always" as 0000-01-01, which is not a valid date.
        return None if value == "0000-01-01" else value


class _RawFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    items: dict[str, list[_RawPeriod]]


def _country_rates(code: CountryCode, period: _RawPeriod) -> CountryVatRates:
    raw = period.rates
    candidates = (raw.reduced, raw.reduced1, raw.reduced2, raw.press_publications)
    # A set: two categories at the same rate are one rate to someone pricing a sale.
    reduced = sorted({rate for rate in candidates if rate is not None}, reverse=True)
    return CountryVatRates(
        country=code,
        name=EU_MEMBER_STATES[code],
        standard=raw.standard,
        reduced=reduced,
        super_reduced=raw.super_reduced,
        parking=raw.parking,
        effective_from=period.effective_from,
        exceptions=[exception.name for exception in period.exceptions],
    )


class VatRateTable:
    """Every period of every member state, answering for the period in force on a date.

    All periods are kept (not only the current ones) so that a long-running
    service crosses a rate change at midnight without a reload.
    """

    def __init__(
        self,
        periods: Mapping[CountryCode, Sequence[CountryVatRates]],
        *,
        as_of: date | None = None,
        source: str = SOURCE,
        source_date: date = SOURCE_DATE,
    ) -> None:
        missing = [code for code in MEMBER_STATE_CODES if not periods.get(code)]
        if missing:
            raise ValueError(f"no VAT rates for EU member state(s) {', '.join(missing)}")
        # Newest first; a period without a start date is the oldest.
        self._periods: dict[CountryCode, tuple[CountryVatRates, ...]] = {
            code: tuple(
                sorted(periods[code], key=lambda p: p.effective_from or date.min, reverse=True)
            )
            for code in MEMBER_STATE_CODES
        }
        self._as_of = as_of
        self._source = source
        self._source_date = source_date

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        as_of: date | None = None,
        source: str = SOURCE,
        source_date: date = SOURCE_DATE,
    ) -> VatRateTable:
        """Read a vat-rates.json file (default: the packaged copy).

        `as_of` pins the date whose rates `lookup` answers with; left None, each
        lookup uses the current date. Raises ValueError if the file is malformed
        or lacks a member state.
        """
        if path is None:
            text = files(_DATA_PACKAGE).joinpath(_DATA_FILE).read_text(encoding="utf-8")
            origin = f"{_DATA_PACKAGE}/{_DATA_FILE}"
        else:
            text = path.read_text(encoding="utf-8")
            origin = str(path)
        try:
            items = _RawFile.model_validate(json.loads(text)).items
        except (json.JSONDecodeError, ValidationError) as error:
            raise ValueError(f"{origin} is not a valid vat-rates file: {error}") from error

        periods: dict[CountryCode, list[CountryVatRates]] = {}
        for code in MEMBER_STATE_CODES:
            # The file is keyed by ISO code (GR) but upstream has used VAT codes
            # (EL) before; take whichever is present, preferring the ISO code.
            aliases = [alias for alias, iso in _VAT_CODE_ALIASES.items() if iso == code]
            key = next((k for k in (code, *aliases) if k in items), None)
            if key is None:
                raise ValueError(
                    f"{origin} has no VAT rates for EU member state {code} "
                    f"({EU_MEMBER_STATES[code]})"
                )
            starts = [period.effective_from for period in items[key]]
            if len(set(starts)) != len(starts):
                raise ValueError(f"{origin}: {key} has two periods with the same start date")
            periods[code] = [_country_rates(code, period) for period in items[key]]
        return cls(periods, as_of=as_of, source=source, source_date=source_date)

    def rates_for(self, country: CountryCode, as_of: date | None = None) -> CountryVatRates:
        """The rates of `country` in force on `as_of` (default: the table's date, or today)."""
        day = as_of or self._as_of or date.today()
        for period in self._periods[country]:
            if period.effective_from is None or period.effective_from <= day:
                return period
        raise ValueError(f"no VAT rates known for {country} on {day.isoformat()}")

    def lookup(self, query: VatRatesQuery, as_of: date | None = None) -> VatRates:
        """Answer a query: one member state, or all 27 in `CountryCode` order."""
        codes = MEMBER_STATE_CODES if query.country == "all" else (query.country,)
        return VatRates(
            rates=[self.rates_for(code, as_of) for code in codes],
            source=self._source,
            source_date=self._source_date,
        )


# --- human summary ----------------------------------------------------------------------


def _percent(rate: float) -> str:
    # 19.0 -> "19%", 5.5 -> "5.5%"; repr is the shortest round-tripping form,
    # so a rate reads exactly as it is written in the data file.
    return f"{int(rate)}%" if rate.is_integer() else f"{rate!r}%"


def _join(rates: Sequence[float]) -> str:
    texts = [_percent(rate) for rate in rates]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} and {texts[-1]}"


def describe(rates: VatRates) -> str:
    """One line per country, e.g. `Germany (DE): standard 19%, reduced 7% (since 2021-01-01)`.

    Deterministic (the composer quotes it verbatim): rates in the order standard,
    reduced (highest first), super-reduced, parking; the start date is left out
    when the source has none.
    """
    lines = []
    for country in rates.rates:
        parts = [f"standard {_percent(country.standard)}"]
        if country.reduced:
            parts.append(f"reduced {_join(country.reduced)}")
        if country.super_reduced is not None:
            parts.append(f"super-reduced {_percent(country.super_reduced)}")
        if country.parking is not None:
            parts.append(f"parking {_percent(country.parking)}")
        since = f" (since {country.effective_from.isoformat()})" if country.effective_from else ""
        lines.append(f"{country.name} ({country.country}): {', '.join(parts)}{since}")
    return "\n".join(lines)
