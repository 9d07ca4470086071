from django.urls import URLPattern, URLResolver, path

from biometrics import views

app_name = "biometrics"

urlpatterns: list[URLPattern | URLResolver] = [
    path("people/<uuid:person_id>/fingerprints/", views.enrol, name="enrol"),
    path("people/<uuid:person_id>/photo/", views.photo, name="photo"),
    path("people/<uuid:person_id>/photo/image/", views.photo_image, name="photo_image"),
    path("fingerprints/<uuid:capture_id>/image/", views.print_image, name="print_image"),
    path("cases/<uuid:case_id>/verify/", views.verify, name="verify"),
    path("search/", views.search, name="search"),
    path("search/<uuid:search_id>/", views.search_result, name="search_result"),
]
