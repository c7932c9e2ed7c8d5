"""How sales plugs into the partner app without the partner app knowing it.

- The partner page gets a lazily loaded "Commercial terms" panel (price list,
  payment term, credit limit, ERP id), for users who may see partners' terms.
- The case page gets a "Time and products" panel: the time and products
  recorded on the case, and the quotations, invoices, purchase orders and
  vendor bills made from it.
- The partner's timeline links the entries of orders, invoices and shipments
  to their pages, and hides the entries of documents the user may not see.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.urls import reverse

# model name: (view permission, detail URL name, number field)
DOCUMENTS = {
    "order": ("sales.view_order", "sales:order_detail", "number"),
    "invoice": ("sales.view_invoice", "sales:invoice_detail", "number"),
    "shipment": ("sales.view_shipment", "sales:shipment_detail", "number"),
    "payment": ("sales.view_payment", "", ""),
}


def _document_types() -> dict[str, ContentType]:
    """The content types of the documents (cached by Django after the first call)."""
    models = {name: _model(name) for name in DOCUMENTS}
    found = ContentType.objects.get_for_models(*models.values())
    return {name: found[model] for name, model in models.items()}


def _model(name: str) -> Any:
    from django.apps import apps

    return apps.get_model("sales", name)


def hide_unseen_documents(user: Any, entries: QuerySet[Any], partner: Any) -> QuerySet[Any]:
    """The partner timeline without the entries of documents *user* may not see."""
    types = _document_types()
    hidden = [
        types[name].pk
        for name, (perm, _, _) in DOCUMENTS.items()
        if user is None or not user.has_perm(perm)
    ]
    return entries.exclude(subject_type_id__in=hidden) if hidden else entries


def link_document_entries(entries: list[Any]) -> None:
    """Link a page's entries of orders, invoices and shipments to their pages:
    one query per kind of document on the page."""
    types = _document_types()
    for name, (_, url_name, field) in DOCUMENTS.items():
        if not url_name:
            continue
        type_id = types[name].pk
        ids = {e.subject_id for e in entries if e.subject_type_id == type_id}
        if not ids:
            continue
        numbers = dict(_model(name)._default_manager.filter(pk__in=ids).values_list("pk", field))
        for entry in entries:
            if entry.subject_type_id == type_id and entry.subject_id in numbers:
                label = numbers[entry.subject_id] or f"draft {name} {entry.subject_id}"
                entry.subject_link = (reverse(url_name, args=[entry.subject_id]), label)


def _may_see_terms(user: Any) -> bool:
    return bool(user.has_perm("sales.view_partnerterms"))


def install() -> None:
    from goodwill.partners import views as partner_views

    panel = ("Commercial terms", "sales:partner_terms", _may_see_terms)
    if not any(p[1] == panel[1] for p in partner_views.PARTNER_PANELS):
        partner_views.PARTNER_PANELS.append(panel)

    from goodwill.sales.document_views import install_partner_panel

    install_partner_panel()

    from goodwill.cases import views as case_views
    from goodwill.sales.case_views import work_panel_context

    case_panel = ("sales/casework/_work_panel.html", work_panel_context)
    if not any(p[0] == case_panel[0] for p in case_views.CASE_PANELS):
        case_views.CASE_PANELS.append(case_panel)

    from goodwill.partners import selectors as partner_selectors

    if hide_unseen_documents not in partner_selectors.TIMELINE_FILTERS:
        partner_selectors.TIMELINE_FILTERS.append(hide_unseen_documents)
    if link_document_entries not in partner_selectors.TIMELINE_LINKERS:
        partner_selectors.TIMELINE_LINKERS.append(link_document_entries)
