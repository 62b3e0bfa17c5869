#!/usr/bin/python3
"""A flood of new flows into a full conntrack table, through the real kdp
(acl/acl.h "Full table").

kdp runs one worker with conntrack.max_flows 1024 (the smallest allowed).
Pods x/a and x/b are kernel network namespaces on tap ports; policy allows
x/a -> x/b only (x/b: ingress from app=a; x/a: no ingress), so what x/b
sends to x/a passes only as the reply of a tracked flow.

 1. x/a opens a TCP connection to x/b and exchanges a line over it.
 2. x/a sends FLOOD UDP datagrams to x/b, each a flow of its own (distinct
    destination ports), that x/b never answers: the table fills, and the
    later ones evict never-answered entries ('evicted').
 3. On the connection of (1), x/b sends first and x/a receives: its entry
    was answered and is never evicted (evicted, x/b's data would be a new
    flow into x/a, which policy denies).
 4. New connections x/a -> x/b all complete while the table is full (with
    a table that refused new flows until entries expire, udp_s 60 s, they
    fail as ct_full).

Usage: ct_flood.py KDP_BINARY
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ct_workers import B_IP, PY, Run, run_checks  # noqa: E402

FLOOD = 10000
N_CONN = 10
MAX_FLOWS = 1024

# Echoes each line; "push" on its stdin writes a line to every connection
# (x/b speaking first, as the reply side of a flow x/a opened).
ECHO_SERVER = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080)); s.listen(64)
conns = []
def serve(c):
    f = c.makefile("rwb", buffering=0)
    for line in f:
        f.write(line)
    c.close()
def accept():
    while True:
        c, _ = s.accept()
        conns.append(c)
        threading.Thread(target=serve, args=(c,), daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
print("ready", flush=True)
for cmd in sys.stdin:
    for c in conns:
        try:
            c.sendall(b"pushed\n")
        except OSError:
            pass
    print("pushed", flush=True)
"""

# One connection kept open: "send X" sends X and prints "ok" when it comes
# back; "read" prints the next line x/b sends.
HOLDER = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], 8080), timeout=3)
c.settimeout(3)
f = c.makefile("rwb", buffering=0)
for cmd in sys.stdin:
    try:
        if cmd.startswith("send "):
            line = cmd[5:].encode()
            f.write(line)
            print("ok" if f.readline() == line else "bad", flush=True)
        else:
            print(f.readline().decode().strip() or "eof", flush=True)
    except OSError as e:
        print("error %s" % e, flush=True)
"""

CONNECT = r"""
import socket, sys
ok = 0
for i in range(int(sys.argv[2])):
    try:
        c = socket.create_connection((sys.argv[1], 8080), timeout=2)
        c.settimeout(2)
        c.sendall(b"new %d\n" % i)
        ok += c.makefile("rb").readline() == b"new %d\n" % i
        c.close()
    except OSError:
        pass
print(ok)
"""

# A short pause every 250 datagrams: the tap's kernel queue holds 1000,
# and a worker that shares its core with other jobs may not drain it as
# fast as a loop of sendto() fills it.
UDP_FLOOD = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(b"flood", (sys.argv[1], 20000 + i))
    if i % 250 == 249:
        time.sleep(0.002)
"""


def ct(r):
    w = r.tel.cmd("/kdp/conntrack")["worker0"]
    return {k: w[k] for k in ("flows", "capacity", "created", "evicted", "full")}


def ask(proc, line):
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def checks(r):
    r.server = subprocess.Popen(
        ["ip", "netns", "exec", r.pods["b"][0], PY, "-c", ECHO_SERVER, B_IP],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert r.server.stdout.readline().strip() == "ready"

    # 1. An answered flow.
    r.holder = subprocess.Popen(
        ["ip", "netns", "exec", r.pods["a"][0], PY, "-c", HOLDER, B_IP],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    got = ask(r.holder, "send before")
    print("held connection before the flood: %s" % got)
    assert got == "ok", "the held connection did not work"

    # 2. The flood.
    c0, rx0 = ct(r), r.port_tx(r.stats(), "a", "rx")
    r.ns("a", PY, "-c", UDP_FLOOD, B_IP, str(FLOOD))
    time.sleep(0.5)
    c1, rx1 = ct(r), r.port_tx(r.stats(), "a", "rx")
    # What kdp received of the flood (the kernel drops what the tap's
    # queue cannot hold); each datagram a flow of its own.
    got = rx1 - rx0
    print("after %d new UDP flows (%d reached kdp): %s" % (FLOOD, got, c1))
    assert got >= 4 * MAX_FLOWS, "the flood did not reach kdp"
    assert c1["flows"] <= MAX_FLOWS, "more entries than max_flows"
    assert c1["created"] - c0["created"] >= got * 9 // 10, \
        "the flood's flows were not tracked"
    assert c1["evicted"] - c0["evicted"] >= got - MAX_FLOWS - got // 10, \
        "the full table did not evict"

    # 3. The answered flow survived: x/b speaks first on it (x/a
    # sending first would open it again as a new flow if it had been
    # evicted), then a line both ways.
    assert ask(r.server, "push") == "pushed"
    got = ask(r.holder, "read")
    print("held connection after the flood, x/b first: %s" % got)
    assert got == "pushed", "the flood cut an established connection"
    assert ask(r.holder, "send after") == "ok"

    # 4. New connections while full.
    n = int(r.ns("a", PY, "-c", CONNECT, B_IP, str(N_CONN)).stdout)
    st = r.stats()
    c2 = ct(r)
    print("new connections while full: %d/%d; %s; ct_full drops %d"
          % (n, N_CONN, c2, st["drop_reasons"]["ct_full"]))
    assert n == N_CONN, "new connections refused while the table is full"
    assert c2["flows"] <= MAX_FLOWS


class FloodRun(Run):
    holder = None

    def close(self):
        if self.holder:
            self.holder.kill()
            self.holder.wait()
        return super().close()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    return run_checks("ct_flood", FloodRun(sys.argv[1], workers=1,
                                           conntrack={"max_flows": MAX_FLOWS}),
                      checks)


if __name__ == "__main__":
    sys.exit(main())
