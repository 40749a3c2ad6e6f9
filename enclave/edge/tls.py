"""The edge's certificate: the operator's own, or a self-signed one made once in <state_dir>/tls/."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import EnclaveError
from ..settings import EnclaveSettings

CERT_NAME = "edge.crt"
KEY_NAME = "edge.key"
VALID_DAYS = 825
_UNSPECIFIED = {"0.0.0.0", "::", ""}


class CertificateProblem(EnclaveError):
    """The edge's certificate or key cannot be used."""


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    self_signed: bool


def certificate_for(settings: EnclaveSettings) -> Certificate:
    """The operator's certificate if set, else the self-signed one (made if missing)."""
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise CertificateProblem(
            "set both tls_cert and tls_key (ENCLAVE_TLS_CERT, ENCLAVE_TLS_KEY), or neither "
            "for a self-signed certificate."
        )
    if settings.tls_cert:
        chosen = Certificate(Path(settings.tls_cert), Path(settings.tls_key), self_signed=False)
        for path in (chosen.cert, chosen.key):
            if not path.is_file():
                raise CertificateProblem(f"{path} does not exist: check tls_cert and tls_key.")
        server_context(chosen)  # refuse a pair that does not load, before anyone relies on it
        return chosen
    folder = settings.tls_dir
    own = Certificate(folder / CERT_NAME, folder / KEY_NAME, self_signed=True)
    if not (own.cert.is_file() and own.key.is_file()):
        make_self_signed(folder, subject_names(settings))
    return own


def subject_names(settings: EnclaveSettings) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the self-signed certificate is made for."""
    names = {"localhost"}
    addresses = {"127.0.0.1", "::1"}
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            names.add(name)
            try:
                addresses.update(info[4][0] for info in socket.getaddrinfo(name, None))
            except OSError:
                pass
    if settings.public_ip not in _UNSPECIFIED:
        addresses.add(settings.public_ip)
    for extra in settings.tls_names:
        (addresses if _is_address(extra) else names).add(extra)
    return sorted(names), sorted(a.split("%")[0] for a in addresses)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def make_self_signed(folder: Path, names: tuple[list[str], list[str]]) -> Certificate:
    """Write a new self-signed certificate and its key (0600) into `folder`, replacing any there."""
    dns_names, addresses = names
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0] if dns_names else "enclave"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "enclave (self-signed)"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    alt_names = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        # Its own authority, so clients can trust exactly this certificate (requests' verify=, curl --cacert).
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(folder / CERT_NAME, folder / KEY_NAME, self_signed=True)
    _write_private(
        paths.key,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    _write_private(paths.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return paths


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write beside the destination with its final mode, then rename: never a half-written or readable key."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(partial, mode)
    os.replace(partial, path)


def server_context(chosen: Certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(chosen.cert, chosen.key)
    except (ssl.SSLError, OSError) as bad:
        raise CertificateProblem(f"the certificate {chosen.cert} and key {chosen.key} cannot be used: {bad}") from bad
    return context


def describe(chosen: Certificate) -> str:
    cert = x509.load_pem_x509_certificate(chosen.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    kind = "self-signed" if chosen.self_signed else "the operator's own"
    return (
        f"certificate: {chosen.cert} ({kind})\nkey: {chosen.key}\n"
        f"valid until: {cert.not_valid_after_utc:%Y-%m-%d}\n"
        f"names: {', '.join(str(n.value) for n in names)}\nSHA-256 fingerprint: {fingerprint}"
    )
