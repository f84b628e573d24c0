"""The invited partner's pages (`/partner/…`), outside the admin."""

from django.urls import path

from connections import partner_views

app_name = "partner"
urlpatterns = [
    path("invitations/<int:connection_id>/<str:token>/", partner_views.invitation_page, name="invitation"),
    path("invitations/<int:connection_id>/<str:token>/signin/", partner_views.signin, name="signin"),
    path("invitations/<int:connection_id>/<str:token>/accept/", partner_views.accept, name="accept"),
    path("invitations/<int:connection_id>/<str:token>/decline/", partner_views.decline, name="decline"),
    path("oauth/callback/", partner_views.oauth_callback, name="oauth_callback"),
]
