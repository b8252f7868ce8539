"""How the planner routes VAT questions here: the words of a VAT question, and how people
name the EU member states (English, native and colloquial names, adjectives, regions).

Carried by the registry card: the orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import ArgumentReading, Routing, RoutingExample

# ISO 3166-1 alpha-2 code -> names and adjectives a request may use (lower case).
MEMBER_STATES: dict[str, list[str]] = {
    "AT": ["austria", "austrian", "österreich", "oesterreich"],
    "BE": ["belgium", "belgian", "belgië", "belgique", "belgien"],
    "BG": ["bulgaria", "bulgarian", "bălgarija"],
    "HR": ["croatia", "croatian", "hrvatska"],
    "CY": ["cyprus", "cypriot", "kypros"],
    "CZ": ["czechia", "czech republic", "czech", "česko", "česká republika"],
    "DK": ["denmark", "danish", "danmark"],
    "EE": ["estonia", "estonian", "eesti"],
    "FI": ["finland", "finnish", "suomi"],
    "FR": ["france", "french"],
    "DE": ["germany", "german", "deutschland"],
    "GR": ["greece", "greek", "hellas", "ellada", "ελλάδα"],
    "HU": ["hungary", "hungarian", "magyarország", "magyarorszag"],
    "IE": ["ireland", "irish", "éire", "eire", "republic of ireland"],
    "IT": ["italy", "italian", "italia"],
    "LV": ["latvia", "latvian", "latvija"],
    "LT": ["lithuania", "lithuanian", "lietuva"],
    "LU": ["luxembourg", "luxembourgish", "luxemburg", "lëtzebuerg"],
    "MT": ["malta", "maltese"],
    "NL": ["netherlands", "the netherlands", "holland", "dutch", "nederland"],
    "PL": ["poland", "polish", "polska"],
    "PT": ["portugal", "portuguese"],
    "RO": ["romania", "romanian", "românia"],
    "SK": ["slovakia", "slovak", "slovensko"],
    "SI": ["slovenia", "slovenian", "slovenija"],
    "ES": ["spain", "spanish", "españa", "espana"],
    "SE": ["sweden", "swedish", "sverige"],
}

# Names for several member states at once.
# Bulgaria adopted the euro on 1 January 2026.
EURO_AREA = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PT",
    "SK",
    "SI",
    "ES",
]

BENELUX = ["BE", "NL", "LU"]
VISEGRAD = ["CZ", "HU", "PL", "SK"]

REGIONS: dict[str, list[str]] = {
    "benelux": BENELUX,
    "baltic states": ["EE", "LV", "LT"],
    "baltics": ["EE", "LV", "LT"],
    "baltic countries": ["EE", "LV", "LT"],
    "nordic": ["DK", "FI", "SE"],
    "nordics": ["DK", "FI", "SE"],
    "scandinavian": ["DK", "SE"],
    "scandinavia": ["DK", "SE"],
    "iberian": ["ES", "PT"],
    "iberia": ["ES", "PT"],
    "dach": ["DE", "AT"],
    "visegrad": VISEGRAD,
    "visegrád": VISEGRAD,
    "v4": VISEGRAD,
    "low countries": BENELUX,
    "island nations": ["CY", "MT", "IE"],
    "mediterranean islands": ["CY", "MT"],
    "island nations in the mediterranean": ["CY", "MT"],
    "island states in the mediterranean": ["CY", "MT"],
    "former yugoslav": ["SI", "HR"],
    "founding members": ["BE", "FR", "DE", "IT", "LU", "NL"],
    "founding six": ["BE", "FR", "DE", "IT", "LU", "NL"],
    "eurozone": EURO_AREA,
    "euro area": EURO_AREA,
}

ROUTING = Routing(
    kinds=[
        "VAT rates of EU member states",
        "sales tax or value added tax of a European country",
        "compare VAT between EU countries",
    ],
    keywords=[
        "vat",
        "vat rate*",
        "value added tax*",
        "value-added tax*",
        "tax rate*",
        "sales tax*",
        "mwst",
        "mehrwertsteuer",
        "umsatzsteuer",
        "tva",
        "iva",
        "btw",
        "moms",
        "alv",
        "dph",
        "áfa",
        "reduced rate*",
        "standard rate*",
    ],
    arguments={
        "country": ArgumentReading(
            read="each",
            names=MEMBER_STATES,
            groups=REGIONS,
            every=[
                "all ... eu",
                "all ... european union",
                "all ... member state*",
                "every ... eu",
                "every ... member state*",
                "each ... eu",
                "each ... member state*",
                "eu-wide",
                "eu wide",
                "whole eu",
                "entire eu",
                "across the eu",
                "all 27",
                "which eu country",
                "which eu countries",
                "which eu member state*",
                "which member state*",
            ],
            # Asked about, not served: named in the answer as such, never guessed at.
            others=[
                "united kingdom",
                "uk",
                "britain",
                "great britain",
                "england",
                "scotland",
                "wales",
                "northern ireland",
                "norway",
                "switzerland",
                "swiss",
                "iceland",
                "liechtenstein",
                "turkey",
                "türkiye",
                "serbia",
                "ukraine",
                "albania",
                "united states",
                "usa",
                "canada",
                "japan",
                "china",
                "india",
                "australia",
            ],
            codes=True,
            called="EU member state",
        )
    },
    examples=[
        RoutingExample(request="What is the VAT rate in Germany?", calls=[{"country": "DE"}]),
        RoutingExample(
            request="Standard and reduced VAT for France and Italy",
            calls=[{"country": "FR"}, {"country": "IT"}],
        ),
        RoutingExample(
            request="How much sales tax do Danish shops charge?", calls=[{"country": "DK"}]
        ),
        RoutingExample(request="MwSt in Österreich?", calls=[{"country": "AT"}]),
        RoutingExample(
            request="VAT rates of the Benelux countries",
            calls=[{"country": "BE"}, {"country": "NL"}, {"country": "LU"}],
        ),
        RoutingExample(request="VAT for AT and BE", calls=[{"country": "AT"}, {"country": "BE"}]),
    ],
    # A later round names the country in its results ("the invoice is from Germany").
    results_as="words",
)
