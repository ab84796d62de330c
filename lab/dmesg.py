"""Kernel log checks shared by the guest runner, tests and analysis."""
import re

# Any of these in dmesg fails a run (README.md: "A run fails if dmesg shows ...").
BAD_PATTERNS = ("BUG", "WARNING", "Oops", "Bad rss-counter", "Bad page")
_BAD_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p in BAD_PATTERNS) + r")\b")
# A kernel line on the console: "[   12.345678] text".
_KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d+\]\s?(.*)$")
# What led to a panic: an oops, a BUG, a hung task.  The first of them is named with the panic.
_CAUSE_RE = re.compile(r"\bBUG:|\bOops\b|general protection fault|INFO: task .* blocked for more than")
_PANIC = "Kernel panic - not syncing:"


def problems(text):
    """Return the dmesg lines that contain a bad pattern, in order."""
    return [line for line in text.splitlines() if _BAD_RE.search(line)]


def kernel_lines(console):
    """The kernel's own lines of a console log, without their timestamps (the guest's
    programs write to the same console; their output is not the kernel's)."""
    return [m.group(1) for m in map(_KERNEL_LINE.match, console.splitlines()) if m]


def panic(console):
    """'<panic message>' or '<panic message> (after: <first cause>)' when the console shows
    a kernel panic, else ''."""
    lines = kernel_lines(console)
    at = next((i for i, ln in enumerate(lines) if _PANIC in ln), None)
    if at is None:
        return ""
    msg = lines[at][lines[at].index(_PANIC):].strip()
    cause = next((ln.strip() for ln in lines[:at] if _CAUSE_RE.search(ln)), "")
    return f"{msg} (after: {cause})" if cause else msg
