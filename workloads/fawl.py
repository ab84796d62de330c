"""The workload file (.fawl): a program's first touches of its private anonymous pages.

Format fawl/1, gzip'd JSON Lines (workloads/README.md): the first line is the
header (metadata and the regions), then one line per first touch, in time order:
[t_ns, thread, region, page, write].  t_ns counts from the program's exec,
thread is a small index in order of first touch, page is the page's index in its
region.  load() checks everything it reads and names the line of what is wrong.
"""
import bisect
import dataclasses
import gzip
import hashlib
import json
from pathlib import Path

FORMAT = "fawl/1"
PAGE = 4096
REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "workloads"  # small recordings, committed
CACHE = REPO / "results" / "workloads"  # recordings made by `make run` from the recipes
GAP_PAGES = 256  # a run of more untouched pages (1 MiB) than this cuts a region in two
HEADER_KEYS = ("format", "name", "command", "kernel", "created", "duration_ns", "threads", "pages_touched",
               "lost", "regions")


class WorkloadError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Region:
    kind: str  # heap, stack (the main thread's), anon (an anonymous mapping: thread stacks, big mallocs)
    start: int  # the address of its first touched page
    pages: int


@dataclasses.dataclass(frozen=True)
class Touch:
    t_ns: int  # since the program's exec
    thread: int  # index, in order of first touch
    region: int
    page: int  # in the region
    write: bool


@dataclasses.dataclass
class Workload:
    name: str
    command: list
    kernel: str
    created: str
    duration_ns: int  # exec to exit
    lost: int  # events the recorder lost (a saved recording has none)
    regions: list  # Region
    touches: list  # Touch, in time order

    @property
    def threads(self):
        return 1 + max((t.thread for t in self.touches), default=-1)

    @property
    def pages(self):
        """Pages of the replay area: every region, one after the other."""
        return sum(r.pages for r in self.regions)

    def bases(self):
        """Each region's first page in the replay area."""
        out, n = [], 0
        for r in self.regions:
            out.append(n)
            n += r.pages
        return out

    def per_thread(self):
        """Per thread, its touches in order as (area page, gap_ns before it, write); the gap of a
        thread's first touch counts from the exec (the replay starts all threads at once)."""
        bases, last, out = self.bases(), {}, [[] for _ in range(self.threads)]
        for t in self.touches:
            out[t.thread].append((bases[t.region] + t.page, t.t_ns - last.get(t.thread, 0), t.write))
            last[t.thread] = t.t_ns
        return out

    def compute_ns(self):
        """The sum of every thread's gaps: its compute time between exec and its last first touch."""
        return sum(g for seq in self.per_thread() for _, g, _ in seq)

    def header(self):
        return {"format": FORMAT, "name": self.name, "command": self.command, "kernel": self.kernel,
                "created": self.created, "duration_ns": self.duration_ns, "threads": self.threads,
                "pages_touched": len(self.touches), "lost": self.lost,
                "regions": [dataclasses.asdict(r) for r in self.regions]}


def save(wl, path):
    """Write wl to path (gzip'd JSON Lines); a recording that lost events is refused."""
    if wl.lost:
        raise WorkloadError(f"{wl.name}: the recorder lost {wl.lost} events; the recording is incomplete and "
                            "is not saved (record again, with a larger ring buffer)")
    check(wl, str(path))
    with gzip.open(path, "wt", compresslevel=9) as f:
        f.write(json.dumps(wl.header()) + "\n")
        for t in wl.touches:
            f.write(f"[{t.t_ns},{t.thread},{t.region},{t.page},{int(t.write)}]\n")


def check(wl, where):
    """Every rule a workload keeps; raise WorkloadError naming the touch (its line, 2 onwards) that breaks one."""
    if not wl.touches:
        raise WorkloadError(f"{where}: no touches: the program touched no private anonymous page")
    last = -1
    seen = set()
    for i, t in enumerate(wl.touches):
        problem = None
        if t.t_ns < last:
            problem = f"t_ns {t.t_ns} is before the previous touch's {last}; touches are in time order"
        elif not 0 <= t.region < len(wl.regions):
            problem = f"region {t.region} does not exist (there are {len(wl.regions)})"
        elif not 0 <= t.page < wl.regions[t.region].pages:
            problem = f"page {t.page} is outside region {t.region} of {wl.regions[t.region].pages} pages"
        elif (t.region, t.page) in seen:
            problem = (f"page {t.page} of region {t.region} is touched a second time; "
                       "a workload holds first touches only")
        if problem:
            raise WorkloadError(f"{where}:{i + 2}: {problem}")
        seen.add((t.region, t.page))
        last = t.t_ns
    threads = sorted({t.thread for t in wl.touches})
    if threads != list(range(len(threads))):
        raise WorkloadError(f"{where}: thread indexes {threads[:8]}... are not 0..{len(threads) - 1}")


def _lines(path, first_only=False):
    try:
        with gzip.open(path, "rt") as f:
            return [f.readline()] if first_only else f.read().splitlines()
    except (OSError, EOFError) as e:
        raise WorkloadError(f"{path}: cannot read the workload (a gzip'd fawl file): {e}") from None


def _header(path, line):
    try:
        head = json.loads(line) if line else None
    except json.JSONDecodeError as e:
        raise WorkloadError(f"{path}:1: the header is not JSON: {e}") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        found = head.get("format") if isinstance(head, dict) else None
        raise WorkloadError(f"{path}:1: not a {FORMAT} workload (format {found!r}); "
                            "record it again with python -m scenarios record")
    missing = [k for k in HEADER_KEYS if k not in head]
    if missing:
        raise WorkloadError(f"{path}:1: header lacks {', '.join(missing)}")
    return head


def _touch(row):
    t_ns, thread, region, page, write = row
    return Touch(int(t_ns), int(thread), int(region), int(page), bool(write))


def _touches(path, lines):
    """The touch lines (from line 2): parsed as one JSON document, which under TCG takes a fraction of
    a parse per line; when that fails, line by line, to name the line that is wrong."""
    try:
        rows = json.loads("[" + ",".join(lines) + "]")
        if len(rows) == len(lines):
            return [_touch(row) for row in rows]
    except (ValueError, TypeError):
        pass
    touches = []
    for n, line in enumerate(lines, 2):
        try:
            touches.append(_touch(json.loads(line)))
        except (ValueError, TypeError) as e:
            raise WorkloadError(f"{path}:{n}: not a touch [t_ns, thread, region, page, write]: {e}") from None
    return touches


def load(path):
    """A Workload from a .fawl file; WorkloadError naming the file, line and what is wrong."""
    path = Path(path)
    lines = _lines(path)
    head = _header(path, lines[0] if lines else "")
    touches = _touches(path, lines[1:])
    wl = Workload(name=head["name"], command=head["command"], kernel=head["kernel"], created=head["created"],
                  duration_ns=head["duration_ns"], lost=head["lost"],
                  regions=[Region(**r) for r in head["regions"]], touches=touches)
    check(wl, str(path))
    for key, value in (("pages_touched", len(touches)), ("threads", wl.threads)):
        if head[key] != value:
            raise WorkloadError(f"{path}:1: header says {key} {head[key]}, the touches give {value}")
    if wl.lost:
        raise WorkloadError(f"{path}:1: the recording lost {wl.lost} events; record it again")
    return wl


def area_pages(path):
    """The pages of the replay area of the workload at path, from its header alone (a fraction of load())."""
    return sum(r["pages"] for r in _header(Path(path), _lines(Path(path), first_only=True)[0])["regions"])


def find(name):
    """The path of workload NAME: workloads/NAME.fawl (shipped), else results/workloads/NAME.fawl (recorded)."""
    for d in (SHIPPED, CACHE):
        if (d / f"{name}.fawl").exists():
            return d / f"{name}.fawl"
    known = sorted({p.stem for d in (SHIPPED, CACHE) for p in d.glob("*.fawl")})
    raise WorkloadError(f"no workload {name!r} in {SHIPPED} or {CACHE}; known: {', '.join(known) or 'none'} "
                        "(record one: python -m scenarios record NAME -- CMD...)")


def from_faults(faults, t0_ns, **meta):
    """A Workload from the recorder's first-touch events: (t_ns, tid, addr, write, vm_start, vm_end, kind)
    with CLOCK_MONOTONIC times.  A run of overlapping VMAs (a heap that grew, mappings that merged) is cut
    where more than GAP_PAGES pages in a row were never touched, and each piece is trimmed to its first
    and last touched page: a region.  So the replay area keeps which touched pages are neighbours, without
    the untouched reserve of an allocator (xz -9 maps 674 MiB and touches 40 MiB of it sparsely).  A
    region's kind is its first VMA's; threads are numbered in order of their first touch."""
    faults = sorted(faults)
    spans = sorted({(f[4], f[5], f[6]) for f in faults})
    merged = []  # [start, end, kind]
    for start, end, kind in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, kind])
    vma_starts = [m[0] for m in merged]
    pieces = []  # [first page address, last page address, kind]
    for addr in sorted({f[2] for f in faults}):
        kind = merged[bisect.bisect_right(vma_starts, addr) - 1][2]
        same_vma = pieces and bisect.bisect_right(vma_starts, pieces[-1][1]) == bisect.bisect_right(vma_starts, addr)
        if same_vma and addr - pieces[-1][1] <= (GAP_PAGES + 1) * PAGE:
            pieces[-1][1] = addr
        else:
            pieces.append([addr, addr, kind])
    regions = [Region(kind, first, (last - first) // PAGE + 1) for first, last, kind in pieces]
    starts = [r.start for r in regions]
    threads, touches = {}, []
    for t_ns, tid, addr, write, *_ in faults:
        r = bisect.bisect_right(starts, addr) - 1
        touches.append(Touch(t_ns - t0_ns, threads.setdefault(tid, len(threads)), r,
                             (addr - regions[r].start) // PAGE, bool(write)))
    return Workload(regions=regions, touches=touches, **meta)


def digest(path):
    """sha256 of a workload file: a run names the recording it replayed."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
