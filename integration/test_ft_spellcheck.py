"""FT.SPELLCHECK and FT.DICTADD / FT.DICTDEL / FT.DICTDUMP against Redis Stack 7.4.1 + RediSearch 2.10.5, byte for byte.

Each round flushes both servers (which drops indexes and dictionaries in both), creates the same index (stemming or
NOSTEM; two TEXT fields and a TAG), writes the same documents and two dictionaries, then sends random FT.SPELLCHECK
commands: words with typos in query text order, negations, field restrictions, tag values, stopwords, upper case,
DISTANCE 1-4, TERMS INCLUDE / EXCLUDE, FULLSCOREINFO, DIALECT 1 / 2, in RESP2 and RESP3. Documents are never deleted
there: RediSearch keeps a deleted document's terms (and counts) until its garbage collector runs, VecShard drops them
at once (docs/COMPATIBILITY.md). Also: the error texts, FLUSHALL dropping indexes, dictionaries across a restart, and
redis-py's own ``spellcheck`` / ``dict_*`` API.
"""

from __future__ import annotations

import random

import pytest
import redis

from conftest import start_server_process
from test_ft_differential import Connection, redis_stack  # noqa: F401  (fixture)


class Pair:
    def __init__(self, stack_port: int, ours_port: int, protocol: int):
        self.theirs, self.ours = Connection(stack_port), Connection(ours_port)
        self.mismatches: list[str] = []
        self.compared = 0
        if protocol == 3:
            for conn in (self.theirs, self.ours):
                assert conn.call("HELLO", "3")[1][0] == b"%"

    def run(self, *args) -> bytes:
        a, _ = self.theirs.call(*args)
        b, _ = self.ours.call(*args)
        self.compared += 1
        if a != b:
            self.mismatches.append(f"{args!r}\n    redis-stack: {a[:400]!r}\n    vecshard:    {b[:400]!r}")
        return a

    def close(self) -> None:
        self.theirs.close()
        self.ours.close()


def random_rounds(pair: Pair, seed: int, rounds: int) -> None:
    for rnd in range(rounds):
        rng = random.Random(seed * 1000 + rnd)
        pair.run("FLUSHALL")
        stem = [] if rng.random() < 0.5 else ["NOSTEM"]
        pair.run("FT.CREATE", "i", "SCHEMA", "t", "TEXT", *stem, "u", "TEXT", "tg", "TAG")
        letters = "bcdeB" if rng.random() < 0.5 else "helopwrdá"

        def word(lo: int = 2, hi: int = 6) -> str:
            return "".join(rng.choice(letters) for _ in range(rng.randint(lo, hi)))

        for d in range(rng.randint(1, 9)):
            fields = ["t", " ".join(word() for _ in range(rng.randint(1, 5)))]
            if rng.random() < 0.4:
                fields += ["u", " ".join(word() for _ in range(rng.randint(1, 3)))]
            if rng.random() < 0.3:
                fields += ["tg", word()]
            pair.run("HSET", f"doc{d}", *fields)
        for name in ("d1", "d2"):
            pair.run("FT.DICTADD", name, *[word() for _ in range(rng.randint(1, 5))])
        pair.run("FT.DICTDEL", "d1", word(), word())
        for _ in range(8):
            parts = []
            for _ in range(rng.randint(1, 3)):
                w, k = word(1, 6), rng.random()
                if k < 0.1:
                    w = "-" + w
                elif k < 0.2:
                    w = "@t:" + w
                elif k < 0.25:
                    w = "@tg:{%s}" % w
                elif k < 0.3:
                    w = "the"
                elif k < 0.35:
                    w = w.upper()
                parts.append(w)
            args = ["FT.SPELLCHECK", "i", " ".join(parts)]
            if rng.random() < 0.7:
                args += ["DISTANCE", str(rng.randint(1, 4))]
            for name in ("d1", "d2"):
                if rng.random() < 0.3:
                    args += ["TERMS", "INCLUDE", name]
                if rng.random() < 0.15:
                    args += ["TERMS", "EXCLUDE", name]
            if rng.random() < 0.2:
                args.append("FULLSCOREINFO")
            if rng.random() < 0.3:
                args += ["DIALECT", str(rng.randint(1, 2))]
            pair.run(*args)
        pair.run("FT.DICTDUMP", "d1")
        pair.run("FT.DICTDUMP", "d2")


EDGE_CASES = [
    ("FLUSHALL",),
    ("FT.CREATE", "idx", "SCHEMA", "t", "TEXT", "tg", "TAG", "n", "NUMERIC"),
    ("HSET", "d1", "t", "hello world"), ("HSET", "d2", "t", "help me"), ("HSET", "d3", "t", "hallo welt"),
    ("HSET", "d4", "t", "held"), ("HSET", "d5", "t", "yellow fellow"), ("HSET", "d6", "t", "hello hello helping", "tg", "foo"),
    ("FT.SPELLCHECK", "idx", "helo"), ("FT.SPELLCHECK", "idx", "helo wrld"), ("FT.SPELLCHECK", "idx", "helo DISTANCE 2"),
    ("FT.SPELLCHECK", "idx", "helo", "DISTANCE", "2"), ("FT.SPELLCHECK", "idx", "hello"),
    ("FT.SPELLCHECK", "idx", "helo helo"), ("FT.SPELLCHECK", "idx", "the helo"), ("FT.SPELLCHECK", "idx", "HELO"),
    ("FT.SPELLCHECK", "idx", "hello helo", "FULLSCOREINFO"), ("FT.SPELLCHECK", "idx", "@tg:helo"),
    ("FT.SPELLCHECK", "idx", "@tg:{helo}"), ("FT.SPELLCHECK", "idx", "hel* wrld %helo% @n:[1 2]"),
    ("FT.SPELLCHECK", "idx", "-helo ~wrld \"helo wrld\" (helo|wrld)"), ("FT.SPELLCHECK", "idx", "a" * 120),
    ("FT.DICTADD", "dict", "Helo", "hallo", "helo", "hxlo", "héllo", "help"), ("FT.DICTADD", "dict", "x", "x", "X", "", "y"),
    ("FT.DICTDUMP", "dict"), ("FT.DICTDEL", "dict", "X", "z"), ("FT.DICTDUMP", "dict"), ("FT.DICTDEL", "fresh", "foo"),
    ("FT.DICTDUMP", "fresh"), ("FT.DICTDUMP", "nosuch"),
    ("FT.SPELLCHECK", "idx", "hlo", "TERMS", "INCLUDE", "dict"), ("FT.SPELLCHECK", "idx", "helo", "TERMS", "EXCLUDE", "dict"),
    ("FT.SPELLCHECK", "idx", "helo", "TERMS", "INCLUDE", "nosuch"), ("FT.SPELLCHECK", "idx", "helo", "TERMS", "include", "dict", "extra"),
    ("FT.SPELLCHECK", "idx", "helo", "TERMS", "MAYBE", "dict"), ("FT.SPELLCHECK", "idx", "helo", "TERMS", "INCLUDE"),
    ("FT.SPELLCHECK", "idx", "terms"), ("FT.SPELLCHECK", "idx", "distance"), ("FT.SPELLCHECK", "idx", "helo", "DISTANCE"),
    ("FT.SPELLCHECK", "idx", "helo", "DISTANCE", "0"), ("FT.SPELLCHECK", "idx", "helo", "DISTANCE", "5"),
    ("FT.SPELLCHECK", "idx", "helo", "DISTANCE", "2.0"), ("FT.SPELLCHECK", "idx", "helo", "DISTANCE", "x"),
    ("FT.SPELLCHECK", "idx", "helo", "DISTANCE", "3", "DISTANCE", "1"), ("FT.SPELLCHECK", "idx", "helo", "DIALECT"),
    ("FT.SPELLCHECK", "idx", "helo", "DIALECT", "5"), ("FT.SPELLCHECK", "idx", "helo", "DIALECT", "0"),
    ("FT.SPELLCHECK", "nosuch", "helo"), ("FT.SPELLCHECK", "idx", "helo)"), ("FT.SPELLCHECK", "idx"),
    ("FT.DICTADD", "dict"), ("FT.DICTDEL", "dict"), ("FT.DICTDUMP",), ("FT.DICTDUMP", "a", "b"),
    ("FLUSHALL",), ("FT.DICTDUMP", "dict"), ("FT.SPELLCHECK", "idx", "helo"), ("FT._LIST",),
    ("FT.CREATE", "idx", "SCHEMA", "t", "TEXT"), ("FT._LIST",),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_spellcheck_same_replies_as_redis_stack(redis_stack, tmp_path, protocol):  # noqa: F811
    ours = start_server_process(tmp_path)
    pair = Pair(redis_stack, ours.port, protocol)
    try:
        for command in EDGE_CASES:
            pair.run(*command)
        random_rounds(pair, seed=protocol, rounds=30)
        assert pair.mismatches == [], f"{len(pair.mismatches)} of {pair.compared} differ:\n" + "\n".join(pair.mismatches[:8])
        assert pair.compared > 600
    finally:
        pair.close()
        alive = ours.alive()
        ours.stop()
        assert alive, ours.log()[-3000:]


def test_flushall_drops_indexes_and_dictionaries(tmp_path):
    srv = start_server_process(tmp_path)
    try:
        c = srv.client(protocol=2)
        c.execute_command("FT.CREATE", "idx", "SCHEMA", "t", "TEXT")
        c.execute_command("FT.ALIASADD", "al", "idx")
        c.execute_command("FT.DICTADD", "d", "word")
        c.hset("k", "t", "hello")
        assert c.flushdb()
        assert c.execute_command("FT._LIST") == []
        with pytest.raises(redis.ResponseError, match="Unknown index name"):
            c.execute_command("FT.INFO", "al")
        with pytest.raises(redis.ResponseError, match="could not open dict key"):
            c.execute_command("FT.DICTDUMP", "d")
        # The suite pattern this is for: flush, then create the same index again.
        assert c.execute_command("FT.CREATE", "idx", "SCHEMA", "t", "TEXT") == b"OK"
        c.hset("k", "t", "hello")
        assert c.execute_command("FT.SEARCH", "idx", "hello", "NOCONTENT")[0] == 1
    finally:
        srv.stop()


def test_dictionaries_survive_restart(tmp_path):
    srv = start_server_process(tmp_path)
    try:
        c = srv.client(protocol=2)
        assert c.execute_command("FT.DICTADD", "names", "alice", "Bob", "héllo", "x" * 255, "y" * 256) == 4
        assert c.execute_command("FT.DICTADD", "empty", "gone") == 1
        assert c.execute_command("FT.DICTDEL", "empty", "gone") == 1
        assert c.save()
    finally:
        srv.stop()
    srv = start_server_process(tmp_path)
    try:
        c = srv.client(protocol=2)
        assert c.execute_command("FT.DICTDUMP", "names") == [b"Bob", b"alice", "héllo".encode(), b"x" * 255]
        assert c.execute_command("FT.DICTDUMP", "empty") == []
    finally:
        srv.stop()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_spellcheck_api(tmp_path, protocol):
    srv = start_server_process(tmp_path)
    try:
        r = redis.Redis(port=srv.port, protocol=protocol, decode_responses=True)
        r.execute_command("FT.CREATE", "idx", "SCHEMA", "t", "TEXT", "NOSTEM")
        for i, text in enumerate(["hello world", "help me", "hallo welt", "held", "hello hello helping"]):
            r.hset(f"d{i}", "t", text)
        assert r.ft("idx").dict_add("custom", "helox", "wrold") == 2
        assert sorted(r.ft("idx").dict_dump("custom")) == ["helox", "wrold"]
        def suggestions(query, **kw):
            """redis-py parses RESP2 into {term: [{score, suggestion}]} and hands RESP3's map through as it came."""
            found = r.ft("idx").spellcheck(query, **kw)
            if protocol == 3:
                return {t: [(float(v), k) for d in lst for k, v in d.items()] for t, lst in found["results"].items()}
            return {t: [(float(d["score"]), d["suggestion"]) for d in lst] for t, lst in found.items()}

        found = suggestions("helo wrld", distance=1, include="custom")
        assert found["helo"] == [(0.4, "hello"), (0.2, "held"), (0.2, "help"), (0.0, "helox")]
        assert found["wrld"] == [(0.2, "world"), (0.0, "wrold")]
        assert suggestions("hello") == {}
        assert r.ft("idx").dict_del("custom", "helox") == 1
    finally:
        srv.stop()
