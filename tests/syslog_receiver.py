"""A syslog collector on loopback for tests: RFC 5425 (TLS, octet-counted frames) with a certificate from a
test CA made here, so the application's log shipping is checked against a real TLS server."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(directory: Path, ca_name: str = "Test log CA") -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for 127.0.0.1 signed by it: (ca.pem, server.pem, server.key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(ca_name))
        .issuer_name(_name(ca_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, cert_pem, key_pem = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_pem, cert_pem, key_pem


class SyslogReceiver:
    """A collector in a process of its own (as a log system is): accepts TLS connections on 127.0.0.1 and
    writes every octet-counted message it is sent as one line of a file."""

    def __init__(self, cert: Path, key: Path, out: Path) -> None:
        self.out = out
        port_file = out.with_suffix(".port")
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(cert), str(key), str(out), str(port_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError("the syslog receiver did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[str]:
        return self.out.read_text().splitlines() if self.out.exists() else []

    def wait_for(self, needle: str, timeout: float = 10.0) -> list[str]:
        """The messages holding `needle`, once at least one has arrived (or [] after the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := [m for m in self.messages if needle in m]:
                return found
            time.sleep(0.05)
        return []

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _serve(cert: str, key: str, out: str, port_file: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    lock = threading.Lock()

    def read(raw: socket.socket) -> None:
        try:
            connection = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()  # e.g. the sender did not trust our certificate
            return
        buffer = b""
        with connection:
            while chunk := connection.recv(65536):
                buffer += chunk
                while b" " in buffer:
                    length, rest = buffer.split(b" ", 1)
                    if len(rest) < int(length):
                        break
                    line = rest[: int(length)].decode().replace("\n", "\\n")
                    with lock, open(out, "a", encoding="utf-8") as file:
                        file.write(line + "\n")
                    buffer = rest[int(length) :]

    Path(port_file).write_text(str(listener.getsockname()[1]))
    while True:
        raw, _address = listener.accept()
        threading.Thread(target=read, args=(raw,), daemon=True).start()


if __name__ == "__main__":
    _serve(*sys.argv[1:5])
