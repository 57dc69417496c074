from django.urls import path

from cpms.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.entry_list, name="entry-list"),
    path("export.csv", views.entry_export, name="entry-export"),
    path("status/", views.status, name="status"),
    path("verify/", views.verify, name="verify"),
]
