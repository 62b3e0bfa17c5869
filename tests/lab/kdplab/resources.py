"""The resource types the API server stand-in serves, and their discovery
documents. Scopes follow calico-model.md section 1.0."""

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch",
         "update", "watch"]


class Resource:
    __slots__ = ("group", "version", "plural", "singular", "kind",
                 "namespaced", "short", "categories", "subresources", "core")

    def __init__(self, group, version, plural, kind, namespaced, short=(),
                 categories=(), subresources=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.singular = kind.lower()
        self.kind = kind
        self.namespaced = namespaced
        self.short = list(short)
        self.categories = list(categories)
        self.subresources = list(subresources)
        # Built-in types leave kind/apiVersion out of LIST items, like the
        # real API server does; CRD items carry them.
        self.core = group in ("", "networking.k8s.io")

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self):
        return (self.group, self.version, self.plural)

    def discovery(self):
        out = [{"name": self.plural, "singularName": self.singular,
                "namespaced": self.namespaced, "kind": self.kind,
                "verbs": VERBS}]
        if self.short:
            out[0]["shortNames"] = self.short
        if self.categories:
            out[0]["categories"] = self.categories
        for sub in self.subresources:
            out.append({"name": f"{self.plural}/{sub}", "singularName": "",
                        "namespaced": self.namespaced, "kind": self.kind,
                        "verbs": ["get", "patch", "update"]})
        return out


CALICO = "crd.projectcalico.org"

RESOURCES = [
    Resource("", "v1", "namespaces", "Namespace", False, ["ns"],
             subresources=["status"]),
    Resource("", "v1", "nodes", "Node", False, ["no"],
             subresources=["status"]),
    Resource("", "v1", "pods", "Pod", True, ["po"], ["all"],
             subresources=["status"]),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    Resource("", "v1", "events", "Event", True, ["ev"]),
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy",
             True, ["netpol"]),
    Resource(CALICO, "v1", "ippools", "IPPool", False),
    Resource(CALICO, "v1", "ipamblocks", "IPAMBlock", False),
    Resource(CALICO, "v1", "blockaffinities", "BlockAffinity", False),
    Resource(CALICO, "v1", "ipamconfigs", "IPAMConfig", False),
    Resource(CALICO, "v1", "networkpolicies", "NetworkPolicy", True),
    Resource(CALICO, "v1", "globalnetworkpolicies", "GlobalNetworkPolicy",
             False),
    Resource(CALICO, "v1", "tiers", "Tier", False),
    Resource(CALICO, "v1", "networksets", "NetworkSet", True),
    Resource(CALICO, "v1", "globalnetworksets", "GlobalNetworkSet", False),
    Resource(CALICO, "v1", "hostendpoints", "HostEndpoint", False),
]

BY_KEY = {r.key: r for r in RESOURCES}

# Group order matters to kubectl: with two "networkpolicies" resources the
# first group listed wins for the bare name, as with a real cluster where
# built-in groups come before CRD groups.
GROUPS = ["networking.k8s.io", CALICO]


def find(group, version, plural):
    return BY_KEY.get((group, version, plural))


def find_by_name(name):
    """Resolve 'pods', 'pod', 'po', 'ippools.crd.projectcalico.org'."""
    base, _, group = name.partition(".")
    hits = [r for r in RESOURCES
            if base in (r.plural, r.singular, *r.short)
            and (not group or r.group == group)]
    return hits[0] if hits else None


def api_versions():
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def api_group(group):
    vs = sorted({r.version for r in RESOURCES if r.group == group})
    gv = [{"groupVersion": f"{group}/{v}", "version": v} for v in vs]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group,
            "versions": gv, "preferredVersion": gv[0]}


def api_group_list():
    groups = []
    for g in GROUPS:
        d = api_group(g)
        del d["kind"], d["apiVersion"]
        groups.append(d)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group, version):
    rs = [r for r in RESOURCES if r.group == group and r.version == version]
    if not rs:
        return None
    items = []
    for r in rs:
        items.extend(r.discovery())
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": gv, "resources": items}


# ---- OpenAPI v3 ------------------------------------------------------------
# kubectl apply/create validate with --validate=strict by default. It skips
# client-side schema validation (which would need a full OpenAPI schema) when
# the OpenAPI v3 document shows that PATCH for the kind accepts the
# fieldValidation query parameter, and leaves validation to the server. So
# the documents only list PATCH operations with that parameter; no schemas.

def _gv_path(group, version):
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_index():
    gvs = sorted({(r.group, r.version) for r in RESOURCES})
    return {"paths": {_gv_path(g, v): {
        "serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash=kdplab1"}
        for g, v in gvs}}


def openapi_gv(path):
    rs = [r for r in RESOURCES if _gv_path(r.group, r.version) == path]
    if not rs:
        return None
    paths = {}
    for r in rs:
        ns = "namespaces/{namespace}/" if r.namespaced else ""
        paths[f"/{path}/{ns}{r.plural}/{{name}}"] = {"patch": {
            "operationId": f"patch{r.kind}",
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {
                "group": r.group, "version": r.version, "kind": r.kind},
            "parameters": [{"name": n, "in": "query", "uniqueItems": True,
                            "schema": {"type": "string"}}
                           for n in ("dryRun", "fieldManager",
                                     "fieldValidation")],
            "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0-kdplab"},
            "paths": paths, "components": {"schemas": {}}}
