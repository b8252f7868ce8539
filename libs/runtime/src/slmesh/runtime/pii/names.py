"""Person names: found where something says a name follows, or by a known given name.

A capitalised word is not a name by itself (every German noun is capitalised,
every English sentence starts with one), so a name is taken only:

- after a title or salutation ("Mr", "Dr.", "Herr", "Frau", "Dear", "Hallo"),
- under a closing ("Best regards,\\nJane Doe", "Mit freundlichen Grüßen\\n…"),
- after an introduction or a form label ("my name is", "ich heiße", "Name:", "Kunde:"),
- as a known given name (`data/given_names.txt`) followed by a surname,

and then every other mention of a word of a name found so is a name too. A
name is given names, then one surname (with its particles: "van der", "von");
the words after it are left alone, so "Herrn Schmidt Bescheid geben" takes
"Schmidt". German text gets the stricter reading: after a title, a word that
is not a known given name is the surname and the name ends there.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Final

from slmesh.runtime.pii.context import Language, language_of
from slmesh.runtime.pii.kinds import PiiSpan

# A word: letters, with inner apostrophes or hyphens (O'Brien, Müller-Lüdenscheid).
_WORD: Final = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*")

_TITLES: Final = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "herr", "herrn", "frau", "sir", "madam",
     "hr", "fr", "mme", "mlle", "monsieur", "madame", "signor", "signora", "señor", "señora",
     "sra", "sr", "dame", "lord", "lady", "rev", "fräulein",
     # kin and colleagues, used as titles: "Tante Erna", "Uncle Bob", "Kollegin Meier"
     "oma", "opa", "tante", "onkel", "mama", "papa", "mutti", "vati", "cousin", "cousine",
     "schwester", "bruder", "uncle", "aunt", "auntie", "grandma", "grandpa", "granny", "nana",
     "kollege", "kollegin", "familie", "family", "ehepaar", "eheleute"}
)  # fmt: skip
# Academic and professional titles between a title and the name ("Frau Dr. med. Anna Berg").
_DEGREES: Final = frozenset(
    {"dr", "prof", "med", "dent", "vet", "rer", "nat", "phil", "jur", "pol", "oec", "h", "c",
     "dipl", "ing", "mag", "habil", "dr-ing", "dipl-ing", "dipl-kfm", "ma", "msc", "ba", "bsc",
     "phd", "md", "jr", "sr"}
)  # fmt: skip
_SALUTATIONS: Final = frozenset(
    {"dear", "hi", "hello", "hey", "hallo", "liebe", "lieber", "moin", "servus", "grüezi",
     "bonjour", "ciao", "hola", "morning", "evening", "afternoon", "tag"}
)  # fmt: skip
# A surname's first particle: "der" or "den" only follow one ("van der", "von den"),
# so that "Herr der Ringe" is no name.
_FIRST_PARTICLES: Final = frozenset(
    {"von", "van", "de", "di", "da", "du", "del", "della", "dos", "do", "zu", "ten", "ter",
     "le", "la", "al", "el", "bin", "ibn", "af", "ap"}
)  # fmt: skip
_TITLES_AND_DEGREES: Final = _TITLES | _DEGREES
# Bounds on a name's parts: a run of titles or given names ("Herr Herr Herr …") costs
# the same as a real one, so reading a text stays linear.
_MAX_TITLES: Final = 5
_MAX_GIVEN: Final = 4
_MAX_PARTICLES: Final = 3
_DOTTED_TITLES: Final = frozenset({"hr", "fr", "sr", "sra", "rev", "mme", "mlle"})
_PARTICLES: Final = frozenset(
    {"von", "van", "de", "der", "den", "del", "della", "di", "da", "du", "le", "la", "zu",
     "zur", "ten", "ter", "bin", "ibn", "al", "el", "dos", "do", "y", "st", "vom", "af"}
)  # fmt: skip
# Capitalised words that follow a salutation or title, or stand beside a given name,
# and are no name: addressees, roles, firms, days, and German nouns of business mail.
_NOT_NAMES: Final = frozenset(
    {
        # addressees, roles
        "sir", "madam", "madame", "customer", "customers", "client", "clients", "team", "teams",
        "all", "everyone", "everybody", "colleague", "colleagues", "friend", "friends", "folks",
        "guys", "there", "support", "service", "services", "manager", "hiring", "department",
        "sales", "admin", "administrator", "user", "users", "member", "members", "partner",
        "partners", "valued", "applicant", "candidate", "reader", "readers", "world", "again",
        "kunde", "kundin", "kunden", "damen", "herren", "kollege", "kollegin", "kollegen",
        "kolleginnen", "zusammen", "leute", "alle", "mitglied", "mitglieder", "welt",
        "kundenservice", "kundendienst", "doktor", "doctor", "professor", "president",
        "präsident", "präsidentin", "bürgermeister", "bürgermeisterin", "minister",
        "ministerin", "direktor", "direktorin", "rektor", "rektorin", "pfarrer",
        "richterin", "anwalt", "anwältin", "rechtsanwalt", "rechtsanwältin", "notar",
        "notarin", "kommissar", "kommissarin", "vorsitzende", "vorsitzender", "judge", "mayor",
        "secretary", "chairman", "chair", "speaker", "senator", "governor", "officer",
        "captain", "nurse", "patient", "patientin", "owner", "tenant", "landlord", "vermieter",
        "mieter", "mieterin", "nachbar", "nachbarin", "chef", "chefin", "leiter", "leiterin",
        "geschäftsführer", "geschäftsführerin", "mitarbeiter", "mitarbeiterin", "arzt",
        "ärztin", "schüler", "schülerin", "eltern", "gast", "guest", "guests", "gäste",
        # pronouns, articles, function words
        "i", "we", "you", "he", "she", "they", "it", "ich", "wir", "sie", "er", "es", "ihr",
        "ihre", "ihrem", "ihren", "ihres", "your", "yours", "the", "a", "an", "das", "der",
        "die", "dem", "den", "des", "ein", "eine", "einen", "our", "my", "mein", "meine",
        "unser", "unsere", "here", "hier", "this", "that", "these", "those", "dies", "diese",
        "dieser", "dieses", "also", "auch", "und", "and", "or", "oder", "but", "aber", "if",
        "wenn", "nach", "vor", "bei", "am", "im", "in", "on", "at", "for", "für", "von", "zu",
        "zum", "zur", "auf", "with", "mit", "from", "to", "re", "fwd", "aw", "wg",
        "is", "ist", "was", "war", "has", "hat", "not", "nicht", "no", "kein", "keine",
        "so", "as", "als", "wie", "how", "what", "who", "wer", "wo", "where", "when",
        "wann", "why", "warum", "please", "bitte", "thanks", "thank", "danke", "regards",
        "grüße", "gruß", "sincerely", "best", "kind", "viele", "liebe", "lieber", "herzliche",
        "freundliche", "freundlichen", "mfg", "lg", "vg", "cheers", "ok", "okay", "yes", "ja",
        "nein", "sorry", "leider", "gerne", "gern", "just", "only", "nur", "noch", "still",
        "schon", "already", "now", "jetzt", "then", "dann", "today", "tomorrow", "yesterday",
        "heute", "morgen", "gestern", "subject", "betreff", "date", "datum", "name", "note",
        "hinweis", "p", "ps", "namens",
        # firms, places, things
        "gmbh", "ag", "kg", "ohg", "ug", "se", "ltd", "inc", "llc", "plc", "co", "corp",
        "company", "bank", "sparkasse", "volksbank", "office", "street", "road", "avenue",
        "lane", "city", "university", "universität", "hospital", "klinik", "klinikum",
        "school", "schule", "straße", "strasse", "platz", "allee", "weg", "station",
        "bahnhof", "airport", "flughafen", "group", "gruppe", "holding", "foundation",
        "stiftung", "institute", "institut", "center", "centre", "zentrum", "hotel",
        "restaurant", "cafe", "café", "shop", "store", "market", "markt", "house", "haus",
        # days, months
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december", "januar", "februar", "märz", "mai",
        "juni", "juli", "oktober", "dezember", "christmas", "easter", "weihnachten", "ostern",
        # German nouns of business mail
        "rechnung", "bestellung", "lieferung", "termin", "termine", "vertrag", "konto",
        "zahlung", "anfrage", "antwort", "frage", "fragen", "problem", "hilfe", "bescheid",
        "unterlagen", "dokument", "dokumente", "information", "informationen", "info",
        "nachricht", "mail", "e-mail", "email", "telefon", "adresse", "anschrift", "nummer",
        "kundennummer", "uhr", "woche", "monat", "jahr", "tag", "tage", "zeit", "ende",
        "anfang", "beginn", "grund", "fall", "sache", "ware", "paket", "preis", "betrag",
        "summe", "kosten", "geld", "euro", "versand", "rücksendung", "kündigung", "mahnung",
        "erinnerung", "beschwerde", "reklamation", "garantie", "auftrag", "projekt",
        "meeting", "besprechung", "sitzung", "gespräch", "anruf", "rückruf", "abteilung",
        "firma", "unternehmen", "praxis", "wohnung", "stadt", "land", "büro", "kaffee",
        "essen", "urlaub", "feiertag", "wochenende", "dank", "vielen", "herzlichen",
        "glückwunsch", "geburtstag", "alles", "gute", "neue", "neues", "frohe", "schöne",
        "schönen", "guten", "änderung", "aktualisierung", "bestätigung", "angebot",
        "auskunft", "ausweis", "personalausweis", "steuer-id", "iban", "karte",
        "kreditkarte", "zugang", "passwort", "login", "daten", "datenschutz", "auszug",
        "rezept", "befund", "krankenkasse", "versicherung", "police", "schaden", "miete",
        "kaution", "wasser", "strom", "heizung", "gas", "internet", "tarif",
        "bescheinigung", "antrag", "formular", "unterschrift", "kopie", "anlage", "anhang",
        "grüßen", "dir", "dich", "euch", "uns", "mir", "mich", "ihnen", "sehr", "geehrte",
        "geehrter", "hallo", "dear", "hi", "hello",
        # English words that follow given names in product and place names ("Park", "Hall"
        # and "Church" are surnames too: left out)
        "period", "power", "bridge", "river", "valley", "lake",
        "county", "state", "tech", "college", "square", "cathedral",
        "skills", "shortcuts", "app", "account", "card", "invoice", "order", "payment",
    }
)  # fmt: skip
# Given names that are also common words, places or brands, so that "April Fools",
# "Chase Bank", "Per Email" or "Sri Lanka" are no names: never a name by a list's say.
_WORDS: Final = frozenset(
    {"Will", "May", "June", "April", "August", "Hope", "Joy", "Faith", "Summer", "Art",
     "Chase", "Said", "Can", "Christian", "Sunny", "Ivy", "Angel", "Ángel", "Amber", "Hunter",
     "Mason", "Carter", "Harley", "Lincoln", "Jordan", "Georgia", "Florence", "Sydney",
     "Victoria", "Austin", "Chelsea", "Madison", "Logan", "Alexa", "Siri", "Paris", "Otto",
     "Ernst", "Deniz", "Umut", "Sevgi", "Floor", "Per", "Tag", "Dev", "Sri", "Min", "Wing",
     "Baraka", "Amani", "Neema", "Raj", "Kumar", "Dolores", "Pilar", "Guadalupe", "Rocío",
     "Conceição", "Jesús", "Sina", "Lotte", "Bo", "Sora"}
)  # fmt: skip
# Short or common given names that are a name beside a surname ("Jan Peters", "Kai Müller",
# "Mark Ellison") but too often something else standing alone ("Jan 2024", "am Kai").
_PAIRED_ONLY: Final = _WORDS | frozenset(
    {"Jan", "Kai", "Dan", "Mark", "Frank", "Victor", "Dean", "Dale", "Bill", "Grace", "Rose",
     "Rosa", "Ruby", "Holly", "Dawn", "Iris", "Jade", "Lily", "Daisy", "Heather", "Robin",
     "Leslie", "Morgan", "Kelly", "Tracy", "Lynn", "Glen", "Poppy", "Willow", "Yu", "Yang",
     "Chen", "Yan", "Jin", "Jun", "Lei", "Tao", "Mei", "Ling", "Ming", "Xin", "Yong", "Bao",
     "Fang", "Hui", "Shu", "Yun", "Zhen", "Qing", "Ting", "Ying", "Lan", "Ren", "Ina", "Dag",
     "Stig", "Thor", "Bas", "Sem", "Hana", "Mona", "Lina", "Mina", "Gül", "Juma", "Max",
     "Anh", "Duc", "Linh", "Minh", "Norman", "Roman", "Santiago", "Jackson", "Douglas",
     "Sofia", "Sofía", "Alba", "Milan", "Regina", "Felix", "Hugo", "Nancy", "Carol", "Earl",
     "Sherry", "Alma", "Rosario", "Basil", "Montgomery", "Pascal", "Chad", "Troy", "Pau",
     "Aurora", "Stella", "Hazel", "Miles", "Crystal", "Lee", "Kim", "Ray", "Jay", "Gene",
     "Jo", "Ed", "Nat", "Rob", "Ted", "Flo", "Ken", "Kitty", "Ally", "Maxi"}
)  # fmt: skip

# Words that make the given name after them part of a place's, ship's or saint's name.
_PLACE_WORDS: Final = frozenset(
    {"saint", "st", "san", "santa", "sankt", "são", "king", "queen", "prince", "princess",
     "lake", "mount", "mt", "fort", "port", "cape", "hurricane", "storm", "sturm", "orkan",
     "hotel", "villa", "casa", "haus", "schloss", "castle", "hms", "uss", "bad", "lady"}
)  # fmt: skip
_CLOSINGS: Final = re.compile(
    r"(?<![\w])(?:"
    # Strong closings: the name may follow on the same line after a comma.
    r"(?P<strong>(?:best|kind|warm|warmest|kindest|many|with\s+kind)\s+regards|regards"
    r"|(?:yours\s+)?(?:sincerely|faithfully|truly)|best\s+wishes|all\s+the\s+best"
    r"|mit\s+freundlichen\s+grüßen|mit\s+freundlichen\s+grüssen|freundliche\s+grüße"
    r"|(?:viele|beste|liebe|herzliche|schöne|sonnige)\s+grüße|mfg|gruß|grüße)"
    # Weak closings: only with the name on the next line.
    r"|(?P<weak>thanks|many\s+thanks|thank\s+you|cheers|best|danke|vielen\s+dank|lg|vg"
    r"|ciao|bis\s+bald|take\s+care|tschüss)"
    r")(?![\w])",
    re.IGNORECASE,
)
_INTRODUCTIONS: Final = re.compile(
    r"(?<![\w])(?:(?P<open>my\s+name\s+is|my\s+name's|mein\s+name\s+ist|ich\s+heiße"
    r"|ich\s+heisse|name\s+is|called|signed|gez\.|unterzeichnet)"
    r"|(?P<known>i\s+am|i'm|this\s+is|ich\s+bin|hier\s+ist|hier\s+spricht|it's|it\s+is"
    r"|with|mit|and|und|from|von|for|für|by|cc|bei|an|to))\s+",
    re.IGNORECASE,
)
# A form label before a name; at a line's start or after a separator, so that
# "Product name:" is no label.
_LABELS: Final = re.compile(
    r"(?:^|(?<=[\n(|;,•*\-]))[ \t]{0,8}(?:full\s+name|name|first\s+name|last\s+name|surname"
    r"|given\s+name|family\s+name|customer(?:\s+name)?|client(?:\s+name)?|patient(?:\s+name)?"
    r"|employee(?:\s+name)?|applicant|contact(?:\s+person|\s+name)?|account\s+holder"
    r"|account\s+name|card\s*holder|recipient|sender|addressee|attn\.?|attention|from|to|cc"
    r"|passenger|guest|participant|tenant|landlord|beneficiary|signed|signature|witness"
    r"|kunde|kundin|patientin|mitarbeiter(?:in)?|ansprechpartner(?:in)?|kontoinhaber(?:in)?"
    r"|karteninhaber(?:in)?|empfänger(?:in)?|absender(?:in)?|vorname|nachname|familienname"
    r"|geburtsname|antragsteller(?:in)?|versicherte[r]?|versicherungsnehmer(?:in)?"
    r"|inhaber(?:in)?|mieter(?:in)?"
    r"|vermieter(?:in)?|teilnehmer(?:in)?|gast|bewohner(?:in)?|von|an|z\.\s?hd\.?"
    r"|zu\s+händen|unterschrift|bearbeiter(?:in)?|sachbearbeiter(?:in)?)[ \t]{0,8}:[ \t]{0,8}",
    re.IGNORECASE | re.MULTILINE,
)
# Labels whose value is often a firm or a mailbox: the name must start with a given name.
_WEAK_LABELS: Final = frozenset({"from", "to", "cc", "von", "an", "sender", "recipient"})
# German nouns of things, by their endings: "Anna Bestellung" is no name.
_NOUN_ENDINGS: Final = (
    "ung", "heit", "keit", "schaft", "tion", "sion", "ität", "nis", "ment", "ismus", "chen",
    "lein", "gabe", "nahme", "zeit", "woche", "monat", "geld", "preis", "karte", "liste",
    "stelle", "frage", "arbeit", "sache", "nummer", "datum", "konto", "vertrag", "termin",
    "bericht", "straße", "strasse", "platz", "amt", "ware", "ieren", "mail",
)  # fmt: skip


@cache
def given_names() -> frozenset[str]:
    """The packaged given names (data/given_names.txt), read once, with and without accents."""
    text = files("slmesh.runtime.pii").joinpath("data/given_names.txt").read_text("utf-8")
    names = {
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    }
    return frozenset(names | {_plain(name) for name in names})


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    text: str

    @property
    def capitalised(self) -> bool:
        # "McDonald" and "O'Brien" are; "IBAN" is not ("GmbH" is, and a stop word).
        return self.text[0].isupper() and any(c.islower() for c in self.text[1:])

    @property
    def initial(self) -> bool:
        return len(self.text) == 1 and self.text.isupper()


def _word(match: re.Match[str]) -> _Word:
    """A word, without an English possessive ("Jess's number": "Jess")."""
    text = match.group()
    if len(text) > 3 and text[-2] in "'\u2019" and text[-1] == "s":
        return _Word(match.start(), match.end() - 2, text[:-2])
    return _Word(match.start(), match.end(), text)


def _plain(name: str) -> str:
    """A name without its accents, so that "Siân" is known as "Sian" is."""
    if name.isascii():
        return name
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


@lru_cache(maxsize=4096)
def _known(word: str) -> bool:
    known = given_names()
    return _plain(word) in known or all(_plain(part) in known for part in word.split("-"))


class _Reader:
    """The words of one text and the names found in it so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = [_word(m) for m in _WORD.finditer(text)]
        self.starts = {w.start: i for i, w in enumerate(self.words)}
        self.language: Language = language_of(text)
        self.found: list[tuple[int, int]] = []  # word index ranges [first, last)
        # Asked of every word several times: answered once per word.
        self._name_word = [w.capitalised and w.text.lower() not in _NOT_NAMES for w in self.words]
        self._given = [
            named and w.text not in _WORDS and _known(w.text)
            for w, named in zip(self.words, self._name_word, strict=True)
        ]

    def gap(self, i: int) -> str:
        """The text between word i and word i+1."""
        return self.text[self.words[i].end : self.words[i + 1].start]

    def is_name_word(self, i: int) -> bool:
        """Capitalised, and no word that is never a name."""
        return self._name_word[i]

    def is_given(self, i: int) -> bool:
        """A known given name ("Klaus-Dieter": each part one), good beside a surname."""
        return self._given[i]

    def is_lone_given(self, i: int) -> bool:
        """A known given name that is a name even standing alone ("Anna said")."""
        return self.is_given(i) and self.words[i].text not in _PAIRED_ONLY

    def word_at(self, offset: int) -> int | None:
        """The index of the word starting at or after `offset` on the same line (spaces only)."""
        at = offset
        while at < len(self.text) and self.text[at] in " \t":
            at += 1
        return self.starts.get(at)

    def skip_titles(self, i: int) -> int:
        """Past titles and degrees ("Frau Prof. Dr. med."), each with or without its dot."""
        stop = min(i + _MAX_TITLES, len(self.words) - 1)
        while i < stop and self.words[i].text.lower() in _TITLES_AND_DEGREES:
            if self.gap(i) not in (" ", ". ", ".", "\t", ".\u00a0", "\u00a0"):
                break
            i += 1
        return i

    def name(self, i: int, *, loose: bool) -> int | None:
        """The end (word index) of the name starting at word i, or None.

        Given names (known, or any capitalised word when `loose`), then one
        surname with its particles. Not loose, a first word that is no known
        given name is the surname itself.
        """
        n = len(self.words)
        if i >= n:
            return None
        end = i + 1
        if self.words[i].initial:
            # "P. Gallagher" under a closing or a label; never by a list's say.
            if not loose or not self.dotted(i) or not self.joined(i):
                return None
        elif not self.is_name_word(i):
            return None
        elif not self.is_given(i) and not loose:
            return end
        # Middle names and initials, while they are known given names.
        while end < min(n, i + _MAX_GIVEN) and self.joined(end - 1):
            if self.is_given(end) or (self.words[end].initial and self.dotted(end)):
                end += 1
                continue
            break
        # The surname, with its particles ("van der Berg", "von Weizsäcker").
        if end < n and self.joined(end - 1):
            last = self.past_particles(end)
            if last < n and self.is_surname(last):
                return last + 1
        return end

    def dotted(self, i: int) -> bool:
        return self.text[self.words[i].end : self.words[i].end + 1] == "."

    def is_title(self, i: int) -> bool:
        """ "Mr", "Dr.", "Herr", "Frau", "Tante": capitalised as titles are ("HR" is none)."""
        word = self.words[i].text
        if word.lower() not in _TITLES or not word[0].isupper() or not word[1:].islower():
            return False
        # "Hr." and "Fr." only with their dot ("Fr" alone is Friday, or French).
        return word.lower() not in _DOTTED_TITLES or self.dotted(i)

    def past_particles(self, i: int) -> int:
        """Past the particles of a surname starting at word i: "van der", "von", "de la"."""
        n = len(self.words)
        if i >= n - 1 or self.words[i].text not in _FIRST_PARTICLES or not self.joined(i):
            return i
        i += 1
        stop = min(n - 1, i + _MAX_PARTICLES)
        while i < stop and self.words[i].text in _PARTICLES and self.joined(i):
            i += 1
        return i

    def joined(self, i: int) -> bool:
        """Whether words i and i+1 are parts of one name: one space apart, or an initial's dot."""
        if i + 1 >= len(self.words):
            return False
        gap = self.gap(i)
        return gap in (" ", "\u00a0") or (self.words[i].initial and gap in (". ", "."))

    def is_surname(self, i: int) -> bool:
        if not self.is_name_word(i):
            return False
        text = self.words[i].text
        lowered = text.lower()
        if self.language == "de" and any(
            lowered.endswith(ending) and len(lowered) >= len(ending) + 3 for ending in _NOUN_ENDINGS
        ):
            return False  # "Bestellung", but not "Klein" (-lein) or "Zeitz"
        return text not in _WORDS

    def take(self, first: int, end: int | None) -> None:
        if end is not None and end > first:
            self.found.append((first, end))


def _after_titles(reader: _Reader) -> None:
    words = reader.words
    for i in range(len(words) - 1):
        if not reader.is_title(i):
            continue
        j = reader.skip_titles(i)
        if j == i:
            j = i + 1
        if reader.gap(j - 1).strip(" .\t\u00a0") or j >= len(words):
            continue
        # Particles before a surname alone: "Herr von Weizsäcker".
        end = reader.name(reader.past_particles(j), loose=reader.language == "en")
        reader.take(j, end)


def _after_salutations(reader: _Reader) -> None:
    words = reader.words
    for i, word in enumerate(words[:-1]):
        if word.text.lower() not in _SALUTATIONS or not reader.joined(i):
            continue
        j = i + 1
        if words[j].text.lower() in _TITLES:
            continue  # the title's own reading takes it
        # "Dear Anna," and "Hallo Kwabena!": a known given name, or any name-like word
        # closing the salutation.
        end = reader.name(j, loose=False)
        if end is None:
            continue
        closes = reader.text[words[end - 1].end : words[end - 1].end + 1] in (",", "!", "\n", ":")
        if reader.is_given(j) or closes:
            reader.take(j, reader.name(j, loose=True) if reader.is_given(j) else end)


def _under_closings(reader: _Reader) -> None:
    text = reader.text
    for closing in _CLOSINGS.finditer(text):
        after = closing.end()
        rest = text[after : after + 4]
        stripped = rest.lstrip(",!.")
        at = after + len(rest) - len(stripped)
        newline = text.find("\n", at, at + 8)
        if newline >= 0 and not text[at:newline].strip():
            at = newline + 1
            while at < len(text) and text[at] in " \t\n\r":
                at += 1
        elif closing.group("weak") is not None or at == after:
            continue  # "Thanks for the call", "Best regards to your team"
        i = reader.word_at(at)
        if i is None:
            continue
        i = reader.skip_titles(i)
        end = reader.name(i, loose=True)
        if end is None:
            continue
        # A signature's name ends its line.
        tail = text[reader.words[end - 1].end : reader.words[end - 1].end + 2]
        if tail == "" or tail[0] in "\n\r,|(/" or tail.strip() == "":
            reader.take(i, end)


def _after_introductions(reader: _Reader) -> None:
    for cue in _INTRODUCTIONS.finditer(reader.text):
        i = reader.word_at(cue.end())
        if i is None:
            continue
        i = reader.skip_titles(i)
        if cue.group("open") is not None:
            reader.take(i, reader.name(i, loose=True))
        elif reader.is_given(i):
            end = reader.name(i, loose=True)
            if end is not None and (end - i > 1 or reader.is_lone_given(i)):
                reader.take(i, end)


def _after_labels(reader: _Reader) -> None:
    for label in _LABELS.finditer(reader.text):
        i = reader.word_at(label.end())
        if i is None:
            continue
        i = reader.skip_titles(i)
        word = label.group().strip(" \t:").lower()
        if word in _WEAK_LABELS and not reader.is_given(i):
            continue
        end = reader.name(i, loose=True)
        if end is None:
            continue
        # "Kunde: Nordlicht GmbH" is a firm: a stop word right after the name says so.
        after = reader.words[end] if end < len(reader.words) else None
        if after is not None and reader.joined(end - 1) and after.text.lower() in _NOT_NAMES:
            continue
        reader.take(i, end)


def _known_given_names(reader: _Reader) -> None:
    for i in range(len(reader.words) - 1):
        continues = i > 0 and reader.joined(i - 1) and reader.is_given(i - 1)
        if reader.is_given(i) and reader.joined(i) and not continues:
            end = reader.name(i, loose=True)
            if end is not None and end - i >= 2 and reader.is_surname(end - 1):
                reader.take(i, end)


def _lone_given_names(reader: _Reader) -> None:
    """A known given name alone, not beside another capitalised word: "James did the numbers".

    A capitalised word before it counts only when it makes the name a place's or a
    saint's ("King James", "Santa Maria"); a noun ("Zeugin Petra") or a sentence's
    first word ("Could James") does not.
    """
    words = reader.words
    for i in range(len(words)):
        if not reader.is_lone_given(i):
            continue
        before = i > 0 and reader.joined(i - 1) and words[i - 1].text.lower() in _PLACE_WORDS
        after = reader.joined(i) and words[i + 1].capitalised
        if not before and not after:
            reader.take(i, i + 1)


def _other_mentions(reader: _Reader) -> None:
    """Every other standalone mention of a word of a name found: "Schmidt said", "Anna,"."""
    if not reader.found:
        return
    named = {reader.words[k].text for first, end in reader.found for k in range(first, end)}
    named = {t for t in named if len(t) > 2 and t.lower() not in _NOT_NAMES}
    covered = {k for first, end in reader.found for k in range(first, end)}
    for i, word in enumerate(reader.words):
        if i in covered or word.text not in named or not word.capitalised:
            continue
        # A word joined to other capitalised words is part of something else.
        before = i > 0 and reader.joined(i - 1) and reader.words[i - 1].capitalised
        after = reader.joined(i) and reader.words[i + 1].capitalised
        if not before and not after:
            reader.found.append((i, i + 1))


def find_persons(text: str) -> Iterator[PiiSpan]:
    reader = _Reader(text)
    if not reader.words:
        return
    _after_titles(reader)
    _after_salutations(reader)
    _under_closings(reader)
    _after_introductions(reader)
    _after_labels(reader)
    _known_given_names(reader)
    _lone_given_names(reader)
    _other_mentions(reader)
    for first, end in reader.found:
        last = end - 1
        # "Petra K.": an initial's dot is part of the name.
        stop = reader.words[last].end + (reader.words[last].initial and reader.dotted(last))
        yield PiiSpan("person", reader.words[first].start, stop)
