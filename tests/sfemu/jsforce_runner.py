"""Runs the unmodified-jsforce scripts in ``tests/sfemu/js`` against sfemu for the jsforce tests.

Each script reads its settings as JSON from ``SFEMU_JS_CONFIG``, trusts the sfemu CA through
``NODE_EXTRA_CA_CERTS`` and writes ``{step: {ok: true, value} | {ok: false, error}}`` (plus
``fatal`` if it died) to the path given as its last argument. Needs
``npm ci --prefix tests/sfemu/js`` (``make test`` does it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sfemu.testing import SfemuServer

JS_DIR = Path(__file__).parent / "js"
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
TIMEOUT = 120


def node_binary() -> str:
    """The node executable, once node and the pinned jsforce are known to be there."""
    node = shutil.which("node") or "/usr/bin/node"
    assert Path(node).exists(), "node is required for the jsforce acceptance tests"
    assert (JS_DIR / "node_modules" / "jsforce").is_dir(), (
        "jsforce is not installed: run `npm ci --prefix tests/sfemu/js`"
    )
    return node


def run_script(
    server: SfemuServer, script: str, config: dict[str, Any], out: Path, *args: str
) -> dict[str, Any]:
    """Run ``node <script> [args] <out>`` in ``tests/sfemu/js`` and return the results it wrote."""
    env = {
        **os.environ,
        "NODE_EXTRA_CA_CERTS": str(server.ca_path),
        "SFEMU_JS_CONFIG": json.dumps(config),
    }
    for proxy in PROXY_VARS:
        env.pop(proxy, None)
    proc = subprocess.run(
        [node_binary(), str(JS_DIR / script), *args, str(out)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, f"node failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert out.exists(), f"no results written:\n{proc.stdout}\n{proc.stderr}"
    results = json.loads(out.read_text())
    assert "fatal" not in results, results["fatal"]
    return results


def ok(results: dict[str, Any], name: str) -> Any:
    """The value of step ``name``, which must have run and succeeded."""
    assert name in results, f"step {name} did not run"
    outcome = results[name]
    assert outcome["ok"], f"{name} failed: {json.dumps(outcome['error'], indent=1)[:2000]}"
    return outcome["value"]


def failed(results: dict[str, Any], name: str) -> dict[str, Any]:
    """The error of step ``name``, which must have run and failed."""
    assert name in results, f"step {name} did not run"
    outcome = results[name]
    assert not outcome["ok"], f"{name} should have failed, got {json.dumps(outcome['value'])[:500]}"
    return outcome["error"]
