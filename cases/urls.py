from django.urls import path

from cases import views, views_notifications, views_staff

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("people/", views.people_search, name="people_search"),
    path("people/new/", views.person_create, name="person_create"),
    path("people/<uuid:person_id>/", views.person_detail, name="person_detail"),
    path("people/<uuid:person_id>/edit/", views.person_edit, name="person_edit"),
    path("people/<uuid:person_id>/documents/", views.identity_document_add,
         name="identity_document_add"),
    path("people/<uuid:person_id>/erase/", views.person_erase, name="person_erase"),
    path("people/<uuid:person_id>/open-case/", views.case_open, name="case_open"),
    path("staff/", views_staff.staff, name="staff"),
    path("staff/memberships/<int:membership_id>/revoke/", views_staff.membership_revoke,
         name="membership_revoke"),
    path("staff/users/<int:user_id>/", views_staff.staff_account, name="staff_account"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("notifications/", views_notifications.notification_list, name="notification_list"),
    path("notifications/read/", views_notifications.notifications_read, name="notifications_read"),
    path("notifications/<int:notification_id>/", views_notifications.notification_open,
         name="notification_open"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<uuid:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<uuid:case_id>/assign/", views.case_assign, name="case_assign"),
    path("cases/<uuid:case_id>/take/", views.case_take, name="case_take"),
    path("cases/<uuid:case_id>/notes/", views.note_add, name="note_add"),
    path("cases/<uuid:case_id>/documents/", views.document_upload, name="document_upload"),
    path("cases/<uuid:case_id>/documents/<uuid:document_id>/", views.document_download,
         name="document_download"),
]
