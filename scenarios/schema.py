"""The scenario schema, in code: every key has a type, a default and help.

load() reads a YAML file, checks it against SCHEMA, and returns the
scenario with every default filled in.  Any error names file:line, the key,
and what is allowed; an unknown key is an error.  The keys of area, workload
and source are engine.config.RunConfig's options, and every run (each
variant merged into the base) goes through engine.config.validate, the
check the engine makes in the guest.  scenarios/README.md is generated from
SCHEMA (python -m scenarios doc) and a test keeps it current.
"""
import dataclasses
from pathlib import Path

import yaml

from analysis.invariants import INVARIANTS
from engine import config
from tracing.probes import GROUPS

REQUIRED = object()


class ScenarioError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Key:
    name: str
    type: str  # str, int, float, bool, str-or-list, list, mapping, section, overrides (a section without defaults)
    default: object
    help: str
    choices: tuple = ()
    minimum: float | None = None
    keys: tuple = ()  # a section's keys, or a list item's keys
    allowed: str = ""  # the range, for the docs (a run option's range is checked by engine.config.validate)


def _k(name, type_, default, help_, **kw):
    return Key(name, type_, default, help_, **kw)


TYPES = {bool: "bool", int: "int", float: "float", str: "str", tuple: "list"}
KERNEL_STEP = (
    _k("kind", "str", REQUIRED, config.KERNEL_STEP_HELP["kind"], choices=tuple(config.KERNEL_STEPS)),
    _k("page", "int", REQUIRED, config.KERNEL_STEP_HELP["page"]),
)


def _run_keys(section):
    """A section's keys: the run options of engine.config that live there."""
    return tuple(_k(key, TYPES[f.type], list(f.default) if f.type is tuple else f.default, o.help,
                    choices=o.choices, allowed=o.range_text(), keys=KERNEL_STEP if f.type is tuple else ())
                 for key, f, o in config.section(section))


AREA, WORKLOAD, SOURCE, PREFETCH = (_run_keys(s) for s in config.SECTIONS)
TRACING = (
    _k("groups", "list", None, "probe groups to attach, overriding those the invariants need "
       "(scenarios/plan.py)", choices=GROUPS),
    _k("events", "bool", True, "keep every event (trace.jsonl); false: counts and histograms only"),
    _k("ringbuf_pages", "int", 4096, "ring buffer size in pages (a power of two); the whole session "
       "uses the largest any scenario asks", minimum=1),
)
GUEST = (
    _k("memory", "str", "2G", "guest memory (qemu syntax); scenarios run in one boot per memory and cpus"),
    _k("cpus", "int", 2, "guest vCPUs", minimum=1),
    _k("timeout_s", "float", 300.0, "the scenario's share of the boot's time limit", minimum=10),
)
INVARIANT = (
    _k("name", "str", REQUIRED, "which invariant", choices=tuple(INVARIANTS)),
    _k("backends", "list", [], "the backends it applies to (empty: all)", choices=tuple(config.BACKENDS)),
    _k("variants", "list", [], "the variant labels it applies to (empty: all)"),
    _k("expect", "str", "pass", "the outcome the scenario predicts (fail: the strawman breaks the claim)",
       choices=("pass", "fail")),
    _k("params", "mapping", {}, "the invariant's parameters (see the invariant table)"),
)
VARIANT = (
    _k("label", "str", REQUIRED, "name of the variant in tables and plots"),
    _k("backends", "list", [], "the backends it runs with (empty: every backend of the scenario)",
       choices=tuple(config.BACKENDS)),
    _k("area", "overrides", {}, "keys of area that differ", keys=AREA),
    _k("workload", "overrides", {}, "keys of workload that differ", keys=WORKLOAD),
    _k("source", "overrides", {}, "keys of source that differ", keys=SOURCE),
    _k("prefetch", "overrides", {}, "keys of prefetch that differ", keys=PREFETCH),
)
SCHEMA = (
    _k("name", "str", REQUIRED, "short name: results go to results/<UTC time>-<name>/"),
    _k("description", "str", "", "what the scenario runs"),
    _k("expect", "str", REQUIRED, "prose: what the scenario should show"),
    _k("backend", "str-or-list", "kmod", "one backend, or a list to compare", choices=tuple(config.BACKENDS)),
    _k("repeats", "int", 1, "runs of each backend and variant", minimum=1),
    _k("guest", "section", {}, "the guest it needs", keys=GUEST),
    _k("area", "section", {}, "the destination area", keys=AREA),
    _k("workload", "section", {}, "the vCPU threads and kernel accesses", keys=WORKLOAD),
    _k("source", "section", {}, "the page source and its link", keys=SOURCE),
    _k("prefetch", "section", {}, "what a fault brings along", keys=PREFETCH),
    _k("tracing", "section", {}, "what the tracer records", keys=TRACING),
    _k("variants", "list", [], "runs that differ from the base in some keys (each is run per backend)",
       keys=VARIANT),
    _k("invariants", "list", [], "the claims to check, each by name or as a mapping", keys=INVARIANT),
)


class _Checker:
    def __init__(self, path):
        self.path = path
        self.ctor = yaml.SafeLoader("")
        self.lines = {}  # key path (workload.threads, variants[0].area.pages, ...) -> line

    def fail(self, node, where, msg):
        raise ScenarioError(f"{self.path}:{node.start_mark.line + 1}: {where}: {msg}")

    def scalar(self, node, key, where):
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, where, f"expected a single {key.type} value")
        value = self.ctor.construct_object(node)
        want = {"str": str, "int": int, "float": (int, float), "bool": bool}[key.type]
        if not isinstance(value, want) or (key.type in ("int", "float") and isinstance(value, bool)):
            self.fail(node, where, f"{value!r} is not a {key.type}: {key.help}")
        if key.type == "float":
            value = float(value)
        if key.choices and value not in key.choices:
            self.fail(node, where, f"{value!r} is not allowed; use one of: {', '.join(map(str, key.choices))}")
        if key.minimum is not None and value < key.minimum:
            self.fail(node, where, f"{value!r} is below the minimum of {key.minimum:g}")
        return value

    def mapping(self, node, keys, where, fill=True):
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, where or "scenario", "expected a mapping of keys")
        by_name = {k.name: k for k in keys}
        out = {}
        for knode, vnode in node.value:
            name = self.ctor.construct_object(knode)
            here = f"{where}.{name}" if where else str(name)
            self.lines[here] = knode.start_mark.line + 1
            if name not in by_name:
                self.fail(knode, here, f"unknown key; allowed here: {', '.join(by_name)}")
            if name in out:
                self.fail(knode, here, "given twice")
            out[name] = self.value(vnode, by_name[name], here)
        for k in keys if fill else ():
            if k.name not in out:
                if k.default is REQUIRED:
                    self.fail(node, f"{where}.{k.name}" if where else k.name, f"missing: {k.help}")
                out[k.name] = self.defaults(k)
        return out

    def defaults(self, key):
        if key.type == "overrides":
            return {}
        if key.type == "str-or-list":
            return [key.default]
        if key.type == "section":
            return {k.name: self.defaults(k) for k in key.keys}
        return list(key.default) if isinstance(key.default, list) else \
            dict(key.default) if isinstance(key.default, dict) else key.default

    def value(self, node, key, where):
        if key.type in ("section", "overrides"):
            return self.mapping(node, key.keys, where, fill=key.type == "section")
        if key.type == "mapping":
            if not isinstance(node, yaml.MappingNode):
                self.fail(node, where, "expected a mapping")
            return {self.ctor.construct_object(k): self.ctor.construct_object(v, deep=True)
                    for k, v in node.value}
        if key.type == "str-or-list":
            if isinstance(node, yaml.SequenceNode):
                return self.items(node, key, where)
            return [self.scalar(node, dataclasses.replace(key, type="str"), where)]
        if key.type == "list":
            return self.items(node, key, where)
        return self.scalar(node, key, where)

    def items(self, node, key, where):
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, where, "expected a list")
        out = []
        for i, item in enumerate(node.value):
            here = f"{where}[{i}]"
            self.lines[here] = item.start_mark.line + 1
            if key.name == "invariants":
                if isinstance(item, yaml.ScalarNode):  # a bare name
                    item = yaml.MappingNode("tag:yaml.org,2002:map", [
                        (yaml.ScalarNode("tag:yaml.org,2002:str", "name", item.start_mark), item)], item.start_mark)
                out.append(self.invariant(self.mapping(item, key.keys, here), item, here))
            elif key.keys:
                out.append(self.mapping(item, key.keys, here))
            else:
                out.append(self.scalar(item, dataclasses.replace(key, type="str"), here))
        if not out and key.type == "str-or-list":
            self.fail(node, where, "the list is empty")
        return out


    def invariant(self, inv, node, where):
        """An invariant's params: known names, the default's type, defaults filled in."""
        spec = INVARIANTS[inv["name"]]
        for name, value in inv["params"].items():
            if name not in spec.params:
                self.fail(node, f"{where}.params.{name}",
                          f"unknown parameter of {inv['name']}; allowed: {', '.join(spec.params) or 'none'}")
            default = spec.params[name][0]
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if isinstance(default, bool) != isinstance(value, bool) or not isinstance(default, bool) and not number:
                self.fail(node, f"{where}.params.{name}", f"{value!r} is not a {type(default).__name__}")
            inv["params"][name] = type(default)(value)
        for name, (default, _unit, _help) in spec.params.items():
            inv["params"].setdefault(name, default)
        return inv


def _validate_runs(sc, checker):
    """engine.config.validate on every run: each variant merged into the base, for each backend."""
    for i, variant in enumerate(sc["variants"] or [None]):
        for backend in _backends(sc, variant):
            parts = {p: dict(sc[p], **(variant[p] if variant else {})) for p in config.SECTIONS}
            try:
                config.validate(config.RunConfig.from_sections(backend, parts))
            except config.ConfigError as e:
                o = config.OPTIONS[e.field]
                key = f"{o.section}.{o.key or e.field}" if o.section else "backend"
                item = "" if e.index is None else f"[{e.index}]"
                tries = ([f"variants[{i}].{key}{item}", f"variants[{i}].{key}"] if variant else []) + \
                    [f"{key}{item}", key] + ([f"variants[{i}]"] if variant else []) + [o.section or "backend"]
                where = next((t for t in tries if t in checker.lines), key)
                who = [f"variant {variant['label']}"] if variant else []
                who += [f"backend {backend}"] if len(sc["backend"]) > 1 else []
                who = f" ({', '.join(who)})" if who else ""
                raise ScenarioError(f"{checker.path}:{checker.lines.get(where, 1)}: {where}: {e.msg}{who}") from None


def loads(text, path="<string>"):
    """Check a scenario's YAML text; return it as a dict with every default filled in."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f"{mark.line + 1}" if mark else "?"
        raise ScenarioError(f"{path}:{line}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if node is None:
        raise ScenarioError(f"{path}:1: the file is empty; a scenario needs at least name and expect")
    checker = _Checker(path)
    sc = checker.mapping(node, SCHEMA, "")
    lines = {checker.ctor.construct_object(k): k.start_mark.line + 1 for k, _ in node.value}
    _validate_runs(sc, checker)
    rb = sc["tracing"]["ringbuf_pages"]
    if rb & (rb - 1):
        raise ScenarioError(f"{path}:{lines.get('tracing', 1)}: tracing.ringbuf_pages: {rb} is not a power of two")
    for i, v in enumerate(sc["variants"]):
        if v.get("backends") and not _backends(sc, v):
            raise ScenarioError(f"{path}:{checker.lines.get(f'variants[{i}].backends', 1)}: variants[{i}].backends: "
                                f"{v['backends']} are not among the scenario's backends {sc['backend']}")
    labels = [v["label"] for v in sc["variants"]]
    if len(set(labels)) != len(labels):
        raise ScenarioError(f"{path}:{lines.get('variants', 1)}: variants: labels must differ: {labels}")
    for i, inv in enumerate(sc["invariants"]):
        unknown = [v for v in inv["variants"] if v not in labels]
        if unknown:
            where = f"invariants[{i}].variants"
            raise ScenarioError(f"{path}:{checker.lines.get(where, 1)}: {where}: {unknown} are not among the "
                                f"scenario's variant labels {labels}")
    return sc


def load(path):
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read the scenario: {e.strerror}") from None
    return loads(text, str(path))


def _backends(sc, variant):
    """The backends a variant runs with: its own (those of the scenario among them), else the scenario's."""
    chosen = (variant or {}).get("backends")
    return [b for b in sc["backend"] if b in chosen] if chosen else sc["backend"]


def runs(sc):
    """The runs of a scenario, in order: every variant (or the base) for each of its backends, repeated."""
    variants = sc["variants"] or [{"label": ""}]
    out = []
    for variant in variants:
        for backend in _backends(sc, variant):
            for rep in range(sc["repeats"]):
                cfg = {part: dict(sc[part], **variant.get(part, {})) for part in config.SECTIONS}
                label = "/".join(x for x in (backend, variant["label"]) if x)
                if sc["repeats"] > 1:
                    label += f"#{rep + 1}"
                out.append(dict(label=label, backend=backend, variant=variant["label"], repeat=rep, **cfg))
    return out
