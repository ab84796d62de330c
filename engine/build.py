"""Build the C engine as a cffi extension (API mode): engine/_engine*.so.

Run by `make engine`; the cdef is engine/c/engine_api.h itself, so the C
interface is declared once.
"""
import shutil
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
C = HERE / "c"
SOURCES = ["engine.c", "backends.c", "ksteps.c", "after.c", "source.c"]


def main():
    ffi = FFI()
    ffi.cdef((C / "engine_api.h").read_text())
    ffi.set_source("_engine", '#include "engine_api.h"', sources=[str(C / s) for s in SOURCES],
                   include_dirs=[str(C)], libraries=["m", "pthread"],
                   extra_compile_args=["-O2", "-g", "-pthread", "-Wall", "-Wno-unused-parameter"])
    build = HERE.parent / "build" / "engine"
    so = Path(ffi.compile(tmpdir=str(build), verbose=False))
    for old in HERE.glob("_engine*.so"):
        old.unlink()
    shutil.copy(so, HERE / so.name)
    print(f"engine: built {HERE / so.name}")


if __name__ == "__main__":
    sys.exit(main())
