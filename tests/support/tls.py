"""A throw-away certificate authority (trustme) and the files `--tls-cert` wants."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

SERVER_NAMES = ("mx.test", "127.0.0.1")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca: trustme.CA
    pem: Path
    """The server's private key and certificate chain, in one PEM file."""
    ca_pem: Path
    """The authority's certificate, for clients that verify (swaks --tls-ca-path)."""

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this authority, and checks the name."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(context)
        return context


def make_tls_files(directory: Path) -> TlsFiles:
    ca = trustme.CA()
    cert = ca.issue_cert(*SERVER_NAMES)
    pem = directory / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca_pem = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    return TlsFiles(ca, pem, ca_pem)
