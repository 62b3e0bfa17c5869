"""Just enough of Kubernetes' protobuf encoding to read the bodies kubectl's
typed clients send (kubectl create namespace/serviceaccount). The envelope
is 'k8s\\0' + runtime.Unknown{typeMeta, raw}; raw is decoded with a small
field table per kind. Kinds outside the table get 415."""

MAGIC = b"k8s\x00"


class ProtoError(ValueError):
    pass


def _varint(b, i):
    shift = val = 0
    while True:
        if i >= len(b):
            raise ProtoError("truncated varint")
        c = b[i]
        i += 1
        val |= (c & 0x7F) << shift
        if not c & 0x80:
            return val, i
        shift += 7


def fields(b):
    """Yields (field number, wire type, value) of one message."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ProtoError(f"unsupported wire type {wt}")
        yield num, wt, v


def _str(v):
    return v.decode()


def _map(out, name, v):
    kv = {n: _str(x) for n, _, x in fields(v)}
    out.setdefault(name, {})[kv.get(1, "")] = kv.get(2, "")


def _meta(b):
    m = {}
    for n, _, v in fields(b):
        if n in (1, 2, 3, 5, 6) and v:
            m[("name", "generateName", "namespace", None, "uid",
               "resourceVersion")[n - 1]] = _str(v)
        elif n == 11:
            _map(m, "labels", v)
        elif n == 12:
            _map(m, "annotations", v)
        elif n == 14:
            m.setdefault("finalizers", []).append(_str(v))
    return m


def _namespace(b):
    o = {}
    for n, _, v in fields(b):
        if n == 1:
            o["metadata"] = _meta(v)
        elif n == 2:
            fin = [_str(x) for k, _, x in fields(v) if k == 1]
            if fin:
                o["spec"] = {"finalizers": fin}
    return o


def _serviceaccount(b):
    o = {}
    for n, wt, v in fields(b):
        if n == 1:
            o["metadata"] = _meta(v)
        elif n == 4 and wt == 0:
            o["automountServiceAccountToken"] = bool(v)
    return o


DECODERS = {("v1", "Namespace"): _namespace,
            ("v1", "ServiceAccount"): _serviceaccount}


def decode(body):
    if not body.startswith(MAGIC):
        raise ProtoError("missing protobuf magic")
    tm, raw = {}, b""
    for n, _, v in fields(body[4:]):
        if n == 1:
            tm = {k: _str(x) for k, _, x in fields(v)}
        elif n == 2:
            raw = v
    av, kind = tm.get(1, ""), tm.get(2, "")
    dec = DECODERS.get((av, kind))
    if dec is None:
        raise ProtoError(f"protobuf bodies of {av}/{kind} are not supported")
    return {"apiVersion": av, "kind": kind, **dec(raw)}
