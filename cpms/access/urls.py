from django.urls import path

from cpms.access import views

app_name = "access"

urlpatterns = [
    path("", views.staff_list, name="staff-list"),
    path("roles/", views.role_list, name="role-list"),
    path("roles/new/", views.role_edit, name="role-create"),
    path("roles/<slug:code>/", views.role_edit, name="role-edit"),
    path("staff/<int:user_id>/", views.staff_grants, name="staff-grants"),
    path("grants/<int:grant_id>/revoke/", views.grant_revoke, name="grant-revoke"),
    path("conflicts/", views.conflicts, name="conflicts"),
    path("conflicts/<int:conflict_id>/remove/", views.conflict_remove, name="conflict-remove"),
]
