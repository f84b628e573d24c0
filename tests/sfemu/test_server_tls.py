"""TLS: sfemu's own CA, a certificate for loopback names, and clients that do or do not trust it."""

from __future__ import annotations

import ipaddress
import ssl
import urllib.request
from pathlib import Path

import pytest
import requests
from cryptography import x509

from sfemu.testing import SfemuServer
from sfemu.tls import ensure_tls


def test_client_trusting_the_ca_succeeds(sfemu_server: SfemuServer) -> None:
    context = ssl.create_default_context(cafile=str(sfemu_server.ca_path))
    with urllib.request.urlopen(f"{sfemu_server.url}/services/data/", context=context) as resp:
        assert resp.status == 200


def test_client_not_trusting_the_ca_fails(sfemu_server: SfemuServer) -> None:
    untrusted = requests.Session()
    untrusted.trust_env = False  # the system bundle, not sfemu's CA
    with pytest.raises(requests.exceptions.SSLError):
        untrusted.get(f"{sfemu_server.url}/services/data/", timeout=10)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{sfemu_server.url}/services/data/", context=ssl.create_default_context())


def test_localhost_name_is_covered(sfemu_server: SfemuServer) -> None:
    url = sfemu_server.url.replace("127.0.0.1", "localhost")
    resp = sfemu_server.http_session().get(f"{url}/services/data/", timeout=10)
    assert resp.status_code == 200


def test_certificates_are_made_once_and_reused(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path)
    ca_bytes, cert_bytes = first.ca_path.read_bytes(), first.cert_path.read_bytes()
    second = ensure_tls(tmp_path)
    assert second.ca_path.read_bytes() == ca_bytes
    assert second.cert_path.read_bytes() == cert_bytes
    cert = x509.load_pem_x509_certificate(cert_bytes)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_extra_host_reissues_the_server_certificate_under_the_same_ca(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path)
    ca_bytes = first.ca_path.read_bytes()
    second = ensure_tls(tmp_path, ("sfemu.test",))
    assert second.ca_path.read_bytes() == ca_bytes
    cert = x509.load_pem_x509_certificate(second.cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "sfemu.test" in san.get_values_for_type(x509.DNSName)
