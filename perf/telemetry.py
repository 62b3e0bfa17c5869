"""Minimal client for the DPDK telemetry socket (protocol v2).

One SOCK_SEQPACKET connection per DPDK process, kept open for the whole
measurement: connecting costs a thread wake-up in the target and we poll
counters many times, so shelling out to dpdk-telemetry.py per sample would
both be slow and perturb the run.

Protocol: on connect the server sends one JSON message describing itself
({"version": ..., "pid": ..., "max_output_len": N}); afterwards every command
string sent ("/ethdev/stats,0") gets exactly one JSON reply {cmd: data}.
"""

import json
import os
import socket
import time

RUNTIME_DIR = "/var/run/dpdk"


def socket_path(file_prefix):
    """Telemetry socket of the DPDK process started with --file-prefix."""
    return os.path.join(RUNTIME_DIR, file_prefix, "dpdk_telemetry.v2")


class TelemetryError(Exception):
    pass


class Telemetry:
    def __init__(self, path, timeout=2.0):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
            hello = json.loads(self.sock.recv(16384).decode())
        except (OSError, ValueError) as e:
            self.sock.close()
            raise TelemetryError(f"{path}: {e}") from e
        self.max_len = int(hello.get("max_output_len", 16384))
        self.pid = hello.get("pid")

    @classmethod
    def wait(cls, path, timeout, alive=lambda: True):
        """Connect once the socket appears; give up after @timeout seconds
        or as soon as @alive() says the target process died."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not alive():
                raise TelemetryError(f"{path}: process exited before telemetry came up")
            if os.path.exists(path):
                try:
                    return cls(path)
                except TelemetryError as e:
                    last = e
            time.sleep(0.1)
        raise TelemetryError(f"{path}: no telemetry after {timeout}s ({last})")

    def query(self, cmd):
        try:
            self.sock.send(cmd.encode())
            reply = self.sock.recv(self.max_len)
        except OSError as e:
            raise TelemetryError(f"{cmd}: {e}") from e
        if not reply:
            raise TelemetryError(f"{cmd}: connection closed")
        try:
            data = json.loads(reply.decode())
        except ValueError as e:
            raise TelemetryError(f"{cmd}: bad JSON reply") from e
        # The reply is keyed by the command without its parameter.
        return data.get(cmd.split(",", 1)[0])

    def ports(self):
        """{port name: port id} of every ethdev in the process, and of
        kdp's native ports (no ethdev: /kdp/ports), whose ids are
        "kdp:<id>"."""
        ids = self.query("/ethdev/list") or []
        out = {}
        for pid in ids:
            info = self.query(f"/ethdev/info,{pid}") or {}
            out[info.get("name", str(pid))] = pid
        start = 32  # RTE_MAX_ETHPORTS: native ids come after
        while start is not None:
            page = self.query(f"/kdp/ports,{start}")
            if not isinstance(page, dict):
                break  # not kdp
            for key, p in (page.get("ports") or {}).items():
                pid = int(key[len("port"):])
                if pid >= 32:
                    out.setdefault(p.get("name", key), f"kdp:{pid}")
            start = page.get("next")
        return out

    def stats(self, port_id):
        """ethdev stats; for a kdp native port ("kdp:<id>") its kdp
        counters as ipackets / opackets."""
        if isinstance(port_id, str) and port_id.startswith("kdp:"):
            pid = int(port_id[4:])
            page = self.query(f"/kdp/ports,{pid}") or {}
            p = (page.get("ports") or {}).get(f"port{pid}")
            if not isinstance(p, dict):
                raise TelemetryError(f"/kdp/ports,{pid}: no such port")
            # kdp counts what a port refused under its drops (tx_full).
            return {"ipackets": p.get("rx", 0), "opackets": p.get("tx", 0),
                    "oerrors": 0}
        s = self.query(f"/ethdev/stats,{port_id}")
        if not isinstance(s, dict):
            raise TelemetryError(f"/ethdev/stats,{port_id}: no such port")
        return s

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
