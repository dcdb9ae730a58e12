"""FT.SUGADD / FT.SUGGET / FT.SUGDEL / FT.SUGLEN: autocomplete dictionaries, keys of type ``trietype0``.

Differential part: the same commands go to Redis Stack 7.4.1 + RediSearch 2.10.5 (started by test_ft_differential's
``redis_stack`` fixture, which fails rather than skips when Stack cannot run) and to a fresh ``vecshard-server``, in
RESP2 and in RESP3, and the reply *bytes* must be identical (scores are bulk strings in RESP2 and doubles in RESP3,
formatted by each server). Two streams: a seeded random history (adds with INCR / PAYLOAD / zero, negative and
infinite scores, mixed case, ``é``, ``ß``, deletes, lookups with FUZZY / WITHSCORES / WITHPAYLOADS / MAX in any order)
on small and on 3,000-entry dictionaries, and a fixed list of edge commands from RediSearch's source (every error
text, argument-parsing corner, key-type behaviour).

``TRIM`` is never sent to Redis Stack: RediSearch 2.10.5 double-frees when it trims two entries or more and then
crashes (``run`` refuses it). TRIM's intended rule is checked on VecShard alone, as are redis-py's own suggestion API,
a SAVE / restart round trip, cluster routing (MOVED, ``redis-cli -c``, ``RedisCluster``) and hostile arguments.
"""

from __future__ import annotations

import math
import random
import struct

import pytest
import redis
from redis.cluster import RedisCluster
from redis.commands.search.suggestion import Suggestion

from conftest import HOST, raw_command, redis_cli, resp_command, start_server_process
from test_cluster import start_fleet
from test_ft_differential import Connection, redis_stack  # noqa: F401  (fixture)


def f32(x: float) -> float:
    """`x` rounded to float32 and widened back, as RediSearch computes and reports suggestion scores."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def show(args) -> str:
    def one(a) -> str:
        b = a if isinstance(a, bytes) else str(a).encode()
        if len(b) > 40:
            return f"<{len(b)} bytes {b[:12]!r}...>"
        return repr(b.decode("utf-8")) if b.isascii() and b and b" " not in b else repr(b)
    return " ".join(one(a) for a in args)


# ---------------------------------------------------------------------------------------------------------------
# Differential runner

class Pair:
    """One connection to Redis Stack and one to VecShard, same protocol; ``run`` sends a command to both."""

    def __init__(self, stack_port: int, ours_port: int, protocol: int):
        self.theirs, self.ours = Connection(stack_port), Connection(ours_port)
        self.protocol = protocol
        self.mismatches: list[str] = []
        self.compared = 0
        for conn in (self.theirs, self.ours):
            assert conn.call("FLUSHALL")[0] == b"+OK\r\n"
            if protocol == 3:
                assert conn.call("HELLO", "3")[1][0] == b"%"

    def close(self) -> None:
        self.theirs.close()
        self.ours.close()

    def run(self, *args, sort: bool = False) -> bytes:
        """Both replies must be the same bytes (``sort``: a SCAN / KEYS reply, compared as cursor + sorted keys)."""
        assert not any(isinstance(a, (str, bytes)) and (a.encode() if isinstance(a, str) else a).upper() == b"TRIM"
                       for a in args[3:]), "TRIM crashes Redis Stack 2.10.5: never send it there"
        a, pa = self.theirs.call(*args)
        b, pb = self.ours.call(*args)
        self.compared += 1
        if sort:
            same = _sorted_keys(pa) == _sorted_keys(pb)
        else:
            # A double exactly halfway between two shortest 17-digit forms: Redis's fpconv_dtoa (Grisu2) and Swift's
            # shortest digits pick different ones (`70.00357055664063` vs `...062`); docs/COMPATIBILITY.md.
            same = a == b or _digits_tie_only(pa, pb)
        if not same:
            note = " (same numbers, formatted differently)" if _numbers(pa) == _numbers(pb) else ""
            self.mismatches.append(f"{show(args)}{note}\n    redis-stack: {a[:300]!r}\n    vecshard:    {b[:300]!r}")
        return a

    def check(self, minimum: int) -> None:
        assert self.compared >= minimum, self.compared
        assert not self.mismatches, (f"{len(self.mismatches)} of {self.compared} replies differ from Redis Stack "
                                     f"(RESP{self.protocol}):\n" + "\n".join(self.mismatches[:40]))


def _digits_tie_only(a, b) -> bool:
    """The two parsed replies differ only in doubles of 17 significant digits that read as the same value."""
    (ka, va), (kb, vb) = a, b
    if ka != kb:
        return False
    if ka in (b"*", b"~", b"%") and va is not None and vb is not None:
        return len(va) == len(vb) and all(_digits_tie_only(x, y) for x, y in zip(va, vb))
    if va == vb:
        return True
    if ka in (b"$", b",") and va is not None and vb is not None:
        digits = lambda v: len(v.lstrip(b"-").replace(b".", b"").lstrip(b"0").split(b"e")[0])
        try:
            return float(va) == float(vb) and digits(va) >= 16 and digits(vb) >= 16
        except ValueError:
            return False
    return False


def _numbers(node):
    """A parsed reply with every bulk string or double that reads as a number replaced by its value."""
    kind, v = node
    if kind in (b"*", b"~"):
        return [_numbers(x) for x in v]
    if kind in (b"$", b",") and v is not None:
        try:
            return float(v)
        except ValueError:
            pass
    return node


def _sorted_keys(node):
    kind, v = node
    if kind == b"*" and len(v) == 2 and v[1][0] in (b"*", b"~"):  # SCAN: [cursor, keys]
        return v[0][1], sorted(x[1] for x in v[1][1])
    if kind in (b"*", b"~"):
        return sorted(x[1] for x in v)
    return node


# ---------------------------------------------------------------------------------------------------------------
# Random histories

ALPHABET = ["a", "b", "c", "h", "e", "l", "o", "p", "A", "H", "é", "É", "ß", " ", "x", "y", "ς", "Σ"]
SCORES = ["1", "2", "3", "0.5", "0", "-1", "-2.5", "10", "1.5", "inf", "-inf", "7", "1e-7", "1e39", "0x10", "1.1",
          "100", "+3", ".25"]
PAYLOADS = ["p1", "p2", "", "pay", "INCR", "é-payload", "with space"]


def random_history(pair: Pair, rng: random.Random, key: str, steps: int) -> None:
    def word() -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 7)))

    words = [word() for _ in range(40)] + ["hello", "Hello", "héllo", "HÉLLO", "strasse", "straße", "ab\x00cd",
                                           "\U0001F600smile"]
    keys = [key, key + ":2"]
    for _ in range(steps):
        k = rng.random()
        target = rng.choice(keys)
        if k < 0.45:
            cmd = ["FT.SUGADD", target, rng.choice(words), rng.choice(SCORES + [str(rng.randint(1, 5))])]
            opts = []
            if rng.random() < 0.3:
                opts.append([rng.choice(["INCR", "incr", "Incr"])])
            if rng.random() < 0.3:
                opts.append([rng.choice(["PAYLOAD", "payload"]), rng.choice(PAYLOADS)])
            rng.shuffle(opts)
            cmd += [x for o in opts for x in o]
        elif k < 0.55:
            cmd = ["FT.SUGDEL", target, rng.choice(words)]
        elif k < 0.6:
            cmd = ["FT.SUGLEN", rng.choice(keys + [key + ":none"])]
        else:
            w = rng.choice(words)
            prefix = w[:rng.randint(0, len(w))]
            if rng.random() < 0.3:
                prefix = word()[:3]
            if rng.random() < 0.3:
                prefix = prefix.upper()
            opts = []
            if rng.random() < 0.4:
                opts.append([rng.choice(["FUZZY", "fuzzy"])])
            if rng.random() < 0.7:
                opts.append([rng.choice(["WITHSCORES", "withscores"])])
            if rng.random() < 0.3:
                opts.append(["WITHPAYLOADS"])
            if rng.random() < 0.6:
                opts.append([rng.choice(["MAX", "max"]), str(rng.choice([1, 2, 3, 5, 10, 20, 100]))])
            if rng.random() < 0.05:
                opts.append(["OPTIMIZE"])
            rng.shuffle(opts)
            cmd = ["FT.SUGGET", target if rng.random() < 0.97 else key + ":none", prefix] + [x for o in opts for x in o]
        pair.run(*cmd)


def large_dictionary(pair: Pair, rng: random.Random, key: str, entries: int, queries: int) -> None:
    """A few thousand entries, so lookups fill the heap and prune subtrees; then deletes and more lookups."""
    letters = "abcdehlmnoprstuy"

    def word() -> str:
        w = "".join(rng.choice(letters) for _ in range(rng.randint(2, 9)))
        return w.capitalize() if rng.random() < 0.1 else w.replace("e", "é") if rng.random() < 0.05 else w

    words = [word() for _ in range(entries)]
    adds = []
    for w in words:
        cmd = ["FT.SUGADD", key, w, str(rng.choice([rng.randint(1, 100), rng.randint(1, 5), rng.random() * 10]))]
        if rng.random() < 0.2:
            cmd.append("INCR")
        if rng.random() < 0.2:
            cmd += ["PAYLOAD", "p" + w]
        adds.append(cmd)
    # Pipelined: both servers get all adds, then every reply is compared.
    for conn in (pair.theirs, pair.ours):
        conn.sock.sendall(b"".join(resp_command(*c) for c in adds))
    got_theirs = [pair.theirs._read()[0] for _ in adds]
    got_ours = [pair.ours._read()[0] for _ in adds]
    pair.compared += len(adds)
    for cmd, a, b in zip(adds, got_theirs, got_ours):
        if a != b:
            pair.mismatches.append(f"{show(cmd)}\n    redis-stack: {a!r}\n    vecshard:    {b!r}")
    pair.run("FT.SUGLEN", key)

    def lookups(n: int) -> None:
        for _ in range(n):
            w = rng.choice(words)
            prefix = w[:rng.randint(1, 4)]
            if rng.random() < 0.2:
                prefix = prefix.upper()
            cmd = ["FT.SUGGET", key, prefix]
            if rng.random() < 0.3:
                cmd.append("FUZZY")
            if rng.random() < 0.7:
                cmd.append("WITHSCORES")
            if rng.random() < 0.2:
                cmd.append("WITHPAYLOADS")
            cmd += ["MAX", str(rng.choice([1, 3, 5, 10, 30]))]
            pair.run(*cmd)

    lookups(queries)
    for w in rng.sample(words, entries // 5):
        pair.run("FT.SUGDEL", key, w)
    pair.run("FT.SUGLEN", key)
    lookups(queries // 2)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("protocol", [2, 3])
def test_random_histories_same_as_redis_stack(redis_stack, server, protocol):
    pair = Pair(redis_stack, server.port, protocol)
    try:
        for seed in (1, 2, 3):
            random_history(pair, random.Random(1000 * protocol + seed), f"rh:{seed}", 600)
        large_dictionary(pair, random.Random(77 + protocol), "big", 3000, 400)
        pair.check(minimum=3000)
    finally:
        pair.close()


# ---------------------------------------------------------------------------------------------------------------
# Fixed edge commands (spec: RediSearch 2.10.5 suggest.c, trie.c, rmutil args.c, checked on the oracle)

def edge_commands(pair: Pair) -> None:
    run = pair.run
    # The representative session.
    for cmd in [("ac", "hello", "1"), ("ac", "hell", "2", "PAYLOAD", "p-hell"), ("ac", "help", "3"),
                ("ac", "Hello World", "4", "PAYLOAD", "p-hw"), ("ac", "héllo", "1"),
                ("ac", "helicopter", "5", "PAYLOAD", "p-heli")]:
        run("FT.SUGADD", *cmd)
    run("FT.SUGLEN", "ac")
    run("TYPE", "ac")
    run("OBJECT", "ENCODING", "ac")
    for args in [("hel",), ("hel", "FUZZY"), ("HEL", "WITHSCORES"), ("hel", "WITHSCORES", "WITHPAYLOADS", "MAX", "2"),
                 ("hel", "WITHPAYLOADS", "WITHSCORES", "MAX", "10"), ("helo", "FUZZY", "WITHSCORES"),
                 ("helo", "FUZZY", "WITHSCORES", "WITHPAYLOADS", "MAX", "2"), ("h",), ("h", "WITHSCORES", "MAX", "10"),
                 ("",), ("", "WITHSCORES", "WITHPAYLOADS", "MAX", "3"), ("hellohellohellohello",),
                 ("hello", "WITHSCORES"), ("Hello", "WITHSCORES"), ("hé", "WITHSCORES"), ("HÉ", "WITHSCORES"),
                 ("h", "withscores", "FUZZY", "fuzzy"), ("h", "OPTIMIZE"), ("x", "FUZZY", "WITHSCORES", "MAX", "10"),
                 ("xyz",), ("xyz", "FUZZY"), ("h", "FUZZY", "WITHPAYLOADS")]:
        run("FT.SUGGET", "ac", *args)
    run("FT.SUGGET", "missing", "hel")
    run("FT.SUGGET", "missing", "hel", "WITHSCORES", "WITHPAYLOADS")
    run("FT.SUGLEN", "missing")
    run("FT.SUGDEL", "missing", "x")
    run("EXISTS", "missing")

    # Arity (the registered upper-case name whatever the client sent).
    for cmd in [("FT.SUGADD",), ("FT.SUGADD", "ac"), ("FT.SUGADD", "ac", "x"), ("ft.sugadd", "ac", "x"),
                ("FT.SUGADD", "ac", "x", "1", "INCR", "PAYLOAD", "p", "extra"),
                ("FT.SUGADD", "k", "y", "1", "PAYLOAD", "a", "PAYLOAD", "b"), ("FT.SUGGET",), ("FT.SUGGET", "ac"),
                ("ft.sugget", "ac"), ("FT.SUGGET", "ac", "h", *["FUZZY"] * 8), ("FT.SUGLEN",), ("FT.SUGLEN", "a", "b"),
                ("ft.suglen",), ("FT.SUGDEL", "a"), ("FT.SUGDEL", "a", "b", "c"), ("ft.sugdel", "a")]:
        run(*cmd)

    # FT.SUGADD options: PAYLOAD takes any next argument; an unknown one is reported as given; no key is created.
    for cmd in [("ac", "x", "1", "PAYLOAD"), ("k", "y", "1", "PAYLOAD", "a", "PAYLOAD"), ("ac", "x", "1", "FOO"),
                ("ac", "x", "1", "foo"), ("ac", "x", "1", "INCR", "BAR"), ("ac", "x", "1", ""),
                ("newk", "x", "1", "FOO"), ("newk", "x", "1", "PAYLOAD")]:
        run("FT.SUGADD", *cmd)
    run("EXISTS", "newk")
    for cmd in [("k", "y", "1", "INCR", "INCR", "INCR"), ("k", "y", "1", "PAYLOAD", "INCR"),
                ("ac", "x", "1", "incr", "payload", "lower")]:
        run("FT.SUGADD", *cmd)
    run("FT.SUGGET", "k", "y", "WITHPAYLOADS", "WITHSCORES")
    run("FT.SUGGET", "ac", "x", "WITHPAYLOADS", "WITHSCORES")

    # Scores: Redis's strict double parsing; float32 storage; 0 is a no-op; the key is not created on an error.
    for s in ["nan", "NaN", "-nan", "", "abc", "1abc", " 1", "1 ", "\t1", "1\n", "1e400", "-1e400", "1e-400", "1e",
              "0x", "-", ".", "1_000", "nan(1)"]:
        run("FT.SUGADD", "newk", "x", s)
    run("EXISTS", "newk")
    for i, s in enumerate(["inf", "-inf", "0x10", "1e39", "1e-7", "1.1", "+2", ".5", "5.", "INF", "-Infinity", "1e308",
                           "3.5e38", "1e-45", "1e-46", "-0", "0.0", "0x1p3", "0X1A", "1e+2", "4.9e-324", "-3"]):
        run("FT.SUGADD", "sc", f"s{i:02d}", s)
    run("FT.SUGLEN", "sc")
    run("FT.SUGGET", "sc", "s", "WITHSCORES", "MAX", "40")
    run("FT.SUGGET", "sc", "", "WITHSCORES", "MAX", "40")
    run("FT.SUGGET", "sc", "s0", "WITHSCORES", "FUZZY", "MAX", "40")

    # Key types: WRONGTYPE comes after the option errors and before the score error; lookups on other types.
    run("SET", "str", "v")
    run("HSET", "h", "f", "v")
    for key in ("str", "h"):
        for cmd in [("FT.SUGADD", key, "x", "1"), ("FT.SUGADD", key, "x", "abc"), ("FT.SUGADD", key, "x", "1", "FOO"),
                    ("FT.SUGADD", key, "x", "1", "PAYLOAD"), ("FT.SUGGET", key, "x"), ("FT.SUGGET", key, "x", "FOO"),
                    ("FT.SUGGET", key, "x", "MAX", "0"), ("FT.SUGGET", key, "a" * 200), ("FT.SUGGET", key, "a" * 150),
                    ("FT.SUGLEN", key), ("FT.SUGDEL", key, "x"), ("TYPE", key)]:
            run(*cmd)
    run("GET", "ac")
    run("HGET", "ac", "f")
    run("HSET", "ac", "f", "v")

    # MAX.
    for m in [None, "0", "-1", "abc", "0.5", "1.9", "1e0", "+1", "0x1", "01", "00", "-0", "1.", ".5e1", "2.0", "+0x2",
              "-1e0", "0x", "1e", "", "nan", "inf", "1e10", "1e19", "4294967296", "4294967296.5",
              "9223372036854775808", "18446744073709551617", "-9223372036854775809", "1000", " 1", "\t2", " 2.5",
              "1 "]:
        run("FT.SUGGET", "ac", "h", "MAX", *([] if m is None else [m]))
    run("FT.SUGGET", "ac", "h", "MAX", "1", "MAX", "3")
    run("FT.SUGGET", "ac", "h", "MAX", "2", "extra")
    run("FT.SUGGET", "ac", "h", "max", "1", "withscores")
    for opt in ["FOO", "", "FUZZ", "FUZZYY", "WITHSCORE", "MAXX", "WITH", "OPTIMIZEX"]:
        run("FT.SUGGET", "ac", "h", opt)
    run("FT.SUGGET", "str", "h", "FOO")
    run("FT.SUGGET", "missing", "h", "FOO")
    run("FT.SUGGET", "missing", "h", "MAX", "0")

    # Query length: 200 bytes before anything else, then options, then the key, then 100 runes.
    for prefix in ["a" * 200, "a" * 199, "a" * 100, "a" * 99, "é" * 99, "é" * 100, "é" * 150, "a" * 500]:
        run("FT.SUGGET", "ac", prefix)
        run("FT.SUGGET", "missing", prefix)
    run("FT.SUGGET", "ac", "a" * 200, "FOO")
    run("FT.SUGGET", "ac", "a" * 150, "FOO")
    run("FT.SUGGET", "ac", "a" * 150, "FUZZY")
    run("FT.SUGGET", "missing", "a" * 150, "WITHSCORES")

    # Entry length: at most 512 bytes and 255 runes, else a silent no-op.
    for s in ["a" * 255, "b" * 256, "é" * 170, "é" * 255, "é" * 256, "c" * 512, "d" * 513, "ab" * 128]:
        run("FT.SUGADD", "u", s, "1")
    run("FT.SUGLEN", "u")
    run("FT.SUGGET", "u", "a" * 99)
    run("FT.SUGGET", "u", "é" * 99, "WITHSCORES")
    run("FT.SUGGET", "u", "", "MAX", "10", "WITHSCORES")
    run("FT.SUGDEL", "u", "b" * 256)
    run("FT.SUGDEL", "u", "a" * 255)
    run("FT.SUGLEN", "u")

    # Storage semantics: zero scores, INCR, payload replacement, negative and infinite scores, case, deletes.
    for cmd in [
        ("FT.SUGADD", "k5", "abc", "0"), ("EXISTS", "k5"), ("TYPE", "k5"), ("FT.SUGLEN", "k5"), ("FT.SUGGET", "k5", "a"),
        ("FT.SUGADD", "k5", "abc", "2", "PAYLOAD", "pa"), ("FT.SUGADD", "k5", "abc", "0", "INCR", "PAYLOAD", "newp"),
        ("FT.SUGGET", "k5", "ABC", "WITHSCORES", "WITHPAYLOADS"), ("FT.SUGADD", "k5", "abc", "3", "INCR"),
        ("FT.SUGADD", "k5", "abc", "3", "INCR"), ("FT.SUGGET", "k5", "ab", "WITHSCORES", "WITHPAYLOADS"),
        ("FT.SUGADD", "k5", "abc", "1.5"), ("FT.SUGGET", "k5", "ab", "WITHSCORES", "WITHPAYLOADS"),
        ("FT.SUGADD", "k5", "abc", "1.5", "PAYLOAD", ""), ("FT.SUGGET", "k5", "ab", "WITHSCORES", "WITHPAYLOADS"),
        ("FT.SUGADD", "k5", "abc", "1.5", "PAYLOAD", "q"), ("FT.SUGGET", "k5", "ab", "WITHSCORES", "WITHPAYLOADS"),
        ("FT.SUGADD", "k5", "abc", "-1"), ("FT.SUGGET", "k5", "ab", "WITHSCORES", "WITHPAYLOADS"),
        ("FT.SUGADD", "k5", "ABC", "1.1"), ("FT.SUGGET", "k5", "abc", "WITHSCORES"),
        ("FT.SUGADD", "k5", "x", "0x10"), ("FT.SUGADD", "k5", "x", "1e39"), ("FT.SUGADD", "k5", "y", "1e-7"),
        ("FT.SUGADD", "k5", "Y", "-inf"), ("FT.SUGGET", "k5", "x", "WITHSCORES"), ("FT.SUGGET", "k5", "y", "WITHSCORES"),
        ("FT.SUGGET", "k5", "", "WITHSCORES", "MAX", "20"), ("FT.SUGLEN", "k5"),
        ("FT.SUGDEL", "k5", "abc"), ("FT.SUGDEL", "k5", "abc"), ("FT.SUGDEL", "k5", "Abc"), ("FT.SUGDEL", "k5", "ABC"),
        ("FT.SUGDEL", "k5", "Y"), ("FT.SUGLEN", "k5"),
        # A deleted node with one child loses its payload; with two it keeps it and a re-add brings it back.
        ("FT.SUGADD", "k5", "x", "1", "PAYLOAD", "px"), ("FT.SUGADD", "k5", "xy", "1"), ("FT.SUGDEL", "k5", "x"),
        ("FT.SUGGET", "k5", "x", "WITHPAYLOADS"), ("FT.SUGADD", "k5", "x", "1"), ("FT.SUGGET", "k5", "x", "WITHPAYLOADS"),
        ("FT.SUGADD", "k3", "x", "1", "PAYLOAD", "px"), ("FT.SUGADD", "k3", "xa", "1"), ("FT.SUGADD", "k3", "xb", "1"),
        ("FT.SUGDEL", "k3", "x"), ("FT.SUGGET", "k3", "x", "WITHPAYLOADS"), ("FT.SUGADD", "k3", "x", "1"),
        ("FT.SUGGET", "k3", "x", "WITHPAYLOADS"),
        # INCR raises maxc by the increment only; a lower score leaves it stale.
        ("FT.SUGADD", "ac", "hell", "1", "INCR"), ("FT.SUGADD", "ac", "hell", "1.5", "INCR", "PAYLOAD", "p2"),
        ("FT.SUGGET", "ac", "he", "WITHSCORES", "WITHPAYLOADS", "MAX", "1"), ("FT.SUGADD", "ac", "hell", "2"),
        ("FT.SUGGET", "ac", "he", "WITHSCORES", "MAX", "3"), ("FT.SUGDEL", "ac", "hell"), ("FT.SUGDEL", "ac", "hell"),
        ("FT.SUGDEL", "ac", "hello world"), ("FT.SUGLEN", "ac"),
        ("FT.SUGGET", "ac", "helo", "FUZZY", "WITHSCORES", "MAX", "2"),
    ]:
        run(*cmd)

    # The last delete leaves an empty dictionary (EXISTS 1, SUGGET an empty array, not nil).
    for cmd in [("FT.SUGADD", "k2", "solo", "1", "PAYLOAD", "ps"), ("FT.SUGDEL", "k2", "solo"),
                ("FT.SUGADD", "k2", "solo", "1"), ("FT.SUGGET", "k2", "so", "WITHPAYLOADS"), ("FT.SUGDEL", "k2", "solo"),
                ("EXISTS", "k2"), ("TYPE", "k2"), ("FT.SUGLEN", "k2"), ("FT.SUGGET", "k2", "so"),
                ("FT.SUGGET", "k2", "", "FUZZY", "WITHSCORES"), ("FT.SUGDEL", "k2", "solo")]:
        run(*cmd)

    # FUZZY is RediSearch's prefix-mode automaton, not "a prefix within one edit".
    for w in ["baa", "ba", "b", "bb", "abx"]:
        run("FT.SUGADD", "fq", w, "1")
    run("FT.SUGGET", "fq", "ab", "FUZZY", "WITHSCORES", "MAX", "10")
    run("FT.SUGGET", "fq", "b", "FUZZY", "WITHSCORES", "MAX", "10")
    run("FT.SUGGET", "fq", "bab", "FUZZY", "WITHSCORES", "MAX", "10")

    # Unicode: folding of the query only, 16-bit runes, byte length of the query in the score.
    for cmd in [("ssx", "1"), ("ÉCOLE", "2"), ("\U0001F600smile", "3"), ("ΣΊΣΥΦΟΣ", "1"), ("straße", "2"),
                ("Ωmega", "1"), ("İstanbul", "1"), ("ǅemal", "1")]:
        run("FT.SUGADD", "uni", *cmd)
    for q in ["ß", "s", "éco", "ÉCO", "\U0001F600", "σίσ", "ς", "Σ", "STRASSE", "straß", "ω", "Ω", "i̇", "ǆ", "Ǆ"]:
        run("FT.SUGGET", "uni", q, "WITHSCORES")
        run("FT.SUGGET", "uni", q, "WITHSCORES", "FUZZY")
    run("FT.SUGDEL", "uni", "\U0001F600smile")
    run("FT.SUGLEN", "uni")

    # NUL ends the text; the query's byte length still counts.
    for cmd in [("FT.SUGADD", "n", b"ab\x00cd", "1"), ("FT.SUGADD", "n", b"ab", "5"), ("FT.SUGLEN", "n"),
                ("FT.SUGGET", "n", "a", "WITHSCORES"), ("FT.SUGGET", "n", b"a\x00zz", "WITHSCORES"),
                ("FT.SUGADD", "n", b"\x00x", "1"), ("FT.SUGLEN", "n"), ("FT.SUGGET", "n", b"\x00", "WITHSCORES"),
                ("FT.SUGDEL", "n", b"ab\x00cd"), ("FT.SUGLEN", "n"), ("FT.SUGADD", "n", "z", "1", "PAYLOAD", b"p\x00q"),
                ("FT.SUGGET", "n", "z", "WITHPAYLOADS"), ("FT.SUGGET", "n", "nomatch")]:
        run(*cmd)

    # The key as a key: TYPE, OBJECT ENCODING, RENAME, EXPIRE / TTL / PERSIST, COPY refused, DEL, SCAN TYPE.
    for cmd in [("FT.SUGADD", "r0", "x", "1"), ("FT.SUGADD", "r0", "xy", "1"), ("RENAME", "r0", "r1"), ("EXISTS", "r0"),
                ("TYPE", "r1"), ("FT.SUGGET", "r1", "x"), ("EXPIRE", "r1", "100"), ("TTL", "r1"), ("PERSIST", "r1"),
                ("TTL", "r1"), ("OBJECT", "ENCODING", "r1"), ("COPY", "r1", "r2"), ("EXISTS", "r2"),
                ("FT.SUGGET", "r2", "x"), ("COPY", "r1", "r2", "REPLACE"), ("RENAMENX", "r1", "k2"),
                ("RENAMENX", "r1", "r3"), ("TYPE", "r3"), ("FT.SUGLEN", "r3"), ("DEL", "r3"), ("EXISTS", "r3"),
                ("FT.SUGGET", "r3", "x"), ("SET", "k3", "overwritten"), ("TYPE", "k3"),
                ("COMMAND", "GETKEYS", "FT.SUGGET", "k", "x"), ("COMMAND", "GETKEYS", "FT.SUGADD", "k", "x", "1"),
                ("COMMAND", "GETKEYS", "FT.SUGDEL", "k", "x"), ("COMMAND", "GETKEYS", "FT.SUGLEN", "k")]:
        run(*cmd)
    run("SCAN", "0", "TYPE", "trietype0", "COUNT", "1000", sort=True)
    run("SCAN", "0", "TYPE", "string", "COUNT", "1000", sort=True)
    run("KEYS", "*", sort=True)

    # Inside MULTI / EXEC.
    for cmd in [("MULTI",), ("FT.SUGADD", "m", "abc", "2", "PAYLOAD", "p"), ("FT.SUGADD", "m", "x", "nan"),
                ("FT.SUGGET", "m", "a", "WITHSCORES", "WITHPAYLOADS"), ("FT.SUGLEN", "m"), ("FT.SUGDEL", "m", "abc"),
                ("EXEC",)]:
        run(*cmd)
    run("DBSIZE")


@pytest.mark.parametrize("protocol", [2, 3])
def test_edge_commands_same_as_redis_stack(redis_stack, server, protocol):
    pair = Pair(redis_stack, server.port, protocol)
    try:
        edge_commands(pair)
        pair.check(minimum=390)
    finally:
        pair.close()


def test_cut_off_utf8_tail_same_as_redis_stack(redis_stack, server):
    """A string whose last character lacks exactly one byte: RediSearch's decoder (libnu, no validation) reads the
    argument's NUL terminator as that byte, which Redis always writes after an argument, so the result is defined:
    `q\\xc3` is stored and returned as `qÀ`, and a 199-byte prefix of 99 `é` and a lone `\\xc3` has 100 runes
    (`Invalid query`). (Strings lacking two or more bytes read past the terminator: undefined, not compared.)"""
    pair = Pair(redis_stack, server.port, 2)
    try:
        for cmd in [("FT.SUGADD", "t", b"q\xc3", "1"), ("FT.SUGADD", "t", b"z\xe9z", "2"),
                    ("FT.SUGADD", "t", b"w\xf0\x9f\x98", "3"), ("FT.SUGADD", "t", b"\xe2\x82", "4"),
                    ("FT.SUGLEN", "t"), ("FT.SUGGET", "t", "", "WITHSCORES", "MAX", "10"),
                    ("FT.SUGGET", "t", b"q\xc3", "WITHSCORES"), ("FT.SUGGET", "t", b"z\xe9", "WITHSCORES"),
                    ("FT.SUGGET", "t", "é".encode() * 99 + b"\xc3"), ("FT.SUGDEL", "t", b"z\xe9z"),
                    ("FT.SUGDEL", "t", b"q\xc3"), ("FT.SUGLEN", "t")]:
            pair.run(*cmd)
        pair.check(minimum=12)
    finally:
        pair.close()


# ---------------------------------------------------------------------------------------------------------------
# VecShard alone

def load_session(r: redis.Redis) -> None:
    ft = r.ft()
    assert ft.sugadd("ac", Suggestion("hello", 1.0), Suggestion("hell", 2.0, "p-hell"), Suggestion("help", 3.0)) == 3
    assert ft.sugadd("ac", Suggestion("Hello World", 4.0, "p-hw")) == 4
    assert ft.sugadd("ac", Suggestion("héllo", 1.0), Suggestion("helicopter", 5, "p-heli")) == 6


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_suggestion_api(server, protocol):
    r = server.client(protocol=protocol)
    ft = r.ft()
    load_session(r)
    assert ft.suglen("ac") == 6
    got = ft.sugget("ac", "hel", with_scores=True, with_payloads=True)
    assert [(s.string, s.score, s.payload) for s in got] == [
        ("help", 2.1213202476501465, None), ("helicopter", 1.7677669525146484, "p-heli"),
        ("hell", 1.4142135381698608, "p-hell"), ("Hello World", 1.3333333730697632, "p-hw"),
        ("hello", 0.5773502588272095, None)]
    got = ft.sugget("ac", "HÉ", with_scores=True)
    assert [(s.string, s.score, s.payload) for s in got] == [("héllo", f32(1 / math.sqrt(3)), None)]
    # Without WITHSCORES redis-py reports 1.0.
    assert [(s.string, s.score) for s in ft.sugget("ac", "h", num=2)] == [("helicopter", 1.0), ("help", 1.0)]
    got = ft.sugget("ac", "helo", fuzzy=True, num=5, with_scores=True)
    assert [(s.string, s.score) for s in got] == [
        ("help", 290630304.0), ("hell", 290630304.0), ("helicopter", 0.2557596266269684),
        ("Hello World", 0.19139298796653748), ("hello", 0.09569649398326874)]
    assert [s.string for s in ft.sugget("ac", "hellohellohello")] == []
    assert ft.sugget("missing", "h") == []
    # increment=True adds to the score; a payload given again replaces the old one.
    assert ft.sugadd("ac", Suggestion("hell", 1.5, "p2"), increment=True) == 6
    got = ft.sugget("ac", "he", num=1, with_scores=True, with_payloads=True)
    assert [(s.string, s.score, s.payload) for s in got] == [("hell", f32(3.5 / math.sqrt(3)), "p2")]
    # Without increment the score is replaced.
    assert ft.sugadd("ac", Suggestion("hell", 0.5)) == 6
    got = ft.sugget("ac", "hell", with_scores=True, with_payloads=True)
    assert [(s.string, s.score, s.payload) for s in got][1:] == [("Hello World", f32(4 / math.sqrt(8)), "p-hw"),
                                                                  ("hello", f32(1 / math.sqrt(2)), None)]
    assert (got[0].string, got[0].score, got[0].payload) == ("hell", 2147483648.0, "p2")
    assert ft.sugdel("ac", "hell") == 1
    assert ft.sugdel("ac", "hell") == 0
    assert ft.sugdel("ac", "HELP") == 0
    assert ft.suglen("ac") == 5
    assert ft.suglen("missing") == 0
    assert [s.string for s in ft.sugget("ac", "he", num=10)] == ["help", "helicopter", "Hello World", "hello"]
    # The raw reply types of each protocol.
    raw = r.execute_command("FT.SUGGET", "ac", "help", "WITHSCORES", "WITHPAYLOADS")
    assert raw == [b"help", b"2147483648" if protocol == 2 else 2147483648.0, None]
    assert r.execute_command("FT.SUGGET", "missing", "x") is None
    with pytest.raises(redis.ResponseError, match="^Unknown argument `FOO`$"):
        r.execute_command("FT.SUGADD", "ac", "x", "1", "FOO")
    with pytest.raises(redis.ResponseError, match="^invalid score$"):  # redis-py strips the ERR prefix
        r.execute_command("FT.SUGADD", "ac", "x", "nan")
    r.set("str", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        ft.sugget("str", "x")
    r.close()


def test_trim_cuts_results_after_a_tenfold_drop(server):
    """TRIM (never compared with Redis Stack, which crashes on it): walking the sorted results, the first one whose
    score is under a tenth of the best so far ends the list; a best score of 0 (all negative so far) cuts nothing."""
    r = server.client(protocol=2)
    for s, score in [("xa", 100), ("xb", 50), ("xc", 5), ("xd", 1), ("ya", 4), ("yb", -1), ("za", -1), ("zb", -20),
                     ("wa", 10), ("wb", 2)]:
        r.execute_command("FT.SUGADD", "t", s, score, "PAYLOAD", "p" + s)
    scaled = lambda v: str(f32(v / math.sqrt(2))).encode()  # noqa: E731  (2 runes, 1-byte query)

    assert r.execute_command("FT.SUGGET", "t", "x", "WITHSCORES") == [
        b"xa", scaled(100), b"xb", scaled(50), b"xc", scaled(5), b"xd", scaled(1)]
    assert r.execute_command("FT.SUGGET", "t", "x", "WITHSCORES", "TRIM") == [b"xa", scaled(100), b"xb", scaled(50)]
    assert r.execute_command("FT.SUGGET", "t", "X", "TRIM", "WITHPAYLOADS", "WITHSCORES", "MAX", "10") == [
        b"xa", scaled(100), b"pxa", b"xb", scaled(50), b"pxb"]
    assert r.execute_command("FT.SUGGET", "t", "x", "TRIM", "MAX", "1") == [b"xa"]
    assert r.execute_command("FT.SUGGET", "t", "x", "TRIM", "MAX", "3") == [b"xa", b"xb"]
    # A later entry is compared with the running maximum, not its predecessor: 5 < 100/10 though 5 >= 50/10.
    assert r.execute_command("FT.SUGGET", "t", "y", "TRIM") == [b"ya"]
    assert r.execute_command("FT.SUGGET", "t", "y") == [b"ya", b"yb"]
    assert r.execute_command("FT.SUGGET", "t", "z", "TRIM", "WITHSCORES") == [b"za", scaled(-1), b"zb", scaled(-20)]
    assert r.execute_command("FT.SUGGET", "t", "w", "TRIM") == [b"wa", b"wb"]   # 2 is not under 10/10
    # FUZZY: a 1-rune query matches every entry; the cut falls where the rule says on the untrimmed list.
    full = r.execute_command("FT.SUGGET", "t", "x", "FUZZY", "WITHSCORES", "MAX", "20")
    best, keep = 0.0, len(full)
    for i in range(0, len(full), 2):
        score = float(full[i + 1])
        if i and best != 0 and score < best / 10:
            keep = i
            break
        best = max(best, score)
    assert 2 <= keep < len(full)
    assert r.execute_command("FT.SUGGET", "t", "x", "FUZZY", "TRIM", "WITHSCORES", "MAX", "20") == full[:keep]
    assert r.execute_command("FT.SUGGET", "missing", "x", "TRIM") is None
    r.close()


def entries(r: redis.Redis, key: str) -> set:
    reply = r.execute_command("FT.SUGGET", key, "", "WITHSCORES", "WITHPAYLOADS", "MAX", "10000")
    return {(reply[i], reply[i + 1], reply[i + 2]) for i in range(0, len(reply), 3)}


def test_suggestions_survive_save_and_restart(tmp_path):
    srv = start_server_process(tmp_path)
    r = srv.client(protocol=2)
    rng = random.Random(5)
    for i in range(500):
        word = "".join(rng.choice("abcdéfgh") for _ in range(rng.randint(1, 8)))
        args = ["FT.SUGADD", "dict", word, rng.choice([1, 2, 3, 0.5, 10, -2, 1e-7, rng.random() * 100])]
        if rng.random() < 0.4:
            args += ["PAYLOAD", f"pay-{i}-é"]
        r.execute_command(*args)
    for cmd in [("x", "1", "PAYLOAD", "px"), ("xa", "2"), ("xb", "3", "PAYLOAD", "pxb"), ("neg", "-5"), ("Big", "7"),
                (b"nul\x00tail", "4", "PAYLOAD", b"bin\x00\xff"), ("\U0001F600", "2"), ("minf", "-inf")]:
        r.execute_command("FT.SUGADD", "small", *cmd)
    r.execute_command("FT.SUGDEL", "small", "x")
    r.execute_command("FT.SUGADD", "empty", "z", "0")
    r.execute_command("FT.SUGADD", "ttl", "t", "1")
    r.expire("ttl", 1000)
    before = {k: entries(r, k) for k in ("dict", "small", "empty", "ttl")}
    lens = {k: r.execute_command("FT.SUGLEN", k) for k in before}
    assert len(before["dict"]) > 200 and lens["small"] == 7 and lens["empty"] == 0
    assert (b"xb", b"1.7320507764816284", b"pxb") in before["small"]
    assert r.save()
    r.close()
    assert srv.stop() == 0, srv.log()[-2000:]

    srv2 = start_server_process(srv.dir, timeout=60)
    r = srv2.client(protocol=2)
    try:
        assert {k: entries(r, k) for k in before} == before
        assert {k: r.execute_command("FT.SUGLEN", k) for k in before} == lens   # the -inf entry counts, as before
        assert r.type("empty") == b"trietype0" and r.exists("empty") == 1
        assert 900 < r.ttl("ttl") <= 1000
        # Still a live dictionary: adds, lookups and deletes work on the loaded trie.
        assert r.execute_command("FT.SUGADD", "small", "xc", "9") == 8
        assert r.execute_command("FT.SUGGET", "small", "x", "WITHPAYLOADS", "MAX", "2") == [b"xc", None, b"xb", b"pxb"]
        assert r.execute_command("FT.SUGDEL", "small", "minf") == 1
        assert r.execute_command("FT.SUGLEN", "small") == 7
    finally:
        r.close()
        srv2.stop()


@pytest.mark.timeout(120)
def test_cluster_routes_suggestion_commands(tmp_path):
    fleet = start_fleet(tmp_path, "local-3.conf")
    try:
        # Slots of local-3.conf: 0-5460 node 0, 5461-10922 node 1, 10923-16383 node 2.
        keys = {"{user1000}.following": (3443, 0), "user:1": (10778, 1), "foo": (12182, 2)}
        rc = RedisCluster(host=HOST, port=fleet.ports[1], protocol=3, socket_timeout=10)
        try:
            for n, key in enumerate(keys):
                assert rc.execute_command("FT.SUGADD", key, f"hello{n}", n + 1, "PAYLOAD", f"p{n}") == 1
                assert rc.execute_command("FT.SUGADD", key, "help", 0.5) == 2
                assert rc.execute_command("FT.SUGGET", key, "hel", "WITHPAYLOADS") == \
                    [f"hello{n}".encode(), f"p{n}".encode(), b"help", None]
                assert rc.execute_command("FT.SUGLEN", key) == 2
            assert rc.ft().sugget("foo", "he", num=1) and rc.ft().sugget("foo", "he", num=1)[0].string == "hello2"
        finally:
            rc.close()
        for key, (slot, owner) in keys.items():
            with redis.Redis(host=HOST, port=fleet.ports[owner], protocol=2) as c:
                assert c.execute_command("CLUSTER", "KEYSLOT", key) == slot
                assert c.type(key) == b"trietype0" and c.execute_command("FT.SUGLEN", key) == 2
            other = fleet.ports[(owner + 1) % 3]
            moved = b"-MOVED %d 127.0.0.1:%d\r\n" % (slot, fleet.ports[owner])
            for cmd in [("FT.SUGADD", key, "x", "1"), ("FT.SUGGET", key, "x"), ("FT.SUGDEL", key, "x"),
                        ("FT.SUGLEN", key)]:
                assert raw_command(other, resp_command(*cmd), timeout=0.5) == moved, cmd
            # redis-cli -c follows the redirect from a node that does not own the key.
            res = redis_cli(other, "-c", "FT.SUGADD", key, "zeta", "5")
            assert res.stdout.strip() == "3", res.stdout + res.stderr
            res = redis_cli(other, "-c", "FT.SUGGET", key, "z", "WITHSCORES")
            assert res.stdout.split() == ["zeta", str(f32(5 / math.sqrt(4)))], res.stdout + res.stderr
        # Nothing was written where it does not belong.
        for i in range(3):
            with redis.Redis(host=HOST, port=fleet.ports[i], protocol=2) as c:
                assert c.dbsize() == 1
    finally:
        fleet.stop()


def test_hostile_arguments_keep_the_node_up(fresh_server):
    """Huge, NUL-laden and invalid-UTF-8 arguments (cut-off sequences at the end included, which make RediSearch's
    decoder read past the argument) get a reply, never a crash."""
    srv = fresh_server
    big = b"x" * (512 * 1024)
    conn = Connection(srv.port)
    try:
        def call(*args) -> bytes:
            return conn.call(*args)[0]

        assert call("FT.SUGADD", "h", "seed", "1") == b":1\r\n"
        assert call("FT.SUGADD", "h", big, "1") == b":1\r\n"                      # over 512 bytes: not added
        assert call("FT.SUGADD", "h", "s", "1", "PAYLOAD", big) == b":2\r\n"
        assert call("FT.SUGGET", "h", "s", "WITHPAYLOADS", "MAX", "1") == b"*2\r\n$1\r\ns\r\n$%d\r\n%s\r\n" % (
            len(big), big)
        assert call("FT.SUGGET", "h", big) == b"-Invalid query length\r\n"
        assert call("FT.SUGGET", "h", big, "FUZZY") == b"-Invalid query length\r\n"
        assert call("FT.SUGADD", "h", "y", big) == b"-ERR invalid score\r\n"
        assert call("FT.SUGGET", "h", "s", "MAX", big) == b"-MAX: Could not convert argument to expected type\r\n"
        assert call("FT.SUGGET", "h", "s", big).startswith(b"-Unrecognized argument: xxx")
        assert call("FT.SUGADD", "h", "y", "1", big).startswith(b"-Unknown argument `xxx")
        assert call("FT.SUGDEL", "h", big) == b":0\r\n"
        assert call("FT.SUGADD", big, "k", "1") == b":1\r\n"
        assert call("FT.SUGGET", big, "k") == b"*1\r\n$1\r\nk\r\n"
        hostile = ["é".encode() * 99 + b"\xc3", b"\xc3", b"\xff" * 50, b"\xff" * 199, b"\xc3" * 199, b"\xf0",
                   b"\xe9", b"a\xf0\x9f", b"\xed\xa0\x80", b"\xef\xbf\xbf" * 66, b"\xf4\x90\x80\x80", b"\x00",
                   b"a\x00b", b"\x00" * 199, b"\x80" * 100, b"\xc0\x80", b"\xe0\x80\x80", "\U0001F600".encode() * 49]
        for s in hostile:
            for cmd in [("FT.SUGADD", "h", s, "1"), ("FT.SUGADD", "h", s, "2", "INCR", "PAYLOAD", s),
                        ("FT.SUGGET", "h", s), ("FT.SUGGET", "h", s, "FUZZY", "WITHSCORES", "WITHPAYLOADS", "MAX", "50"),
                        ("FT.SUGGET", "h", s, "TRIM", "FUZZY"), ("FT.SUGADD", s, s, "1"), ("FT.SUGGET", s, s[:1]),
                        ("FT.SUGDEL", "h", s), ("FT.SUGDEL", s, s), ("FT.SUGLEN", s)]:
                reply = call(*cmd)
                assert reply[:1] in (b":", b"*", b"$", b"-"), (show(cmd), reply)
        # Everything left in the dictionary still reads back, in both protocols.
        assert call("FT.SUGGET", "h", "", "WITHSCORES", "WITHPAYLOADS", "MAX", "1000")[:1] == b"*"
        assert call("FT.SUGGET", "h", "", "FUZZY", "MAX", "1000")[:1] == b"*"
        assert call("HELLO", "3")[:1] == b"%"
        assert call("FT.SUGGET", "h", "", "WITHSCORES", "WITHPAYLOADS", "MAX", "1000")[:1] == b"*"
        assert call("PING") == b"+PONG\r\n"
    finally:
        conn.close()
    assert srv.alive()
    assert redis_cli(srv.port, "PING").stdout.strip() == "PONG"
