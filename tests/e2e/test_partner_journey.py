"""The key partner journeys, in a real Chromium against the live server."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import BrowserContext, Locator, Page, expect

from goodwill.partners.models import Partner
from tests.factories import PartnerFactory, PersonFactory

pytestmark = pytest.mark.e2e

DETAIL_URL = re.compile(r"/partners/(\d+)/$")


def partner_id(page: Page) -> int:
    match = DETAIL_URL.search(page.url)
    assert match, f"not on a partner page: {page.url}"
    return int(match.group(1))


def arrive(page: Page, title: str) -> None:
    """Wait until the page titled *title* is shown and its scripts have run.

    htmx, Tom Select and app.js load deferred: a heading can be on screen before
    they listen for keys, typing or submits.
    """
    expect(page.get_by_role("heading", name=title, exact=True, level=1)).to_be_visible()
    page.wait_for_load_state("load")


def press_slash_and_search(page: Page, text: str) -> None:
    page.wait_for_load_state("load")
    page.keyboard.press("/")
    search = page.locator("#global-search")
    expect(search).to_be_focused()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/partners/\?q="))


def results(page: Page) -> Locator:
    return page.locator("#partner-results table")


def test_a_manager_creates_a_company_and_its_contact_then_finds_notes_and_edits_them(
    manager_page: Page,
) -> None:
    """A company and its contact are created through the forms, found by search, noted
    on without a reload, and edited with the change shown on the timeline."""
    page = manager_page

    # A company, through "New company".
    page.get_by_role("link", name="New company").first.click()
    arrive(page, "New company")
    page.locator("#id_name").fill("Acme Robotics")
    page.locator("#id_emails-0-email").fill("hello@acme-robotics.example")
    page.locator("#id_phones-0-number").fill("+33 1 42 68 53 00")
    page.locator("#id_addresses-0-city").fill("Lyon")
    page.locator("#id_addresses-0-country").select_option("FR")
    page.get_by_role("button", name="Create", exact=True).click()
    arrive(page, "Acme Robotics")
    expect(page.locator("#messages")).to_contain_text("Acme Robotics was created.")
    company_id = partner_id(page)
    overview = page.locator("section[aria-labelledby=facts-h]")
    expect(overview).to_contain_text("hello@acme-robotics.example")
    expect(overview).to_contain_text("+33 1 42 68 53 00")
    expect(page.locator("section[aria-labelledby=addresses-h]")).to_contain_text("Lyon")

    # Its contact, through "New contact": the company is already chosen.
    page.get_by_role("link", name="New contact").click()
    expect(page).to_have_url(re.compile(rf"kind=person&company={company_id}$"))
    arrive(page, "New person")
    company_picker = page.locator("#person-link .ts-control")
    expect(company_picker).to_be_visible()
    expect(company_picker.locator(".item")).to_have_text("Acme Robotics")
    # The picker searches companies as one types.
    company_picker.click()
    expect(page.get_by_role("combobox", name="Contact of")).to_have_attribute(
        "aria-expanded", "true"
    )
    with page.expect_response(re.compile(r"/partners/autocomplete/\?kind=company&q=robot")) as r:
        page.keyboard.type("robot")
    assert {"value": company_id, "text": "Acme Robotics", "kind": "company"}.items() <= (
        r.value.json()["results"][0].items()
    )
    page.locator("#person-link .ts-dropdown .option", has_text="Acme Robotics").click()
    expect(company_picker.locator(".item")).to_have_text("Acme Robotics")
    page.locator("#id_name").fill("Jeanne Dupont")
    page.locator("#id_link-job_title").fill("Head of Purchasing")
    page.locator("#id_emails-0-email").fill("jeanne.dupont@acme-robotics.example")
    page.get_by_role("button", name="Create", exact=True).click()
    arrive(page, "Jeanne Dupont")
    person_id = partner_id(page)
    companies = page.locator("section[aria-labelledby=companies-h]")
    expect(companies).to_contain_text("Head of Purchasing")
    companies.get_by_role("link", name="Acme Robotics").click()
    arrive(page, "Acme Robotics")
    contacts = page.locator("section[aria-labelledby=contacts-h]")
    expect(contacts).to_contain_text("Head of Purchasing")
    expect(contacts.get_by_role("link", name="Jeanne Dupont")).to_have_attribute(
        "href", f"/partners/{person_id}/"
    )

    # Found by "/" search: by part of the name, and by part of an email.
    press_slash_and_search(page, "dupon")
    expect(results(page).get_by_role("link", name="Jeanne Dupont")).to_be_visible()
    expect(results(page).get_by_role("link", name="Acme Robotics")).to_have_count(0)
    press_slash_and_search(page, "hello@acme-rob")
    expect(results(page).get_by_role("link", name="Acme Robotics")).to_be_visible()
    expect(results(page).get_by_role("link", name="Jeanne Dupont")).to_have_count(0)

    # A note, added through the htmx composer without a page load.
    results(page).get_by_role("link", name="Acme Robotics").click()
    arrive(page, "Acme Robotics")
    page.evaluate("window.__sameDocument = true")
    page.get_by_placeholder("Write a note…").fill("Called Jeanne: they want a quote by Friday.")
    page.get_by_role("button", name="Add note").click()
    timeline = page.locator("#timeline")
    expect(timeline.locator(".note-body").first).to_have_text(
        "Called Jeanne: they want a quote by Friday."
    )
    expect(page.get_by_placeholder("Write a note…")).to_have_value("")
    assert page.evaluate("window.__sameDocument") is True, "adding a note reloaded the page"

    # An edit, shown on the timeline as "field: old → new".
    page.locator(".page-head .actions").get_by_role("link", name="Edit", exact=True).click()
    arrive(page, "Edit Acme Robotics")
    page.locator("#id_name").fill("Acme Robotics Europe")
    page.locator("#id_vat").fill("FR40123456789")
    page.get_by_role("button", name="Save", exact=True).click()
    arrive(page, "Acme Robotics Europe")
    assert partner_id(page) == company_id
    changes = page.locator("#timeline ul.changes").first
    expect(changes).to_contain_text("Name: Acme Robotics → Acme Robotics Europe")
    expect(changes).to_contain_text(re.compile(r"VAT.*: \(empty\) → FR40123456789"))


def test_the_list_exports_to_csv_and_xlsx_through_the_worker(
    manager_page: Page, task_worker: object, tmp_path: Path
) -> None:
    """CSV and XLSX exports are built by the worker, shown with their progress, and
    downloaded with every partner of the list in them."""
    page = manager_page
    names = {"Initech", "Globex Corporation", "Zoë Müller"}
    PartnerFactory(name="Initech", emails=["sales@initech.example"], city="Austin", country="US")
    PartnerFactory(name="Globex Corporation")
    PersonFactory(name="Zoë Müller", emails=["zoe@example.org"])

    for fmt in ("CSV", "XLSX"):
        page.goto("/partners/")
        expect(results(page).get_by_role("link", name="Initech", exact=True)).to_be_visible()
        page.get_by_role("button", name=fmt, exact=True).click()
        arrive(page, "Partner export")
        expect(page.locator("#export-status")).to_contain_text(fmt)
        download_link = page.locator("#export-download")
        expect(download_link).to_be_visible()
        expect(page.locator("#export-status")).to_contain_text("Ready: 3 rows.")
        with page.expect_download() as info:
            download_link.click()
        download = info.value
        assert download.suggested_filename.endswith(f".{fmt.lower()}")
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        if fmt == "CSV":
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.DictReader(fh))
        else:
            sheet = load_workbook(path, read_only=True).active
            header, *data = [list(r) for r in sheet.iter_rows(values_only=True)]
            rows = [dict(zip(header, r, strict=True)) for r in data]
        assert {row["name"] for row in rows} == names
        initech = next(row for row in rows if row["name"] == "Initech")
        assert initech["email"] == "sales@initech.example"
        assert initech["city"] == "Austin"


def test_the_create_form_warns_about_an_existing_partner(
    manager_page: Page, context: BrowserContext
) -> None:
    """Typing the name of an existing partner shows it beside the form, with a link to
    open it; the form refuses to create until "Create anyway" is ticked, and the tick
    stays when the form is edited again."""
    page = manager_page
    existing = PartnerFactory(name="Globex Corporation", city="Springfield", country="US")

    page.goto("/partners/new/?kind=company")
    expect(page.locator("#duplicates")).to_contain_text("Duplicate check")
    page.locator("#id_name").press_sequentially("globex corp")
    panel = page.locator("#duplicates")
    expect(panel).to_contain_text("Already in Goodwill?")
    expect(panel).to_contain_text("same name")
    link = panel.get_by_role("link", name="Globex Corporation")
    expect(link).to_have_attribute("href", f"/partners/{existing.pk}/")
    with context.expect_page() as opened:
        link.click()
    other = opened.value
    expect(other.get_by_role("heading", name="Globex Corporation", level=1)).to_be_visible()
    other.close()

    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Partners like this one already exist")
    expect(page.locator("#id_name")).to_have_value("globex corp")
    assert Partner.objects.filter(name_key="globex").count() == 1

    # The tick survives the panel's refresh when the name is corrected afterwards.
    page.get_by_label("Create anyway").check()
    page.locator("#duplicates .dupes").evaluate("el => el.setAttribute('data-stale', '')")
    page.locator("#id_name").fill("Globex Corp.")
    expect(page.locator("#duplicates .dupes:not([data-stale])")).to_contain_text("same name")
    expect(page.get_by_label("Create anyway")).to_be_checked()
    page.get_by_role("button", name="Create", exact=True).click()
    arrive(page, "Globex Corp.")
    assert partner_id(page) != existing.pk
    assert Partner.objects.filter(name_key="globex").count() == 2


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)], ids=["phone", "desktop"])
def test_partner_pages_fit_the_screen(manager_page: Page, width: int, height: int) -> None:
    """The list and a detail page have no horizontal scrollbar on a phone or a laptop;
    on a phone the menu button opens the navigation."""
    page = manager_page
    company = PartnerFactory(
        name="Vandenberghe-Oosterhuis International Logistics Holdings",
        emails=["procurement.department.headquarters@vandenberghe-oosterhuis.example"],
        phones=["+31 20 123 4567"],
        city="'s-Hertogenbosch",
        country="NL",
    )
    person = PersonFactory(name="Anne-Marie Vandenberghe", emails=["anne-marie@example.org"])
    for n in range(12):
        PartnerFactory(name=f"Partner with a fairly long name number {n}")
    page.set_viewport_size({"width": width, "height": height})

    def assert_fits() -> None:
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{page.url} scrolls sideways at {width}px: {scroll} > {inner}"

    for url in ("/partners/", f"/partners/{company.pk}/", f"/partners/{person.pk}/"):
        page.goto(url)
        expect(page.locator("main h1")).to_be_visible()
        assert_fits()

    toggle = page.get_by_role("button", name="Menu")
    sidebar = page.locator("#sidebar")
    if width < 900:
        expect(toggle).to_be_visible()
        expect(sidebar).to_be_hidden()
        toggle.click()
        expect(sidebar).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(sidebar.get_by_role("link", name="All partners")).to_be_visible()
        assert_fits()
        sidebar.get_by_role("link", name="New company").click()
        arrive(page, "New company")
        assert_fits()
    else:
        expect(toggle).to_be_hidden()
        expect(sidebar).to_be_visible()
