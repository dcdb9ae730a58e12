#!/usr/bin/env python3
"""bench/vector_server.py — VecShard vs Redis Stack (RediSearch 2.10) on pypi-minilm-50k, in one run, with vecbench.

Servers, each fresh: VecShard (one node, both cores), one Redis Stack, and two Redis Stack instances holding half the
data each, queried with client-side fan-out (what a Redis Stack user does to use two cores). For each: ingest rate
until indexed, RSS per document (VmRSS from /proc), KNN recall@10 / QPS / p99 for every ef with 2 connections, the two
filtered query sets against their filtered ground truth, and server CPU per query. Writes JSON lines to bench/out/ and
the table to bench/results/vector-server.md. Usage: bench/vector-server.sh [--quick]
"""
import json, os, subprocess, sys, time, socket, shutil, tempfile, platform

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("SHARED", os.path.join(REPO, "..", "shared"))
DATA = os.environ.get("DATA", os.path.join(SHARED, "data", "pypi-minilm-50k"))
STACK = os.environ.get("REDIS_STACK_SH", os.path.join(SHARED, "bench", "redis-stack.sh"))
VECSHARD = os.environ.get("VECSHARD_BIN", os.path.join(REPO, ".build", "release", "vecshard-server"))
QUICK = "--quick" in sys.argv
EFS = os.environ.get("EFS", "10,20,40,44,48,56,80,160,320")
DURATION = os.environ.get("DURATION", "4" if QUICK else "8")
CONNS = os.environ.get("CONNS", "2")
OUT_DIR = os.path.join(REPO, "bench", "out")
# A --quick run (20,000 documents, recall against the 50k ground truth) is a smoke test: it goes to bench/out/.
RESULT_MD = os.path.join(REPO, "bench", "out" if QUICK else "results", "vector-server.md")


def log(*a):
    print("vector-server:", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def build_vecbench():
    dst = os.path.join(REPO, "bench", "vecbench-build")
    exe = os.path.join(dst, "vecbench")
    if not os.path.exists(exe):
        os.makedirs(dst, exist_ok=True)
        for f in ("vecbench.c", "Makefile"):
            shutil.copy(os.path.join(SHARED, "bench", f), dst)
        subprocess.run(["make", "-C", dst], check=True, stdout=subprocess.DEVNULL)
    return exe


def wait_ping(port, proc=None, timeout=20):
    t0 = time.time()
    while time.time() - t0 < timeout:
        r = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited")
        time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not answer PING")


def pid_of(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "info", "server"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("process_id:"):
            return int(line.split(":")[1])


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run_vecbench(exe, args, label):
    cmd = [exe] + args + ["--label", label]
    log(" ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    rows = [json.loads(l[5:]) for l in r.stdout.splitlines() if l.startswith("JSON ")]
    if r.returncode != 0 and not rows:
        log(r.stdout[-2000:], r.stderr[-2000:])
        raise RuntimeError(f"vecbench failed: {' '.join(cmd)}")
    return rows, cmd


def bench_target(exe, label, ports):
    """ports: one port (single server) or several (client-side shards)."""
    commands = []
    target = ["--port", str(ports[0])] if len(ports) == 1 else ["--shards", ",".join(f"127.0.0.1:{p}" for p in ports)]
    results = {"label": label}
    pids = [pid_of(p) for p in ports]
    rss0 = sum(rss_bytes(p) for p in pids)
    rows, cmd = run_vecbench(exe, ["create"] + target + ["--index", "idx", "--prefix", "doc:", "--dim", "384", "--metric", "COSINE",
                                   "--algo", "HNSW", "--m", "16", "--efc", "200", "--extra", "year NUMERIC popular TAG"], label)
    commands.append(cmd)
    rows, cmd = run_vecbench(exe, ["load"] + target + ["--index", "idx", "--prefix", "doc:", "--base", os.path.join(DATA, "base.fvecs"),
                                   "--tsv", os.path.join(DATA, "base.tsv"), "--fields", "year,popular", "--conns", "8", "--pipeline", "64"]
                             + (["--limit", "20000"] if QUICK else []), label)
    commands.append(cmd)
    results["load"] = rows[-1] if rows else {}
    time.sleep(1)
    rss1 = sum(rss_bytes(p) for p in pids)
    ndocs = 20000 if QUICK else 50000
    results["rss_per_doc"] = (rss1 - rss0) / ndocs
    results["rss_total"] = rss1
    fan = ["--fanout"] if len(ports) > 1 else []
    gt = os.path.join(DATA, "groundtruth.ivecs")
    rows, cmd = run_vecbench(exe, ["query"] + target + fan + ["--index", "idx", "--prefix", "doc:", "--query", os.path.join(DATA, "query.fvecs"),
                                   "--gt", gt, "--k", "10", "--ef", EFS, "--conns", CONNS, "--pipeline", "1", "--duration", DURATION], label)
    commands.append(cmd)
    results["knn"] = rows
    for name, expr, gtf in (("year>=2020", "@year:[2020 +inf]", "groundtruth.year2020.ivecs"),
                            ("popular", "@popular:{yes}", "groundtruth.popular.ivecs")):
        rows, cmd = run_vecbench(exe, ["query"] + target + fan + ["--index", "idx", "--prefix", "doc:", "--query", os.path.join(DATA, "query.fvecs"),
                                       "--gt", os.path.join(DATA, gtf), "--filter", expr, "--gt-filtered", os.path.join(DATA, gtf), "--k", "10",
                                       "--ef", "40,160", "--conns", CONNS, "--pipeline", "1", "--duration", DURATION], label)
        commands.append(cmd)
        results["filter " + name] = rows
    return results, commands


def start_vecshard(port, tmp):
    d = os.path.join(tmp, f"vs-{port}"); os.makedirs(d)
    p = subprocess.Popen([VECSHARD, "--port", str(port), "--dir", d, "--loglevel", "warning", "--save", ""],
                         stdout=open(os.path.join(d, "log"), "w"), stderr=subprocess.STDOUT)
    wait_ping(port, p)
    return p


def stack(cmd, port, *extra):
    subprocess.run(["bash", STACK, cmd, str(port), *extra], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    exe = build_vecbench()
    os.makedirs(OUT_DIR, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vecshard-vbench.")
    all_results, all_commands = [], []
    try:
        port = free_port()
        vs = start_vecshard(port, tmp)
        try:
            r, c = bench_target(exe, "vecshard", [port]); all_results.append(r); all_commands += c
        finally:
            vs.terminate(); vs.wait()
        p1 = free_port(); stack("start", p1); wait_ping(p1)
        try:
            r, c = bench_target(exe, "redis-stack", [p1]); all_results.append(r); all_commands += c
        finally:
            stack("stop", p1)
        pa, pb = free_port(), free_port()
        stack("start", pa); stack("start", pb); wait_ping(pa); wait_ping(pb)
        try:
            r, c = bench_target(exe, "redis-stack x2 fan-out", [pa, pb]); all_results.append(r); all_commands += c
        finally:
            stack("stop", pa); stack("stop", pb)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with open(os.path.join(OUT_DIR, "vector-server.jsonl"), "w") as f:
        for r in all_results:
            f.write(json.dumps(r) + "\n")
    write_markdown(all_results, all_commands, stamp)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def write_markdown(results, commands, stamp):
    by = {r["label"]: r for r in results}
    vs, rs, fan = by.get("vecshard"), by.get("redis-stack"), by.get("redis-stack x2 fan-out")
    lines = ["## Vector search server: VecShard vs Redis Stack 7.4.1 / RediSearch 2.10.5 (pypi-minilm-50k)", "",
             f"Run {stamp} on {cpu_model()}, {os.cpu_count()} cores; `bench/vector-server.sh{' --quick' if QUICK else ''}`."
             f" HNSW M 16, EF_CONSTRUCTION 200, COSINE, 384-d, {'20,000' if QUICK else '50,000'} docs with `year NUMERIC popular TAG`;"
             f" queries with {CONNS} connections, pipeline 1, {DURATION} s per pass.", "",
             "### Ingest and memory", "",
             "| server | load vec/s (until indexed) | send vec/s | RSS per doc (bytes) | ratio to Redis Stack |",
             "| --- | --- | --- | --- | --- |"]
    for r in results:
        ld = r.get("load", {})
        rate = ld.get("total_vps", 0)
        ratio = (rate / rs["load"]["total_vps"]) if rs and rs.get("load", {}).get("total_vps") else 0
        mem_ratio = r["rss_per_doc"] / rs["rss_per_doc"] if rs and rs["rss_per_doc"] else 0
        lines.append(f"| {r['label']} | {rate:,.0f} ({ratio:.2f}×) | {ld.get('send_vps', 0):,.0f} | {r['rss_per_doc']:,.0f} | {mem_ratio:.2f}× |")
    lines += ["", "### KNN k=10 (unfiltered)", "", "| ef | " + " | ".join(f"{r['label']} recall / QPS / p99 ms / server µs per q" for r in results)
              + " | VecShard QPS ÷ Redis Stack | ÷ fan-out |", "|" + " --- |" * (2 + len(results) + 1)]
    def rows_by_ef(r, key="knn"):
        return {row.get("ef"): row for row in r.get(key, [])}
    efs = sorted({row.get("ef") for r in results for row in r.get("knn", []) if row.get("ef") is not None})
    for ef in efs:
        cells, qps = [], {}
        for r in results:
            row = rows_by_ef(r).get(ef, {})
            qps[r["label"]] = row.get("qps", 0)
            cells.append(f"{row.get('recall', 0):.4f} / {row.get('qps', 0):,.0f} / {row.get('lat_p99_ms', 0):.2f} / {row.get('server_cpu_us_per_query', 0):.0f}")
        a = qps.get("vecshard", 0); b = qps.get("redis-stack", 0) or 1; c = qps.get("redis-stack x2 fan-out", 0) or 1
        lines.append(f"| {ef} | " + " | ".join(cells) + f" | {a / b:.2f}× | {a / c:.2f}× |")
    # The issue's target reads "at recall@10 >= 0.95": each server at the cheapest ef of the sweep that reaches it.
    lines += ["", "### At recall@10 ≥ 0.95 (each server at its lowest ef reaching it)", "",
              "| server | ef | recall | QPS | VecShard ÷ this |", "| --- | --- | --- | --- | --- |"]
    at95 = {}
    for r in results:
        ok = [row for row in sorted(r.get("knn", []), key=lambda x: x.get("ef") or 0) if row.get("recall", 0) >= 0.95]
        if ok: at95[r["label"]] = ok[0]
    for r in results:
        row = at95.get(r["label"])
        if not row: lines.append(f"| {r['label']} | — | — | — | — |"); continue
        mine = at95.get("vecshard", {}).get("qps", 0)
        lines.append(f"| {r['label']} | {row['ef']} | {row['recall']:.4f} | {row['qps']:,.0f} | {mine / (row['qps'] or 1):.2f}× |")
    for key in ("filter year>=2020", "filter popular"):
        lines += ["", f"### Filtered KNN: {key[7:]}", "", "| ef | " + " | ".join(f"{r['label']} recall / QPS" for r in results) + " | ratio to Redis Stack |",
                  "|" + " --- |" * (2 + len(results))]
        efs2 = sorted({row.get("ef") for r in results for row in r.get(key, []) if row.get("ef") is not None})
        for ef in efs2:
            cells, qps = [], {}
            for r in results:
                row = rows_by_ef(r, key).get(ef, {})
                qps[r["label"]] = row.get("qps", 0)
                cells.append(f"{row.get('recall', 0):.4f} / {row.get('qps', 0):,.0f}")
            lines.append(f"| {ef} | " + " | ".join(cells) + f" | {qps.get('vecshard', 0) / (qps.get('redis-stack', 0) or 1):.2f}× |")
    lines += ["", "Commands (vecbench, in this order per server):", "", "```"] + [" ".join(c) for c in commands] + ["```", ""]
    os.makedirs(os.path.dirname(RESULT_MD), exist_ok=True)
    # The new run goes on top; earlier runs (and the notes written under them) stay below it.
    earlier = ""
    if not QUICK and os.path.exists(RESULT_MD):
        with open(RESULT_MD) as f:
            earlier = f.read().split("\n", 1)[-1]
    with open(RESULT_MD, "w") as f:
        f.write("\n".join(lines) + ("\n### Earlier runs\n" + earlier if earlier else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
