"""Python mirror of kmod/fault_area_uapi.h: the one place it is mirrored.

tests/host/test_uapi.py compiles the C header and checks that every size,
offset and ioctl number here matches it.
"""
import ctypes

DEVICE_PATH = "/dev/fault_area"
MAP_COPY = 1 << 0
PREPARE_KWAIT = 1 << 0
PREPARE_UWAIT = 1 << 1
EV_KERNEL = 1 << 0
EV_WRITE = 1 << 1


class Prepare(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("len", ctypes.c_uint64), ("signo", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("prepared", ctypes.c_uint64)]


class Map(ctypes.Structure):
    _fields_ = [("dst", ctypes.c_uint64), ("src", ctypes.c_uint64), ("len", ctypes.c_uint64),
                ("flags", ctypes.c_uint64), ("mapped", ctypes.c_int64)]


class Range(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("len", ctypes.c_uint64)]


class Stats(ctypes.Structure):
    _fields_ = [("pages_prepared", ctypes.c_uint64), ("pages_mapped", ctypes.c_uint64),
                ("user_faults", ctypes.c_uint64), ("kernel_faults", ctypes.c_uint64),
                ("map_errors", ctypes.c_uint64)]


class Gup(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("npages", ctypes.c_uint64), ("pinned", ctypes.c_int64)]


class Iovec(ctypes.Structure):
    _fields_ = [("dst", ctypes.c_uint64), ("src", ctypes.c_uint64), ("len", ctypes.c_uint64)]


class Mapv(ctypes.Structure):
    _fields_ = [("vec", ctypes.c_uint64), ("count", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("mapped", ctypes.c_int64)]


MAPV_MAX = 1024


class Event(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("tid", ctypes.c_uint32), ("flags", ctypes.c_uint32)]


# asm-generic/ioctl.h encoding: dir << 30 | size << 16 | type << 8 | nr
_WRITE, _READ = 1, 2
MAGIC = 0xFA


def _ioc(direction, nr, struct):
    return (direction << 30) | (ctypes.sizeof(struct) << 16) | (MAGIC << 8) | nr


IOC_PREPARE = _ioc(_READ | _WRITE, 0x01, Prepare)
IOC_MAP = _ioc(_READ | _WRITE, 0x02, Map)
IOC_RELEASE = _ioc(_WRITE, 0x03, Range)
IOC_STATS = _ioc(_READ, 0x04, Stats)
IOC_GUP = _ioc(_READ | _WRITE, 0x05, Gup)
IOC_MAPV = _ioc(_READ | _WRITE, 0x06, Mapv)

STRUCTS = {"fa_prepare": Prepare, "fa_map": Map, "fa_range": Range, "fa_stats": Stats, "fa_gup": Gup,
           "fa_iovec": Iovec, "fa_mapv": Mapv, "fa_event": Event}
IOCTLS = {"FA_IOC_PREPARE": IOC_PREPARE, "FA_IOC_MAP": IOC_MAP, "FA_IOC_RELEASE": IOC_RELEASE,
          "FA_IOC_STATS": IOC_STATS, "FA_IOC_GUP": IOC_GUP, "FA_IOC_MAPV": IOC_MAPV}
