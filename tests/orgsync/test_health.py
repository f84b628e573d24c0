"""/healthz answers JSON about the database, the broker and the workers."""

import pytest


@pytest.mark.django_db
def test_healthz_is_503_without_workers(client):
    """No cluster running: database and broker are fine, workers are not, so 503."""
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["workers"] == {
        "ok": False,
        "clusters": 0,
        "workers": 0,
        "stalled_clusters": [],
        "lost_clusters": [],
    }


@pytest.mark.django_db
def test_healthz_needs_no_login_and_is_not_cached(client):
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_reports_a_broken_database(client, monkeypatch):
    """A database error becomes part of the answer (503), not a 500."""
    from orgsync import health

    def broken_cursor():
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {
        "ok": False,
        "vendor": health.connection.vendor,
        "error": "RuntimeError",
    }
