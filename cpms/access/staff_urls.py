"""The console's staff administration, mounted at /users/staff/ (config/urls.py)."""

from django.urls import path

from cpms.access import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.staff_list, name="list"),
    path("new/", staff_views.staff_create, name="create"),
    path("<int:pk>/", staff_views.staff_detail, name="detail"),
    path("<int:pk>/<slug:action>/", staff_views.staff_action, name="action"),
]
