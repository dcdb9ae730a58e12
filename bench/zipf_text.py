"""The Zipf-word documents of the text benchmarks (text-latency.py, text-load.py; text-scores.sh builds the same ones
inline): a 2,007-word vocabulary whose i-th word has weight 1/(i+1), three TEXT fields, a TAG, a NUMERIC."""
import random

VOCAB = [f"w{i}" for i in range(2000)] + ["running", "runs", "run", "apples", "apple", "search", "searching"]
WEIGHTS = [1 / (i + 1) for i in range(len(VOCAB))]
SCHEMA = ["title", "TEXT", "WEIGHT", "2", "body", "TEXT", "note", "TEXT", "tag", "TAG", "n", "NUMERIC"]
VECTOR_FIELD = ["v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", "16", "DISTANCE_METRIC", "COSINE"]


def word_source(seed: int = 11):
    """The generator the scripts draw from (seeded: every server gets the same documents), and k words of it."""
    rng = random.Random(seed)
    return rng, lambda k: " ".join(rng.choices(VOCAB, WEIGHTS, k=k))
