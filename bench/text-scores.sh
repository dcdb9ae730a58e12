#!/usr/bin/env bash
# bench/text-scores.sh — scored FT.SEARCH / FT.AGGREGATE over text vs Redis Stack 7.4.1 (RediSearch 2.10), same run.
#
# Loads the same DOCS documents (three TEXT fields of Zipf-distributed words, a TAG, a NUMERIC, a 16-d vector) into a
# fresh vecshard-server and a fresh Redis Stack, then runs each query shape with redis-benchmark (CONNS clients,
# pipeline 1, N requests), servers alternating, ROUNDS rounds, median requests/s; also checks that the first page of
# each query (ids and scores) is the same on both. Writes bench/results/text-scores.md.
#   env: DOCS (20000) N (4000) CONNS (4) ROUNDS (3) BIN (.build/release/vecshard-server)
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${DOCS:-20000} N=${N:-4000} CONNS=${CONNS:-4} ROUNDS=${ROUNDS:-3}
. bench/anchor-pair.sh
start_anchor_pair text-scores

DOCS=$DOCS N=$N CONNS=$CONNS ROUNDS=$ROUNDS "$PY" - <<'PY'
import os, random, struct, sys, redis
sys.path.insert(0, "bench")
from anchor_rps import alternating_rounds, report, run_line, shown, ports as anchor_ports

docs, n, conns, rounds = (int(os.environ[k]) for k in ("DOCS", "N", "CONNS", "ROUNDS"))
ports = anchor_ports(os.environ)
rng = random.Random(11)
vocab = [f"w{i}" for i in range(2000)] + ["running", "runs", "run", "apples", "apple", "search", "searching"]
weights = [1 / (i + 1) for i in range(len(vocab))]

def words(k):
    return " ".join(rng.choices(vocab, weights, k=k))

for name, port in ports.items():
    r = redis.Redis(port=port, protocol=2)
    r.execute_command("FT.CREATE", "t", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "title", "TEXT", "WEIGHT", "2",
                      "body", "TEXT", "note", "TEXT", "tag", "TAG", "n", "NUMERIC",
                      "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", "16", "DISTANCE_METRIC", "COSINE")
state = rng.getstate()
for name, port in ports.items():
    rng.setstate(state)
    r = redis.Redis(port=port, protocol=2)
    p = r.pipeline(transaction=False)
    for i in range(docs):
        p.hset(f"doc:{i}", mapping={"title": words(rng.randint(2, 6)), "body": words(rng.randint(20, 60)),
                                      "note": words(rng.randint(0, 8)), "tag": rng.choice(["a", "b", "c"]),
                                      "n": rng.randint(0, 100),
                                      "v": struct.pack("16f", *[rng.random() for _ in range(16)])})
        if i % 1000 == 999:
            p.execute()
    p.execute()

queries = [
    ("one term", ["FT.SEARCH", "t", "w7", "WITHSCORES", "NOCONTENT"]),
    ("redisvl TextQuery (union of 3, BM25STD)", ["FT.SEARCH", "t", "@body:(w3 | running | w40)", "SCORER", "BM25STD",
                                                 "WITHSCORES", "NOCONTENT", "DIALECT", "2"]),
    ("union of 5 terms, TFIDF", ["FT.SEARCH", "t", "w3|w9|w27|w81|w243", "WITHSCORES", "NOCONTENT"]),
    ("phrase", ["FT.SEARCH", "t", '"w0 w1"', "WITHSCORES", "NOCONTENT"]),
    ("tag filter, ordered by score", ["FT.SEARCH", "t", "@tag:{a}", "WITHSCORES", "NOCONTENT"]),
    ("wildcard, ordered by score", ["FT.SEARCH", "t", "*", "WITHSCORES", "NOCONTENT"]),
    ("FT.AGGREGATE ADDSCORES + SORTBY @__score", ["FT.AGGREGATE", "t", "w5|apples", "ADDSCORES", "SORTBY", "2",
                                                  "@__score", "DESC", "MAX", "10"]),
]

def page(port, cmd):
    reply = redis.Redis(port=port, protocol=2).execute_command(*cmd)
    return reply

agree = {}
for label, cmd in queries:
    a, b = (page(p, cmd) for p in ports.values())
    if cmd[0] == "FT.SEARCH":
        ids = lambda r: [r[i] for i in range(1, len(r), 2)]
        sc = lambda r: [float(r[i]) for i in range(2, len(r), 2)]
        same = a[0] == b[0] and ids(a) == ids(b) and all(abs(x - y) <= 1e-9 * max(1, abs(x)) for x, y in zip(sc(a), sc(b)))
    else:
        same = [sorted(row) for row in a[1:]] == [sorted(row) for row in b[1:]] or \
            [float(dict(zip(r[::2], r[1::2]))[b"__score"]) for r in a[1:]] == \
            [float(dict(zip(r[::2], r[1::2]))[b"__score"]) for r in b[1:]]
    agree[label] = same

rps = alternating_rounds(queries, ports, n, conns, rounds)
lines = ["## Scored text queries vs Redis Stack (bench/text-scores.sh)", "",
         run_line(os.environ), "",
         f"{docs} documents (TEXT title WEIGHT 2 / body / note of Zipf words, TAG, NUMERIC, 16-d HNSW vector), the same "
         "in both servers. Each query: "
         f"`redis-benchmark -p PORT -n {n} -c {conns} -P 1 --csv -q <command>`, servers alternating, {rounds} rounds, "
         "median requests/s. `same page` = the first page's ids in the same order and scores within 1e-9 on both.", ""]
report("bench/results/text-scores.md", lines, queries, rps, agree, ports)
PY
bash bench/assemble-results.sh >/dev/null
