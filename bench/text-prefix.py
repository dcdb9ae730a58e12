#!/usr/bin/env python3
"""bench/text-prefix.py PORT_A PORT_B — prefix queries on two servers (e.g. vecshard and Redis Stack): loads 50,000 documents of five
random 5-9 letter words (~250k distinct terms) into index `px` on each, compares the matches of a few prefix queries
(MINPREFIX, MAXPREFIXEXPANSIONS) and prints the mean latency of `abc*` and `ab*` (one client, 1 s each). Drops `px` after."""
import random, time, sys, redis
def run(port):
    r = redis.Redis(port=port, protocol=2)
    try: r.execute_command("FT.DROPINDEX", "px", "DD")
    except Exception: pass
    r.execute_command("FT.CREATE", "px", "PREFIX", "1", "px:", "SCHEMA", "t", "TEXT")
    rng = random.Random(5); letters = "abcdefghijklmnopqrstuvwxyz"
    p = r.pipeline(transaction=False)
    for i in range(50000):
        p.hset(f"px:{i}", "t", " ".join("".join(rng.choices(letters, k=rng.randint(5, 9))) for _ in range(5)))
        if i % 2000 == 1999: p.execute()
    p.execute()
    out = {}
    for q in ["q*", "ab*", "abc*", "@t:ab*", "ab* | cd*", "ab* cd*"]:
        res = r.execute_command("FT.SEARCH", "px", q, "NOCONTENT", "LIMIT", "0", "10000")
        out[q] = (res[0], sorted(res[1:]))
    for q in ["abc*", "ab*"]:
        t = time.perf_counter(); n = 0
        while time.perf_counter() - t < 1: r.execute_command("FT.SEARCH", "px", q, "NOCONTENT", "LIMIT", "0", "5"); n += 1
        print(port, q, f"{(time.perf_counter()-t)/n*1000:.2f} ms")
    r.execute_command("FT.DROPINDEX", "px", "DD")
    return out
a, b = run(int(sys.argv[1])), run(int(sys.argv[2]))
for q in a: print(q, a[q][0], b[q][0], "same" if a[q] == b[q] else "DIFFERENT")
