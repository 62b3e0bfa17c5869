"""kdp refuses bad configuration at start-up, naming the offending key.

Configuration is parsed right after EAL init and before any port or memory
pool, so these runs need no hugepages (--no-huge -m 64).

usage: test_config.py KDP_EXE SOURCE_ROOT [CASE...]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".",
                                "tests", "lib"))
import cluster  # noqa: E402
import kdprun  # noqa: E402


def expect_reject(exe, edit, key, words=()):
    with kdprun.Kdp(exe, cluster.three_nodes(), {"uplink": None, "x/a": None},
                    cfg_edit=edit, mem_mb=64, eal_extra=["--no-huge"],
                    tag="cfg") as k:
        t0 = time.time()
        k.start(wait_tel=False)
        rc = k.wait_exit(timeout=10)
        out = k.output()
        assert rc != 0, "kdp accepted the config:\n" + out
        assert time.time() - t0 < 5, "slow to fail"
        # The message names the key, as "<key>: ...".
        lines = [ln for ln in out.splitlines() if "kdp: config" in ln]
        assert lines, "no config error line:\n" + out
        assert key + ":" in lines[0], (key, lines[0])
        for w in words:
            assert w in lines[0], (w, lines[0])
        assert "port(s) started" not in out


def test_unknown_top_key(exe):
    expect_reject(exe, lambda c: c.update(uplnk={}), "uplnk", ["unknown key"])


def test_unknown_nested_key(exe):
    expect_reject(exe, lambda c: c["uplink"].update(mtux=1500), "uplink.mtux",
                  ["unknown key"])


def test_bad_uplink_mac(exe):
    expect_reject(exe, lambda c: c["uplink"].update(mac="02:00:00:00:0a"),
                  "uplink.mac", ["02:00:00:00:0a"])


def test_multicast_uplink_mac(exe):
    expect_reject(exe, lambda c: c["uplink"].update(mac="01:00:5e:00:00:01"),
                  "uplink.mac")


def test_bad_pod_mac(exe):
    expect_reject(exe, lambda c: c["pod_ports"][0].update(mac="zz:00:00:00:00:01"),
                  "pod_ports[0].mac")


def test_bad_neighbor_mac(exe):
    expect_reject(exe, lambda c: c["uplink"]["neighbors"].update(
        {"192.168.10.50": "nope"}), "uplink.neighbors.192.168.10.50")


def test_bad_datastore_type(exe):
    expect_reject(exe, lambda c: c["datastore"].update(type="etcd"),
                  "datastore.type", ["etcd"])


def test_too_many_pod_ports(exe):
    """More ports than the DPDK build has ethdevs (RTE_MAX_ETHPORTS, 32):
    refused at start, not after 31 ports were probed ("Cannot allocate
    memory" from ethdev)."""
    def edit(c):
        c["pod_ports"] += [{"pod": "x/n%d" % i,
                            "devargs": "net_null%d,no-rx=1" % (i + 10)}
                           for i in range(32 - len(c["pod_ports"]))]
    expect_reject(exe, edit, "pod_ports", ["RTE_MAX_ETHPORTS"])


def test_bad_service_cidr(exe):
    """host.service_cidrs: each an IPv4 network without host bits."""
    for bad in (["10.96.0.1/12"], ["10.96.0.0/33"], ["10.96.0.0"],
                ["0.0.0.0/0"], "10.96.0.0/12", [12]):
        expect_reject(exe, lambda c: c.update(host={
            "iface": "kdpcfghost", "service_cidrs": bad}),
            "host.service_cidrs")


def test_good_config_no_huge_starts(exe):
    """Control for the cases above: the unedited config gets past parsing
    (it fails later or runs, but never with a config error)."""
    with kdprun.Kdp(exe, cluster.three_nodes(), {"uplink": None, "x/a": None},
                    mem_mb=64, eal_extra=["--no-huge"], tag="cfg") as k:
        k.start(wait_tel=False)
        deadline = time.time() + 10
        while k.proc.poll() is None and "port(s) started" not in k.output():
            assert time.time() < deadline, k.output()
            time.sleep(0.05)
        assert "kdp: config" not in k.output(), k.output()


CASES = [test_unknown_top_key, test_unknown_nested_key, test_bad_uplink_mac,
         test_multicast_uplink_mac, test_bad_pod_mac, test_bad_neighbor_mac,
         test_bad_datastore_type, test_too_many_pod_ports,
         test_bad_service_cidr, test_good_config_no_huge_starts]

if __name__ == "__main__":
    sys.exit(kdprun.main(CASES))
