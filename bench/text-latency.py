#!/usr/bin/env python3
"""bench/text-latency.py PORT [DOCS] — per-query latency of the text-scores.sh queries on one server (one client, 1.5 s
loop each, mean ms). Loads the same Zipf documents first (index `t`, prefix `doc:`), so start an empty server.
Used for the before/after table in bench/results/text-scores.md; run it against each binary and Redis Stack."""
import struct, time, sys, redis
from zipf_text import SCHEMA, VECTOR_FIELD, word_source
port = int(sys.argv[1]); docs = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
rng, words = word_source()
r = redis.Redis(port=port, protocol=2)
r.execute_command("FT.CREATE", "t", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", *SCHEMA, *VECTOR_FIELD)
p = r.pipeline(transaction=False)
for i in range(docs):
    p.hset(f"doc:{i}", mapping={"title": words(rng.randint(2, 6)), "body": words(rng.randint(20, 60)),
                                  "note": words(rng.randint(0, 8)), "tag": rng.choice(["a", "b", "c"]),
                                  "n": rng.randint(0, 100), "v": struct.pack("16f", *[rng.random() for _ in range(16)])})
    if i % 1000 == 999: p.execute()
p.execute()
qs = [["FT.SEARCH", "t", "w7", "WITHSCORES", "NOCONTENT"],
      ["FT.SEARCH", "t", "@body:(w3 | running | w40)", "SCORER", "BM25STD", "WITHSCORES", "NOCONTENT", "DIALECT", "2"],
      ["FT.SEARCH", "t", "w3|w9|w27|w81|w243", "WITHSCORES", "NOCONTENT"],
      ["FT.SEARCH", "t", '"w0 w1"', "WITHSCORES", "NOCONTENT"],
      ["FT.SEARCH", "t", "w0 w1", "WITHSCORES", "NOCONTENT"],
      ["FT.SEARCH", "t", "@tag:{a}", "WITHSCORES", "NOCONTENT"],
      ["FT.SEARCH", "t", "*", "WITHSCORES", "NOCONTENT"],
      ["FT.AGGREGATE", "t", "w5|apples", "ADDSCORES", "SORTBY", "2", "@__score", "DESC", "MAX", "10"]]
for q in qs:
    t = time.perf_counter(); n = 0
    while time.perf_counter() - t < 1.5 and n < 200:
        r.execute_command(*q); n += 1
    print(f"{(time.perf_counter() - t) / n * 1000:8.2f} ms  {' '.join(q[2:4])}")
