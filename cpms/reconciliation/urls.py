from django.urls import path

from cpms.reconciliation import views

app_name = "reconciliation"

urlpatterns = [
    path("", views.statement_list, name="list"),
    path("upload/", views.statement_upload, name="upload"),
    path("statements/<int:pk>/", views.statement_detail, name="detail"),
    path("accounts/<int:pk>/", views.workspace, name="workspace"),
    path("accounts/<int:pk>/match/", views.match_create, name="match"),
    path("accounts/<int:pk>/accept/", views.match_accept, name="accept"),
    path("matches/<int:pk>/undo/", views.match_undo, name="unmatch"),
    path("breaks/", views.break_list, name="breaks"),
    path("breaks/<int:pk>/assign/", views.break_assign, name="break-assign"),
    path("breaks/<int:pk>/resolve/", views.break_resolve, name="break-resolve"),
    path("profiles/", views.profile_list, name="profiles"),
    path("profiles/new/", views.profile_create, name="profile-create"),
    path("report/", views.report, name="report"),
    path("report.xlsx", views.report_xlsx, name="report-xlsx"),
]
