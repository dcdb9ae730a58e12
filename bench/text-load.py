"""bench/text-load.py PORT [DOCS] — indexing speed and memory of TEXT documents: loads DOCS Zipf documents (the text-scores.sh
vocabulary, three TEXT fields, TAG, NUMERIC; no vector), then rewrites the body of a third of them (an update takes the
document out of its terms' lists and puts it back), and prints docs/s for both and the server's RSS and used_memory.
Start an empty server first; Redis Stack works too."""
import time, sys, redis
from zipf_text import SCHEMA, word_source
port = int(sys.argv[1]); docs = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
rng, words = word_source()
r = redis.Redis(port=port, protocol=2)
r.execute_command("FT.CREATE", "t", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", *SCHEMA)
cmds = []
for i in range(docs):
    cmds.append((f"doc:{i}", {"title": words(rng.randint(2, 6)), "body": words(rng.randint(20, 60)), "note": words(rng.randint(0, 8)), "tag": rng.choice(["a", "b", "c"]), "n": rng.randint(0, 100)}))
t = time.perf_counter()
p = r.pipeline(transaction=False)
for i, (k, m) in enumerate(cmds):
    p.hset(k, mapping=m)
    if i % 1000 == 999: p.execute()
p.execute()
load = time.perf_counter() - t
# rewrite a third of the documents (updates go through removal + re-add)
t = time.perf_counter()
for i, (k, m) in enumerate(cmds[: docs // 3]):
    p.hset(k, mapping={"body": words(rng.randint(20, 60))})
    if i % 1000 == 999: p.execute()
p.execute()
upd = time.perf_counter() - t
pid = r.info("server")["process_id"]
rss = int([l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1])
print(f"port {port}: load {docs/load:.0f} docs/s, update {docs//3/upd:.0f} docs/s, RSS {rss/1024:.1f} MiB, used_memory {r.info('memory')['used_memory']/1048576:.1f} MiB")
