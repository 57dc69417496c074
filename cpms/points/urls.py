from django.urls import path

from cpms.points import views

app_name = "points"

urlpatterns = [
    path("", views.member_list, name="list"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer"),
    path("customers/<int:customer_id>/redeem/", views.redeem, name="redeem"),
    path("customers/<int:customer_id>/adjust/", views.adjust, name="adjust"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/<str:currency>/", views.rule_edit, name="rule_edit"),
]
