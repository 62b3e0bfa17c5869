"""Certificates for the lab API server, made with the openssl CLI.

Files in DIR:
  ca.crt ca.key                 cluster CA
  server.crt server.key         127.0.0.1 / localhost (SAN)
  admin.crt admin.key           client cert CN=kdp-admin O=system:masters
  readonly.crt readonly.key     client cert CN=kdp-viewer O=kdp:read-only
  expired.crt expired.key       client cert signed by the CA, already expired
  foreign-ca.crt foreign-ca.key an unrelated CA
  foreign.crt foreign.key       client cert signed by the foreign CA
"""

import os
import subprocess


def _run(args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _ca(d, name, cn):
    _run(["req", "-x509", "-newkey", "ec", "-pkeyopt",
          "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
          "-out", f"{name}.crt", "-subj", f"/CN={cn}", "-days", "3650",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)


def _leaf(d, name, subj, ca, days, ext):
    _run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
          "-subj", subj], d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(ext)
    _run(["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt",
          "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", str(days),
          "-extfile", f"{name}.ext", "-out", f"{name}.crt"], d)
    os.unlink(os.path.join(d, f"{name}.csr"))
    os.unlink(os.path.join(d, f"{name}.ext"))


CLIENT_EXT = "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"


def ensure(d):
    """Creates the PKI once; later starts reuse it."""
    if os.path.exists(os.path.join(d, "foreign.crt")):
        return
    _ca(d, "ca", "kdp-lab-ca")
    _leaf(d, "server", "/CN=kdp-lab-apiserver", "ca", 3650,
          "keyUsage=critical,digitalSignature,keyEncipherment\n"
          "extendedKeyUsage=serverAuth\n"
          "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1\n")
    _leaf(d, "admin", "/O=system:masters/CN=kdp-admin", "ca", 3650,
          CLIENT_EXT)
    _leaf(d, "readonly", "/O=kdp:read-only/CN=kdp-viewer", "ca", 3650,
          CLIENT_EXT)
    # -days -1: notAfter lies one day before notBefore, i.e. in the past.
    _leaf(d, "expired", "/O=system:masters/CN=kdp-expired", "ca", -1,
          CLIENT_EXT)
    _ca(d, "foreign-ca", "kdp-foreign-ca")
    _leaf(d, "foreign", "/O=system:masters/CN=kdp-foreign", "foreign-ca",
          3650, CLIENT_EXT)
