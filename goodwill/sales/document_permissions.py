"""Who may see and act on quotations, orders, invoices and payments, and the
objects the document pages load.

Agents see every commercial document and draft quotations and orders;
managers also draft invoices, post them and register payments. The role is
checked before any lookup, so an outsider cannot probe which ids exist.

The helpers that do this from a table of actions (``check_action``,
``can_act``, ``get_for_user``) serve the shipment and campaign pages too.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.sales.models import Invoice, Order

M = TypeVar("M", bound=Model)

# action: (permission, refusal)
Actions = dict[str, tuple[str, str]]

ORDER_ACTIONS: Actions = {
    "view": ("sales.view_order", "Your role does not allow you to see orders."),
    "add": ("sales.add_order", "Your role does not allow you to create quotations or orders."),
    "change": ("sales.change_order", "Your role does not allow you to change orders."),
    "invoice": ("sales.add_invoice", "Only managers and administrators can invoice an order."),
}
INVOICE_ACTIONS: Actions = {
    "view": ("sales.view_invoice", "Your role does not allow you to see invoices."),
    "add": ("sales.add_invoice", "Only managers and administrators can draft invoices."),
    "change": ("sales.change_invoice", "Only managers and administrators can change invoices."),
    "post": ("sales.post_invoice", "Only managers and administrators can post or cancel invoices."),
    "pay": ("sales.add_payment", "Only managers and administrators can register payments."),
}


def check_action(user: Any, actions: Actions, action: str) -> None:
    """Raise PermissionDenied, with the refusal of *actions*, unless *user* may
    do *action*; an action missing from *actions* is a programming error."""
    if action not in actions:
        raise ValueError(action)
    if not can_use_staff_ui(user):
        raise PermissionDenied("Your account has no access to the staff interface.")
    perm, refusal = actions[action]
    if not user.has_perm(perm):
        raise PermissionDenied(refusal)


def can_act(user: Any, actions: Actions, action: str) -> bool:
    """Whether *user* may do *action*, to show or hide a button."""
    try:
        check_action(user, actions, action)
    except PermissionDenied:
        return False
    return True


def get_for_user(
    user: Any, queryset: QuerySet[M], pk: int, *, actions: Actions, action: str, missing: str
) -> M:
    """The object *pk* of *queryset*, once *user* may do *action*: the role is
    checked before the lookup. An unknown id is a 404 saying *missing*."""
    check_action(user, actions, action)
    try:
        return queryset.get(pk=pk)
    except ObjectDoesNotExist:
        raise Http404(missing) from None


def check_order_action(user: Any, action: str = "view") -> None:
    """*action* is view, add, change or invoice (make a draft invoice of it)."""
    check_action(user, ORDER_ACTIONS, action)


def check_invoice_action(user: Any, action: str = "view") -> None:
    """*action* is view, add, change, post (post or cancel) or pay (register a payment)."""
    check_action(user, INVOICE_ACTIONS, action)


def can_order(user: Any, action: str = "view") -> bool:
    return can_act(user, ORDER_ACTIONS, action)


def can_invoice(user: Any, action: str = "view") -> bool:
    return can_act(user, INVOICE_ACTIONS, action)


def get_order_for_user(user: Any, pk: int, *, action: str = "view") -> Order:
    return get_for_user(
        user,
        Order.objects.select_related("partner", "payment_term", "price_list"),
        pk,
        actions=ORDER_ACTIONS,
        action=action,
        missing="No such quotation or order.",
    )


def get_invoice_for_user(user: Any, pk: int, *, action: str = "view") -> Invoice:
    return get_for_user(
        user,
        Invoice.objects.select_related("partner", "payment_term", "origin", "order"),
        pk,
        actions=INVOICE_ACTIONS,
        action=action,
        missing="No such invoice.",
    )
