"""A Kubernetes API server stand-in: enough of the REST protocol for kubectl
and for client-go style LIST/WATCH clients. Runs in the foreground; the CLI
daemonizes it. Faults are injected over a Unix socket (DIR/admin.sock)."""

import http.server
import json
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse

from . import labelsel, patch, pki, protobuf, resources
from .store import DROP, ApiError, Store, dumps

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
READ_ONLY_GROUP = "kdp:read-only"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def load_tokens(path):
    """Static token file, kube-apiserver format: token,user,uid,"g1,g2"."""
    tokens = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(",", 3)
                groups = parts[3].strip('"').split(",") if len(parts) > 3 \
                    else []
                tokens[parts[0]] = (parts[1] if len(parts) > 1 else "",
                                    [g for g in groups if g])
    except FileNotFoundError:
        pass
    return tokens


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.expire_next = None        # None | "event" | "http"
        self.stall_until = 0.0
        self.refuse_until = 0.0

    def stall(self):
        """Holds a response until the stall window closes."""
        wait = self.stall_until - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def take_expire(self):
        with self.lock:
            mode, self.expire_next = self.expire_next, None
            return mode


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kdp-lab-apiserver"
    timeout = 600

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    # ---- plumbing ------------------------------------------------------
    def _send(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code, obj):
        self._send(code, dumps(obj))

    def _error(self, err):
        self._json(err.code, err.status())

    def _read_body(self):
        # Always consumed, even when unused (DELETE options), so the next
        # request on a kept-alive connection starts at the right byte.
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        return self.rfile.read(n) if n > 0 else b""

    def _body(self):
        raw = self._raw
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if ctype == "application/vnd.kubernetes.protobuf":
            try:
                return protobuf.decode(raw)
            except (protobuf.ProtoError, UnicodeDecodeError) as e:
                raise ApiError(415, "UnsupportedMediaType", str(e))
        if ctype == "application/cbor":
            raise ApiError(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown "
                           f"format - accepted media types include: "
                           f"application/json, application/yaml")
        if not raw:
            raise ApiError(400, "BadRequest", "request body is empty")
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ApiError(400, "BadRequest",
                           f"error decoding request body: {e}")

    def _auth(self):
        """Returns (user, groups) or raises 401."""
        h = self.headers.get("Authorization", "")
        if h.startswith("Bearer "):
            tok = load_tokens(self.server.token_path).get(h[7:].strip())
            if tok:
                return tok
            raise ApiError(401, "Unauthorized", "Unauthorized")
        cert = self.connection.getpeercert() if hasattr(
            self.connection, "getpeercert") else None
        if cert:
            user, groups = "", []
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        user = v
                    elif k == "organizationName":
                        groups.append(v)
            return user, groups
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _dispatch(self):
        try:
            self._raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        self.server.faults.stall()
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(
            url.query, keep_blank_values=True).items()}
        try:
            user, groups = self._auth()
            if self.command in WRITE_METHODS and READ_ONLY_GROUP in groups:
                raise ApiError(403, "Forbidden",
                               f'User "{user}" cannot {self.command.lower()}'
                               f' resources: read-only credentials')
            self._route(url.path, q)
        except ApiError as e:
            self._error(e)
        except (labelsel.SelectorError, patch.PatchError) as e:
            self._error(ApiError(400, "BadRequest", str(e)))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:      # a bug here must not kill the client
            import traceback
            traceback.print_exc()
            self.close_connection = True
            try:
                self._error(ApiError(500, "InternalError", repr(e)))
            except OSError:
                pass

    # ---- routing -------------------------------------------------------
    def _route(self, path, q):
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            return self._send(200, b"ok", "text/plain")
        if path == "/version":
            return self._json(200, {
                "major": "1", "minor": "32", "gitVersion": "v1.32.0-kdplab",
                "platform": "linux/amd64", "goVersion": "go1.23",
                "compiler": "gc"})
        if path == "/openapi/v3":
            return self._json(200, resources.openapi_index())
        if path.startswith("/openapi/v3/"):
            doc = resources.openapi_gv(path[len("/openapi/v3/"):])
            if doc is not None:
                return self._json(200, doc)
        if path == "/api":
            return self._json(200, resources.api_versions())
        if path == "/apis":
            return self._json(200, resources.api_group_list())
        if parts[:1] == ["api"] and len(parts) == 2:
            return self._discovery("", parts[1])
        if parts[:1] == ["apis"] and len(parts) == 2:
            if parts[1] not in resources.GROUPS:
                raise ApiError(404, "NotFound", "the server could not find "
                               "the requested resource")
            return self._json(200, resources.api_group(parts[1]))
        if parts[:1] == ["apis"] and len(parts) == 3:
            return self._discovery(parts[1], parts[2])
        if parts[:1] == ["api"] and len(parts) > 2 and parts[1] == "v1":
            return self._resource("", "v1", parts[2:], q)
        if parts[:1] == ["apis"] and len(parts) > 3:
            return self._resource(parts[1], parts[2], parts[3:], q)
        raise ApiError(404, "NotFound",
                       "the server could not find the requested resource")

    def _discovery(self, group, version):
        doc = resources.resource_list(group, version)
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the "
                           "requested resource")
        self._json(200, doc)

    def _resource(self, group, version, parts, q):
        ns = ""
        if parts[0] == "namespaces" and len(parts) >= 3:
            inner = resources.find(group, version, parts[2])
            if inner is not None and inner.namespaced:
                ns, parts = parts[1], parts[2:]
        res = resources.find(group, version, parts[0])
        if res is None or len(parts) > 3:
            raise ApiError(404, "NotFound", "the server could not find the "
                           "requested resource")
        name = parts[1] if len(parts) > 1 else ""
        sub = parts[2] if len(parts) > 2 else ""
        if sub and sub not in res.subresources:
            raise ApiError(404, "NotFound", "the server could not find the "
                           "requested resource")
        if res.namespaced and name and not ns:
            raise ApiError(404, "NotFound", "the server could not find the "
                           "requested resource")
        store = self.server.store
        dry = "dryRun" in q
        m = self.command
        if m in ("GET", "HEAD") and not name:
            if q.get("watch") in ("1", "true"):
                return self._watch(res, ns, q)
            return self._list(res, ns, q)
        if m in ("GET", "HEAD"):
            return self._send(200, store.get(res, ns, name).full())
        if m == "POST" and not name:
            obj = self._check_body(res, ns, self._body())
            meta = obj["metadata"]
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + os.urandom(3).hex()[:5]
            self._check_name(meta.get("name"), res.kind == "Namespace")
            return self._send(201, store.create(res, ns, obj, dry).full())
        if m == "PUT" and name:
            obj = self._check_body(res, ns, self._body())
            return self._send(200, store.update(
                res, ns, name, lambda old: obj, dry_run=dry).full())
        if m == "PATCH" and name:
            return self._patch(res, ns, name, dry)
        if m == "DELETE" and name:
            return self._send(200, store.delete(res, ns, name, dry).full())
        if m == "DELETE":
            return self._delete_collection(res, ns, q)
        raise ApiError(405, "MethodNotAllowed",
                       f"the server does not allow this method on the "
                       f"requested resource")

    def _check_body(self, res, ns, obj):
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "object must be a JSON object")
        kind, av = obj.get("kind"), obj.get("apiVersion")
        if (kind and kind != res.kind) or (av and av != res.api_version):
            raise ApiError(400, "BadRequest",
                           f"the API version in the data ({av}) or kind "
                           f"({kind}) does not match the expected "
                           f"{res.api_version} {res.kind}")
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        bns = meta.get("namespace")
        if res.namespaced and bns and bns != ns:
            raise ApiError(400, "BadRequest", "the namespace of the provided "
                           "object does not match the namespace sent on the "
                           "request")
        return obj

    @staticmethod
    def _check_name(name, label=False):
        """A DNS subdomain; a namespace's, a DNS label (the apiserver's
        ValidateNamespaceName)."""
        if not isinstance(name, str) or not name:
            raise ApiError(422, "Invalid", "metadata.name: Required value: "
                           "name or generateName is required")
        if label and (len(name) > 63 or not LABEL_RE.match(name)):
            raise ApiError(422, "Invalid",
                           f'metadata.name: Invalid value: "{name}": a '
                           f'lowercase RFC 1123 label must consist of lower '
                           f'case alphanumeric characters or \'-\', and must '
                           f'start and end with an alphanumeric character')
        if len(name) > 253 or not NAME_RE.match(name):
            raise ApiError(422, "Invalid",
                           f'metadata.name: Invalid value: "{name}": a '
                           f'lowercase RFC 1123 subdomain must consist of '
                           f'lower case alphanumeric characters, \'-\' or '
                           f'\'.\'')

    def _patch(self, res, ns, name, dry):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        body = self._body()
        if ctype == "application/merge-patch+json":
            fn = lambda old: patch.merge_patch(old, body)  # noqa: E731
        elif ctype == "application/strategic-merge-patch+json":
            if not res.core:
                raise ApiError(415, "UnsupportedMediaType",
                               "strategic merge patch is not supported for "
                               "custom resources; use merge patch")
            fn = lambda old: patch.strategic_merge(old, body)  # noqa: E731
        elif ctype == "application/json-patch+json":
            fn = lambda old: patch.json_patch(old, body)  # noqa: E731
        else:
            raise ApiError(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown "
                           f"format - accepted media types include: "
                           f"application/json-patch+json, "
                           f"application/merge-patch+json, "
                           f"application/strategic-merge-patch+json")
        self._send(200, self.server.store.update(res, ns, name, fn,
                                                 dry_run=dry).full())

    def _selectors(self, res, q):
        lsel = labelsel.parse_labels(q.get("labelSelector"))
        fsel = labelsel.parse_fields(q.get("fieldSelector"),
                                     labelsel.supported_fields(res))
        return lsel, fsel

    def _delete_collection(self, res, ns, q):
        lsel, fsel = self._selectors(res, q)
        store = self.server.store
        items, rv, _, _ = store.list(res, ns, lsel, fsel)
        out = []
        for raw in items:
            try:
                meta = json.loads(raw)["metadata"]
                out.append(store.delete(res, ns or meta.get("namespace", ""),
                                        meta["name"]).item)
            except (ApiError, ValueError, KeyError, TypeError):
                continue
        self._list_reply(res, out, str(store.rv), "", None)

    def _list(self, res, ns, q):
        lsel, fsel = self._selectors(res, q)
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", "limit must be an integer")
        limit = max(limit, 0)   # the apiserver pages only when limit > 0
        rvm = q.get("resourceVersionMatch")
        rvp = q.get("resourceVersion")
        store = self.server.store
        if rvm == "Exact" and rvp and rvp.isdigit() and \
                int(rvp) < store.floor:
            raise ApiError(410, "Expired", f"too old resource version: "
                           f"{rvp} ({store.floor})")
        items, rv, cont, remaining = store.list(
            res, ns, lsel, fsel, limit, q.get("continue"))
        self._list_reply(res, items, rv, cont, remaining)

    def _list_reply(self, res, items, rv, cont, remaining):
        meta = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        head = (b'{"kind":"%sList","apiVersion":"%s","metadata":%s,'
                b'"items":[' % (res.kind.encode(), res.api_version.encode(),
                                dumps(meta)))
        self._send(200, head + b",".join(items) + b"]}")

    # ---- watch ---------------------------------------------------------
    def _watch(self, res, ns, q):
        srv = self.server
        lsel, fsel = self._selectors(res, q)
        try:
            timeout = float(q.get("timeoutSeconds") or 1800)
        except ValueError:
            raise ApiError(400, "BadRequest", "bad timeoutSeconds")
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        initial = q.get("sendInitialEvents") == "true"
        expire = srv.faults.take_expire()
        if expire == "http":
            raise ApiError(410, "Expired", "too old resource version: "
                           f"{q.get('resourceVersion', '')} ({srv.store.rv})")
        w = None
        try:
            if expire != "event":
                w = srv.store.watch(res, ns, lsel, fsel,
                                    q.get("resourceVersion"), initial)
        except ApiError as e:
            if e.code != 410:
                raise
            expire_err = e
        else:
            expire_err = ApiError(410, "Expired", "too old resource version:"
                                  f" {q.get('resourceVersion', '')} "
                                  f"({srv.store.rv})") if w is None else None
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if expire_err is not None:
            # A too-old RV on a watch is a 200 with one ERROR event, as the
            # watch cache answers.
            self._chunk(b'{"type":"ERROR","object":%s}\n'
                        % dumps(expire_err.status()))
            self._chunk(b"")
            return
        try:
            self._pump(w, timeout, bookmarks)
        finally:
            srv.store.unwatch(w)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _pump(self, w, timeout, bookmarks):
        srv = self.server
        start = time.monotonic()
        deadline = start + timeout
        next_bm = start + srv.bookmark_interval
        while True:
            now = time.monotonic()
            if now >= deadline:
                self._chunk(b"")           # normal end of the stream
                return
            wait = deadline - now
            if bookmarks:
                wait = min(wait, max(next_bm - now, 0.01))
            lines = []
            try:
                lines.append(w.q.get(timeout=wait))
                while len(lines) < 256:
                    lines.append(w.q.get_nowait())
            except Exception:
                pass
            if any(x is DROP for x in lines):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            srv.faults.stall()
            if lines:
                self._chunk(b"".join(lines))
            elif bookmarks and time.monotonic() >= next_bm:
                with srv.store.lock:
                    line = srv.store.bookmark_line(w.res) \
                        if w.q.empty() else None
                if line:
                    self._chunk(line)
                next_bm = time.monotonic() + srv.bookmark_interval


class ApiServer:
    """Owns the listening socket (so 'refuse' can close and reopen it), the
    store, and the admin socket."""

    def __init__(self, d, port=0, bookmark_interval=10.0, history=20000,
                 verbose=False, listen_addr="127.0.0.1"):
        self.dir = os.path.abspath(d)
        self.port = port
        self.listen_addr = listen_addr
        self.bookmark_interval = bookmark_interval
        self.verbose = verbose
        self.token_path = os.path.join(self.dir, "tokens")
        self.store = Store(resources.RESOURCES, history=history)
        self.faults = Faults()
        pki.ensure(self.dir)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(self.dir, "server.crt"),
                                 os.path.join(self.dir, "server.key"))
        self.ctx.load_verify_locations(os.path.join(self.dir, "ca.crt"))
        self.ctx.verify_mode = ssl.CERT_OPTIONAL
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.sock = None
        self.sock_lock = threading.Lock()
        self.conns = set()           # open client sockets (under sock_lock)
        for ns in ("default", "kube-system", "kube-public"):
            self.store.create(resources.find("", "v1", "namespaces"), "",
                              {"metadata": {"name": ns}})

    def _listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.listen_addr, self.port))
        s.listen(128)
        self.port = s.getsockname()[1]
        return s

    def refuse(self, seconds):
        """The server is gone for a while: no new connections, and the open
        ones (kept-alive or watching) are cut, as a client of a crashed or
        restarting API server sees it."""
        with self.sock_lock:
            self.faults.refuse_until = time.monotonic() + seconds
            if self.sock:
                self.sock.close()
                self.sock = None
            conns = list(self.conns)
        for c in conns:
            try:
                # The plain socket's shutdown: SSLSocket.shutdown would drop
                # the TLS state under the thread still serving it.
                socket.socket.shutdown(c, socket.SHUT_RDWR)
            except OSError:
                pass

    def serve_forever(self):
        self.sock = self._listen()
        with open(os.path.join(self.dir, "port"), "w") as f:
            f.write(str(self.port))
        threading.Thread(target=self._admin_loop, daemon=True).start()
        while True:
            with self.sock_lock:
                s = self.sock
                if s is None and time.monotonic() >= self.faults.refuse_until:
                    s = self.sock = self._listen()
            if s is None:
                time.sleep(0.05)
                continue
            s.settimeout(0.2)
            try:
                conn, addr = s.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(None)
            # Headers and body go out in separate writes; without NODELAY
            # each small response waits for a delayed ACK.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve_conn, args=(conn, addr),
                             daemon=True).start()

    @staticmethod
    def _linger_close(tls):
        """Close after a failed handshake as careful servers do (Apache's
        lingering close): the alert is out, so half-close and read what the
        client still sends for up to a second. Under TLS 1.3 a client whose
        certificate is refused has finished its side of the handshake and
        sends its request; closing at once with that request unread makes
        the kernel answer with a reset, which can reach the client before
        it reads the alert, and it never learns why it was refused."""
        try:
            # The plain socket's calls: no TLS session exists to use.
            socket.socket.shutdown(tls, socket.SHUT_WR)
            tls.settimeout(0.2)
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                try:
                    if not socket.socket.recv(tls, 4096):
                        break
                except socket.timeout:
                    continue
        except OSError:
            pass
        finally:
            tls.close()

    def _serve_conn(self, conn, addr):
        try:
            conn.settimeout(10)
            tls = self.ctx.wrap_socket(conn, server_side=True,
                                       do_handshake_on_connect=False)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                print(f"TLS setup for {addr} failed: {e}", flush=True)
            conn.close()
            return
        try:
            tls.do_handshake()
            tls.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                print(f"TLS handshake from {addr} failed: {e}", flush=True)
            self._linger_close(tls)
            return
        # wrap_socket took over conn's descriptor: track the TLS socket.
        with self.sock_lock:
            self.conns.add(tls)
        try:
            Handler(tls, addr, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.sock_lock:
                self.conns.discard(tls)
            try:
                tls.close()
            except OSError:
                pass

    # ---- admin socket --------------------------------------------------
    def _admin_loop(self):
        path = os.path.join(self.dir, "admin.sock")
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        os.chmod(path, 0o600)
        s.listen(8)
        while True:
            c, _ = s.accept()
            threading.Thread(target=self._admin_conn, args=(c,),
                             daemon=True).start()

    def _admin_conn(self, c):
        with c, c.makefile("rwb") as f:
            for line in f:
                try:
                    reply = {"ok": True, **self.admin(json.loads(line))}
                except (ValueError, KeyError, TypeError, ApiError) as e:
                    reply = {"ok": False, "error": str(e)}
                f.write(dumps(reply) + b"\n")
                f.flush()

    def admin(self, req):
        op, args = req["op"], req.get("args", [])
        st, fl = self.store, self.faults
        if op == "drop-watches":
            return {"dropped": st.drop_watches()}
        if op == "expire-next-watch":
            mode = args[0] if args else "event"
            if mode not in ("event", "http"):
                raise ValueError("mode must be event or http")
            fl.expire_next = mode
            return {}
        if op == "stall":
            fl.stall_until = time.monotonic() + float(args[0])
            return {}
        if op == "refuse":
            self.refuse(float(args[0]))
            return {}
        if op == "malformed":
            res = resources.find_by_name(args[0])
            if res is None:
                raise ValueError(f"unknown resource {args[0]!r}")
            mode = args[1] if len(args) > 1 else "types"
            if mode not in ("types", "json"):
                raise ValueError("mode must be types or json")
            st.set_malformed(res, mode)
            return {}
        if op == "reset-history":
            return {"dropped": st.reset_history(), "rv": st.rv}
        if op == "clear":
            st.malformed.clear()
            fl.expire_next = None
            fl.stall_until = 0.0
            with self.sock_lock:
                fl.refuse_until = 0.0
            return {}
        if op == "config":
            key, val = args[0], args[1]
            if key == "bookmark-interval":
                self.bookmark_interval = float(val)
            elif key == "continue-ttl":
                st.continue_ttl = float(val)
            elif key == "history":
                st.history_max = max(1, int(val))
            else:
                raise ValueError(f"unknown config key {key!r}")
            return {}
        if op == "load":
            from . import gen
            pairs = gen.from_file(args[0])
            t = time.monotonic()
            n = st.bulk_create(pairs)
            return {"created": n, "seconds": round(time.monotonic() - t, 3)}
        if op == "generate":
            from . import gen
            t = time.monotonic()
            n = st.bulk_create(gen.generate(gen.parse_spec(args[0])))
            return {"created": n, "seconds": round(time.monotonic() - t, 3)}
        if op == "write-times":
            since = int(args[0]) if args else 0
            with st.lock:
                return {"writes": [[rv, t] for rv, t in st.write_times
                                   if rv > since]}
        if op == "status":
            return {"rv": st.rv, "floor": st.floor, "port": self.port,
                    "counts": st.counts(),
                    "watchers": sum(len(w) for w in st.watchers.values())}
        raise ValueError(f"unknown admin op {op!r}")
