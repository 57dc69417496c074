from django.urls import path

from cpms.privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.keys_status, name="keys"),
    path("reveal", views.reveal, name="reveal"),
]
