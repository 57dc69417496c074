from django.urls import path

from cpms.portfolios import views

app_name = "portfolios"

urlpatterns = [
    path("", views.portfolio_list, name="list"),
    path("<int:pk>/", views.portfolio_detail, name="detail"),
    path("<int:pk>/trade/", views.trade_book, name="trade"),
]
