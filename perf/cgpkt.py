#!/usr/bin/python3
"""Instructions per packet of a kdp scenario, counted by callgrind.

On this machine the rate of a build follows the instructions its worker
runs per packet (perf/PROFILE.md, round 8), and callgrind counts them
exactly, whatever the host's load does. This runs kdp under
`valgrind --tool=callgrind --toggle-collect=dp_worker_main` on a scenario's
config (perf/out/kdp/SCENARIO/kdp.json, which perf/scenarios/kdp.py and
`make bench` write: check the pcap it names, as the last job to run a
scenario leaves its flow count there), stops it after --secs and prints

    packets                 PL_BURST x the calls of pl_process_burst (the
                            source fills every burst)
    total                   every instruction of the worker thread / packet
    pl_process_burst        the pipeline, inclusive / packet
    pl_ctx_flush            the tx flush (mostly the sink's PMD) / packet
    acl_ct_sweep            conntrack aging / packet: paced in time, so
                            inflated under callgrind (see below)
    total - sweep           the figure to compare builds by

and, with --lines N, the N source lines that cost pl_process_burst the
most instructions of its own per packet (callgrind --dump-instr=yes,
addresses mapped to lines with objdump -l).

    /usr/bin/python3 perf/cgpkt.py perf/out/kdp/encap_pol1k [--bin build/dp/main/kdp] [--secs 20] [--lines 30]

Runs of 20 s repeat within about one instruction a packet. EAL runs with
--no-huge, so it does not need the hugepages the benchmarks hold.
"""

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def calls_and_costs(text, fn_own=None):
    """Parse a callgrind output: (calls per called function name,
    inclusive cost per caller->callee is not needed; own cost per
    instruction address of the functions named @fn_own or @fn_own + "_"
    + a variant (pipeline/burst.h) when given, and the totals line).
    Costs are of the first event (Ir)."""
    names = {}
    calls = collections.Counter()
    own = collections.Counter()
    positions = ["line"]
    cur = None
    callee = None
    skip = False
    last = [0, 0]
    total = None
    for line in text.split("\n"):
        if line.startswith("positions:"):
            positions = line.split()[1:]
            continue
        if line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1])
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            name = names.get(m.group(2), m.group(2))
            if m.group(1) == "fn":
                cur = name
            else:
                callee = name
            continue
        m = re.match(r"^calls=(\d+)", line)
        if m:
            calls[callee] += int(m.group(1))
            skip = True
            continue
        if not line or not (line[0].isdigit() or line[0] in "+-*"):
            continue
        parts = line.split()
        vals = []
        for i, p in enumerate(parts[:len(positions)]):
            if p == "*":
                v = last[i]
            elif p[0] in "+-":
                v = last[i] + int(p, 0)
            else:
                v = int(p, 0)
            vals.append(v)
        last = vals + last[len(vals):]
        if skip:  # the inclusive cost of the call just named
            skip = False
            continue
        if fn_own and cur and (cur == fn_own or cur.startswith(fn_own + "_")) \
                and len(parts) > len(positions):
            own[vals[0]] += int(parts[len(positions)])
    return calls, own, total


def inclusive(out_file, fn):
    """Inclusive Ir of @fn (callgrind_annotate --inclusive=yes)."""
    rep = subprocess.run(["callgrind_annotate", "--inclusive=yes", out_file],
                         capture_output=True, text=True).stdout
    for line in rep.split("\n"):
        m = re.match(r"\s*([\d,]+) .*[:/]" + re.escape(fn) + r"(\s|$)", line)
        if m:
            return int(m.group(1).replace(",", ""))
    return 0


def by_line(binary, fn, own, packets, n):
    """Own instructions of @fn per packet by source line."""
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-l",
                          f"--disassemble={fn}", binary],
                         capture_output=True, text=True).stdout
    src = "?"
    cost = collections.Counter()
    for line in dis.split("\n"):
        m = re.match(r"\s*([0-9a-f]+):\s", line)
        if m:
            cost[src] += own.get(int(m.group(1), 16), 0)
        elif line.startswith("/"):
            src = os.path.normpath(line.strip().split(" ")[0])
    for s, c in cost.most_common(n):
        print(f"  {c / packets:7.2f}  {s}")


def pl_burst(binary):
    """PL_BURST of the tree that built @binary (pipeline/pipeline.h in a
    directory above it), else of this one."""
    d = os.path.dirname(os.path.abspath(binary))
    for _ in range(6):
        h = os.path.join(d, "pipeline", "pipeline.h")
        if os.path.exists(h):
            break
        d = os.path.dirname(d)
    else:
        h = os.path.join(ROOT, "pipeline", "pipeline.h")
    with open(h) as f:
        return int(re.search(r"#define PL_BURST (\d+)", f.read()).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config_dir")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/dp/main/kdp"))
    ap.add_argument("--secs", type=float, default=20.0)
    ap.add_argument("--lines", type=int, default=0)
    ap.add_argument("--burst", type=int, default=0,
                    help="the binary's PL_BURST (default: read from the "
                    "source tree above it, else this one's)")
    ap.add_argument("--eal", action="append", default=[],
                    help="one more EAL argument (repeatable), e.g. "
                    "--eal=--force-max-simd-bitwidth=128 for the base build")
    a = ap.parse_args()
    cfg = os.path.join(a.config_dir, "kdp.json")
    if not os.path.exists(cfg):
        sys.exit(f"cgpkt: no {cfg}: run the scenario first "
                 "(perf/scenarios/kdp.py or make bench)")
    with open(cfg) as f:
        for m in re.finditer(r"rx_pcap=([^,\"]+)", f.read()):
            print(f"source: {os.path.basename(m.group(1))}")
    tmp = tempfile.mkdtemp(prefix="kdp-cgpkt-")
    out = os.path.join(tmp, "callgrind.out")
    cmd = ["valgrind", "--tool=callgrind", "--toggle-collect=dp_worker_main",
           f"--callgrind-out-file={out}"]
    if a.lines:
        cmd.append("--dump-instr=yes")
    cmd += [os.path.abspath(a.bin), "-l", "0,1", "--file-prefix",
            f"cgpkt{os.getpid()}", "--no-huge", "-m", "1024", "--no-pci",
            "--log-level", "lib.eal:notice"] + a.eal + [
            "--", "--config", "kdp.json"]
    with open(os.path.join(tmp, "kdp.log"), "w") as log:
        p = subprocess.Popen(cmd, cwd=a.config_dir, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT)
        time.sleep(a.secs)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=600)
    if not os.path.exists(out):
        sys.exit(f"cgpkt: callgrind wrote nothing; see {tmp}/kdp.log")
    with open(out) as f:
        calls, own, total = calls_and_costs(
            f.read(), "pl_process_burst" if a.lines else None)
    packets = (a.burst or pl_burst(a.bin)) * calls["pl_process_burst"]
    if packets == 0 or total is None:
        sys.exit("cgpkt: no packets forwarded")
    sweep = inclusive(out, "acl_ct_sweep")
    print(f"packets           {packets}")
    print(f"total             {total / packets:.1f}")
    for fn in ("pl_process_burst", "pl_ctx_flush"):
        print(f"{fn:<17} {inclusive(out, fn) / packets:.1f}")
    # The sweep is paced in time (acl_ct_housekeep()), and callgrind runs
    # the worker some 50 times slower: per packet it costs that much more
    # here than at speed, and more again when the host is busy.
    print(f"acl_ct_sweep      {sweep / packets:.1f}")
    print(f"total - sweep     {(total - sweep) / packets:.1f}")
    # pl_process_burst() calls the variant of the per-burst code that
    # the worker runs (pipeline/burst.h): its own instructions are those.
    variant = max((f for f in calls if f.startswith("pl_process_burst_")),
                  key=lambda f: calls[f], default="pl_process_burst")
    print(f"variant           {variant}")
    if a.lines:
        print(f"{variant}'s own instructions / packet, by line:")
        by_line(a.bin, variant, own, packets, a.lines)


if __name__ == "__main__":
    main()
