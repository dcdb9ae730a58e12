#!/usr/bin/env bash
# bench/patterns.sh — suffix, contains, fuzzy and wildcard queries on TEXT and TAG fields vs Redis Stack 7.4.1
# (RediSearch 2.10), same run.
#
# Loads the 50,000 PyPI packages of ../shared/data/pypi-minilm-50k/base.tsv (summary as TEXT, name as TAG, year as
# NUMERIC) into a fresh vecshard-server and a fresh Redis Stack, then runs each query shape with redis-benchmark
# (CONNS clients, pipeline 1, N requests), servers alternating, ROUNDS rounds, median requests/s; also checks that the
# first page (ids and scores) is the same on both. Writes bench/results/patterns.md.
#   env: N (2000) CONNS (4) ROUNDS (3) BIN (.build/release/vecshard-server) DATA (../shared/data/pypi-minilm-50k)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000} CONNS=${CONNS:-4} ROUNDS=${ROUNDS:-3} DATA=${DATA:-../shared/data/pypi-minilm-50k}
[ -f "$DATA/base.tsv" ] || { echo "missing $DATA/base.tsv" >&2; exit 1; }
. bench/anchor-pair.sh
start_anchor_pair patterns

N=$N CONNS=$CONNS ROUNDS=$ROUNDS DATA=$DATA "$PY" - <<'PY'
import csv, os, sys, time, redis
sys.path.insert(0, "bench")
from anchor_rps import alternating_rounds, report, run_line, shown, ports as anchor_ports

n, conns, rounds = (int(os.environ[k]) for k in ("N", "CONNS", "ROUNDS"))
ports = anchor_ports(os.environ)
with open(os.path.join(os.environ["DATA"], "base.tsv"), newline="") as f:
    rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
load_s, rss_mb = {}, {}
for name, port in ports.items():
    r = redis.Redis(port=port, protocol=2)
    r.execute_command("FT.CREATE", "pkg", "ON", "HASH", "PREFIX", "1", "pkg:", "SCHEMA", "summary", "TEXT",
                      "name", "TAG", "year", "NUMERIC")
    t0 = time.time()
    p = r.pipeline(transaction=False)
    for row in rows:
        p.hset(f"pkg:{row['id']}", mapping={"summary": row["summary"], "name": row["name"], "year": row["year"]})
        if len(p) >= 1000:
            p.execute()
    p.execute()
    while int(dict(zip(*[iter(r.execute_command("FT.INFO", "pkg"))] * 2))[b"indexing"]):
        time.sleep(0.1)
    load_s[name] = time.time() - t0
    rss_mb[name] = int(r.info("memory")["used_memory_rss"]) / 2**20

queries = [
    ("prefix `data*`", ["FT.SEARCH", "pkg", "data*", "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("suffix `*ing`", ["FT.SEARCH", "pkg", "*ing", "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("contains `*learn*`", ["FT.SEARCH", "pkg", "*learn*", "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("contains + word `*sql* python`", ["FT.SEARCH", "pkg", "*sql* python", "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("fuzzy 1 `%pyton%`", ["FT.SEARCH", "pkg", "%pyton%", "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("fuzzy 2 `%%databse%%`", ["FT.SEARCH", "pkg", "%%databse%%", "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("wildcard `w'py*on'`", ["FT.SEARCH", "pkg", "w'py*on'", "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("tag contains `@name:{*django*}`", ["FT.SEARCH", "pkg", "@name:{*django*}", "WITHSCORES", "NOCONTENT",
                                         "DIALECT", "2"]),
    ("tag suffix `@name:{*\\-api}`", ["FT.SEARCH", "pkg", "@name:{*\\-api}", "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("tag wildcard `@name:{w'py?a*'}`", ["FT.SEARCH", "pkg", "@name:{w'py?a*'}", "WITHSCORES", "NOCONTENT",
                                        "DIALECT", "2"]),
]

agree = {}
for label, cmd in queries:
    a, b = (redis.Redis(port=p, protocol=2).execute_command(*cmd) for p in ports.values())
    ids = lambda r: [r[i] for i in range(1, len(r), 2)]
    sc = lambda r: [float(r[i]) for i in range(2, len(r), 2)]
    agree[label] = a[0] == b[0] and ids(a) == ids(b) and \
        all(abs(x - y) <= 1e-9 * max(1, abs(x)) for x, y in zip(sc(a), sc(b)))
    if not agree[label]:
        print("DIFFERENT PAGE:", label, "\n  ours ", b[:9], "\n  stack", a[:9], file=sys.stderr)

rps = alternating_rounds(queries, ports, n, conns, rounds)
lines = ["## Suffix, contains, fuzzy and wildcard queries vs Redis Stack (bench/patterns.sh)", "",
         run_line(os.environ), "",
         f"{len(rows):,} PyPI packages from `pypi-minilm-50k/base.tsv` (summary TEXT, name TAG, year NUMERIC), the same "
         f"in both servers (load + indexing: vecshard {load_s['vecshard']:.1f} s, Redis Stack {load_s['Redis Stack 7.4.1']:.1f} "
         "s, one pipelined client; RSS after it (INFO memory `used_memory_rss`): vecshard "
         f"{rss_mb['vecshard']:.0f} MB, Redis Stack {rss_mb['Redis Stack 7.4.1']:.0f} MB). Each query: "
         f"`redis-benchmark -p PORT -n {n} -c {conns} -P 1 --csv -q <command>`, servers alternating, {rounds} rounds, "
         "median requests/s. `same page` = the first page the same on both (ids in order, scores within 1e-9).", ""]
report("bench/results/patterns.md", lines, queries, rps, agree, ports)
PY
bash bench/assemble-results.sh >/dev/null
