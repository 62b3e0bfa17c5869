"""Listeners and probes that run inside a pod's network namespace.

    serve.py tcp|udp PORT              serve until killed (TCP: accept and
                                       reply; UDP: echo)
    serve.py probe tcp|udp IP PORT T   exit 0 iff a connection (TCP) or an
                                       echoed datagram (UDP) succeeds within T s
    serve.py probes T PROTO:IP:PORT..  every probe at once; prints one line
                                       per probe: 1 (succeeded) or 0
"""
import socket
import sys
import threading


def serve_tcp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda c=c: (c.sendall(b"ok\n"), c.close()),
                         daemon=True).start()


def serve_udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def probe(proto, ip, port, timeout):
    if proto == "tcp":
        try:
            with socket.create_connection((ip, port), timeout=timeout):
                return 0
        except OSError:
            return 1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout / 3)
    for _ in range(3):
        try:
            s.sendto(b"probe", (ip, port))
            if s.recv(64) == b"probe":
                return 0
        except OSError:
            pass
    return 1


def probes(timeout, specs):
    """All at once, each in its own thread: a batch costs one timeout."""
    res = [1] * len(specs)

    def one(i, spec):
        proto, ip, port = spec.split(":")
        res[i] = probe(proto, ip, int(port), timeout)
    ts = [threading.Thread(target=one, args=(i, s)) for i, s in enumerate(specs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    sys.stdout.write("".join("%d\n" % (r == 0) for r in res))
    return 0


def main(argv):
    if argv[0] == "probes":
        return probes(float(argv[1]), argv[2:])
    if argv[0] == "probe":
        return probe(argv[1], argv[2], int(argv[3]), float(argv[4]))
    port = int(argv[1])
    (serve_tcp if argv[0] == "tcp" else serve_udp)(port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
