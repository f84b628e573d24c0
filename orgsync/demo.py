"""The demo that `make run` sets up: two orgs in sfemu (the primary seeded), connected in the
console and linked by a two-way connection.

Idempotent: the emulator's orgs are created and seeded once (their credentials kept in
`var/sfemu/demo.json`, mode 0600, beside the emulator's own data), and connected in the console
only when the console does not know them yet.
"""

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from connections import services as connection_services
from connections.models import Connection, Org
from connections.services import org_connect
from replication import services as replication_services
from replication.models import Direction

DEMO_ORGS = ("demo-primary", "demo-secondary")
DEMO_ACCOUNTS = 50
DEMO_CONNECTION = "Demo: primary and secondary, both ways"
DEMO_OBJECTS = ("Account", "Contact", "Opportunity", "Case")  # parents first


@dataclass(frozen=True)
class DemoOrg:
    name: str
    org_id: str
    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Emulator:
    data_dir: Path
    port: int
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_path(self) -> Path:
        return self.data_dir / "tls" / "ca.pem"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "demo.json"

    def serve_argv(self) -> list[str]:
        return [*self._cli("serve"), "--port", str(self.port), "--host", self.host]

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "sfemu", *args, "--data-dir", str(self.data_dir)]

    def run_cli(self, *args: str) -> dict:
        done = subprocess.run([*self._cli(*args), "--json"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"sfemu {args[0]} failed: {done.stderr.strip()}")
        return json.loads(done.stdout)


def prepare_emulator(emulator: Emulator, *, callback_urls: list[str]) -> list[DemoOrg]:
    """Create and seed the demo orgs with a connected app each, once; return their credentials.
    Each app allows every callback URL given (the admin's sign-in, the partner's sign-in)."""
    if emulator.state_file.exists():
        return [DemoOrg(**entry) for entry in json.loads(emulator.state_file.read_text())]
    emulator.data_dir.mkdir(parents=True, exist_ok=True)
    # Only the primary gets data: the secondary starts empty, as an Organization Sync secondary
    # does, and fills up as records change (both orgs seeded alike would collide on unique fields).
    orgs = [_create_demo_org(emulator, name, callback_urls, seed=name == DEMO_ORGS[0]) for name in DEMO_ORGS]
    emulator.state_file.write_text(json.dumps([asdict(org) for org in orgs], indent=2))
    emulator.state_file.chmod(0o600)
    return orgs


def _create_demo_org(emulator: Emulator, name: str, callback_urls: list[str], *, seed: bool) -> DemoOrg:
    # Audit fields settable on create, so the connection's Sync Feeds and Audit Fields can be
    # turned on (the admin of a real org enables "Set Audit Fields upon Record Creation").
    org = emulator.run_cli("org", "create", name, "--instance-url", emulator.url, "--audit-fields-on-create")
    app = emulator.run_cli(
        "app",
        "create",
        "orgsync console",
        "--org",
        name,
        *(arg for url in callback_urls for arg in ("--callback", url)),
        "--run-as",
        org["username"],
    )
    if seed:
        emulator.run_cli("seed", name, "--profile", "demo", "--accounts", str(DEMO_ACCOUNTS))
    return DemoOrg(
        name=name,
        org_id=org["org_id"],
        username=org["username"],
        password=org["password"],
        security_token=org["security_token"],
        client_id=app["client_id"],
        client_secret=app["client_secret"],
    )


def wait_until_serving(emulator: Emulator, *, timeout: float = 30.0) -> None:
    """Poll the emulator's version list until it answers over TLS (it has no auth)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if emulator.ca_path.exists():
                requests.get(f"{emulator.url}/services/data/", verify=str(emulator.ca_path), timeout=2)
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"sfemu did not answer on {emulator.url} within {timeout:.0f}s")


def connect_demo_orgs(emulator: Emulator, orgs: list[DemoOrg]) -> list[Org]:
    """Connect each demo org in the console (client credentials) unless it is already there."""
    connected = []
    for demo in orgs:
        existing = Org.objects.filter(org_id=demo.org_id).first()
        if existing:
            connected.append(existing)
            continue
        org = Org(
            label=demo.name,
            environment=Org.Environment.CUSTOM,
            custom_login_url=emulator.url,
            auth_method=Org.AuthMethod.CLIENT_CREDENTIALS,
            client_id=demo.client_id,
            ca_bundle=emulator.ca_path.read_text(),
        )
        org.client_secret = demo.client_secret
        connected.append(org_connect(org=org))
    return connected


def ensure_demo_connection(orgs: list[Org]) -> Connection:
    """A two-way, accepted connection with Sync Users, publishing the demo objects both ways
    (created once); the engine's first cycle copies the users and makes it Active."""
    existing = Connection.objects.filter(name=DEMO_CONNECTION).first()
    if existing:
        return existing
    primary, secondary = orgs
    connection = connection_services.connection_create(
        actor=None,
        name=DEMO_CONNECTION,
        primary_org=primary,
        secondary_org=secondary,
        owner_username=primary.user_username,
        owner_user_id=primary.user_id,
        direction=Connection.Direction.TWO_WAY,
        # Users copied with the .dr suffix first (User Sync in Progress, then Active), so record
        # owners map both ways instead of falling back to the connection owner.
        sync_users=True,
    )
    connection = connection_services.connection_accept(connection=connection, actor=None)
    for direction in (Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY):
        for name in DEMO_OBJECTS:
            publication = replication_services.publication_publish(
                connection=connection, direction=direction, source_object=name, actor=None
            )
            replication_services.subscription_subscribe(publication=publication, actor=None)
    return connection
