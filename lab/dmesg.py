"""Kernel log checks shared by the guest runner, tests and analysis."""
import re

# Any of these in dmesg fails a run (DEVELOPERS.md, "Standards").
BAD_PATTERNS = ("BUG", "WARNING", "Oops", "Bad rss-counter", "Bad page")
_BAD_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p in BAD_PATTERNS) + r")\b")


def problems(text):
    """Return the dmesg lines that contain a bad pattern, in order."""
    return [line for line in text.splitlines() if _BAD_RE.search(line)]
