from django.urls import path

from cpms.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("fields/", views.custom_field_list, name="fields"),
    path("fields/<int:pk>/", views.custom_field_edit, name="field-edit"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/status", views.customer_status, name="status"),
    path("<int:pk>/kyc-verification", views.kyc_request, name="kyc-request"),
    path("<int:pk>/consents", views.consent_grant, name="consent-grant"),
    path(
        "<int:pk>/consents/<int:consent_id>/withdraw",
        views.consent_withdraw,
        name="consent-withdraw",
    ),
]
