"""Where mail goes (issue 19): an explicit EMAIL_URL or EMAIL_BACKEND wins; otherwise dev mail
(DEBUG, or `make run`) is written as files under var/mail/, and `runconsole` says so."""

import os
from pathlib import Path

import pytest

from orgsync.env import FILE_MAIL_BACKEND, email_settings
from orgsync.management.commands.runconsole import Command

MAIL_DIR = Path("/srv/orgsync/var/mail")


@pytest.fixture(autouse=True)
def no_mail_configured(monkeypatch):
    for name in ("EMAIL_URL", "EMAIL_BACKEND", "ORGSYNC_DEV_MAIL"):
        monkeypatch.setenv(name, "")  # remembered, so the test's changes are undone
        monkeypatch.delenv(name)


def test_dev_mail_is_written_as_files():
    config = email_settings(dev_mail=True, mail_dir=MAIL_DIR)
    assert config == {"EMAIL_BACKEND": FILE_MAIL_BACKEND, "EMAIL_FILE_PATH": str(MAIL_DIR)}


def test_without_dev_mail_it_goes_to_the_local_smtp_server():
    config = email_settings(dev_mail=False, mail_dir=MAIL_DIR)
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == ("localhost", 25)


def test_an_explicit_email_url_or_backend_wins(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "consolemail://")
    assert email_settings(dev_mail=True, mail_dir=MAIL_DIR)["EMAIL_BACKEND"].endswith("console.EmailBackend")
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    assert email_settings(dev_mail=True, mail_dir=MAIL_DIR)["EMAIL_BACKEND"].endswith("dummy.EmailBackend")


def test_runconsole_turns_dev_mail_on_for_its_processes_and_says_where(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    line = Command._dev_mail()
    assert line.startswith(
        f"dev mail (partner invitations, alerts) is written as files to {tmp_path / 'mail'}/"
    )
    assert os.environ["ORGSYNC_DEV_MAIL"] == "true"


def test_runconsole_leaves_configured_mail_alone(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://user:s3cret@smtp.example.com:587")
    line = Command._dev_mail()
    assert line == "mail is sent by django.core.mail.backends.smtp.EmailBackend (EMAIL_URL, EMAIL_BACKEND)"
    assert "s3cret" not in line
