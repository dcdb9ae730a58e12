"""Shared by the benchmarks that run redis-benchmark against VecShard and Redis Stack in the same run."""
import csv
import subprocess


def requests_per_second(port: int, cmd: list[str], n: int, conns: int) -> float:
    """One `redis-benchmark --csv` run of `cmd` (pipeline 1): its requests/s. The CSV is parsed as CSV: a command
    holding a comma (`geodistance(@loc, 2.35, 48.85)`) is one quoted field."""
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n), "-c", str(conns), "-P", "1", "--csv", "-q",
                          *cmd], capture_output=True, text=True, check=True).stdout
    rows = [r for r in csv.reader(out.strip().splitlines()) if r and r[0] != "test"]
    return float(rows[-1][1])


def shown(cmd: list[str]) -> str:
    """A command for a Markdown table cell."""
    return " ".join(c if " " not in c and "|" not in c else repr(c) for c in cmd).replace("|", "\\|")


def alternating_rounds(queries: list[tuple[str, list[str]]], ports: dict[str, int], n: int, conns: int,
                       rounds: int) -> dict[str, dict[str, list[float]]]:
    """Requests/s per query label and server: every query on every server in turn, `rounds` times (so both servers
    see the same machine noise)."""
    rps = {label: {name: [] for name in ports} for label, _ in queries}
    for _ in range(rounds):
        for label, cmd in queries:
            for name, port in ports.items():
                rps[label][name].append(requests_per_second(port, cmd, n, conns))
    return rps


def ports(environ) -> dict[str, int]:
    """The two servers start_anchor_pair started, by the name reports show."""
    return {"vecshard": int(environ["OURS"]), "Redis Stack 7.4.1": int(environ["STACK"])}


def run_line(environ) -> str:
    """When, which binary, which machine and its load: the line each report starts with."""
    import os
    load_after = open("/proc/loadavg").read().split()[:3]
    return (f"Run: {environ['STARTED']}, binary `{environ['BIN']}`; machine: {os.uname().nodename}, {os.cpu_count()} "
            f"cores, Linux {os.uname().release}; load average before {environ['LOAD_BEFORE']}, after {' '.join(load_after)}.")


def report(path: str, lines: list[str], queries: list[tuple[str, list[str]]], rps: dict[str, dict[str, list[float]]],
           agree: dict[str, bool], ports: dict[str, int]) -> None:
    """Appends the table (median requests/s of each server, their ratio, whether the first pages agreed) to the
    report's opening `lines`, writes it to `path` and prints it."""
    import statistics
    lines = lines + ["| query | command | vecshard rps | Redis Stack rps | ratio | same page |", "|---|---|---|---|---|---|"]
    for label, cmd in queries:
        ours, theirs = (statistics.median(rps[label][name]) for name in ports)
        lines.append(f"| {label} | `{shown(cmd)}` | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}x | "
                     f"{'yes' if agree[label] else 'NO'} |")
    open(path, "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
