"""Baselines: what one core does with DPDK's own forwarding programs.

All read the same pcaps (net_pcap0, infinite_rx) and send to net_null0
(no-rx=1, so the sink feeds nothing back). testpmd io is the ceiling: it
touches no header. l3fwd LPM and ACL do what a router does per packet.
"""

import dataclasses
import os
import shutil

import gen_rules
import runner

TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"
SRC = "net_pcap0"
SINK = "net_null0"


@dataclasses.dataclass
class Ctx:
    size: int
    flows: int
    rules: int = 0            # ACL rule count, where it applies
    out: str = runner.OUT
    l3fwd: str = None         # path of the built l3fwd
    workers: int = 1          # kdp workers (scaling jobs)
    lcores: str = None        # EAL --lcores map when workers > 1
    max_flows: int = 0        # kdp's conntrack.max_flows (0: its default)


def _traffic(ctx):
    # Destinations in 198.18.1.0/24, which gen_rules routes to port 1.
    return runner.pcap("udp", ctx.size, ctx.flows, src_net="10.0.0.0/8",
                       dst_net=gen_rules.TRAFFIC_DST)


def _vdevs(ctx, pcap=None):
    return [f"{SRC},rx_pcap={pcap or _traffic(ctx)},infinite_rx=1",
            f"{SINK},no-rx=1"]


def testpmd_io(ctx):
    prefix = f"kdpbench-testpmd-{os.getpid()}"
    cmd = [TESTPMD] + runner.eal_args(prefix, vdevs=_vdevs(ctx)) + [
        "--", "--forward-mode=io", "--nb-cores=1", "--rxq=1", "--txq=1",
        "--auto-start", f"--total-num-mbufs={runner.NUM_MBUFS}"]
    return runner.Launch(cmd=cmd, prefix=prefix, sink=SINK, source=SRC)


def _rules(ctx):
    counts = [ctx.rules] if ctx.rules else []
    return gen_rules.generate(os.path.join(ctx.out, "rules"), counts)


def _l3fwd(ctx, lookup, v4, v6, pcap=None):
    if not ctx.l3fwd:
        raise RuntimeError("l3fwd not built (perf/build_l3fwd.sh)")
    prefix = f"kdpbench-l3fwd-{lookup}-{os.getpid()}"
    # l3fwd gives each lcore its own Tx queue and net_pcap has one, so l3fwd
    # runs with one lcore: core 1 is its main and only forwarding lcore; the
    # EAL control threads still go to core 0.
    cmd = [ctx.l3fwd] + runner.eal_args(prefix, lcores=str(runner.FWD_CORE),
                                        vdevs=_vdevs(ctx, pcap)) + [
        "--", "-p", "0x3", "--config", f"(0,0,{runner.FWD_CORE})",
        "--parse-ptype", f"--lookup={lookup}",
        f"--rule_ipv4={v4}", f"--rule_ipv6={v6}"]
    return runner.Launch(cmd=cmd, prefix=prefix, sink=SINK, source=SRC)


def l3fwd_lpm(ctx):
    r = _rules(ctx)
    return _l3fwd(ctx, "lpm", r["lpm_v4"], r["lpm_v6"])


def l3fwd_lpm_ipip(ctx):
    """l3fwd LPM on kdp's decap traffic (scenarios/kdp.py decap_pcap()):
    IPIP frames from node-b to node-a, routed by their outer destination.
    They are 20 bytes longer than the other baselines' frames, and the
    source's copy costs more per frame: kdp's decap is compared with this
    run on the same frames, as well as with l3fwd_lpm."""
    from scenarios import kdp  # it imports this module
    r = _rules(ctx)
    return _l3fwd(ctx, "lpm", r["lpm_v4"], r["lpm_v6"], kdp.decap_pcap(ctx))


def l3fwd_acl(ctx):
    if ctx.rules < 1:
        raise ValueError("l3fwd_acl needs a rule count")
    r = _rules(ctx)
    return _l3fwd(ctx, "acl", r[f"acl_v4_{ctx.rules}"], r["acl_v6"])
