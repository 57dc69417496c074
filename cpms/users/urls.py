from django.urls import path

from cpms.users import views

app_name = "users"

urlpatterns = [
    path("account/", views.account, name="account"),
    path("password/", views.password_change, name="password-change"),
    path("mfa/verify/", views.mfa_verify, name="mfa-verify"),
    path("mfa/enrol/", views.mfa_enrol, name="mfa-enrol"),
    path(
        "mfa/recovery-codes/",
        views.recovery_codes_regenerate,
        name="recovery-codes-regenerate",
    ),
    path("reauth/", views.reauth, name="reauth"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/create/", views.token_create, name="token-create"),
    path("tokens/<str:prefix>/revoke/", views.token_revoke, name="token-revoke"),
    path("security/", views.security_overview, name="security"),
    path("security/<int:pk>/unlock/", views.account_unlock, name="unlock"),
    path("security/<int:pk>/mfa-reset/", views.mfa_reset, name="mfa-reset"),
]
