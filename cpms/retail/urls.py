from django.urls import path

from cpms.retail import views

app_name = "retail"

urlpatterns = [
    path("", views.purchase_list, name="list"),
    path("new/", views.purchase_create, name="create"),
    path("<int:pk>/", views.purchase_detail, name="detail"),
    path("<int:pk>/return/", views.purchase_return, name="return"),
]
