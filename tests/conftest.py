import pytest

pytest_plugins = ["tests.orgsync.cluster", "sfemu.testing"]


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Each database test starts with no rate-limit counters: clear this run's cache keys only."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    )
    if uses_db:
        with request.getfixturevalue("django_db_blocker").unblock():
            _clear_own_keys()


def _clear_own_keys() -> None:
    from django.core.cache import cache

    if cache.__class__.__name__ == "RedisCache":
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=f"{cache.key_prefix}:*"):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture
def operator(db):
    """A staff operator with a known password (tests.factories.PASSWORD)."""
    from tests.factories import UserFactory

    return UserFactory()
