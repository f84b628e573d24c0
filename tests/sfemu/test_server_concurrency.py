"""Parallel requests are served concurrently and all complete."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from sfemu.testing import SfemuServer


def test_parallel_requests_complete(sfemu_server: SfemuServer, data_url, auth_headers) -> None:
    def work(i: int) -> str:
        http = sfemu_server.http_session()
        created = http.post(
            data_url + "/sobjects/Account", headers=auth_headers, json={"Name": f"Parallel {i}"}, timeout=60
        )
        assert created.status_code == 201, created.text
        record_id = created.json()["id"]
        got = http.get(f"{data_url}/sobjects/Account/{record_id}", headers=auth_headers, timeout=60)
        assert got.status_code == 200
        query = http.get(
            data_url + "/query", params={"q": "SELECT Id FROM Account"}, headers=auth_headers, timeout=60
        )
        assert query.status_code == 200
        return record_id

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(work, range(48)))
    assert len(set(ids)) == 48
    assert time.monotonic() - started < 60
    http = sfemu_server.http_session()
    total = http.get(
        data_url + "/query", params={"q": "SELECT COUNT() FROM Account"}, headers=auth_headers, timeout=10
    ).json()["totalSize"]
    assert total == 48


def test_a_slow_request_does_not_block_others(sfemu_server: SfemuServer, data_url, auth_headers) -> None:
    """Requests run in the threadpool: a blocked handler thread leaves the loop free."""
    import threading

    from sfemu.server import rest_routes
    from sfemu.server.dispatch import route
    from sfemu.server.http import ApiResponse

    release = threading.Event()

    def slow(ctx, req, params):
        release.wait(20)
        return ApiResponse(200, {"slow": True})

    rest_routes.ROUTES.insert(0, route("test-slow", get=slow))
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(
                sfemu_server.http_session().get, data_url + "/test-slow", headers=auth_headers, timeout=30
            )
            time.sleep(0.2)
            quick = sfemu_server.http_session().get(data_url + "/limits", headers=auth_headers, timeout=10)
            assert quick.status_code == 200
            assert not pending.done()
            release.set()
            assert pending.result().json() == {"slow": True}
    finally:
        rest_routes.ROUTES.pop(0)
