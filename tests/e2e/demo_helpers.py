"""Looking at a running demo from outside, as an operator would: its processes (by the environment marker every
supervised program passes to its children), their TCP listeners (from /proc, no `ss` needed) and Airflow's health."""

from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path

import requests

MARKER = "CRYPTO_INSIGHTS_PROGRAM"
PROC = Path("/proc")


def marked_processes(home: Path) -> dict[int, str]:
    """pid -> program of every process whose environment carries a marker of this home (this process excluded)."""
    suffix = f"@{home.resolve()}".encode()
    prefix = f"{MARKER}=".encode()
    found = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            items = (entry / "environ").read_bytes().split(b"\0")
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        except OSError:
            continue
        for item in items:
            if item.startswith(prefix) and item.endswith(suffix):
                found[int(entry.name)] = item[len(prefix) : -len(suffix)].decode()
                break
    return found


def alive(pid: int) -> bool:
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _listening_inodes() -> dict[str, str]:
    """socket inode -> "host:port" of every listening TCP socket (IPv4 and IPv6)."""
    inodes = {}
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # /proc/net/tcp prints each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            inodes[fields[9]] = f"{socket.inet_ntop(family, raw)}:{int(port, 16)}"
    return inodes


def listeners(pids: set[int] | list[int]) -> dict[int, set[str]]:
    """pid -> the "host:port" its listening TCP sockets are bound to (pids with none left out)."""
    inodes = _listening_inodes()
    found: dict[int, set[str]] = {}
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in (PROC / str(pid) / "fd").iterdir()]
        except OSError:
            continue
        bound = {inodes[link[8:-1]] for link in links if link.startswith("socket:[") and link[8:-1] in inodes}
        if bound:
            found[pid] = bound
    return found


def port_listening(port: int) -> bool:
    return any(address.endswith(f":{port}") for address in _listening_inodes().values())


def airflow_heartbeats(api_port: int) -> dict[str, datetime | None]:
    """The latest heartbeat Airflow's health endpoint reports for each component (None: unhealthy/absent)."""
    health = requests.get(f"http://127.0.0.1:{api_port}/api/v2/monitor/health", timeout=5).json()
    beats: dict[str, datetime | None] = {}
    for component in ("scheduler", "triggerer", "dag_processor"):
        info = health.get(component) or {}
        beat = info.get(f"latest_{component}_heartbeat")
        beats[component] = datetime.fromisoformat(beat) if beat and info.get("status") == "healthy" else None
    return beats
