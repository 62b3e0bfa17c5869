"""Patch formats the API server accepts: JSON merge patch (RFC 7386), JSON
patch (RFC 6902) and a strategic merge patch that covers what kubectl sends.

Strategic merge simplifications (documented in the report):
- merge keys are looked up by field name only (containers→name,
  ports→containerPort, ...), not by the full Go type of each path;
- lists whose field name is not in MERGE_KEYS are replaced, except the
  primitive lists in MERGE_PRIMITIVE (finalizers), which are merged as sets;
- supported directives: $patch: replace|delete|merge on maps and list items,
  $setElementOrder/<field>, $deleteFromPrimitiveList/<field>, $retainKeys.
"""

import copy

MERGE_KEYS = {
    "containers": "name", "initContainers": "name",
    "ephemeralContainers": "name", "volumes": "name", "env": "name",
    "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "ports": "containerPort", "imagePullSecrets": "name",
    "addresses": "type", "conditions": "type", "taints": "key",
    "ownerReferences": "uid", "hostAliases": "ip", "podIPs": "ip",
    "hostIPs": "ip", "secrets": "name", "images": "names",
}
MERGE_PRIMITIVE = {"finalizers"}


class PatchError(ValueError):
    pass


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge(target, patch):
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _smp_map(target if isinstance(target, dict) else {}, patch)


def _smp_map(target, patch):
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items()
                if k != "$patch"}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise PatchError(f"unknown patch directive {directive!r}")
    out = dict(target)
    retain = patch.get("$retainKeys")
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            drop = set(map(_hashable, v or []))
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field]
                              if _hashable(x) not in drop]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            res = _smp_map(out.get(k) if isinstance(out.get(k), dict)
                           else {}, v)
            if res is None:
                out.pop(k, None)
            else:
                out[k] = res
        elif isinstance(v, list):
            out[k] = _smp_list(k, out.get(k), v)
        else:
            out[k] = v
    for field, order in orders.items():
        if isinstance(out.get(field), list):
            out[field] = _reorder(field, out[field], order)
    if isinstance(retain, list):
        keep = set(retain)
        out = {k: v for k, v in out.items() if k in keep}
    return out


def _hashable(x):
    return x if isinstance(x, (str, int, float, bool, type(None))) else repr(x)


def _smp_list(field, current, patch):
    current = current if isinstance(current, list) else []
    key = MERGE_KEYS.get(field)
    if key and all(isinstance(x, dict) for x in patch):
        if any(x.get("$patch") == "replace" for x in patch):
            return [dict((k, v) for k, v in x.items() if k != "$patch")
                    for x in patch if x.get("$patch") != "replace"]
        out = [copy.deepcopy(x) for x in current]
        for item in patch:
            kv = item.get(key)
            idx = next((i for i, x in enumerate(out)
                        if isinstance(x, dict) and x.get(key) == kv), None)
            if item.get("$patch") == "delete":
                if idx is not None:
                    out.pop(idx)
                continue
            if idx is None:
                out.append(_smp_map({}, item))
            else:
                out[idx] = _smp_map(out[idx], item)
        return out
    if field in MERGE_PRIMITIVE:
        out = list(current)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    return copy.deepcopy(patch)


def _reorder(field, items, order):
    key = MERGE_KEYS.get(field)

    def ident(x):
        return x.get(key) if key and isinstance(x, dict) else _hashable(x)
    pos = {}
    for i, o in enumerate(order):
        pos[o.get(key) if key and isinstance(o, dict) else _hashable(o)] = i
    return sorted(items, key=lambda x: pos.get(ident(x), len(pos)))


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~")
            for p in path[1:].split("/")]


def _walk(doc, parts):
    for p in parts:
        if isinstance(doc, dict):
            if p not in doc:
                raise PatchError(f"path element {p!r} not found")
            doc = doc[p]
        elif isinstance(doc, list):
            try:
                doc = doc[int(p)]
            except (ValueError, IndexError):
                raise PatchError(f"bad list index {p!r}")
        else:
            raise PatchError(f"cannot descend into scalar at {p!r}")
    return doc


def _remove(doc, parts):
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    try:
        if isinstance(parent, dict):
            return parent.pop(last)
        return parent.pop(int(last))
    except (KeyError, ValueError, IndexError, AttributeError):
        raise PatchError(f"cannot remove {'/'.join(parts)}")


def _add(doc, parts, value):
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise PatchError(f"bad list index {last!r}")
            if i < 0 or i > len(parent):
                raise PatchError(f"list index {i} out of range")
            parent.insert(i, value)
    else:
        raise PatchError("cannot add into a scalar")
    return doc


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("JSON patch must be an array of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, parts = op["op"], _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            if not parts:
                doc = copy.deepcopy(op.get("value"))
            else:
                _remove(doc, parts)
                doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            val = _remove(doc, src) if kind == "move" else \
                copy.deepcopy(_walk(doc, src))
            doc = _add(doc, parts, val)
        elif kind == "test":
            if _walk(doc, parts) != op.get("value"):
                raise PatchError(f"test failed at {op['path']}")
        else:
            raise PatchError(f"unknown op {kind!r}")
    return doc
