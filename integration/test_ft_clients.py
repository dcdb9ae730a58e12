"""Stock clients end to end against vecshard-server's Search module.

* redis-py 8 (the harness's client), RESP3 and RESP2: ``r.ft(idx).create_index(...)`` with VectorField /
  TagField / NumericField / TextField and an ``IndexDefinition``, ``Query(...).dialect(2)`` searches (KNN with
  query_params, hybrid filters, ranges, text), ``.info()``, ``.dropindex()``.
* redisvl 0.26 (pins redis<8, so it speaks RESP2 through redis-py 7): installed into its own venv
  (``$REDISVL_VENV``, default ``~/.cache/vecshard-redisvl-venv``, created on first use with ``python3 -m venv`` and
  ``pip install 'redisvl==0.26.*'``); a small script runs there as a subprocess and prints its results as JSON.

Expected answers are computed here in Python from the same data (exact FLAT search), not read from a reference
server: tests/test_ft_differential.py does the reply-by-reply comparison with Redis Stack.
"""

from __future__ import annotations

import json
import math
import os
import random
import struct
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import redis
from redis.commands.search.aggregation import AggregateRequest
from redis.commands.search.field import GeoField, NumericField, TagField, TextField, VectorField
from redis.commands.search.index_definition import IndexDefinition, IndexType
from redis.commands.search.query import GeoFilter, NumericFilter, Query

DIM = 4
TAGS = ["red", "green", "blue"]
WORDS = ["hello", "world", "vector", "search", "swift"]


def f32(v) -> bytes:
    return struct.pack(f"<{len(v)}f", *v)


def make_docs(n: int = 40, seed: int = 3):
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        vec = [round(rng.uniform(-1, 1), 3) for _ in range(DIM)]
        docs.append({"id": f"d:{i}", "tag": TAGS[i % 3], "num": i, "text": " ".join(rng.sample(WORDS, 2)),
                     "vec": vec})
    return docs


def l2(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b))


def cosine(a, b) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return 1 - dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def info_of(ft) -> dict:
    """ft.info() with str keys (RESP2: redis-py's dict of the flat list; protocol=3: the raw map)."""
    return {text(k): v for k, v in ft.info().items()}


def wait_indexed(ft, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        info = info_of(ft)
        if int(info["indexing"]) == 0 or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


def rows(res) -> list[tuple[str, dict]]:
    """FT.SEARCH results as [(id, {field: value})] from redis-py's RESP2 Result or its RESP3 dict."""
    if isinstance(res, dict):
        return [(text(r["id"]), {text(k): text(v) for k, v in r.get("extra_attributes", {}).items()})
                for r in res["results"]]
    return [(d.id, {k: text(v) for k, v in d.__dict__.items() if k not in ("id", "payload")}) for d in res.docs]


def total(res) -> int:
    return res["total_results"] if isinstance(res, dict) else res.total


# ---------------------------------------------------------------------------------------------------------------
# redis-py 8

@pytest.mark.parametrize("protocol", [3, 2])
def test_redis_py_search(server, protocol):
    r = server.client(protocol=protocol, decode_responses=False)
    name = f"rp{protocol}"
    ft = r.ft(name)
    docs = make_docs()
    ft.create_index(
        [VectorField("vec", "FLAT", {"TYPE": "FLOAT32", "DIM": DIM, "DISTANCE_METRIC": "L2"}),
         TagField("tag"), NumericField("num", sortable=True), TextField("text")],
        definition=IndexDefinition(prefix=["d:"], index_type=IndexType.HASH))
    with r.pipeline(transaction=False) as p:
        for d in docs:
            p.hset(d["id"], mapping={"tag": d["tag"], "num": d["num"], "text": d["text"], "vec": f32(d["vec"])})
        p.execute()
    info = wait_indexed(ft)
    assert int(info["num_docs"]) == len(docs)

    q = [0.1, -0.2, 0.3, 0.05]
    expected = sorted(docs, key=lambda d: (l2(d["vec"], q), d["num"]))

    # KNN with query_params, sorted by the distance.
    knn = (Query("*=>[KNN 5 @vec $B AS dist]").sort_by("dist").return_fields("dist", "tag").paging(0, 5)
           .dialect(2))
    res = ft.search(knn, query_params={"B": f32(q)})
    got = rows(res)
    assert total(res) == 5
    assert [g[0] for g in got] == [d["id"] for d in expected[:5]]
    for (doc_id, fields), d in zip(got, expected):
        assert fields["tag"] == d["tag"]
        assert float(fields["dist"]) == pytest.approx(l2(d["vec"], q), rel=1e-5, abs=1e-6)

    # Hybrid: tag filter + numeric range, then KNN.
    hybrid = (Query("(@tag:{red} @num:[10 (30])=>[KNN 3 @vec $B AS dist]").sort_by("dist")
              .return_fields("dist", "num").dialect(2))
    res = ft.search(hybrid, query_params={"B": f32(q)})
    pool = [d for d in expected if d["tag"] == "red" and 10 <= d["num"] < 30]
    assert [g[0] for g in rows(res)] == [d["id"] for d in pool[:3]]

    # Filters without KNN: tags union, numeric range with exclusive bound and inf, text, negation.
    def ids(query: Query) -> set[str]:
        return {g[0] for g in rows(ft.search(query))}

    assert ids(Query("@tag:{red | blue}").no_content().paging(0, 100).dialect(2)) == \
        {d["id"] for d in docs if d["tag"] in ("red", "blue")}
    assert ids(Query("@num:[(35 +inf]").no_content().dialect(2)) == {d["id"] for d in docs if d["num"] > 35}
    assert ids(Query("hello").no_content().paging(0, 100).dialect(2)) == \
        {d["id"] for d in docs if "hello" in d["text"].split()}
    assert ids(Query("-@tag:{green} @num:[0 9]").no_content().dialect(2)) == \
        {d["id"] for d in docs if d["tag"] != "green" and d["num"] <= 9}

    # SORTBY a numeric, LIMIT, RETURN.
    res = ft.search(Query("@tag:{green}").sort_by("num", asc=False).paging(2, 3).return_fields("num").dialect(2))
    greens = sorted((d for d in docs if d["tag"] == "green"), key=lambda d: -d["num"])
    assert total(res) == len(greens)
    assert [(g[0], g[1]["num"]) for g in rows(res)] == [(d["id"], str(d["num"])) for d in greens[2:5]]

    # WITHSCORES: redis-py reads the score (a float) for each document.
    res = ft.search(Query("@tag:{blue}").with_scores().no_content().dialect(2))
    if isinstance(res, dict):
        assert all(isinstance(x["score"], float) for x in res["results"])
    else:
        assert all(isinstance(d.score, float) for d in res.docs)

    # VECTOR_RANGE.
    rng = Query("@vec:[VECTOR_RANGE 0.5 $B]=>{$YIELD_DISTANCE_AS: dist}").sort_by("dist") \
        .return_fields("dist").paging(0, 100).dialect(2)
    res = ft.search(rng, query_params={"B": f32(q)})
    assert [g[0] for g in rows(res)] == [d["id"] for d in expected if l2(d["vec"], q) <= 0.5]

    # info(): the fields clients and redisvl read.
    info = info_of(ft)
    assert text(info["index_name"]) == name
    definition = info["index_definition"]
    if isinstance(definition, dict):  # RESP3 map
        definition = [x for kv in definition.items() for x in kv]
    assert [text(x) if not isinstance(x, list) else [text(y) for y in x] for x in definition[:4]] == \
        ["key_type", "HASH", "prefixes", ["d:"]]
    attrs = info["attributes"]
    flat = [[text(x) for x in (a if isinstance(a, list) else [y for kv in a.items() for y in kv])] for a in attrs]
    vec_attr = next(a for a in flat if "VECTOR" in a)
    assert vec_attr[vec_attr.index("dim") + 1] == str(DIM)
    assert vec_attr[vec_attr.index("distance_metric") + 1] == "L2"
    assert int(info["hash_indexing_failures"]) == 0

    # A bad vector is not indexed and is counted.
    r.hset("d:bad", mapping={"tag": "red", "vec": b"xx"})
    info = info_of(ft)
    assert int(info["hash_indexing_failures"]) == 1
    assert int(info["num_docs"]) == len(docs)

    assert ft.dropindex(delete_documents=True)
    assert r.exists("d:0") == 0
    assert name.encode() not in [n if isinstance(n, bytes) else n.encode() for n in r.execute_command("FT._LIST")]
    r.close()


# ---------------------------------------------------------------------------------------------------------------
def haversine(lon1, lat1, lon2, lat2) -> float:
    """Meters, with Redis's earth radius (its GEODIST's and RediSearch's)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    u, v = math.sin((p2 - p1) / 2), math.sin(math.radians(lon2 - lon1) / 2)
    return 2 * 6372797.560856 * math.asin(math.sqrt(u * u + math.cos(p1) * math.cos(p2) * v * v))


PLACES = [("paris", 2.3522, 48.8566, "cafe near the river"), ("versailles", 2.1301, 48.8049, "cafe palace garden"),
          ("london", -0.1276, 51.5072, "river cafe"), ("lyon", 4.8357, 45.7640, "garden cafe river"),
          ("brussels", 4.3517, 50.8503, "cafe"), ("sydney", 151.2093, -33.8688, "harbour river cafe")]


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_geo_and_query_options(server, protocol):
    """redis-py's GeoField, Query.add_filter(NumericFilter / GeoFilter), slop(), in_order(), limit_fields() and a
    geodistance() APPLY, which VecShard once accepted and ignored."""
    r = server.client(protocol=protocol, decode_responses=True)
    name = f"geo{protocol}"
    ft = r.ft(name)
    ft.create_index([GeoField("loc"), NumericField("rank"), TextField("name"), TextField("about")],
                    definition=IndexDefinition(prefix=[f"{name}:"], index_type=IndexType.HASH))
    for i, (city, lon, lat, about) in enumerate(PLACES):
        r.hset(f"{name}:{city}", mapping={"loc": f"{lon},{lat}", "rank": i, "name": city, "about": about})
    r.hset(f"{name}:nowhere", mapping={"loc": "10,95", "name": "nowhere"})  # past Redis's latitude bounds
    info = wait_indexed(ft)
    assert int(info["num_docs"]) == len(PLACES)
    assert int(info["hash_indexing_failures"]) == 1

    def ids(query: Query) -> list[str]:
        return sorted(g[0].split(":", 1)[1] for g in rows(ft.search(query)))

    def near(lon, lat, meters):
        return sorted(c for c, x, y, _ in PLACES if haversine(lon, lat, x, y) <= meters)

    assert ids(Query("@loc:[2.35 48.85 30 km]").no_content()) == near(2.35, 48.85, 30_000) == ["paris", "versailles"]
    assert ids(Query("@loc:[2.35 48.85 400 km]").no_content().dialect(2)) == near(2.35, 48.85, 400_000)
    assert ids(Query("cafe").add_filter(GeoFilter("loc", 2.35, 48.85, 250, GeoFilter.MILES)).no_content()) == \
        near(2.35, 48.85, 250 * 1609.34)
    assert ids(Query("cafe").add_filter(NumericFilter("rank", 1, 3)).no_content()) == ["london", "lyon", "versailles"]
    assert ids(Query("cafe").add_filter(NumericFilter("rank", 1, 3, minExclusive=True)).no_content()) == ["london", "lyon"]
    assert ids(Query("river").limit_fields("name").no_content()) == []
    assert ids(Query("river").limit_fields("about").no_content()) == ["london", "lyon", "paris", "sydney"]
    # "cafe river": adjacent in lyon, london and sydney (either order); in that order in paris (a word between, and a
    # stopword, which takes no position) and lyon.
    assert ids(Query("cafe river").slop(0).no_content()) == ["london", "lyon", "sydney"]
    assert ids(Query("cafe river").in_order().no_content()) == ["lyon", "paris"]
    assert ids(Query("cafe river").slop(0).in_order().no_content()) == ["lyon"]
    assert ids(Query("cafe river").slop(1).no_content()) == ["london", "lyon", "paris", "sydney"]
    with pytest.raises(redis.ResponseError, match="Invalid GeoFilter radius"):
        ft.search(Query("cafe").add_filter(GeoFilter("loc", 2.35, 48.85, -1)))

    req = AggregateRequest("*").load("@loc").apply(d="geodistance(@loc, 2.3522, 48.8566)").sort_by("@d").limit(0, 3)
    res = ft.aggregate(req)
    got = [dict(zip(row[::2], row[1::2])) for row in res.rows] if not isinstance(res, dict) else \
        [x["extra_attributes"] for x in res["results"]]
    expected = sorted((haversine(2.3522, 48.8566, x, y), c) for c, x, y, _ in PLACES)[:3]
    assert [float(g["d"]) for g in got] == pytest.approx([d for d, _ in expected], abs=2.0)


# redisvl (own venv, RESP2 through redis-py 7)

REDISVL_VENV = Path(os.environ.get("REDISVL_VENV", Path.home() / ".cache" / "vecshard-redisvl-venv"))
REDISVL_SPEC = os.environ.get("REDISVL_SPEC", "redisvl==0.26.*")

REDISVL_SCRIPT = textwrap.dedent('''
    import json, struct, sys
    from redisvl.index import SearchIndex
    from redisvl.query import FilterQuery, TextQuery, VectorQuery, VectorRangeQuery
    from redisvl.query.aggregate import AggregateHybridQuery
    from redisvl.query.filter import Geo, GeoRadius, Num, Tag

    port, docs, q = int(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
    schema = {
        "index": {"name": "rvl", "prefix": "rvl", "storage_type": "hash"},
        "fields": [
            {"name": "tag", "type": "tag"},
            {"name": "num", "type": "numeric"},
            {"name": "text", "type": "text"},
            {"name": "loc", "type": "geo"},
            {"name": "vec", "type": "vector",
             "attrs": {"dims": len(q), "distance_metric": "cosine", "algorithm": "flat", "datatype": "float32"}},
        ],
    }
    index = SearchIndex.from_dict(schema, redis_url=f"redis://127.0.0.1:{port}")
    index.create(overwrite=True, drop=True)
    data = [{"id": d["id"], "tag": d["tag"], "num": d["num"], "text": d["text"], "loc": f"{d['num'] / 10},{d['num'] / 20}",
             "vec": struct.pack(f"<{len(d['vec'])}f", *d["vec"])} for d in docs]
    keys = index.load(data, id_field="id")
    out = {"keys": keys, "exists": index.exists()}
    info = index.info()
    out["num_docs"] = int(info["num_docs"])
    out["vector"] = index.query(VectorQuery(vector=q, vector_field_name="vec", return_fields=["tag", "num"],
                                            num_results=5))
    out["hybrid"] = index.query(VectorQuery(vector=q, vector_field_name="vec", return_fields=["tag", "num"],
                                            num_results=3, filter_expression=Tag("tag") == "red"))
    out["range"] = index.query(VectorRangeQuery(vector=q, vector_field_name="vec", return_fields=["num"],
                                                distance_threshold=0.3, num_results=100))
    out["filter"] = index.query(FilterQuery(filter_expression=(Tag("tag") == "blue") & (Num("num") >= 20),
                                            return_fields=["num", "tag"], num_results=100))
    out["count"] = index.query(FilterQuery(filter_expression=Num("num") < 10, return_fields=["num"],
                                           num_results=100))
    out["geo"] = index.query(FilterQuery(filter_expression=Geo("loc") == GeoRadius(1.0, 0.5, 120, "km"),
                                         return_fields=["num"], num_results=100))
    word = docs[0]["text"].split()[0]
    out["word"] = word
    out["text_query"] = index.query(TextQuery(word, text_field_name="text", num_results=100, return_fields=["text"]))
    out["hybrid_query"] = index.query(AggregateHybridQuery(word, "text", q, "vec", alpha=0.7, num_results=5,
                                                           return_fields=["text"]))
    index.delete(drop=True)
    out["after_delete"] = index.exists()
    print(json.dumps(out))
''')


def redisvl_python() -> str:
    python = REDISVL_VENV / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import redisvl"], capture_output=True).returncode == 0:
        return str(python)
    made = subprocess.run(["python3", "-m", "venv", str(REDISVL_VENV)], capture_output=True, text=True)
    assert made.returncode == 0, f"python3 -m venv {REDISVL_VENV} failed:\n{made.stderr}"
    pip = subprocess.run([str(REDISVL_VENV / "bin" / "pip"), "install", "-q", REDISVL_SPEC], capture_output=True,
                         text=True, timeout=900)
    assert pip.returncode == 0, f"pip install {REDISVL_SPEC} failed:\n{pip.stdout}\n{pip.stderr}"
    return str(python)


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_term_patterns(server, protocol):
    """Suffix, contains, fuzzy and wildcard clauses on TEXT and TAG fields through redis-py (which VecShard once
    refused), checked against the words each document holds; and a suffix walk that repeats exponentially (RediSearch
    stops it at its timeout) answers in bounded time with the node still up."""
    r = server.client(protocol=protocol, decode_responses=True)
    name = f"pat{protocol}"
    ft = r.ft(name)
    ft.create_index([TextField("t"), TagField("g")],
                    definition=IndexDefinition(prefix=[f"{name}:"], index_type=IndexType.HASH))
    docs = {"a": ("searching engines", "search-api,py"), "b": ("research notes", "notes"),
            "c": ("seething sea", "sea-api"), "d": ("serach typo", "typo")}
    for key, (t, g) in docs.items():
        r.hset(f"{name}:{key}", mapping={"t": t, "g": g})
    wait_indexed(ft)

    def ids(q: str) -> list[str]:
        return sorted(g[0].split(":", 1)[1] for g in rows(ft.search(Query(q).no_content().dialect(2))))

    def holding(test) -> list[str]:
        return sorted(k for k, (t, _) in docs.items() if any(test(w) for w in t.split()))

    assert ids("*arch*") == holding(lambda w: "arch" in w) == ["a", "b"]
    assert ids("*ing") == holding(lambda w: w.endswith("ing")) == ["a", "c"]
    # RediSearch's term trie holds `+search`, the stem of "searching": one edit from "search" (answers checked against
    # Redis Stack); "serach" is two edits away.
    assert ids("%search%") == ["a"]
    assert ids("%serch%") == ["d"]
    assert ids("w'se?*'") == holding(lambda w: w.startswith("se") and len(w) >= 3) == ["a", "c", "d"]
    assert ids("@g:{*api}") == ["a", "c"]
    assert ids("@g:{*ea*}") == ["a", "c"]
    assert ids("@g:{w'?otes'}") == ["b"]
    r.hset(f"{name}:long", mapping={"t": "ab" * 300})
    r.execute_command("FT.CONFIG", "SET", "MAXPREFIXEXPANSIONS", "100000000")
    try:
        started = time.monotonic()
        assert ids("*ab") == ["long"]
        assert ids("*ba") == []
        assert time.monotonic() - started < 20
    finally:
        r.execute_command("FT.CONFIG", "SET", "MAXPREFIXEXPANSIONS", "200")
    assert r.ping()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_redisvl(server):
    python = redisvl_python()
    docs = make_docs(30, seed=5)
    q = [0.2, 0.1, -0.4, 0.3]
    run = subprocess.run([python, "-c", REDISVL_SCRIPT, str(server.port), json.dumps(docs), json.dumps(q)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"redisvl script failed:\n{run.stdout}\n{run.stderr}"
    out = json.loads(run.stdout.strip().splitlines()[-1])

    assert out["exists"] is True
    assert out["num_docs"] == len(docs)
    assert sorted(out["keys"]) == sorted(f"rvl:{d['id']}" for d in docs)
    by_distance = sorted(docs, key=lambda d: cosine(d["vec"], q))

    got = out["vector"]
    assert [g["id"] for g in got] == [f"rvl:{d['id']}" for d in by_distance[:5]]
    for g, d in zip(got, by_distance):
        assert float(g["vector_distance"]) == pytest.approx(cosine(d["vec"], q), abs=1e-5)
        assert g["tag"] == d["tag"] and int(g["num"]) == d["num"]

    reds = [d for d in by_distance if d["tag"] == "red"]
    assert [g["id"] for g in out["hybrid"]] == [f"rvl:{d['id']}" for d in reds[:3]]

    in_range = [d for d in by_distance if cosine(d["vec"], q) <= 0.3]
    assert [g["id"] for g in out["range"]] == [f"rvl:{d['id']}" for d in in_range]

    assert sorted(g["id"] for g in out["filter"]) == \
        sorted(f"rvl:{d['id']}" for d in docs if d["tag"] == "blue" and d["num"] >= 20)
    assert all(g["tag"] == "blue" for g in out["filter"])

    # TextQuery (SCORER BM25STD, WITHSCORES): every document holding the word, best score first.
    word = out["word"]
    holding = {f"rvl:{d['id']}" for d in docs if word in d["text"].split()}
    assert {g["id"] for g in out["text_query"]} == holding
    scores = [float(g["score"]) for g in out["text_query"]]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    # AggregateHybridQuery (ADDSCORES, @__score): the 5 nearest, mixed as 0.3 × text score + 0.7 × vector similarity.
    nearest = sorted(docs, key=lambda d: cosine(d["vec"], q))[:5]
    assert len(out["hybrid_query"]) == 5
    for g in out["hybrid_query"]:
        similarity = (2 - float(g["vector_distance"])) / 2
        assert float(g["hybrid_score"]) == pytest.approx(0.3 * float(g["text_score"]) + 0.7 * similarity, abs=1e-6)
        assert (float(g["text_score"]) > 0) == (g["text"] is not None and word in g["text"].split())
    mixed = [float(g["hybrid_score"]) for g in out["hybrid_query"]]
    assert mixed == sorted(mixed, reverse=True)
    got_distances = sorted(float(g["vector_distance"]) for g in out["hybrid_query"])
    assert got_distances == pytest.approx(sorted(cosine(d["vec"], q) for d in nearest), abs=1e-5)
    assert sorted(int(g["num"]) for g in out["count"]) == [d["num"] for d in docs if d["num"] < 10]
    # GeoRadius: points (num / 10, num / 20) within 120 km of (1.0, 0.5).
    assert sorted(int(g["num"]) for g in out["geo"]) == \
        [d["num"] for d in docs if haversine(1.0, 0.5, d["num"] / 10, d["num"] / 20) <= 120_000]
    assert out["after_delete"] is False


def test_hnsw_mass_delete_then_reinsert(server):
    """A pipelined burst of DELs on an HNSW index: deleted documents are gone from the very next FT.SEARCH (the graph
    repair around them runs in the background), the survivors are still found, and re-added keys come back."""
    r = server.client(decode_responses=True)
    dim, n = 8, 2000
    ft = r.ft("massdel")
    ft.create_index([VectorField("vec", "HNSW", {"TYPE": "FLOAT32", "DIM": dim, "DISTANCE_METRIC": "L2",
                                                 "M": 8, "EF_CONSTRUCTION": 64})],
                    definition=IndexDefinition(prefix=["md:"], index_type=IndexType.HASH))
    rng = random.Random(17)
    vecs = {f"md:{i}": [rng.uniform(-1, 1) for _ in range(dim)] for i in range(n)}
    with r.pipeline(transaction=False) as p:
        for key, v in vecs.items():
            p.hset(key, mapping={"vec": f32(v)})
        p.execute()
    wait_indexed(ft)
    doomed = set(rng.sample(sorted(vecs), 1200))
    with r.pipeline(transaction=False) as p:
        for key in sorted(doomed):
            p.delete(key)
        assert sum(p.execute()) == len(doomed)
    assert int(ft.info()["num_docs"]) == n - len(doomed)
    live = {k: v for k, v in vecs.items() if k not in doomed}

    def knn(q, k=10):
        query = Query(f"*=>[KNN {k} @vec $B EF_RUNTIME 200 AS d]").sort_by("d").paging(0, k).dialect(2)
        return [doc_id for doc_id, _ in rows(ft.search(query, query_params={"B": f32(q)}))]

    hits = 0
    for _ in range(30):
        q = [rng.uniform(-1, 1) for _ in range(dim)]
        got = knn(q)
        assert not doomed.intersection(got)
        exact = sorted(live, key=lambda key: l2(live[key], q))[:10]
        hits += len(set(got) & set(exact))
    assert hits / 300 >= 0.9
    assert r.hget(next(iter(doomed)), "vec") is None

    back = sorted(doomed)[:100]
    with r.pipeline(transaction=False) as p:
        for key in back:
            p.hset(key, mapping={"vec": f32(vecs[key])})
        p.execute()
    wait_indexed(ft)
    assert int(ft.info()["num_docs"]) == n - len(doomed) + len(back)
    for key in back[:20]:
        assert knn(vecs[key], k=1) == [key]
