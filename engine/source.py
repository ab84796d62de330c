"""The post-copy source as its own process (`python -m engine.serve`).

Source() starts it and stops it; it listens on an AF_UNIX socket by
default, or on TCP inside a network namespace joined to this one by a
veth pair with a netem link model (engine.link).  The local kind has no
process: Source() writes the same image into a file in /dev/shm, which the
destination maps read-only, and removes it after the run.
"""
import mmap
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from engine import link
from engine._engine import ffi, lib

SHM = "/dev/shm"
REPO = Path(__file__).resolve().parent.parent
TCP_PORT = 7411


class SourceError(Exception):
    pass


class Source:
    """A running source process; use as a context manager (its options are checked by engine.config)."""

    def __init__(self, pages, seed, transport, delay_us, rate_mbit):
        self.pages, self.seed, self.transport = pages, seed, transport
        self.delay_us, self.rate_mbit = delay_us, rate_mbit
        self.proc = None  # none for the local source
        self._path = None
        self._tmp = None
        self._link = None

    def __enter__(self):
        if self.transport == "local":
            self._image()
            return self
        cmd = [sys.executable, "-m", "engine.serve", "--pages", str(self.pages), "--seed", str(self.seed)]
        if self.transport == "unix":
            self._tmp = tempfile.TemporaryDirectory(prefix="fa-source-")
            path = os.path.join(self._tmp.name, "sock")
            self.addr = f"unix:{path}"
            cmd += ["--unix", path]
        else:
            self._link = link.Link(delay_us=self.delay_us, rate_mbit=self.rate_mbit)
            self._link.up()
            self.addr = f"tcp:{link.SRC_ADDR}:{TCP_PORT}"
            cmd = self._link.exec_prefix() + cmd + ["--tcp", f"{link.SRC_ADDR}:{TCP_PORT}"]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, PYTHONPATH=str(REPO)))
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.__exit__(None, None, None)
            raise SourceError(f"the source did not start (said {line!r}, status {self.proc.poll()})")
        return self

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
        self.proc.send_signal(signal.SIGKILL)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(10)
        if self._link:
            self._link.down()
        if self._tmp:
            self._tmp.cleanup()
        if self._path:
            os.unlink(self._path)
