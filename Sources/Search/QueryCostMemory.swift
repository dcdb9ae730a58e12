// How long a query shape (filter, KNN k and ef) took last time, so the server can keep cheap searches on its loop.
#if canImport(Glibc)
import Glibc
#endif

/// Handing a search to a worker costs two cross-thread wake-ups; for a query that takes tens of microseconds (a KNN
/// brute force over a few hundred allowed vectors) that is as much as the search, and running it on the loop is
/// faster even with several clients (pypi-minilm-50k, `@popular:{yes}`, 914 allowed, 2 clients: ~10,100 vs ~8,600
/// QPS), while an unfiltered ef-40 walk (~150 µs) is faster on a worker (~5,100 vs ~4,100). Applications repeat query
/// shapes with new vectors, so the last run of the same shape predicts the next one.
struct QueryCostMemory {
    private var entries: [(filter: QueryNode, k: Int, ef: Int, micros: Int)] = []
    let capacity: Int

    init(capacity: Int = 16) { self.capacity = capacity }

    private static func shape(_ request: SearchRequest) -> (k: Int, ef: Int) {
        (request.query.knn?.k ?? -1, request.query.knn?.efRuntime ?? -1)
    }

    func micros(of request: SearchRequest) -> Int? {
        let (k, ef) = Self.shape(request)
        return entries.first { $0.k == k && $0.ef == ef && $0.filter == request.query.filter }?.micros
    }

    mutating func note(_ request: SearchRequest, micros: Int) {
        let (k, ef) = Self.shape(request)
        if let i = entries.firstIndex(where: { $0.k == k && $0.ef == ef && $0.filter == request.query.filter }) {
            entries[i].micros = micros
            return
        }
        if entries.count >= capacity { entries.removeFirst() }
        entries.append((request.query.filter, k, ef, micros))
    }

    static func nowMicros() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
    }
}
