#!/usr/bin/env bash
# bench/geo.sh — GEO radius queries, FILTER / GEOFILTER and SLOP / INORDER vs Redis Stack 7.4.1 (RediSearch 2.10), same run.
#
# Loads the same POINTS hashes (a GEO point clustered around 60 cities or spread over the world, a TEXT field of Zipf
# words, a NUMERIC) into a fresh vecshard-server and a fresh Redis Stack, then runs each query shape with
# redis-benchmark (CONNS clients, pipeline 1, N requests), servers alternating, ROUNDS rounds, median requests/s; also
# checks that the first page (ids and scores, or the aggregate's rows) is the same on both. Writes bench/results/geo.md.
#   env: POINTS (50000) N (4000) CONNS (4) ROUNDS (3) BIN (.build/release/vecshard-server)
set -euo pipefail
cd "$(dirname "$0")/.."
POINTS=${POINTS:-50000} N=${N:-4000} CONNS=${CONNS:-4} ROUNDS=${ROUNDS:-3}
. bench/anchor-pair.sh
start_anchor_pair geo

POINTS=$POINTS N=$N CONNS=$CONNS ROUNDS=$ROUNDS "$PY" - <<'PY'
import os, random, sys, time, redis
sys.path.insert(0, "bench")
from anchor_rps import alternating_rounds, report, run_line, shown, ports as anchor_ports

points, n, conns, rounds = (int(os.environ[k]) for k in ("POINTS", "N", "CONNS", "ROUNDS"))
ports = anchor_ports(os.environ)
rng = random.Random(7)
vocab = [f"w{i}" for i in range(500)]
weights = [1 / (i + 1) for i in range(len(vocab))]
cities = [(2.35, 48.85)] + [(rng.uniform(-125, 150), rng.uniform(-40, 60)) for _ in range(59)]
docs = []
for i in range(points):
    if rng.random() < 0.7:
        lon, lat = rng.choice(cities)
        lon, lat = lon + rng.gauss(0, 0.4), lat + rng.gauss(0, 0.3)
    else:
        lon, lat = rng.uniform(-180, 180), rng.uniform(-60, 70)
    lon = max(-180, min(180, lon))
    docs.append({"loc": f"{lon:.6f},{lat:.6f}", "t": " ".join(rng.choices(vocab, weights, k=rng.randint(3, 10))),
                 "n": rng.randint(0, 100)})
for name, port in ports.items():
    r = redis.Redis(port=port, protocol=2)
    r.execute_command("FT.CREATE", "g", "ON", "HASH", "PREFIX", "1", "p:", "SCHEMA", "loc", "GEO", "t", "TEXT",
                      "n", "NUMERIC")
    p = r.pipeline(transaction=False)
    for i, d in enumerate(docs):
        p.hset(f"p:{i}", mapping=d)
        if i % 1000 == 999:
            p.execute()
    p.execute()
    while int(dict(zip(*[iter(r.execute_command("FT.INFO", "g"))] * 2))[b"indexing"]):
        time.sleep(0.1)

queries = [
    ("radius 10 km (dense area)", ["FT.SEARCH", "g", "@loc:[2.35 48.85 10 km]", "NOCONTENT"]),
    ("radius 300 km", ["FT.SEARCH", "g", "@loc:[2.35 48.85 300 km]", "NOCONTENT"]),
    ("radius 2000 km", ["FT.SEARCH", "g", "@loc:[2.35 48.85 2000 km]", "NOCONTENT"]),
    ("word + radius, scored", ["FT.SEARCH", "g", "w3 @loc:[2.35 48.85 100 km]", "WITHSCORES", "NOCONTENT"]),
    ("word GEOFILTER + FILTER, scored", ["FT.SEARCH", "g", "w3", "GEOFILTER", "loc", "2.35", "48.85", "100", "km",
                                         "FILTER", "n", "0", "50", "WITHSCORES", "NOCONTENT"]),
    ("two words SLOP 2, scored", ["FT.SEARCH", "g", "w5 w9", "SLOP", "2", "WITHSCORES", "NOCONTENT"]),
    ("two words INORDER", ["FT.SEARCH", "g", "w5 w9", "INORDER", "NOCONTENT"]),
    ("FT.AGGREGATE LIMIT first: 10 of all rows", ["FT.AGGREGATE", "g", "*", "LOAD", "1", "@n", "LIMIT", "0", "10"]),
    ("geodistance() top 10", ["FT.AGGREGATE", "g", "@loc:[2.35 48.85 100 km]", "LOAD", "1", "@loc", "APPLY",
                              "geodistance(@loc, 2.35, 48.85)", "AS", "d", "SORTBY", "2", "@d", "ASC", "MAX", "10"]),
]

agree = {}
for label, cmd in queries:
    a, b = (redis.Redis(port=p, protocol=2).execute_command(*cmd) for p in ports.values())
    if cmd[0] == "FT.SEARCH" and "WITHSCORES" in cmd:
        ids = lambda r: [r[i] for i in range(1, len(r), 2)]
        sc = lambda r: [float(r[i]) for i in range(2, len(r), 2)]
        same = a[0] == b[0] and ids(a) == ids(b) and all(abs(x - y) <= 1e-9 * max(1, abs(x)) for x, y in zip(sc(a), sc(b)))
    elif cmd[0] == "FT.SEARCH":
        same = a == b
    else:
        same = [sorted(row) for row in a[1:]] == [sorted(row) for row in b[1:]]
    agree[label] = same

rps = alternating_rounds(queries, ports, n, conns, rounds)
lines = ["## GEO, FILTER / GEOFILTER and SLOP / INORDER vs Redis Stack (bench/geo.sh)", "",
         run_line(os.environ), "",
         f"{points} hashes (a GEO point, 70 % around 60 cities and 30 % spread over the world; a TEXT field of Zipf words; "
         "a NUMERIC), the same in both servers. Each query: "
         f"`redis-benchmark -p PORT -n {n} -c {conns} -P 1 --csv -q <command>`, servers alternating, {rounds} rounds, "
         "median requests/s. `same page` = the first page the same on both (ids in order, and scores within 1e-9 where "
         "asked; the aggregate's rows).", ""]
report("bench/results/geo.md", lines, queries, rps, agree, ports)
PY
bash bench/assemble-results.sh >/dev/null
