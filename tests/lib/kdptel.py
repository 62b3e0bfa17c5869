"""Minimal DPDK telemetry client (the v2 SOCK_SEQPACKET protocol that
dpdk-telemetry.py speaks), for tests and benchmarks."""
import json
import os
import socket
import time


def sock_path(prefix, runtime="/var/run/dpdk"):
    return os.path.join(runtime, prefix, "dpdk_telemetry.v2")


class Telemetry:
    def __init__(self, prefix, timeout=10.0):
        path = sock_path(prefix)
        deadline = time.time() + timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.connect(path)
                break
            except OSError:
                s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.s = s
        hello = json.loads(s.recv(16384).decode())
        self.max_len = hello.get("max_output_len", 16384)

    def cmd(self, c):
        self.s.send(c.encode())
        out = json.loads(self.s.recv(self.max_len + 1024).decode())
        return out[c.split(",")[0]]

    def close(self):
        self.s.close()
