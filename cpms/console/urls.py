from django.contrib.auth import views as auth_views
from django.urls import path

from cpms.console import views

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/counts", views.dashboard_counts, name="dashboard-counts"),
    path("staff/", views.staff, name="staff"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="console/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
