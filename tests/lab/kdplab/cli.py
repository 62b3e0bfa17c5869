"""Command line of kdp-lab. Each area (apiserver, later up/down/pod ...)
registers a subcommand group in main()."""

import argparse
import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

from . import pki

FAULTS = {
    "drop-watches": "close every open watch connection now (no final chunk)",
    "expire-next-watch": "[event|http] the next watch gets 410 Expired",
    "stall": "SECONDS: requests and watch events hang for SECONDS",
    "malformed": "RESOURCE [types|json]: serve a malformed object in "
                 "lists/watches of RESOURCE",
    "reset-history": "new RV history: RVs jump, old RVs and continue "
                     "tokens get 410, open watches are dropped",
    "refuse": "SECONDS: close the listening socket, reopen after SECONDS",
    "clear": "clear malformed/expire/stall/refuse",
}

TOKENS = """\
# token,user,uid,"groups" (kube-apiserver static token file format)
{admin},kdp-admin,1,"system:masters"
{ro},kdp-viewer,2,"kdp:read-only"
"""


def admin_call(d, op, args=()):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(600)
    try:
        s.connect(os.path.join(d, "admin.sock"))
    except OSError as e:
        raise SystemExit(f"kdp-lab: no API server in {d}: {e}")
    with s, s.makefile("rwb") as f:
        f.write(json.dumps({"op": op, "args": list(args)}).encode() + b"\n")
        f.flush()
        reply = json.loads(f.readline() or b"{}")
    if not reply.get("ok"):
        raise SystemExit(f"kdp-lab: {op}: {reply.get('error', 'no reply')}")
    return reply


def _b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_kubeconfig(d, url):
    """DIR/kubeconfig embeds the data (-data fields); DIR/kubeconfig-files
    points at the files with paths relative to DIR."""
    tok = {}
    with open(os.path.join(d, "tokens")) as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.strip().split(",")
            tok[parts[1]] = parts[0]

    def users(embed):
        out = []
        for name, crt in (("kdp-admin", "admin"), ("kdp-viewer-cert",
                                                   "readonly")):
            if embed:
                u = (f"    client-certificate-data: {_b64(os.path.join(d, crt + '.crt'))}\n"
                     f"    client-key-data: {_b64(os.path.join(d, crt + '.key'))}\n")
            else:
                u = (f"    client-certificate: {crt}.crt\n"
                     f"    client-key: {crt}.key\n")
            out.append(f"- name: {name}\n  user:\n{u}")
        out.append(f"- name: kdp-token\n  user:\n    token: {tok['kdp-admin']}\n")
        out.append(f"- name: kdp-readonly\n  user:\n"
                   f"    token: {tok['kdp-viewer']}\n")
        return "".join(out)

    ctxs = "".join(
        f"- name: {c}\n  context:\n    cluster: kdp-lab\n    user: {u}\n"
        f"    namespace: default\n"
        for c, u in (("kdp-lab", "kdp-admin"), ("kdp-lab-token", "kdp-token"),
                     ("kdp-lab-readonly", "kdp-readonly"),
                     ("kdp-lab-readonly-cert", "kdp-viewer-cert")))
    for fname, embed in (("kubeconfig", True), ("kubeconfig-files", False)):
        ca = (f"    certificate-authority-data: {_b64(os.path.join(d, 'ca.crt'))}\n"
              if embed else "    certificate-authority: ca.crt\n")
        text = ("apiVersion: v1\nkind: Config\n"
                f"clusters:\n- name: kdp-lab\n  cluster:\n    server: {url}\n{ca}"
                f"users:\n{users(embed)}contexts:\n{ctxs}"
                "current-context: kdp-lab\npreferences: {}\n")
        p = os.path.join(d, fname)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.chmod(p + ".tmp", 0o600)
        os.replace(p + ".tmp", p)


def _alive(pid):
    # A zombie (exited, not yet reaped by whoever adopted it) is dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _pid(d):
    try:
        with open(os.path.join(d, "apiserver.pid")) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _probe(d, port):
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    ctx.load_cert_chain(os.path.join(d, "admin.crt"),
                        os.path.join(d, "admin.key"))
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/version",
                                context=ctx, timeout=2) as r:
        return r.status == 200


def cmd_start(a):
    d = os.path.abspath(a.dir)
    os.makedirs(d, exist_ok=True)
    if _pid(d):
        raise SystemExit(f"kdp-lab: API server already running in {d}")
    pki.ensure(d)
    tp = os.path.join(d, "tokens")
    if not os.path.exists(tp):
        with open(tp, "w") as f:
            f.write(TOKENS.format(admin=os.urandom(16).hex(),
                                  ro=os.urandom(16).hex()))
        os.chmod(tp, 0o600)
    for stale in ("port", "admin.sock"):
        if os.path.exists(os.path.join(d, stale)):
            os.unlink(os.path.join(d, stale))
    log = open(os.path.join(d, "apiserver.log"), "ab")
    cmd = [sys.executable, os.path.join(os.path.dirname(__file__), "..",
                                        "kdp-lab"),
           "apiserver", "serve", "--dir", d, "--port", str(a.port),
           "--bookmark-interval", str(a.bookmark_interval),
           "--history", str(a.history), "--listen", a.listen] + (["-v"] if a.verbose else [])
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=log, start_new_session=True)
    with open(os.path.join(d, "apiserver.pid"), "w") as f:
        f.write(str(p.pid))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise SystemExit(f"kdp-lab: API server exited; see "
                             f"{d}/apiserver.log")
        try:
            with open(os.path.join(d, "port")) as f:
                port = int(f.read())
            if _probe(d, port):
                url = f"https://127.0.0.1:{port}"
                write_kubeconfig(d, url)
                print(url)
                return 0
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    p.kill()
    raise SystemExit("kdp-lab: API server did not answer within 30 s")


def cmd_stop(a):
    d = os.path.abspath(a.dir)
    pid = _pid(d)
    if pid is None:
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
    for f in ("apiserver.pid", "admin.sock", "port"):
        try:
            os.unlink(os.path.join(d, f))
        except OSError:
            pass
    return 0


def cmd_serve(a):
    from .apiserver import ApiServer
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    ApiServer(a.dir, a.port, a.bookmark_interval, a.history,
              a.verbose, a.listen).serve_forever()


def cmd_fault(a):
    if a.fault not in FAULTS:
        raise SystemExit(f"kdp-lab: unknown fault {a.fault!r}; known:\n" +
                         "\n".join(f"  {k} {v}" for k, v in FAULTS.items()))
    print(json.dumps(admin_call(a.dir, a.fault, a.args)))


def cmd_config(a):
    admin_call(a.dir, "config", [a.key, a.value])


def cmd_status(a):
    print(json.dumps(admin_call(a.dir, "status"), indent=1))


def cmd_write_times(a):
    print(json.dumps(admin_call(a.dir, "write-times",
                                [a.since] if a.since else [])))


def cmd_load(a):
    if a.generate:
        r = admin_call(a.dir, "generate", [a.generate])
    elif a.file:
        r = admin_call(a.dir, "load", [os.path.abspath(a.file)])
    else:
        raise SystemExit("kdp-lab: load needs FILE or --generate SPEC")
    print(json.dumps(r))


def main(argv):
    ap = argparse.ArgumentParser(prog="kdp-lab")
    top = ap.add_subparsers(dest="area", required=True)
    api = top.add_parser("apiserver", help="Kubernetes API server stand-in")
    sub = api.add_subparsers(dest="cmd", required=True)

    def p(name, fn, help_):
        x = sub.add_parser(name, help=help_)
        x.add_argument("--dir", required=True)
        x.set_defaults(fn=fn)
        return x
    for name, fn, h in (("start", cmd_start, "start in the background"),
                        ("serve", cmd_serve, "run in the foreground")):
        x = p(name, fn, h)
        x.add_argument("--port", type=int, default=0)
        x.add_argument("--bookmark-interval", type=float, default=10.0)
        x.add_argument("--history", type=int, default=20000,
                       help="events kept for watches from an RV")
        x.add_argument("-v", "--verbose", action="store_true")
        x.add_argument("--listen", default="127.0.0.1",
                       help="address to listen on (kdp-lab up uses 0.0.0.0 "
                            "so that node namespaces reach it)")
    p("stop", cmd_stop, "stop it")
    p("status", cmd_status, "RV, object counts, open watches")
    x = p("fault", cmd_fault, "inject a fault: " + ", ".join(FAULTS))
    x.add_argument("fault")
    x.add_argument("args", nargs="*")
    x = p("config", cmd_config,
          "bookmark-interval S | continue-ttl S | history N")
    x.add_argument("key")
    x.add_argument("value")
    x = p("write-times", cmd_write_times,
          "[RV]: CLOCK_MONOTONIC time of each recent write after RV")
    x.add_argument("since", nargs="?")
    x = p("load", cmd_load, "bulk-load objects")
    x.add_argument("file", nargs="?")
    x.add_argument("--generate", metavar="SPEC",
                   help="e.g. nodes=5000,pods=100000,ipamblocks=5000,"
                        "networkpolicies=2000,namespaces=20")
    _lab_commands(top)
    if argv[:1] == ["kubectl"]:
        # Everything after "kubectl" belongs to kubectl, flags included.
        from .lab import Lab
        env = dict(os.environ, KUBECONFIG=Lab().kubeconfig)
        return subprocess.call(["kubectl"] + argv[1:], env=env)
    a = ap.parse_args(argv)
    return a.fn(a) or 0


def _specs(words):
    """["tcp", "80"] or ["tcp:80", "udp:81"] -> [("tcp", 80), ("udp", 81)]."""
    out, i = [], 0
    while i < len(words):
        w = words[i]
        if ":" in w:
            proto, port = w.split(":", 1)
            i += 1
        elif i + 1 < len(words):
            proto, port = w, words[i + 1]
            i += 2
        else:
            raise SystemExit("kdp-lab: matrix: %r needs a port" % w)
        if proto.lower() not in ("tcp", "udp") or not port.isdigit():
            raise SystemExit("kdp-lab: matrix: bad spec %s %s (tcp|udp PORT)"
                             % (proto, port))
        out.append((proto.lower(), int(port)))
    return out


def _lab_commands(top):
    """The cluster: kdp-lab up/down/kubectl/pod/probe/matrix/exec."""
    from .lab import Lab

    def lab(a):
        return Lab(getattr(a, "dir", None))

    def add(name, fn, help_):
        x = top.add_parser(name, help=help_)
        x.add_argument("--dir", default=None,
                       help="lab state directory (default /run/kdp-lab)")
        x.set_defaults(fn=fn)
        return x

    x = add("up", lambda a: lab(a).up(a.nodes), "start a cluster")
    x.add_argument("--nodes", type=int, default=2)
    add("down", lambda a: lab(a).down(), "tear the cluster down")
    top.add_parser("kubectl", help="kubectl against the lab's API server")
    pod = top.add_parser("pod", help="add or delete pods")
    ps = pod.add_subparsers(dest="pcmd", required=True)
    x = ps.add_parser("add", help="NS/NAME: create a pod as kubelet would")
    x.add_argument("pod")
    x.add_argument("--node")
    x.add_argument("--labels", default="")
    x.add_argument("--serve", default="", help="tcp:80,udp:53,...")
    x.add_argument("--port-kind", default="tap", choices=["tap", "vhost-user"])
    x.add_argument("--dir", default=None)
    x.set_defaults(fn=lambda a: lab(a).pod_add(
        a.pod, a.node,
        dict(kv.split("=", 1) for kv in a.labels.split(",") if kv),
        [s for s in a.serve.split(",") if s], a.port_kind))
    x = ps.add_parser("del", help="NS/NAME")
    x.add_argument("pod")
    x.add_argument("--dir", default=None)
    x.set_defaults(fn=lambda a: lab(a).pod_del(a.pod))
    x = add("probe", lambda a: 0 if lab(a).probe(a.src, a.dst, a.proto, a.port)
            else 1, "FROM TO PROTO PORT: exit 0 iff the connection succeeds")
    x.add_argument("src")
    x.add_argument("dst")
    x.add_argument("proto")
    x.add_argument("port", type=int)
    x = add("matrix", lambda a: lab(a).matrix(_specs(a.spec), a.json) and 0,
            "PROTO PORT | PROTO:PORT...: every pod to every pod, all probes "
            "at once")
    x.add_argument("spec", nargs="+")
    x.add_argument("--json", action="store_true",
                   help='{"TCP/80": {"FROM": {"TO": true|false}}}')
    add("status", lambda a: print(json.dumps(lab(a).load(), indent=1)),
        "the lab's state: tag, nodes (netns, DPDK prefix), pods")
    x = add("exec", lambda a: lab(a).exec(a.pod, a.cmd),
            "NS/NAME CMD...: run a command in the pod's namespace")
    x.add_argument("pod")
    x.add_argument("cmd", nargs=argparse.REMAINDER)
