from django.urls import path

from cpms.quality import views

app_name = "quality"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("candidates/<int:pk>/", views.candidate_detail, name="candidate"),
    path("candidates/<int:pk>/dismiss", views.candidate_dismiss, name="candidate-dismiss"),
    path("candidates/<int:pk>/merge", views.candidate_merge, name="candidate-merge"),
    path("scan", views.scan, name="scan"),
    path("completeness/", views.completeness, name="completeness"),
    path("stale/", views.stale, name="stale"),
    path("summaries/", views.summaries, name="summaries"),
]
