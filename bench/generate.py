"""A deterministic bulk loader of partners for the benchmarks.

``generate(size=N)`` fills the current Django database with N partners (about a
quarter companies, three quarters people), their categories, emails, phones,
addresses, memberships and a "created" timeline entry each, exactly as the
services would have left them, including the denormalised columns that
``services._refresh_denormalised`` maintains. It does so without the ORM: on
PostgreSQL through ``COPY … FROM STDIN`` with the secondary indexes and the
constraints dropped during the load and rebuilt afterwards; on SQLite through
``executemany`` in one transaction.

The same seed and size always give the same rows. One company, the "heavy"
partner, gets ~50 contacts and ~200 timeline entries for the detail benchmark.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

import phonenumbers
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from bench.bulk import (
    PostgresSink,
    Row,
    Sink,
    SqliteSink,
    pg_reset_sequences,
    pg_restore,
    pg_strip,
    sqlite_truncate_cascade,
)
from goodwill.lib.phones import phone_search_terms
from goodwill.lib.text import fold, name_key
from goodwill.partners.models import Partner

SEED = 20261125
CHUNK = 20_000  # partners generated (and flushed) at a time
HEAVY_NAME = "Heavyweight Benchmark Holdings AG"
HEAVY_CONTACTS = 50
HEAVY_TIMELINE = 200
BASE_TIME = datetime(2021, 1, 1, tzinfo=UTC)

# Shares of partners, as a mid-sized CRM might hold them.
COMPANY_RATE = 0.25
CUSTOMER_RATE = 0.60
SUPPLIER_RATE = 0.10
PROSPECT_RATE = 0.25
EMPLOYEE_RATE = 0.02
PHONE_RATE = 0.60
ARCHIVED_RATE = 0.03
WORK_EMAIL_RATE = 0.50
WORK_PHONE_RATE = 0.30

COUNTRIES: dict[str, tuple[str, ...]] = {
    "US": ("New York", "Chicago", "Houston", "Seattle", "Boston", "Denver"),
    "GB": ("London", "Manchester", "Leeds", "Bristol", "Glasgow", "Cardiff"),
    "DE": ("Berlin", "München", "Hamburg", "Köln", "Düsseldorf", "Stuttgart"),
    "FR": ("Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Besançon"),
    "ES": ("Madrid", "Barcelona", "Valencia", "Sevilla", "Málaga", "Bilbao"),
    "IT": ("Roma", "Milano", "Torino", "Napoli", "Bologna", "Firenze"),
    "NL": ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen", "Den Haag"),
    "BE": ("Bruxelles", "Antwerpen", "Gent", "Liège", "Brugge", "Namur"),
    "CH": ("Zürich", "Genève", "Basel", "Bern", "Lausanne", "Luzern"),
    "AT": ("Wien", "Graz", "Linz", "Salzburg", "Innsbruck", "Klagenfurt"),
    "SE": ("Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås", "Örebro"),
    "PL": ("Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk"),
    "DK": ("København", "Aarhus", "Odense", "Aalborg", "Esbjerg", "Randers"),
    "IE": ("Dublin", "Cork", "Limerick", "Galway", "Waterford", "Kilkenny"),
    "CA": ("Toronto", "Montréal", "Vancouver", "Calgary", "Ottawa", "Québec"),
}
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Karin", "Lukas", "Marta", "Nils", "Olga", "Paul", "Rosa", "Simon", "Tanja", "Ulrich",
    "Vera", "Walter", "Yara", "Zoë", "José", "Björn", "Søren", "Łukasz", "François", "Renée",
    "Jürgen", "Małgorzata", "Chloé", "Agnès", "Håkon", "Ólafur", "Željko", "Mónica", "Noémie",
    "Gaëlle", "Stéphane", "Dörte", "Ingrid", "Oscar", "Emma", "Liam", "Olivia", "Noah", "Ava",
    "Sophia", "Mason", "Isabella", "Ethan", "Mia", "Lucas", "Amelia", "Henry", "Harper",
    "Jack", "Evelyn", "Aiden", "Abigail", "Samuel", "Emily", "Daniel", "Ella", "Matthew",
    "Scarlett", "Joseph", "Grace", "Sebastian", "Chiara", "Giulia", "Matteo", "Lorenzo",
    "Francesca", "Alessandro", "Pablo", "Lucía", "Javier", "Carmen", "Sergio", "Pilar",
    "Maarten", "Sanne", "Pieter", "Femke", "Bram", "Anouk", "Katarzyna", "Piotr", "Agnieszka",
    "Tomasz", "Astrid", "Erik", "Freja", "Magnus", "Sigrid", "Aoife", "Ciarán", "Niamh",
    "Seán", "Siobhán", "Marie", "Pierre", "Camille", "Théo", "Léa", "Antoine", "Manon",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schröder", "Koch", "Richter", "Klein", "Wolf", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Krause", "Lehmann", "Köhler", "Maier", "Huber", "Smith", "Johnson", "Williams",
    "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore",
    "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams",
    "Nelson", "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
    "Pérez", "Gómez", "Jiménez", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi",
    "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca",
    "Dubois", "Durand", "Lefèvre", "Moreau", "Laurent", "Simon", "Michel", "Garnier",
    "Faure", "Rousseau", "Blanc", "Guérin", "Boyer", "Chevalier", "François", "De Jong",
    "Jansen", "De Vries", "Van den Berg", "Van Dijk", "Bakker", "Visser", "Smit", "Meijer",
    "De Boer", "Mulder", "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk",
    "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Andersson",
    "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Lindqvist", "Svensson", "Gustafsson", "Pettersson", "Jensen", "Nielsen", "Hansen",
    "Pedersen", "Sørensen", "Rasmussen", "Jørgensen", "Kristensen", "Murphy", "Kelly",
    "O'Sullivan", "Walsh", "O'Brien", "Byrne", "Ryan", "O'Connor", "O'Neill", "Gallagher",
    "Doherty", "Lynch", "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier",
    "Morin", "Lavoie", "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque",
    "Gruber", "Pichler", "Steiner", "Moser", "Mayer", "Brunner", "Baumgartner", "Aigner",
)  # fmt: skip
COMPANY_ROOTS = (
    "Nordic", "Alpine", "Atlantic", "Baltic", "Central", "Coastal", "Continental", "Crystal",
    "Delta", "Eastern", "Evergreen", "Falcon", "Frontier", "Global", "Golden", "Granite",
    "Harbour", "Highland", "Horizon", "Iron", "Keystone", "Lakeside", "Liberty", "Lighthouse",
    "Meridian", "Metro", "Northern", "Oak", "Pacific", "Phoenix", "Pioneer", "Prime",
    "Quantum", "Riverside", "Royal", "Sapphire", "Silver", "Southern", "Summit", "Sunrise",
    "Titan", "Trident", "United", "Vanguard", "Western", "Zenith", "Bavaria", "Rhône",
    "Mälar", "Vistula", "Donau", "Tajo", "Po", "Shannon", "Saint-Laurent", "Schelde",
)  # fmt: skip
COMPANY_NOUNS = (
    "Steel", "Logistics", "Foods", "Textiles", "Software", "Systems", "Energy", "Chemicals",
    "Motors", "Pharma", "Electronics", "Consulting", "Builders", "Paper", "Glass", "Plastics",
    "Tools", "Robotics", "Optics", "Furniture", "Dairy", "Brewery", "Printing", "Packaging",
    "Shipping", "Aviation", "Marine", "Mining", "Timber", "Solar", "Wind", "Water", "Labs",
    "Media", "Health", "Insurance", "Capital", "Trading", "Imports", "Engineering",
)  # fmt: skip
LEGAL_FORMS = ("GmbH", "AG", "Ltd", "Inc.", "SA", "SARL", "BV", "NV", "AB", "A/S", "S.p.A.",
               "S.L.", "Sp. z o.o.", "LLC", "plc", "KG", "")  # fmt: skip
TLDS = {"US": "com", "GB": "co.uk", "CA": "ca", "IE": "ie"}
MAIL_DOMAINS = ("mail.example", "post.example", "inbox.example", "web.example", "home.example")
COMPANY_MAILBOXES = ("info", "contact", "office", "sales", "hello", "service")
JOB_TITLES = ("Buyer", "Sales manager", "CEO", "CFO", "Accountant", "Engineer",
              "Project manager", "Assistant", "Head of purchasing", "Logistics coordinator",
              "IT manager", "Marketing lead", "")  # fmt: skip
DEPARTMENTS = ("Purchasing", "Sales", "Finance", "IT", "Operations", "Marketing", "", "")
STREETS = ("Main Street", "Hauptstraße", "Rue de la Paix", "Calle Mayor", "Via Roma",
           "Kerkstraat", "Storgatan", "ul. Długa", "High Street", "Bahnhofstraße")  # fmt: skip
CATEGORY_TREE: dict[str, tuple[str, ...]] = {
    "Industry": ("Manufacturing", "Automotive", "Chemicals"),
    "Services": ("Consulting", "Logistics", "Software"),
    "Retail": ("Food", "Fashion", "Electronics"),
    "Public sector": ("Education", "Health", "Administration"),
    "Non-profit": ("Charity", "Association", "Foundation"),
}

# Columns written per table, in order. Only these tables are loaded.
COLUMNS: dict[str, tuple[str, ...]] = {
    "partners_category": ("id", "name", "parent_id", "description"),
    "partners_partner": (
        "id", "kind", "name", "parent_id", "is_customer", "is_supplier", "is_employee",
        "is_prospect", "website", "vat", "language", "currency", "channel", "state_of_mind",
        "notes", "active", "merged_into_id", "email", "phone", "city", "country", "name_key",
        "search_text", "created_at", "updated_at", "created_by_id",
    ),
    "partners_partner_categories": ("id", "partner_id", "category_id"),
    "partners_partneremail": ("id", "partner_id", "email", "kind", "is_primary"),
    "partners_partnerphone": ("id", "partner_id", "number", "kind", "is_primary"),
    "partners_address": (
        "id", "partner_id", "kind", "street", "street2", "zip", "city", "state", "country",
    ),
    "partners_membership": (
        "id", "person_id", "company_id", "job_title", "department", "work_email",
        "work_phone", "created_at",
    ),
    "partners_timelineentry": (
        "id", "subject_type_id", "subject_id", "partner_id", "kind", "action", "author_id",
        "body", "changes", "visibility", "created_at",
    ),
}  # fmt: skip
TABLES = tuple(COLUMNS)


@dataclass
class LoadReport:
    size: int
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    heavy_id: int = 0

    @property
    def contacts(self) -> int:
        """Memberships plus contact rows (emails, phones): ≥ 2M wanted at 1M partners."""
        return sum(
            self.rows.get(t, 0)
            for t in ("partners_membership", "partners_partneremail", "partners_partnerphone")
        )

    def print(self, out: TextIO) -> None:
        out.write(f"Loaded {self.size:,} partners in {self.seconds:.1f} s (")
        out.write(", ".join(f"{name} {secs:.1f} s" for name, secs in self.phases.items()))
        out.write(")\n")
        width = max(len(t) for t in self.rows)
        for table, count in self.rows.items():
            out.write(f"  {table:<{width}}  {count:>12,}\n")
        out.write(f"  {'memberships and contacts':<{width}}  {self.contacts:>12,}\n")
        out.write(f"  heavy partner id: {self.heavy_id}\n")


@dataclass(frozen=True)
class _Phone:
    e164: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class _Company:
    name: str
    domain: str
    country: str


def _slug(value: str) -> str:
    """ASCII letters and digits only: "Zoë O'Brien" -> "zoeobrien"."""
    return "".join(ch for ch in fold(value) if ch.isascii() and ch.isalnum())


def _phone_pools(rng: random.Random, per_pool: int) -> dict[tuple[str, str], list[_Phone]]:
    """Valid numbers per (country, "mobile"/"work"), varied from the library's examples."""
    types = {
        "mobile": phonenumbers.PhoneNumberType.MOBILE,
        "work": phonenumbers.PhoneNumberType.FIXED_LINE,
    }
    pools: dict[tuple[str, str], list[_Phone]] = {}
    for region in COUNTRIES:
        for kind, number_type in types.items():
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is None:
                example = phonenumbers.example_number(region)
            if example is None:
                raise RuntimeError(f"phonenumbers has no example number for {region}")
            base = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            tail = min(5, len(base) - 5)
            seen: set[str] = set()
            pool: list[_Phone] = []
            for _ in range(per_pool * 20):
                if len(pool) >= per_pool:
                    break
                digits = "".join(rng.choice("0123456789") for _ in range(tail))
                candidate = base[:-tail] + digits
                if candidate in seen:
                    continue
                seen.add(candidate)
                number = phonenumbers.parse(candidate, None)
                if not phonenumbers.is_valid_number(number):
                    continue
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if e164 == candidate:
                    pool.append(_Phone(e164, tuple(phone_search_terms(e164))))
            if not pool:
                raise RuntimeError(f"no valid {kind} numbers for {region}")
            pools[(region, kind)] = pool
    return pools


class _Generator:
    """Builds the rows chunk by chunk; ids are explicit so the output is reproducible."""

    def __init__(self, *, size: int, seed: int, sink: Sink, content_type_id: int) -> None:
        self.size = size
        self.sink = sink
        self.content_type_id = content_type_id
        self.rng = random.Random(seed)
        self.rows: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.next_id: dict[str, int] = dict.fromkeys(TABLES, 1)
        self.pools = _phone_pools(self.rng, per_pool=min(2000, max(50, size // 200)))
        self.countries = list(COUNTRIES)
        self.category_ids: list[int] = []
        self.companies: dict[int, _Company] = {}
        self.company_ids: list[int] = []
        self.kinds: list[bool] = []
        self.heavy_id = 0
        self.heavy_people = 0

    # -- plan ----------------------------------------------------------------

    def plan(self) -> None:
        """Decide every partner's kind first, so people can join any company."""
        rng = self.rng
        kinds = [rng.random() < COMPANY_RATE for _ in range(self.size)]
        kinds[0] = True  # even a tiny run has a company
        self.heavy_id = next((i + 1 for i in range(self.size // 2, self.size) if kinds[i]), 1)
        for index, is_company in enumerate(kinds):
            if not is_company:
                continue
            pk = index + 1
            country = rng.choice(self.countries)
            if pk == self.heavy_id:
                name = HEAVY_NAME
            elif rng.random() < 0.2:
                name = f"{rng.choice(LAST_NAMES)} & {rng.choice(LAST_NAMES)}"
            else:
                name = f"{rng.choice(COMPANY_ROOTS)} {rng.choice(COMPANY_NOUNS)}"
            form = rng.choice(LEGAL_FORMS)
            if form and pk != self.heavy_id:
                name = f"{name} {form}"
            tld = TLDS.get(country, country.lower())
            domain = f"{_slug(name_key(name))[:24]}{pk % 997}.{tld}"
            self.companies[pk] = _Company(name=name, domain=domain, country=country)
        self.company_ids = list(self.companies)
        self.kinds = kinds

    def categories(self) -> None:
        rows: list[Row] = []
        children: list[Row] = []
        pk = 1
        for root in CATEGORY_TREE:
            rows.append((pk, root, None, ""))
            pk += 1
        for root_id, leaves in enumerate(CATEGORY_TREE.values(), start=1):
            for leaf in leaves:
                children.append((pk, leaf, root_id, ""))
                pk += 1
        self.category_ids = [row[0] for row in rows + children]
        self._emit("partners_category", rows + children)

    # -- partners ------------------------------------------------------------

    def partners(self) -> None:
        buffers: dict[str, list[Row]] = {t: [] for t in TABLES if t != "partners_category"}
        for pk in range(1, self.size + 1):
            if self.kinds[pk - 1]:
                self._company(pk, buffers)
            else:
                self._person(pk, buffers)
            if pk % CHUNK == 0:
                self._flush(buffers)
        self._heavy_timeline(buffers)
        self._flush(buffers)

    def _flush(self, buffers: dict[str, list[Row]]) -> None:
        # Constraints are dropped (PostgreSQL) or deferred to the commit (SQLite),
        # so a person may point at a company whose row comes in a later chunk.
        for table, rows in buffers.items():
            self._emit(table, rows)
            rows.clear()

    def _emit(self, table: str, rows: list[Row]) -> None:
        self.sink.write(table, rows)
        self.rows[table] += len(rows)

    def _take_id(self, table: str) -> int:
        pk = self.next_id[table]
        self.next_id[table] = pk + 1
        return pk

    def _created(self, pk: int) -> datetime:
        return BASE_TIME + timedelta(seconds=pk * 150)

    def _flags(self, *, person: bool) -> tuple[bool, bool, bool, bool]:
        rng = self.rng
        employee = person and rng.random() < EMPLOYEE_RATE / (1 - COMPANY_RATE)
        return (
            rng.random() < CUSTOMER_RATE,
            rng.random() < SUPPLIER_RATE,
            employee,
            rng.random() < PROSPECT_RATE,
        )

    def _common(
        self,
        pk: int,
        buffers: dict[str, list[Row]],
        *,
        kind: str,
        name: str,
        website: str,
        vat: str,
        email: str,
        phone: _Phone | None,
        phone_kind: str,
        city: str,
        country: str,
        extra_terms: Iterable[str],
        extra_phones: Iterable[_Phone],
    ) -> None:
        """The partner row, its category links, email, phone and "created" entry."""
        rng = self.rng
        created = self.sink.stamp(self._created(pk))
        customer, supplier, employee, prospect = self._flags(person=kind == "person")
        active = rng.random() >= ARCHIVED_RATE

        # Denormalised columns, in the order _refresh_denormalised builds them.
        terms = [name, vat, email, *extra_terms]
        for number in [*([phone] if phone else []), *extra_phones]:
            terms += number.terms
        if city:
            terms.append(city)
        search_text = fold(" ".join(t for t in terms if t))
        buffers["partners_partner"].append(
            (
                pk, kind, name, None, customer, supplier, employee, prospect, website, vat,
                "", "", "", None, "", active, None, email, phone.e164 if phone else "", city,
                country, name_key(name)[:200], search_text, created, created, None,
            )
        )  # fmt: skip
        buffers["partners_partneremail"].append(
            (self._take_id("partners_partneremail"), pk, email, "work", True)
        )
        if phone:
            buffers["partners_partnerphone"].append(
                (self._take_id("partners_partnerphone"), pk, phone.e164, phone_kind, True)
            )
        roll = rng.random()
        count = 0 if roll < 0.1 else 1 if roll < 0.8 else 2
        chosen: list[int] = []
        while len(chosen) < count:
            # Roots hold some partners directly; most sit in a leaf.
            category = (
                rng.randint(1, len(CATEGORY_TREE))
                if rng.random() < 0.3
                else rng.choice(self.category_ids[len(CATEGORY_TREE) :])
            )
            if category not in chosen:
                chosen.append(category)
        for category in chosen:
            buffers["partners_partner_categories"].append(
                (self._take_id("partners_partner_categories"), pk, category)
            )
        buffers["partners_timelineentry"].append(
            (
                pk, self.content_type_id, pk, pk, "system", "created", None,
                f"{kind.capitalize()} created", "[]", "internal", created,
            )
        )  # fmt: skip

    def _company(self, pk: int, buffers: dict[str, list[Row]]) -> None:
        rng = self.rng
        company = self.companies[pk]
        city = rng.choice(COUNTRIES[company.country])
        vat = f"{company.country}{rng.randrange(10**8, 10**9)}" if rng.random() < 0.5 else ""
        phone = (
            rng.choice(self.pools[(company.country, "work")]) if rng.random() < PHONE_RATE else None
        )
        email = f"{rng.choice(COMPANY_MAILBOXES)}@{company.domain}"
        buffers["partners_address"].append(
            (
                self._take_id("partners_address"), pk, "contact",
                f"{rng.choice(STREETS)} {rng.randint(1, 250)}", "",
                f"{rng.randrange(10000, 99999)}", city, "", company.country,
            )
        )  # fmt: skip
        self._common(
            pk,
            buffers,
            kind="company",
            name=company.name,
            website=f"https://www.{company.domain}",
            vat=vat,
            email=email,
            phone=phone,
            phone_kind="work",
            city=city,
            country=company.country,
            extra_terms=(),
            extra_phones=(),
        )

    def _person(self, pk: int, buffers: dict[str, list[Row]]) -> None:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        suffix = str(rng.randrange(10, 100)) if rng.random() < 0.5 else ""
        email = f"{_slug(first)}.{_slug(last)}{suffix}@{rng.choice(MAIL_DOMAINS)}"
        phone = (
            rng.choice(self.pools[(rng.choice(self.countries), "mobile")])
            if rng.random() < PHONE_RATE
            else None
        )
        roll = rng.random()
        count = 0 if roll < 0.05 else 1 if roll < 0.65 else 2
        companies: list[int] = []
        if self.heavy_people < HEAVY_CONTACTS and pk != self.heavy_id:
            companies.append(self.heavy_id)
            self.heavy_people += 1
            count = max(count, 1)
        while len(companies) < min(count, len(self.company_ids)):
            company_id = rng.choice(self.company_ids)
            if company_id not in companies:
                companies.append(company_id)
        work_emails: list[str] = []
        work_phones: list[_Phone] = []
        created = self.sink.stamp(self._created(pk))
        for company_id in companies:
            company = self.companies[company_id]
            work_email = (
                f"{_slug(first)[:1]}.{_slug(last)}@{company.domain}"
                if rng.random() < WORK_EMAIL_RATE
                else ""
            )
            work_phone = (
                rng.choice(self.pools[(company.country, "work")])
                if rng.random() < WORK_PHONE_RATE
                else None
            )
            if work_email:
                work_emails.append(work_email)
            if work_phone:
                work_phones.append(work_phone)
            buffers["partners_membership"].append(
                (
                    self._take_id("partners_membership"), pk, company_id,
                    rng.choice(JOB_TITLES), rng.choice(DEPARTMENTS), work_email,
                    work_phone.e164 if work_phone else "", created,
                )
            )  # fmt: skip
        self._common(
            pk,
            buffers,
            kind="person",
            name=name,
            website="",
            vat="",
            email=email,
            phone=phone,
            phone_kind="mobile",
            city="",
            country="",
            extra_terms=work_emails,
            extra_phones=work_phones,
        )

    def _heavy_timeline(self, buffers: dict[str, list[Row]]) -> None:
        """The heavy partner's page has a long history to page through."""
        start = self._created(self.heavy_id)
        base = self.size + 1
        kinds = ("note", "email_in", "email_out", "field_change", "system")
        for n in range(HEAVY_TIMELINE):
            kind = kinds[n % len(kinds)]
            buffers["partners_timelineentry"].append(
                (
                    base + n, self.content_type_id, self.heavy_id, self.heavy_id, kind,
                    "note" if kind == "note" else "", None,
                    f"Benchmark entry {n + 1}: {self.rng.choice(JOB_TITLES)} called back.",
                    "[]", "internal", self.sink.stamp(start + timedelta(hours=n + 1)),
                )
            )  # fmt: skip


# --------------------------------------------------------------------------
# Entry point


def generate(*, size: int, seed: int = SEED, out: TextIO = sys.stdout) -> LoadReport:
    """Replace the partner data in the default database with *size* generated partners."""
    if size < 1:
        raise ValueError("size must be at least 1")
    report = LoadReport(size=size)
    started = time.perf_counter()
    content_type_id = ContentType.objects.get_for_model(Partner).pk
    vendor = connection.vendor
    connection.ensure_connection()
    raw = connection.connection
    with transaction.atomic():
        if vendor == "postgresql":
            with raw.cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            schema = pg_strip(raw, TABLES)
            sink: Sink = PostgresSink(raw, COLUMNS)
        elif vendor == "sqlite":
            # Also empties the tables that point at partners (cases, …), as
            # TRUNCATE … CASCADE does on PostgreSQL.
            sqlite_truncate_cascade(raw, reversed(TABLES))
            sink = SqliteSink(raw, COLUMNS)
        else:
            raise RuntimeError(f"unsupported database vendor {vendor}")
        generator = _Generator(size=size, seed=seed, sink=sink, content_type_id=content_type_id)
        generator.plan()
        generator.categories()
        out.write(f"Generating {size:,} partners…\n")
        out.flush()
        generator.partners()
        report.phases["rows"] = time.perf_counter() - started
        if vendor == "postgresql":
            mark = time.perf_counter()
            pg_restore(raw, schema)
            pg_reset_sequences(raw, TABLES)
            report.phases["indexes and constraints"] = time.perf_counter() - mark
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # VACUUM also sets the visibility map, so index-only scans work at once.
            for table in TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")
    report.phases["analyze"] = time.perf_counter() - mark
    report.seconds = time.perf_counter() - started
    report.rows = generator.rows
    report.heavy_id = generator.heavy_id
    report.print(out)
    return report
