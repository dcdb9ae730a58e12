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
