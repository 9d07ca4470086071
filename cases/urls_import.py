from django.urls import path

from cases import views_import

urlpatterns = [
    path("", views_import.import_start, name="import_start"),
    path("<uuid:job_id>/", views_import.import_job, name="import_job"),
    path("<uuid:job_id>/resume/", views_import.import_resume, name="import_resume"),
]
