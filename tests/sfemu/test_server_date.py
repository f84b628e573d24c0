"""sfemu answers with one `Date` header read from the pod's clock, as Salesforce does from the
clock that stamps SystemModstamp (orgsync's capture takes it as the org's time of a query)."""

from email.utils import parsedate_to_datetime

from sfemu.timeutil import parse_datetime


def test_date_header_follows_the_pod_clock(sfemu_server):
    org = sfemu_server.create_org()
    session = sfemu_server.http_session()
    headers = {"Authorization": f"Bearer {org.access_token}"}
    sfemu_server.clock.advance(seconds=30)
    before = sfemu_server.clock.now().replace(microsecond=0)
    org.org.create("Account", {"Name": "Dated"}, user_id=org.user_id)
    response = session.get(
        f"{org.instance_url}/services/data/v62.0/query",
        params={"q": "SELECT SystemModstamp FROM Account"},
        headers=headers,
    )
    after = sfemu_server.clock.now()
    assert response.status_code == 200
    assert len(response.raw.headers.getlist("Date")) == 1
    date = parsedate_to_datetime(response.headers["Date"])
    assert before <= date <= after
    stamp = parse_datetime(response.json()["records"][0]["SystemModstamp"])
    assert stamp.replace(microsecond=0) <= date
