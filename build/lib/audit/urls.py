from django.urls import path

from audit import views

urlpatterns = [
    path("", views.event_search, name="audit_events"),
    path("export/", views.event_export, name="audit_export"),
    path("cases/<str:reference>/", views.case_timeline, name="audit_case_timeline"),
]
