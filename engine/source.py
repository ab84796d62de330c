"""The post-copy source: a process of its own that serves the page image.

Source() binds the listening socket here (AF_UNIX by default, or TCP inside a
network namespace joined to this one by a veth pair with a netem link model,
engine.link) and forks the server (fa_source_spawn: C, no exec, so it serves at
once).  The local kind has no process: Source() writes the same image into a
file in /dev/shm, which the destination maps read-only, and removes it after
the run.
"""
import contextlib
import mmap
import os
import signal
import socket
import tempfile
import time

from engine import link
from engine._engine import ffi, lib

SHM = "/dev/shm"
TCP_PORT = 7411
BIND_TRIES = 50  # the veth address may still be settling (DAD is off, but be patient)


class SourceError(Exception):
    pass


def bind_tcp(host, port, tries=BIND_TRIES):
    """A TCP socket bound to host:port, retried while the address is not there yet."""
    for _ in range(tries):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return sock
        except OSError as e:
            sock.close()
            err = e
            time.sleep(0.1)
    raise SourceError(f"cannot bind {host}:{port} after {tries} tries: {err.strerror}")


class Source:
    """A running source process; use as a context manager (its options are checked by engine.config)."""

    def __init__(self, pages, seed, transport, delay_us, rate_mbit):
        self.pages, self.seed, self.transport = pages, seed, transport
        self.delay_us, self.rate_mbit = delay_us, rate_mbit
        self.pid = None  # none for the local source
        self._path = None
        self._tmp = None
        self._link = None

    def __enter__(self):
        if self.transport == "local":
            self._image()
            return self
        try:
            sock = self._listen()
        except BaseException:  # the link and the socket's directory go with any failure
            self.__exit__(None, None, None)
            raise
        with sock:
            sock.listen(128)
            pid = lib.fa_source_spawn(sock.fileno(), self.pages, self.seed)
        if pid < 0:
            self.__exit__(None, None, None)
            raise SourceError(f"cannot fork the source: {os.strerror(-pid)}")
        self.pid = pid
        return self

    def _listen(self):
        if self.transport == "unix":
            self._tmp = tempfile.TemporaryDirectory(prefix="fa-source-")
            path = os.path.join(self._tmp.name, "sock")
            self.addr = f"unix:{path}"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(path)
            return sock
        self._link = link.Link(delay_us=self.delay_us, rate_mbit=self.rate_mbit)
        self._link.up()
        self.addr = f"tcp:{link.SRC_ADDR}:{TCP_PORT}"
        with self._link.inside():
            return bind_tcp(link.SRC_ADDR, TCP_PORT)

    def _image(self):
        fd, path = tempfile.mkstemp(prefix="fa-image-", dir=SHM)
        self._path, self.addr = path, f"local:{path}"
        try:
            os.ftruncate(fd, self.pages * lib.FA_PAGE)
            with mmap.mmap(fd, self.pages * lib.FA_PAGE) as m:
                lib.fa_image_fill(ffi.from_buffer(m), self.pages, self.seed)
        except OSError as e:
            os.unlink(path)
            raise SourceError(f"cannot write the page image of {self.pages} pages to {path}: {e.strerror} "
                              f"(is {SHM} large enough?)") from None
        finally:
            os.close(fd)

    def kill(self):
        """Kill the source mid-run, as a crashed source host would be."""
        os.kill(self.pid, signal.SIGKILL)

    def __exit__(self, *exc):
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None
        if self._link:
            self._link.down()
        if self._tmp:
            self._tmp.cleanup()
        if self._path:
            os.unlink(self._path)
