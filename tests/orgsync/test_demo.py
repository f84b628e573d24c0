"""`make run`'s demo: two seeded sfemu orgs, connected in the console, set up once."""

from urllib.parse import urlparse

import pytest

from connections.models import Org
from orgsync import demo
from sfemu.testing import start_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def emulator(tmp_path):
    data_dir = tmp_path / "sfemu"
    prepared = demo.prepare_emulator(
        demo.Emulator(data_dir, port=1),
        callback_url="http://127.0.0.1:8000/admin/connections/org/oauth/callback/",
    )
    server = start_server(data_dir, tls_dir=data_dir / "tls")
    try:
        yield demo.Emulator(data_dir, port=urlparse(server.url).port), prepared, server
    finally:
        server.stop()


def test_demo_orgs_are_seeded_and_connected_once(emulator):
    emu, prepared, server = emulator
    assert [o.name for o in prepared] == ["demo-primary", "demo-secondary"]
    assert oct(emu.state_file.stat().st_mode & 0o777) == "0o600"
    for handle in prepared:
        counts = server.instance.org(handle.org_id).record_counts(["Account", "Contact", "Case"])
        assert counts["Account"] == demo.DEMO_ACCOUNTS and counts["Contact"] > 0 and counts["Case"] > 0

    orgs = demo.connect_demo_orgs(emu, prepared)
    assert {o.org_id for o in orgs} == {o.org_id for o in prepared}
    assert all(Org.objects.get(pk=o.pk).is_connected for o in orgs)

    again = demo.connect_demo_orgs(emu, demo.prepare_emulator(emu, callback_url="ignored"))
    assert [o.pk for o in again] == [o.pk for o in orgs]
    assert Org.objects.count() == 2
