"""What a scenario's session traces, derived from what its invariants declare.

tracing_plan(sc) gives the probe groups to attach and whether the engine
reads pfns: the groups of every probe an invariant of the scenario needs
(analysis.invariants.Invariant.events, and all of its any_events, since which
one fires depends on the backend), and record_pfn when one needs "pfn" data.
The report's figures read nothing else from the trace but TLB flushes, which
they show only when a scenario traces group tlb (tracing.groups).  A
scenario's tracing.groups overrides the derived groups.  The work counters
(tracing/work.py) are not planned: the session attaches them to every run,
so that every report carries the counted work per fault.
"""
from analysis.invariants import INVARIANTS
from tracing.probes import GROUPS, PROBES

GROUP_OF = {p.name: p.group for p in PROBES}


def needs(sc):
    """The Invariant declarations of the scenario's invariants, once each."""
    return [INVARIANTS[n] for n in dict.fromkeys(i["name"] for i in sc["invariants"])]


def tracing_plan(sc):
    """(groups in GROUPS order, record_pfn) for a checked scenario (scenarios.schema.load)."""
    invs = needs(sc)
    wanted = {GROUP_OF[p] for inv in invs for p in inv.events + inv.any_events}
    groups = sc["tracing"]["groups"]
    groups = tuple(g for g in GROUPS if g in wanted) if groups is None else tuple(groups)
    return groups, any("pfn" in inv.data for inv in invs)
