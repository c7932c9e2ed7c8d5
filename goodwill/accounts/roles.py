"""Roles are Django groups with a fixed name and a default set of permissions.

Administrators may widen or narrow a role's permissions in the admin; the sync
below only adds what a role is missing, it never removes what was granted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q


class Role(StrEnum):
    ADMINISTRATOR = "Administrator"
    MANAGER = "Manager"
    AGENT = "Agent"
    PORTAL = "Portal user"


STAFF_ROLES = (Role.ADMINISTRATOR, Role.MANAGER, Role.AGENT)

# "app_label.codename" for each role. Administrators get every permission.
ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.AGENT: {
        "accounts.access_staff_ui",
        "partners.view_partner",
        "partners.add_partner",
        "partners.change_partner",
        "partners.export_partner",
        "partners.view_category",
        "partners.add_timelineentry",
        "partners.view_timelineentry",
        "partners.add_membership",
        "partners.change_membership",
        "partners.delete_membership",
        "cases.view_case",
        "cases.add_case",
        "cases.change_case",
        "cases.view_section",
        "cases.view_casetype",
        "cases.view_casecategory",
        "cases.view_stage",
        "cases.view_case_reports",
        "sales.view_product",
        "sales.view_productcategory",
        "sales.view_pricelist",
        "sales.view_pricelistversion",
        "sales.view_pricerule",
        "sales.view_paymentterm",
        "sales.view_exchangerate",
        "sales.view_partnerterms",
        "sales.view_invoice",
        "sales.view_invoiceline",
        "sales.view_payment",
        "sales.view_paymentallocation",
        "sales.view_order",
        "sales.view_orderline",
        "sales.add_order",
        "sales.change_order",
        "sales.view_shipment",
        "sales.view_shipmentline",
        "sales.add_shipment",
        "sales.change_shipment",
        "sales.view_workrecord",
        "sales.add_workrecord",
        "sales.change_workrecord",
        "sales.delete_workrecord",
        "campaigns.view_campaign",
    },
    Role.MANAGER: {
        "partners.archive_partner",
        "partners.merge_partner",
        "partners.add_category",
        "partners.change_category",
        "cases.view_all_cases",
        "cases.merge_case",
        "cases.add_section",
        "cases.change_section",
        "cases.add_casetype",
        "cases.change_casetype",
        "cases.add_casecategory",
        "cases.change_casecategory",
        "cases.delete_casecategory",
        "cases.add_stage",
        "cases.change_stage",
        "cases.delete_stage",
        "sales.add_product",
        "sales.change_product",
        "sales.add_productcategory",
        "sales.change_productcategory",
        "sales.add_pricelist",
        "sales.change_pricelist",
        "sales.add_pricelistversion",
        "sales.change_pricelistversion",
        "sales.delete_pricelistversion",
        "sales.add_pricerule",
        "sales.change_pricerule",
        "sales.delete_pricerule",
        "sales.add_paymentterm",
        "sales.change_paymentterm",
        "sales.add_exchangerate",
        "sales.change_exchangerate",
        "sales.delete_exchangerate",
        "sales.add_partnerterms",
        "sales.change_partnerterms",
        "sales.add_invoice",
        "sales.change_invoice",
        "sales.post_invoice",
        "sales.add_payment",
        "sales.view_documentlayout",
        "sales.change_documentlayout",
        "sales.view_salesimport",
        "sales.add_salesimport",
        "campaigns.add_campaign",
        "campaigns.change_campaign",
        "campaigns.delete_campaign",
        # The email gateway: its log, mailboxes, section settings and bounces.
        "mailgate.view_inboundmessage",
        "mailgate.change_inboundmessage",
        "mailgate.add_inboundmessage",
        "mailgate.view_mailbox",
        "mailgate.add_mailbox",
        "mailgate.change_mailbox",
        "mailgate.delete_mailbox",
        "mailgate.view_sectionmail",
        "mailgate.change_sectionmail",
        "mailgate.add_inboundaddress",
        "mailgate.delete_inboundaddress",
        "mailgate.view_suppression",
        "mailgate.add_suppression",
        "mailgate.delete_suppression",
        "cases.view_outboundmessage",
        "cases.change_outboundmessage",
        # Automation: rules, their log, templates, calendars and SLA policies.
        "automation.view_rule",
        "automation.add_rule",
        "automation.change_rule",
        "automation.delete_rule",
        "automation.view_rulelog",
        "automation.view_webhookdelivery",
        "automation.view_emailtemplate",
        "automation.add_emailtemplate",
        "automation.change_emailtemplate",
        "automation.delete_emailtemplate",
        "automation.view_businesscalendar",
        "automation.add_businesscalendar",
        "automation.change_businesscalendar",
        "automation.view_slapolicy",
        "automation.add_slapolicy",
        "automation.change_slapolicy",
        "automation.delete_slapolicy",
    },
    Role.PORTAL: set(),
}
# Managers can do everything agents can.
ROLE_PERMISSIONS[Role.MANAGER] |= ROLE_PERMISSIONS[Role.AGENT]


def _permissions(names: set[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


def roles_sync() -> dict[Role, Group]:
    """Create the role groups and grant them their default permissions."""
    groups: dict[Role, Group] = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        if role is Role.ADMINISTRATOR:
            perms = list(Permission.objects.all())
        else:
            perms = _permissions(ROLE_PERMISSIONS[role])
        group.permissions.add(*perms)
        groups[role] = group
    return groups


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    # post_migrate fires once per app; wait for the last so every permission exists.
    from django.apps import apps

    with_models = [a for a in apps.get_app_configs() if a.models_module is not None]
    if sender is not with_models[-1]:
        return
    using = kwargs.get("using", "default")
    if using != "default":
        return
    roles_sync()
