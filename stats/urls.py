from django.urls import path

from stats import views

app_name = "stats"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/", views.export, name="export"),
    path("breakdown/", views.breakdown_screen, name="breakdown"),
    path("report/", views.report, name="report"),
    path("rsd/", views.rsd, name="rsd"),
    path("rsd/export/", views.rsd_export, name="rsd_export"),
    path("unhcr/", views.unhcr_tables, name="unhcr"),
    path("unhcr/export/", views.unhcr_export, name="unhcr_export"),
    path("consistency/", views.consistency_screen, name="consistency"),
]
