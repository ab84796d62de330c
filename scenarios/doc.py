"""The key reference of scenarios/README.md, generated from the schema and
the invariant registry (python -m scenarios doc; a test keeps it current)."""
from analysis.invariants import INVARIANTS
from scenarios.schema import REQUIRED, SCHEMA

BEGIN, END = "<!-- BEGIN generated: python -m scenarios doc -->", "<!-- END generated -->"


def _default(k):
    if k.default is REQUIRED:
        return "required"
    if k.default is None:
        return "derived"
    if k.type in ("section", "overrides"):
        return ""
    return f"`{k.default!r}`" if not isinstance(k.default, str) else f"`{k.default}`"


def _rows(keys, prefix):
    out = []
    for k in keys:
        name = f"{prefix}{k.name}"
        allowed = f" One of: {', '.join(map(str, k.choices))}." if k.choices else ""
        allowed += f" Range: {k.allowed}." if k.allowed else ""
        out.append(f"| `{name}` | {k.type} | {_default(k)} | {k.help}.{allowed} |")
        if k.keys:
            sub = f"{name}[]." if k.type == "list" else f"{name}."
            out += _rows(k.keys, sub)
    return out


def reference():
    lines = [BEGIN, "", "### Keys", "", "| key | type | default | meaning |", "|---|---|---|---|"]
    lines += _rows(SCHEMA, "")
    lines += ["", "### Invariants", "", "| invariant | passes when | needs | parameters |", "|---|---|---|---|"]
    for inv in INVARIANTS.values():
        needs = [f"events of {', '.join(inv.events)}"] if inv.events else []
        needs += [f"events of one of {', '.join(inv.any_events)}"] if inv.any_events else []
        needs += [f"run data: {', '.join(inv.data)}"] if inv.data else []
        needs += ["a trace with no lost events"] if inv.complete else []
        params = "; ".join(f"`{n}` ({d!r} {u}): {h}" for n, (d, u, h) in inv.params.items()) or "-"
        scope = " Judged once per scenario." if inv.once else ""
        lines.append(f"| `{inv.name}` | {inv.passes_when}.{scope} | {'; '.join(needs)} | {params} |")
    return "\n".join(lines + ["", END]) + "\n"
