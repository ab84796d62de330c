"""Recipes of the shipped workloads: how to make each one's input and which program to record.

A recipe's setup(work) writes its input into the directory work and returns the argv to record (it runs in
the guest, as root, before the recording); load is a shell command run beside it (a benchmark client: the
program gets SIGTERM when it ends).  The sizes aim at 20 to 60 s under TCG and at most 256 MiB touched.
"""
import dataclasses
import random
import subprocess
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Recipe:
    what: str
    setup: object  # work dir -> argv
    load: str = ""
    load_delay: float = 0.0
    timeout: float = 300.0


SQL = """PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 150000)
INSERT INTO t SELECT i, abs(random()) % 1500, hex(randomblob(48)) FROM c;
CREATE INDEX tk ON t(k);
SELECT k % 100, count(*), sum(length(v)) FROM t GROUP BY k % 100 ORDER BY 2 DESC LIMIT 3;
SELECT count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.id < 10000;
SELECT count(*), sum(length(a.v)) FROM t a JOIN t b ON a.k = b.k WHERE a.id BETWEEN 10000 AND 120000;
SELECT id FROM t ORDER BY v LIMIT 3;
"""
SMALL_SQL = """CREATE TABLE t(x);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) INSERT INTO t SELECT randomblob(100) FROM c;
SELECT count(*) FROM t;
"""


def sqlite(work):
    (work / "q.sql").write_text(SQL)
    return ["sqlite3", ":memory:", f".read {work / 'q.sql'}"]


PYTHON = """import json
d = {f"key{i}": {"id": i, "name": f"n{i % 977}", "tags": [i % 7, i % 11], "score": i * 0.5} for i in range(25000)}
for _ in range(25):
    doc = json.dumps(d)
    back = json.loads(doc)
hits = 0
for p in range(44):
    hits += sum(1 for v in back.values() if v["tags"][0] == p % 7 and v["score"] > 250 * p)
print(len(doc), hits)
"""


def sqlite_small(work):
    return ["sqlite3", ":memory:", SMALL_SQL]


def python(work):
    return ["python3", "-c", PYTHON]


def xz(work):
    rng = random.Random(14)
    words = ["".join(rng.choice("etaoinshrdlucmfwypvbgkq") for _ in range(rng.randint(2, 9))) for _ in range(4000)]
    files = [work / f"text{n}" for n in range(4)]
    for path in files:
        with open(path, "w") as f:
            for _ in range(36000):
                f.write(" ".join(rng.choice(words) for _ in range(12)) + "\n")
    return ["xz", "-9", "-T1", "-k", "-f", *map(str, files)]


def redis(work):
    return ["redis-server", "--port", "6399", "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--dir", str(work)]


C_FUNC = """
int f{i}(int *a, int n, int s)
{{
    int acc = s;
    for (int j = 0; j < n; j++) {{
        switch ((a[j] + {i}) % 5) {{
        case 0: acc += a[j] * {i}; break;
        case 1: acc ^= a[j] << (j % 7); break;
        case 2: acc -= a[(j + {i}) % n]; break;
        case 3: acc = acc * 31 + j; break;
        default: acc += f{prev}(a, j / 2, acc);
        }}
    }}
    return acc;
}}
"""


def gcc(work):
    src = "int f0(int *a, int n, int s) { return n ? a[0] + s : s; }\n"
    src += "".join(C_FUNC.format(i=i, prev=i - 1) for i in range(1, 165))
    (work / "big.c").write_text(src)
    cc1 = subprocess.run(["gcc", "-print-prog-name=cc1"], capture_output=True, text=True, check=True).stdout.strip()
    return [cc1, "-quiet", "-O2", str(work / "big.c"), "-o", str(work / "big.s")]


RECIPES = {
    "sqlite3-small": Recipe("sqlite3: 20,000 rows of 100 random bytes into an in-memory table, then a count "
                            "(the analysis fixture's workload, shipped)", sqlite_small),
    "sqlite3": Recipe("sqlite3: 150,000 rows inserted into an in-memory table, indexed, grouped, self-joined "
                      "twice and sorted", sqlite),
    "python3": Recipe("python3: a dict of 25,000 records to JSON and back 25 times, then 44 queries",
                      python),
    "xz": Recipe("xz -9 (one thread) compressing four files of 2.8 MiB of generated text", xz),
    "redis": Recipe("redis-server loaded by redis-benchmark (SET, GET, LPUSH, LRANGE_100 of 128-byte values)", redis,
                    load="redis-benchmark -p 6399 -q -n 32000 -d 128 -r 50000 -t set,get,lpush,lrange_100",
                    load_delay=3.0),
    "gcc": Recipe("gcc -O2 (cc1) of a generated C file of 165 functions", gcc),
}


def prepare(name, work):
    """Write the input of recipe name into work; return (recipe, argv)."""
    recipe = RECIPES[name]
    Path(work).mkdir(parents=True, exist_ok=True)
    return recipe, recipe.setup(Path(work))
