"""The invited partner's pages (`/partner/…`), outside the admin."""

from django.urls import path

from replication.partner import views as partner_views

app_name = "partner"
urlpatterns = [
    path("invitations/<int:connection_id>/<str:token>/", partner_views.invitation_page, name="invitation"),
    path("invitations/<int:connection_id>/<str:token>/signin/", partner_views.signin, name="signin"),
    path("invitations/<int:connection_id>/<str:token>/accept/", partner_views.accept, name="accept"),
    path("invitations/<int:connection_id>/<str:token>/decline/", partner_views.decline, name="decline"),
    path(
        "invitations/<int:connection_id>/<str:token>/subscribe/",
        partner_views.subscribe_page,
        name="subscribe",
    ),
    path(
        "invitations/<int:connection_id>/<str:token>/subscribe/object/",
        partner_views.subscribe_object,
        name="subscribe_object",
    ),
    path(
        "invitations/<int:connection_id>/<str:token>/subscribe/mapping/",
        partner_views.save_mapping,
        name="save_mapping",
    ),
    path("oauth/callback/", partner_views.oauth_callback, name="oauth_callback"),
]
