from django.urls import URLPattern, URLResolver, path

from tip import views, views_ctdc, views_registration, views_support

app_name = "tip"

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/<uuid:case_id>/steps/<slug:name>/", views.step, name="step"),
    path("cases/<uuid:case_id>/profile/", views.profile_edit, name="profile_edit"),
    path("cases/<uuid:case_id>/events/", views.event_add, name="event_add"),
    path("cases/<uuid:case_id>/perpetrators/", views.perpetrator_add, name="perpetrator_add"),
    path("cases/<uuid:case_id>/risk/", views_support.risk_assess, name="risk_assess"),
    path("cases/<uuid:case_id>/plan/", views_support.plan_edit, name="plan_edit"),
    path("cases/<uuid:case_id>/services/", views_support.service_add, name="service_add"),
    path("cases/<uuid:case_id>/services/<uuid:service_id>/", views_support.service_edit,
         name="service_edit"),
    path("cases/<uuid:case_id>/referrals/", views_support.referral_add, name="referral_add"),
    path("cases/<uuid:case_id>/referrals/<uuid:referral_id>/", views_support.referral_edit,
         name="referral_edit"),
    path("cases/<uuid:case_id>/registration-screen/", views_registration.registration_screen,
         name="registration_screen"),
    path("organisations/", views_support.organisations, name="organisations"),
    path("organisations/<uuid:organisation_id>/", views_support.organisation_edit,
         name="organisation_edit"),
    path("statistics/ctdc/", views_ctdc.ctdc_export, name="ctdc_export"),
]
