#!/bin/bash
# The real kubectl against the lab API server: create, apply, get (-o json,
# -w, -l, --field-selector, --chunk-size), patch (merge, strategic, json),
# delete; then authentication failures.
set -eu  # no pipefail: "| grep -q" may SIGPIPE the producer
here=$(cd "$(dirname "$0")" && pwd)
lab=${KDP_LAB:-$here/../../lab/kdp-lab}
dir=$(mktemp -d /tmp/kdp-kubectl-XXXXXX)
watch_pid=
cleanup() {
    [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
    "$lab" apiserver stop --dir "$dir" || true
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

url=$("$lab" apiserver start --dir "$dir")
export KUBECONFIG=$dir/kubeconfig HOME=$dir/home
k() { kubectl --request-timeout=10s "$@"; }
m=$here/manifests

k create namespace demo
k apply -f "$m/node.yaml" -f "$m/calico.yaml" -f "$m/pod.yaml"
k get nodes | grep -q '^worker-1 ' || fail "kubectl get nodes"
k get ippools.crd.projectcalico.org default-ipv4-ippool -o json >"$dir/pool.json"
grep -q '"cidr": "10.244.0.0/16"' "$dir/pool.json" || fail "ippool spec"
grep -q '"resourceVersion"' "$dir/pool.json" || fail "ippool rv"
k get ipamblocks -o json | grep -q '"affinity": "host:worker-1"' || fail ipamblock
[ "$(k get ipamconfigs default -o jsonpath='{.spec.strictAffinity}/{.spec.maxBlocksPerHost}')" = true/4 ] ||
    fail ipamconfig
k get globalnetworkpolicies.crd.projectcalico.org security.block-meta -o name |
    grep -q security.block-meta || fail gnp
k get networkpolicies.networking.k8s.io -n demo allow-web -o json |
    grep -q '"port": 6379' || fail netpol

# Re-apply with changes: kubectl computes a strategic merge patch from the
# last-applied annotation.
sed 's/image: nginx/image: nginx:2/; s/tier: front/tier: back/' "$m/pod.yaml" |
    k apply -f - | grep -q 'pod/web-0 configured' || fail "apply configured"
[ "$(k get pod -n demo web-0 -o jsonpath='{.spec.containers[0].image}/{.metadata.labels.tier}')" = nginx:2/back ] ||
    fail "apply update"

# get -w sees ADDED then MODIFIED while another kubectl patches.
k get pods -n demo --field-selector metadata.name=db-0 -w --output-watch-events \
    -o jsonpath='{.type} {.object.metadata.name} {.object.metadata.labels.z}{"\n"}' \
    >"$dir/watch.out" 2>&1 &
watch_pid=$!
for _ in $(seq 50); do grep -q ADDED "$dir/watch.out" && break; sleep 0.1; done
k patch pod -n demo db-0 --type merge -p '{"metadata":{"labels":{"z":"merged"}}}'
for _ in $(seq 50); do grep -q MODIFIED "$dir/watch.out" && break; sleep 0.1; done
kill "$watch_pid"; wait "$watch_pid" 2>/dev/null || true; watch_pid=
grep -q '^ADDED db-0 $' "$dir/watch.out" || fail "watch ADDED: $(cat "$dir/watch.out")"
grep -q '^MODIFIED db-0 merged$' "$dir/watch.out" || fail "watch MODIFIED"

# Strategic merge adds a container by name; merge patch on a CRD; JSON patch.
k patch pod -n demo web-0 -p '{"spec":{"containers":[{"name":"side","image":"busybox"}]}}'
[ "$(k get pod -n demo web-0 -o jsonpath='{.spec.containers[*].name}')" = "web side" ] ||
    fail "strategic merge of containers"
k patch ippool default-ipv4-ippool --type merge -p '{"spec":{"natOutgoing":false}}'
[ "$(k get ippool default-ipv4-ippool -o jsonpath='{.spec.natOutgoing}')" = false ] ||
    fail "merge patch on CRD"
k patch node worker-1 --type json -p '[{"op":"add","path":"/metadata/labels/zone","value":"a"}]'
k get nodes -l zone=a -o name | grep -q node/worker-1 || fail "json patch"

# Selectors and pagination.
[ "$(k get pods -A -l 'app in (web,db),app!=db' -o name)" = pod/web-0 ] || fail "label selector"
[ "$(k get pods -A --field-selector spec.nodeName=worker-2 -o name)" = pod/db-0 ] || fail "field selector"
k get pods -A --chunk-size=1 -v=6 2>"$dir/chunk.log" >"$dir/chunk.out"
grep -q 'continue=' "$dir/chunk.log" || fail "no continue request"
[ "$(grep -c -e web-0 -e db-0 "$dir/chunk.out")" = 2 ] || fail "chunked list"

# Create of an existing object, delete, namespace cascade.
k create -f "$m/node.yaml" 2>&1 | grep -q AlreadyExists || fail "create twice"
k delete pod -n demo db-0
k get pod -n demo db-0 2>&1 | grep -q NotFound || fail "delete"
k delete -f "$m/calico.yaml"
[ -z "$(k get ippools -o name)$(k get ipamconfigs -o name)" ] || fail "delete -f"
k delete namespace demo
[ -z "$(k get pods -A -o name)" ] || fail "namespace cascade"

# Authentication and authorization.
tok=$(awk -F, '$2=="kdp-viewer"{print $1}' "$dir/tokens")
code() { curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/ca.crt" "$@"; }
[ "$(code "$url/api/v1/nodes")" = 401 ] || fail "no credentials"
[ "$(code -H 'Authorization: Bearer nope' "$url/api/v1/nodes")" = 401 ] || fail "bad token"
[ "$(code -H "Authorization: Bearer $tok" "$url/api/v1/nodes")" = 200 ] || fail "ro token read"
[ "$(code -H "Authorization: Bearer $tok" -X DELETE "$url/api/v1/nodes/worker-1")" = 403 ] ||
    fail "ro token write"
k --context kdp-lab-readonly delete node worker-1 2>&1 | grep -q Forbidden || fail "kubectl ro"
k --context kdp-lab-token get nodes -o name | grep -q worker-1 || fail "token context"
KUBECONFIG=$dir/kubeconfig-files k get nodes -o name | grep -q worker-1 || fail "kubeconfig-files"
if k --server "$url" --certificate-authority "$dir/foreign-ca.crt" get nodes 2>"$dir/err"; then
    fail "wrong CA accepted"
fi
grep -q 'x509' "$dir/err" || fail "wrong CA: $(cat "$dir/err")"
for bad in expired foreign; do
    if k --client-certificate "$dir/$bad.crt" --client-key "$dir/$bad.key" \
        get nodes >/dev/null 2>&1; then
        fail "$bad client certificate accepted"
    fi
    [ "$(code --cert "$dir/$bad.crt" --key "$dir/$bad.key" "$url/api/v1/nodes")" != 200 ] ||
        fail "$bad cert via curl"
done
[ "$(code --cert "$dir/admin.crt" --key "$dir/admin.key" "$url/api/v1/nodes")" = 200 ] ||
    fail "admin cert"
echo ok
