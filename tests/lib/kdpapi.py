"""kdp's pod-port API (docs/podapi.md) from Python: one JSON request per
connection on the root-only Unix socket, the answer read to EOF."""
import json
import socket


def call(sock_path, req, timeout=10.0):
    """Send @req (a dict) to the API socket @sock_path; the answer as a
    dict. Raises OSError when kdp does not answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(json.dumps(req).encode())
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    finally:
        s.close()
    return json.loads(out)
