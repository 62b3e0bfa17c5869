#!/usr/bin/python3
"""An established TCP connection between two tap pods survives kdp restarts.

kdp runs with a pcap uplink, policy enabled, and two API tap pods whose
port_add carries their IP, as kdp-cni sends it: kdp configures the pods'
/32 address and routes itself. A client in pod r1 sends a numbered line
every 100 ms over ONE connection to an echo server in pod r2 and prints
every echo. kdp is then killed (SIGKILL, then SIGTERM in a second round)
and started again with the same config and state dir. The taps die with
kdp (and with them the pods' addresses and routes); the restarted kdp
re-creates them from its state file with the same name and MAC and writes
the address and routes again, so the kernel TCP connection, which only saw
a few lost segments, resumes: the test requires the echoes to continue on
the same connection, with no reset, within a few seconds of kdp being back.

All of it runs twice: with DPDK's tap ethdevs ("tap_ports": "pmd"), then
with kdp's native taps ("tap_ports": "native", dp/vport.h).

Needs root and hugepages. Usage: restart_tap.py BUILD_DIR
"""
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import podports as pp  # noqa: E402  (its Kdp runner and pod helpers)

# How long the exchange may take to resume once kdp answers again.
RESUME_S = 8.0

ECHO = r"""
import socket, sys, time
mode, ip = sys.argv[1], sys.argv[2]
if mode == "server":
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, 5000)); ls.listen(1)
    print("listening", flush=True)
    c, _ = ls.accept()
    f = c.makefile("rwb")
    for line in f:
        f.write(line); f.flush()
    sys.exit(0)
s = socket.create_connection((ip, 5000), timeout=5)
s.settimeout(60)
print("connected %d" % s.getsockname()[1], flush=True)
f = s.makefile("rwb")
n = 0
try:
    while True:
        f.write(b"%d\n" % n); f.flush()
        back = f.readline()
        if back != b"%d\n" % n:
            print("ERR bad echo %r" % back, flush=True); sys.exit(1)
        print("echo %d %.3f" % (n, time.monotonic()), flush=True)
        n += 1
        time.sleep(0.1)
except OSError as e:
    print("ERR %s" % e, flush=True); sys.exit(1)
"""


class Client:
    """The client's output, read by a thread: the last echo and its time."""

    def __init__(self, ns, ip):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", ECHO,
             "client", ip], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        self.lines = []
        self.last = -1
        self.last_t = 0.0
        self.connects = 0
        self.errors = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            self.lines.append(line)
            w = line.split()
            if w and w[0] == "echo":
                self.last, self.last_t = int(w[1]), time.monotonic()
            elif w and w[0] == "connected":
                self.connects += 1
            elif w:
                self.errors.append(line)

    def wait_echo(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.last >= n:
                return True
            time.sleep(0.05)
        return self.last >= n

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def kill(kdp, sig):
    """Stop kdp with @p sig without the runner's SIGINT; its exit code."""
    if kdp.tel:
        kdp.tel.close()
        kdp.tel = None
    kdp.proc.send_signal(sig)
    rc = kdp.proc.wait(timeout=20)
    kdp.proc = None
    return rc


def restart_round(kdp, cl, sig, name):
    before = cl.last
    check = pp.check
    check(cl.wait_echo(before + 5, 5), "%s: exchange runs before (echo %d)"
          % (name, cl.last))
    rc = kill(kdp, sig)
    t_down = time.monotonic()
    check(rc == (-9 if sig == signal.SIGKILL else 0),
          "%s: kdp stopped (rc %s)" % (name, rc))
    check(pp.link_mac("r1") is None, "%s: r1's tap died with kdp" % name)
    stalled = cl.last
    time.sleep(1)
    check(cl.last - stalled <= 1, "%s: the exchange stalls while kdp is "
          "down (%d -> %d)" % (name, stalled, cl.last))
    kdp.start()
    t_up = time.monotonic()
    ok = cl.wait_echo(stalled + 3, RESUME_S)
    t_resume = cl.last_t
    check(ok, "%s: the exchange resumes after kdp is back (echo %d)"
          % (name, cl.last))
    if ok:
        print("     %s: kdp away %.1f s, exchange resumed %.2f s after "
              "kdp was back" % (name, t_up - t_down,
                                max(0.0, t_resume - t_up)))
    check(cl.connects == 1 and not cl.errors and cl.proc.poll() is None,
          "%s: on the same connection, no reset (%s)" % (name, cl.errors))
    check(pp.pod_configured("r1") and pp.pod_configured("r2"),
          "%s: kdp re-created the pods' address and routes" % name)


def run(mode, dirs):
    """One kdp with "tap_ports": @p mode, its pods, two restarts."""
    pp.MODE[0] = mode + ": "
    d = pp.make_dir("kdp-restart-", policy={"enabled": True},
                    tap_ports=mode)
    dirs.append(d)
    kdp = pp.Kdp(d)
    server = cl = None
    try:
        kdp.start()
        for p in ("r1", "r2"):
            a = kdp.api({"op": "port_add", "pod": "x/" + p, "kind": "tap",
                         "ifname": "eth0", "netns": "/var/run/netns/" +
                         pp.ns_name(p), "container_id": "c-" + p,
                         "ip": pp.PODS[p] + "/32"})
            pp.check(a.get("ok") and a.get("ip") == pp.PODS[p],
                     "port_add %s with its IP: %s" % (p, a))
        pp.check(pp.pod_configured("r1") and pp.pod_configured("r2"),
                 "kdp configured the pods' /32 address and routes")
        bad = kdp.api({"op": "port_add", "pod": "x/bad", "kind": "tap",
                       "ifname": "eth0", "netns": "/var/run/netns/" +
                       pp.ns_name("r1"), "ip": "10.244.1.0/24"})
        pp.check(bad.get("ok") is False and "ip:" in bad.get("error", ""),
                 "a bad ip gets a clear error: %s" % bad.get("error"))
        server = subprocess.Popen(
            ["ip", "netns", "exec", pp.ns_name("r2"), "/usr/bin/python3",
             "-c", ECHO, "server", pp.PODS["r2"]],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        pp.check(server.stdout.readline().strip() == "listening",
                 "echo server listens in r2")
        cl = Client(pp.ns_name("r1"), pp.PODS["r2"])
        pp.check(cl.wait_echo(5, 10), "r1 -> r2 exchange runs")
        restart_round(kdp, cl, signal.SIGKILL, "kill -9")
        restart_round(kdp, cl, signal.SIGTERM, "SIGTERM")
        pp.check(kdp.stop() == 0, "kdp exits 0 at the end")
    finally:
        if cl:
            cl.stop()
        if server:
            server.kill()
            server.wait()
        if kdp.proc:
            kdp.stop()
        if pp.failures and cl:
            print("client:", cl.lines[-5:])


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    pp.PODS.update({"r1": "10.244.1.35", "r2": "10.244.1.36"})
    nss = [pp.ns_name(p) for p in ("r1", "r2")]
    for ns in nss:
        pp.sh("ip", "netns", "add", ns)
        pp.sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    dirs = []
    try:
        for mode in ("pmd", "native"):
            run(mode, dirs)
    except Exception as e:  # a crash is a failure, with cleanup below
        import traceback
        traceback.print_exc()
        pp.failures.append(repr(e))
    finally:
        rc = pp.teardown(dirs, nss)
    return rc


if __name__ == "__main__":
    sys.exit(main())
