#!/usr/bin/env bash
# bench/spellcheck.sh — FT.SPELLCHECK (with and without custom dictionaries) vs Redis Stack 7.4.1 (RediSearch 2.10),
# same run.
#
# Loads the 50,000 PyPI packages of ../shared/data/pypi-minilm-50k/base.tsv (summary as TEXT, name as TAG) into a
# fresh vecshard-server and a fresh Redis Stack, adds a dictionary of 2,000 package names (FT.DICTADD), then runs each
# FT.SPELLCHECK shape with redis-benchmark (CONNS clients, pipeline 1, N requests), servers alternating, ROUNDS rounds,
# median requests/s; also checks that each shape's reply is the same on both. Writes bench/results/spellcheck.md.
#   env: N (2000) CONNS (4) ROUNDS (3) BIN (.build/release/vecshard-server) DATA (../shared/data/pypi-minilm-50k)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000} CONNS=${CONNS:-4} ROUNDS=${ROUNDS:-3} DATA=${DATA:-../shared/data/pypi-minilm-50k}
[ -f "$DATA/base.tsv" ] || { echo "missing $DATA/base.tsv" >&2; exit 1; }
. bench/anchor-pair.sh
start_anchor_pair spellcheck

N=$N CONNS=$CONNS ROUNDS=$ROUNDS DATA=$DATA "$PY" - <<'PY'
import csv, os, sys, time, redis
sys.path.insert(0, "bench")
from anchor_rps import alternating_rounds, report, run_line, ports as anchor_ports

n, conns, rounds = (int(os.environ[k]) for k in ("N", "CONNS", "ROUNDS"))
ports = anchor_ports(os.environ)
with open(os.path.join(os.environ["DATA"], "base.tsv"), newline="") as f:
    rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
load_s, rss_mb = {}, {}
for name, port in ports.items():
    r = redis.Redis(port=port, protocol=2)
    r.execute_command("FT.CREATE", "pkg", "ON", "HASH", "PREFIX", "1", "pkg:", "SCHEMA", "summary", "TEXT",
                      "name", "TAG")
    t0 = time.time()
    p = r.pipeline(transaction=False)
    for row in rows:
        p.hset(f"pkg:{row['id']}", mapping={"summary": row["summary"], "name": row["name"]})
        if len(p) >= 1000:
            p.execute()
    p.execute()
    while int(dict(zip(*[iter(r.execute_command("FT.INFO", "pkg"))] * 2))[b"indexing"]):
        time.sleep(0.1)
    load_s[name] = time.time() - t0
    names = [row["name"] for row in rows[:2000]]
    for i in range(0, len(names), 500):
        r.execute_command("FT.DICTADD", "names", *names[i:i + 500])
    rss_mb[name] = int(r.info("memory")["used_memory_rss"]) / 2**20

queries = [
    ("one typo `pyton`", ["FT.SPELLCHECK", "pkg", "pyton"]),
    ("two words `machne lerning`", ["FT.SPELLCHECK", "pkg", "machne lerning"]),
    ("distance 2 `databse`", ["FT.SPELLCHECK", "pkg", "databse", "DISTANCE", "2"]),
    ("known words `python library` (nothing to report)", ["FT.SPELLCHECK", "pkg", "python library"]),
    ("dictionary `djnago flsk` INCLUDE names", ["FT.SPELLCHECK", "pkg", "djnago flsk", "TERMS", "INCLUDE", "names"]),
    ("EXCLUDE + FULLSCOREINFO `pyton requets`", ["FT.SPELLCHECK", "pkg", "pyton requets", "TERMS", "EXCLUDE", "names",
                                                 "FULLSCOREINFO"]),
]

agree = {}
for label, cmd in queries:
    a, b = (redis.Redis(port=p, protocol=2).execute_command(*cmd) for p in ports.values())
    agree[label] = a == b
    if not agree[label]:
        print("DIFFERENT REPLY:", label, "\n  ours ", b, "\n  stack", a, file=sys.stderr)

rps = alternating_rounds(queries, ports, n, conns, rounds)
lines = ["## FT.SPELLCHECK vs Redis Stack (bench/spellcheck.sh)", "",
         run_line(os.environ), "",
         f"{len(rows):,} PyPI packages from `pypi-minilm-50k/base.tsv` (summary TEXT, name TAG), the same in both servers "
         f"(load + indexing: vecshard {load_s['vecshard']:.1f} s, Redis Stack {load_s['Redis Stack 7.4.1']:.1f} s, one "
         "pipelined client), and a dictionary `names` of the first 2,000 package names (FT.DICTADD). RSS after it (INFO "
         f"memory `used_memory_rss`): vecshard {rss_mb['vecshard']:.0f} MB, Redis Stack "
         f"{rss_mb['Redis Stack 7.4.1']:.0f} MB. Each query: `redis-benchmark -p PORT -n {n} -c {conns} -P 1 --csv -q "
         f"<command>`, servers alternating, {rounds} rounds, median requests/s. `same page` = the whole reply the same "
         "on both (RESP2).", ""]
report("bench/results/spellcheck.md", lines, queries, rps, agree, ports)
PY
bash bench/assemble-results.sh >/dev/null
