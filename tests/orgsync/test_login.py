"""Operators sign in through allauth, with MFA and rate limits, also on the admin's door."""

import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

LOGIN_URL = "/accounts/login/"


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def login(client: Client, login: str, password: str, next_url: str = "/admin/"):
    return client.post(f"{LOGIN_URL}?next={next_url}", {"login": login, "password": password})


def enrol_totp(client: Client) -> str:
    """Activate TOTP for the signed-in operator as they would in the browser; return the secret.

    allauth first asks for the password again (reauthentication) before adding a factor.
    """
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("account_reauthenticate"))
    confirmed = client.post(page["Location"], {"password": PASSWORD})
    assert confirmed.status_code == 302 and confirmed["Location"] == reverse("mfa_activate_totp")
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_now(secret)})
    assert response.status_code == 302, response.content
    return secret


@pytest.mark.django_db
def test_admin_sends_anonymous_visitors_to_allauth_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


@pytest.mark.django_db
def test_admin_login_form_cannot_be_used_to_bypass_allauth(client, operator):
    """POSTing credentials to the admin's own login view does not sign anyone in."""
    response = client.post("/admin/login/", {"username": operator.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN_URL)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["username", "email"])
def test_login_by_username_or_email_reaches_the_admin(client, operator, field):
    response = login(client, getattr(operator, field), PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    admin_index = client.get("/admin/")
    assert admin_index.status_code == 200
    assert reverse("mfa_index") in admin_index.content.decode(), "the admin links to 2FA enrolment"


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_message(client, operator):
    response = login(client, operator.username, "not the password")
    assert response.status_code == 200
    assert "The username and/or password you specified are not correct." in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failed_logins_are_rate_limited(client, operator):
    """After five failures for one account even the right password is refused for a while."""
    for _ in range(5):
        assert login(client, operator.username, "wrong").status_code == 200
    response = login(client, operator.username, PASSWORD)
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_up_is_closed_by_default(client):
    assert "sign up" not in client.get(LOGIN_URL).content.decode().lower()
    response = client.get("/accounts/signup/")
    assert "Sign Up Closed" in response.content.decode()
    client.post(
        "/accounts/signup/",
        {"username": "x", "email": "x@example.com", "password1": "p" * 14, "password2": "p" * 14},
    )
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="x").exists()


@pytest.mark.django_db
def test_operator_enrols_totp_and_then_needs_the_code(client, operator):
    login(client, operator.username, PASSWORD)
    secret = enrol_totp(client)
    client.logout()

    response = login(client, operator.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302, "password alone must not open the admin"

    wrong = client.post(
        reverse("mfa_authenticate"),
        {"code": "000000" if totp_now(secret) != "000000" else "111111"},
    )
    assert wrong.status_code == 200 and "Incorrect code." in wrong.content.decode()
    response = client.post(reverse("mfa_authenticate"), {"code": totp_now(secret)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_recovery_codes_open_the_console_once(client, operator):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    login(client, operator.username, PASSWORD)
    enrol_totp(client)
    codes = RecoveryCodes(Authenticator.objects.get(user=operator, type="recovery_codes")).get_unused_codes()
    assert len(codes) == 10
    client.logout()

    login(client, operator.username, PASSWORD)
    client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert client.get("/admin/").status_code == 200
    client.logout()
    login(client, operator.username, PASSWORD)
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 200, "a used recovery code must not work twice"


@pytest.mark.django_db
def test_required_mfa_sends_unenrolled_operators_to_enrolment(client, settings):
    settings.ORGSYNC_REQUIRE_MFA = True
    operator = UserFactory()
    login(client, operator.username, PASSWORD)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    enrol_totp(client)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_non_staff_users_cannot_open_the_admin(client):
    user = UserFactory(is_staff=False)
    login(client, user.username, PASSWORD)
    assert client.get("/admin/").status_code in (302, 403)
    assert client.get("/admin/login/").status_code == 403
