"""RunConfig: every option of one engine run, declared once.

Each field carries an Option: its help, its range or choices, the scenario
YAML section it lives in, and the struct fa_cfg fields it fills.  From these
come the scenario schema and its docs (scenarios/schema.py), the session's
request to engine.worker, engine.run, the arguments of python -m engine, and
the struct fa_cfg handed to C.  validate() is the one check of every rule:
`scenarios check` runs it on the host (naming file:line), engine.run in the
guest.  The names of backends, patterns, kernel steps and after-migration
actions, and the slots of their figures, come from the FA_* constants of
engine/c/engine_api.h (through cffi): their numbers are written in C alone.
"""
import dataclasses

import workloads
from engine._engine import ffi, lib

# A constant's name gives the user's name (FA_B_UFFD_SIGBUS_MOVE: uffd-sigbus-move), except
# for a kernel step named after its syscall, which keeps the syscall's spelling.
SPELLING = {"FA_K_PROCESS_VM_READV": "process_vm_readv"}


def constants(prefix, sep="-"):
    """{name: value} of lib's `prefix*` constants, in value order."""
    found = {SPELLING.get(c, c[len(prefix):].lower().replace("_", sep)): getattr(lib, c)
             for c in dir(lib) if c.startswith(prefix)}
    return dict(sorted(found.items(), key=lambda kv: kv[1]))


BACKENDS = constants("FA_B_")
PATTERNS = constants("FA_P_")
KERNEL_STEPS = constants("FA_K_")
AFTER = constants("FA_AFTER_")
# each after-migration action's figures: name -> slot of after_vals (FA_AV_<ACTION>_<FIGURE>)
AFTER_VALS = {a: constants(f"FA_AV_{a.upper()}_", "_") for a in AFTER if a != "none"}
KMOD_BACKENDS = tuple(b for b in BACKENDS if b.startswith("kmod"))
AREA_KINDS = ("anon", "dev-zero")
SOURCE_KINDS = ("unix", "tcp", "local")
PUSH_ORDERS = ("sequential", "recorded")
TCP_ONLY = ("delay_us", "rate_mbit")
SECTIONS = ("area", "workload", "source", "prefetch")  # the scenario YAML sections that hold run options
# struct fa_cfg fields engine.run fills itself: the source, progress, and a replay's touches (engine.run.replay_fields)
RUNNER_FIELDS = ("source_addr", "progress_fd", "replay_touches", "replay_page", "replay_gap_ns", "replay_write",
                 "replay_first", "push_order")


class ConfigError(ValueError):
    """A run option that is not allowed: field (and index, for a kernel step) and why."""

    def __init__(self, field, msg, index=None):
        super().__init__(f"{field}{'' if index is None else f'[{index}]'}: {msg}")
        self.field, self.index, self.msg = field, index, msg


@dataclasses.dataclass(frozen=True)
class Option:
    help: str
    section: str = ""  # its scenario YAML section; "" for what the runner sets (not in YAML)
    key: str = ""  # its key there, when not the field's name
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed
    c: tuple = ()  # the struct fa_cfg fields it fills; () when Python uses it (source, session)
    to_c: object = None  # value -> the values of those fields; default: the value (bools as ints)
    session: bool = False  # applied by the scenario session around the run, not by engine.run

    def range_text(self):
        if self.low is None and self.high is None:
            return ""
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"


@dataclasses.dataclass(frozen=True)
class KernelStep:
    kind: str  # one of KERNEL_STEPS
    page: int  # area page it reaches while still missing


KERNEL_STEP_HELP = {"kind": "how the kernel reaches the page",
                    "page": "area page it reaches, while missing and again once placed"}


def _opt(default, help_, section="", **kw):
    return dataclasses.field(default=default, metadata={"option": Option(help_, section, **kw)})


def _steps_to_c(steps):
    pad = [0] * (lib.FA_MAX_KSTEPS - len(steps))
    return len(steps), [KERNEL_STEPS[s.kind] for s in steps] + pad, [s.page for s in steps] + pad


@dataclasses.dataclass(frozen=True)
class RunConfig:
    backend: str = dataclasses.field(metadata={"option": Option(
        "the fault-handling backend", choices=tuple(BACKENDS), c=("backend",), to_c=lambda v: (BACKENDS[v],))})
    pages: int = _opt(16384, "pages of 4 KiB in the destination area", "area", low=1, c=("pages",))
    threads: int = _opt(1, "vCPU threads touching the area (at most pages)", "workload", low=1,
                        high=lib.FA_MAX_THREADS, c=("threads",))
    pattern: str = _opt("sequential", "order of first touches", "workload", choices=tuple(PATTERNS),
                        c=("pattern",), to_c=lambda v: (PATTERNS[v],))
    thp: bool = _opt(False, "MADV_HUGEPAGE on the area (else MADV_NOHUGEPAGE)", "area", c=("thp",))
    tmp_thp: bool = _opt(False, "the push stream's and prefill's buffer is THP, so that 2 MiB of the source arrives "
                         "as one huge page and a batch of 512 can place it whole (needs source.batch 512)", "area",
                         c=("tmp_thp",))
    area: str = _opt("anon", "anon: MAP_ANONYMOUS; dev-zero: MAP_PRIVATE of /dev/zero", "area", key="kind",
                     choices=AREA_KINDS, c=("dev_zero",), to_c=lambda v: (int(v == "dev-zero"),))
    seed: int = _opt(1, "seed of the source image and of the pattern", "workload", low=0, c=("seed",))
    hot_fraction: float = _opt(0.1, "hot-set: share of pages that are hot", "workload", low=0, high=1,
                               low_open=True, c=("hot_fraction",))
    hot_probability: float = _opt(0.9, "hot-set: share of accesses that go to them", "workload", low=0, high=1,
                                  c=("hot_probability",))
    zipf_s: float = _opt(1.0, "zipf: exponent", "workload", low=0, low_open=True, c=("zipf_s",))
    accesses: int = _opt(0, "hot-set, zipf: accesses per thread (0: pages / threads)", "workload", low=0,
                         c=("accesses",))
    stride: int = _opt(7, "stride: step in pages", "workload", low=1, c=("stride",))
    kernel_steps: tuple = _opt((), f"kernel accesses to missing pages, before the vCPUs start (at most "
                               f"{lib.FA_MAX_KSTEPS}, pages inside the area)", "workload",
                               c=("nksteps", "ksteps", "kstep_pages"), to_c=_steps_to_c)
    kernel_wait: bool = _opt(False, "kmod backends: kernel accesses to missing pages wait for them "
                             "(FA_PREPARE_KWAIT), and a handler thread places the pages the file's fault events "
                             "name; else they fail at once (EFAULT), the seed's design", "workload",
                             c=("kernel_wait",))
    after: str = _opt("none", "what to do once every page is placed (kmod backends)", "workload",
                      choices=tuple(AFTER), c=("after",), to_c=lambda v: (AFTER[v],))
    replay: str = _opt("", "a recorded workload (workloads/README.md) whose threads, first-touch order and compute "
                       "gaps the vCPU threads follow, instead of the pattern; its regions make the area, so "
                       "area.pages and workload.threads come from it", "workload")
    prefill: bool = _opt(False, "place every page before the vCPUs start: the no-fault baseline of a replay",
                         "workload", c=("prefill",))
    timeout_s: float = _opt(60.0, "fail the run when no page is placed for this long", "workload", low=1,
                            c=("timeout_ms",), to_c=lambda v: (int(v * 1000),))
    max_map_count: int = _opt(0, "vm.max_map_count for the run, restored after (0: leave it; the session "
                              "sets it)", "workload", low=0, session=True)
    transport: str = _opt("unix", "unix: a source process behind a unix socket; tcp: the same through a veth pair "
                          "between namespaces; local: no network, the page image in a shared memory file that "
                          "the destination maps read-only, a fetch is a memcpy", "source", key="kind",
                          choices=SOURCE_KINDS)
    delay_us: int = _opt(0, "tcp: netem one-way delay, us", "source", low=0)
    rate_mbit: int = _opt(0, "tcp: netem rate, Mbit/s (0: unlimited)", "source", low=0)
    push: bool = _opt(False, "a background stream pushes every page in order", "source", c=("push",))
    batch: int = _opt(0, "pages one placement call of the push stream or prefill places: kmod one FA_IOC_MAPV, "
                      "uffd one UFFDIO_COPY/UFFDIO_MOVE per run of contiguous pages (0: the backend's own, "
                      f"{lib.FA_PUSH_BATCH} for kmod, 1 for the others)", "source", low=0, high=lib.FA_MAX_BATCH,
                      c=("batch",))
    push_order: str = _opt("sequential", "the push stream's order: sequential (page 0 up), or recorded (a replay's "
                           "pages in their recorded first-touch order, then the others)", "source",
                           choices=PUSH_ORDERS)
    prefetch_around: int = _opt(0, "a fault also brings this many neighbours of its page from the source and "
                                "places them with it in one batch (0: none)", "prefetch", key="around", low=0,
                                high=lib.FA_MAX_BATCH - 1, c=("prefetch_around",))
    kill_after_pages: int = _opt(0, "SIGKILL the source once this many pages are placed (0: never; the "
                                 "session does it)", "source", low=0, session=True)
    record_pfn: bool = _opt(False, "read the pfn of every placed page before and after (pagemap); the "
                            "session sets it when an invariant needs pfns", c=("record_pfn",))
    odirect_path: str = _opt("", "a file on a filesystem with O_DIRECT, for the odirect kernel step",
                             c=("odirect_path",), to_c=lambda v: (ffi.new("char[]", v.encode()) if v else ffi.NULL,))

    @classmethod
    def from_dict(cls, d):
        """From JSON-like data: kernel steps as mappings."""
        d = dict(d)
        d["kernel_steps"] = tuple(s if isinstance(s, KernelStep) else KernelStep(**s)
                                  for s in d.get("kernel_steps", ()))
        return cls(**d)

    @classmethod
    def from_sections(cls, backend, sections, **runner):
        """From a scenario run's sections ({'area': {...}, 'workload': {...}, 'source': {...}})."""
        return cls.from_dict(dict(runner, backend=backend, **{
            f.name: sections[o.section][o.key or f.name] for f, o in options() if o.section in sections}))

    def to_c(self):
        """struct fa_cfg fields -> values, and the cdata that must outlive the struct."""
        out = {}
        for f, o in options():
            value = getattr(self, f.name)
            out.update(zip(o.c, o.to_c(value) if o.to_c else (int(value) if type(value) is bool else value,)))
        return out, [v for v in out.values() if isinstance(v, ffi.CData)]


def options():
    """(dataclass field, Option) of every run option, in order."""
    return [(f, f.metadata["option"]) for f in dataclasses.fields(RunConfig)]


OPTIONS = {f.name: o for f, o in options()}


def section(name):
    """(yaml key, field, Option) of a scenario section's run options."""
    return [(o.key or f.name, f, o) for f, o in options() if o.section == name]


def _type_ok(value, type_):
    if type_ is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return type(value) is type_ or type_ is int and isinstance(value, int) and not isinstance(value, bool)


def validate(config):
    """Check every rule on a RunConfig; raise ConfigError naming the option and what is allowed."""
    for f, o in options():
        v = getattr(config, f.name)
        if f.name == "kernel_steps":
            if not isinstance(v, (tuple, list)) or not all(isinstance(s, KernelStep) for s in v):
                raise ConfigError(f.name, f"{v!r} is not a list of KernelStep(kind, page)")
            continue
        if not _type_ok(v, f.type):
            raise ConfigError(f.name, f"{v!r} is not a {f.type.__name__}: {o.help}")
        if o.choices and v not in o.choices:
            raise ConfigError(f.name, f"{v!r} is not allowed; use one of: {', '.join(o.choices)}")
        if (o.low is not None and (v <= o.low if o.low_open else v < o.low)) or (o.high is not None and v > o.high):
            raise ConfigError(f.name, f"{v!r} is out of range: it must be {o.range_text()}")
    if config.threads > config.pages:
        raise ConfigError("threads", f"{config.threads} threads exceed the {config.pages} pages of the area")
    if len(config.kernel_steps) > lib.FA_MAX_KSTEPS:
        raise ConfigError("kernel_steps", f"{len(config.kernel_steps)} steps; at most {lib.FA_MAX_KSTEPS}")
    for i, step in enumerate(config.kernel_steps):
        if step.kind not in KERNEL_STEPS:
            raise ConfigError("kernel_steps", f"kind {step.kind!r} is not allowed; use one of: "
                              f"{', '.join(KERNEL_STEPS)}", i)
        if not _type_ok(step.page, int) or not 0 <= step.page < config.pages:
            raise ConfigError("kernel_steps", f"page {step.page!r} is outside the area of {config.pages} pages "
                              f"(0..{config.pages - 1})", i)
    if config.transport == "local":
        for name in TCP_ONLY + ("kill_after_pages",):
            if getattr(config, name):
                raise ConfigError(name, f"{getattr(config, name)!r} needs a source process (source kind unix or "
                                  f"tcp{', and tcp for the link model' if name in TCP_ONLY else ''}); the local "
                                  f"source has none: leave {name} at 0 or change the kind")
    if config.replay:
        try:
            workloads.check_name(config.replay)
        except workloads.WorkloadError as e:
            raise ConfigError("replay", str(e)) from None
        if config.pattern != "sequential" or config.kernel_steps:
            raise ConfigError("replay", f"{config.replay!r} gives the order of the touches: leave out pattern "
                              "and kernel_steps")
    if config.push_order == "recorded" and not (config.replay and config.push):
        raise ConfigError("push_order", "recorded needs a replay (workload.replay) and the push stream on "
                          "(source.push: true)")
    if config.backend == "mprotect":
        for name, most in (("batch", 1), ("prefetch_around", 0)):
            if getattr(config, name) > most:
                raise ConfigError(name, f"{getattr(config, name)!r}: mprotect places a page at a time (an mprotect "
                                  "and a memcpy each); leave it out")
    if config.tmp_thp and config.batch != lib.FA_MAX_BATCH:
        raise ConfigError("tmp_thp", f"a THP buffer places 2 MiB whole only in batches of {lib.FA_MAX_BATCH} "
                          f"pages: set source.batch: {lib.FA_MAX_BATCH} (it is {config.batch})")
    if config.tmp_thp and not (config.push or config.prefill):
        raise ConfigError("tmp_thp", "the THP buffer is the push stream's or prefill's: turn on source.push or "
                          "workload.prefill")
    if config.kernel_wait and config.backend not in KMOD_BACKENDS:
        raise ConfigError("kernel_wait", f"needs a kmod backend ({', '.join(KMOD_BACKENDS)}), not "
                          f"{config.backend} (the uffd thread backends' kernel accesses wait anyway)")
    if config.after != "none" and config.backend not in KMOD_BACKENDS:
        raise ConfigError("after", f"{config.after!r} needs a kmod backend ({', '.join(KMOD_BACKENDS)}), "
                          f"not {config.backend}")
    return config
