"""Cluster mode (phase 1, static topology): a fleet of vecshard-server processes is a Redis Cluster to stock clients.

The module starts ``cluster-config/local-3.conf``'s three masters through ``cluster-config/start-local.sh``, on free
ports (a copy of the file with the ports replaced, same ids and slots), and drives them with ``redis-cli -c``,
``redis-cli --cluster check``, redis-py's ``RedisCluster`` (RESP3 and RESP2) and plain connections for exact error
bytes. Bad topology files must stop the process at startup with status 1 and a clear message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from conftest import HOST, REPO, free_port, raw_command, redis_cli, resp_command, vecshard_bin

CONFIG_DIR = REPO / "cluster-config"
START = CONFIG_DIR / "start-local.sh"
STOP = CONFIG_DIR / "stop-local.sh"

# Keys whose slots fall in each master's range of local-3.conf (0-5460, 5461-10922, 10923-16383).
KEY_SLOTS = {"{user1000}.following": 3443, "{user}:1": 5474, "user:1": 10778, "foo": 12182, "123456789": 12739}


def with_free_ports(text: str) -> tuple[str, list[int]]:
    """The topology text with every `node` line's port and bus port replaced by free ones."""
    ports: list[int] = []
    lines = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words and words[0] == "node":
            port, bus = free_port(), free_port()
            ports.append(port)
            line = re.sub(rf"\b{words[4]}\s+{words[5]}\b", f"{port} {bus}", line, count=1)
        lines.append(line)
    return "\n".join(lines) + "\n", ports


class Fleet:
    """Nodes of one topology file started by start-local.sh in ``run_dir``."""

    def __init__(self, topology: Path, ports: list[int], run_dir: Path):
        self.topology, self.ports, self.run_dir = topology, ports, run_dir
        self.env = dict(os.environ, VECSHARD_BIN=vecshard_bin(), VECSHARD_RUN_DIR=str(run_dir))

    def start(self) -> None:
        res = subprocess.run(["bash", str(START), str(self.topology)], env=self.env, capture_output=True, text=True,
                             timeout=60)
        if res.returncode != 0:
            self.stop()
            pytest.fail(f"start-local.sh failed ({res.returncode}):\n{res.stdout}\n{res.stderr}", pytrace=False)

    def stop(self) -> None:
        subprocess.run(["bash", str(STOP), str(self.topology)], env=self.env, capture_output=True, timeout=60)

    def client(self, i: int, protocol: int = 2) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.ports[i], protocol=protocol, socket_timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.run_dir.glob("*/*.log")))


def start_fleet(tmp: Path, conf: str) -> Fleet:
    text, ports = with_free_ports((CONFIG_DIR / conf).read_text())
    topology = tmp / conf
    topology.write_text(text)
    fleet = Fleet(topology, ports, tmp / "run")
    fleet.start()
    return fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = start_fleet(tmp_path_factory.mktemp("cluster3"), "local-3.conf")
    yield f
    f.stop()


@pytest.fixture
def cluster(fleet):
    """The 3-master fleet, emptied before the test."""
    for i in range(3):
        with fleet.client(i) as c:
            c.flushall()
    yield fleet


def owner(slot: int) -> int:
    """Index of the master serving `slot` in local-3.conf."""
    return 0 if slot <= 5460 else 1 if slot <= 10922 else 2


# ---------------------------------------------------------------------------------------------- topology replies

def test_cluster_slots_identical_on_every_node_and_cover_all_slots(cluster):
    replies = []
    for i in range(3):
        with cluster.client(i) as c:
            replies.append(c.execute_command("CLUSTER", "SLOTS"))
    assert replies[0] == replies[1] == replies[2]
    ranges = [(r[0], r[1], r[2][1]) for r in replies[0]]
    assert ranges == [(0, 5460, cluster.ports[0]), (5461, 10922, cluster.ports[1]), (10923, 16383, cluster.ports[2])]
    for r in replies[0]:
        assert len(r[2]) == 4 and r[2][0] == b"127.0.0.1" and len(r[2][2]) == 40 and r[2][3] == []


def test_cluster_slots_raw_bytes_resp2_and_resp3(cluster):
    raw2 = raw_command(cluster.ports[0], resp_command("CLUSTER", "SLOTS"), timeout=0.5)
    assert raw2.startswith(b"*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:%d\r\n$40\r\n" % cluster.ports[0])
    assert raw2.count(b"*0\r\n") == 3
    raw3 = raw_command(cluster.ports[0], resp_command("HELLO", "3") + resp_command("CLUSTER", "SLOTS"), timeout=0.5)
    assert raw3.count(b"%0\r\n") == 3


def test_cluster_nodes_same_slot_text_everywhere(cluster):
    texts = []
    for i in range(3):
        with cluster.client(i) as c:
            text = c.execute_command("CLUSTER", "NODES")
            text = text.decode() if isinstance(text, bytes) else text
        assert text.endswith("\n") and text.count("\n") == 3
        lines = text.splitlines()
        mine = [line for line in lines if "myself," in line]
        assert len(mine) == 1 and f"127.0.0.1:{cluster.ports[i]}@" in mine[0]
        texts.append([re.sub(r" 0 \d+ ", " 0 T ", line.replace("myself,", "")) for line in lines])
    assert texts[0] == texts[1] == texts[2]
    assert texts[0][0].endswith(" master - 0 T 1 connected 0-5460")


def test_cluster_info_and_ids(cluster):
    with cluster.client(1, protocol=3) as c:
        text = c.execute_command("CLUSTER", "INFO")
        text = text.decode() if isinstance(text, bytes) else text
        assert text.endswith("\r\n") and text.startswith("cluster_state:ok\r\n")
        info = dict(line.split(":", 1) for line in text.split("\r\n") if line)
        assert info["cluster_state"] == "ok"
        assert int(info["cluster_slots_assigned"]) == 16384
        assert int(info["cluster_known_nodes"]) == 3 and int(info["cluster_size"]) == 3
        assert int(info["cluster_my_epoch"]) == 2
        myid = c.execute_command("CLUSTER", "MYID")
        assert len(myid) == 40 and c.execute_command("CLUSTER", "MYSHARDID") == myid
        assert c.execute_command("CLUSTER", "KEYSLOT", "foo") == 12182
        assert c.info("cluster")["cluster_enabled"] == 1


def test_redis_cli_cluster_check_is_ok(cluster):
    res = redis_cli(cluster.ports[0], "--cluster", "check", f"{HOST}:{cluster.ports[0]}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[OK] All nodes agree about slots configuration." in res.stdout
    assert "[OK] All 16384 slots covered." in res.stdout


def test_redis_benchmark_cluster_mode_runs(cluster):
    exe = shutil.which("redis-benchmark")
    if exe is None:
        pytest.skip("redis-benchmark not installed (apt-get install redis-tools)")
    res = subprocess.run([exe, "--cluster", "-h", HOST, "-p", str(cluster.ports[0]), "-t", "set,get", "-n", "3000", "-q"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SET:" in res.stdout and "GET:" in res.stdout and "requests per second" in res.stdout
    sizes = [cluster.client(i).dbsize() for i in range(3)]
    assert min(sizes) >= 1   # it spread its keys over every master ({tag} per node, from CLUSTER NODES)


# ---------------------------------------------------------------------------------------------- redirects

def test_moved_exact_text_on_a_plain_connection(cluster):
    reply = raw_command(cluster.ports[0], resp_command("GET", "foo"), timeout=0.5)
    assert reply == b"-MOVED 12182 127.0.0.1:%d\r\n" % cluster.ports[2]
    reply = raw_command(cluster.ports[2], resp_command("HSET", "{user1000}.following", "f", "v"), timeout=0.5)
    assert reply == b"-MOVED 3443 127.0.0.1:%d\r\n" % cluster.ports[0]


def test_crossslot_on_a_plain_client(cluster):
    reply = raw_command(cluster.ports[0], resp_command("MSET", "a", "1", "b", "2", "c", "3", "d", "4"), timeout=0.5)
    assert reply == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    with cluster.client(1) as c:
        # redis-py maps the CROSSSLOT code to its own exception and keeps the rest of the text.
        with pytest.raises(redis.exceptions.ClusterCrossSlotError, match="Keys in request don't hash to the same slot"):
            c.execute_command("DEL", "{user}:1", "user:1")
        assert c.execute_command("DEL", "{user}:1", "{user}:2") == 0


def test_redis_cli_c_follows_moved_across_all_slot_ranges(cluster):
    keys = [f"key:{i}" for i in range(60)] + list(KEY_SLOTS)
    for n, key in enumerate(keys):
        entry = cluster.ports[n % 3]   # start on any node; -c follows MOVED
        res = redis_cli(entry, "-c", "SET", key, f"v{n}")
        assert res.stdout.strip() == "OK", res.stdout + res.stderr
    for n, key in enumerate(keys):
        res = redis_cli(cluster.ports[(n + 1) % 3], "-c", "GET", key)
        assert res.stdout.strip() == f"v{n}", (key, res.stdout, res.stderr)
    counts = []
    for i in range(3):
        with cluster.client(i) as c:
            counts.append(c.dbsize())
            for key, slot in KEY_SLOTS.items():
                if owner(slot) == i:
                    assert c.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) >= 1
                    assert key.encode() in c.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100)
    assert sum(counts) == len(keys) and min(counts) > 0


# ---------------------------------------------------------------------------------------------- redis-py RedisCluster

@pytest.mark.parametrize("protocol", [3, 2])
def test_redis_py_cluster_hash_commands_and_pipeline(cluster, protocol):
    rc = RedisCluster(host=HOST, port=cluster.ports[1], protocol=protocol, socket_timeout=10)
    try:
        assert len(rc.get_primaries()) == 3
        assert rc.get_default_node().port == cluster.ports[0]   # primary of the first CLUSTER SLOTS range
        n = 200
        for i in range(n):
            assert rc.hset(f"doc:{i}", mapping={"title": f"t{i}", "n": i}) == 2
        for i in range(n):
            assert rc.hget(f"doc:{i}", "title") == f"t{i}".encode()
        pipe = rc.pipeline()
        for i in range(n):
            pipe.hgetall(f"doc:{i}")
        results = pipe.execute()
        assert results[7] == {b"title": b"t7", b"n": b"7"}
        assert all(r[b"title"] == f"t{i}".encode() for i, r in enumerate(results))
        sizes = [cluster.client(i).dbsize() for i in range(3)]
        assert sum(sizes) == n and min(sizes) > n // 5   # spread over every master
        pipe = rc.pipeline()
        for i in range(n):
            pipe.delete(f"doc:{i}")
        assert sum(pipe.execute()) == n
        assert [cluster.client(i).dbsize() for i in range(3)] == [0, 0, 0]
        # A hash-tagged multi-key command stays on one node.
        rc.set("{grp}a", "1")
        rc.set("{grp}b", "2")
        assert rc.delete("{grp}a", "{grp}b") == 2
    finally:
        rc.close()


# ---------------------------------------------------------------------------------------------- replicas

@pytest.fixture(scope="module")
def fleet3x2(tmp_path_factory):
    f = start_fleet(tmp_path_factory.mktemp("cluster3x2"), "local-3x2.conf")
    yield f
    f.stop()


@pytest.mark.parametrize("protocol", [3, 2])
def test_replicas_in_redis_py_topology_parsers(fleet3x2, protocol):
    ports = fleet3x2.ports
    rc = RedisCluster(host=HOST, port=ports[4], protocol=protocol, socket_timeout=10)
    try:
        assert sorted((n.port, n.server_type) for n in rc.get_nodes()) == \
            sorted([(p, "primary") for p in ports[:3]] + [(p, "replica") for p in ports[3:]])
        shards = rc.cluster_shards()
        assert len(shards) == 3
        first = shards[0]
        roles = [(n[b"port"], n[b"role"]) for n in first[b"nodes" if b"nodes" in first else "nodes"]]
        assert roles == [(ports[0], b"master"), (ports[3], b"replica")]
        nodes = rc.cluster_nodes()
        nodes = nodes if isinstance(nodes, dict) else dict(nodes)
        replica = nodes[f"127.0.0.1:{ports[3]}"]
        assert replica["flags"] == "slave" and replica["master_id"] == nodes[f"127.0.0.1:{ports[0]}"]["node_id"]
        assert nodes[f"127.0.0.1:{ports[1]}"]["slots"] == [["5461", "10922"]]
    finally:
        rc.close()


def test_replica_redirects_unless_readonly(fleet3x2):
    master, replica, other = fleet3x2.ports[1], fleet3x2.ports[4], fleet3x2.ports[2]   # m2, its replica r2, m3
    with fleet3x2.client(1) as m:
        m.set("user:1", "v")   # slot 10778, served by m2
    assert raw_command(replica, resp_command("GET", "user:1"), timeout=0.5) == b"-MOVED 10778 127.0.0.1:%d\r\n" % master
    replies = raw_command(replica, resp_command("READONLY") + resp_command("GET", "user:1") + resp_command("SET", "user:1", "x")
                          + resp_command("GET", "foo") + resp_command("READWRITE") + resp_command("GET", "user:1"), timeout=0.5)
    # No replication stream in phase 1: the replica answers the read from its own (empty) keyspace.
    assert replies == (b"+OK\r\n$-1\r\n-MOVED 10778 127.0.0.1:%d\r\n-MOVED 12182 127.0.0.1:%d\r\n+OK\r\n"
                       b"-MOVED 10778 127.0.0.1:%d\r\n") % (master, other, master)
    with fleet3x2.client(4, protocol=3) as r:
        nodes = r.execute_command("CLUSTER", "NODES")
        nodes = nodes.decode() if isinstance(nodes, bytes) else nodes
        assert f"127.0.0.1:{replica}@" in next(line for line in nodes.splitlines() if "myself," in line)
        assert " myself,slave " in nodes
        shard = r.execute_command("CLUSTER", "MYSHARDID")
        with fleet3x2.client(1) as m:
            assert shard == m.execute_command("CLUSTER", "MYID")   # a shard is named by its master's id
        assert len(r.execute_command("CLUSTER", "REPLICAS", shard)) == 1


# ---------------------------------------------------------------------------------------------- startup validation

def run_node(tmp_path: Path, topology_text: str | None, *args: str) -> subprocess.CompletedProcess:
    cmd = [vecshard_bin(), "--port", str(free_port()), "--bind", HOST, "--dir", str(tmp_path), "--cluster-enabled", "yes"]
    if topology_text is not None:
        path = tmp_path / "topology.conf"
        path.write_text(topology_text)
        cmd += ["--cluster-topology", str(path)]
    cmd += list(args)
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(cmd)} kept running with a bad topology")


M1 = "97dc3795122f3a3c9822db1a98056071aba94eda"
M2 = "e900263e5c7827cc1d66cae2f81d5b93e8b2f09a"


@pytest.mark.parametrize("text, args, message", [
    (f"node m1 {M1} 127.0.0.1 7000 - master 0-16000\n", ["--cluster-node", "m1"],
     "383 of 16384 slots are not assigned to any master: 16001-16383"),
    (f"node m1 {M1} 127.0.0.1 7000 - master 0-9000\nnode m2 {M2} 127.0.0.1 7001 - master 9000-16383\n",
     ["--cluster-node", "m1"], "line 2: slot 9000 of 'm2' is already assigned to 'm1' (line 1)"),
    (f"node m1 {M1} 127.0.0.1 7000 - master 0-16383\n", ["--cluster-node", "m9"],
     "cluster-node 'm9' is not declared in the file (nodes: m1)"),
    (f"node m1 {M1[:-1]} 127.0.0.1 7000 - master 0-16383\n", ["--cluster-node", "m1"], "must be exactly 40 hex characters"),
    (f"node m1 {M1} 127.0.0.1 7000 - master 0-16383\nnode r1 {M2} 127.0.0.1 7001 - replica-of m7\n",
     ["--cluster-node", "m1"], "'r1' is a replica of 'm7', which is not declared in the file"),
    (None, ["--cluster-node", "m1"], "--cluster-topology <file> --cluster-node <name>"),
])
def test_bad_topology_exits_1_with_a_clear_message(tmp_path, text, args, message):
    res = run_node(tmp_path, text, *args)
    assert res.returncode == 1
    assert "FATAL CLUSTER TOPOLOGY ERROR" in res.stderr and message in res.stderr, res.stderr


def test_missing_topology_file_exits_1(tmp_path):
    res = subprocess.run([vecshard_bin(), "--port", str(free_port()), "--cluster-enabled", "yes", "--cluster-topology",
                          str(tmp_path / "nope.conf"), "--cluster-node", "m1"], capture_output=True, text=True, timeout=10)
    assert res.returncode == 1 and "can't open the file" in res.stderr, res.stderr


def test_cluster_commands_refused_when_cluster_disabled(server):
    with server.client(protocol=2) as c:
        with pytest.raises(redis.exceptions.ResponseError, match="This instance has cluster support disabled"):
            c.execute_command("CLUSTER", "SLOTS")
        assert c.info("cluster")["cluster_enabled"] == 0
