"""The sales pages (mounted at /sales/)."""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.sales import (
    case_urls,
    document_urls,
    import_urls,
    layout_urls,
    shipment_urls,
    statement_urls,
    views,
)

app_name = "sales"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/autocomplete/", views.product_autocomplete, name="autocomplete"),
    path("products/<id:pk>/edit/", views.product_edit, name="product_edit"),
    path("product-categories/", views.category_list, name="category_list"),
    path("product-categories/new/", views.category_create, name="category_create"),
    path("product-categories/<id:pk>/edit/", views.category_edit, name="category_edit"),
    path("payment-terms/", views.payment_term_list, name="payment_term_list"),
    path("payment-terms/new/", views.payment_term_create, name="payment_term_create"),
    path("payment-terms/<id:pk>/edit/", views.payment_term_edit, name="payment_term_edit"),
    path("rates/", views.rate_list, name="rate_list"),
    path("rates/add/", views.rate_add, name="rate_add"),
    path("rates/<id:pk>/delete/", views.rate_delete, name="rate_delete"),
    path("price-lists/", views.price_list_list, name="price_list_list"),
    path("price-lists/new/", views.price_list_create, name="price_list_create"),
    path("price-lists/<id:pk>/", views.price_list_detail, name="price_list_detail"),
    path("price-lists/<id:pk>/edit/", views.price_list_edit, name="price_list_edit"),
    path("price-lists/<id:pk>/versions/", views.version_add, name="version_add"),
    path("versions/<id:pk>/edit/", views.version_edit, name="version_edit"),
    path("versions/<id:pk>/delete/", views.version_delete, name="version_delete"),
    path("versions/<id:pk>/rules/", views.rule_add, name="rule_add"),
    path("rules/<id:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<id:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("partner/<id:pk>/terms/", views.partner_terms, name="partner_terms"),
    path("partner/<id:pk>/terms/edit/", views.partner_terms_edit, name="partner_terms_edit"),
    *layout_urls.urlpatterns,  # before orders/ and shipments/<id>/<action>/, which take <id>/pdf/
    *document_urls.urlpatterns,
    *shipment_urls.urlpatterns,
    *import_urls.urlpatterns,
    *statement_urls.urlpatterns,
    *case_urls.urlpatterns,
]
