from django.urls import include, path, re_path

from cpms.config.api import api
from cpms.core import picker_views
from cpms.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    re_path(r"^api/", core_views.api_not_found),
    path("i18n/", include("django.conf.urls.i18n")),
    path("pick/<slug:kind>/", picker_views.pick, name="pick"),
    path("audit/", include("cpms.audit.urls")),
    path("access/", include("cpms.access.urls")),
    path("privacy/", include("cpms.privacy.urls")),
    path("approvals/", include("cpms.approvals.urls")),
    path("customers/", include("cpms.customers.urls")),
    path("holdings/", include("cpms.holdings.urls")),
    path("custody/", include("cpms.custody.urls")),
    path("documents/", include("cpms.documents.urls")),
    path("purchases/", include("cpms.retail.urls")),
    path("quality/", include("cpms.quality.urls")),
    path("data/", include("cpms.dataio.urls")),
    path("ledger/", include("cpms.ledger.urls")),
    path("points/", include("cpms.points.urls")),
    path("loans/", include("cpms.loans.urls")),
    path("portfolios/", include("cpms.portfolios.urls")),
    path("reconciliation/", include("cpms.reconciliation.urls")),
    path("notifications/", include("cpms.notifications.urls")),
    path("users/staff/", include("cpms.access.staff_urls")),
    path("users/", include("cpms.users.urls")),
    path("", include("cpms.console.urls")),
]

handler400 = "cpms.core.views.bad_request"
handler403 = "cpms.core.views.permission_denied"
handler404 = "cpms.core.views.page_not_found"
handler500 = "cpms.core.views.server_error"
