from django.urls import path

from cpms.console import views
from cpms.users import views as user_views

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/counts", views.dashboard_counts, name="dashboard-counts"),
    path("staff/", views.staff, name="staff"),
    # sign-in and sign-out live in cpms.users (lockout, two-factor); URL names stay here
    path("accounts/login/", user_views.login_view, name="login"),
    path("accounts/logout/", user_views.logout_view, name="logout"),
]
