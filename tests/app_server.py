"""The application as production runs it, for tests: `kotopolku serve` in a process of its own on a free
loopback port, and a member of staff signed in to it over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

from app.settings import ROOT

SECRET_KEY = "test-secret-key-with-enough-entropy-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AppServer:
    """`python -m app.cli serve` (uvicorn, one process); its output goes to var/<name>.log."""

    def __init__(self, name: str, database_url: str, **env: str) -> None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.log = ROOT / "var" / f"{name}-{worker}.log"
        self.log.write_bytes(b"")  # this server's runs only (restarts append)
        self.database_url = database_url
        self.extra_env = env
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": SECRET_KEY,  # the same on every instance: CSRF tokens are signed with it
            "PUBLIC_URL": self.url,
            "PYTHONDONTWRITEBYTECODE": "1",
            "STAFF_SECOND_FACTOR": "0",  # officers sign in with a password alone in these tests
            **self.extra_env,
        }
        env.pop("DEBUG", None)
        return env

    def start(self, timeout: float = 90) -> AppServer:
        return self.launch().wait_ready(timeout)

    def launch(self) -> AppServer:
        """Start the process; `wait_ready` waits for it (several servers start side by side)."""
        self.port = free_port()
        with self.log.open("ab") as out:
            out.write(f"\n--- start on port {self.port}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def wait_ready(self, timeout: float = 90) -> AppServer:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer /health in {timeout} s\n{self.logs()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> int:
        """SIGKILL: no shutdown, no rollback, no flush — as a crash or the OOM killer."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout=30)

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def sign_in_over_http(http: httpx.Client, email: str, password: str) -> None:
    """Sign in through the form as a browser does: the CSRF cookie first, then the form with its token."""
    assert http.get("/officer/sign-in").status_code == 200
    token = http.cookies.get("kp_csrf")
    assert token
    response = http.post(
        "/officer/sign-in", data={"email": email, "password": password, "_csrf_token": token}
    )
    assert response.status_code == 302, response.text


def form(http: httpx.Client | httpx.AsyncClient, data: dict[str, Any]) -> dict[str, Any]:
    """Form data with the CSRF token of the client's cookie."""
    token = http.cookies.get("kp_csrf")
    assert token
    return {**data, "_csrf_token": token}
