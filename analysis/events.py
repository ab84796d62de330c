"""Trace events as columns: one NumPy structured array per run, one row per
event, read from trace.jsonl in chunks (never a list of every event).

Columns: the common fields (run, ts_ns, lat_ns, cpu, tgid, tid), comm as an
index into `strings`, probe as its index in tracing.probes.PROBES, and one
column per field role of the catalog (address, length, return, ...): a
probe's field lands in the column of its role, 0 where the probe has no
such field (has(role) tells which rows do).  Readers select rows with masks
and read roles; at(i) and event(i) give one row back as a dict.
"""
import json
import operator

import numpy as np

from tracing import probes

PAGE = 4096
COMMON = (("run", np.int32), ("ts_ns", np.int64), ("lat_ns", np.int64), ("cpu", np.int32), ("tgid", np.int32),
          ("tid", np.int32), ("comm", np.int32), ("probe", np.uint8))
ROLE_DTYPE = {"return": np.int64, "caller": np.int32, "signo": np.uint32, "target": np.uint32}
DTYPE = np.dtype(list(COMMON) + [(r, ROLE_DTYPE.get(r, np.uint64)) for r in probes.ROLES])
# HAS[role][probe index]: the probe has a field of that role
HAS = {r: np.array([p.field(r) is not None for p in probes.PROBES]) for r in probes.ROLES}
COMMON_KEYS = ("ts_ns", "cpu", "tgid", "tid", "comm")  # read from every event ("run" may be absent)
_PROBE = operator.itemgetter("probe")
CHUNK = 16384  # lines parsed at a time: bounds the dicts alive at once


class TraceError(ValueError):
    pass


class Events:
    """Rows of a structured array (DTYPE) and the string table its comm and caller columns index."""

    def __init__(self, rows, strings):
        self.rows, self.strings = rows, strings

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, column):
        return self.rows[column]

    def where(self, mask):
        return Events(self.rows[mask], self.strings)

    def of(self, *names):
        """Mask: rows of these probes."""
        return np.isin(self.rows["probe"], [probes.PROBE_ID[n] for n in names])

    def has(self, role):
        """Mask: rows whose probe has a field of this role."""
        return HAS[role][self.rows["probe"]]

    @property
    def entry(self):
        """Entry time of each row (ts_ns is the return for probes with a return half)."""
        return self.rows["ts_ns"] - self.rows["lat_ns"]

    def touches(self, page):
        """Mask: the row's address, with its length or pages when it has them, covers this page."""
        a = self.rows["address"]
        size = np.maximum(self.rows["length"], self.rows["pages"] * PAGE)
        return self.has("address") & (a // PAGE * PAGE <= page) & (page < a + np.maximum(size, 1))

    def name(self, i):
        return probes.PROBES[self.rows["probe"][i]].name

    def at(self, i):
        """Row i as a dict of the common fields and its probe's roles (probe by name)."""
        r, p = self.rows[i], probes.PROBES[self.rows["probe"][i]]
        d = {k: int(r[k]) for k, _ in COMMON if k not in ("probe", "comm")}
        d |= {"probe": p.name, "comm": self.strings[r["comm"]], "entry": d["ts_ns"] - d["lat_ns"]}
        d |= {f.role: self.strings[r["caller"]] if f.role == "caller" else int(r[f.role]) for f in p.fields}
        return d

    def event(self, i):
        """Row i as the JSON event it was read from (tracing/SCHEMA.md)."""
        r, p = self.rows[i], probes.PROBES[self.rows["probe"][i]]
        d = {"ts_ns": int(r["ts_ns"]), "cpu": int(r["cpu"]), "tgid": int(r["tgid"]), "tid": int(r["tid"]),
             "comm": self.strings[r["comm"]], "probe": p.name}
        d |= {f.name: self.strings[r["caller"]] if f.role == "caller" else int(r[f.role]) for f in p.fields}
        if p.ret:
            d["lat_ns"] = int(r["lat_ns"])
        return d

    def records(self):
        return [self.at(i) for i in range(len(self))]

    @classmethod
    def from_dicts(cls, events, strings=None):
        """Events from JSON event dicts (each may carry "run")."""
        strings = [] if strings is None else strings
        rows = np.zeros(len(events), DTYPE)
        _fill(rows, events, strings, {s: i for i, s in enumerate(strings)})
        return cls(rows, strings)

    @classmethod
    def concat(cls, parts):
        """One Events of several (their string tables merged)."""
        strings, index, out = [], {}, []
        for part in parts:
            remap = np.array([index.setdefault(s, len(index)) for s in part.strings] or [0], np.int32)
            rows = part.rows.copy()
            rows["comm"] = remap[rows["comm"]]
            rows["caller"] = remap[rows["caller"]]
            out.append(rows)
        strings = list(index)
        return cls(np.concatenate(out) if out else np.zeros(0, DTYPE), strings)


def _fill(rows, events, strings, index):
    """Fill rows (as many as events) from event dicts, interning strings into strings/index.
    Per probe, one C-level itemgetter pass makes the columns (a per-value generator is 3x slower)."""
    def intern(s):
        i = index.get(s)
        if i is None:
            i = index[s] = len(strings)
            strings.append(s)
        return i

    by_probe = {}
    for i, name in enumerate(map(_PROBE, events)):
        by_probe.setdefault(name, []).append(i)
    for name, ids in by_probe.items():
        if name not in probes.PROBE_ID:
            raise TraceError(f"unknown probe {name!r}: tracing/probes.py names every probe of "
                             f"{probes.SCHEMA_VERSION}")
        p, idx = probes.probe(name), np.array(ids)
        sub = [events[i] for i in ids]
        keys = COMMON_KEYS + (("lat_ns",) if p.ret else ()) + tuple(f.name for f in p.fields)
        try:
            cols = list(zip(*map(operator.itemgetter(*keys), sub)))
        except KeyError as e:
            bad = next(ev for ev in sub if e.args[0] not in ev)
            raise TraceError(f"a {name} event lacks {e.args[0]!r}: {bad}") from None
        rows["probe"][idx] = probes.PROBE_ID[name]
        rows["run"][idx] = [e.get("run", 0) for e in sub]
        for key, col in zip(keys, cols):
            if key == "comm":
                rows["comm"][idx] = [intern(c) for c in col]
            elif key in COMMON_KEYS or key == "lat_ns":
                rows[key][idx] = np.array(col, rows.dtype[key])
        for f, col in zip(p.fields, cols[len(keys) - len(p.fields):]):
            if f.role == "caller":
                rows["caller"][idx] = [intern(str(c)) for c in col]
            else:
                rows[f.role][idx] = np.array(col, rows.dtype[f.role])


def read_jsonl(path):
    """trace.jsonl -> {run index: Events}; the rows of each run keep the file's order."""
    with open(path, "rb") as f:
        n = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    rows, strings, index, at = np.zeros(n, DTYPE), [], {}, 0
    with open(path) as f:
        while True:
            lines = [line for _, line in zip(range(CHUNK), f)]
            if not lines:
                break
            try:  # one parse per chunk: a JSON array of its lines
                chunk = json.loads("[" + ",".join(line for line in lines if line.strip()) + "]")
            except json.JSONDecodeError as e:
                raise TraceError(f"{path}: a line near event {at + 1} is not JSON ({e})") from None
            _fill(rows[at:at + len(chunk)], chunk, strings, index)
            at += len(chunk)
    rows = rows[:at]
    if np.any(np.diff(rows["run"]) < 0):  # runs are appended one after another; sort if not
        rows = rows[np.argsort(rows["run"], kind="stable")]
    runs, starts = np.unique(rows["run"], return_index=True)
    ends = list(starts[1:]) + [len(rows)]
    return {int(r): Events(rows[lo:hi], strings) for r, lo, hi in zip(runs, starts, ends)}
