from django.urls import path

from cpms.loans import views

app_name = "loans"

urlpatterns = [
    path("", views.loan_list, name="list"),
    path("overdue/", views.overdue_report, name="overdue"),
    path("<int:pk>/", views.loan_detail, name="detail"),
    path("<int:pk>/disburse/", views.loan_disburse, name="disburse"),
    path("<int:pk>/accrue/", views.loan_accrue, name="accrue"),
    path("<int:pk>/repay/", views.loan_repay, name="repay"),
    path("<int:pk>/early-repay/", views.loan_repay_early, name="early-repay"),
]
