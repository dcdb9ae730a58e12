#!/usr/bin/env python3
"""bench/tiering.py — [tiering] (issue 6): HNSW under a vector memory limit vs the same index all in RAM, plus Redis
Stack's RSS and QPS on the same data, all in one run, with vecbench. Driven by bench/tiering.sh.

Per dataset (pypi-minilm-50k by default; gen_synthetic.py 1,000,000 x 128 L2 with --synthetic / DATASET):
  1. all-RAM: fresh vecshard-server (vector-memory-limit 0), FT.CREATE + load until indexed, FT.INFO
     vector_index_sz_mb (the all-RAM vector footprint) and VmRSS, then one query pass per ef.
  2. for each LIMITS percentage of that footprint: a fresh server with --vector-memory-limit, the same load, wait
     until indexed and INFO tiering `tiering_busy:0`, FT.WARMUP (optional; errors are recorded, not fatal), then the
     same passes; around every pass INFO tiering is read so SSD reads/query and the pool hit ratio are per-pass
     deltas (the server's own p99 field is cumulative and reported as is).
  3. Redis Stack (one instance): create + load, RSS, the same passes.
Writes bench/results/tiering.md (OUT; the new run on top of the earlier ones), raw JSON lines to bench/out/tiering.jsonl, prints the report to stdout.

Env: DATASET pypi|synthetic-1m|both (default pypi; --synthetic = both), DURATION (8 s per pass), EFS (40,80,160,320),
LIMITS (100,50,20,10 percent; empty = no tiered passes), CONNS (2), WARM_S (2 s unrecorded pass before the first
ef, every server), WARMUP (1: send FT.WARMUP idx to tiered servers), STACK (1: Redis Stack pass), BUSY_TIMEOUT
(seconds to wait for tiering_busy:0; 600, synthetic 3600), RESTART (0; 1: after the 20 % passes SHUTDOWN SAVE that
server, restart it on its dir and time it until the index answers again — the issue's "restart <= 0.1x build time"; the
snapshot names the page files, which are reopened, not rebuilt), KEEP (0; 1 keeps
the server dirs), SYNTH_DIR (/var/tmp/vecshard-synth-1m-128-l2), RUN_ROOT (/var/tmp/vecshard-tiering), OUT.
"""
import json, os, signal, shlex, shutil, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vector_server import (REPO, SHARED, STACK, VECSHARD, build_vecbench, cpu_model, free_port, pid_of,  # noqa: E402
                           rss_bytes, run_vecbench, stack, wait_ping)

SYNTH = "--synthetic" in sys.argv[1:]
DATASET = os.environ.get("DATASET", "both" if SYNTH else "pypi")
DURATION = os.environ.get("DURATION", "8")
EFS = [int(x) for x in os.environ.get("EFS", "40,80,160,320").split(",") if x.strip()]
LIMITS = [float(x) for x in os.environ.get("LIMITS", "100,50,20,10").split(",") if x.strip()]
CONNS = os.environ.get("CONNS", "2")
WARM_S = float(os.environ.get("WARM_S", "2"))
WARMUP = os.environ.get("WARMUP", "1") == "1"
USE_STACK = os.environ.get("STACK", "1") == "1"
RESTART = os.environ.get("RESTART", "0") == "1"
KEEP = os.environ.get("KEEP", "0") == "1"
RUN_ROOT = os.environ.get("RUN_ROOT", "/var/tmp/vecshard-tiering")
SYNTH_DIR = os.environ.get("SYNTH_DIR", "/var/tmp/vecshard-synth-1m-128-l2")
OUT = os.environ.get("OUT", os.path.join(REPO, "bench", "results", "tiering.md"))
JSONL = os.path.join(REPO, "bench", "out", "tiering.jsonl")
TARGET_LIMIT = 20.0
MiB = 1048576.0

DATASETS = {
    "pypi": dict(name="pypi-minilm-50k",
                 dir=os.path.normpath(os.environ.get("DATA", os.path.join(SHARED, "data", "pypi-minilm-50k"))),
                 n=50000, dim=384, metric="COSINE", extra="year NUMERIC popular TAG", tsv="base.tsv",
                 fields="year,popular", busy_timeout=600),
    "synthetic-1m": dict(name="synthetic 1M × 128 L2 (gen_synthetic.py --seed 1 --clusters 1000)", dir=SYNTH_DIR,
                         n=1000000, dim=128, metric="L2", extra=None, tsv=None, fields=None, busy_timeout=3600),
}


class BenchError(RuntimeError):
    pass


def log(*a):
    print("tiering:", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- servers

SERVERS = []  # (kind, handle): ("vecshard", Popen) or ("stack", port); stopped on exit


def stop_all():
    while SERVERS:
        kind, h = SERVERS.pop()
        try:
            if kind == "vecshard":
                stop_proc(h)
            else:
                stack("stop", h)
        except Exception as e:  # keep stopping the others
            log(f"stopping {kind}: {e}")


def stop_proc(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill(); p.wait()


def unregister(kind, h):
    try:
        SERVERS.remove((kind, h))
    except ValueError:
        pass


def log_tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:]).rstrip()
    except OSError:
        return "(no log)"


def start_vecshard(port, d, limit):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    cmd = [VECSHARD, "--port", str(port), "--dir", d, "--loglevel", "warning", "--save", ""]
    if limit:
        cmd += ["--vector-memory-limit", str(limit)]
    return launch(cmd, d, limit)


def launch(cmd, d, limit):
    logf = os.path.join(d, "server.log")
    p = subprocess.Popen(cmd, stdout=open(logf, "a"), stderr=subprocess.STDOUT, start_new_session=True)
    SERVERS.append(("vecshard", p))
    port = int(cmd[cmd.index("--port") + 1])
    try:
        wait_ping(port, p, timeout=60)
    except RuntimeError as e:
        stop_proc(p); unregister("vecshard", p)
        hint = (" — does this binary know --vector-memory-limit (the [tiering] server may not have landed yet)?"
                if limit else "")
        raise BenchError(f"{' '.join(map(shlex.quote, cmd))}: {e}{hint}\nserver log:\n{log_tail(logf)}")
    if limit:
        t = info_section(port, "tiering")
        if t.get("vector_memory_limit") != str(limit):
            stop_proc(p); unregister("vecshard", p)
            raise BenchError(f"server started with --vector-memory-limit {limit} but INFO tiering reports "
                             f"vector_memory_limit={t.get('vector_memory_limit', '(missing)')} "
                             f"({len(t)} tiering fields): this binary does not implement tiering yet")
    return p, cmd


def cli(port, *args, timeout=120):
    r = subprocess.run(["redis-cli", "-p", str(port), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return r.stdout.strip()


def info_section(port, section):
    out = {}
    for line in cli(port, "INFO", section).splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def fnum(d, k, default=None):
    try:
        return float(d[k])
    except (KeyError, ValueError, TypeError):
        return default


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:", "RssShmem:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def ft_info(exe, port, label):
    rows, _ = run_vecbench(exe, ["info", "--port", str(port), "--index", "idx"], label)
    return rows[0] if rows else {}


def wait_not_busy(port, proc, timeout):
    t0 = time.time(); last = 0.0; t = {}
    while True:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"server on {port} exited (status {proc.returncode}) while waiting for tiering_busy:0")
        t = info_section(port, "tiering")
        busy = t.get("tiering_busy")
        if busy is None:
            log(f"INFO tiering has no tiering_busy field on {port}; not waiting")
            return time.time() - t0, t
        if busy == "0":
            return time.time() - t0, t
        el = time.time() - t0
        if el > timeout:
            raise BenchError(f"tiering_busy still {busy} after {timeout:.0f} s (BUSY_TIMEOUT): segments="
                             f"{t.get('tiering_segments')}, compaction debt={t.get('tiering_compaction_debt_bytes')} B, "
                             f"seals={t.get('tiering_seals')}, compactions={t.get('tiering_compactions')}")
        if el - last >= 10:
            last = el
            log(f"waiting for tiering_busy:0 on {port}: {el:.0f} s, segments={t.get('tiering_segments')}, "
                f"ram={t.get('tiering_ram_bytes')} B, ssd={t.get('tiering_ssd_bytes')} B")
        time.sleep(0.5)


# ---------------------------------------------------------------- vecbench passes

def busy_timeout(ds):
    return float(os.environ.get("BUSY_TIMEOUT", ds["busy_timeout"]))


def create_load(exe, port, ds, label):
    cmds = []
    create = ["create", "--port", str(port), "--index", "idx", "--prefix", "doc:", "--dim", str(ds["dim"]),
              "--metric", ds["metric"], "--algo", "HNSW", "--m", "16", "--efc", "200"]
    if ds["extra"]:
        create += ["--extra", ds["extra"]]
    rows, cmd = run_vecbench(exe, create, label); cmds.append(cmd)
    if not rows or not rows[-1].get("ok", True):
        raise BenchError(f"FT.CREATE failed on {label}: {rows}")
    load = ["load", "--port", str(port), "--index", "idx", "--prefix", "doc:",
            "--base", os.path.join(ds["dir"], "base.fvecs"), "--conns", "8", "--pipeline", "64", "--wait-docs",
            "--wait-timeout", str(busy_timeout(ds))]
    if ds["tsv"]:
        load += ["--tsv", os.path.join(ds["dir"], ds["tsv"]), "--fields", ds["fields"]]
    rows, cmd = run_vecbench(exe, load, label); cmds.append(cmd)
    ld = rows[-1] if rows else {}
    if ld.get("errors") or ld.get("fatal"):
        raise BenchError(f"load into {label} had errors={ld.get('errors')} fatal={ld.get('fatal')}")
    if not ld.get("waited"):
        raise BenchError(f"{label}: index not ready (FT.INFO indexing / percent_indexed / num_docs) "
                         f"{busy_timeout(ds):.0f} s after the load (BUSY_TIMEOUT): num_docs={ld.get('num_docs')}")
    return ld, cmds


def query_args(port, ds, ef, duration):
    return ["query", "--port", str(port), "--index", "idx", "--prefix", "doc:",
            "--query", os.path.join(ds["dir"], "query.fvecs"), "--gt", os.path.join(ds["dir"], "groundtruth.ivecs"),
            "--k", "10", "--ef", str(ef), "--conns", CONNS, "--pipeline", "1", "--duration", str(duration)]


def query_passes(exe, port, pid, proc, ds, label, tiered):
    """One pass per ef; for tiered servers INFO tiering around each pass gives per-pass deltas."""
    cmds, out = [], []
    if WARM_S > 0:
        run_vecbench(exe, query_args(port, ds, EFS[0], WARM_S), label + " warm")
    for ef in EFS:
        t0 = info_section(port, "tiering") if tiered else {}
        rows, cmd = run_vecbench(exe, query_args(port, ds, ef, DURATION), label); cmds.append(cmd)
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{label}: server exited (status {proc.returncode}) during the ef {ef} pass")
        t1 = info_section(port, "tiering") if tiered else {}
        r = dict(rows[-1]) if rows else {"ef": ef}
        st = proc_status(pid)
        r["rss"] = st.get("VmRSS", 0); r["hwm"] = st.get("VmHWM", 0)
        r["rss_anon"] = st.get("RssAnon", 0); r["rss_file"] = st.get("RssFile", 0)
        if tiered:
            d = lambda k: (fnum(t1, k, 0) or 0) - (fnum(t0, k, 0) or 0)  # noqa: E731
            dq, dr = d("tiering_queries"), d("tiering_ssd_reads")
            r["tiering_queries"] = dq
            r["ssd_reads"] = dr
            r["ssd_reads_per_q"] = dr / dq if dq > 0 else (0.0 if dr == 0 else float("inf"))
            r["ssd_reads_per_executed_q"] = dr / r["queries"] if r.get("queries") else None
            r["ssd_p99_server"] = fnum(t1, "tiering_ssd_reads_per_query_p99")
            h, m = d("tiering_pool_hits"), d("tiering_pool_misses")
            r["hit_ratio"] = h / (h + m) if h + m > 0 else fnum(t1, "tiering_pool_hit_ratio")
            r["read_latency_us_mean"] = fnum(t1, "tiering_read_latency_us_mean")
            r["tiering_after"] = t1
        out.append(r)
        log(f"{label} ef {ef}: recall {r.get('recall', 0):.4f}, {r.get('qps', 0):,.0f} QPS, p99 "
            f"{r.get('lat_p99_ms', 0):.2f} ms" + (f", SSD reads/q {r['ssd_reads_per_q']:.1f}, hit ratio "
                                                  f"{fmt(r['hit_ratio'], '.3f')}" if tiered else "")
            + f", RSS {r['rss'] / MiB:.0f} MiB")
    return out, cmds


# ---------------------------------------------------------------- configurations

def run_vecshard_config(exe, ds, key, pct, footprint, run_dir):
    label = "all-RAM" if pct is None else f"{pct:g} %"
    limit = 0 if pct is None else int(pct / 100.0 * footprint)
    res = {"dataset": key, "label": label, "pct": pct, "limit": limit, "kind": "vecshard"}
    d = os.path.join(run_dir, f"{key}-{'ram' if pct is None else f'limit{pct:g}'}")
    port = free_port()
    log(f"{ds['name']}: {label} (limit {limit:,} B) on port {port}, dir {d}")
    proc, scmd = start_vecshard(port, d, limit)
    res["server_cmd"] = scmd
    try:
        pid = proc.pid
        res["rss_empty"] = proc_status(pid).get("VmRSS", 0)
        ld, cmds = create_load(exe, port, ds, label)
        res["load"] = ld; res["cmds"] = cmds
        if limit:
            res["busy_wait_s"], t = wait_not_busy(port, proc, busy_timeout(ds))
            res["tiering_loaded"] = t
            if WARMUP:
                t0 = time.time()
                reply = cli(port, "FT.WARMUP", "idx", timeout=600)
                res["warmup"] = {"reply": reply[:200], "s": time.time() - t0}
                if reply.startswith(("ERR", "(error)")) or "unknown command" in reply.lower():
                    log(f"FT.WARMUP idx: {reply} (continuing without)")
        res["build_s"] = (ld.get("total_s") or 0) + res.get("busy_wait_s", 0)
        time.sleep(1)
        fi = ft_info(exe, port, label)
        res["ft_info"] = {k: fi.get(k) for k in ("num_docs", "vector_index_sz_mb", "total_index_memory_sz_mb",
                                                  "used_memory", "indexing", "percent_indexed")}
        st = proc_status(pid)
        res["rss_loaded"] = st.get("VmRSS", 0); res["hwm_loaded"] = st.get("VmHWM", 0)
        res["rss_anon_loaded"] = st.get("RssAnon", 0); res["rss_file_loaded"] = st.get("RssFile", 0)
        res["passes"], qc = query_passes(exe, port, pid, proc, ds, label, bool(limit))
        res["cmds"] += qc
        if limit:
            res["tiering_end"] = info_section(port, "tiering")
        res["hwm_end"] = proc_status(pid).get("VmHWM", 0)
        if limit and RESTART and pct == TARGET_LIMIT:
            res["restart"] = restart_check(exe, ds, label, proc, scmd, d, limit, res)
            proc = res["restart"].pop("_proc", proc)
    finally:
        stop_proc(proc); unregister("vecshard", proc)
        if not KEEP:
            shutil.rmtree(d, ignore_errors=True)
    return res


def restart_check(exe, ds, label, proc, scmd, d, limit, res):
    """SHUTDOWN SAVE the server (its snapshot names the tiered index's page files; timed until the process exits),
    start it again on the same dir and limit, time it until FT.INFO idx reports every document with indexing done and
    tiering_busy:0, then one recall pass. Failures are recorded, not fatal."""
    out = {}
    old_port = int(scmd[scmd.index("--port") + 1])
    t0 = time.time()
    reply = ""
    try:
        reply = cli(old_port, "SHUTDOWN", "SAVE", timeout=busy_timeout(ds))  # no reply when it exits, as Redis
        proc.wait(busy_timeout(ds))
    except (subprocess.TimeoutExpired, OSError) as e:
        reply = f"{reply} {e}".strip()
    out["save_s"] = time.time() - t0
    if proc.poll() is None:
        out["error"] = f"SHUTDOWN SAVE did not stop the server ({reply!r})\n{log_tail(os.path.join(d, 'server.log'))}"
        stop_proc(proc); unregister("vecshard", proc)
        return out
    unregister("vecshard", proc)
    dump = os.path.join(d, "dump.rdb")
    out["dump_bytes"] = os.path.getsize(dump) if os.path.exists(dump) else None
    port = free_port()
    cmd = list(scmd); cmd[cmd.index("--port") + 1] = str(port)
    t0 = time.time()
    try:
        p2, _ = launch(cmd, d, limit)
    except BenchError as e:
        out["error"] = str(e); return out
    out["_proc"] = p2
    out["ping_s"] = time.time() - t0
    deadline = t0 + busy_timeout(ds)
    docs = None
    while time.time() < deadline:
        fi = cli(port, "FT.INFO", "idx").splitlines()  # flattened by redis-cli: take the line after a key
        kv = {k: fi[i + 1] for i, k in enumerate(fi[:-1]) if k in ("num_docs", "indexing")}
        docs = kv.get("num_docs")
        if docs is not None and int(float(docs)) >= ds["n"] and kv.get("indexing", "0") == "0" and \
                info_section(port, "tiering").get("tiering_busy", "0") == "0":
            break
        if p2.poll() is not None:
            out["error"] = f"server exited after restart\n{log_tail(os.path.join(d, 'server.log'))}"; return out
        time.sleep(0.1)
    else:
        out["error"] = (f"index not back after {deadline - t0:.0f} s (BUSY_TIMEOUT): FT.INFO idx num_docs={docs}, "
                        f"expected {ds['n']}")
        return out
    out["ready_s"] = time.time() - t0
    out["ratio_to_build"] = out["ready_s"] / res["build_s"] if res.get("build_s") else None
    # Reopened, not rebuilt: a rebuild would write pages and seal again.
    t = info_section(port, "tiering")
    out["pages_written_after_restart"] = t.get("tiering_pages_written")
    out["seals_after_restart"] = t.get("tiering_seals")
    ef = next((p["ef"] for p in res["passes"] if p.get("recall", 0) >= 0.95), EFS[-1])
    rows, _ = run_vecbench(exe, query_args(port, ds, ef, DURATION), label + " restarted")
    out["pass"] = rows[-1] if rows else {}
    return out


def run_stack(exe, ds, key):
    res = {"dataset": key, "label": "Redis Stack", "pct": None, "limit": 0, "kind": "stack"}
    port = free_port()
    log(f"{ds['name']}: Redis Stack on port {port}")
    try:
        stack("start", port)
    except subprocess.CalledProcessError:
        raise BenchError(f"{STACK} start {port} failed (run it by hand to see why)")
    SERVERS.append(("stack", port))
    try:
        wait_ping(port)
        pid = pid_of(port)
        res["rss_empty"] = rss_bytes(pid)
        ld, cmds = create_load(exe, port, ds, "redis-stack")
        res["load"] = ld; res["cmds"] = cmds; res["build_s"] = ld.get("total_s")
        time.sleep(1)
        fi = ft_info(exe, port, "redis-stack")
        res["ft_info"] = {k: fi.get(k) for k in ("num_docs", "vector_index_sz_mb", "total_index_memory_sz_mb",
                                                  "used_memory")}
        st = proc_status(pid)
        res["rss_loaded"] = st.get("VmRSS", 0); res["hwm_loaded"] = st.get("VmHWM", 0)
        res["rss_anon_loaded"] = st.get("RssAnon", 0); res["rss_file_loaded"] = st.get("RssFile", 0)
        res["passes"], qc = query_passes(exe, port, pid, None, ds, "redis-stack", False)
        res["cmds"] += qc
        res["hwm_end"] = proc_status(pid).get("VmHWM", 0)
    finally:
        stack("stop", port); unregister("stack", port)
    return res


def ensure_synthetic():
    if os.path.exists(os.path.join(SYNTH_DIR, "params.json")):
        return
    gen = os.path.join(SHARED, "data", "gen_synthetic.py")
    cmd = ["python3", gen, "--n", "1000000", "--dim", "128", "--clusters", "1000", "--queries", "1000", "--seed", "1",
           "--metric", "l2", "--out", SYNTH_DIR]
    log("generating the synthetic dataset once (about a minute, 2.6 GB of memory): " + " ".join(cmd))
    subprocess.run(cmd, check=True)


def preflight():
    """Fail before spending minutes when the binary has no tiering: start it with a limit on an empty dir."""
    d = os.path.join(RUN_ROOT, f"run-{os.getpid()}", "preflight")
    p, _ = start_vecshard(free_port(), d, 64 << 20)
    stop_proc(p); unregister("vecshard", p)
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- report

def fmt(v, spec, none="–"):
    if v is None:
        return none
    if isinstance(v, float) and v == float("inf"):
        return "∞"
    return format(v, spec)


def ratio(a, b):
    return a / b if a is not None and b else None


def dataset_report(key, ds, results, errors):
    ram = next((r for r in results if r["label"] == "all-RAM"), None)
    ram_by_ef = {p["ef"]: p for p in ram["passes"]} if ram else {}
    fp = ram["ft_info"].get("vector_index_sz_mb") if ram else None
    L = [f"### {ds['name']}", "",
         f"{ds['n']:,} × {ds['dim']} float32, {ds['metric']}, HNSW M 16, EF_CONSTRUCTION 200"
         + (f", `--extra '{ds['extra']}'`" if ds["extra"] else "") + f"; data `{ds['dir']}`. "
         f"All-RAM vector footprint (FT.INFO `vector_index_sz_mb`): **{fmt(fp, '.1f')} MiB**; limits are "
         f"percentages of it.", "",
         "#### Load and memory per server", "",
         "| server | limit MiB | build s (load until indexed + tiering_busy wait) | FT.INFO vector MiB | "
         "tiering RAM / SSD MiB | segments | pool MiB | RSS after load MiB | peak RSS (VmHWM) MiB | RssAnon / RssFile MiB | FT.WARMUP |",
         "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        t = r.get("tiering_loaded") or {}
        wu = r.get("warmup")
        wus = "–" if not wu else (f"{wu['s']:.1f} s" if not wu["reply"].startswith("ERR") and "unknown" not in wu["reply"]
                                  else "error: " + wu["reply"][:60].replace("|", "/"))
        tb = lambda k: fmt(fnum(t, k) / MiB if fnum(t, k) is not None else None, ".1f")  # noqa: E731
        L.append(f"| {r['label']} | {fmt(r['limit'] / MiB, '.1f') if r['limit'] else ('–' if r['kind'] == 'stack' else '0 (∞)')} | "
                 f"{fmt(r.get('build_s'), '.1f')}" + (f" ({r['load'].get('total_s', 0):.1f} + {r['busy_wait_s']:.1f})"
                                                       if 'busy_wait_s' in r else "")
                 + f" | {fmt(r['ft_info'].get('vector_index_sz_mb'), '.1f')} | {tb('tiering_ram_bytes')} / "
                 f"{tb('tiering_ssd_bytes')} | {t.get('tiering_segments', '–')} | {tb('tiering_pool_bytes')} | "
                 f"{r['rss_loaded'] / MiB:.0f} | {max(r.get('hwm_loaded', 0), r.get('hwm_end', 0)) / MiB:.0f} | "
                 f"{r['rss_anon_loaded'] / MiB:.0f} / {r['rss_file_loaded'] / MiB:.0f} | {wus} |")
    L += ["", "#### Queries (k = 10, one pass per ef)", "",
          "| server | ef | recall@10 | QPS | ÷ all-RAM QPS | p99 ms | server µs/q | SSD reads/q (Δ mean / per sent q / server p99) | "
          "pool hit ratio | RSS MiB | ÷ all-RAM RSS | tiering RAM / SSD MiB, segments |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        for p in r["passes"]:
            base = ram_by_ef.get(p.get("ef"), {})
            tiered = "ssd_reads_per_q" in p
            L.append(f"| {r['label']} | {p.get('ef')} | {p.get('recall', 0):.4f} | {p.get('qps', 0):,.0f} | "
                     f"{fmt(ratio(p.get('qps'), base.get('qps')), '.2f')}× | {p.get('lat_p99_ms', 0):.2f} | "
                     f"{fmt(p.get('server_cpu_us_per_query'), '.0f')} | "
                     + (f"{fmt(p['ssd_reads_per_q'], '.1f')} / {fmt(p.get('ssd_reads_per_executed_q'), '.1f')} / "
                        f"{fmt(p.get('ssd_p99_server'), '.0f')}" if tiered else "–")
                     + f" | {fmt(p.get('hit_ratio'), '.3f')} | {p['rss'] / MiB:.0f} | "
                     f"{fmt(ratio(p['rss'], base.get('rss')), '.2f')}× | {tiering_cell(p.get('tiering_after'))} |"
                     + ("" if not p.get("errors") and not p.get("short_results") else
                        f" errors {p.get('errors', 0)}, short {p.get('short_results', 0)}"))
    for e in errors:
        L += ["", f"**{e['label']} failed:** " + e["error"].split("\n")[0], "", "```", e["error"], "```"]
    L += ["", f"#### Targets at {TARGET_LIMIT:g} % (issue 6)", ""]
    L += targets(results, ram_by_ef)
    rs = [r for r in results if r.get("restart")]
    for r in rs:
        x = r["restart"]
        L += ["", f"Restart of the {r['label']} server on its dir (RESTART=1): " +
              (f"failed: {x['error'].splitlines()[0]}" if "error" in x else
               f"SHUTDOWN SAVE took {x.get('save_s', 0):.1f} s (dump {fmt((x.get('dump_bytes') or 0) / MiB, '.1f')} MiB); "
               f"PING after {x['ping_s']:.1f} s, index complete after {x['ready_s']:.1f} s = "
               f"{fmt(x['ratio_to_build'], '.3f')}× its build time ({'PASS' if (x['ratio_to_build'] or 9) <= 0.1 else 'FAIL'}"
               f" ≤ 0.1×; pages written after the restart: {x.get('pages_written_after_restart')}, seals: "
               f"{x.get('seals_after_restart')}); then ef {x['pass'].get('ef')}: recall {x['pass'].get('recall', 0):.4f}, "
               f"{x['pass'].get('qps', 0):,.0f} QPS.")]
    return L


def tiering_cell(t):
    if not t:
        return "–"
    mb = lambda k: fmt(fnum(t, k) / MiB if fnum(t, k) is not None else None, ".1f")  # noqa: E731
    return f"{mb('tiering_ram_bytes')} / {mb('tiering_ssd_bytes')}, {t.get('tiering_segments', '–')}"


def targets(results, ram_by_ef):
    t = next((r for r in results if r.get("pct") == TARGET_LIMIT), None)
    if t is None:
        return [f"_No {TARGET_LIMIT:g} % run in this report (LIMITS), targets not evaluated._"]
    if not ram_by_ef:
        return ["_No all-RAM run, targets not evaluated._"]
    p = next((p for p in t["passes"] if p.get("recall", 0) >= 0.95), None)
    if p is None:
        best = max(t["passes"], key=lambda p: p.get("recall", 0))
        return [f"- recall@10 ≥ 0.95: **FAIL** — no ef in {','.join(map(str, EFS))} reaches it "
                f"(best {best.get('recall', 0):.4f} at ef {best.get('ef')})."]
    base = ram_by_ef.get(p["ef"], {})
    q = ratio(p.get("qps"), base.get("qps")); m = ratio(p["rss"], base.get("rss")); s = p.get("ssd_reads_per_q")
    ok = lambda c: "**PASS**" if c else "**FAIL**"  # noqa: E731
    return [f"- recall@10 ≥ 0.95: lowest ef = **{p['ef']}** (recall {p['recall']:.4f}; all-RAM at that ef "
            f"{base.get('recall', 0):.4f}).",
            f"- QPS ≥ 0.5× all-RAM at ef {p['ef']}: {p.get('qps', 0):,.0f} vs {base.get('qps', 0):,.0f} = "
            f"{fmt(q, '.2f')}× → {ok(q is not None and q >= 0.5)}",
            f"- RSS ≤ 0.35× all-RAM (after the ef {p['ef']} passes): {p['rss'] / MiB:.0f} vs "
            f"{base.get('rss', 0) / MiB:.0f} MiB = {fmt(m, '.2f')}× → {ok(m is not None and m <= 0.35)}",
            f"- ≤ 40 SSD reads/query at ef {p['ef']}: mean {fmt(s, '.1f')} (server p99 {fmt(p.get('ssd_p99_server'), '.0f')})"
            f" → {ok(s is not None and s <= 40)}"]


def write_report(all_results, all_errors, meta):
    L = ["## [tiering] HNSW under a vector memory limit vs all-RAM and Redis Stack (bench/tiering.sh)", "",
         f"Command: `{meta['command']}`; started {meta['start']}, finished {meta['end']}.",
         f"Machine: {meta['cpu']}, {os.cpu_count()} cores, {meta['mem']}, Linux {os.uname().release}; server dirs on "
         f"{meta['fs']}. Binary `{VECSHARD}` built {meta['bin_mtime']}, checkout {meta['git']}.",
         f"Load average (1/5/15 min) before: {meta['load_before']}, after: {meta['load_after']} — a shared 2-core VM: "
         f"client and server share the cores, so QPS is noisy; server µs/q is the steadier cost figure.",
         "",
         f"Method: every server is fresh (own `--dir`, `--save ''`; all-RAM = no `--vector-memory-limit`, i.e. 0) and loaded with `vecbench load --conns 8 --pipeline 64` "
         f"until FT.INFO reports it indexed; tiered servers (`--vector-memory-limit` = percentage × the all-RAM "
         f"`vector_index_sz_mb`) are then waited on until INFO tiering `tiering_busy:0`"
         + (", then sent `FT.WARMUP idx`" if WARMUP else "") + ". "
         + (f"Each server gets an unrecorded {WARM_S:g} s pass at ef {EFS[0]}, then" if WARM_S > 0 else "Each server gets")
         + f" one {DURATION} s pass per ef with "
         f"{CONNS} connections, pipeline 1. The 1,000 queries cycle, so a pass repeats them: the buffer pool sees a "
         f"repeated working set (the hit ratio is an upper bound for unseen queries). SSD reads/q = Δ`tiering_ssd_reads` "
         f"÷ Δ`tiering_queries` (searches that touched SSD) over the pass, per sent q = Δreads ÷ all queries of the "
         f"pass; server p99 = `tiering_ssd_reads_per_query_p99` (cumulative, server's "
         f"own); hit ratio = Δhits ÷ (Δhits + Δmisses). RSS = VmRSS from /proc after the pass (the page cache is never "
         f"in it; mmapped files would show as RssFile); ratios are to the all-RAM server at the same ef. Tiering "
         f"RAM / SSD / segments are INFO tiering after the pass.", ""]
    for key, ds in meta["datasets"]:
        L += dataset_report(key, ds, [r for r in all_results if r["dataset"] == key],
                            [e for e in all_errors if e["dataset"] == key]) + [""]
    L += ["Server and vecbench commands (first dataset, all-RAM; tiered servers add `--vector-memory-limit BYTES`):", "",
          "```"]
    first = next((r for r in all_results if r["kind"] == "vecshard"), None)
    if first:
        L.append(" ".join(map(shlex.quote, first["server_cmd"])))
        L += [" ".join(map(shlex.quote, c)) for c in first["cmds"]]
    L += ["```", ""]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    # The new run goes on top; earlier runs (and the notes written under them) stay below it.
    earlier = ""
    if os.path.exists(OUT):
        with open(OUT) as f:
            earlier = f.read().split("\n", 1)[-1]
    with open(OUT, "w") as f:
        f.write("\n".join(L) + ("\n## Earlier runs\n" + earlier if earlier else ""))
    print("\n".join(L))
    log(f"wrote {OUT}")


# ---------------------------------------------------------------- main

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def main():
    keys = {"pypi": ["pypi"], "synthetic-1m": ["synthetic-1m"], "both": ["pypi", "synthetic-1m"]}.get(DATASET)
    if keys is None:
        raise BenchError(f"DATASET={DATASET}: use pypi, synthetic-1m or both")
    if not EFS:
        raise BenchError("EFS is empty")
    if not os.access(VECSHARD, os.X_OK):
        raise BenchError(f"{VECSHARD} missing: run make build")
    exe = build_vecbench()
    os.makedirs(RUN_ROOT, exist_ok=True)
    run_dir = os.path.join(RUN_ROOT, f"run-{os.getpid()}")
    env_knobs = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in
                         ("DATASET", "DURATION", "EFS", "LIMITS", "CONNS", "WARM_S", "WARMUP", "STACK", "BUSY_TIMEOUT",
                          "RESTART") if k in os.environ)
    meta = {"command": (env_knobs + " " if env_knobs else "") + "bench/tiering.sh" +
                       "".join(" " + shlex.quote(a) for a in sys.argv[1:]),
            "start": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "load_before": open("/proc/loadavg").read().split()[:3],
            "cpu": sh("lscpu | sed -n 's/^Model name: *//p' | head -1") or cpu_model(),
            "mem": sh("awk '/MemTotal/{printf \"%.0f GiB RAM\", $2/1048576}' /proc/meminfo"),
            "fs": sh(f"df -T {shlex.quote(RUN_ROOT)} | awk 'NR==2{{print $2\" (\"$1\")\"}}'") + f" under {RUN_ROOT}",
            "bin_mtime": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(VECSHARD))),
            "git": sh(f"git -C {shlex.quote(REPO)} rev-parse --short HEAD") +
                   (" (with uncommitted changes)" if sh(f"git -C {shlex.quote(REPO)} status --porcelain -uno") else ""),
            "datasets": [(k, DATASETS[k]) for k in keys]}
    meta["load_before"] = " ".join(meta["load_before"])
    if LIMITS:
        preflight()
    else:
        log("LIMITS is empty: all-RAM and Redis Stack passes only")
    results, errors = [], []
    for key in keys:
        ds = DATASETS[key]
        if key == "synthetic-1m":
            ensure_synthetic()
        base = os.path.join(ds["dir"], "base.fvecs")
        if not os.path.exists(base):
            raise BenchError(f"{base} missing (DATA / SYNTH_DIR)")
        ds["n"] = os.path.getsize(base) // (4 + 4 * ds["dim"])  # fvecs: int32 dim + dim float32 per vector
        ram = run_vecshard_config(exe, ds, key, None, 0, run_dir)  # no all-RAM footprint, no point going on
        results.append(ram)
        fp = ram["ft_info"].get("vector_index_sz_mb")
        if not fp:
            raise BenchError(f"FT.INFO idx has no vector_index_sz_mb on the all-RAM server: {ram['ft_info']}")
        for pct in LIMITS:
            try:
                results.append(run_vecshard_config(exe, ds, key, pct, fp * MiB, run_dir))
            except (BenchError, RuntimeError, subprocess.SubprocessError) as e:
                log(f"{pct:g} % failed: {e}")
                errors.append({"dataset": key, "label": f"{pct:g} %", "error": str(e)})
        if USE_STACK:
            try:
                results.append(run_stack(exe, ds, key))
            except (BenchError, RuntimeError, subprocess.SubprocessError) as e:
                log(f"Redis Stack failed: {e}")
                errors.append({"dataset": key, "label": "Redis Stack", "error": str(e)})
    if not KEEP:
        shutil.rmtree(run_dir, ignore_errors=True)
    meta["end"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    meta["load_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
    os.makedirs(os.path.dirname(JSONL), exist_ok=True)
    with open(JSONL, "w") as f:
        for r in results:
            f.write(json.dumps(r, default=str) + "\n")
    write_report(results, errors, meta)
    return 1 if errors else 0


def on_signal(sig, _frame):
    raise SystemExit(128 + sig)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    rc = 2
    try:
        rc = main()
    except (BenchError, RuntimeError, subprocess.SubprocessError) as e:
        print(f"tiering: FAILED: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        rc = 130
    finally:
        stop_all()
        if not KEEP:
            shutil.rmtree(os.path.join(RUN_ROOT, f"run-{os.getpid()}"), ignore_errors=True)
    sys.exit(rc)
