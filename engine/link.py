"""A migration link between two network namespaces: veth plus netem.

The source runs in namespace NS at SRC_ADDR; the destination stays in the
caller's namespace at DST_ADDR.  netem on both ends sets the one-way delay
and the rate, so a request and its page each cross one shaped link.
"""
import contextlib
import ctypes
import os
import subprocess

NS = "fa-src"
NS_PATH = f"/run/netns/{NS}"  # what ip netns add makes
CLONE_NEWNET = 0x40000000
DST_ADDR, SRC_ADDR = "10.250.0.1", "10.250.0.2"
DST_IF, SRC_IF = "fa-dst0", "fa-src0"


class LinkError(Exception):
    pass


def _ip(*cmd, check=True):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and r.returncode:
        raise LinkError(f"{' '.join(cmd)}: {r.stderr.strip()} (needs root, iproute2 and sch_netem)")
    return r


class Link:
    def __init__(self, delay_us=0, rate_mbit=0):
        self.delay_us, self.rate_mbit = delay_us, rate_mbit

    def netem(self):
        args = []
        if self.delay_us:
            args += ["delay", f"{self.delay_us}us"]
        if self.rate_mbit:
            args += ["rate", f"{self.rate_mbit}mbit"]
        return args

    def up(self):
        self.down()
        _ip("ip", "netns", "add", NS)
        _ip("ip", "link", "add", DST_IF, "type", "veth", "peer", "name", SRC_IF)
        _ip("ip", "link", "set", SRC_IF, "netns", NS)
        _ip("ip", "addr", "add", f"{DST_ADDR}/30", "dev", DST_IF)
        _ip("ip", "link", "set", DST_IF, "up")
        _ip("ip", "netns", "exec", NS, "ip", "addr", "add", f"{SRC_ADDR}/30", "dev", SRC_IF)
        _ip("ip", "netns", "exec", NS, "ip", "link", "set", SRC_IF, "up")
        _ip("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up")
        if self.netem():
            _ip("tc", "qdisc", "add", "dev", DST_IF, "root", "netem", *self.netem())
            _ip("ip", "netns", "exec", NS, "tc", "qdisc", "add", "dev", SRC_IF, "root", "netem", *self.netem())

    @contextlib.contextmanager
    def inside(self):
        """Run the block's socket calls in the source's namespace: setns moves only the calling
        thread, and a socket keeps the namespace it was made in."""
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            there = os.open(NS_PATH, os.O_RDONLY)
            try:
                if libc.setns(there, CLONE_NEWNET):
                    raise LinkError(f"setns({NS_PATH}): {os.strerror(ctypes.get_errno())} (needs root)")
            finally:
                os.close(there)
            try:
                yield
            finally:
                if libc.setns(own, CLONE_NEWNET):  # a thread left in the source's namespace would be worse
                    raise LinkError(f"setns back to this namespace: {os.strerror(ctypes.get_errno())}")
        finally:
            os.close(own)

    def down(self):
        _ip("ip", "link", "del", DST_IF, check=False)
        _ip("ip", "netns", "del", NS, check=False)
