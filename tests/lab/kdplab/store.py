"""In-memory object store with a global resourceVersion, a bounded event
history (the "watch cache") and watcher fan-out.

Objects are kept pre-serialized: LIST pages are byte joins, no json.dumps on
the read path. Simplification: a continued LIST serves the current state of
the remaining keys (not an MVCC snapshot) but reports the snapshot RV.
"""

import base64
import bisect
import collections
import datetime
import json
import queue
import threading
import time
import uuid

from . import labelsel

DROP = object()        # watcher sentinel: close the connection abruptly


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
             "status": "Failure", "message": self.message,
             "reason": self.reason, "code": self.code}
        if self.details:
            s["details"] = self.details
        return s


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Entry:
    """One stored object version."""
    __slots__ = ("res", "key", "rv", "item", "labels", "fields")

    def __init__(self, res, key, rv, item, labels, fields):
        self.res, self.key, self.rv, self.item = res, key, rv, item
        self.labels, self.fields = labels, fields

    def full(self):
        if self.res.core:
            return (b'{"kind":"%s","apiVersion":"%s",' % (
                self.res.kind.encode(), self.res.api_version.encode())
                + self.item[1:])
        return self.item

    def obj(self):
        return json.loads(self.full())


def make_entry(res, obj, rv):
    meta = obj["metadata"]
    meta["resourceVersion"] = str(rv)
    body = dict(obj)
    if res.core:
        body.pop("kind", None)
        body.pop("apiVersion", None)
    else:
        body = {"apiVersion": res.api_version, "kind": res.kind, **body}
    name, ns = meta["name"], meta.get("namespace", "")
    key = f"{ns}/{name}" if res.namespaced else name
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        labels = {}
    return Entry(res, key, rv, dumps(body), labels,
                 labelsel.object_fields(res, obj))


class Watcher:
    def __init__(self, res, ns, lsel, fsel):
        self.res, self.ns, self.lsel, self.fsel = res, ns, lsel, fsel
        self.q = queue.SimpleQueue()

    def matches(self, e):
        if e is None:
            return False
        if self.ns and not e.key.startswith(self.ns + "/"):
            return False
        if self.lsel and not self.lsel(e.labels):
            return False
        if self.fsel and not self.fsel(e.fields):
            return False
        return True

    def offer(self, etype, entry, prev, rv):
        """Turns a store event into what this watcher sees (selector
        transitions become ADDED/DELETED, like the real watch cache)."""
        new_m = self.matches(entry) if etype != "DELETED" else False
        old_m = self.matches(prev) if etype != "ADDED" else False
        if etype == "DELETED":
            if old_m:
                self.q.put(event_line("DELETED", entry.full()))
        elif new_m and (etype == "ADDED" or not old_m):
            self.q.put(event_line("ADDED", entry.full()))
        elif new_m:
            self.q.put(event_line("MODIFIED", entry.full()))
        elif old_m:
            o = prev.obj()
            o["metadata"]["resourceVersion"] = str(rv)
            self.q.put(event_line("DELETED", dumps(o)))


def event_line(etype, obj_bytes):
    return b'{"type":"%s","object":%s}\n' % (etype.encode(), obj_bytes)


class Table:
    __slots__ = ("objs", "keys", "sorted")

    def __init__(self):
        self.objs, self.keys, self.sorted = {}, [], True


class Store:
    def __init__(self, resources, history=20000, continue_ttl=300.0):
        self.lock = threading.RLock()
        self.rv = 1
        self.gen = 1
        self.floor = 1
        self.history = collections.deque()
        self.history_max = history
        self.continue_ttl = continue_ttl
        self.tables = {r.key: Table() for r in resources}
        self.watchers = {r.key: set() for r in resources}
        self.malformed = {}          # res.key -> mode ("types" | "json")
        # (rv, CLOCK_MONOTONIC seconds) of recent writes, so a client can
        # time how long a change took to reach it from the write itself.
        self.write_times = collections.deque(maxlen=4096)

    # ---- helpers -------------------------------------------------------
    def _table(self, res):
        t = self.tables[res.key]
        if not t.sorted:
            t.keys.sort()
            t.sorted = True
        return t

    def _record(self, res, etype, entry, prev):
        if len(self.history) >= self.history_max:
            self.floor = self.history.popleft()[0]
        self.history.append((self.rv, res.key, etype, entry, prev))
        self.write_times.append((self.rv, time.monotonic()))
        for w in self.watchers[res.key]:
            w.offer(etype, entry, prev, self.rv)

    def _key(self, res, ns, name):
        return f"{ns}/{name}" if res.namespaced else name

    def _not_found(self, res, name):
        return ApiError(404, "NotFound",
                        f'{res.plural}{"." + res.group if res.group else ""}'
                        f' "{name}" not found',
                        {"name": name, "group": res.group, "kind": res.plural})

    def _lookup(self, res, ns, name):
        t = self.tables[res.key]
        key = self._key(res, ns, name)
        prev = t.objs.get(key)
        if prev is None:
            raise self._not_found(res, name)
        return t, key, prev

    def _check_ns(self, res, ns):
        if not res.namespaced:
            return
        if ns not in self.tables[("", "v1", "namespaces")].objs:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                           {"name": ns, "kind": "namespaces"})

    # ---- reads ---------------------------------------------------------
    def get(self, res, ns, name):
        with self.lock:
            e = self.tables[res.key].objs.get(self._key(res, ns, name))
            if e is None:
                raise self._not_found(res, name)
            return e

    def list(self, res, ns, lsel=None, fsel=None, limit=0, cont=None):
        """Returns (item bytes list, rv string, continue token, remaining)."""
        with self.lock:
            t = self._table(res)
            snap = self.rv
            if cont:
                snap, start = self._decode_continue(cont)
                lo = bisect.bisect_right(t.keys, start)
            elif ns and res.namespaced:
                lo = bisect.bisect_left(t.keys, ns + "/")
            else:
                lo = 0
            prefix = ns + "/" if ns and res.namespaced else ""
            items, last, i, n = [], None, lo, len(t.keys)
            more = False
            while i < n:
                k = t.keys[i]
                if prefix and not k.startswith(prefix):
                    break
                e = t.objs[k]
                i += 1
                if (lsel and not lsel(e.labels)) or \
                        (fsel and not fsel(e.fields)):
                    continue
                if limit and len(items) >= limit:
                    more = True
                    break
                items.append(e.item)
                last = k
            token = self._encode_continue(snap, last) if more else ""
            remaining = None
            if more and not (lsel or fsel or prefix):
                remaining = n - i + 1
            if not cont and res.key in self.malformed:
                items.append(self.malformed_item(res))
            return items, str(snap), token, remaining

    def _encode_continue(self, rv, key):
        raw = dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": key,
                     "gen": self.gen, "ts": time.time()})
        return base64.urlsafe_b64encode(raw).decode()

    def _decode_continue(self, tok):
        try:
            d = json.loads(base64.urlsafe_b64decode(tok.encode()))
            rv, start, gen, ts = d["rv"], d["start"], d["gen"], d["ts"]
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "BadRequest", "invalid continue token")
        if gen != self.gen or rv < self.floor or \
                time.time() - ts > self.continue_ttl:
            raise ApiError(
                410, "Expired",
                "The provided continue parameter is too old to display a "
                "consistent list result. You can start a new list without "
                "the continue parameter.")
        return rv, start

    # ---- watch ---------------------------------------------------------
    def watch(self, res, ns, lsel, fsel, rv_param, initial_events=False):
        w = Watcher(res, ns if res.namespaced else "", lsel, fsel)
        with self.lock:
            if rv_param in (None, "", "0") or initial_events:
                t = self._table(res)
                for k in t.keys:
                    e = t.objs[k]
                    if w.matches(e):
                        w.q.put(event_line("ADDED", e.full()))
                if res.key in self.malformed:
                    w.q.put(self.malformed_line(res))
                if initial_events:
                    w.q.put(self.bookmark_line(res, True))
            else:
                try:
                    since = int(rv_param)
                except ValueError:
                    raise ApiError(400, "BadRequest",
                                   f"invalid resource version {rv_param!r}")
                if since < self.floor:
                    raise ApiError(410, "Expired",
                                   f"too old resource version: {since} "
                                   f"({self.floor})")
                for rv, key, etype, entry, prev in self.history:
                    if rv > since and key == res.key:
                        w.offer(etype, entry, prev, rv)
            self.watchers[res.key].add(w)
        return w

    def unwatch(self, w):
        with self.lock:
            self.watchers[w.res.key].discard(w)

    def bookmark_line(self, res, initial_end=False):
        meta = {"resourceVersion": str(self.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return event_line("BOOKMARK", dumps(
            {"kind": res.kind, "apiVersion": res.api_version,
             "metadata": meta}))

    def drop_watches(self):
        with self.lock:
            n = 0
            for ws in self.watchers.values():
                for w in ws:
                    w.q.put(DROP)
                    n += 1
                ws.clear()
            return n

    # ---- writes --------------------------------------------------------
    def _prepare(self, res, ns, obj, old=None):
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if res.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        obj.pop("kind", None)
        obj.pop("apiVersion", None)
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_ts()
            meta["generation"] = 1
        else:
            om = old["metadata"]
            for f in ("uid", "creationTimestamp"):
                meta[f] = om.get(f)
            gen = om.get("generation", 1)
            if obj.get("spec") != old.get("spec"):
                gen += 1
            meta["generation"] = gen
        if res.plural == "namespaces":
            labels = meta.setdefault("labels", {})
            if isinstance(labels, dict):
                labels["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj.setdefault("status", {"phase": "Active"})
        return obj

    def create(self, res, ns, obj, dry_run=False):
        with self.lock:
            self._check_ns(res, ns)
            name = obj["metadata"]["name"]
            t = self.tables[res.key]
            key = self._key(res, ns, name)
            if key in t.objs:
                raise ApiError(
                    409, "AlreadyExists",
                    f'{res.plural}{"." + res.group if res.group else ""} '
                    f'"{name}" already exists',
                    {"name": name, "group": res.group, "kind": res.plural})
            self._prepare(res, ns, obj)
            if dry_run:
                return make_entry(res, obj, self.rv)
            self.rv += 1
            e = make_entry(res, obj, self.rv)
            t.objs[key] = e
            if t.sorted:
                bisect.insort(t.keys, key)
            else:
                t.keys.append(key)
            self._record(res, "ADDED", e, None)
            return e

    def bulk_create(self, pairs):
        """Fast load: keys are sorted once at the end."""
        n = 0
        with self.lock:
            for res, ns, obj in pairs:
                t = self.tables[res.key]
                t.sorted = False
                try:
                    self.create(res, ns, obj)
                    n += 1
                except ApiError:
                    pass
            for t in self.tables.values():
                if not t.sorted:
                    t.keys.sort()
                    t.sorted = True
        return n

    def update(self, res, ns, name, fn, rv_check=None, dry_run=False):
        """fn(old_obj) -> new obj. rv_check: RV the caller expects."""
        with self.lock:
            t, key, prev = self._lookup(res, ns, name)
            old = prev.obj()
            new = fn(old)
            if not isinstance(new, dict):
                raise ApiError(422, "Invalid", "patched object is not a map")
            nmeta = new.get("metadata") or {}
            if not isinstance(nmeta, dict):
                raise ApiError(422, "Invalid", "metadata must be an object")
            want = rv_check or nmeta.get("resourceVersion")
            if want and str(want) != str(prev.rv):
                raise ApiError(
                    409, "Conflict",
                    f'Operation cannot be fulfilled on {res.plural} '
                    f'"{name}": the object has been modified; please apply '
                    f'your changes to the latest version and try again',
                    {"name": name, "group": res.group, "kind": res.plural})
            if nmeta.get("name", name) != name:
                raise ApiError(400, "BadRequest",
                               "the name of the object does not match the "
                               "name on the URL")
            nmeta["name"] = name
            new["metadata"] = nmeta
            self._prepare(res, ns, new, old)
            if dry_run:
                return make_entry(res, new, prev.rv)
            self.rv += 1
            e = make_entry(res, new, self.rv)
            t.objs[key] = e
            self._record(res, "MODIFIED", e, prev)
            return e

    def delete(self, res, ns, name, dry_run=False):
        with self.lock:
            t, key, prev = self._lookup(res, ns, name)
            if dry_run:
                return prev
            self.rv += 1
            del t.objs[key]
            i = bisect.bisect_left(self._table(res).keys, key)
            if i < len(t.keys) and t.keys[i] == key:
                t.keys.pop(i)
            # DELETED carries the last state at the deletion revision.
            last = make_entry(res, prev.obj(), self.rv)
            self._record(res, "DELETED", last, prev)
            if res.plural == "namespaces":
                self._cascade(name)
            return last

    def _cascade(self, ns):
        for key, t in self.tables.items():
            for k in [k for k in t.keys if k.startswith(ns + "/")]:
                e = t.objs[k]
                self.delete(e.res, ns, k.split("/", 1)[1])

    # ---- faults --------------------------------------------------------
    def reset_history(self, jump=1000000):
        with self.lock:
            self.gen += 1
            self.rv += jump
            self.floor = self.rv
            self.history.clear()
        return self.drop_watches()

    def malformed_item(self, res):
        if self.malformed.get(res.key) == "json":
            return b'{"metadata":{"name":"kdp-malformed",'
        return dumps(malformed_object(res, self.rv))

    def malformed_line(self, res):
        if self.malformed.get(res.key) == "json":
            return b'{"type":"ADDED","object":{"kind":"' + \
                res.kind.encode() + b'","metadata":{\n'
        return event_line("ADDED", dumps(malformed_object(res, self.rv)))

    def set_malformed(self, res, mode):
        with self.lock:
            self.malformed[res.key] = mode
            line = self.malformed_line(res)
            for w in self.watchers[res.key]:
                w.q.put(line)

    def counts(self):
        with self.lock:
            return {"/".join(filter(None, k)): len(t.objs)
                    for k, t in self.tables.items() if t.objs}


def malformed_object(res, rv):
    """A well-formed JSON object of the right kind with wrongly typed
    fields, e.g. a Pod whose IP is a number."""
    meta = {"name": "kdp-malformed", "uid": "00000000-bad0-0000-0000-000000000000",
            "resourceVersion": str(rv), "labels": ["not", "a", "map"]}
    if res.namespaced:
        meta["namespace"] = "default"
    o = {"apiVersion": res.api_version, "kind": res.kind, "metadata": meta}
    if res.plural == "pods":
        o["spec"] = {"nodeName": 12345, "containers": "none"}
        o["status"] = {"podIP": 12345, "podIPs": [{"ip": False}],
                       "phase": 7}
    elif res.plural == "nodes":
        meta["annotations"] = {"projectcalico.org/IPv4Address": 42}
        o["status"] = {"addresses": "bogus"}
    elif res.plural == "ippools":
        o["spec"] = {"cidr": 42, "blockSize": "big", "ipipMode": ["x"]}
    elif res.plural == "ipamblocks":
        o["spec"] = {"cidr": ["10.0.0.0/26"], "allocations": "nope",
                     "attributes": 7, "affinity": 3}
    else:
        o["spec"] = "not-an-object"
    return o
