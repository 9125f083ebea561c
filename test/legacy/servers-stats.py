#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Description: reads an `xos-run --stats=FILE` report of a run where servers
# and their clients were all managed, and says what became of every TCP
# connection end (a channel of kind tcp that moved bytes; listening sockets
# and connects that never got through move none): stayed on a ring to the
# end, moved back to the kernel (and why), or never went on a ring (and
# why, when the report says).  With --require-rings it exits 1 unless every
# connection end stayed on its ring and carried its bytes there.
import json
import sys
from collections import Counter


def why_not_upgraded(c):
    """The reason the report gives for a channel that never went on a ring."""
    for key in sorted(c):
        if key != "downgrade_reason" and ("reason" in key or "why" in key) and c[key]:
            return str(c[key])
    return c.get("downgrade_reason") or "no reason recorded"


def main(argv):
    require = "--require-rings" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 1:
        print("usage: servers-stats.py STATS.json [--require-rings]", file=sys.stderr)
        return 2
    with open(paths[0]) as f:
        d = json.load(f)
    conns = [c for c in d["channels"] if c["kind"] == "tcp" and
             c["ring_bytes"] + c["kernel_bytes_written"] + c["kernel_bytes_read"] +
             c.get("kernel_bytes_before_ring", 0) > 0]
    # Both ends of a connection share one ring, but only the end that made
    # it move back counts the downgrade: the other one shows kernel bytes.
    kernel = [c for c in conns if c["kernel_bytes_written"] + c["kernel_bytes_read"] > 0]
    stayed = [c for c in conns if c["upgraded"] > 0 and c["downgraded"] == 0 and c not in kernel]
    moved = Counter(c["downgrade_reason"] or "no reason recorded" for c in conns if c["downgraded"] > 0)
    with_peer = sum(1 for c in conns if c["upgraded"] > 0 and c["downgraded"] == 0 and c in kernel)
    never = Counter(why_not_upgraded(c) for c in conns if c["upgraded"] == 0)
    # A ring ends with its connection when the peer closes; what the other
    # end wrote after that went to the kernel, for nobody (as natively).
    ended = [c for c in conns if c.get("peer_closed")]
    dead_bytes = sum(c.get("kernel_bytes_after_peer_closed", 0) for c in conns)
    ring_bytes = sum(c["ring_bytes"] for c in conns)
    kernel_bytes = sum(c["kernel_bytes_written"] for c in conns)
    # Written on the kernel socket before the connection's accept let the
    # end join its ring (its reader took them from there first).
    before = sum(c.get("kernel_bytes_before_ring", 0) for c in conns)
    print("%d of %d connection ends stayed on rings to the end (%d bytes through rings, %d through the kernel, "
          "%d of them before the ring)" % (len(stayed), len(conns), ring_bytes, kernel_bytes + before, before))
    for why, n in moved.most_common():
        print("  %d moved back to the kernel: %s" % (n, why))
    if ended:
        print("  %d of them ended when their peer closed (then %d bytes written for nobody)" % (len(ended), dead_bytes))
    if with_peer:
        print("  %d moved back with the other end of their connection" % with_peer)
    for why, n in never.most_common():
        print("  %d never on a ring: %s" % (n, why))
    if not require:
        return 0
    return 0 if conns and len(stayed) == len(conns) and kernel_bytes == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
