from django.urls import URLPattern, URLResolver, path

app_name = "rsd"

urlpatterns: list[URLPattern | URLResolver] = []

from rsd import views as step_views  # noqa: E402  (the case's procedure steps)

urlpatterns += [
    path("cases/<uuid:case_id>/steps/<slug:name>/", step_views.step, name="step"),
    path("cases/<uuid:case_id>/application/", step_views.application_edit, name="application_edit"),
    path("cases/<uuid:case_id>/family/", step_views.family_add, name="family_add"),
    path("cases/<uuid:case_id>/letter/", step_views.letter, name="letter"),
]

from rsd import views_lists  # noqa: E402  (the lists: review queue, interviews, COI library)

urlpatterns += [
    path("review/", views_lists.review_queue, name="review_queue"),
    path("interviews/", views_lists.interviews, name="interviews"),
    path("coi/", views_lists.coi_library, name="coi_library"),
    path("coi/<int:source_id>/document/", views_lists.coi_document, name="coi_document"),
    path("coi/<int:source_id>/retire/", views_lists.coi_retire, name="coi_retire"),
]
