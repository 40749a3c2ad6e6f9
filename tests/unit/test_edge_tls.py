"""The edge's certificate: made once, self-signed for this host's names, key private; an operator's own checked."""

from __future__ import annotations

import ipaddress
import ssl

import pytest
from cryptography import x509

from enclave.edge.tls import CertificateProblem, certificate_for, make_self_signed, server_context, subject_names
from enclave.settings import EnclaveSettings


def settings_for(tmp_path, **extra) -> EnclaveSettings:
    return EnclaveSettings(state_dir=str(tmp_path / "state"), instance="unit", **extra)


def alt_names(path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return {str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value}


def test_a_self_signed_certificate_is_made_once_with_a_private_key(tmp_path):
    settings = settings_for(tmp_path, public_ip="192.0.2.10", tls_names=["enclave.example.org", "198.51.100.4"])
    chosen = certificate_for(settings)
    assert chosen.self_signed and chosen.cert == settings.tls_dir / "edge.crt"
    assert chosen.key.stat().st_mode & 0o777 == 0o600 and settings.tls_dir.stat().st_mode & 0o777 == 0o700
    names = alt_names(chosen.cert)
    assert {"localhost", "127.0.0.1", "::1", "192.0.2.10", "enclave.example.org", "198.51.100.4"} <= names
    before = chosen.cert.read_bytes()
    assert certificate_for(settings).cert.read_bytes() == before  # kept, not remade at each start
    server_context(chosen)  # loads as a server certificate


def test_clients_can_trust_exactly_this_certificate(tmp_path):
    chosen = certificate_for(settings_for(tmp_path))
    client = ssl.create_default_context(cafile=str(chosen.cert))
    assert client.get_ca_certs()[0]["subject"]  # usable as its own authority (verify=<cert> in requests)


def test_a_listening_on_all_addresses_is_not_a_name(tmp_path):
    _, addresses = subject_names(settings_for(tmp_path, public_ip="0.0.0.0"))
    assert "0.0.0.0" not in addresses and all(ipaddress.ip_address(a) for a in addresses)


def test_the_operators_certificate_is_used_and_checked(tmp_path):
    own = make_self_signed(tmp_path / "own", (["enclave.example.org"], []))
    chosen = certificate_for(settings_for(tmp_path, tls_cert=str(own.cert), tls_key=str(own.key)))
    assert not chosen.self_signed and chosen.cert == own.cert
    assert not (tmp_path / "state" / "tls").exists()  # nothing self-signed made


def test_half_a_pair_or_a_missing_or_mismatched_file_is_refused(tmp_path):
    one = make_self_signed(tmp_path / "one", (["a.example"], []))
    two = make_self_signed(tmp_path / "two", (["b.example"], []))
    with pytest.raises(CertificateProblem, match="set both"):
        certificate_for(settings_for(tmp_path, tls_cert=str(one.cert)))
    with pytest.raises(CertificateProblem, match="does not exist"):
        certificate_for(settings_for(tmp_path, tls_cert=str(tmp_path / "nope.crt"), tls_key=str(one.key)))
    with pytest.raises(CertificateProblem, match="cannot be used"):
        certificate_for(settings_for(tmp_path, tls_cert=str(one.cert), tls_key=str(two.key)))
