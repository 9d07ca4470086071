"""The project's URLs plus the step pages of a toy procedure (tests/cases/test_step_pages.py)."""

from django.urls import path

from cases import selectors
from cases.steps import audited_get, step_view
from settings.urls import urlpatterns as project_urlpatterns


def _case(request, case_id, action):
    return audited_get(selectors.get_case, request, case_id, action=action, object_type="cases.case")


urlpatterns = [
    path("toy/cases/<uuid:case_id>/steps/<slug:name>/", step_view(step_url="toy_step", get_case=_case),
         name="toy_step"),
    *project_urlpatterns,
]
