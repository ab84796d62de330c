"""The table-driven C self-tests (kmod/selftests): their cases, read from the
C source so that collecting the tests needs no built binary, and their TAP 13
results (kmod/selftests/fa_tap.h)."""
import re
from dataclasses import dataclass
from pathlib import Path

# An entry of a case table: { "name", fn, ... }
ENTRY = re.compile(r'^\s*\{\s*"([\w-]+)",\s*[a-z_]\w*\s*[,}]', re.M)
TABLE = re.compile(r"^static const (?:struct )?\w+ (\w+)\[\] = \{\n(.*?)^\};", re.M | re.S)
RESULT = re.compile(r"^(ok|not ok) (\d+) (\S+)(?: # SKIP ?(.*))?$", re.M)


def case_names(source):
    """The case names of the one {name, fn} table in a C self-test's source, in order."""
    text = Path(source).read_text()
    tables = [(name, ENTRY.findall(body)) for name, body in TABLE.findall(text)]
    tables = [(name, cases) for name, cases in tables if cases]
    if len(tables) != 1:
        raise ValueError(f"{source}: want one case table of {{ \"name\", fn }} entries, found "
                         f"{[name for name, _ in tables] or 'none'}")
    return tables[0][1]


@dataclass
class Result:
    status: str  # ok, fail or skip
    why: str  # the SKIP reason, or the case's diagnostic lines ('# NAME: ...')


def results(stdout):
    """{case: Result} from TAP 13 output; raises ValueError if it is not TAP or its plan is not met."""
    if not re.search(r"^TAP version 13$", stdout, re.M):
        raise ValueError(f"no 'TAP version 13' header in:\n{stdout}")
    plan = re.search(r"^1\.\.(\d+)$", stdout, re.M)
    found = {}
    for m in RESULT.finditer(stdout):
        ok, num, name, skip = m.groups()
        if int(num) != len(found) + 1:
            raise ValueError(f"TAP result {num} ({name}) out of order in:\n{stdout}")
        diag = "; ".join(re.findall(rf"^# {re.escape(name)}: (.*)$", stdout, re.M))
        if ok == "not ok":
            found[name] = Result("fail", diag)
        else:
            found[name] = Result("ok", diag) if skip is None else Result("skip", skip)
    if not plan or int(plan.group(1)) != len(found):
        raise ValueError(f"TAP plan {plan.group(0) if plan else 'missing'} but {len(found)} results in:\n{stdout}")
    return found
