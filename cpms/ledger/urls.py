from django.urls import path

from cpms.ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.account_list, name="accounts"),
    path("accounts/<int:pk>/", views.account_detail, name="account"),
    path("accounts/<int:pk>/statement/", views.statement, name="statement"),
    path(
        "accounts/<int:pk>/statement.<str:fmt>",
        views.statement_file,
        name="statement-file",
    ),
    path("transfers/", views.transfer_list, name="transfers"),
    path("transfers/new/", views.transfer_create, name="transfer-new"),
    path("transfers/<int:pk>/", views.transfer_detail, name="transfer"),
    path("transfers/<int:pk>/reverse/", views.transfer_reverse, name="reverse"),
    path("holds/", views.hold_list, name="holds"),
    path("holds/<int:pk>/post/", views.hold_post, name="hold-post"),
    path("holds/<int:pk>/void/", views.hold_void, name="hold-void"),
    path("periods/", views.period_close, name="periods"),
    path("trial-balance/", views.trial_balance, name="trial-balance"),
]
