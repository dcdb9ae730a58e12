// How long a query shape (filter, KNN k and ef) took last time, so the server can keep cheap searches on its loop.

/// Handing a search to a worker costs two cross-thread wake-ups; for a query that takes tens of microseconds (a KNN
/// brute force over a few hundred allowed vectors) that is as much as the search, and running it on the loop is
/// faster even with several clients (pypi-minilm-50k, `@popular:{yes}`, 914 allowed, 2 clients: ~10,100 vs ~8,600
/// QPS), while an unfiltered ef-40 walk (~150 µs) is faster on a worker (~5,100 vs ~4,100). Applications repeat query
/// shapes with new vectors, so the last run of the same shape predicts the next one.
struct QueryCostMemory {
    private var entries: [(filter: QueryNode, k: Int, ef: Int, micros: Int)] = []
    let capacity: Int

    init(capacity: Int = 16) { self.capacity = capacity }

    private func index(of request: SearchRequest) -> Int? {
        let k = request.query.knn?.k ?? -1, ef = request.query.knn?.efRuntime ?? -1
        return entries.firstIndex { $0.k == k && $0.ef == ef && $0.filter == request.query.filter }
    }

    func micros(of request: SearchRequest) -> Int? { index(of: request).map { entries[$0].micros } }

    mutating func note(_ request: SearchRequest, micros: Int) {
        if let i = index(of: request) { entries[i].micros = micros; return }
        if entries.count >= capacity { entries.removeFirst() }
        entries.append((request.query.filter, request.query.knn?.k ?? -1, request.query.knn?.efRuntime ?? -1, micros))
    }
}
