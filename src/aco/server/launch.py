"""Launch `aco replay-upstream` / `aco serve` as uvicorn subprocesses on free loopback ports (tests, benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(args: list[str], env: dict[str, str], health_url: str, timeout_s: float = 90.0) -> subprocess.Popen[bytes]:
    """Run `aco <args>` and wait until `health_url` answers 200."""
    proc = subprocess.Popen([sys.executable, "-c", "from aco.cli.app import main; main()", *args],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"aco {' '.join(args)} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(health_url, timeout=1.0).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"aco {' '.join(args)} did not become healthy in {timeout_s}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a launched process (kill it after 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_config(template: Path, path: Path, upstream_port: int, store_url: str) -> Path:
    """A copy of the `template` config (the example) pointed at a replay upstream on `upstream_port` and at
    `store_url`."""
    text = template.read_text(encoding="utf-8")
    text = text.replace("http://127.0.0.1:8765/v1", f"http://127.0.0.1:{upstream_port}/v1")
    text = text.replace('store_url = "sqlite:///aco.db"', f'store_url = "{store_url}"')
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Stack:
    """A running replay upstream and `aco serve` in front of it."""

    proxy_url: str
    upstream_url: str
    store_url: str
    config: Path


@contextmanager
def replay_stack(template: Path, folder: Path, env: dict[str, str], upstream_args: Sequence[str] = (),
                 config_name: str = "aco.toml") -> Iterator[Stack]:
    """Start `aco replay-upstream` and `aco serve` (the `template` config pointed at it, a SQLite store in
    `folder`) on free ports; both are stopped on exit, also when the second one fails to start."""
    up_port, aco_port = free_port(), free_port()
    upstream = start(["replay-upstream", "--port", str(up_port), *upstream_args], env,
                     f"http://127.0.0.1:{up_port}/healthz")
    try:
        store_url = f"sqlite:///{folder / 'aco.db'}"
        config = write_config(template, folder / config_name, up_port, store_url)
        proxy = start(["serve", "--config", str(config), "--port", str(aco_port)], env,
                      f"http://127.0.0.1:{aco_port}/healthz")
        try:
            yield Stack(f"http://127.0.0.1:{aco_port}", f"http://127.0.0.1:{up_port}", store_url, config)
        finally:
            stop(proxy)
    finally:
        stop(upstream)
