from django.urls import path

from cpms.dataio import views

app_name = "dataio"

urlpatterns = [
    path("", views.import_page, name="import"),
    path("imports/<int:pk>/", views.job_detail, name="job"),
    path("imports/<int:pk>/errors.csv", views.job_errors, name="job-errors"),
    path("templates/<str:dataset>.<str:file_format>", views.template_download, name="template"),
    path("export/", views.export_page, name="export"),
]
