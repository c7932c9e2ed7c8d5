"""How sales plugs into the partner app without the partner app knowing it.

- The partner page gets a lazily loaded "Commercial terms" panel (price list,
  payment term, credit limit, ERP id), for users who may see partners' terms.
- The case page gets a "Time and products" panel: the time and products
  recorded on the case, and the quotations, invoices, purchase orders and
  vendor bills made from it.
"""

from __future__ import annotations

from typing import Any


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
