"""Who may see and act on quotations, orders, invoices and payments, and the
objects the document pages load.

Agents see every commercial document and draft quotations and orders;
managers also draft invoices, post them and register payments. The role is
checked before any lookup, so an outsider cannot probe which ids exist.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.sales.models import Invoice, Order

# action: (permission, refusal)
ORDER_ACTIONS = {
    "view": ("sales.view_order", "Your role does not allow you to see orders."),
    "add": ("sales.add_order", "Your role does not allow you to create quotations or orders."),
    "change": ("sales.change_order", "Your role does not allow you to change orders."),
    "invoice": ("sales.add_invoice", "Only managers and administrators can invoice an order."),
}
INVOICE_ACTIONS = {
    "view": ("sales.view_invoice", "Your role does not allow you to see invoices."),
    "add": ("sales.add_invoice", "Only managers and administrators can draft invoices."),
    "change": ("sales.change_invoice", "Only managers and administrators can change invoices."),
    "post": ("sales.post_invoice", "Only managers and administrators can post or cancel invoices."),
    "pay": ("sales.add_payment", "Only managers and administrators can register payments."),
}


def _check(user: Any, actions: dict[str, tuple[str, str]], action: str) -> None:
    if action not in actions:
        raise ValueError(action)
    if not can_use_staff_ui(user):
        raise PermissionDenied("Your account has no access to the staff interface.")
    perm, refusal = actions[action]
    if not user.has_perm(perm):
        raise PermissionDenied(refusal)


def check_order_action(user: Any, action: str = "view") -> None:
    """*action* is view, add, change or invoice (make a draft invoice of it)."""
    _check(user, ORDER_ACTIONS, action)


def check_invoice_action(user: Any, action: str = "view") -> None:
    """*action* is view, add, change, post (post or cancel) or pay (register a payment)."""
    _check(user, INVOICE_ACTIONS, action)


def can_order(user: Any, action: str = "view") -> bool:
    try:
        check_order_action(user, action)
    except PermissionDenied:
        return False
    return True


def can_invoice(user: Any, action: str = "view") -> bool:
    try:
        check_invoice_action(user, action)
    except PermissionDenied:
        return False
    return True


def get_order_for_user(user: Any, pk: int, *, action: str = "view") -> Order:
    check_order_action(user, action)
    try:
        return Order.objects.select_related("partner", "payment_term", "price_list").get(pk=pk)
    except Order.DoesNotExist:
        raise Http404("No such quotation or order.") from None


def get_invoice_for_user(user: Any, pk: int, *, action: str = "view") -> Invoice:
    check_invoice_action(user, action)
    try:
        return Invoice.objects.select_related("partner", "payment_term", "origin", "order").get(
            pk=pk
        )
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
