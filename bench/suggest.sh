#!/usr/bin/env bash
# bench/suggest.sh — FT.SUGGET autocomplete throughput, load time and RSS of VecShard vs Redis Stack 7.4.1
# (RediSearch 2.10.5), same dictionary, same run.
#
# Loads the 50,000 PyPI package names of ../shared/data/pypi-minilm-50k/base.tsv into one suggestion dictionary
# (FT.SUGADD names <name> <score>, score = max(year - 2004, 1) + 50 if popular + (id % 100) / 100) in a fresh
# vecshard-server and a fresh Redis Stack, pipelined with `redis-cli --pipe`; then runs each FT.SUGGET shape with
# redis-benchmark (CONNS clients, pipeline 1, N requests), servers alternating, ROUNDS rounds, median requests/s, and
# checks that the first reply of each shape is byte-for-byte the same on both (RESP2). Never sends TRIM (it crashes
# RediSearch 2.10.5). Writes bench/results/suggest.md.
#   env: N (20000) CONNS (4) ROUNDS (3) DELETES (500) VECSHARD_BIN or BIN (.build/release/vecshard-server)
#        DATA (../shared/data/pypi-minilm-50k)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000} CONNS=${CONNS:-4} ROUNDS=${ROUNDS:-3} DELETES=${DELETES:-500} DATA=${DATA:-../shared/data/pypi-minilm-50k}
BIN=${BIN:-${VECSHARD_BIN:-.build/release/vecshard-server}}
[ -f "$DATA/base.tsv" ] || { echo "missing $DATA/base.tsv" >&2; exit 1; }
. bench/anchor-pair.sh
start_anchor_pair suggest

COMMIT="checkout HEAD $(git rev-parse --short HEAD) (committed $(TZ=UTC git log -1 --format=%cd --date=format-local:'%Y-%m-%d %H:%M UTC')); binary last modified $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC')"
[ -n "$(git status --porcelain -- Sources Package.swift 2>/dev/null)" ] && COMMIT="$COMMIT; Sources/ had uncommitted changes"
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
CMDLINE="$(for v in N CONNS ROUNDS DELETES; do printf '%s=%s ' "$v" "${!v}"; done)VECSHARD_BIN=$BIN bench/suggest.sh"
export COMMIT CPU CMDLINE NPROC="$(nproc)" WORK="$work"

N=$N CONNS=$CONNS ROUNDS=$ROUNDS DELETES=$DELETES DATA=$DATA "$PY" - <<'PY'
import csv, os, statistics, subprocess, sys, time, redis
sys.path.insert(0, "bench")
from anchor_rps import alternating_rounds, run_line, shown, ports as anchor_ports

n, conns, rounds = (int(os.environ[k]) for k in ("N", "CONNS", "ROUNDS"))
ports = anchor_ports(os.environ)
KEY = "names"
with open(os.path.join(os.environ["DATA"], "base.tsv"), newline="") as f:
    rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def score(row) -> str:
    year = int(row["year"] or 0)
    return f"{max(year - 2004, 1) + (50 if row['popular'] == 'yes' else 0) + int(row['id']) % 100 / 100:g}"


def resp(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


pipe_file = os.path.join(os.environ["WORK"], "sugadd.resp")
with open(pipe_file, "wb") as f:
    for row in rows:
        f.write(resp("FT.SUGADD", KEY, row["name"], score(row)))

load_s, rss_before, rss_after, size = {}, {}, {}, {}
for name, port in ports.items():
    r = redis.Redis(port=port, protocol=2, socket_timeout=600)
    rss_before[name] = int(r.info("memory")["used_memory_rss"]) / 2**20
    t0 = time.time()
    with open(pipe_file, "rb") as f:
        out = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, capture_output=True, text=True,
                             check=True).stdout
    load_s[name] = time.time() - t0
    if "errors: 0," not in out:
        sys.exit(f"{name}: redis-cli --pipe reported errors:\n{out}")
    size[name] = r.execute_command("FT.SUGLEN", KEY)
    time.sleep(0.5)
    rss_after[name] = int(r.info("memory")["used_memory_rss"]) / 2**20
if len(set(size.values())) != 1:
    sys.exit(f"FT.SUGLEN differs after the load: {size}")

# (label, command, requests per redis-benchmark run): the trie walk of a 1-rune FUZZY lookup gets fewer requests.
queries = [
    ("1-char prefix `p`", ["FT.SUGGET", KEY, "p"], n),
    ("3-char prefix `dja`", ["FT.SUGGET", KEY, "dja"], n),
    ("5-char prefix `flask`", ["FT.SUGGET", KEY, "flask"], n),
    ("FUZZY `djnago` (a transposition: 2 edits, no match)", ["FT.SUGGET", KEY, "djnago", "FUZZY"], n),
    ("FUZZY `djangp` (1 substitution)", ["FT.SUGGET", KEY, "djangp", "FUZZY"], n),
    ("WITHSCORES MAX 10 `py`", ["FT.SUGGET", KEY, "py", "WITHSCORES", "MAX", "10"], n),
    ("FUZZY 1-char `p` MAX 10 (walks the whole trie)", ["FT.SUGGET", KEY, "p", "FUZZY", "MAX", "10"], max(n // 50, 100)),
]
assert not any(a.upper() == "TRIM" for _, cmd, _ in queries for a in cmd)

first = {}
for label, cmd, _ in queries:
    ours, theirs = (redis.Redis(port=ports[k], protocol=2, socket_timeout=600).execute_command(*cmd) for k in ("vecshard", "Redis Stack 7.4.1"))
    first[label] = ("identical" if ours == theirs else "DIFFERENT") + ("" if theirs else " (empty)")
    if ours != theirs:
        print("DIFFERENT FIRST REPLY:", label, "\n  ours ", ours[:12], "\n  stack", theirs[:12], file=sys.stderr)

rps = {}
for label, cmd, count in queries:
    rps.update(alternating_rounds([(label, cmd)], ports, count, conns, rounds))
o, s = "vecshard", "Redis Stack 7.4.1"

# After the lookups: DELETES pipelined FT.SUGDEL of existing names (then added back), timed on each server.
deletes = int(os.environ.get("DELETES", "500"))
victims = rows[::max(len(rows) // deletes, 1)][:deletes]
del_s = {}
for name, port in ports.items():
    r = redis.Redis(port=port, protocol=2, socket_timeout=600)
    p = r.pipeline(transaction=False)
    for row in victims:
        p.execute_command("FT.SUGDEL", KEY, row["name"])
    t0 = time.time()
    gone = sum(p.execute())
    del_s[name] = time.time() - t0
    p = r.pipeline(transaction=False)
    for row in victims:
        p.execute_command("FT.SUGADD", KEY, row["name"], score(row))
    p.execute()
    print(f"{name}: {gone} of {len(victims)} deleted in {del_s[name]:.2f} s", file=sys.stderr)
lines = ["## FT.SUGGET autocomplete vs Redis Stack (bench/suggest.sh)", "",
         run_line(os.environ), "",
         f"Command: `{os.environ['CMDLINE']}`. Machine: {os.environ['CPU']}, nproc {os.environ['NPROC']}. "
         f"Commit: {os.environ['COMMIT']}.", "",
         f"{size[o]:,} suggestions in one dictionary: the {len(rows):,} PyPI package names of `pypi-minilm-50k/base.tsv` "
         "(`FT.SUGADD names <name> <score>`, score = max(year - 2004, 1) + 50 if popular + (id % 100) / 100), loaded "
         "into each server with `redis-cli --pipe` (one connection, all 50,000 commands). Each query: "
         f"`redis-benchmark -p PORT -n {n} -c {conns} -P 1 --csv -q <command>`, servers alternating, {rounds} rounds, "
         "median requests/s (the full-trie FUZZY walk: "
         f"`-n {max(n // 50, 100)}`). `first reply` = the reply to the command sent once before the runs, compared byte for "
         "byte (RESP2).", "",
         "| | vecshard | Redis Stack | ratio |", "|---|---|---|---|",
         f"| load time (redis-cli --pipe) | {load_s[o]:.3f} s | {load_s[s]:.3f} s | {load_s[o] / load_s[s]:.2f}x |",
         f"| {len(victims)} FT.SUGDEL, one pipeline (after the lookups) | {del_s[o]:.3f} s | {del_s[s]:.3f} s | "
         f"{del_s[o] / del_s[s]:.2f}x |",
         f"| RSS before load (`used_memory_rss`) | {rss_before[o]:.0f} MB | {rss_before[s]:.0f} MB | |",
         f"| RSS after load | {rss_after[o]:.0f} MB | {rss_after[s]:.0f} MB | {rss_after[o] / rss_after[s]:.2f}x |",
         f"| RSS added by the load | {rss_after[o] - rss_before[o]:.1f} MB | {rss_after[s] - rss_before[s]:.1f} MB | "
         f"{(rss_after[o] - rss_before[o]) / max(rss_after[s] - rss_before[s], 0.1):.2f}x |", "",
         "| query | command | vecshard rps | Redis Stack rps | ratio vecshard/Stack | first reply |",
         "|---|---|---|---|---|---|"]
for label, cmd, _ in queries:
    ours, theirs = (statistics.median(rps[label][name]) for name in (o, s))
    lines.append(f"| {label} | `{shown(cmd)}` | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}x | {first[label]} |")
lines += ["", "Per-round requests/s (vecshard / Redis Stack): " + "; ".join(
    f"{label}: {', '.join(f'{a:,.0f}' for a in rps[label][o])} / {', '.join(f'{b:,.0f}' for b in rps[label][s])}"
    for label, _, _ in queries) + "."]
open("bench/results/suggest.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
bash bench/assemble-results.sh >/dev/null
