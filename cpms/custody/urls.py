from django.urls import path

from cpms.custody import views

app_name = "custody"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("new/", views.item_receive, name="receive"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("<int:pk>/put-away", views.item_put_away, name="put-away"),
    path("<int:pk>/check-out", views.item_check_out, name="check-out"),
    path("<int:pk>/check-in", views.item_check_in, name="check-in"),
    path("<int:pk>/return", views.item_return, name="return"),
    path("<int:pk>/dispose", views.item_dispose, name="dispose"),
    path("<int:pk>/move", views.item_move, name="move"),
    path("<int:pk>/found", views.item_found, name="found"),
    path("<int:pk>/photos", views.photo_upload, name="photo-upload"),
    path("<int:pk>/photos/<int:photo_id>", views.photo_download, name="photo"),
    path("<int:pk>/receipt.pdf", views.item_receipt, name="receipt"),
    path("<int:pk>/incident", views.incident_open, name="incident-open"),
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident"),
    path("incidents/<int:pk>/notify", views.incident_notify, name="incident-notify"),
    path("incidents/<int:pk>/response", views.incident_response, name="incident-response"),
    path("incidents/<int:pk>/close", views.incident_close, name="incident-close"),
    path("stocktakes/", views.stocktake_list, name="stocktakes"),
    path("stocktakes/new", views.stocktake_start, name="stocktake-start"),
    path("stocktakes/<int:pk>/", views.stocktake_detail, name="stocktake"),
    path("stocktakes/<int:pk>/sheet", views.stocktake_sheet, name="stocktake-sheet"),
    path("stocktakes/<int:pk>/count", views.stocktake_count, name="stocktake-count"),
    path("stocktakes/<int:pk>/close", views.stocktake_close, name="stocktake-close"),
]
