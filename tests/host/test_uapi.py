"""The Python mirror (lab/uapi.py) matches kmod/fault_area_uapi.h, compiled by gcc."""
import ctypes
import subprocess

from lab import uapi
from lab.guest import REPO


def c_layout(tmp_path):
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "fault_area_uapi.h"', "int main(void) {"]
    for name, struct in uapi.STRUCTS.items():
        lines.append(f'printf("{name} %zu\\n", sizeof(struct {name}));')
        for field, _ in struct._fields_:
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof(struct {name}, {field}));')
    for name in uapi.IOCTLS:
        lines.append(f'printf("{name} %lu\\n", (unsigned long){name});')
    lines += ['printf("FA_MAP_COPY %llu\\n", (unsigned long long)FA_MAP_COPY);',
              'printf("FA_MAPV_MAX %d\\n", FA_MAPV_MAX);',
              'printf("FA_PREPARE_KWAIT %u\\n", FA_PREPARE_KWAIT);',
              'printf("FA_PREPARE_UWAIT %u\\n", FA_PREPARE_UWAIT);',
              'printf("FA_EV_KERNEL %u\\n", FA_EV_KERNEL);',
              'printf("FA_EV_WRITE %u\\n", FA_EV_WRITE);',
              'printf("FA_DEVICE_PATH %s\\n", FA_DEVICE_PATH);', "return 0; }"]
    src, exe = tmp_path / "layout.c", tmp_path / "layout"
    src.write_text("\n".join(lines))
    subprocess.run(["gcc", "-I", str(REPO / "kmod"), "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_mirror_matches_header(tmp_path):
    c = c_layout(tmp_path)
    for name, struct in uapi.STRUCTS.items():
        assert int(c[name]) == ctypes.sizeof(struct), f"sizeof(struct {name})"
        for field, _ in struct._fields_:
            assert int(c[f"{name}.{field}"]) == getattr(struct, field).offset, f"{name}.{field}"
    for name, value in uapi.IOCTLS.items():
        assert int(c[name]) == value, name
    assert int(c["FA_MAP_COPY"]) == uapi.MAP_COPY
    assert int(c["FA_MAPV_MAX"]) == uapi.MAPV_MAX
    for name in ("PREPARE_KWAIT", "PREPARE_UWAIT", "EV_KERNEL", "EV_WRITE"):
        assert int(c[f"FA_{name}"]) == getattr(uapi, name), name
    assert c["FA_DEVICE_PATH"] == uapi.DEVICE_PATH

