"""The demo partners of ``goodwill demo``: about 200 companies and 600 people.

The data are realistic and multilingual: companies from fourteen countries with
local names, legal forms, addresses and phone numbers, their contacts with
native names (Zoë, José, Łukasz, Søren, 田中 太郎, 王芳), a few company groups,
hierarchical categories, and timelines with notes in several languages.

Everything is drawn from one ``random.Random(seed)``: a seed always gives the
same partners. ``demo_partners_plan`` builds the data without touching the
database; ``demo_partners_load`` saves that plan through the partner services,
as people using Goodwill would, so the timelines show creations, contacts,
notes, edits and archiving.

Web sites and email addresses use the reserved ``.example`` top-level domain,
so that a demo database never sends mail to a real company.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from django.utils import timezone

from goodwill.accounts.demo import DEMO_USERS
from goodwill.accounts.models import User
from goodwill.lib.text import fold
from goodwill.partners import services
from goodwill.partners.models import (
    Address,
    Category,
    Partner,
    PartnerEmail,
    PartnerPhone,
    TimelineEntry,
)
from goodwill.partners.services import AddressInput, EmailInput, MembershipInput, PhoneInput

COMPANIES = 200
PEOPLE = 600
NOTES = 320
EDITS = 40
ARCHIVED = 10
PRIVATE_SHARE = 0.08  # people who are customers on their own, not contacts of a company
TWO_COMPANIES_SHARE = 0.08  # contacts who are also contacts of a second company
PHONE_ATTEMPTS = 60

# Staff who write in the timelines, and the languages each of them writes notes in.
AUTHORS = ("alice", "maria", "bob", "chen")
AUTHOR_LANGUAGES = {
    "alice": ("en", "da", "sv", "de"),
    "maria": ("en", "es", "pt", "it", "fr"),
    "bob": ("en", "fr", "nl"),
    "chen": ("en", "zh", "ja"),
}
OWN_COMPANY = "Goodwill Demo Ltd"
OWN_DOMAIN = "demo.goodwill.example"
OWN_JOBS = {
    "alice": ("Head of Operations", "Management"),
    "maria": ("Customer Service Manager", "Customer service"),
    "bob": ("Support Agent", "Customer service"),
    "chen": ("Support Agent, Asia-Pacific", "Customer service"),
    "charlie": ("Office Assistant", "Administration"),
}
FREEMAIL = ("mailbox.example", "post.example", "webmail.example")

# --------------------------------------------------------------------------
# Categories


AUTOMOTIVE = "Industry / Manufacturing / Automotive"
MACHINERY = "Industry / Manufacturing / Machinery"
ELECTRONICS = "Industry / Manufacturing / Electronics"
TEXTILES = "Industry / Manufacturing / Textiles"
FOOD = "Industry / Food & beverage"
RETAIL = "Industry / Retail"
SOFTWARE = "Industry / Software"
LOGISTICS = "Industry / Logistics"
CONSTRUCTION = "Industry / Construction"
HEALTHCARE = "Industry / Healthcare"
ENERGY = "Industry / Energy"
SERVICES = "Industry / Professional services"
INDUSTRIES = (
    MACHINERY,
    AUTOMOTIVE,
    ELECTRONICS,
    TEXTILES,
    FOOD,
    RETAIL,
    SOFTWARE,
    LOGISTICS,
    CONSTRUCTION,
    HEALTHCARE,
    ENERGY,
    SERVICES,
)
ENTERPRISE = "Size / Enterprise"
SME = "Size / SME"
MICRO = "Size / Micro"
GOLD = "Partner level / Gold"
SILVER = "Partner level / Silver"
BRONZE = "Partner level / Bronze"
INTERESTS = (
    "Interest / Newsletter",
    "Interest / Trade fairs",
    "Interest / Training",
    "Interest / Sustainability",
    "Interest / Cloud migration",
    "Interest / Maintenance contract",
)
CATEGORY_PATHS = (
    *INDUSTRIES,
    ENTERPRISE,
    SME,
    MICRO,
    GOLD,
    SILVER,
    BRONZE,
    *INTERESTS,
)
CATEGORY_DESCRIPTIONS = {
    "Industry": "What the partner does.",
    "Size": "Enterprise: over 250 staff; SME: 10 to 250; Micro: under 10.",
    "Partner level": "Customers by yearly revenue with us.",
    "Interest": "Topics the partner asked to hear about.",
}


# --------------------------------------------------------------------------
# Country tables


def _list(text: str) -> tuple[str, ...]:
    """Split a comma-separated table into its items."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _pairs(text: str) -> dict[str, str]:
    """Read "native romanised, …" pairs into a dict (for Japanese and Chinese)."""
    return dict(item.split(" ", 1) for item in _list(text))


@dataclass(frozen=True)
class City:
    name: str
    state: str
    postcodes: tuple[str, ...]
    area: str  # the national digits every number of the city starts with ("30" for Berlin)
    streets: tuple[str, ...] = ()  # only where streets belong to one city (JP, CN)


@dataclass(frozen=True)
class Sector:
    word: str
    industry: str


@dataclass(frozen=True)
class Job:
    title: str
    title_female: str
    department: str


@dataclass(frozen=True)
class Country:
    code: str
    language: str
    currency: str
    weight: int  # the share of the companies that come from this country
    legal_forms: tuple[str, ...]  # repeated to weigh the common forms
    name_patterns: tuple[str, ...]  # {surname} {surname2} {brand} {sector} {city} {legal}
    sectors: tuple[Sector, ...]
    brands: tuple[str, ...]
    cities: tuple[City, ...]
    streets: tuple[str, ...]
    street_format: str  # {street} with {n} (1-180), {big} (100-2999), {b}, {c}, {d}
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    jobs: tuple[Job, ...]
    mailboxes: tuple[str, ...]
    billing_mailbox: str
    vat: str  # "#" a digit, "@" a capital letter
    subsidiary: str  # the name of a group's subsidiary in this country
    mobile: tuple[str, ...]  # mobile prefixes; "{area}" is the city's; none: use the area
    street2: str = ""  # a second address line some addresses have
    fixed_length: int = 0  # digits of a landline when not the example number's
    family_first: bool = False
    name_join: str = " "
    two_surnames: float = 0.0  # the share of people with two surnames (ES, BR)
    feminine_surnames: bool = False  # Kowalski → Kowalska (PL)
    translit: dict[int, str] = field(default_factory=dict)  # for email addresses
    romaji: dict[str, str] = field(default_factory=dict)  # romanisations of native words


def _weighted(forms: dict[str, int]) -> tuple[str, ...]:
    """Each legal form repeated by its weight, so a plain choice favours the common ones."""
    return tuple(form for form, weight in forms.items() for _ in range(weight))


def _sectors(text: str) -> tuple[Sector, ...]:
    """The local words for the twelve INDUSTRIES, given in that order."""
    words = _list(text)
    if len(words) != len(INDUSTRIES):
        raise ValueError(f"Give one word per industry: {text}")
    return tuple(Sector(word, industry) for word, industry in zip(words, INDUSTRIES, strict=True))


def _jobs(text: str) -> tuple[Job, ...]:
    """Read "title / female title / department; …"; a missing female title is the same."""
    jobs = []
    for row in text.split(";"):
        parts = [p.strip() for p in row.split("/")]
        if len(parts) == 2:
            parts.insert(1, parts[0])
        title, title_female, department = parts
        jobs.append(Job(title or title_female, title_female or title, department))
    return tuple(jobs)


GERMANY = Country(
    code="DE",
    language="de",
    currency="EUR",
    weight=24,
    legal_forms=_weighted({"GmbH": 5, "AG": 1, "GmbH & Co. KG": 2, "KG": 1}),
    name_patterns=(
        "{surname} {sector} {legal}",
        "{brand} {sector} {legal}",
        "{surname} & {surname2} {legal}",
        "{sector} {surname} {legal}",
    ),
    sectors=_sectors(
        """Maschinenbau, Fahrzeugteile, Elektrotechnik, Textil, Feinkost, Handel,
        Software, Logistik, Bau, Medizintechnik, Energie, Beratung"""
    ),
    brands=_list(
        "Rheintal, Alpenland, Elbtal, Hansa, Spreetec, Isartal, Harzer, Weserland, Bodensee"
    ),
    cities=(
        City("Berlin", "", ("10115", "10117", "10178", "10405", "10719", "12099"), "30"),
        City("Hamburg", "", ("20095", "20354", "22767", "22085"), "40"),
        City("München", "", ("80331", "80335", "80687", "81379"), "89"),
        City("Köln", "", ("50667", "50672", "50823"), "221"),
        City("Frankfurt am Main", "", ("60311", "60486", "60594"), "69"),
        City("Stuttgart", "", ("70173", "70469", "70565"), "711"),
        City("Düsseldorf", "", ("40210", "40474"), "211"),
        City("Leipzig", "", ("04103", "04109"), "341"),
        City("Nürnberg", "", ("90402", "90429"), "911"),
        City("Bremen", "", ("28195", "28217"), "421"),
    ),
    streets=_list(
        """Hauptstraße, Bahnhofstraße, Industriestraße, Gartenstraße, Schillerstraße,
        Goethestraße, Am Hafen, Lindenallee, Friedrichstraße, Kaiserstraße, Mühlenweg,
        Gewerbepark, Rosenstraße, Berliner Straße"""
    ),
    street_format="{street} {n}",
    female=_list(
        """Anna, Lena, Sophie, Katharina, Julia, Sabine, Ursula, Jana, Heike, Anja, Dörte,
        Käthe, Franziska, Birgit, Lea, Miriam"""
    ),
    male=_list(
        """Jürgen, Jörg, Günter, Stefan, Thomas, Michael, Lukas, Maximilian, Felix, Björn,
        Jan, Matthias, Tobias, Sven, Uwe, Andreas, Klaus"""
    ),
    surnames=_list(
        """Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz,
        Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz,
        Zimmermann, Braun, Krüger, Hartmann, Lange, Weiß, Jäger, Vogel, Groß, Köhler,
        Böhm, Kluge, Brandt"""
    ),
    jobs=_jobs(
        """Geschäftsführer / Geschäftsführerin / Geschäftsführung;
        Einkaufsleiter / Einkaufsleiterin / Einkauf;
        Vertriebsleiter / Vertriebsleiterin / Vertrieb;
        Leiter Buchhaltung / Leiterin Buchhaltung / Finanzen;
        IT-Leiter / IT-Leiterin / IT;
        Sachbearbeiter Einkauf / Sachbearbeiterin Einkauf / Einkauf;
        Qualitätsmanager / Qualitätsmanagerin / Qualitätssicherung;
        Marketingleiter / Marketingleiterin / Marketing"""
    ),
    mailboxes=("info", "kontakt"),
    billing_mailbox="rechnung",
    vat="DE#########",
    subsidiary="{brand} Deutschland GmbH",
    mobile=("151", "152", "160", "170", "171", "176"),
    fixed_length=10,
    translit=str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}),
)

FRANCE = Country(
    code="FR",
    language="fr",
    currency="EUR",
    weight=18,
    legal_forms=_weighted({"SARL": 3, "SAS": 4, "SA": 1}),
    name_patterns=(
        "{sector} {surname} {legal}",
        "{sector} {brand} {legal}",
        "{surname} & Fils {legal}",
        "{brand} {legal}",
    ),
    sectors=_sectors(
        """Mécanique, Pièces Auto, Électronique, Textiles, Fromageries, Distribution,
        Informatique, Transports, Constructions, Laboratoires, Énergies, Conseil"""
    ),
    brands=_list(
        "Armor, Lumière, Atlantique, Provence, Val de Loire, Côte d'Opale, Hexagone, Azur"
    ),
    cities=(
        City("Paris", "", ("75001", "75002", "75008", "75011", "75015"), "1"),
        City("Lyon", "", ("69001", "69002", "69003", "69007"), "47"),
        City("Marseille", "", ("13001", "13002", "13008"), "491"),
        City("Toulouse", "", ("31000", "31400"), "561"),
        City("Lille", "", ("59000", "59800"), "320"),
        City("Bordeaux", "", ("33000", "33800"), "556"),
        City("Nantes", "", ("44000", "44200"), "240"),
        City("Strasbourg", "", ("67000", "67100"), "388"),
    ),
    streets=_list(
        """rue de la République, avenue Jean Jaurès, boulevard Voltaire, rue Victor Hugo,
        rue du Commerce, avenue de la Gare, rue Pasteur, place de la Liberté, rue des Lilas,
        allée des Tilleuls, rue Nationale"""
    ),
    street_format="{n} {street}",
    female=_list(
        """Camille, Léa, Chloé, Manon, Inès, Élodie, Hélène, Zoé, Margaux, Céline, Nathalie,
        Isabelle, Gaëlle, Anaïs, Océane, Mélanie"""
    ),
    male=_list(
        """Louis, Hugo, Théo, Mathéo, Jérôme, François, Étienne, Benoît, Cédric, Grégoire,
        Nicolas, Olivier, Julien, Loïc, Raphaël, Sébastien"""
    ),
    surnames=_list(
        """Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau,
        Simon, Laurent, Lefèvre, Michel, Fournier, Girard, Bonnet, Dupont, Lambert, Fontaine,
        Rousseau, Vincent, Mercier, Faure, Blanc, Guérin, Chevalier, Gauthier, Garnier, Perrin"""
    ),
    jobs=_jobs(
        """Directeur général / Directrice générale / Direction;
        Responsable des achats / Achats;
        Directeur commercial / Directrice commerciale / Ventes;
        Comptable / Comptabilité;
        Responsable informatique / Informatique;
        Chef de projet / Cheffe de projet / Projets;
        Responsable qualité / Qualité;
        Chargé de marketing / Chargée de marketing / Marketing"""
    ),
    mailboxes=("contact", "info"),
    billing_mailbox="factures",
    vat="FR###########",
    subsidiary="{brand} France SAS",
    mobile=("6", "7"),
)

SPAIN = Country(
    code="ES",
    language="es",
    currency="EUR",
    weight=14,
    legal_forms=_weighted({"S.L.": 5, "S.A.": 2}),
    name_patterns=(
        "{sector} {surname} {legal}",
        "{sector} {brand} {legal}",
        "Hijos de {surname} {legal}",
    ),
    sectors=_sectors(
        """Talleres, Recambios, Componentes Electrónicos, Textil, Conservas, Distribuciones,
        Informática, Transportes, Construcciones, Laboratorios, Energía, Asesores"""
    ),
    brands=_list("Levante, Cantábrica, Meseta, Ebro, Tajo, Atlántica, Alhambra, Guadalquivir"),
    cities=(
        City("Madrid", "", ("28001", "28013", "28014", "28046"), "91"),
        City("Barcelona", "", ("08001", "08007", "08029"), "93"),
        City("Valencia", "", ("46001", "46004"), "96"),
        City("Sevilla", "", ("41001", "41004"), "954"),
        City("Bilbao", "", ("48001", "48009"), "94"),
        City("Zaragoza", "", ("50001", "50004"), "976"),
        City("Málaga", "", ("29001", "29016"), "952"),
    ),
    streets=_list(
        """Calle Mayor, Gran Vía, Avenida de la Constitución, Calle Real, Calle del Sol,
        Calle Nueva, Plaza de España, Calle San Vicente, Avenida de Europa,
        Calle de la Industria"""
    ),
    street_format="{street}, {n}",
    female=_list(
        """María, Lucía, Martina, Sofía, Paula, Carmen, Pilar, Ángela, Inés, Begoña, Nuria,
        Mónica, Rocío, Elena, Marta, Ainhoa"""
    ),
    male=_list(
        """José, Alejandro, Pablo, Álvaro, Javier, Sergio, Jesús, Íñigo, Raúl, Andrés,
        Joaquín, Rubén, Óscar, Jorge, Manuel, Iker"""
    ),
    surnames=_list(
        """García, Fernández, González, Rodríguez, López, Martínez, Sánchez, Pérez, Gómez,
        Martín, Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Navarro,
        Torres, Domínguez, Vázquez, Ramos, Gil, Serrano, Ibáñez, Castaño, Ortega"""
    ),
    jobs=_jobs(
        """Director general / Directora general / Dirección;
        Jefe de compras / Jefa de compras / Compras;
        Director comercial / Directora comercial / Ventas;
        Responsable de administración / Administración;
        Responsable de sistemas / Informática;
        Técnico de calidad / Técnica de calidad / Calidad;
        Responsable de logística / Logística"""
    ),
    mailboxes=("info",),
    billing_mailbox="facturas",
    vat="ESB########",
    subsidiary="{brand} España S.L.",
    mobile=("6", "6", "71", "72"),
    two_surnames=0.6,
)

ITALY = Country(
    code="IT",
    language="it",
    currency="EUR",
    weight=14,
    legal_forms=_weighted({"S.r.l.": 5, "S.p.A.": 2, "S.n.c.": 1}),
    name_patterns=(
        "{surname} {sector} {legal}",
        "{brand} {sector} {legal}",
        "Fratelli {surname} {legal}",
    ),
    sectors=_sectors(
        """Meccanica, Ricambi Auto, Elettronica, Tessile, Alimentari, Distribuzione,
        Informatica, Trasporti, Costruzioni, Farmaceutica, Energia, Consulenze"""
    ),
    brands=_list("Adriatica, Tirrena, Dolomiti, Padana, Laguna, Vesuvio, Etrusca, Appennino"),
    cities=(
        City("Milano", "MI", ("20121", "20123", "20135"), "02"),
        City("Roma", "RM", ("00184", "00186", "00197"), "06"),
        City("Torino", "TO", ("10121", "10128"), "011"),
        City("Bologna", "BO", ("40121", "40126"), "051"),
        City("Napoli", "NA", ("80121", "80133"), "081"),
        City("Firenze", "FI", ("50122", "50129"), "055"),
        City("Verona", "VR", ("37121", "37122"), "045"),
    ),
    streets=_list(
        """Via Roma, Via Garibaldi, Corso Italia, Via Mazzini, Via Dante Alighieri,
        Viale della Repubblica, Via Verdi, Piazza Cavour, Via dell'Industria,
        Corso Vittorio Emanuele II, Via XX Settembre, Via Torino"""
    ),
    street_format="{street} {n}",
    female=_list(
        """Giulia, Francesca, Chiara, Sara, Martina, Alessia, Federica, Elena, Ilaria,
        Beatrice, Valentina, Silvia, Caterina, Noemi"""
    ),
    male=_list(
        """Niccolò, Lorenzo, Matteo, Alessandro, Andrea, Davide, Luca, Marco, Giuseppe,
        Giovanni, Pietro, Simone, Fabrizio, Emanuele"""
    ),
    surnames=_list(
        """Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco,
        Bruno, Gallo, Conti, De Luca, Mancini, Costa, Giordano, Rizzo, Lombardi, Moretti,
        Barbieri, Fontana, Santoro, Mariani, Rinaldi, Caruso, Ferrara, Galli, D'Angelo, Fabbri"""
    ),
    jobs=_jobs(
        """Amministratore delegato / Amministratrice delegata / Direzione;
        Responsabile acquisti / Acquisti;
        Direttore commerciale / Direttrice commerciale / Vendite;
        Responsabile amministrativo / Responsabile amministrativa / Amministrazione;
        Responsabile IT / Sistemi informativi;
        Responsabile qualità / Qualità;
        Project manager / Progetti"""
    ),
    mailboxes=("info",),
    billing_mailbox="amministrazione",
    vat="IT###########",
    subsidiary="{brand} Italia S.r.l.",
    mobile=("320", "328", "333", "338", "347", "349", "366", "393"),
)

NETHERLANDS = Country(
    code="NL",
    language="nl",
    currency="EUR",
    weight=12,
    legal_forms=_weighted({"B.V.": 6, "N.V.": 1, "V.O.F.": 1}),
    name_patterns=(
        "{sector} {surname} {legal}",
        "{brand} {sector} {legal}",
        "{surname} & {surname2} {legal}",
    ),
    sectors=_sectors(
        """Machinefabriek, Auto-onderdelen, Elektrotechniek, Textiel, Kaashandel, Groothandel,
        Software, Transport, Bouwbedrijf, Medische Systemen, Energie, Advies"""
    ),
    brands=_list("Delta, Polder, Noordzee, Oranje, Zuiderzee, Veluwe, Maasland, IJssel"),
    cities=(
        City("Amsterdam", "", ("1012 AB", "1016 DK", "1017 CT"), "20"),
        City("Rotterdam", "", ("3011 AD", "3012 CL"), "10"),
        City("Den Haag", "", ("2511 BT", "2514 EA"), "70"),
        City("Utrecht", "", ("3511 LX", "3512 JE"), "30"),
        City("Eindhoven", "", ("5611 AZ", "5617 BC"), "40"),
        City("Groningen", "", ("9711 LM", "9712 CP"), "50"),
    ),
    streets=_list(
        """Kerkstraat, Dorpsstraat, Stationsweg, Industrieweg, Molenweg, Hoofdstraat,
        Marktplein, Schoolstraat, Havenweg, Parallelweg"""
    ),
    street_format="{street} {n}",
    female=_list(
        """Emma, Julia, Sanne, Anouk, Fleur, Lotte, Femke, Eline, Zoë, Noëlle, Inge, Marieke,
        Maartje, Joëlle"""
    ),
    male=_list("Daan, Sem, Lucas, Bram, Thijs, Joost, Sander, Pieter, Ruben, Niels, Jeroen, Koen"),
    surnames=_list(
        """de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Visser, Smit,
        Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, van Leeuwen, Dekker,
        Brouwer, de Wit, Dijkstra, Smits, de Graaf, van der Meer"""
    ),
    jobs=_jobs(
        """Directeur / Directie;
        Inkoper / Inkoop;
        Accountmanager / Verkoop;
        Financieel controller / Financiën;
        ICT-manager / ICT;
        Logistiek manager / Logistiek;
        Officemanager / Facilitair"""
    ),
    mailboxes=("info",),
    billing_mailbox="facturen",
    vat="NL#########B01",
    subsidiary="{brand} Nederland B.V.",
    mobile=("6",),
)

UNITED_KINGDOM = Country(
    code="GB",
    language="en-gb",
    currency="GBP",
    weight=18,
    legal_forms=_weighted({"Ltd": 6, "plc": 1, "LLP": 1}),
    name_patterns=(
        "{brand} {sector} {legal}",
        "{surname} {sector} {legal}",
        "{surname} & {surname2} {legal}",
        "{surname} & Sons {legal}",
    ),
    sectors=_sectors(
        """Engineering, Motor Components, Electronics, Textiles, Foods, Retail,
        Software, Logistics, Construction, Healthcare, Energy, Consulting"""
    ),
    brands=_list(
        """Ashcombe, Pennine, Thames, Cotswold, Severn, Highland, Mersey, Cheviot, Wessex,
        Kingsbridge"""
    ),
    # Landlines in Ofcom's ranges reserved for drama, so none of them rings anyone.
    cities=(
        City("London", "", ("EC2A 4NE", "WC2N 5DU", "SE1 9SG", "N1 9GU", "E14 5AB"), "2079460"),
        City("Manchester", "", ("M1 1AE", "M2 5DB", "M3 3EB"), "1614960"),
        City("Birmingham", "", ("B1 1BB", "B2 4QA", "B3 2NS"), "1214960"),
        City("Leeds", "", ("LS1 4DY", "LS2 7EW"), "1134960"),
        City("Bristol", "", ("BS1 4DJ", "BS1 6QF"), "1174960"),
        City("Edinburgh", "", ("EH1 1YZ", "EH2 2ER", "EH3 9DR"), "1314960"),
        City("Glasgow", "", ("G1 1XQ", "G2 5RJ"), "1414960"),
    ),
    streets=_list(
        """High Street, Station Road, Church Street, Victoria Road, King Street, Queen Street,
        Mill Lane, London Road, Market Street, Castle Street, New Road"""
    ),
    street_format="{n} {street}",
    street2="Unit {c}",
    female=_list(
        """Olivia, Amelia, Isla, Ava, Emily, Sophie, Grace, Chloe, Zoë, Siobhán, Niamh, Aoife,
        Eilidh, Fiona, Priya, Harriet"""
    ),
    male=_list(
        """Oliver, George, Harry, Jack, Thomas, James, William, Oscar, Alfie, Rhys, Dafydd,
        Callum, Mohammed, Rory, Seán, Angus"""
    ),
    surnames=_list(
        """Smith, Jones, Williams, Taylor, Davies, Evans, Wilson, Johnson, Roberts, Robinson,
        Thompson, Wright, Walker, White, Edwards, Hughes, Green, Hall, Lewis, Harris, Patel,
        Jackson, Wood, Turner, Cooper, Hill, Ward, Morris, O'Brien, MacLeod, McAllister, Khan"""
    ),
    jobs=_jobs(
        """Managing Director / Management;
        Head of Procurement / Procurement;
        Sales Director / Sales;
        Finance Manager / Finance;
        IT Manager / IT;
        Operations Manager / Operations;
        Office Manager / Administration;
        Marketing Manager / Marketing"""
    ),
    mailboxes=("info", "hello", "enquiries"),
    billing_mailbox="accounts",
    vat="GB#########",
    subsidiary="{brand} UK Ltd",
    mobile=("74", "75", "77", "78", "79"),
)

UNITED_STATES = Country(
    code="US",
    language="en",
    currency="USD",
    weight=26,
    legal_forms=_weighted({"Inc.": 5, "LLC": 3, "Corp.": 1}),
    name_patterns=(
        "{brand} {sector} {legal}",
        "{surname} {sector} {legal}",
        "{surname} & {surname2} {legal}",
        "{brand} {legal}",
    ),
    sectors=_sectors(
        """Machine Works, Auto Parts, Electronics, Apparel, Foods, Supply,
        Software, Freight, Builders, Health, Energy, Advisors"""
    ),
    brands=_list(
        """Summit, Lakeshore, Keystone, Pioneer, Bluegrass, Cascade, Liberty, Great Plains,
        Evergreen, Riverbend"""
    ),
    # Numbers in 555-0100 to 555-0199, which are reserved for fiction.
    cities=(
        City("New York", "NY", ("10001", "10013", "10118", "10022"), "21255501"),
        City("San Francisco", "CA", ("94103", "94105", "94111"), "41555501"),
        City("Chicago", "IL", ("60601", "60606", "60611"), "31255501"),
        City("Boston", "MA", ("02110", "02116"), "61755501"),
        City("Seattle", "WA", ("98101", "98104", "98121"), "20655501"),
        City("Austin", "TX", ("78701", "78704"), "51255501"),
        City("Denver", "CO", ("80202", "80205"), "30355501"),
        City("Atlanta", "GA", ("30303", "30308"), "40455501"),
        City("Minneapolis", "MN", ("55401", "55402"), "61255501"),
        City("Portland", "OR", ("97204", "97209"), "50355501"),
    ),
    streets=_list(
        """Main Street, Oak Street, Maple Avenue, Broadway, Market Street, Washington Street,
        Elm Street, Park Avenue, Lake Street, 2nd Street, Pine Street, Cedar Lane"""
    ),
    street_format="{big} {street}",
    street2="Suite {c}00",
    female=_list(
        """Emily, Madison, Ashley, Jessica, Sarah, Megan, Lauren, Hannah, Jennifer, Aaliyah,
        Latoya, Sofía, Mei, Brianna"""
    ),
    male=_list(
        """Michael, Christopher, Matthew, Joshua, Daniel, Andrew, Tyler, Ryan, Brandon, Kevin,
        DeShawn, Jamal, Carlos, Juan"""
    ),
    surnames=_list(
        """Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Garcia, Rodriguez, Wilson,
        Martinez, Anderson, Taylor, Thomas, Hernandez, Moore, Jackson, Thompson, White, Lopez,
        Lee, Gonzalez, Harris, Clark, Lewis, Robinson, Walker, Nguyen, Kim, O'Neil,
        Kowalczyk, Cohen"""
    ),
    jobs=_jobs(
        """CEO / Executive;
        Purchasing Manager / Purchasing;
        VP of Sales / Sales;
        Controller / Accounting;
        IT Director / IT;
        Operations Manager / Operations;
        Office Manager / Administration;
        Marketing Manager / Marketing"""
    ),
    mailboxes=("info", "hello", "contact"),
    billing_mailbox="billing",
    vat="##-#######",
    subsidiary="{brand} USA Inc.",
    mobile=(),
)

BRAZIL = Country(
    code="BR",
    language="pt-br",
    currency="BRL",
    weight=14,
    legal_forms=_weighted({"Ltda.": 5, "S.A.": 2}),
    name_patterns=(
        "{sector} {surname} {legal}",
        "{sector} {brand} {legal}",
        "{surname} & Filhos {legal}",
    ),
    sectors=_sectors(
        """Metalúrgica, Autopeças, Eletrônica, Têxtil, Alimentos, Comércio,
        Sistemas, Transportes, Construtora, Laboratório, Energia, Consultoria"""
    ),
    brands=_list("Paulista, Carioca, Amazônia, Cerrado, Pampa, Atlântico, Serra Azul, Horizonte"),
    cities=(
        City("São Paulo", "SP", ("01310-100", "01310-200", "04538-132", "05425-070"), "11"),
        City("Rio de Janeiro", "RJ", ("20040-002", "22250-040", "22640-102"), "21"),
        City("Belo Horizonte", "MG", ("30130-010", "30140-071"), "31"),
        City("Curitiba", "PR", ("80010-000", "80250-104"), "41"),
        City("Porto Alegre", "RS", ("90010-150", "90570-020"), "51"),
        City("Recife", "PE", ("50030-230", "51020-010"), "81"),
    ),
    streets=_list(
        """Rua das Flores, Avenida Brasil, Rua XV de Novembro, Rua Sete de Setembro,
        Avenida Getúlio Vargas, Rua São Paulo, Rua Tiradentes, Avenida Rio Branco,
        Rua Dom Pedro II"""
    ),
    street_format="{street}, {big}",
    street2="Sala {c}",
    female=_list(
        """Ana Luíza, Maria Eduarda, Júlia, Beatriz, Larissa, Letícia, Fernanda, Camila,
        Gabriela, Luíza, Mariana, Conceição, Thaís, Lívia"""
    ),
    male=_list(
        """João Pedro, João, Lucas, Gabriel, Matheus, Guilherme, Rafael, Felipe, Thiago,
        Vinícius, Caio, Antônio, Sebastião, Luís"""
    ),
    surnames=_list(
        """Silva, Santos, Oliveira, Souza, Rodrigues, Ferreira, Alves, Pereira, Lima, Gomes,
        Costa, Ribeiro, Martins, Carvalho, Almeida, Lopes, Soares, Fernandes, Vieira, Barbosa,
        Rocha, Dias, Nascimento, Araújo, Magalhães, Gonçalves, Brandão"""
    ),
    jobs=_jobs(
        """Diretor-geral / Diretora-geral / Diretoria;
        Gerente de compras / Compras;
        Gerente comercial / Comercial;
        Analista financeiro / Analista financeira / Financeiro;
        Coordenador de TI / Coordenadora de TI / TI;
        Supervisor de logística / Supervisora de logística / Logística"""
    ),
    mailboxes=("contato",),
    billing_mailbox="financeiro",
    vat="##.###.###/0001-##",
    subsidiary="{brand} do Brasil Ltda.",
    mobile=("{area}9",),
    two_surnames=0.4,
)

JAPAN_WORDS = _pairs(
    """佐藤 Sato, 鈴木 Suzuki, 高橋 Takahashi, 田中 Tanaka, 伊藤 Ito, 渡辺 Watanabe,
    山本 Yamamoto, 中村 Nakamura, 小林 Kobayashi, 加藤 Kato, 吉田 Yoshida, 山田 Yamada,
    佐々木 Sasaki, 山口 Yamaguchi, 松本 Matsumoto, 井上 Inoue, 木村 Kimura, 林 Hayashi,
    斎藤 Saito, 清水 Shimizu,
    太郎 Taro, 翔太 Shota, 大輔 Daisuke, 健太 Kenta, 拓也 Takuya, 直樹 Naoki, 誠 Makoto,
    浩 Hiroshi, 隆 Takashi, 蓮 Ren, 悠人 Yuto, 健一 Kenichi,
    花子 Hanako, 陽子 Yoko, 恵子 Keiko, 由美 Yumi, 美咲 Misaki, 結衣 Yui, さくら Sakura,
    愛 Ai, 直美 Naomi, 真由美 Mayumi, 彩 Aya, 明美 Akemi,
    東洋 Toyo, 大和 Yamato, 三和 Sanwa, 富士 Fuji, 北斗 Hokuto, 日進 Nisshin, 明光 Meiko, 旭 Asahi,
    製作所 Seisakusho, 電機 Denki, 自動車部品 Jidosha-Buhin, 商事 Shoji, 食品 Shokuhin,
    運輸 Unyu, 建設 Kensetsu, 製薬 Seiyaku, システムズ Systems, 繊維 Seni, エナジー Energy,
    コンサルティング Consulting"""
)

JAPAN = Country(
    code="JP",
    language="ja",
    currency="JPY",
    weight=14,
    legal_forms=_weighted({"株式会社": 3, "有限会社": 1}),
    name_patterns=(
        "{legal}{surname}{sector}",
        "{surname}{sector}{legal}",
        "{brand}{sector}{legal}",
        "{legal}{brand}{sector}",
    ),
    sectors=_sectors(
        """製作所, 自動車部品, 電機, 繊維, 食品, 商事,
        システムズ, 運輸, 建設, 製薬, エナジー, コンサルティング"""
    ),
    brands=_list("東洋, 大和, 三和, 富士, 北斗, 日進, 明光, 旭"),
    cities=(
        City("千代田区", "東京都", ("100-0005",), "3", ("丸の内",)),
        City("港区", "東京都", ("107-0062",), "3", ("南青山",)),
        City("渋谷区", "東京都", ("150-0002",), "3", ("渋谷",)),
        City("大阪市北区", "大阪府", ("530-0001",), "6", ("梅田",)),
        City("名古屋市中村区", "愛知県", ("450-0002",), "52", ("名駅",)),
        City("横浜市西区", "神奈川県", ("220-0012",), "45", ("みなとみらい",)),
        City("福岡市博多区", "福岡県", ("812-0011",), "92", ("博多駅前",)),
        City("京都市下京区", "京都府", ("600-8216",), "75", ("東塩小路町",)),
    ),
    streets=(),
    street_format="{street}{b}-{c}-{d}",
    female=_list("花子, 陽子, 恵子, 由美, 美咲, 結衣, さくら, 愛, 直美, 真由美, 彩, 明美"),
    male=_list("太郎, 翔太, 大輔, 健太, 拓也, 直樹, 誠, 浩, 隆, 蓮, 悠人, 健一"),
    surnames=_list(
        """佐藤, 鈴木, 高橋, 田中, 伊藤, 渡辺, 山本, 中村, 小林, 加藤, 吉田, 山田, 佐々木, 山口,
        松本, 井上, 木村, 林, 斎藤, 清水"""
    ),
    jobs=_jobs(
        """代表取締役社長 / 経営企画部;
        営業部長 / 営業部;
        購買課長 / 購買部;
        経理担当 / 経理部;
        情報システム課長 / 情報システム部;
        品質保証担当 / 品質保証部;
        総務課長 / 総務部"""
    ),
    mailboxes=("info",),
    billing_mailbox="keiri",
    vat="T#############",
    subsidiary="{brand} Japan K.K.",
    mobile=("90", "80", "70"),
    family_first=True,
    romaji=JAPAN_WORDS,
)

POLAND = Country(
    code="PL",
    language="pl",
    currency="PLN",
    weight=12,
    legal_forms=_weighted({"Sp. z o.o.": 5, "S.A.": 1, "sp.k.": 1}),
    name_patterns=("{brand} {sector} {legal}", "{surname} {sector} {legal}"),
    sectors=_sectors(
        """Maszyny, Motoryzacja, Elektronika, Tekstylia, Żywność, Handel,
        Software, Logistyka, Budownictwo, Farmacja, Energia, Doradztwo"""
    ),
    brands=_list("Wisła, Mazowsze, Bałtyk, Tatry, Warta, Odra, Karpaty, Pomorze"),
    cities=(
        City("Warszawa", "", ("00-120", "00-514", "02-675", "00-950"), "22"),
        City("Kraków", "", ("31-005", "31-042", "30-552"), "12"),
        City("Wrocław", "", ("50-075", "53-332"), "71"),
        City("Poznań", "", ("61-713", "60-166"), "61"),
        City("Gdańsk", "", ("80-831", "80-244"), "58"),
        City("Łódź", "", ("90-135", "90-361"), "42"),
        City("Katowice", "", ("40-097", "40-203"), "32"),
    ),
    streets=_list(
        """ul. Długa, ul. Polna, ul. Lipowa, ul. Kościuszki, ul. Mickiewicza, ul. Słowackiego,
        ul. Ogrodowa, ul. Przemysłowa, al. Jana Pawła II, ul. Piłsudskiego, ul. Kwiatowa,
        ul. Sienkiewicza"""
    ),
    street_format="{street} {n}",
    female=_list(
        """Anna, Małgorzata, Agnieszka, Katarzyna, Joanna, Magdalena, Ewa, Zofia, Aleksandra,
        Dorota, Beata, Jolanta, Grażyna, Urszula"""
    ),
    male=_list(
        """Łukasz, Paweł, Michał, Piotr, Krzysztof, Tomasz, Jakub, Marcin, Grzegorz,
        Wojciech, Zbigniew, Bartłomiej, Jarosław, Andrzej"""
    ),
    surnames=_list(
        """Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, Zieliński,
        Szymański, Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur, Krawczyk, Piotrowski,
        Grabowski, Pawłowski, Michalski, Król, Wieczorek, Jabłoński, Wróbel, Majewski,
        Stępień, Górski, Sikora, Baran, Dudek, Zawadzki"""
    ),
    jobs=_jobs(
        """Prezes zarządu / Zarząd;
        Kierownik działu zakupów / Kierowniczka działu zakupów / Zakupy;
        Dyrektor handlowy / Dyrektorka handlowa / Sprzedaż;
        Główny księgowy / Główna księgowa / Księgowość;
        Specjalista ds. IT / Specjalistka ds. IT / IT;
        Kierownik logistyki / Kierowniczka logistyki / Logistyka"""
    ),
    mailboxes=("biuro", "kontakt"),
    billing_mailbox="faktury",
    vat="PL##########",
    subsidiary="{brand} Polska Sp. z o.o.",
    mobile=("50", "51", "53", "60", "66", "69", "72", "78", "79", "88"),
    feminine_surnames=True,
)

SWEDEN = Country(
    code="SE",
    language="sv",
    currency="SEK",
    weight=10,
    legal_forms=_weighted({"AB": 1}),
    name_patterns=(
        "{surname} {sector} {legal}",
        "{brand} {sector} {legal}",
        "{surname} & {surname2} {legal}",
    ),
    sectors=_sectors(
        """Verkstad, Fordonsdelar, Elektronik, Textil, Livsmedel, Handel,
        Data, Transport, Bygg, Medicinteknik, Energi, Konsult"""
    ),
    brands=_list("Norrland, Vättern, Mälardalen, Fjäll, Skärgård, Österlen, Dalarna, Gotland"),
    cities=(
        City("Stockholm", "", ("111 21", "111 52", "114 35", "118 46"), "8"),
        City("Göteborg", "", ("411 03", "411 36"), "31"),
        City("Malmö", "", ("211 20", "211 43"), "40"),
        City("Uppsala", "", ("753 20", "752 37"), "18"),
        City("Linköping", "", ("582 24",), "13"),
        City("Västerås", "", ("722 15",), "21"),
    ),
    streets=_list(
        """Storgatan, Drottninggatan, Kungsgatan, Södra vägen, Järnvägsgatan, Industrigatan,
        Skolgatan, Kyrkogatan, Hamngatan, Nygatan"""
    ),
    street_format="{street} {n}",
    female=_list(
        """Linnéa, Åsa, Maja, Elsa, Ingrid, Karin, Annika, Sofia, Märta, Ebba, Astrid,
        Sigrid, Ylva, Frida"""
    ),
    male=_list(
        "Erik, Lars, Karl, Anders, Johan, Per, Nils, Björn, Gustav, Oskar, Göran, Håkan, Olof"
    ),
    surnames=_list(
        """Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Olsson, Persson,
        Svensson, Gustafsson, Pettersson, Jonsson, Lindberg, Lindqvist, Lindström, Berglund,
        Sjöberg, Åberg, Ström, Hedlund, Öberg, Lundgren, Ek, Nordström, Wallin"""
    ),
    jobs=_jobs(
        """VD / Ledning;
        Inköpschef / Inköp;
        Försäljningschef / Försäljning;
        Ekonomichef / Ekonomi;
        IT-chef / IT;
        Logistikansvarig / Logistik;
        Projektledare / Projekt"""
    ),
    mailboxes=("info",),
    billing_mailbox="faktura",
    vat="SE##########01",
    subsidiary="{brand} Sverige AB",
    mobile=("70", "72", "73", "76"),
    fixed_length=9,
)

DENMARK = Country(
    code="DK",
    language="da",
    currency="DKK",
    weight=6,
    legal_forms=_weighted({"ApS": 3, "A/S": 2, "I/S": 1}),
    name_patterns=(
        "{surname} {sector} {legal}",
        "{brand} {sector} {legal}",
        "{surname} & {surname2} {legal}",
    ),
    sectors=_sectors(
        """Maskinfabrik, Autodele, Elektronik, Tekstil, Fødevarer, Handel,
        Software, Transport, Byg, Medico, Energi, Rådgivning"""
    ),
    brands=_list("Nordsø, Jylland, Limfjord, Øresund, Fyn, Skagen, Vestkyst, Kattegat"),
    cities=(
        City("København K", "", ("1050", "1165"), "33"),
        City("København V", "", ("1620", "1650"), "33"),
        City("Aarhus C", "", ("8000",), "86"),
        City("Odense C", "", ("5000",), "66"),
        City("Aalborg", "", ("9000",), "98"),
        City("Esbjerg", "", ("6700",), "75"),
    ),
    streets=_list(
        """Vesterbrogade, Nørregade, Østergade, Strandvejen, Algade, Jernbanegade, Søndergade,
        Industrivej, Kongensgade, Havnegade"""
    ),
    street_format="{street} {n}",
    female=_list(
        """Mette, Sofie, Ida, Freja, Line, Camilla, Birgitte, Kirsten, Signe, Astrid, Maja,
        Trine, Lærke, Ditte"""
    ),
    male=_list(
        """Søren, Mads, Rasmus, Frederik, Mikkel, Jesper, Anders, Henrik, Morten, Jørgen,
        Bjørn, Kasper, Niels, Asger"""
    ),
    surnames=_list(
        """Jensen, Nielsen, Hansen, Pedersen, Andersen, Christensen, Larsen, Sørensen,
        Rasmussen, Jørgensen, Petersen, Madsen, Kristensen, Olsen, Thomsen, Poulsen, Johansen,
        Møller, Mortensen, Kjær, Holm, Østergaard, Dalsgaard, Lindholm"""
    ),
    jobs=_jobs(
        """Administrerende direktør / Direktion;
        Indkøbschef / Indkøb;
        Salgschef / Salg;
        Økonomichef / Økonomi;
        IT-chef / IT;
        Projektleder / Projekter"""
    ),
    mailboxes=("info", "kontakt"),
    billing_mailbox="faktura",
    vat="DK########",
    subsidiary="{brand} Danmark A/S",
    mobile=("20", "21", "22", "26", "28", "30", "31", "40", "42", "50", "51", "60", "61", "71"),
    translit=str.maketrans({"ø": "oe", "å": "aa", "æ": "ae", "Ø": "Oe", "Å": "Aa", "Æ": "Ae"}),
)

CHINA_WORDS = _pairs(
    """王 Wang, 李 Li, 张 Zhang, 刘 Liu, 陈 Chen, 杨 Yang, 黄 Huang, 赵 Zhao, 吴 Wu, 周 Zhou,
    徐 Xu, 孙 Sun, 马 Ma, 朱 Zhu, 胡 Hu, 郭 Guo, 何 He, 林 Lin, 罗 Luo, 高 Gao,
    伟 Wei, 强 Qiang, 磊 Lei, 军 Jun, 洋 Yang, 勇 Yong, 杰 Jie, 涛 Tao, 明 Ming, 超 Chao,
    建华 Jianhua, 志强 Zhiqiang, 晓明 Xiaoming, 浩然 Haoran,
    芳 Fang, 娜 Na, 秀英 Xiuying, 敏 Min, 静 Jing, 丽 Li, 艳 Yan, 娟 Juan, 霞 Xia,
    秀兰 Xiulan, 婷 Ting, 雪 Xue, 佳怡 Jiayi,
    华信 Huaxin, 海天 Haitian, 金达 Jinda, 恒通 Hengtong, 鑫源 Xinyuan, 长城 Changcheng,
    东方 Dongfang, 远航 Yuanhang, 天宇 Tianyu, 博远 Boyuan,
    电子 Dianzi, 机械 Jixie, 汽车配件 Qiche-Peijian, 贸易 Maoyi, 食品 Shipin, 物流 Wuliu,
    建设 Jianshe, 医药 Yiyao, 软件 Ruanjian, 纺织 Fangzhi, 新能源 Xin-Nengyuan, 咨询 Zixun,
    北京 Beijing, 上海 Shanghai, 深圳 Shenzhen, 广州 Guangzhou, 杭州 Hangzhou, 成都 Chengdu"""
)

CHINA = Country(
    code="CN",
    language="zh-hans",
    currency="CNY",
    weight=8,
    legal_forms=_weighted({"有限公司": 3, "股份有限公司": 1}),
    name_patterns=("{city}{brand}{sector}{legal}", "{brand}{sector}{legal}"),
    sectors=_sectors(
        "机械, 汽车配件, 电子, 纺织, 食品, 贸易, 软件, 物流, 建设, 医药, 新能源, 咨询"
    ),
    brands=_list("华信, 海天, 金达, 恒通, 鑫源, 长城, 东方, 远航, 天宇, 博远"),
    cities=(
        City("北京", "北京市", ("100020", "100022"), "10", ("朝阳区建国路", "东城区东长安街")),
        City("上海", "上海市", ("200120", "200002"), "21", ("浦东新区世纪大道", "黄浦区南京东路")),
        City("深圳", "广东省", ("518000", "518048"), "755", ("福田区深南大道", "南山区科技园南路")),
        City("广州", "广东省", ("510620", "510623"), "20", ("天河区天河路", "越秀区环市东路")),
        City("杭州", "浙江省", ("310000", "310012"), "571", ("西湖区文三路", "滨江区江南大道")),
        City("成都", "四川省", ("610041", "610016"), "28", ("高新区天府大道", "锦江区春熙路")),
    ),
    streets=(),
    street_format="{street}{n}号",
    female=_list("芳, 娜, 秀英, 敏, 静, 丽, 艳, 娟, 霞, 秀兰, 婷, 雪, 佳怡"),
    male=_list("伟, 强, 磊, 军, 洋, 勇, 杰, 涛, 明, 超, 建华, 志强, 晓明, 浩然"),
    surnames=_list(
        "王, 李, 张, 刘, 陈, 杨, 黄, 赵, 吴, 周, 徐, 孙, 马, 朱, 胡, 郭, 何, 林, 罗, 高"
    ),
    jobs=_jobs(
        """总经理 / 总经办;
        销售经理 / 销售部;
        采购经理 / 采购部;
        财务主管 / 财务部;
        技术总监 / 技术部;
        物流主管 / 物流部"""
    ),
    mailboxes=("info", "service"),
    billing_mailbox="finance",
    vat="91######MA##@@##@#",
    subsidiary="{brand} (China) Co., Ltd.",
    mobile=("138", "139", "150", "158", "186", "188"),
    family_first=True,
    name_join="",
    romaji=CHINA_WORDS,
)

INDIA = Country(
    code="IN",
    language="en",
    currency="INR",
    weight=10,
    legal_forms=_weighted({"Pvt. Ltd.": 5, "Ltd": 2, "LLP": 1}),
    name_patterns=(
        "{brand} {sector} {legal}",
        "{surname} {sector} {legal}",
        "{surname} & Sons {legal}",
    ),
    sectors=_sectors(
        """Engineering, Auto Components, Electronics, Textiles, Foods, Traders,
        Infotech, Logistics, Constructions, Pharma, Power, Consultants"""
    ),
    brands=_list("Sahyadri, Ganga, Deccan, Kaveri, Indus, Konark, Vindhya, Narmada, Coromandel"),
    cities=(
        City("Mumbai", "Maharashtra", ("400001", "400051", "400013"), "22"),
        City("New Delhi", "Delhi", ("110001", "110017"), "11"),
        City("Bengaluru", "Karnataka", ("560001", "560066", "560103"), "80"),
        City("Chennai", "Tamil Nadu", ("600002", "600113"), "44"),
        City("Hyderabad", "Telangana", ("500081", "500032"), "40"),
        City("Pune", "Maharashtra", ("411001", "411057"), "20"),
    ),
    streets=_list(
        """MG Road, Station Road, Nehru Street, Gandhi Road, Park Street, Church Road,
        Link Road, Ring Road, Main Road, Industrial Area Phase II"""
    ),
    street_format="{n}, {street}",
    street2="Floor {b}",
    female=_list(
        """Priya, Ananya, Aishwarya, Deepika, Kavya, Lakshmi, Meera, Pooja, Neha, Sunita,
        Divya, Shreya, Anjali, Radhika"""
    ),
    male=_list(
        """Aarav, Vivaan, Aditya, Arjun, Rohan, Rahul, Vikram, Sanjay, Rajesh, Suresh, Amit,
        Karthik, Venkatesh, Arun"""
    ),
    surnames=_list(
        """Sharma, Verma, Gupta, Patel, Singh, Kumar, Reddy, Rao, Iyer, Nair, Menon, Joshi,
        Mehta, Shah, Desai, Chatterjee, Banerjee, Mukherjee, Das, Pillai, Agarwal, Kapoor,
        Malhotra, Bhat, Krishnan"""
    ),
    jobs=_jobs(
        """Managing Director / Management;
        Purchase Manager / Purchase;
        General Manager – Sales / Sales;
        Chief Financial Officer / Finance;
        Head – IT / IT;
        Operations Executive / Operations"""
    ),
    mailboxes=("info", "contact"),
    billing_mailbox="accounts",
    vat="##@@@@@####@1Z#",
    subsidiary="{brand} India Pvt. Ltd.",
    mobile=("98", "99", "97", "90", "81", "70", "63"),
)

COUNTRIES = (
    GERMANY,
    FRANCE,
    SPAIN,
    ITALY,
    NETHERLANDS,
    UNITED_KINGDOM,
    UNITED_STATES,
    BRAZIL,
    JAPAN,
    POLAND,
    SWEDEN,
    DENMARK,
    CHINA,
    INDIA,
)
COUNTRY = {country.code: country for country in COUNTRIES}


@dataclass(frozen=True)
class Group:
    """A parent company with subsidiaries abroad."""

    country: str
    name: str  # the parent's name
    brand: str  # the Latin brand its subsidiaries carry
    industry: str
    subsidiaries: tuple[str, ...]  # their countries


GROUPS = (
    Group("DE", "Nordwerk AG", "Nordwerk", MACHINERY, ("FR", "PL", "GB", "US", "CN")),
    Group("US", "Redwood Analytics Inc.", "Redwood Analytics", SOFTWARE, ("GB", "DE", "IN", "BR")),
    Group("JP", "東洋精機株式会社", "Toyo Seiki", ELECTRONICS, ("US", "CN", "DE")),
    Group("FR", "Lacroix Distribution SA", "Lacroix", RETAIL, ("ES", "IT", "NL")),
    Group("SE", "Nordkraft AB", "Nordkraft", ENERGY, ("DK", "DE", "PL")),
)

# --------------------------------------------------------------------------
# Timeline texts

PRODUCTS = ("X200", "X400 Pro", "Nova 3", "Atlas Cloud", "Orbit sensor kit")
AMOUNTS = (1200, 2500, 4800, 7500, 12000, 18500, 24000, 36000)
CURRENCY_FACTOR = {"BRL": 5, "JPY": 150, "PLN": 4, "SEK": 10, "DKK": 7, "CNY": 7, "INR": 80}
NOTE_LANGUAGE = {"en-gb": "en", "pt-br": "pt", "zh-hans": "zh"}  # else the code itself

WEEKDAYS = {
    "en": _list("Monday, Tuesday, Wednesday, Thursday, Friday"),
    "de": _list("Montag, Dienstag, Mittwoch, Donnerstag, Freitag"),
    "fr": _list("lundi, mardi, mercredi, jeudi, vendredi"),
    "es": _list("lunes, martes, miércoles, jueves, viernes"),
    "it": _list("lunedì, martedì, mercoledì, giovedì, venerdì"),
    "nl": _list("maandag, dinsdag, woensdag, donderdag, vrijdag"),
    "pt": _list("segunda-feira, terça-feira, quarta-feira, quinta-feira, sexta-feira"),
    "sv": _list("måndag, tisdag, onsdag, torsdag, fredag"),
    "da": _list("mandag, tirsdag, onsdag, torsdag, fredag"),
    "ja": _list("月曜日, 火曜日, 水曜日, 木曜日, 金曜日"),
    "zh": _list("周一, 周二, 周三, 周四, 周五"),
}

NOTE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "Call with {contact}: the {product} rollout is going well. They plan to extend it "
        "to their second site next quarter.",
        "Sent the quote for {n} × {product} ({amount}). {contact} will discuss it "
        "internally and get back to us by {weekday}.",
        "Invoice paid late again, the third time this year. Suggested direct debit; "
        "{contact} will check with their finance team.",
        "Met {contact} at the trade fair. Interested in {product} and would like a demo "
        "for the team.",
        "Complaint about delivery delays on the last order. Apologised and offered free "
        "shipping on the next one.",
        "{contact} asked for the updated price list and our terms for volume discounts.",
        "Renewal due in {n} weeks. {contact} hinted at budget cuts, so prepare a lighter "
        "package around {product}.",
        "Visited their site. Production is expanding; a good opening for {product}.",
        "Left a voicemail for {contact}. Try again on {weekday} morning.",
        "{contact} agreed to a short case study about {product} for our newsletter.",
    ),
    "de": (
        "Telefonat mit {contact}: Mit {product} sehr zufrieden. Der zweite Standort soll "
        "im nächsten Quartal folgen.",
        "Angebot über {n} × {product} ({amount}) verschickt. {contact} meldet sich bis {weekday}.",
        "Rechnung wieder verspätet bezahlt. Lastschrift vorgeschlagen; {contact} klärt das "
        "mit der Buchhaltung.",
        "{contact} auf der Messe getroffen. Interesse an {product}, wünscht eine "
        "Vorführung vor Ort.",
        "Reklamation wegen Lieferverzug. Entschuldigt und für die nächste Bestellung "
        "versandkostenfreie Lieferung angeboten.",
        "Rückruf am {weekday} vereinbart. Themen: Rahmenvertrag und Staffelpreise.",
        "Besuch im Werk: Die Produktion wird ausgebaut, guter Ansatz für {product}.",
    ),
    "fr": (
        "Appel avec {contact} : tout se passe bien avec {product}. Un deuxième site est "
        "prévu au prochain trimestre.",
        "Devis envoyé pour {n} × {product} ({amount}). Réponse attendue d'ici {weekday}.",
        "Facture encore payée en retard. Proposé le prélèvement automatique ; {contact} "
        "en parle à la comptabilité.",
        "Rencontré {contact} au salon. Intérêt pour {product}, souhaite une démonstration.",
        "Réclamation : retard de livraison sur la dernière commande. Frais de port offerts "
        "sur la prochaine.",
        "Rappeler {contact} {weekday} matin pour le renouvellement du contrat.",
        "Visite sur site : l'atelier s'agrandit. Piste intéressante pour {product}.",
    ),
    "es": (
        "Llamada con {contact}: el despliegue de {product} va muy bien. Quieren ampliarlo "
        "a la segunda planta el próximo trimestre.",
        "Enviado el presupuesto de {n} × {product} ({amount}). {contact} nos responde "
        "antes del {weekday}.",
        "Factura pagada con retraso otra vez. Propuesta: domiciliación bancaria. {contact} "
        "lo consultará con administración.",
        "Conocí a {contact} en la feria. Le interesa {product}; pide una demo para su equipo.",
        "Queja por retraso en la entrega. Nos disculpamos y ofrecimos el envío gratuito del "
        "próximo pedido.",
        "{contact} pide la tarifa actualizada y condiciones para grandes volúmenes.",
        "Renovación en {n} semanas. Ojo: recortes de presupuesto, preparar una oferta más "
        "ajustada.",
    ),
    "it": (
        "Telefonata con {contact}: soddisfatti di {product}. Vogliono estenderlo alla "
        "seconda sede nel prossimo trimestre.",
        "Inviato preventivo per {n} × {product} ({amount}). {contact} ci risponde entro {weekday}.",
        "Fattura pagata di nuovo in ritardo. Proposto l'addebito diretto; {contact} ne "
        "parla con l'amministrazione.",
        "Incontrato {contact} in fiera: interesse per {product}, chiede una demo.",
        "Reclamo per ritardo nella consegna. Offerta la spedizione gratuita sul prossimo ordine.",
        "Richiamare {contact} {weekday} mattina per il rinnovo del contratto.",
    ),
    "nl": (
        "Gebeld met {contact}: tevreden over {product}. De tweede vestiging volgt volgend "
        "kwartaal.",
        "Offerte voor {n} × {product} ({amount}) verstuurd. {contact} laat vóór {weekday} "
        "iets weten.",
        "Factuur weer te laat betaald. Automatische incasso voorgesteld; {contact} overlegt "
        "met de administratie.",
        "{contact} gesproken op de beurs. Interesse in {product}, wil graag een demo.",
        "Klacht over late levering. Excuses aangeboden en gratis verzending bij de volgende "
        "bestelling.",
    ),
    "pt": (
        "Ligação com {contact}: satisfeitos com o {product}. Querem expandir para a segunda "
        "unidade no próximo trimestre.",
        "Orçamento enviado: {n} × {product} ({amount}). {contact} retorna até {weekday}.",
        "Fatura paga com atraso de novo. Sugerimos débito automático; {contact} vai falar "
        "com o financeiro.",
        "Conheci {contact} na feira. Interesse no {product}; pediu uma demonstração.",
        "Reclamação por atraso na entrega. Oferecemos frete grátis no próximo pedido.",
    ),
    "sv": (
        "Samtal med {contact}: nöjda med {product}. Vill rulla ut det på den andra "
        "anläggningen nästa kvartal.",
        "Skickade offert på {n} × {product} ({amount}). {contact} återkommer senast på {weekday}.",
        "Fakturan betald sent igen. Föreslog autogiro; {contact} tar det med ekonomiavdelningen.",
        "Träffade {contact} på mässan. Intresserad av {product}, vill ha en demo.",
        "Klagomål på försenad leverans. Bjöd på frakten för nästa order.",
    ),
    "da": (
        "Samtale med {contact}: glade for {product}. Vil udvide til den anden afdeling "
        "næste kvartal.",
        "Tilbud sendt på {n} × {product} ({amount}). {contact} vender tilbage senest {weekday}.",
        "Fakturaen betalt for sent igen. Foreslog Betalingsservice; {contact} tager det op "
        "med økonomi.",
        "Mødte {contact} på messen. Interesseret i {product} og vil gerne se en demo.",
        "Klage over forsinket levering. Tilbød gratis fragt på næste ordre.",
    ),
    "ja": (
        "{contact}様と電話。{product}の導入は順調とのこと。来期に第二工場へも展開予定。",
        "{product}{n}台の見積書（{amount}）を送付。{weekday}までに社内で検討のうえ回答いただける予定。",
        "展示会で{contact}様と名刺交換。{product}に関心あり、デモを希望。",
        "前回注文の納期遅延についてクレーム。お詫びし、次回の送料無料を提案。",
        "{weekday}の午前に{contact}様へ折り返し電話すること。契約更新の件。",
    ),
    "zh": (
        "与{contact}通话：{product}上线顺利，下季度计划推广到第二个工厂。",
        "已发送{n}套{product}的报价（{amount}），{contact}将在{weekday}前答复。",
        "在展会上认识了{contact}，对{product}感兴趣，希望安排演示。",
        "客户投诉上次订单交货延迟。已致歉，并承诺下次订单免运费。",
        "{contact}要求提供最新价格表和批量折扣条件。",
        "{weekday}上午回电{contact}，讨论续约事宜。",
    ),
}

COMPANY_REMARKS = (
    "Goods receiving closes at 14:00; deliveries Monday to Thursday only.",
    "Purchase orders above 10,000 need the managing director's signature.",
    "Wants invoices by email as PDF; no paper copies.",
    "Framework agreement renewed until the end of next year.",
    "Put their project number on every invoice, or their accounts department rejects it.",
    "Closed for the summer break in August.",
)


# --------------------------------------------------------------------------
# The plan: plain data, built without the database


@dataclass(frozen=True)
class JobSpec:
    company: int  # index of the company in DemoPlan.partners
    job_title: str
    department: str
    work_email: str
    work_phone: str


@dataclass
class PartnerSpec:
    kind: str
    name: str
    by: str  # the username of who creates it
    fields: dict[str, Any]
    emails: list[EmailInput] = field(default_factory=list)
    phones: list[PhoneInput] = field(default_factory=list)
    addresses: list[AddressInput] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # category paths
    parent: int | None = None  # index of the parent company
    jobs: list[JobSpec] = field(default_factory=list)  # the first one is set at creation
    user: str = ""  # the demo account whose email this person uses


@dataclass(frozen=True)
class NoteSpec:
    partner: int
    by: str
    body: str


@dataclass
class EditSpec:
    partner: int
    by: str
    fields: dict[str, Any] = field(default_factory=dict)
    parent: int | None = None
    phones: list[PhoneInput] | None = None
    categories: list[str] | None = None


@dataclass(frozen=True)
class ArchiveSpec:
    partner: int
    by: str


@dataclass
class DemoPlan:
    partners: list[PartnerSpec] = field(default_factory=list)
    notes: list[NoteSpec] = field(default_factory=list)
    edits: list[EditSpec] = field(default_factory=list)
    archived: list[ArchiveSpec] = field(default_factory=list)


@dataclass
class _Company:
    """What the people of a company need to know about it while the plan is built."""

    index: int
    country: Country
    city: City
    domain: str
    email_pattern: str
    size: str
    group: int | None = None
    contacts: list[int] = field(default_factory=list)


class _Builder:
    """Draws the demo data from one seeded random generator, in a fixed order."""

    def __init__(self, *, seed: int) -> None:
        self.rng = random.Random(seed)
        self.plan = DemoPlan()
        self.companies: list[_Company] = []
        self.names: set[str] = set()
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.domains: set[str] = set()
        self.deferred_parents: list[tuple[int, int]] = []  # (subsidiary, parent)
        self.people: dict[int, tuple[str, str, bool]] = {}  # ASCII first and last name, female

    def add(self, spec: PartnerSpec) -> int:
        self.plan.partners.append(spec)
        self.names.add(spec.name)
        return len(self.plan.partners) - 1

    # -- Words, numbers and addresses

    def author(self) -> str:
        return self.rng.choice(AUTHORS)

    def digits(self, pattern: str) -> str:
        """Fill "#" with digits and "@" with capital letters."""
        out = []
        for char in pattern:
            if char == "#":
                out.append(self.rng.choice("0123456789"))
            elif char == "@":
                out.append(self.rng.choice("ABCDEFGHJKLMNPQRTUWXY"))
            else:
                out.append(char)
        return "".join(out)

    def phone(self, country: Country, *, prefix: str, mobile: bool) -> str:
        """A valid, unused number of *country* that starts with *prefix* (national digits).

        The length comes from phonenumbers' example number for the country and type;
        the other digits are drawn until the number is valid.
        """
        kind = (
            phonenumbers.PhoneNumberType.MOBILE
            if mobile
            else phonenumbers.PhoneNumberType.FIXED_LINE
        )
        example = phonenumbers.example_number_for_type(country.code, kind)
        if example is None:
            raise ValueError(f"phonenumbers has no example number for {country.code}.")
        template = phonenumbers.national_significant_number(example)
        length = len(template) if mobile or not country.fixed_length else country.fixed_length
        for attempt in range(PHONE_ATTEMPTS):
            size = length + (0, 1, -1)[attempt % 3]
            start = prefix if attempt < PHONE_ATTEMPTS // 2 else template[:2]
            digits = start + self.digits("#" * (size - len(start)))
            number = phonenumbers.parse(f"+{example.country_code}{digits}")
            formatted = phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            if phonenumbers.is_valid_number(number) and formatted not in self.phones:
                self.phones.add(formatted)
                return formatted
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def landline(self, country: Country, city: City) -> str:
        return self.phone(country, prefix=city.area, mobile=False)

    def mobile(self, country: Country, city: City) -> str:
        if not country.mobile:
            return self.phone(country, prefix=city.area, mobile=True)
        prefix = self.rng.choice(country.mobile).format(area=city.area)
        return self.phone(country, prefix=prefix, mobile=True)

    def address(
        self, country: Country, city: City, kind: str = Address.Kind.CONTACT
    ) -> AddressInput:
        numbers = {
            "n": self.rng.randint(1, 180),
            "big": self.rng.randint(100, 2999),
            "b": self.rng.randint(1, 5),
            "c": self.rng.randint(1, 30),
            "d": self.rng.randint(1, 20),
        }
        street = self.rng.choice(city.streets or country.streets)
        street2 = ""
        if country.street2 and self.rng.random() < 0.3:
            street2 = country.street2.format(**numbers)
        return AddressInput(
            kind=kind,
            street=country.street_format.format(street=street, **numbers),
            street2=street2,
            zip=self.rng.choice(city.postcodes),
            city=city.name,
            state=city.state,
            country=country.code,
        )

    def email(self, local: str, domain: str) -> str:
        """*local*@*domain*, numbered if someone there already has that address."""
        address = f"{local}@{domain}"
        number = 2
        while address in self.emails:
            address = f"{local}{number}@{domain}"
            number += 1
        self.emails.add(address)
        return address

    def categories(self, *, industry: str, size: str, customer: bool) -> list[str]:
        paths = [industry, size]
        if customer and self.rng.random() < 0.5:
            paths.append(self.rng.choices((GOLD, SILVER, BRONZE), weights=(15, 35, 50))[0])
        paths += self.rng.sample(INTERESTS, self.rng.choice((0, 0, 1, 1, 2)))
        return paths

    # -- Companies

    def roles(self) -> dict[str, bool]:
        draw = self.rng.random()
        return {
            "is_customer": draw < 0.63,
            "is_supplier": 0.55 <= draw < 0.80,
            "is_prospect": draw >= 0.80,
        }

    def company_name(self, country: Country, sector: Sector, city: City) -> tuple[str, str]:
        """A new company name and the ASCII words of its web address."""
        for _ in range(50):
            surname, surname2 = self.rng.sample(country.surnames, 2)
            words = {
                "surname": _capitalise(surname),
                "surname2": _capitalise(surname2),
                "brand": self.rng.choice(country.brands),
                "sector": sector.word,
                "city": city.name,
                "legal": self.rng.choice(country.legal_forms),
            }
            pattern = self.rng.choice(country.name_patterns)
            name = pattern.format(**words)
            if name in self.names:
                continue
            latin = {key: f" {_ascii(country, value)} " for key, value in words.items()}
            slug = _slug(pattern.replace("{legal}", "").replace("{city}", "").format(**latin))
            return name, slug
        raise RuntimeError(f"Ran out of company names for {country.code}.")  # pragma: no cover

    def domain(self, slug: str, country: Country) -> str:
        domain = f"{slug}.example"
        if domain in self.domains:
            domain = f"{slug}-{country.code.lower()}.example"
        number = 2
        while domain in self.domains:
            domain = f"{slug}{number}.example"
            number += 1
        self.domains.add(domain)
        return domain

    def company(
        self,
        country: Country,
        *,
        name: str | None = None,
        slug: str = "",
        sector: Sector | None = None,
        size: str | None = None,
        roles: dict[str, bool] | None = None,
        parent: int | None = None,
        group: int | None = None,
        domain: str = "",
        website: str = "",
        mailbox: str = "",
    ) -> _Company:
        city = self.rng.choice(country.cities)
        sector = sector or self.rng.choice(country.sectors)
        if name is None:
            name, slug = self.company_name(country, sector, city)
        domain = domain or self.domain(slug or _slug(name), country)
        size = size or self.rng.choices((ENTERPRISE, SME, MICRO), weights=(15, 60, 25))[0]
        roles = roles or self.roles()
        mailbox = mailbox or self.rng.choice(country.mailboxes)
        emails = [EmailInput(self.email(mailbox, domain), PartnerEmail.Kind.WORK, True)]
        if self.rng.random() < 0.4:
            emails.append(
                EmailInput(self.email(country.billing_mailbox, domain), PartnerEmail.Kind.BILLING)
            )
        phones = [PhoneInput(self.landline(country, city), PartnerPhone.Kind.WORK, True)]
        if self.rng.random() < (0.3 if country.code in {"DE", "JP"} else 0.08):
            phones.append(PhoneInput(self.landline(country, city), PartnerPhone.Kind.FAX))
        addresses = [self.address(country, city)]
        if self.rng.random() < 0.2:
            kind = self.rng.choice((Address.Kind.INVOICE, Address.Kind.DELIVERY))
            addresses.append(self.address(country, self.rng.choice(country.cities), kind))
        fields: dict[str, Any] = {
            **roles,
            "website": website or f"https://www.{domain}",
            "language": country.language,
            "currency": country.currency,
            "channel": self.rng.choice(Partner.Channel.values),
        }
        if self.rng.random() < 0.8:
            fields["vat"] = self.digits(country.vat)
        index = self.add(
            PartnerSpec(
                kind=Partner.Kind.COMPANY,
                name=name,
                by=self.author(),
                fields=fields,
                emails=emails,
                phones=phones,
                addresses=addresses,
                categories=self.categories(
                    industry=sector.industry, size=size, customer=roles["is_customer"]
                ),
                parent=parent,
            )
        )
        pattern = self.rng.choices(
            ("{first}.{last}", "{f}.{last}", "{first}{l}", "{last}"), weights=(6, 2, 1, 1)
        )[0]
        company = _Company(index, country, city, domain, pattern, size, group)
        self.companies.append(company)
        return company

    def own_company(self) -> _Company:
        """Goodwill Demo Ltd: the company the demo staff work for."""
        country = UNITED_KINGDOM
        city = country.cities[0]
        index = self.add(
            PartnerSpec(
                kind=Partner.Kind.COMPANY,
                name=OWN_COMPANY,
                by="alice",
                fields={
                    "website": f"https://{OWN_DOMAIN}",
                    "language": country.language,
                    "currency": country.currency,
                    "vat": self.digits(country.vat),
                },
                emails=[EmailInput(f"info@{OWN_DOMAIN}", primary=True)],
                phones=[PhoneInput(self.landline(country, city), primary=True)],
                addresses=[self.address(country, city)],
                categories=[SOFTWARE, SME],
            )
        )
        return _Company(index, country, city, OWN_DOMAIN, "{first}", SME)

    def groups(self) -> None:
        """The parent companies, then their subsidiaries; the last one joins later."""
        for number, group in enumerate(GROUPS):
            home = COUNTRY[group.country]
            sector = next(s for s in home.sectors if s.industry == group.industry)
            slug = _slug(group.brand)
            domain = self.domain(slug, home)
            customer = {"is_customer": True, "is_supplier": False, "is_prospect": False}
            parent = self.company(
                home,
                name=group.name,
                domain=domain,
                sector=sector,
                size=ENTERPRISE,
                roles=customer,
                group=number,
            )
            for position, code in enumerate(group.subsidiaries):
                country = COUNTRY[code]
                joins_later = position == len(group.subsidiaries) - 1
                subsidiary = self.company(
                    country,
                    name=country.subsidiary.format(brand=group.brand),
                    domain=domain,
                    website=f"https://www.{domain}/{code.lower()}/",
                    mailbox=f"{self.rng.choice(country.mailboxes)}.{code.lower()}",
                    sector=next(s for s in country.sectors if s.industry == group.industry),
                    size=self.rng.choice((ENTERPRISE, SME)),
                    roles=customer,
                    parent=None if joins_later else parent.index,
                    group=number,
                )
                if joins_later:
                    self.deferred_parents.append((subsidiary.index, parent.index))

    # -- People

    def person_name(self, country: Country) -> tuple[str, str, str, bool]:
        """A new person's name, the ASCII first and last names for email, and the gender."""
        for _ in range(50):
            female = self.rng.random() < 0.5
            first = self.rng.choice(country.female if female else country.male)
            last = self.rng.choice(country.surnames)
            if female and country.feminine_surnames and last.endswith("ki"):
                last = last[:-1] + "a"
            full_last = last
            if self.rng.random() < country.two_surnames:
                second = self.rng.choice(country.surnames)
                if second != last:
                    full_last = f"{last} {second}"
            if country.family_first:
                name = f"{full_last}{country.name_join}{first}"
            else:
                name = f"{first} {full_last}"
            if name not in self.names:
                return name, _ascii(country, first), _ascii(country, last), female
        raise RuntimeError(f"Ran out of names for {country.code}.")  # pragma: no cover

    def job(self, company: _Company, *, first: str, last: str, female: bool) -> JobSpec:
        job = self.rng.choice(company.country.jobs)
        first_local, last_local = _local(first), _local(last)
        local = company.email_pattern.format(
            first=first_local, last=last_local, f=first_local[:1], l=last_local[:1]
        )
        phone = ""
        if self.rng.random() < 0.7:
            phone = self.landline(company.country, company.city)
        return JobSpec(
            company=company.index,
            job_title=job.title_female if female else job.title,
            department=job.department,
            work_email=self.email(local, company.domain),
            work_phone=phone,
        )

    def contact(self, company: _Company) -> int:
        """A person who works at *company*."""
        country = company.country
        spec = self.spec_of(company)
        name, first, last, female = self.person_name(country)
        job = self.job(company, first=first, last=last, female=female)
        emails = [EmailInput(job.work_email, PartnerEmail.Kind.WORK, True)]
        if self.rng.random() < 0.15:
            private = self.email(f"{_local(first)}.{_local(last)}", self.rng.choice(FREEMAIL))
            emails.append(EmailInput(private, PartnerEmail.Kind.HOME))
        phones = []
        if job.work_phone:
            phones.append(PhoneInput(job.work_phone, PartnerPhone.Kind.WORK, True))
        if not phones or self.rng.random() < 0.5:
            phones.append(PhoneInput(self.mobile(country, company.city), PartnerPhone.Kind.MOBILE))
        roles = {
            key: spec.fields.get(key, False)
            for key in ("is_customer", "is_supplier", "is_prospect")
        }
        index = self.add(
            PartnerSpec(
                kind=Partner.Kind.PERSON,
                name=name,
                by=self.author(),
                fields={**roles, "language": country.language},
                emails=emails,
                phones=phones,
                categories=self.rng.sample(INTERESTS, self.rng.choice((0, 0, 0, 1))),
                jobs=[job],
            )
        )
        company.contacts.append(index)
        self.people[index] = (first, last, female)
        return index

    def spec_of(self, company: _Company) -> PartnerSpec:
        return self.plan.partners[company.index]

    def private_person(self) -> int:
        """A customer (or prospect) who buys as a private person."""
        country = self.rng.choices(COUNTRIES, weights=[c.weight for c in COUNTRIES])[0]
        city = self.rng.choice(country.cities)
        name, first, last, _ = self.person_name(country)
        local = f"{_local(first)}.{_local(last)}"
        if self.rng.random() < 0.3:
            local += str(self.rng.randint(60, 99))
        customer = self.rng.random() < 0.85
        return self.add(
            PartnerSpec(
                kind=Partner.Kind.PERSON,
                name=name,
                by=self.author(),
                fields={
                    "is_customer": customer,
                    "is_prospect": not customer,
                    "language": country.language,
                    "currency": country.currency,
                    "channel": self.rng.choice(Partner.Channel.values),
                },
                emails=[
                    EmailInput(self.email(local, self.rng.choice(FREEMAIL)), PartnerEmail.Kind.HOME)
                ],
                phones=[PhoneInput(self.mobile(country, city), PartnerPhone.Kind.MOBILE)],
                addresses=[self.address(country, city)],
                categories=self.rng.sample(INTERESTS, self.rng.choice((0, 1, 1, 2))),
            )
        )

    def staff(self, own: _Company) -> list[int]:
        """The demo accounts, except the portal user, as employees of our own company."""
        people = []
        for username, first, last, _, _ in DEMO_USERS:
            if username not in OWN_JOBS:
                continue
            title, department = OWN_JOBS[username]
            phone = self.landline(own.country, own.city)
            people.append(
                self.add(
                    PartnerSpec(
                        kind=Partner.Kind.PERSON,
                        name=f"{first} {last}",
                        by="alice",
                        fields={"is_employee": True, "language": own.country.language},
                        phones=[PhoneInput(phone, PartnerPhone.Kind.WORK, True)],
                        jobs=[JobSpec(own.index, title, department, "", phone)],
                        user=username,
                    )
                )
            )
        return people

    def portal_contact(self) -> None:
        """Paula, the portal persona, is the contact of a British customer."""
        customers = [
            c
            for c in self.companies
            if c.country.code == "GB" and self.spec_of(c).fields.get("is_customer")
        ]
        company = customers[0] if customers else self.companies[0]
        name = next(f"{first} {last}" for user, first, last, _, _ in DEMO_USERS if user == "paula")
        index = self.add(
            PartnerSpec(
                kind=Partner.Kind.PERSON,
                name=name,
                by="maria",
                fields={"is_customer": True, "language": company.country.language},
                phones=[
                    PhoneInput(self.mobile(company.country, company.city), PartnerPhone.Kind.MOBILE)
                ],
                jobs=[JobSpec(company.index, "Purchasing Manager", "Purchasing", "", "")],
                user="paula",
            )
        )
        company.contacts.append(index)

    def second_jobs(self, contacts: list[int]) -> None:
        """Some contacts also work for a second company: in the same group, or nearby."""
        by_index = {c.index: c for c in self.companies}
        chosen = self.rng.sample(
            contacts, min(len(contacts), round(len(contacts) * TWO_COMPANIES_SHARE))
        )
        for person in chosen:
            spec = self.plan.partners[person]
            first_company = by_index[spec.jobs[0].company]
            options = []
            if first_company.group is not None and self.rng.random() < 0.7:
                options = [c for c in self.companies if c.group == first_company.group]
            if len(options) < 2:
                options = [c for c in self.companies if c.country is first_company.country]
            options = [c for c in options if c.index != first_company.index]
            if not options:
                continue
            second = self.rng.choice(options)
            first, last, female = self.people[person]
            spec.jobs.append(self.job(second, first=first, last=last, female=female))
            second.contacts.append(person)

    # -- Timeline

    def note_author(self, partner_language: str) -> tuple[str, str]:
        """Who writes a note about a partner, and in which language.

        Mostly someone who speaks the partner's language, writing in it; otherwise
        anyone, in English.
        """
        language = NOTE_LANGUAGE.get(partner_language, partner_language)
        speakers = [a for a in AUTHORS if language in AUTHOR_LANGUAGES[a]]
        if speakers and self.rng.random() < 0.75:
            return self.rng.choice(speakers), language
        return self.author(), "en"

    def notes(self, *, exclude: set[int]) -> None:
        """A few hundred notes by the staff, on companies more often than on people."""
        partners = [i for i in range(len(self.plan.partners)) if i not in exclude]
        weights = [3 if self.plan.partners[i].kind == Partner.Kind.COMPANY else 1 for i in partners]
        contacts_of = {c.index: c.contacts for c in self.companies}
        for _ in range(NOTES):
            index = self.rng.choices(partners, weights=weights)[0]
            spec = self.plan.partners[index]
            by, language = self.note_author(spec.fields.get("language", ""))
            contacts = contacts_of.get(index) or [index]
            contact = self.plan.partners[self.rng.choice(contacts)].name
            currency = spec.fields.get("currency") or "EUR"
            amount = self.rng.choice(AMOUNTS) * CURRENCY_FACTOR.get(currency, 1)
            body = self.rng.choice(NOTE_TEMPLATES[language]).format(
                contact=contact,
                product=self.rng.choice(PRODUCTS),
                n=self.rng.randint(2, 12),
                amount=_money(amount, currency, language),
                weekday=self.rng.choice(WEEKDAYS[language]),
            )
            self.plan.notes.append(NoteSpec(index, by, body))

    def edits(self, *, exclude: set[int]) -> None:
        """Later changes, so timelines show fields going from old to new values."""
        for subsidiary, parent in self.deferred_parents:
            self.plan.edits.append(EditSpec(subsidiary, "maria", parent=parent))
        partners = self.plan.partners
        pool = [i for i in range(len(partners)) if i not in exclude]
        self.rng.shuffle(pool)
        wanted = EDITS
        edited: set[int] = set()
        for index in pool:
            if len(edited) >= wanted:
                break
            edit = self.edit(index, partners[index])
            if edit is not None:
                self.plan.edits.append(edit)
                edited.add(index)

    def edit(self, index: int, spec: PartnerSpec) -> EditSpec | None:
        by = self.author()
        fields = spec.fields
        if spec.kind == Partner.Kind.PERSON:
            if spec.jobs and not any(p.kind == PartnerPhone.Kind.MOBILE for p in spec.phones):
                company = next(c for c in self.companies if c.index == spec.jobs[0].company)
                mobile = PhoneInput(
                    self.mobile(company.country, company.city), PartnerPhone.Kind.MOBILE
                )
                return EditSpec(index, by, phones=[*spec.phones, mobile])
            return None
        if fields.get("is_prospect"):
            categories = [*spec.categories, BRONZE]
            return EditSpec(
                index, by, fields={"is_prospect": False, "is_customer": True}, categories=categories
            )
        if SILVER in spec.categories:
            categories = [GOLD if path == SILVER else path for path in spec.categories]
            return EditSpec(index, by, categories=categories)
        if "vat" not in fields:
            country = COUNTRY[spec.addresses[0].country]
            return EditSpec(index, by, fields={"vat": self.digits(country.vat)})
        if fields.get("is_customer") and not fields.get("is_supplier") and self.rng.random() < 0.5:
            return EditSpec(index, by, fields={"is_supplier": True})
        return EditSpec(index, by, fields={"notes": self.rng.choice(COMPANY_REMARKS)})

    def archive(self, *, exclude: set[int]) -> None:
        """Lost prospects, and people who left their company."""
        partners = self.plan.partners
        prospects = [
            i for i, s in enumerate(partners) if s.fields.get("is_prospect") and i not in exclude
        ]
        people = [
            i
            for i, s in enumerate(partners)
            if s.kind == Partner.Kind.PERSON and i not in exclude and not s.user
        ]
        wanted = ARCHIVED
        from_prospects = self.rng.sample(prospects, min(len(prospects), wanted // 2))
        from_people = self.rng.sample(
            [i for i in people if i not in from_prospects], wanted - len(from_prospects)
        )
        for index in sorted(from_prospects + from_people):
            self.plan.archived.append(ArchiveSpec(index, self.rng.choice(("alice", "maria"))))


def demo_partners_plan(*, seed: int) -> DemoPlan:
    """Build the demo partners as plain data; the same seed gives the same plan."""
    builder = _Builder(seed=seed)
    rng = builder.rng
    own = builder.own_company()
    builder.groups()
    while len(builder.companies) + 1 < COMPANIES:
        country = rng.choices(COUNTRIES, weights=[c.weight for c in COUNTRIES])[0]
        builder.company(country)

    staff = builder.staff(own)
    builder.portal_contact()
    people = PEOPLE - len(staff) - 1
    private = round(people * PRIVATE_SHARE)
    contacts = [builder.contact(company) for company in builder.companies]
    size_weight = {ENTERPRISE: 6, SME: 2, MICRO: 1}
    weights = [size_weight[c.size] for c in builder.companies]
    while len(contacts) < people - private:
        contacts.append(builder.contact(rng.choices(builder.companies, weights=weights)[0]))
    for _ in range(private):
        builder.private_person()

    builder.second_jobs(contacts)
    ours = {own.index, *staff}
    builder.notes(exclude=ours)
    builder.edits(exclude=ours)
    groups = {c.index for c in builder.companies if c.group is not None}
    edited = {edit.partner for edit in builder.plan.edits}
    builder.archive(exclude=ours | groups | edited)
    return builder.plan


# --------------------------------------------------------------------------
# Text helpers


def _capitalise(word: str) -> str:
    """Capitalise a surname that stands alone: "de Vries" → "De Vries"."""
    return word[:1].upper() + word[1:]


def _ascii(country: Country, text: str) -> str:
    """The Latin letters for *text*: its romanisation, or its letters without accents."""
    if text in country.romaji:
        return country.romaji[text]
    return fold(text.translate(country.translit))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def _local(text: str) -> str:
    """A name as the local part of an email address: "D'Angelo" → "dangelo"."""
    return re.sub(r"[^a-z0-9]+", "", fold(text))


def _money(amount: int, currency: str, language: str) -> str:
    grouped = f"{amount:,}"
    if language == "en":
        return f"{currency} {grouped}"
    if language in {"de", "es", "it", "pt", "da", "nl"}:
        grouped = grouped.replace(",", ".")
    elif language in {"fr", "sv"}:
        grouped = grouped.replace(",", "\u00a0")
    return f"{grouped} {currency}"


# --------------------------------------------------------------------------
# Loading


def demo_partners_present() -> bool:
    """Whether demo partners were loaded already (any partner counts)."""
    return Partner.objects.exists()


def demo_partners_load(*, users: dict[str, User], seed: int) -> None:
    """Save the demo partners through the services, as people using Goodwill would."""
    plan = demo_partners_plan(seed=seed)
    categories = _categories_save(by=users["alice"])
    saved: list[Partner] = []
    for spec in plan.partners:
        saved.append(_partner_create(spec, saved=saved, categories=categories, users=users))
    for index, spec in enumerate(plan.partners):
        for job in spec.jobs[1:]:
            services.membership_add(
                person=saved[index],
                company=saved[job.company],
                by=users[spec.by],
                job_title=job.job_title,
                department=job.department,
                work_email=job.work_email,
                work_phone=job.work_phone,
            )
    for note in plan.notes:
        services.partner_note_add(partner=saved[note.partner], by=users[note.by], body=note.body)
    for edit in plan.edits:
        _partner_edit(edit, saved=saved, categories=categories, users=users)
    for archive in plan.archived:
        services.partner_archive(partner=saved[archive.partner], by=users[archive.by])
    _history_spread(seed=seed)


HISTORY_DAYS = 540


def _history_spread(*, seed: int) -> None:
    """Spread the history over the last eighteen months, keeping its order.

    The services stamp everything "now", so a fresh demo would read "0 minutes
    ago" everywhere. This is demo staging, not a change of state: it only moves
    timestamps, the k-th timeline entry to the k-th point of a jittered time
    axis, and each partner's created/updated to its first/last entry.
    """
    rng = random.Random(seed + 1)
    entries = list(TimelineEntry.objects.order_by("pk").only("pk", "partner_id", "created_at"))
    if not entries:
        return
    now = timezone.now()
    start = now - timedelta(days=HISTORY_DAYS)
    step = (now - timedelta(hours=2) - start) / len(entries)
    first: dict[int, datetime] = {}
    last: dict[int, datetime] = {}
    for index, entry in enumerate(entries):
        entry.created_at = start + step * index + step * rng.random() * 0.9
        if entry.partner_id is not None:
            first.setdefault(entry.partner_id, entry.created_at)
            last[entry.partner_id] = entry.created_at
    TimelineEntry.objects.bulk_update(entries, ["created_at"], batch_size=500)
    partners = list(Partner.objects.filter(pk__in=first).only("pk", "created_at", "updated_at"))
    for partner in partners:
        partner.created_at, partner.updated_at = first[partner.pk], last[partner.pk]
    Partner.objects.bulk_update(partners, ["created_at", "updated_at"], batch_size=500)


def _categories_save(*, by: User) -> dict[str, Category]:
    """The category tree, by path; levels that exist already are reused."""
    saved: dict[str, Category] = {}
    for path in CATEGORY_PATHS:
        names = path.split(" / ")
        parent: Category | None = None
        for depth, name in enumerate(names, start=1):
            key = " / ".join(names[:depth])
            if key not in saved:
                saved[key] = Category.objects.filter(
                    parent=parent, name=name
                ).first() or services.category_save(
                    category=Category(),
                    by=by,
                    name=name,
                    parent=parent,
                    description=CATEGORY_DESCRIPTIONS.get(key, ""),
                )
            parent = saved[key]
    return saved


def _partner_create(
    spec: PartnerSpec,
    *,
    saved: Sequence[Partner],
    categories: dict[str, Category],
    users: dict[str, User],
) -> Partner:
    emails, jobs = spec.emails, spec.jobs
    if spec.user:
        address = users[spec.user].email
        emails = [EmailInput(address, PartnerEmail.Kind.WORK, True), *emails]
        jobs = [JobSpec(j.company, j.job_title, j.department, address, j.work_phone) for j in jobs]
    companies = [
        MembershipInput(
            company=saved[job.company],
            job_title=job.job_title,
            department=job.department,
            work_email=job.work_email,
            work_phone=job.work_phone,
        )
        for job in jobs[:1]
    ]
    return services.partner_create(
        by=users[spec.by],
        kind=spec.kind,
        name=spec.name,
        emails=emails,
        phones=spec.phones,
        addresses=spec.addresses,
        categories=[categories[path] for path in spec.categories],
        companies=companies,
        **spec.fields,
        **({"parent": saved[spec.parent]} if spec.parent is not None else {}),
    )


def _partner_edit(
    edit: EditSpec,
    *,
    saved: Sequence[Partner],
    categories: dict[str, Category],
    users: dict[str, User],
) -> None:
    fields = dict(edit.fields)
    if edit.parent is not None:
        fields["parent"] = saved[edit.parent]
    services.partner_update(
        partner=saved[edit.partner],
        by=users[edit.by],
        phones=edit.phones,
        categories=None
        if edit.categories is None
        else [categories[path] for path in edit.categories],
        **fields,
    )
