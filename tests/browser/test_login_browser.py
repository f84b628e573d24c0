"""An operator signs in through allauth in a real browser, reaches the admin, enrols TOTP."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, UserFactory
from tests.orgsync.test_login import totp_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, login: str, password: str) -> None:
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_sign_in_reaches_the_admin_and_wrong_password_does_not(page):
    operator = UserFactory()
    sign_in(page, operator.username, "wrong password")
    expect(page.get_by_text("The username and/or password you specified are not correct.")).to_be_visible()
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_text("Salesforce org sync")).to_be_visible()


def test_operator_enrols_totp_then_signs_in_with_a_code(page):
    operator = UserFactory()
    sign_in(page, operator.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/$"))

    page.goto("/accounts/2fa/totp/activate/")
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.input_value("#authenticator_secret")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.fill("input[name=code]", totp_now(secret))
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/totp/activate/"))

    page.context.clear_cookies()
    sign_in(page, operator.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("input[name=code]", totp_now(secret))
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))
