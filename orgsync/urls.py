from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from orgsync.health import healthz
from synclog.metrics import metrics

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("partner/", include("replication.partner.urls")),
]
