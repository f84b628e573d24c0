"""The admin home shows the product first and tucks the library apps under "Administration"."""

import re

import pytest

from orgsync.roles import OPERATORS
from tests.factories import UserFactory

PRODUCT = ["connections", "replication", "synclog", "metadiff"]
LIBRARY = {"auth", "account", "mfa", "django_q"}


@pytest.fixture
def superuser_client(client, db):
    client.force_login(UserFactory(is_superuser=True))
    return client


def app_labels(html: str) -> list[str]:
    return re.findall(r'<div class="app-([a-z_]+) module', html)


def test_index_lists_product_apps_in_order_then_library_apps(superuser_client):
    response = superuser_client.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    labels = app_labels(html)
    assert labels[: len(PRODUCT)] == PRODUCT
    assert set(labels[len(PRODUCT) :]) == LIBRARY
    # The library apps sit inside the collapsed (closed) "Administration" section, after the product.
    section = html.index('<details id="administration-apps" class="administration-apps">')  # closed
    assert html.index('<div class="app-metadiff module') < section
    for label in LIBRARY:
        assert html.index(f'<div class="app-{label} module') > section
    # The product's models are listed as before.
    assert "/admin/connections/connection/" in html
    assert "/admin/replication/subscribedobject/" in html


def test_sidebar_lists_product_first(superuser_client):
    """Other admin pages' navigation sidebar follows the same order."""
    html = superuser_client.get("/admin/connections/connection/").content.decode()
    labels = app_labels(html)
    assert labels[: len(PRODUCT)] == PRODUCT
    assert set(labels[len(PRODUCT) :]) == LIBRARY


def test_app_index_still_shows_one_app(superuser_client):
    response = superuser_client.get("/admin/connections/")
    assert response.status_code == 200
    assert app_labels(response.content.decode()) == ["connections"]


def test_operator_sees_the_product_and_no_administration_section(client, db):
    """A Sync Operator has no permission on the library apps: no empty "Administration"."""
    client.force_login(UserFactory(groups=[OPERATORS]))
    html = client.get("/admin/").content.decode()
    labels = app_labels(html)
    assert labels and set(labels) <= set(PRODUCT)
    assert labels == [label for label in PRODUCT if label in labels]
    assert "administration-apps" not in html
