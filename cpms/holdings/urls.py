from django.urls import path

from cpms.holdings import views

app_name = "holdings"

urlpatterns = [
    path("", views.holding_list, name="list"),
    path("new/", views.holding_create, name="create"),
    path("prices/import/", views.prices_import, name="prices-import"),
    path("<int:pk>/", views.holding_detail, name="detail"),
    path("<int:pk>/edit/", views.holding_edit, name="edit"),
    path("<int:pk>/revalue", views.holding_revalue, name="revalue"),
    path("<int:pk>/status", views.holding_status, name="status"),
    path("<int:pk>/positions", views.position_add, name="position-add"),
    path(
        "<int:pk>/positions/<int:position_id>/remove",
        views.position_remove,
        name="position-remove",
    ),
]
