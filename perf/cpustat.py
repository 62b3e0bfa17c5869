"""On-CPU time of a DPDK program's forwarding threads (from /proc).

Shared by runner.measure (ns per packet beside every rate) and cycles.py.
The run time in /proc/PID/task/TID/schedstat stops while the thread is
preempted, so time / packets is what the packets cost the thread, robust
to the other load on a shared machine (as long as the thread is always
busy: a thread that polls empty queues counts its idle polls too).
"""

import os


def fwd_threads(pid, n=1):
    """Thread ids of the forwarding lcores: DPDK 22.11 names worker threads
    rte-worker-N (later releases lcore-worker-N); a program forwarding on its
    main lcore (l3fwd -l 1) forwards on the process's main thread."""
    tids = []
    for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().startswith(("rte-worker", "lcore-worker")):
                tids.append(int(tid))
    return tids[:n] or [pid]


def oncpu_ns(pid, tids):
    """Sum of the threads' on-CPU time (ns), from /proc/.../schedstat."""
    total = 0
    for t in tids:
        with open(f"/proc/{pid}/task/{t}/schedstat") as f:
            total += int(f.read().split()[0])
    return total


def life_share(pid, tids):
    """Mean share of wall time the threads ran since they started (their
    on-CPU time / their age): scales a busy time measured with the TSC
    (which keeps counting while a thread is preempted) to on-CPU time."""
    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as f:
        now = float(f.read().split()[0])
    shares = []
    for t in tids:
        with open(f"/proc/{pid}/task/{t}/stat") as f:
            # comm may hold spaces: fields after the last ')'.
            start = int(f.read().rsplit(")", 1)[1].split()[19]) / hz
        with open(f"/proc/{pid}/task/{t}/schedstat") as f:
            run = int(f.read().split()[0]) / 1e9
        shares.append(min(1.0, run / max(now - start, 1e-3)))
    return sum(shares) / len(shares)
