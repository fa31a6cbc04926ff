"""Run a command inside an empty network namespace whose resolver answers every name NXDOMAIN.

    unshare -n -m python tests/e2e/nxdomain_resolver.py RESOLV_CONF COMMAND...

Inside the namespaces (network and mount, so the host is untouched): loopback is brought up,
RESOLV_CONF (written here: ``nameserver 127.0.0.1``) is bind-mounted over /etc/resolv.conf, and a
DNS responder on 127.0.0.1:53 answers every query "no such name". Then COMMAND runs; its exit code
is this script's. No lookup can leave the machine: the namespace has no other interface.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

_NXDOMAIN = 3


def _answer(query: bytes) -> bytes:
    """The query echoed as a response: QR set, RD copied, RA set, RCODE NXDOMAIN, no answers."""
    flags = 0x8000 | (int.from_bytes(query[2:4], "big") & 0x0100) | 0x0080 | _NXDOMAIN
    counts = query[4:6] + b"\x00\x00\x00\x00\x00\x00"  # the questions, and no other records
    return query[:2] + flags.to_bytes(2, "big") + counts + query[12:]


def _serve(server: socket.socket) -> None:
    while True:
        query, client = server.recvfrom(4096)
        if len(query) >= 12:
            server.sendto(_answer(query), client)


def main() -> int:
    resolv, command = Path(sys.argv[1]), sys.argv[2:]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n")
    subprocess.run(["mount", "--bind", str(resolv), "/etc/resolv.conf"], check=True)
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 53))
    threading.Thread(target=_serve, args=(server,), daemon=True).start()
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
