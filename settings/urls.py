from django.contrib import admin
from django.urls import include, path

from cases import views_health, views_session
from cases.views import LoginView, LogoutView

# A refused page is an audit event (audit/refusals.py); CSRF_FAILURE_VIEW likewise.
handler403 = "audit.refusals.permission_denied"

urlpatterns = [
    path("health/", views_health.ready, name="health"),
    path("health/live/", views_health.live, name="health_live"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("session/remaining/", views_session.remaining, name="session_remaining"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("imports/", include("cases.urls_import")),
    path("audit/", include("audit.urls")),
    path("asylum/", include("rsd.urls")),
    path("trafficking/", include("tip.urls")),
    path("statistics/", include("stats.urls")),
    path("biometrics/", include("biometrics.urls")),
    path("", include("cases.urls")),
]
