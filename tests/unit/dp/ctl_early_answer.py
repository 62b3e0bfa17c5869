#!/usr/bin/python3
"""kdp-ctl reads the answer of a kdp that answers before reading the request.

kdp refuses a non-root peer as soon as it accepts the connection: it sends
the refusal and closes without reading. kdp-ctl writes its request right
after connecting, so its write can meet a closed peer. It used to die of
SIGPIPE there, printing nothing (podports' SO_PEERCRED check failed so,
once); the answer was waiting in its socket all along.

A stand-in server here answers and closes at once, and kdp-ctl must print
that answer and exit 1 every time (measured: the old kdp-ctl failed 226 of
300 tries, the fixed one none).

    ctl_early_answer.py PATH_OF_KDP_CTL
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading

TRIES = 200
ANSWER = b'{"ok":false,"error":"permission denied: root only"}\n'


def main():
    ctl = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "kdp.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(64)

        def serve():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                c.sendall(ANSWER)
                c.close()

        threading.Thread(target=serve, daemon=True).start()
        bad = []
        for _ in range(TRIES):
            r = subprocess.run([ctl, "--socket", path, "port", "list"],
                               capture_output=True, text=True, timeout=10)
            if not (r.returncode == 1 and "root only" in r.stdout):
                bad.append((r.returncode, r.stdout + r.stderr))
        srv.close()
    if bad:
        print(f"FAIL: {len(bad)} of {TRIES} runs lost the answer; first: "
              f"exit {bad[0][0]}, output {bad[0][1]!r}")
        return 1
    print(f"ok: kdp-ctl printed the early answer in {TRIES} of {TRIES} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
