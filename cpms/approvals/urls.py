from django.urls import path

from cpms.approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/approve", views.approve, name="approve"),
    path("<int:pk>/reject", views.reject, name="reject"),
    path("<int:pk>/cancel", views.cancel, name="cancel"),
    path("policies/", views.policies, name="policies"),
    path("policies/<str:action>/", views.policy_edit, name="policy-edit"),
]
