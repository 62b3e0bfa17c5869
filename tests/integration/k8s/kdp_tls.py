#!/usr/bin/python3
"""Issue #3, point 3: TLS is verified by default and every credential
failure gives one clear log line naming its cause.

  wrong CA, expired client certificate, client certificate of another CA,
  bad token: kdp never syncs, so it never starts forwarding, and says why;
  insecure-skip-tls-verify: true: works, with a warning;
  a token revoked after the first sync: kdp says 401 and keeps forwarding
  on the tables it has."""

import os
import shutil
import sys
import tempfile
import time

from kdp_faults import Sampler, write_flow
from kdpk8s import Kdp, Lab, cluster, config, load, wait_for


def kubeconfig(lab, path, ca=None, insecure=False, cert=None, token=None):
    cluster_ = [f"    server: https://127.0.0.1:{lab.port}"]
    if ca:
        cluster_.append(f"    certificate-authority: {lab.path(ca)}")
    if insecure:
        cluster_.append("    insecure-skip-tls-verify: true")
    user = []
    if cert:
        user += [f"    client-certificate: {lab.path(cert + '.crt')}",
                 f"    client-key: {lab.path(cert + '.key')}"]
    if token:
        user.append(f"    token: {token}")
    text = ("apiVersion: v1\nkind: Config\n"
            "clusters:\n- name: c\n  cluster:\n" + "\n".join(cluster_) +
            "\nusers:\n- name: u\n  user:\n" +
            ("\n".join(user) if user else "    {}") +
            "\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
            "    user: u\ncurrent-context: x\n")
    with open(path, "w") as f:
        f.write(text)
    return path


# name → (kubeconfig arguments, words the error line must hold)
FAILS = {
    "wrong-ca": (dict(ca="foreign-ca.crt", cert="admin"),
                 ["server certificate not trusted"]),
    "expired-cert": (dict(ca="ca.crt", cert="expired"),
                     ["client certificate", "expired"]),
    "foreign-cert": (dict(ca="ca.crt", cert="foreign"),
                     ["client certificate", "unknown ca"]),
    "bad-token": (dict(ca="ca.crt", token="not-a-valid-token"),
                  ["unauthorized (401)", "token"]),
}


def error_line(log, words):
    for line in log.splitlines():
        low = line.lower()
        if all(w.lower() in low for w in words):
            return line
    return None


def main():
    work = tempfile.mkdtemp(prefix="kdp-k8s-tls-")
    flow = os.path.join(work, "flow.pcap")
    write_flow(flow)
    with Lab() as lab:
        load(lab, cluster.three_nodes())
        for name, (kw, words) in FAILS.items():
            kc = kubeconfig(lab, os.path.join(work, name + ".kubeconfig"),
                            **kw)
            with Kdp(work, config(kc), name) as kdp:
                ok = wait_for(lambda: error_line(kdp.log(), words), 10)
                assert ok, f"{name}: no error line with {words}; log:\n" \
                    f"{kdp.log()}"
                ds = kdp.ds()
                assert ds["synced"] == "no" and \
                    int(ds["publishes"]) == 0, ds
                assert "port(s) started" not in kdp.log()
            print(f"{name}: {error_line(kdp.log(), words).strip()}")

        # insecure-skip-tls-verify: no CA at all, works, warns.
        kc = kubeconfig(lab, os.path.join(work, "insecure.kubeconfig"),
                        insecure=True, cert="admin")
        with Kdp(work, config(kc), "insecure") as kdp:
            kdp.wait_published()
            assert "10.244.1.10/32 pod x/a" in kdp.routes()
            line = error_line(kdp.log(), ["insecure-skip-tls-verify",
                                          "NOT verified"])
            assert line, kdp.log()
            print(f"insecure: synced; {line.strip()}")

        # Synced first, then the token is revoked and the watches cut:
        # 401 is logged and reported, forwarding goes on.
        kc = kubeconfig(lab, os.path.join(work, "token.kubeconfig"),
                        ca="ca.crt", token=lab.token())
        cfg = config(kc, pod=f"net_pcap1,rx_pcap={flow},tx_pcap=/dev/null,"
                             f"infinite_rx=1")
        with Kdp(work, cfg, "revoked") as kdp:
            kdp.wait_published()
            sampler = Sampler(kdp.prefix)
            sampler.start()
            try:
                tokens = lab.path("tokens")
                with open(tokens) as f:
                    kept = [ln for ln in f if "kdp-admin" not in ln]
                with open(tokens, "w") as f:
                    f.writelines(kept)
                t0 = time.monotonic()
                lab.fault("drop-watches")
                words = ["unauthorized (401)"]
                assert wait_for(lambda: error_line(kdp.log(), words), 10), \
                    kdp.log()
                assert wait_for(lambda: "unauthorized" in
                                kdp.ds()["pods"]["last_error"], 10), \
                    kdp.ds()["pods"]
                time.sleep(1)
                sent, _ = sampler.check(t0, "token revoked")
            finally:
                sampler.finish()
            print(f"revoked token: {error_line(kdp.log(), words).strip()};"
                  f" forwarded {sent} more packets, no drops")
    shutil.rmtree(work, ignore_errors=True)   # kept when a check failed
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
