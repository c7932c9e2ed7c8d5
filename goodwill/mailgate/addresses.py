"""Which section an address delivers to: the SMTP door asks at RCPT time, the
pipeline asks again when it opens a case.

An address maps to a section when, lower-cased, it (or its base address, with a
``+token`` removed from the local part) is an active section's ``email`` or an
:class:`~goodwill.mailgate.models.InboundAddress`.
"""

from __future__ import annotations

from goodwill.cases.models import Section
from goodwill.mailgate.models import InboundAddress


def address_normalise(address: str) -> str:
    """*address* lower-cased, without angle brackets or surrounding spaces."""
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1].strip()
    return address.lower()


def address_base(address: str) -> str:
    """*address* normalised, with a ``+token`` part removed from the local part."""
    address = address_normalise(address)
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    local = local.split("+", 1)[0]
    return f"{local}@{domain}"


def section_for_address(address: str) -> Section | None:
    """The active section that mail to *address* belongs to, or None.

    The exact address wins over its base address (``sales+eu@`` may be an inbound
    address of its own while ``sales@`` belongs to another section); a section's
    own email wins over an inbound address.
    """
    exact = address_normalise(address)
    base = address_base(address)
    if not exact or "@" not in exact:
        return None
    for candidate in dict.fromkeys([exact, base]):
        section = (
            Section.objects.filter(active=True, email__iexact=candidate).order_by("id").first()
        )
        if section is not None:
            return section
        inbound = (
            InboundAddress.objects.filter(address__iexact=candidate, section__active=True)
            .select_related("section")
            .first()
        )
        if inbound is not None:
            return inbound.section
    return None
