"""Differential test for the Search module: the same FT.* script sent to Redis Stack 7.4.1 (RediSearch 2.10.5)
and to a fresh ``vecshard-server``, in RESP2 and in RESP3 (HELLO 3), replies compared.

The reference is started with ``../shared/bench/redis-stack.sh`` (``$REDIS_STACK_SH`` overrides the path) on a
free port. If it cannot be installed or started the test FAILS: a silent skip would hide every regression.

The script is generated from the tables below (``build_script``): index definitions, documents, queries and the
option sets each query is run with. Every step carries a comparison mode:

    "="       identical reply bytes
    "set"     FT.SEARCH whose order RediSearch leaves unspecified (no SORTBY; equal or TF-IDF scores): same
              total, same documents (id -> fields) compared as a set; scores ignored
    "order"   FT.SEARCH with a defined order: same total, same ids in the same order, same fields; scores ignored
    "total"   FT.SEARCH with LIMIT but no defined order: same total and the same number of rows
    "sorted"  an array / set whose order is unspecified (FT._LIST, FT.TAGVALS): compared sorted
    "info"    FT.INFO: the fields in INFO_FIELDS compared exactly (the rest are sizes and timings)
    "kind"    only the reply type must agree (OK vs error, ...)
    "sleep"   pause (expiry), nothing sent
    "wait"    poll FT.INFO <idx> on both servers until `indexing` is 0

Deliberate differences are listed in docs/COMPATIBILITY.md ("Search" / "Known differences") and are left out of
the script with a comment pointing there.
"""

from __future__ import annotations

import os
import random
import socket
import shlex
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, free_port, resp_command, start_server_process

STACK_SH = Path(os.environ.get("REDIS_STACK_SH", REPO.parent / "shared" / "bench" / "redis-stack.sh"))

# ---------------------------------------------------------------------------------------------------------------
# Data: deterministic documents over a small vocabulary so terms, tags and ranges all select something.

DIM = 4
N_DOCS = 80
WORDS = ["hello", "world", "redis", "search", "vector", "fast", "server", "swift", "database", "index",
         "query", "running", "runs", "ran", "apple", "banana", "cherry", "engine", "the", "of"]
COLORS = ["red", "green", "blue", "Yellow", "dark blue", "Red"]


def f32(values) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def f64(values) -> bytes:
    return struct.pack(f"<{len(values)}d", *values)


def make_docs(rng: random.Random):
    """N_DOCS hashes; prices are distinct (SORTBY ties would be broken by internal doc ids, which depend on the
    order the initial scan visits keys) and a few are spelled unusually (1e2, -0, 0x10, trailing zeros)."""
    prices = rng.sample([x for x in range(-50, 1000) if x != 0], N_DOCS)
    docs = []
    for i in range(N_DOCS):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5)))
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
        p = prices[i] / 10
        price = {3: f"{p:e}", 4: f"{p:.3f}"}.get(i % 9, f"{p:g}")
        price = {5: "1e2", 14: "-0", 23: "0x10"}.get(i, price)
        color = ",".join(sorted(set(rng.choice(COLORS) for _ in range(rng.randint(1, 2)))))
        vec = [round(rng.uniform(-1, 1), 4) for _ in range(DIM)]
        docs.append((f"doc:{i}", {"title": title, "body": body, "price": price, "color": color, "vec": f32(vec),
                                  "vec64": f64(vec)}))
    return docs


# ---------------------------------------------------------------------------------------------------------------
# Tables

# Indexes over the `doc:` hashes. `idx` is the main one (FLAT L2), `hnsw` the same vectors in HNSW for recall.
INDEXES = [
    ("idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "title", "TEXT", "WEIGHT", "2", "body", "TEXT",
     "price", "NUMERIC", "SORTABLE", "color", "TAG", "SORTABLE", "vec", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32",
     "DIM", str(DIM), "DISTANCE_METRIC", "L2"),
    ("hnsw", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "color", "TAG", "price", "NUMERIC",
     "vec", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", str(DIM), "DISTANCE_METRIC", "L2"),
    ("cos", "PREFIX", "1", "doc:", "SCHEMA", "vec", "AS", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32",
     "DIM", str(DIM), "DISTANCE_METRIC", "COSINE", "color", "AS", "c", "TAG", "CASESENSITIVE"),
    ("ip", "PREFIX", "1", "doc:", "SCHEMA", "vec64", "VECTOR", "FLAT", "6", "TYPE", "FLOAT64",
     "DIM", str(DIM), "DISTANCE_METRIC", "IP", "price", "NUMERIC"),
    ("tags", "PREFIX", "2", "doc:1", "doc:2", "SCHEMA", "color", "TAG", "SEPARATOR", ";", "title", "TEXT",
     "NOSTEM", "SORTABLE"),
    ("sw", "PREFIX", "1", "doc:", "STOPWORDS", "2", "hello", "world", "SCHEMA", "title", "TEXT", "body",
     "TEXT", "WEIGHT", "0.5"),
]

# Counts, limits and casts past their range (found by the fuzzer, Sources/vecshard-fuzz, and by reading the code it
# pointed at): RediSearch's errors, or its C casts (an out-of-range double becomes INT_MIN / LLONG_MIN).
HUGE = "9223372036854775806"
HOSTILE_NUMBERS = [
    ("FT.AGGREGATE", "idx", "*", "LOAD", "1", "@title", "SORTBY", "2", "@title", "ASC", "APPLY", f"substr(@title, {o}, {n})",
     "AS", "x", "LIMIT", "0", "3")
    for o, n in [("1", "2"), ("1e300", "2"), ("-1e300", "2"), ("1", "1e300"), ("1", "-1e300"), ("3e9", "1"),
                 ("-20", "2"), ("-3", "2"), ("2", "-1"), ("0", "-20")]
] + [
    ("FT.AGGREGATE", "idx", "*", "LOAD", "1", "@price", "SORTBY", "2", "@price", "ASC", "APPLY", expr, "AS", "x",
     "LIMIT", "0", "3")
    for expr in ["@price % 1e300", "1e300 % 3", "-1e300 % 7", "@price % -1", "@price % 2.5", "sqrt(-1) % 3",
                 "(1/0) % 3", "3 % sqrt(-1)", "sqrt(-1) % sqrt(-1)", "3 % 0"]
] + [
    ("FT.SEARCH", "idx", "*", "LIMIT", "9223372036854775807", "1"),
    ("FT.SEARCH", "idx", "*", "LIMIT", "1", "9223372036854775807"),
    ("FT.SEARCH", "idx", "*", "LIMIT", "1", HUGE),
    ("FT.SEARCH", "idx", "*", "LIMIT", "0", "1000001"),
    ("FT.SEARCH", "idx", "*", "LIMIT", "1000001", "1"),
    ("FT.SEARCH", "idx", "*", "LIMIT", "2000000", "0"),
    ("FT.SEARCH", "idx", "*", "LIMIT", "1000000", "1"),
    ("FT.SEARCH", "idx", "*", "PARAMS", HUGE, "a", "b"),
    ("FT.SEARCH", "idx", "*", "PARAMS", "4294967296", "a", "b"),
    ("FT.SEARCH", "idx", "*", "RETURN", "-1", "a"),
    ("FT.SEARCH", "idx", "*", "RETURN", "4294967295", "a"),
    ("FT.AGGREGATE", "idx", "*", "LOAD", "9223372036854775807"),
    ("FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@color", "REDUCE", "COUNT", HUGE),
    ("FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@color", "REDUCE", "TOLIST", "-1", "@price"),
    ("FT.AGGREGATE", "idx", "*", "GROUPBY", "4294967296", "@color"),
    ("FT.CREATE", "h1", "PREFIX", HUGE, "a", "SCHEMA", "t", "TEXT"),
    ("FT.CREATE", "h1", "PREFIX", "-1", "a", "SCHEMA", "t", "TEXT"),
    ("FT.CREATE", "h1", "STOPWORDS", HUGE, "a", "SCHEMA", "t", "TEXT"),
    *[("FT.CREATE", "h1", "SCHEMA", "v", "VECTOR", "HNSW", n, "TYPE", "FLOAT32")
      for n in [HUGE, "100", "2147483648", "4294967295", "4294967296", "-1", "0"]],
    ("FT.ALTER", "idx", "SCHEMA", "ADD", "v2", "VECTOR", "HNSW", HUGE),
    *[("FT.CREATE", "h2", "SCHEMA", "v", "VECTOR", algo, "8", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2",
       name, value)
      for algo in ("HNSW", "FLAT")
      for name, value in [("INITIAL_CAP", "9223372036854775807"), ("INITIAL_CAP", "18446744073709551615"),
                          ("EF_RUNTIME", "9223372036854775807"), ("EF_CONSTRUCTION", "9223372036854775807"),
                          ("M", "9223372036854775807"), ("DIM", "9223372036854775807")]],
    *[("FT.SEARCH", "idx", f"*=>[KNN {k} @vec $B]", "PARAMS", "2", "B", f32([0.5] * DIM), "RETURN", "0", "DIALECT", "2")
      for k in ["18446744073709551615", "99999999999999999999999"]],
    ("FT.SEARCH", "idx", "*=>[KNN $K @vec $B]", "PARAMS", "4", "B", f32([0.5] * DIM), "K", "18446744073709551616",
     "DIALECT", "2"),
    # Nesting (a stack overflow before): RediSearch's DIALECT 2 parser takes 200 parentheses and refuses 1,000.
    *[("FT.SEARCH", "idx", "(" * n + "hello" + ")" * n, "NOCONTENT", "SORTBY", "price", "DIALECT", "2")
      for n in (200, 1000, 100000)],
    ("FT.EXPLAIN", "idx", "(" * 200 + "hello" + ")" * 200, "DIALECT", "2"),
    # Field count (20,000 fields took minutes before the limit) and a 20,000-term union (quadratic before).
    ("FT.CREATE", "h3", "SCHEMA", *[x for i in range(1025) for x in (f"f{i}", "NUMERIC")]),
    ("FT.CREATE", "h3", "SCHEMA", *[x for i in range(1024) for x in (f"f{i}", "NUMERIC")]),
    ("FT.ALTER", "h3", "SCHEMA", "ADD", "one", "NUMERIC"),
    ("FT.DROPINDEX", "h3"),
    ("FT.SEARCH", "idx", "|".join(["apple"] * 20000), "NOCONTENT", "SORTBY", "price", "LIMIT", "0", "3"),
]

# APPLY functions over a time made from the price (negative prices give negative times: null for the date parts), and
# every function's wrong-arity error.
TIME_FUNCTIONS = [
    "timefmt(@ts)", 'timefmt(@ts, "%Y-%m-%d %H:%M:%S %j %a %b %p %s")', 'timefmt(@ts, "")', 'timefmt(@ts, "%Q")',
    'timefmt("abc")', "timefmt(-0.5)", "year(@ts)", "monthofyear(@ts)", "dayofyear(@ts)", "dayofmonth(@ts)",
    "dayofweek(@ts)", "minute(@ts)", "hour(@ts)", "day(@ts)", "month(@ts)", 'year("abc")', "year(-1)",
    'parsetime("2023-11-14", "%Y-%m-%d")', 'parsetime("2023", "%Y")', 'parsetime("14/11/2023 10:00", "%d/%m/%Y %H:%M")',
    'parsetime("x", "%Y")', 'parsetime("1969-12-31", "%Y-%m-%d")', 'parsetime(5, "%Y")', "split(@color)",
    'split(@title, " ")', 'split(@title, "ae", "t")', 'split(@color, "")', 'split("")', "split(5)",
    'split(" a, b ,c,, d ", ",", "")', 'timefmt(@ts, 5)',
] + [f"{f}()" for f in ["abs", "ceil", "floor", "log", "log2", "exp", "sqrt", "to_number", "to_str", "upper",
                         "lower", "strlen", "startswith", "contains", "substr", "format", "exists", "split",
                         "timefmt", "parsetime", "year", "hour", "minute", "day", "month", "dayofweek",
                         "dayofmonth", "dayofyear", "monthofyear"]] + ["upper(1, 2)", "sqrt(1, 2)", "split(1, 2, 3, 4)"]
FUNCTION_AGGREGATES = [
    ("idx", "@price:[-inf +inf]", "LOAD", "3", "@price", "@color", "@title", "APPLY", "@price * 123456789", "AS", "ts", "APPLY", expr, "AS",
     "x", "SORTBY", "2", "@price", "ASC", "LIMIT", "0", "6")
    for expr in TIME_FUNCTIONS
]

# GEO fields: points spread over the world (so a radius query's geohash cells meet RediSearch's numeric tree in several
# ranges) and a few bad values; radius queries in both dialects and with parameters, GEOFILTER / FILTER / INFIELDS
# (which lead the query's intersection, so WITHSCORES shows where they sit), geodistance(), and their errors.
PLACES = [("-122.41,37.77", "hello san francisco"), ("-122.27 37.80", "hello oakland"), ("2.35,48.85", "hello world paris"),
          ("-0.12,51.5", "world hello hello london"), ("2.29 , 48.86", "bad spacing"), ("2.29,48.86", "world eiffel"),
          ("1, 2", "hello there"), ("139.69,35.68", "tokyo world"), ("-179.9,0.5", "date line west"),
          ("179.9,0.5", "date line east"), ("10,95", "too far north"), ("200,10", "too far east"), ("bad", "bad text"),
          ("", "empty"), ("1,2x", "trailing"), ("151.2,-33.87", "hello sydney"), ("-74.0,40.71", "new york hello world")]
GEO_QUERIES = [
    ("@loc:[-122.41 37.77 20 km]",), ("@loc:[2.35 48.85 10 km]", "WITHSCORES"), ("@loc:[2.35 48.85 5000 m]",),
    ("@loc:[2.35 48.85 5 mi]",), ("@loc:[2.35 48.85 20000 ft]",), ("@loc:[2.35 48.85 500 KM]",),
    ("hello @loc:[2.35 48.85 500 km]", "WITHSCORES"), ("hello @loc:[2.35 48.85 500 km]", "WITHSCORES", "DIALECT", "2"),
    ("@loc:[$lon $lat $r $u]", "PARAMS", "8", "lon", "2.35", "lat", "48.85", "r", "500", "u", "km", "DIALECT", "2"),
    ("@loc:[$lon $lat $r $u]", "PARAMS", "8", "lon", "2.35", "lat", "48.85", "r", "500", "u", "parsec", "DIALECT", "2"),
    ("@loc:[-122.41 37.77 20]",), ("@loc:[-122.41 37.77 20]", "DIALECT", "2"), ("@loc:[-122.41 37.77 20 xx]",),
    ("@loc:[-122.41 37.77 20 xx]", "DIALECT", "2"), ("@loc:[-122.41 37.77 -1 km]",), ("@loc:[-122.41 37.77 0 km]", "DIALECT", "2"),
    ("@loc:[-190 37.77 1 km]",), ("@loc:[-190 37.77 1 km]", "DIALECT", "2"), ("@loc:[-122.41 88 1 km]",),
    ("@loc:[(2.35 48.85 10 km]", "DIALECT", "2"), ("@loc:[2.35 48.85 10 km", "DIALECT", "2"),
    ("@loc:[0 0 30000 km]",), ("@loc:[179.95 0.5 50 km]",), ("@loc:[0 0 30000 km]", "SORTBY", "loc"),
    ("@loc:[0 0 30000 km]", "SORTBY", "loc", "DESC", "WITHSORTKEYS"), ("@loc:[0 100]",), ("@t:[0 100]",),
    ("@n:[-122.41 37.77 20 km]",), ("@nope:[-122.41 37.77 20 km]",), ("-@loc:[2.35 48.85 10 km]",),
    ("@loc:[2.35 48.85 10 km] | @loc:[-122.41 37.77 20 km]", "WITHSCORES"), ("@loc:[2.35 48.85 10 km] @n:[0 4]",),
    ("~@loc:[1 2 0.5 m] hello", "WITHSCORES"), ("hello", "FILTER", "n", "1", "5", "WITHSCORES"),
    ("hello", "FILTER", "n", "(1", "5"), ("hello", "FILTER", "n", "-inf", "+inf"), ("hello", "FILTER", "n", "inf", "10"),
    ("hello", "FILTER", "n", "1", "-inf"), ("hello", "FILTER", "n", "x", "2"), ("hello", "FILTER", "n", "1", "2y"),
    ("hello", "FILTER", "n", "1"), ("hello", "FILTER", "n", "", "5"), ("hello", "FILTER", "nope", "1", "2"),
    ("hello", "FILTER", "t", "1", "2"), ("hello", "FILTER", "n", "1", "10", "FILTER", "n", "2", "6", "WITHSCORES"),
    ("hello world", "FILTER", "n", "1", "10", "WITHSCORES"), ('"hello world"', "FILTER", "n", "1", "10", "WITHSCORES"),
    ("hello|world", "FILTER", "n", "1", "10", "WITHSCORES"), ("*", "FILTER", "n", "1", "10", "WITHSCORES"),
    ("", "FILTER", "n", "1", "10"), ("hello", "GEOFILTER", "loc", "-122.41", "37.77", "20", "km", "WITHSCORES"),
    ("hello world", "GEOFILTER", "loc", "2.35", "48.85", "1000", "km", "WITHSCORES"),
    ("hello", "GEOFILTER", "loc", "2.35", "48.85", "1000", "km", "FILTER", "n", "2", "6", "WITHSCORES"),
    ("*", "GEOFILTER", "loc", "2.35", "48.85", "1000", "km", "GEOFILTER", "loc", "-0.12", "51.5", "10", "km"),
    ("hello", "GEOFILTER", "loc", "1", "2", "3"), ("hello", "GEOFILTER", "loc", "1", "2", "3", "xx"),
    ("hello", "GEOFILTER", "loc", "x", "2", "3", "km"), ("hello", "GEOFILTER", "loc", "1", "x", "3", "km"),
    ("hello", "GEOFILTER", "loc", "1", "2", "x", "km"), ("hello", "GEOFILTER", "nope", "1", "2", "3", "km"),
    ("hello", "GEOFILTER", "n", "1", "2", "3", "km"), ("hello", "GEOFILTER", "loc", "1", "2", "-3", "km"),
    ("hello", "GEOFILTER", "loc", "1", "100", "3", "km"), ("hello", "GEOFILTER", "loc", "1", "2", "300", "MI"),
    ("hello", "INFIELDS", "1", "t", "WITHSCORES"), ("hello", "INFIELDS", "1", "nope"), ("hello", "INFIELDS", "2", "nope", "t"),
    ("hello", "INFIELDS", "3", "nope", "t"), ("hello world", "INFIELDS", "1", "t", "GEOFILTER", "loc", "2.35", "48.85",
                                               "1000", "km", "FILTER", "n", "0", "100", "WITHSCORES"),
]
GEO_AGGREGATES = [
    ("*", "LOAD", "1", "@loc", "APPLY", "geodistance(@loc, 2.35, 48.85)", "AS", "d", "SORTBY", "2", "@d", "ASC"),
    ("*", "LOAD", "1", "@loc", "APPLY", 'geodistance(@loc, "2.35,48.85")', "AS", "d", "SORTBY", "2", "@d", "DESC"),
    ("*", "LOAD", "1", "@loc", "APPLY", "geodistance(2.35, 48.85, @loc)", "AS", "d", "SORTBY", "2", "@d", "ASC"),
    ("*", "APPLY", "geodistance(1, 2, 3, 4)", "AS", "d", "LIMIT", "0", "1"),
    ("*", "APPLY", 'geodistance("1,2", "3 4")', "AS", "d", "LIMIT", "0", "1"),
    ("*", "APPLY", 'geodistance("1,2", "bad")', "AS", "d", "LIMIT", "0", "1"),
    ("*", "LOAD", "1", "@loc", "APPLY", "geodistance(@loc)", "AS", "d", "LIMIT", "0", "1"),
    ("*", "APPLY", "geodistance(1,2,3,4,5)", "AS", "d", "LIMIT", "0", "1"),
    ("@loc:[2.35 48.85 1000 km]", "LOAD", "1", "@loc", "APPLY", "geodistance(@loc, 2.35, 48.85)", "AS", "d",
     "SORTBY", "2", "@d", "DESC"),
    ("*", "GROUPBY", "1", "@loc", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "2", "@loc", "ASC"),
    # LIMIT first: RediSearch stops reading after offset + limit documents, which its total shows.
    ("*", "LOAD", "1", "@n", "LIMIT", "0", "3"), ("*", "LOAD", "1", "@n", "LIMIT", "2", "3"),
    ("*", "APPLY", "@n * 2", "AS", "x", "LIMIT", "4", "2"), ("*", "LIMIT", "0", "0"), ("*", "LIMIT", "12", "5"),
    ("*", "LIMIT", "50", "5"), ("hello", "LOAD", "1", "@t", "LIMIT", "1", "2"),
]
GEO_EXPLAINS = [("@loc:[-122.41 37.77 20 km]",), ("@loc:[-122.41 37.77 20 km] hello", "DIALECT", "2"),
                ("@loc:[$a $b $c $d]", "PARAMS", "8", "a", "1", "b", "2", "c", "3", "d", "mi", "DIALECT", "2")]


def add_geo(add) -> None:
    add(("=", "FT.CREATE", "geo", "PREFIX", "1", "place:", "SCHEMA", "loc", "GEO", "SORTABLE", "t", "TEXT", "n",
         "NUMERIC", "loc2", "GEO"))
    add(("wait", "geo"))  # a key written while RediSearch's initial scan runs can be indexed twice (a new doc id)
    for i, (loc, text) in enumerate(PLACES):
        add(("=", "HSET", f"place:{i}", "loc", loc, "t", text, "n", str(i), *(("loc2", loc) if i % 3 == 0 else ())))
    add(("info", "FT.INFO", "geo"))
    for q in GEO_QUERIES:
        add(("=", "FT.SEARCH", "geo", *q, *(() if "SORTBY" in q else ("NOCONTENT",)), "LIMIT", "0", "30"))
    add(("=", "FT.SEARCH", "geo", "@loc:[2.35 48.85 500 km]", "RETURN", "2", "loc", "loc2"))
    for q in GEO_AGGREGATES:
        add(("=", "FT.AGGREGATE", "geo", *q))
    for q in GEO_EXPLAINS:
        add(("=", "FT.EXPLAIN", "geo", *q))


# SLOP / INORDER / `$slop` / `$inorder`: positions run across a document's TEXT fields (t then u) and count stopwords
# ("a" is one); stemmed words and prefixes are unions whose offsets depend on how RediSearch's iterators reached the
# document; FILTER wraps a single word in a new intersection, which the slop then applies to.
PROXIMITY_TEXTS = ["hello world", "world hello", "hello big world", "hello big bad world", "world of hello and more hello",
                   "running fast world", "the hello the world", "hello", "world", "hello x y z world hello w world",
                   "a b c", "c b a", "a x b x c", "b a c", "hello world hello", "runs ran running hello"]
PROXIMITY_COMMANDS = [
    'FT.SEARCH s "hello world" SLOP 0 NOCONTENT WITHSCORES',
    'FT.SEARCH s "hello world" SLOP 1 NOCONTENT WITHSCORES',
    'FT.SEARCH s "hello world" SLOP 2 NOCONTENT',
    'FT.SEARCH s "hello world" INORDER NOCONTENT WITHSCORES',
    'FT.SEARCH s "hello world" SLOP 0 INORDER NOCONTENT',
    'FT.SEARCH s "hello world" SLOP 1 INORDER NOCONTENT',
    'FT.SEARCH s "world hello" SLOP 0 INORDER NOCONTENT',
    'FT.SEARCH s "a b c" SLOP 0 NOCONTENT',
    'FT.SEARCH s "a b c" SLOP 1 NOCONTENT',
    'FT.SEARCH s "a b c" SLOP 2 INORDER NOCONTENT',
    'FT.SEARCH s "@t:(a b c)" SLOP 0 NOCONTENT',
    'FT.SEARCH s "(hello world)=>{$slop:0}" NOCONTENT DIALECT 2',
    'FT.SEARCH s "(hello world)=>{$slop:1; $inorder:true}" NOCONTENT DIALECT 2',
    'FT.SEARCH s "(hello world)=>{$inorder:true}" NOCONTENT DIALECT 2',
    'FT.SEARCH s "(hello world)=>{$slop:0}" NOCONTENT',
    'FT.SEARCH s "running world" SLOP 1 NOCONTENT',
    'FT.SEARCH s "runs hello" SLOP 0 NOCONTENT',
    'FT.SEARCH s "hello world" SLOP -1 NOCONTENT',
    'FT.SEARCH s "hello world" SLOP x NOCONTENT',
    'FT.SEARCH s "hello world" SLOP NOCONTENT',
    'FT.SEARCH s "hello world" SLOP 0 INFIELDS 1 u NOCONTENT',
    'FT.SEARCH s "hello world" SLOP 0 FILTER n 0 100 NOCONTENT',
    'FT.SEARCH s "hello world | a b" SLOP 0 NOCONTENT',
    'FT.SEARCH s "hello (world | a)" SLOP 0 NOCONTENT',
    'FT.SEARCH s "hello -world" SLOP 0 NOCONTENT',
    'FT.SEARCH s "hello" SLOP 0 NOCONTENT',
    'FT.SEARCH s2 "hello world" SLOP 0 NOCONTENT',
    'FT.SEARCH s2 "hello world" INORDER NOCONTENT',
    'FT.SEARCH s "hello world" SLOP 0 NOCONTENT DIALECT 2',
    'FT.SEARCH s "running world" SLOP 0 NOCONTENT WITHSCORES',
    'FT.SEARCH s "hello run*" SLOP 1 NOCONTENT WITHSCORES',
    'FT.SEARCH s "hello run*" SLOP 3 INORDER NOCONTENT',
    'FT.SEARCH s "hello ~world" SLOP 0 NOCONTENT',
    'FT.SEARCH s "hello -world" SLOP 0 INORDER NOCONTENT',
    'FT.SEARCH s "hello (world|big)" SLOP 0 INORDER NOCONTENT',
    'FT.SEARCH s "(hello (world big))" SLOP 1 NOCONTENT',
    'FT.SEARCH s "hello world" SLOP 0 FILTER n 0 100 NOCONTENT WITHSCORES',
    'FT.SEARCH s "hello" SLOP 0 FILTER n 0 100 NOCONTENT',
    'FT.SEARCH s "hello" INORDER FILTER n 0 100 NOCONTENT',
    'FT.SEARCH s "hello world" SLOP 0 SORTBY n NOCONTENT',
    'FT.SEARCH s "runs hello" SLOP 0 SORTBY n NOCONTENT',
    'FT.SEARCH s "runs hello" SLOP 1 INORDER NOCONTENT WITHSCORES',
    'FT.SEARCH s "runs hello" SLOP 1 INORDER NOCONTENT SORTBY n',
    'FT.SEARCH s "@t:hello @u:world" SLOP 0 NOCONTENT',
    'FT.SEARCH s "@t:(hello world)" SLOP 0 NOCONTENT',
    'FT.SEARCH s "hello world" SLOP 2147483648 NOCONTENT',
    'FT.SEARCH s "hello world" SLOP 5 INORDER NOCONTENT',
    'FT.AGGREGATE s "hello world" SLOP 0 LOAD 1 @t SORTBY 2 @t ASC',
    'FT.AGGREGATE s "hello world" INORDER LOAD 1 @t SORTBY 2 @t ASC',
    'FT.AGGREGATE s "hello world" INFIELDS 1 u LOAD 1 @u SORTBY 2 @u ASC',
    'FT.AGGREGATE s "hello world" SLOP x',
    'FT.AGGREGATE s "hello world" SLOP',
    'FT.AGGREGATE s "hello world" INFIELDS 5 u',
    'FT.AGGREGATE s "hello world" SLOP 1 INORDER GROUPBY 0 REDUCE COUNT 0 AS c',
    'FT.AGGREGATE s "runs hello" SLOP 0 ADDSCORES SORTBY 2 @__score DESC LOAD 1 @t',
]


def add_proximity(add) -> None:
    add(("=", "FT.CREATE", "s", "PREFIX", "1", "s:", "SCHEMA", "t", "TEXT", "u", "TEXT", "n", "NUMERIC"))
    add(("=", "FT.CREATE", "s2", "PREFIX", "1", "s:", "NOOFFSETS", "SCHEMA", "t", "TEXT"))
    add(("wait", "s"))
    add(("wait", "s2"))
    for i, text in enumerate(PROXIMITY_TEXTS):
        add(("=", "HSET", f"s:{i}", "t", text, "u", PROXIMITY_TEXTS[-1 - i], "n", str(i)))
    for command in PROXIMITY_COMMANDS:
        add(("=", *shlex.split(command)))


# Suffix, contains, fuzzy and wildcard clauses on TEXT and TAG fields. RediSearch expands them by walking its term
# trie: a contains match yields a term once per occurrence (`abab` twice for `*ab*`), a text suffix match can repeat
# too, stems (`+banana`) are in the trie, and a fuzzy match also takes a term whose last character is one edit too
# many (`ba` for `%ab%`). The order and repeats show in WITHSCORES (a union reports its first matching child) and
# under a small MAXPREFIXEXPANSIONS.
AFFIX_DOCS = [("banana bananas", "nanas", "ab,aab,abab", "AbC"), ("ab", "ab", "ba", "abc"), ("ba xab", "xab", "xab,cab", "ABab"),
              ("aab abab", "aab", "abab,ab", "abc,AbC"), ("ababab cab", "cab", "ababab", "xAB"),
              ("xyba xyab", "abba", "xyab,zab zba", "ab"), ("hello hallo", "hello", "hello", "Hello"),
              ("helo hellxz", "helo", "helo", "hELLO"), ("helloa abc", "abc", "abc,abcd", "ABC"),
              ("abcd bca", "bca", "bca", "Bca"), ("anana ana", "anana", "anana,ana", "ANA"),
              ("abba running runner", "running", "abba", "abba"), ("runs zab zba", "runs", "zab,zba", "ZAB"),
              ("hello world abab", "world", "world,ab", "world"), ("ab ab ab ab abab", "ab", "ab", "AB"),
              ("abababababab ababa baba", "baba", "abababababab", "Ababa"), ("caf\u00e9 cafe", "cafe", "cafe,caf\u00e9", "CAFE")]
AFFIX_QUERIES = ["*ab*", "*ab", "*ba", "*ana*", "*an*", "*anana", "*ab* hello", "hello -*ab*", "@t:*ab*", "@u:*ab*",
                 "@t|u:*ab", "*AB*", "*b", "*zz*", "*ab* | *ba", "%ab%", "%%ab%%", "%%%ab%%%", "%hello%", "%%hello%%",
                 "%helo%", "@u:%abab%", "%ab% hello", "%caf%", "%%run%%", "%bab%", "w'ab*'", "w'*ab'", "w'a?a*'",
                 "w'*a*b*'", "w'?'", "w'??'", "w'*'", "w'h*o'", "w'AB*'", "@t:w'*ana'", "@u:w'*ab'", "w'*ab' hello",
                 "@g:{*ab}", "@g:{*ab*}", "@g:{ab*}", "@g:{w'a*b'}", "@g:{w'?b'}", "@g:{*AB*}", "@c:{*AB*}", "@c:{*ab}",
                 "@c:{w'A*'}", "@c:{*b*}", "@g:{*ab | ba}", "@g:{*b}", "@g:{ab* | *ba}", "@g:{*zab*}", "@g:{*ab*} hello",
                 "@g:{w'*'}", "@g:{w'??'}"]


def add_affixes(add) -> None:
    add(("=", "FT.CREATE", "af", "PREFIX", "1", "af:", "SCHEMA", "t", "TEXT", "u", "TEXT", "NOSTEM", "g", "TAG",
         "c", "TAG", "CASESENSITIVE", "n", "NUMERIC"))
    add(("wait", "af"))
    for i, (t, u, g, c) in enumerate(AFFIX_DOCS):
        add(("=", "HSET", f"af:{i}", "t", t, "u", u, "g", g, "c", c, "n", str(i)))
    for q in AFFIX_QUERIES:
        for extra in ((), ("WITHSCORES",), ("WITHSCORES", "SCORER", "BM25")):
            add(("=", "FT.SEARCH", "af", q, "NOCONTENT", "LIMIT", "0", "100", *extra, "DIALECT", "2"))
    for q in ("*ab*", "*ab", "%ab%", "%%hello%%", "@g:{*ab*}", "*ab* hello", "@t:*ba"):
        add(("=", "FT.SEARCH", "af", q, "NOCONTENT", "WITHSCORES", "LIMIT", "0", "100"))
    for q, params in (("*$p*", ("p", "ab")), ("*$p", ("p", "ba")), ("%$p%", ("p", "hello")), ("w'$p'", ("p", "*ab")),
                      ("@g:{*$p*}", ("p", "ab")), ("@g:{w'$p'}", ("p", "a*")), ("%%$p%%", ("p", "ab"))):
        add(("=", "FT.SEARCH", "af", q, "PARAMS", "2", *params, "NOCONTENT", "WITHSCORES", "DIALECT", "2"))
    add(("=", "FT.SEARCH", "af", "*ab* hello", "SLOP", "1", "NOCONTENT", "WITHSCORES", "DIALECT", "2"))
    add(("=", "FT.SEARCH", "af", "hello %ab%", "INORDER", "NOCONTENT", "DIALECT", "2"))
    add(("=", "FT.AGGREGATE", "af", "*ab*", "LOAD", "1", "@t", "SORTBY", "2", "@t", "ASC", "DIALECT", "2"))
    add(("=", "FT.AGGREGATE", "af", "%ab%", "ADDSCORES", "SORTBY", "2", "@__score", "DESC", "LOAD", "1", "@t",
         "DIALECT", "2"))
    for q in ("*ab*", "%%ab%%", "w'*ab'", "@g:{*ab*}", "@g:{w'*'}"):
        add(("=", "FT.EXPLAIN", "af", q, "DIALECT", "2"))
    # The expansion limit counts repeats; MINPREFIX applies to suffixes and contains, text and tag alike.
    add(("=", "FT.CONFIG", "SET", "MAXPREFIXEXPANSIONS", "3"))
    for q in ("*ab*", "*ab", "%%ab%%", "w'*ab'", "@g:{*ab*}", "@g:{*ab}", "@g:{w'*'}", "*ana*"):
        add(("=", "FT.SEARCH", "af", q, "NOCONTENT", "WITHSCORES", "LIMIT", "0", "100", "DIALECT", "2"))
    add(("=", "FT.CONFIG", "SET", "MAXPREFIXEXPANSIONS", "200"))
    add(("=", "FT.CONFIG", "SET", "MINPREFIX", "1"))
    for q in ("*b", "*b*", "@g:{*b}", "@g:{b*}", "@c:{*b*}"):
        add(("=", "FT.SEARCH", "af", q, "NOCONTENT", "WITHSCORES", "LIMIT", "0", "100", "DIALECT", "2"))
    add(("=", "FT.CONFIG", "SET", "MINPREFIX", "3"))
    for q in ("*ab*", "*ana*", "@g:{*ab*}", "%ab%", "w'ab*'"):
        add(("=", "FT.SEARCH", "af", q, "NOCONTENT", "LIMIT", "0", "100", "DIALECT", "2"))
    add(("=", "FT.CONFIG", "SET", "MINPREFIX", "2"))
    # Deleting documents takes them out of the expansions' results (scores: RediSearch counts them in a term's
    # document frequency until its GC runs, docs/COMPATIBILITY.md, so the sets are compared).
    add(("=", "DEL", "af:3", "af:14"))
    for q in ("*ab*", "*ab", "%ab%", "@g:{*ab*}"):
        add(("set", "FT.SEARCH", "af", q, "NOCONTENT", "LIMIT", "0", "100", "DIALECT", "2"))
    add(("=", "FT.DROPINDEX", "af", "DD"))


# FT.CREATE variants that must fail (or succeed) exactly as RediSearch does.
CREATE_ERRORS = [
    ("idx", "SCHEMA", "x", "TEXT"),                                      # exists
    ("e1",),
    ("e1", "SCHEMA"),
    ("e1", "PREFIX", "1", "p:"),
    ("e1", "ON", "JSONX", "SCHEMA", "f", "TEXT"),
    ("e1", "PREFIX", "x", "p:", "SCHEMA", "f", "TEXT"),
    ("e1", "SCHEMA", "f", "FOO"),
    ("e1", "SCHEMA", "f"),
    ("e1", "SCHEMA", "f", "TEXT", "f", "NUMERIC"),
    ("e1", "SCHEMA", "f", "TEXT", "WEIGHT", "abc"),
    ("e1", "SCHEMA", "f", "TAG", "SEPARATOR", "ab"),
    ("e1", "BADARG", "SCHEMA", "f", "TEXT"),
    ("e1", "SCHEMA", "v", "VECTOR"),
    ("e1", "SCHEMA", "v", "VECTOR", "LSH", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2"),
    ("e1", "SCHEMA", "v", "VECTOR", "FLAT", "5", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC"),
    ("e1", "SCHEMA", "v", "VECTOR", "FLAT", "4", "TYPE", "FLOAT32", "DIM", "2"),
    ("e1", "SCHEMA", "v", "VECTOR", "FLAT", "6", "TYPE", "INT8", "DIM", "2", "DISTANCE_METRIC", "L2"),
    ("e1", "SCHEMA", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "0", "DISTANCE_METRIC", "L2"),
    ("e1", "SCHEMA", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "x", "DISTANCE_METRIC", "L2"),
    ("e1", "SCHEMA", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "HAMMING"),
    ("e1", "SCHEMA", "v", "VECTOR", "HNSW", "8", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2",
     "M", "abc"),
    ("e1", "SCHEMA", "v", "VECTOR", "HNSW", "8", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2",
     "FOO", "1"),
    ("e1", "SCHEMA", "v", "VECTOR", "FLAT", "8", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2",
     "M", "16"),
    ("e1", "SCORE", "2", "SCHEMA", "f", "TEXT"),
    ("e1", "STOPWORDS", "3", "a", "SCHEMA", "f", "TEXT"),
]

# FT.CREATE variants that succeed; their FT.INFO is compared, then they are dropped.
CREATE_OK = [
    ("c1", "SCHEMA", "f", "TEXT"),
    ("c2", "ON", "hash", "PREFIX", "2", "a:", "b:", "SCORE", "0.5", "LANGUAGE", "english", "SCHEMA",
     "t", "TEXT", "NOSTEM", "WEIGHT", "3", "n", "NUMERIC", "g", "TAG", "CASESENSITIVE", "SEPARATOR", "|"),
    ("c3", "SCHEMA", "v", "VECTOR", "HNSW", "12", "TYPE", "FLOAT16", "DIM", "8", "DISTANCE_METRIC", "IP",
     "M", "8", "EF_CONSTRUCTION", "50", "EF_RUNTIME", "20"),
    ("c4", "SCHEMA", "v", "VECTOR", "HNSW", "8", "TYPE", "BFLOAT16", "DIM", "3", "DISTANCE_METRIC", "COSINE",
     "EPSILON", "0.05"),
    ("c5", "STOPWORDS", "0", "SKIPINITIALSCAN", "SCHEMA", "a", "AS", "b", "TEXT", "SORTABLE", "n", "NUMERIC",
     "SORTABLE", "NOINDEX"),
    ("c6", "PREFIX", "1", "doc:", "SCHEMA", "v", "VECTOR", "FLAT", "10", "TYPE", "FLOAT64", "DIM", "4",
     "DISTANCE_METRIC", "L2", "INITIAL_CAP", "100", "BLOCK_SIZE", "64"),
]

# Filter queries on `idx` (DIALECT 2 unless an option says otherwise). Each runs with every FILTER_OPTIONS entry.
FILTER_QUERIES = [
    "*",
    "hello",
    "HELLO",
    "hello world",
    '@body:"hello world"',
    '"hello world"',  # RediSearch numbers tokens across TEXT fields: a phrase can span title and body
    "hel*",
    "ru*",
    "-hello",
    "hello -world",
    "hello | redis",
    "(hello | redis) fast",
    "@title:hello",
    "@body:(fast | swift)",
    "@title:hello @body:world",
    "running",
    "runs",
    "the",
    "nosuchword",
    "@color:{red}",
    "@color:{Red}",
    "@color:{yellow}",
    "@color:{red | green}",
    "@color:{dark\\ blue}",
    "-@color:{blue}",
    "@price:[10 50]",
    "@price:[(10 50]",
    "@price:[10 (50]",
    "@price:[-inf 20]",
    "@price:[(90 +inf]",
    "@price:[-inf +inf]",
    "@price:[-5 -5]",
    "@price:[100 100]",
    "@price:[50 (50]",
    "@price:[$lo $hi]",
    "@color:{$c}",
    "@price:[20 60] @color:{blue}",
    "@price:[20 60] | @color:{green}",
    "hello @price:[0 50]",
    "-@price:[0 50]",
]
FILTER_PARAMS = ("PARAMS", "6", "lo", "20", "hi", "60", "c", "green")

# (mode, options). "set": the whole result fits in LIMIT 0 100.
FILTER_OPTIONS = [
    ("set", ("LIMIT", "0", "100")),
    ("set", ("NOCONTENT", "LIMIT", "0", "100")),
    ("order", ("SORTBY", "price", "ASC", "LIMIT", "0", "100")),
    ("order", ("SORTBY", "price", "DESC", "LIMIT", "3", "7", "RETURN", "2", "price", "title")),
    ("total", ("LIMIT", "0", "0")),
    ("set", ("RETURN", "3", "title", "AS", "t", "LIMIT", "0", "100", "DIALECT", "2")),
    ("set", ("WITHSCORES", "NOCONTENT", "LIMIT", "0", "100")),
]

QUERY_VECS = [[0.1, 0.2, 0.3, 0.4], [-0.5, 0.5, -0.5, 0.5], [0.9, -0.9, 0.0, 0.1], [0.0, 0.0, 0.0, 1.0]]

# KNN / range queries: (mode, index, query, options); $B is bound to each QUERY_VECS entry (float32, or float64
# for the `ip` index). FLAT results are exact: same ids in the same order (SORTBY) or as a set (no SORTBY: doc-id
# order, and the initial scan's doc ids depend on the keyspace's hash order), distances equal to the last float32
# ulp (docs/COMPATIBILITY.md, Search known differences: "Distances may differ in the last float32 digit").
VECTOR_QUERIES = [
    ("knnset", "idx", "*=>[KNN 5 @vec $B]", ()),
    ("knn", "idx", "*=>[KNN 5 @vec $B]", ("SORTBY", "__vec_score")),
    ("knn", "idx", "*=>[KNN 5 @vec $B AS d]", ("SORTBY", "d", "RETURN", "2", "d", "price")),
    ("knn", "idx", "*=>[KNN 5 @vec $B AS d]", ("SORTBY", "d", "DESC", "RETURN", "1", "d")),
    ("knn", "idx", "*=>[KNN 5 @vec $B AS d]", ("SORTBY", "price", "RETURN", "2", "d", "price")),
    ("knn", "idx", "*=>[KNN 5 @vec $B AS d]", ("NOCONTENT", "SORTBY", "d")),
    ("knn", "idx", "*=>[KNN 8 @vec $B AS d]", ("SORTBY", "d", "LIMIT", "2", "3", "RETURN", "1", "d")),
    ("knn", "idx", "*=>[KNN $K @vec $B AS d]", ("SORTBY", "d", "RETURN", "1", "d")),
    ("knn", "idx", "*=>[KNN 5 @vec $B]=>{$YIELD_DISTANCE_AS: dist}", ("SORTBY", "dist", "RETURN", "1", "dist")),
    ("knn", "idx", "@color:{red}=>[KNN 4 @vec $B AS d]", ("SORTBY", "d", "RETURN", "2", "d", "color")),
    ("knn", "idx", "(@price:[10 60])=>[KNN 4 @vec $B AS d]", ("SORTBY", "d", "RETURN", "2", "d", "price")),
    ("knn", "idx", "(hello | world)=>[KNN 3 @vec $B AS d]", ("SORTBY", "d", "RETURN", "1", "d")),
    ("knn", "idx", "(-@color:{blue})=>[KNN 3 @vec $B HYBRID_POLICY ADHOC_BF AS d]", ("SORTBY", "d", "RETURN", "1", "d")),
    ("knn", "idx", "(-@color:{blue})=>[KNN 3 @vec $B AS d HYBRID_POLICY ADHOC_BF]", ("SORTBY", "d")),  # syntax error
    ("knn", "idx", "(@color:{green})=>[KNN 3 @vec $B HYBRID_POLICY BATCHES BATCH_SIZE 10 AS d]",
     ("SORTBY", "d", "RETURN", "1", "d")),
    ("knnset", "idx", "@nosuch:{x}=>[KNN 3 @vec $B AS d]", ()),
    ("knn", "idx", "@vec:[VECTOR_RANGE 1.2 $B]=>{$YIELD_DISTANCE_AS: d}", ("SORTBY", "d", "RETURN", "1", "d",
                                                                          "LIMIT", "0", "100")),
    ("knn", "idx", "@vec:[VECTOR_RANGE 0.8 $B]=>{$YIELD_DISTANCE_AS: d} @color:{red | blue}",
     ("SORTBY", "d", "RETURN", "2", "d", "color", "LIMIT", "0", "100")),
    ("knnset", "idx", "@vec:[VECTOR_RANGE 1 $B]", ("NOCONTENT", "LIMIT", "0", "100")),
    ("knn", "idx", "@vec:[VECTOR_RANGE $R $B]=>{$YIELD_DISTANCE_AS: d}", ("SORTBY", "d", "RETURN", "1", "d")),
    ("knn", "cos", "*=>[KNN 6 @v $B AS d]", ("SORTBY", "d", "RETURN", "2", "d", "c")),
    ("knn", "cos", "@c:{Red}=>[KNN 6 @v $B AS d]", ("SORTBY", "d", "RETURN", "1", "d")),
    ("knn", "ip", "*=>[KNN 6 @vec64 $B AS d]", ("SORTBY", "d", "RETURN", "2", "d", "price")),
    ("knn", "ip", "@price:[50 +inf]=>[KNN 6 @vec64 $B AS d]", ("SORTBY", "d", "RETURN", "1", "d")),
    ("knn", "idx", "*=>[KNN 5 @vec $B AS d]", ("SORTBY", "d", "RETURN", "1", "d", "DIALECT", "3")),
]

# Errors and edge cases of FT.SEARCH, compared exactly.
SEARCH_ERRORS = [
    ("FT.SEARCH", "nosuch", "*"),
    ("FT.SEARCH", "idx"),
    ("FT.SEARCH", "idx", "@price:[abc 10]"),
    ("FT.SEARCH", "idx", "@price:[10"),
    ("FT.SEARCH", "idx", "hello", "LIMIT", "0"),
    ("FT.SEARCH", "idx", "hello", "LIMIT", "-1", "10"),
    ("FT.SEARCH", "idx", "hello", "LIMIT", "a", "b"),
    ("FT.SEARCH", "idx", "hello", "SORTBY", "nosuch"),
    ("FT.SEARCH", "idx", "hello", "SORTBY"),
    ("FT.SEARCH", "idx", "hello", "DIALECT", "5"),
    ("FT.SEARCH", "idx", "hello", "DIALECT", "0"),
    ("FT.SEARCH", "idx", "hello", "DIALECT"),
    ("FT.SEARCH", "idx", "hello", "PARAMS", "3", "a", "b", "c"),
    ("FT.SEARCH", "idx", "hello", "PARAMS", "2", "a"),
    ("FT.SEARCH", "idx", "hello", "RETURN", "3", "title"),
    ("FT.SEARCH", "idx", "hello", "RETURN", "x"),
    ("FT.SEARCH", "idx", "hello", "RETURN", "2", "title", "AS", "t"),
    ("FT.SEARCH", "idx", "hello", "RETURN", "2", "title", "AS"),
    ("FT.SEARCH", "idx", "hello", "BOGUS"),
    ("FT.SEARCH", "idx", "@color:{$nope}", "DIALECT", "2"),
    ("FT.SEARCH", "idx", "*=>[KNN 3 @vec $B]", "PARAMS", "2", "B", "short", "DIALECT", "2"),
    ("FT.SEARCH", "idx", "*=>[KNN 3 @price $B]", "PARAMS", "2", "B", f32([0, 0, 0, 0]), "DIALECT", "2"),
    ("FT.SEARCH", "idx", "*=>[KNN 3 @nosuch $B]", "PARAMS", "2", "B", f32([0, 0, 0, 0]), "DIALECT", "2"),
    ("FT.SEARCH", "idx", "*=>[KNN -1 @vec $B]", "PARAMS", "2", "B", f32([0, 0, 0, 0]), "DIALECT", "2"),
    ("FT.SEARCH", "idx", "*=>[KNN 3 @vec $B]", "DIALECT", "2"),
    ("FT.SEARCH", "idx", "*=>[KNN 3 @vec $B]", "PARAMS", "2", "B", f32([0, 0, 0, 0]), "DIALECT", "1"),
    ("FT.SEARCH", "idx", "@nosuch:hello", "DIALECT", "2"),
    ("FT.SEARCH", "idx", "@price:hello", "DIALECT", "2"),
    ("FT.SEARCH", "idx", "(hello", "DIALECT", "2"),
    ("FT.SEARCH", "idx", "hello", "TIMEOUT", "abc"),
]

AGGREGATES = [
    ("idx", "*", "GROUPBY", "1", "@color", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "2", "@color", "ASC",
     "LIMIT", "0", "50"),
    ("idx", "@price:[0 50]", "LOAD", "1", "@price", "APPLY", "@price*2", "AS", "d", "SORTBY", "2", "@d", "DESC",
     "LIMIT", "0", "5"),
    ("idx", "*", "GROUPBY", "0", "REDUCE", "SUM", "1", "@price", "AS", "s", "REDUCE", "MIN", "1", "@price", "AS",
     "mn", "REDUCE", "MAX", "1", "@price", "AS", "mx", "REDUCE", "COUNT", "0", "AS", "c"),
    ("idx", "hello", "GROUPBY", "1", "@color", "REDUCE", "MAX", "1", "@price", "AS", "m", "SORTBY", "2", "@m",
     "ASC", "LIMIT", "0", "50"),
    ("idx", "*", "LOAD", "2", "@title", "@price", "FILTER", "@price > 90", "SORTBY", "2", "@price", "ASC"),
    ("idx", "@color:{red}", "GROUPBY", "1", "@color", "REDUCE", "COUNT_DISTINCT", "1", "@title", "AS", "dt",
     "SORTBY", "2", "@color", "ASC"),
    ("late", "*", "GROUPBY", "1", "@n", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "TOLIST", "1", "@g", "AS",
     "gs", "SORTBY", "2", "@n", "ASC"),
    ("late", "alpha", "LOAD", "1", "@n", "APPLY", "@n % 2", "AS", "odd", "GROUPBY", "1", "@odd", "REDUCE", "SUM",
     "1", "@n", "AS", "s", "SORTBY", "2", "@odd", "ASC"),
    ("late", "*", "SORTBY", "2", "@n", "DESC", "MAX", "3", "LOAD", "1", "@n"),
    ("nosuch", "*"),
    ("idx", "*", "GROUPBY", "1", "color"),
    ("idx", "*", "GROUPBY", "1", "@color", "REDUCE", "NOSUCH", "0"),
    ("idx", "*", "LIMIT", "0"),
]

EXPLAINS = ["hello world", "@price:[10 (20] @color:{a | b}", "-hello | @title:world*", '"hello world"',
            "*=>[KNN 3 @vec $B AS d]", "@vec:[VECTOR_RANGE 0.5 $B]", "(a | b) -c", "@price:[-inf inf]"]

CONFIGS = ["DEFAULT_DIALECT", "TIMEOUT", "MAXSEARCHRESULTS", "ON_TIMEOUT", "MAXAGGREGATERESULTS", "MINPREFIX",
           "MAXEXPANSIONS", "nosuch"]

# Fields of FT.INFO whose values must match exactly; the others are sizes, timings and GC counters
# (docs/COMPATIBILITY.md, Search known differences: "FT.INFO sizes and timings"), and max_doc_id ("max_doc_id").
INFO_FIELDS = ["index_name", "index_options", "index_definition", "attributes", "num_docs", "num_terms",
               "hash_indexing_failures", "indexing", "percent_indexed", "Index Errors", "field statistics"]


# ---------------------------------------------------------------------------------------------------------------
# Script

def knn_params(index: str, vec, query: str = "") -> tuple:
    extra = ("K", "3") if "$K" in query else ("R", "0.9") if "$R" in query else ()
    return ("PARAMS", str(2 + len(extra)), "B", f64(vec) if index == "ip" else f32(vec), *extra)


def with_dialect(opts: tuple) -> tuple:
    return opts if "DIALECT" in opts else (*opts, "DIALECT", "2")


def build_script(docs) -> list[tuple]:
    s: list[tuple] = []
    add = s.append
    # Some documents exist before the indexes: the initial scan picks them up, in hash-table order, so results
    # whose order falls back on doc ids are compared as sets on `idx` (docs/COMPATIBILITY.md, Search known
    # differences: "Doc ids of the initial scan"); the `late` index below checks those orders exactly.
    for key, fields in docs[:30]:
        add(("=", "HSET", key, *[x for kv in fields.items() for x in kv]))
    for create in INDEXES:
        add(("=", "FT.CREATE", *create))
    # Let the initial scans finish first: a key written while RediSearch's scan is still running can be indexed (and
    # a bad one counted as a failure) twice, depending on timing.
    for name in ("idx", "hnsw", "cos", "ip", "tags", "sw"):
        add(("wait", name))
    for key, fields in docs[30:]:
        add(("=", "HSET", key, *[x for kv in fields.items() for x in kv]))
    # Bad data: not indexed, counted in hash_indexing_failures with RediSearch's error text.
    add(("=", "HSET", "doc:bad1", "title", "bad vector", "vec", "short", "price", "3"))
    add(("=", "HSET", "doc:bad2", "title", "bad number", "price", "abc"))
    add(("=", "HSET", "doc:bad3", "title", "bad number", "price", "12abc", "vec", f32([1, 2, 3, 4])))
    add(("=", "HSET", "doc:bad4", "vec64", b"12345678"))
    add(("=", "HSET", "doc:empty", "color", ""))
    add(("=", "HSET", "other:1", "title", "hello world", "price", "5"))
    for name in ("idx", "hnsw", "cos", "ip", "tags", "sw"):
        add(("wait", name))
    for create in CREATE_ERRORS:
        add(("=", "FT.CREATE", *create))
    add(("sorted", "FT._LIST"))

    # Filters.
    for q in FILTER_QUERIES:
        for mode, opts in FILTER_OPTIONS:
            params = FILTER_PARAMS if "$" in q else ()
            add((mode, "FT.SEARCH", "idx", q, *opts, *params, *with_dialect(opts)[len(opts):]))
    # DIALECT 1 (RediSearch's default) on a few of them.
    for q in ["hello world", "@price:[10 50]", "@color:{red | green}", "hello -world", "@title:hello|redis"]:
        add(("set", "FT.SEARCH", "idx", q, "NOCONTENT", "LIMIT", "0", "100", "DIALECT", "1"))
        add(("set", "FT.SEARCH", "idx", q, "NOCONTENT", "LIMIT", "0", "100"))
    # Other indexes.
    for q in ["*", "@color:{red}", "@color:{dark blue}", "hello", "running", "@title:run*"]:
        add(("set", "FT.SEARCH", "tags", q, "LIMIT", "0", "100", "DIALECT", "2"))
    add(("order", "FT.SEARCH", "tags", "*", "SORTBY", "title", "LIMIT", "0", "100"))
    add(("order", "FT.SEARCH", "tags", "*", "SORTBY", "title", "DESC", "RETURN", "1", "title", "LIMIT", "0", "5"))
    for q in ["hello", "world", "redis", "hello redis", "@title:hello", "-hello"]:
        add(("set", "FT.SEARCH", "sw", q, "NOCONTENT", "LIMIT", "0", "100", "DIALECT", "2"))
    add(("=", "FT.EXPLAIN", "sw", "hello redis"))
    # Vectors.
    for mode, index, q, opts in VECTOR_QUERIES:
        for vec in QUERY_VECS:
            add((mode, "FT.SEARCH", index, q, *opts, *knn_params(index, vec, q), *with_dialect(opts)[len(opts):]))
    # HNSW: on this small index both servers find the exact neighbours; larger data is checked by test_hnsw_recall.
    for vec in QUERY_VECS:
        add(("knnset", "FT.SEARCH", "hnsw", "*=>[KNN 5 @vec $B EF_RUNTIME 50 AS d]", "RETURN", "1", "d",
             *knn_params("hnsw", vec), "DIALECT", "2"))
        add(("knnset", "FT.SEARCH", "hnsw", "@color:{blue}=>[KNN 3 @vec $B AS d]", "RETURN", "1", "d",
             *knn_params("hnsw", vec), "DIALECT", "2"))
    for args in SEARCH_ERRORS:
        add(("=", *args))
    add(("order", "FT.SEARCH", "idx", "@price:[10 50]", "NOCONTENT", "SORTBY", "price", "LIMIT", "0", "5",
         "WITHSCORES"))
    add(("=", "FT.SEARCH", "idx", "@color:{blue}", "SORTBY", "price", "RETURN", "3", "price", "AS", "p", "color",
         "LIMIT", "0", "4", "DIALECT", "2"))
    add(("=", "FT.SEARCH", "idx", "@color:{blue}", "SORTBY", "price", "RETURN", "0", "LIMIT", "0", "4"))
    add(("=", "FT.SEARCH", "idx", "@color:{blue}", "SORTBY", "price", "RETURN", "1", "nosuch", "LIMIT", "0", "4"))
    add(("=", "FT.SEARCH", "idx", "@price:[0 100]", "SORTBY", "price", "LIMIT", "95", "10", "NOCONTENT"))
    add(("=", "FT.SEARCH", "idx", "@price:[-inf 20]", "SORTBY", "price", "DESC", "WITHSORTKEYS", "RETURN", "1",
         "price", "LIMIT", "0", "8"))
    add(("=", "FT.SEARCH", "idx", "@price:[0 100]", "SORTBY", "price", "INKEYS", "3", "doc:1", "doc:2", "doc:77",
         "NOCONTENT"))

    # Metadata.
    for name in ("idx", "hnsw", "cos", "ip", "tags", "sw"):
        add(("info", "FT.INFO", name))
    add(("=", "FT.INFO", "nosuch"))
    add(("sorted", "FT.TAGVALS", "idx", "color"))
    add(("sorted", "FT.TAGVALS", "cos", "c"))
    add(("sorted", "FT.TAGVALS", "tags", "color"))
    add(("=", "FT.TAGVALS", "idx", "price"))
    add(("=", "FT.TAGVALS", "idx", "nosuch"))
    add(("=", "FT.TAGVALS", "nosuch", "color"))
    for q in EXPLAINS:
        add(("=", "FT.EXPLAIN", "idx", q, "DIALECT", "2"))
        add(("=", "FT.EXPLAINCLI", "idx", q, "DIALECT", "2"))
    add(("=", "FT.EXPLAIN", "idx", "hello world"))
    add(("=", "FT.EXPLAIN", "nosuch", "hello"))
    for name in CONFIGS:
        add(("=", "FT.CONFIG", "GET", name))
    for create in CREATE_OK:
        add(("=", "FT.CREATE", *create))
        add(("wait", create[0]))
        add(("info", "FT.INFO", create[0]))
    add(("sorted", "FT._LIST"))
    for create in CREATE_OK:
        add(("=", "FT.DROPINDEX", create[0]))

    # Aliases.
    add(("=", "FT.ALIASADD", "al", "idx"))
    add(("=", "FT.ALIASADD", "al", "idx"))
    add(("=", "FT.ALIASADD", "al2", "nosuch"))
    add(("set", "FT.SEARCH", "al", "@color:{red}", "NOCONTENT", "LIMIT", "0", "100"))
    add(("=", "FT.ALIASUPDATE", "al", "tags"))
    add(("set", "FT.SEARCH", "al", "*", "NOCONTENT", "LIMIT", "0", "100"))
    add(("=", "FT.ALIASDEL", "al"))
    add(("=", "FT.ALIASDEL", "al"))
    add(("=", "FT.SEARCH", "al", "*"))

    # ALTER. The bad documents go first: FT.ALTER rescans the keyspace, and which failure is "last" would then
    # follow the scan's (hash table) order (docs/COMPATIBILITY.md, Search known differences: "Doc ids of the
    # initial scan").
    add(("=", "DEL", "doc:bad1", "doc:bad2", "doc:bad3"))
    add(("=", "FT.ALTER", "idx", "SCHEMA", "ADD", "extra", "TEXT"))
    add(("=", "FT.ALTER", "idx", "SCHEMA", "ADD", "extra", "TEXT"))
    add(("=", "FT.ALTER", "nosuch", "SCHEMA", "ADD", "x", "TEXT"))
    add(("=", "FT.ALTER", "idx", "SCHEMA", "ADD"))
    add(("=", "FT.ALTER", "idx", "SKIPINITIALSCAN", "SCHEMA", "ADD", "n2", "NUMERIC", "SORTABLE"))
    add(("=", "HSET", "doc:1", "extra", "zebra", "n2", "42"))
    add(("wait", "idx"))

    # TEXT field limits, index options, and terms in fields past the 64th (the high half of the field mask).
    def text_fields(lo: int, hi: int) -> list[str]:
        return [x for i in range(lo, hi) for x in (f"t{i}", "TEXT")]
    add(("=", "FT.CREATE", "toomany", "SCHEMA", *text_fields(0, 129)))
    add(("=", "FT.CREATE", "wide", "PREFIX", "1", "wide:", "SCHEMA", *text_fields(0, 100)))
    add(("=", "FT.CREATE", "narrow", "NOOFFSETS", "PREFIX", "1", "narrow:", "SCHEMA", *text_fields(0, 32)))
    add(("=", "FT.CREATE", "opts", "NOFREQS", "NOFIELDS", "NOHL", "MAXTEXTFIELDS", "PREFIX", "1", "opts:", "SCHEMA", "a", "TEXT"))
    add(("=", "FT.ALTER", "narrow", "SCHEMA", "ADD", "extra", "TEXT"))
    add(("=", "FT.ALTER", "wide", "SCHEMA", "ADD", *text_fields(100, 129)))
    add(("=", "FT.ALTER", "wide", "SCHEMA", "ADD", "t100", "TEXT"))
    # FT.ALTER rescans in the background on Redis Stack: documents written during the scan get other doc ids.
    for name in ("wide", "narrow"):
        add(("wait", name))
    add(("=", "HSET", "wide:1", "t0", "alpha beta", "t70", "alpha", "t99", "gamma beta beta"))
    add(("=", "HSET", "wide:2", "t65", "alpha", "t100", "beta"))
    add(("=", "HSET", "wide:3", "t63", "alpha alpha", "t64", "beta gamma"))
    for name in ("wide", "narrow", "opts"):
        add(("info", "FT.INFO", name))
    for q in ("@t70:alpha", "@t65|t0:alpha", "@t100:beta", "@t64:(beta gamma)", "@t63:alpha", "beta", "alpha",
              '@t99:"gamma beta"', '@t64:"alpha beta"', "gam*"):
        add(("order", "FT.SEARCH", "wide", q, "NOCONTENT"))
    for name in ("wide", "narrow", "opts"):
        add(("=", "FT.DROPINDEX", name, "DD"))

    # Prefix expansion: MINPREFIX (a shorter prefix matches nothing) and MAXPREFIXEXPANSIONS (the first terms in
    # order), which FT.CONFIG also sets under its old name MAXEXPANSIONS.
    add(("=", "FT.CREATE", "pfx", "PREFIX", "1", "pfx:", "SCHEMA", "t", "TEXT"))
    add(("wait", "pfx"))
    letters = "abcdefghij"
    for i in range(300):
        word = "ab" + "".join(letters[(i * 7 + k * 3) % 10] for k in range(1 + i % 4)) + str(i)
        add(("=", "HSET", f"pfx:{i}", "t", f"{word} common"))
    for q in ("ab*", "a*", "abc*", "abz*", "@t:ab*", "ab* common", "ab* | abj*"):
        add(("set", "FT.SEARCH", "pfx", q, "NOCONTENT", "LIMIT", "0", "1000"))
    for name, value in (("MINPREFIX", "0"), ("MINPREFIX", "-1"), ("MINPREFIX", "abc"), ("MINPREFIX", "1.5"),
                        ("MAXEXPANSIONS", "0"), ("MAXPREFIXEXPANSIONS", "x"), ("MAXPREFIXEXPANSIONS", "-5")):
        add(("=", "FT.CONFIG", "SET", name, value))
    add(("=", "FT.CONFIG", "GET", "MINPREFIX"))
    add(("=", "FT.CONFIG", "SET", "MAXEXPANSIONS", "50"))
    add(("=", "FT.CONFIG", "GET", "MAXPREFIXEXPANSIONS"))
    add(("set", "FT.SEARCH", "pfx", "ab*", "NOCONTENT", "LIMIT", "0", "1000"))
    add(("=", "FT.CONFIG", "SET", "MINPREFIX", "3"))
    add(("set", "FT.SEARCH", "pfx", "ab*", "NOCONTENT", "LIMIT", "0", "1000"))
    add(("set", "FT.SEARCH", "pfx", "abc*", "NOCONTENT", "LIMIT", "0", "1000"))
    add(("=", "FT.CONFIG", "SET", "MINPREFIX", "2"))
    add(("=", "FT.CONFIG", "SET", "MAXPREFIXEXPANSIONS", "200"))
    add(("=", "FT.CONFIG", "GET", "MAXEXPANSIONS"))
    add(("=", "FT.DROPINDEX", "pfx", "DD"))
    add(("info", "FT.INFO", "idx"))
    add(("=", "FT.SEARCH", "idx", "@extra:zebra", "RETURN", "2", "extra", "n2"))
    add(("=", "FT.SEARCH", "idx", "@n2:[40 50]", "NOCONTENT"))

    # Writes after indexing: updates, deletes, expiry, renames.
    add(("=", "HSET", "doc:2", "price", "777", "color", "violet"))
    add(("=", "FT.SEARCH", "idx", "@price:[777 777]", "RETURN", "2", "price", "color"))
    add(("=", "FT.SEARCH", "idx", "@color:{violet}", "NOCONTENT", "DIALECT", "2"))
    add(("=", "HSET", "doc:3", "vec", "bad"))
    add(("=", "FT.SEARCH", "idx", "*", "INKEYS", "1", "doc:3", "NOCONTENT"))
    add(("=", "HDEL", "doc:4", "color"))
    add(("=", "FT.SEARCH", "idx", "*", "INKEYS", "1", "doc:4", "RETURN", "1", "color"))
    add(("=", "DEL", "doc:5"))
    add(("=", "UNLINK", "doc:6"))
    add(("=", "FT.SEARCH", "idx", "*", "INKEYS", "2", "doc:5", "doc:6", "NOCONTENT"))
    add(("=", "RENAME", "doc:7", "doc:707"))
    add(("=", "RENAME", "doc:8", "gone:8"))
    add(("=", "RENAME", "other:1", "doc:other"))
    add(("=", "FT.SEARCH", "idx", "*", "INKEYS", "4", "doc:7", "doc:707", "doc:8", "doc:other", "NOCONTENT",
         "SORTBY", "price"))
    add(("=", "PEXPIRE", "doc:9", "20"))
    add(("sleep", 0.3))
    add(("=", "FT.SEARCH", "idx", "*", "INKEYS", "1", "doc:9", "NOCONTENT"))
    add(("=", "HSET", "doc:10", "vec", f32([0.1, 0.2, 0.3, 0.4])))
    add(("=", "FT.SEARCH", "idx", "*=>[KNN 1 @vec $B AS d]", "RETURN", "1", "d",
         *knn_params("idx", [0.1, 0.2, 0.3, 0.4]), "DIALECT", "2"))
    add(("wait", "idx"))
    for name in ("idx", "hnsw", "ip"):
        add(("info", "FT.INFO", name))
    add(("set", "FT.SEARCH", "idx", "*", "NOCONTENT", "LIMIT", "0", "200"))
    add(("set", "FT.SEARCH", "idx", "hello", "NOCONTENT", "LIMIT", "0", "200"))
    add(("=", "FT.SEARCH", "idx", "*", "LIMIT", "0", "0"))

    # Documents written after FT.CREATE get doc ids in write order on both servers. RediSearch still returns equal
    # scores, KNN hits without SORTBY and SORTBY ties sometimes in doc-id order and sometimes in its heap's order
    # (docs/COMPATIBILITY.md, Search known differences: "Order among equals"): those are compared as sets, or by
    # total when a LIMIT page would depend on that order.
    add(("=", "FT.CREATE", "late", "PREFIX", "1", "late:", "SCHEMA", "t", "TEXT", "n", "NUMERIC", "SORTABLE",
         "g", "TAG", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2"))
    for i in range(12):
        add(("=", "HSET", f"late:{i}", "t", "alpha beta" if i % 2 else "alpha gamma", "n", str(i % 4),
             "g", "x" if i % 3 else "x,y", "v", f32([i * 0.1, 1 - i * 0.05])))
    # WITHSCORES values are compared in test_ft_scores.py (docs/COMPATIBILITY.md, "Text scores"); here, after updates,
    # RediSearch's term counts still hold replaced documents until its GC runs, so only ids are compared;
    # "order" checks ids and fields.
    late_b = ("PARAMS", "2", "B", f32([0.35, 0.8]), "DIALECT", "2")
    add(("total", "FT.SEARCH", "late", "*"))
    add(("set", "FT.SEARCH", "late", "*", "WITHSCORES", "LIMIT", "0", "20"))
    add(("set", "FT.SEARCH", "late", "@g:{y}", "WITHSCORES", "NOCONTENT", "DIALECT", "2"))
    add(("set", "FT.SEARCH", "late", "@n:[1 2]", "WITHSCORES", "RETURN", "1", "n"))
    add(("set", "FT.SEARCH", "late", "alpha", "NOCONTENT", "LIMIT", "0", "20"))
    add(("set", "FT.SEARCH", "late", "alpha", "WITHSCORES", "NOCONTENT", "LIMIT", "0", "20"))
    add(("set", "FT.SEARCH", "late", "beta", "WITHSCORES", "NOCONTENT", "LIMIT", "0", "20"))
    add(("total", "FT.SEARCH", "late", "alpha", "LIMIT", "2", "3", "RETURN", "1", "t"))
    add(("set", "FT.SEARCH", "late", "*", "SORTBY", "n", "LIMIT", "0", "20", "NOCONTENT"))
    add(("set", "FT.SEARCH", "late", "*", "SORTBY", "n", "DESC", "LIMIT", "0", "20", "RETURN", "1", "t"))
    add(("total", "FT.SEARCH", "late", "*", "SORTBY", "n", "DESC", "WITHSCORES", "LIMIT", "4", "4"))
    add(("total", "FT.SEARCH", "late", "alpha", "SORTBY", "n", "LIMIT", "0", "5"))
    add(("total", "FT.SEARCH", "late", "*", "LIMIT", "5", "3", "NOCONTENT"))
    add(("knnset", "FT.SEARCH", "late", "*=>[KNN 5 @v $B]", *late_b))
    add(("knnset", "FT.SEARCH", "late", "*=>[KNN 5 @v $B AS d]", "WITHSCORES", "RETURN", "2", "d", "n", *late_b))
    add(("knnset", "FT.SEARCH", "late", "*=>[KNN 5 @v $B AS d]", "SORTBY", "n", "RETURN", "2", "d", "n", *late_b))
    add(("knnset", "FT.SEARCH", "late", "@g:{y}=>[KNN 3 @v $B AS d]", "NOCONTENT", *late_b))
    add(("total", "FT.SEARCH", "late", "*=>[KNN 5 @v $B AS d]", "LIMIT", "1", "2", *late_b))
    add(("knnset", "FT.SEARCH", "late", "@v:[VECTOR_RANGE 0.2 $B]=>{$YIELD_DISTANCE_AS: d}", *late_b))
    add(("knnset", "FT.SEARCH", "late", "@v:[VECTOR_RANGE 0.2 $B]", "WITHSCORES", *late_b))
    add(("=", "HSET", "late:20", "t", "omega one", "n", "1", "g", "Blue"))
    add(("=", "HSET", "late:21", "t", "omega two", "n", "2", "g", "apple"))
    add(("=", "HSET", "late:22", "t", "Omega three", "n", "3", "g", "Cherry"))
    add(("=", "FT.SEARCH", "late", "omega", "SORTBY", "t", "RETURN", "1", "g"))
    add(("=", "FT.SEARCH", "late", "omega", "SORTBY", "t", "DESC", "RETURN", "1", "g"))
    add(("=", "FT.SEARCH", "late", "omega", "SORTBY", "g", "RETURN", "1", "g"))
    # SORTABLE TEXT / TAG sort on the lowercased value (not UNF), plain ones on the raw bytes.
    add(("=", "FT.CREATE", "late2", "PREFIX", "1", "late:2", "SCHEMA", "t", "TEXT", "SORTABLE", "g", "TAG",
         "SORTABLE", "n", "NUMERIC"))
    add(("wait", "late2"))
    add(("=", "FT.SEARCH", "late2", "omega", "SORTBY", "t", "RETURN", "1", "g"))
    add(("=", "FT.SEARCH", "late2", "omega", "SORTBY", "t", "DESC", "RETURN", "1", "t"))
    add(("=", "FT.SEARCH", "late2", "omega", "SORTBY", "g", "RETURN", "2", "g", "n"))
    add(("=", "FT.SEARCH", "late2", "omega", "SORTBY", "g", "WITHSORTKEYS", "NOCONTENT"))
    add(("=", "FT.SEARCH", "late2", "omega", "SORTBY", "t", "DESC", "WITHSORTKEYS", "RETURN", "1", "t"))
    add(("=", "FT.SEARCH", "late2", "omega", "SORTBY", "n", "WITHSORTKEYS", "RETURN", "1", "n"))
    add(("set", "FT.SEARCH", "late2", "omega", "WITHSORTKEYS", "NOCONTENT"))
    add(("info", "FT.INFO", "late2"))
    add(("=", "DEL", "late:3"))
    add(("=", "HSET", "late:3", "t", "alpha", "n", "9"))
    add(("set", "FT.SEARCH", "late", "alpha", "NOCONTENT", "LIMIT", "0", "20"))
    add(("total", "FT.SEARCH", "late", "*", "SORTBY", "n", "DESC", "LIMIT", "0", "3", "NOCONTENT"))

    # FT.AGGREGATE (orders fixed by SORTBY on distinct values).
    for args in AGGREGATES + FUNCTION_AGGREGATES:
        add(("=", "FT.AGGREGATE", *args))

    # Out-of-range numbers, from fuzzing: each of these trapped (killed the node) before it was caught.
    for args in HOSTILE_NUMBERS:
        add(("=", *args))
    # A K past the index size: RediSearch then orders an unsorted page its own way, and its HNSW computes the
    # distances in another float order (last digits differ), so these compare the documents found.
    for index in ("idx", "hnsw"):
        add(("set", "FT.SEARCH", index, "*=>[KNN 9223372036854775807 @vec $B]", "PARAMS", "2", "B", f32([0.5] * DIM),
             "NOCONTENT", "LIMIT", "0", "100", "DIALECT", "2"))

    add_geo(add)
    add_proximity(add)
    add_affixes(add)

    # Drops.
    add(("=", "FT.DROPINDEX", "tags"))
    add(("=", "FT.DROPINDEX", "tags"))
    add(("=", "FT.DROPINDEX", "sw", "DD"))
    add(("=", "EXISTS", "doc:11", "doc:12"))
    add(("=", "DBSIZE"))
    add(("=", "FT.DROPINDEX", "ip", "KEEPDOCS"))
    add(("=", "FT.DROPINDEX"))
    add(("sorted", "FT._LIST"))
    return s


# ---------------------------------------------------------------------------------------------------------------
# RESP client: raw bytes plus a parsed tree of (type byte, value).

class Connection:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.file = self.sock.makefile("rb")

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def call(self, *args):
        self.sock.sendall(resp_command(*args))
        return self._read()

    def _read(self):
        line = self.file.readline()
        kind, body = line[:1], line[1:-2]
        if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):
            return line, (kind, body)
        if kind in (b"$", b"=", b"!"):
            n = int(body)
            if n < 0:
                return line, (kind, None)
            data = self.file.read(n + 2)
            return line + data, (kind, data[:-2])
        if kind in (b"*", b"%", b"~", b">", b"|"):
            n = int(body)
            if n < 0:
                return line, (kind, None)
            if kind in (b"%", b"|"):
                n *= 2
            raws, items = [line], []
            for _ in range(n):
                raw, item = self._read()
                raws.append(raw)
                items.append(item)
            return b"".join(raws), (kind, items)
        raise AssertionError(f"unexpected reply line {line!r}")


def plain(node):
    """A parsed node as plain Python values (bytes, int, lists; maps as lists of pairs)."""
    kind, v = node
    if kind in (b"*", b"~", b">"):
        return [plain(x) for x in v]
    if kind in (b"%", b"|"):
        return [(plain(v[i]), plain(v[i + 1])) for i in range(0, len(v), 2)]
    if kind == b":":
        return int(v)
    if kind == b"-":
        return ("error", v)
    return v


def search_rows(args, node):
    """FT.SEARCH reply -> (total, [(id, fields list)], extras) for RESP2 and RESP3 alike."""
    kind, v = node
    if kind == b"-":
        return ("error", v)
    if kind == b"%":
        m = dict((plain(v[i]), v[i + 1]) for i in range(0, len(v), 2))
        rows = []
        for r in m[b"results"][1]:
            rm = dict((plain(r[1][i]), r[1][i + 1]) for i in range(0, len(r[1]), 2))
            fields = plain(rm[b"extra_attributes"]) if b"extra_attributes" in rm else None
            rows.append((plain(rm[b"id"]), fields))
        extras = {k: plain(x) for k, x in m.items() if k not in (b"results", b"total_results")}
        return plain(m[b"total_results"]), rows, extras
    items = v
    upper = [a.upper() if isinstance(a, str) else a for a in args]
    total = plain(items[0])
    rows, i = [], 1
    while i < len(items):
        doc = plain(items[i])
        i += 1
        if "WITHSCORES" in upper:
            i += 1
        if "WITHSORTKEYS" in upper:
            i += 1
        fields = None
        if i < len(items) and items[i][0] == b"*":
            raw = plain(items[i])
            fields = [(raw[j], raw[j + 1]) for j in range(0, len(raw) - 1, 2)] if raw is not None else None
            i += 1
        rows.append((doc, fields))
    return total, rows, {}


def info_fields(node) -> dict:
    kind, v = node
    if kind == b"-":
        return {"error": v}
    pairs = plain(node)
    if kind == b"*":
        pairs = [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    d = {k.decode(): val for k, val in pairs}
    return {k: d.get(k, "<missing>") for k in INFO_FIELDS}


def close_enough(x, y) -> bool:
    """Field values equal, or both numbers within float32 rounding (distances: docs/COMPATIBILITY.md)."""
    if x == y:
        return True
    try:
        fx, fy = float(x), float(y)
    except (TypeError, ValueError):
        return False
    return abs(fx - fy) <= 1e-6 * max(1.0, abs(fx))


def rows_match(ra, rb, tolerant: bool) -> bool:
    if ra[0] != rb[0] or (ra[1] is None) != (rb[1] is None):
        return False
    if ra[1] is None:
        return True
    if len(ra[1]) != len(rb[1]):
        return False
    for (ka, va), (kb, vb) in zip(ra[1], rb[1]):
        if ka != kb or not (va == vb or (tolerant and close_enough(va, vb))):
            return False
    return True


def agree(mode: str, args, a, b) -> bool:
    if mode == "=":
        return a[0] == b[0]
    if mode == "kind":
        return a[1][0] == b[1][0]
    if mode == "sorted":
        pa, pb = plain(a[1]), plain(b[1])
        return (a[1][0] == b[1][0] and isinstance(pa, list) and sorted(pa) == sorted(pb)) or a[0] == b[0]
    if mode == "info":
        return info_fields(a[1]) == info_fields(b[1])
    ra, rb = search_rows(args, a[1]), search_rows(args, b[1])
    if ra[0] == "error" or rb[0] == "error":
        return a[0] == b[0]
    if ra[0] != rb[0] or ra[2] != rb[2] or len(ra[1]) != len(rb[1]):
        return False
    tolerant = mode.startswith("knn")
    if mode in ("set", "knnset"):
        # Unordered results: RediSearch also orders each document's fields by first appearance in the page.
        def canon(rows):
            return sorted(((r[0], sorted(r[1]) if r[1] is not None else None) for r in rows), key=lambda r: r[0])
        rows_a, rows_b = canon(ra[1]), canon(rb[1])
    elif mode in ("order", "knn"):
        rows_a, rows_b = ra[1], rb[1]
    elif mode == "total":
        return True
    else:
        raise ValueError(mode)
    return all(rows_match(x, y, tolerant) for x, y in zip(rows_a, rows_b))


def brief(node, limit: int = 1500) -> str:
    """A parsed reply, compact: binary blobs as <n bytes>, long replies cut."""
    def fmt(n):
        kind, v = n
        if kind in (b"*", b"~", b"%", b">", b"|"):
            if v is None:
                return "nil"
            items = [fmt(x) for x in v]
            if kind == b"%":
                return "{" + ", ".join(f"{items[i]}: {items[i + 1]}" for i in range(0, len(items), 2)) + "}"
            return "[" + ", ".join(items) + "]"
        if v is None:
            return "nil"
        if kind == b"-":
            return "ERR(" + v.decode("latin-1") + ")"
        try:
            text = v.decode("utf-8")
            if text.isprintable():
                return text if kind != b"$" else repr(text)
        except UnicodeDecodeError:
            pass
        return f"<{len(v)} bytes>"
    text = fmt(node)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def show(args) -> str:
    return " ".join(a.decode("latin-1") if isinstance(a, bytes) and a.isascii() else
                    (f"<{len(a)} bytes>" if isinstance(a, bytes) else str(a)) for a in args)


def wait_indexed(conn: Connection, index: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = info_fields(conn.call("FT.INFO", index)[1])
        if info.get("error") or info["indexing"] in (0, b"0"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{index} still indexing after {timeout} s")


def knn_ids(conn: Connection, index: str, field: str, vec, k: int, ef: int | None = None) -> list[bytes]:
    ef_clause = f" EF_RUNTIME {ef}" if ef else ""
    rows = search_rows((), conn.call("FT.SEARCH", index, f"*=>[KNN {k} @{field} $B{ef_clause} AS d]", "NOCONTENT",
                                     "SORTBY", "d", "LIMIT", "0", str(k), *knn_params(index, vec),
                                     "DIALECT", "2")[1])
    return [r[0] for r in rows[1]]


# ---------------------------------------------------------------------------------------------------------------
# Servers

@pytest.fixture(scope="module")
def redis_stack():
    """Redis Stack 7.4.1 + RediSearch 2.10.5 on a free port; fails (never skips) when it cannot run."""
    if not STACK_SH.exists():
        pytest.fail(f"{STACK_SH} not found: the differential test needs Redis Stack (set REDIS_STACK_SH)")
    port = free_port()
    res = subprocess.run(["bash", str(STACK_SH), "start", str(port)], capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        pytest.fail(f"could not install/start Redis Stack with {STACK_SH}:\n{res.stdout}\n{res.stderr}")
    try:
        yield port
    finally:
        subprocess.run(["bash", str(STACK_SH), "stop", str(port)], capture_output=True, timeout=60)


def reset(conn: Connection) -> None:
    for name in plain(conn.call("FT._LIST")[1]):
        conn.call("FT.DROPINDEX", name)
    assert conn.call("FLUSHALL")[0] == b"+OK\r\n"


def run_script(ours: Connection, theirs: Connection, script, protocol: int) -> tuple[int, list[str]]:
    mismatches, compared = [], 0
    for mode, *args in script:
        if mode == "sleep":
            time.sleep(args[0])
            continue
        if mode == "wait":
            wait_indexed(theirs, args[0])
            wait_indexed(ours, args[0])
            continue
        compared += 1
        a, b = theirs.call(*args), ours.call(*args)
        if not agree(mode, args, a, b):
            if mode == "info":
                ia, ib = info_fields(a[1]), info_fields(b[1])
                ta = {k: v for k, v in ia.items() if ib.get(k) != v}
                tb = {k: v for k, v in ib.items() if ia.get(k) != v}
            elif mode == "=" and max(len(a[0]), len(b[0])) < 400:
                ta, tb = repr(a[0]), repr(b[0])
            else:
                ta, tb = brief(a[1]), brief(b[1])
            mismatches.append(f"[{mode}] {show(args)}\n    redis-stack: {ta}\n    vecshard:    {tb}")
    return compared, mismatches


@pytest.mark.timeout(300)
@pytest.mark.parametrize("protocol", [2, 3])
def test_same_replies_as_redis_stack(redis_stack, tmp_path, protocol):
    script = build_script(make_docs(random.Random(20261125)))
    ours_srv = start_server_process(tmp_path / "vecshard")
    ours, theirs = Connection(ours_srv.port), Connection(redis_stack)
    try:
        for conn in (ours, theirs):
            reset(conn)
            if protocol == 3:
                assert conn.call("HELLO", "3")[1][0] == b"%"
        compared, mismatches = run_script(ours, theirs, script, protocol)
        assert compared >= 300, compared
        assert not mismatches, (f"{len(mismatches)} of {compared} replies differ from Redis Stack "
                                f"(RESP{protocol}):\n" + "\n".join(mismatches))
    finally:
        ours.close()
        theirs.close()
        ours_srv.stop()


@pytest.mark.timeout(300)
def test_hnsw_recall(redis_stack, tmp_path):
    """HNSW answers compared as sets against exact FLAT answers on the same data: recall@10 >= 0.99 on each server
    (EF_RUNTIME 200), and VecShard's FLAT ids equal Redis Stack's."""
    rng = random.Random(99)
    ours_srv = start_server_process(tmp_path / "vecshard")
    ours, theirs = Connection(ours_srv.port), Connection(redis_stack)
    dim, n, k = 16, 1500, 10
    try:
        for conn in (ours, theirs):
            reset(conn)
            for algo, name in (("FLAT", "rf"), ("HNSW", "rh")):
                assert conn.call("FT.CREATE", name, "PREFIX", "1", "r:", "SCHEMA", "v", "VECTOR", algo, "6",
                                 "TYPE", "FLOAT32", "DIM", str(dim), "DISTANCE_METRIC", "L2")[0] == b"+OK\r\n"
        vecs = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(n)]
        for i, v in enumerate(vecs):
            blob = f32(v)
            for conn in (ours, theirs):
                conn.sock.sendall(resp_command("HSET", f"r:{i}", "v", blob))
        for conn in (ours, theirs):
            for _ in range(n):
                conn._read()
            wait_indexed(conn, "rf")
            wait_indexed(conn, "rh")
        hits = {"vecshard": 0, "redis-stack": 0}
        queries = 40
        for _ in range(queries):
            q = [rng.gauss(0, 1) for _ in range(dim)]
            exact = knn_ids(theirs, "rf", "v", q, k)
            assert knn_ids(ours, "rf", "v", q, k) == exact
            for name, conn in (("vecshard", ours), ("redis-stack", theirs)):
                hits[name] += len(set(exact) & set(knn_ids(conn, "rh", "v", q, k, ef=200)))
        recall = {name: h / (queries * k) for name, h in hits.items()}
        assert recall["vecshard"] >= 0.99, f"HNSW recall@{k}: {recall}"
    finally:
        ours.close()
        theirs.close()
        ours_srv.stop()
