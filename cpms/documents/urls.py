from django.urls import path

from cpms.documents import views

app_name = "documents"

urlpatterns = [
    path("", views.document_list, name="list"),
    path("new/", views.document_upload, name="upload"),
    path("<int:pk>/", views.document_detail, name="detail"),
    path("<int:pk>/edit", views.document_edit, name="edit"),
    path("<int:pk>/versions", views.version_add, name="version-add"),
    path("<int:pk>/download", views.document_download, name="download"),
    path(
        "<int:pk>/versions/<int:number>/download",
        views.version_download,
        name="version-download",
    ),
    path("<int:pk>/links", views.document_link, name="link"),
    path("<int:pk>/links/<int:holding_id>/remove", views.document_unlink, name="unlink"),
]
