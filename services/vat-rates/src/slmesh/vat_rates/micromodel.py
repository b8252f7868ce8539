"""GetAllTaxRatesByCountry: EU VAT rates, answered by a plain lookup.

Deterministic on purpose: where the answer is clear-cut, a plain service is
exact, instant and costs no model time.
"""

from __future__ import annotations

from slmesh.runtime.micromodel import Micromodel
from slmesh.vat_rates.rates import VatRates, VatRatesQuery, VatRateTable, describe
from slmesh.vat_rates.routing import ROUTING


def build() -> Micromodel[VatRatesQuery, VatRates]:
    table = VatRateTable.load()
    return Micromodel(
        name="vat-rates",
        description=(
            "GetAllTaxRatesByCountry: standard and reduced VAT rates of an EU member state "
            "(ISO 3166-1 alpha-2 code), or of all 27 with country='all'."
        ),
        input_model=VatRatesQuery,
        output_model=VatRates,
        handler=table.lookup,
        summarize=describe,
        # An in-memory lookup of microseconds: cheaper on the loop than a thread hop.
        blocking=False,
        routing=ROUTING,
    )
