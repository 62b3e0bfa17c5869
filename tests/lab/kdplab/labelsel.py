"""Kubernetes label and field selectors (the query-string syntax, not
Calico's selector language)."""

import re


class SelectorError(ValueError):
    pass


_REQ = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=|\bnotin\b|\bin\b|>|<)\s*(?P<val>.*?))?\s*$")


def _split(text):
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unbalanced ')' in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise SelectorError(f"unbalanced '(' in {text!r}")
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def parse_labels(text):
    """Returns a predicate over a labels dict, or None for 'everything'."""
    if not text or not text.strip():
        return None
    reqs = []
    for part in _split(text):
        m = _REQ.match(part)
        if not m:
            raise SelectorError(f"unable to parse requirement: {part!r}")
        key, op, val, neg = m["key"], m["op"], m["val"], m["neg"]
        if neg:
            if op:
                raise SelectorError(f"invalid requirement: {part!r}")
            reqs.append(lambda l, k=key: k not in l)
        elif not op:
            reqs.append(lambda l, k=key: k in l)
        elif op in ("in", "notin"):
            val = val.strip()
            if not (val.startswith("(") and val.endswith(")")):
                raise SelectorError(f"set requires parentheses: {part!r}")
            vals = {v.strip() for v in val[1:-1].split(",")}
            if op == "in":
                reqs.append(lambda l, k=key, s=vals: k in l and l[k] in s)
            else:
                reqs.append(lambda l, k=key, s=vals: l.get(k) not in s)
        elif op in ("=", "=="):
            reqs.append(lambda l, k=key, v=val: l.get(k) == v)
        elif op == "!=":
            reqs.append(lambda l, k=key, v=val: l.get(k) != v)
        else:
            try:
                num = int(val)
            except ValueError:
                raise SelectorError(f"{op} needs an integer: {part!r}")

            def cmp(l, k=key, n=num, gt=(op == ">")):
                try:
                    x = int(l[k])
                except (KeyError, ValueError):
                    return False
                return x > n if gt else x < n
            reqs.append(cmp)
    return lambda labels: all(r(labels) for r in reqs)


FIELD_OPS = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$")


def parse_fields(text, supported):
    """Returns a predicate over a fields dict, or None."""
    if not text or not text.strip():
        return None
    reqs = []
    for part in text.split(","):
        if not part.strip():
            continue
        m = FIELD_OPS.match(part)
        if not m:
            raise SelectorError(f"invalid field selector: {part!r}")
        key, op, val = m.groups()
        if key not in supported:
            raise SelectorError(f'field label not supported: {key}')
        if op == "!=":
            reqs.append(lambda f, k=key, v=val: f.get(k, "") != v)
        else:
            reqs.append(lambda f, k=key, v=val: f.get(k, "") == v)
    return lambda fields: all(r(fields) for r in reqs)


def object_fields(res, obj):
    """The selectable fields of an object."""
    meta = obj.get("metadata") or {}
    f = {"metadata.name": meta.get("name", "")}
    if res.namespaced:
        f["metadata.namespace"] = meta.get("namespace", "")
    if res.plural == "pods":
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        f["spec.nodeName"] = _s(spec.get("nodeName", ""))
        f["status.phase"] = _s(status.get("phase", ""))
        f["status.podIP"] = _s(status.get("podIP", ""))
        f["spec.serviceAccountName"] = _s(spec.get("serviceAccountName", ""))
    return f


def _s(v):
    return v if isinstance(v, str) else str(v)


def supported_fields(res):
    s = {"metadata.name", "metadata.namespace"}
    if res.plural == "pods":
        s |= {"spec.nodeName", "status.phase", "status.podIP",
              "spec.serviceAccountName"}
    return s
