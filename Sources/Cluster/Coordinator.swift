// Coordinator merge logic: combines shard-local FT.SEARCH / FT.INFO / FT.TAGVALS answers into one cluster-wide
// answer. Pure functions over plain values (no sockets, no search internals), so every rule is unit-tested.
import RESP

/// The value a shard sorted a hit by, sent along so the coordinator can merge lists in the same order.
public enum ShardSortValue: Sendable, Equatable {
    case number(Double)
    case string([UInt8])
    /// The document has no value for the sort key: such hits go last, whatever the order (RediSearch's rule).
    case missing
}

/// One hit of a shard-local search, in the shard's order.
public struct ShardHit: Sendable, Equatable {
    public var key: [UInt8]
    public var sortValue: ShardSortValue
    public var score: Double
    /// KNN distance (hits of a KNN query): the cluster keeps the global k nearest before any SORTBY.
    public var distance: Double?
    /// Field/value pairs to return (nil: the client asked for none).
    public var fields: [([UInt8], [UInt8])]?

    public init(key: [UInt8], sortValue: ShardSortValue, score: Double, distance: Double? = nil, fields: [([UInt8], [UInt8])]?) {
        self.key = key; self.sortValue = sortValue; self.score = score; self.distance = distance; self.fields = fields
    }

    public static func == (a: ShardHit, b: ShardHit) -> Bool {
        a.key == b.key && a.sortValue == b.sortValue && a.score == b.score && a.distance == b.distance
            && a.fields?.map(\.0) == b.fields?.map(\.0) && a.fields?.map(\.1) == b.fields?.map(\.1)
    }
}

/// A shard's answer: its total match count and its first `offset + limit` hits in merge order.
public struct ShardSearchResult: Sendable, Equatable {
    public var total: Int
    public var hits: [ShardHit]
    public init(total: Int, hits: [ShardHit]) { self.total = total; self.hits = hits }
}

/// How shard lists are ordered, hence merged.
public enum MergeOrder: Sendable, Equatable {
    /// By `sortValue` ascending or descending (SORTBY, or KNN distance ascending); missing values last.
    case value(ascending: Bool)
    /// By score, highest first (text queries without SORTBY).
    case scoreDescending
    /// No global order (filters without scores): interleave the shards' lists rank by rank.
    case shardOrder
}

public struct SearchMergePlan: Sendable, Equatable {
    public var order: MergeOrder
    public var offset: Int
    public var limit: Int
    /// KNN's k when the query is a pure KNN query: the cluster answers the global k nearest, so total is capped at k.
    public var knnK: Int?
    public init(order: MergeOrder, offset: Int, limit: Int, knnK: Int? = nil) {
        self.order = order; self.offset = offset; self.limit = limit; self.knnK = knnK
    }
}

public enum Coordinator {
    /// The `_FT.SEARCH.SHARD` wire format (always RESP2 between nodes):
    ///
    ///     *2  :<total>  *<n> ( *5  $<key>  <sort value>  $<score>  <distance>  (*<2m> $<field> $<value> ... | *-1) )...
    ///
    /// where a sort value is a bulk `n<decimal double>` (number), `s<bytes>` (string) or a null bulk (missing), the
    /// score and distance are round-trip decimal doubles (distance: null bulk when the query has no KNN), and the
    /// hits are in the shard's merge order.
    public static func encodeShardResult(_ r: ShardSearchResult, into w: inout ReplyWriter) {
        w.array(2)
        w.integer(r.total)
        w.array(r.hits.count)
        for h in r.hits {
            w.array(5)
            w.bulk(h.key)
            switch h.sortValue {
            case .number(let d): w.bulk(Array("n\(exactText(d))".utf8))
            case .string(let s): w.bulk([UInt8(ascii: "s")] + s)
            case .missing: w.null()
            }
            w.bulk(exactText(h.score))
            if let d = h.distance { w.bulk(exactText(d)) } else { w.null() }
            if let f = h.fields {
                w.array(f.count * 2)
                for (k, v) in f { w.bulk(k); w.bulk(v) }
            } else {
                w.nullArray()
            }
        }
    }

    /// A double printed so that parsing it gives the same double back.
    static func exactText(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        return "\(d)"
    }

    static func parseExact(_ s: String) -> Double? {
        switch s { case "nan": return .nan; case "inf": return .infinity; case "-inf": return -.infinity; default: return Double(s) }
    }

    /// Decodes a `_FT.SEARCH.SHARD` reply; nil when it is not one (an error reply is reported by the caller).
    public static func decodeShardResult(_ v: RESPValue) -> ShardSearchResult? {
        guard let top = v.elements, top.count == 2, let total = top[0].int, let list = top[1].elements else { return nil }
        var hits: [ShardHit] = []
        hits.reserveCapacity(list.count)
        for item in list {
            guard let e = item.elements, e.count == 5, let key = e[0].bytes,
                  let scoreText = e[2].text, let score = parseExact(scoreText) else { return nil }
            var sort = ShardSortValue.missing
            if let raw = e[1].bytes, let tag = raw.first {
                if tag == UInt8(ascii: "n") {
                    guard let d = parseExact(String(decoding: raw.dropFirst(), as: UTF8.self)) else { return nil }
                    sort = .number(d)
                } else if tag == UInt8(ascii: "s") {
                    sort = .string(Array(raw.dropFirst()))
                } else { return nil }
            }
            var distance: Double?
            if let t = e[3].text { guard let d = parseExact(t) else { return nil }; distance = d }
            var fields: [([UInt8], [UInt8])]?
            if let flat = e[4].elements {
                guard flat.count % 2 == 0 else { return nil }
                var f: [([UInt8], [UInt8])] = []
                for i in stride(from: 0, to: flat.count, by: 2) {
                    guard let k = flat[i].bytes, let val = flat[i + 1].bytes else { return nil }
                    f.append((k, val))
                }
                fields = f
            }
            hits.append(ShardHit(key: key, sortValue: sort, score: score, distance: distance, fields: fields))
        }
        return ShardSearchResult(total: total, hits: hits)
    }

    /// Merges the shards that answered (in a fixed shard order) into the page the client asked for.
    ///
    /// Each shard list is already in merge order, so the merge key is (primary key, rank within the shard, shard
    /// position): consistent with every shard's own order (so asking each for `offset + limit` hits is enough) and
    /// deterministic, so every coordinator gives the same answer.
    public static func mergeSearch(_ shards: [ShardSearchResult], plan: SearchMergePlan) -> (total: Int, hits: [ShardHit]) {
        var total = shards.reduce(0) { $0 + $1.total }
        if let k = plan.knnK { total = min(total, k) }
        struct Entry { var shard: Int; var rank: Int }
        var entries: [Entry] = []
        for (s, r) in shards.enumerated() { for i in r.hits.indices { entries.append(Entry(shard: s, rank: i)) } }
        func hit(_ e: Entry) -> ShardHit { shards[e.shard].hits[e.rank] }
        func tie(_ a: Entry, _ b: Entry) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.shard < b.shard }
        if let k = plan.knnK {
            // The global k nearest first (each shard sent all of its k), then the page's own order.
            entries.sort { a, b in
                let x = hit(a).distance ?? .infinity, y = hit(b).distance ?? .infinity
                if x != y { return x < y }
                let ka = hit(a).key, kb = hit(b).key
                return ka != kb ? ka.lexicographicallyPrecedes(kb) : a.shard < b.shard
            }
            if entries.count > k { entries.removeLast(entries.count - k) }
        }
        switch plan.order {
        case .shardOrder:
            entries.sort(by: tie)
        case .scoreDescending:
            entries.sort { a, b in
                let x = hit(a).score, y = hit(b).score
                return x != y ? x > y : tie(a, b)
            }
        case .value(let ascending):
            entries.sort { a, b in
                switch compare(hit(a).sortValue, hit(b).sortValue, ascending: ascending) {
                case .some(let less): return less
                case nil: return tie(a, b)
                }
            }
        }
        let start = min(plan.offset, entries.count)
        let end = min(entries.count, start + min(plan.limit, Int.max - start))
        return (total, entries[start..<end].map(hit))
    }

    /// true if a sorts before b, false if after, nil if equal. Missing values last; numbers before strings.
    static func compare(_ a: ShardSortValue, _ b: ShardSortValue, ascending: Bool) -> Bool? {
        switch (a, b) {
        case (.missing, .missing): return nil
        case (.missing, _): return false
        case (_, .missing): return true
        case (.number(let x), .number(let y)):
            if x == y || (x.isNaN && y.isNaN) { return nil }
            if x.isNaN { return false }
            if y.isNaN { return true }
            return ascending ? x < y : x > y
        case (.string(let x), .string(let y)):
            if x == y { return nil }
            return ascending ? x.lexicographicallyPrecedes(y) : y.lexicographicallyPrecedes(x)
        case (.number, .string): return true
        case (.string, .number): return false
        }
    }

    // MARK: FT.INFO

    /// FT.INFO counters that describe a shard's documents: summed over shards. Everything else is the local node's.
    public static let summedInfoFields: Set<String> = [
        "num_docs", "num_terms", "num_records", "hash_indexing_failures", "total_inverted_index_blocks",
        "number_of_uses", "total_indexing_time",
    ]
    /// Sizes in MB (bulk or double): summed as doubles.
    public static let summedInfoSizes: Set<String> = [
        "inverted_sz_mb", "vector_index_sz_mb", "offset_vectors_sz_mb", "doc_table_size_mb", "sortable_values_size_mb",
        "key_table_size_mb", "tag_overhead_sz_mb", "text_overhead_sz_mb", "total_index_memory_sz_mb",
    ]
    /// Largest over shards.
    public static let maxInfoFields: Set<String> = ["max_doc_id"]

    /// The top-level key/value pairs of an FT.INFO reply (RESP2 flat list or RESP3 map).
    public static func infoPairs(_ v: RESPValue) -> [(String, RESPValue)]? {
        switch v {
        case .map(let m): return m.compactMap { p in p.key.text.map { ($0, p.value) } }
        case .array(let a):
            guard a.count % 2 == 0 else { return nil }
            return stride(from: 0, to: a.count, by: 2).compactMap { i in a[i].text.map { ($0, a[i + 1]) } }
        default: return nil
        }
    }

    /// The local FT.INFO reply with the document counters replaced by cluster-wide ones (sums of every shard).
    /// `others` are the other shards' FT.INFO replies (any protocol). The shape and types of `local` are kept.
    public static func mergeInfo(local: RESPValue, others: [RESPValue]) -> RESPValue {
        let otherPairs = others.compactMap(infoPairs)
        func combined(_ name: String, _ mine: RESPValue) -> RESPValue {
            let values = otherPairs.compactMap { pairs in pairs.first { $0.0 == name }?.1 }
            if summedInfoFields.contains(name) || maxInfoFields.contains(name) {
                guard var acc = mine.number else { return mine }
                for v in values {
                    guard let n = v.number else { continue }
                    acc = maxInfoFields.contains(name) ? max(acc, n) : acc + n
                }
                return retype(acc, like: mine)
            }
            if summedInfoSizes.contains(name) {
                guard var acc = mine.number else { return mine }
                for v in values { acc += v.number ?? 0 }
                return retype(acc, like: mine)
            }
            if name == "percent_indexed" {
                guard var lowest = mine.number else { return mine }
                for v in values { if let n = v.number { lowest = min(lowest, n) } }
                return retype(lowest, like: mine)
            }
            if name == "indexing" {
                guard let me = mine.number else { return mine }
                let any = values.contains { ($0.number ?? 0) != 0 }
                return retype(any ? 1 : me, like: mine)
            }
            return mine
        }
        switch local {
        case .map(let m):
            return .map(m.map { p in RESPPair(p.key, p.key.text.map { combined($0, p.value) } ?? p.value) })
        case .array(let a) where a.count % 2 == 0:
            var out = a
            for i in stride(from: 0, to: a.count, by: 2) { if let name = a[i].text { out[i + 1] = combined(name, a[i + 1]) } }
            return .array(out)
        default:
            return local
        }
    }

    /// A number in the same RESP type as `like` (integer, double, or bulk text as RediSearch prints it).
    static func retype(_ d: Double, like: RESPValue) -> RESPValue {
        switch like {
        case .integer: return .integer(Int(d))
        case .double: return .double(d)
        case .bulk:
            if d == d.rounded(), abs(d) < 1e15, case .bulk(let b) = like, !b.contains(UInt8(ascii: ".")) { return .bulk(Array(String(Int(d)).utf8)) }
            return .bulk(Array(formatG(d).utf8))
        case .simple: return .simple(formatG(d))
        default: return like
        }
    }

    /// Shortest text for a size in MB (RediSearch prints these with %g-like precision).
    static func formatG(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return ReplyWriter.formatDouble(d)
    }

    // MARK: FT.TAGVALS

    /// The union of every shard's tag values, sorted bytewise as a single node lists them.
    public static func mergeTagValues(_ lists: [[[UInt8]]]) -> [[UInt8]] {
        var seen = Set<[UInt8]>()
        var out: [[UInt8]] = []
        for l in lists { for v in l where seen.insert(v).inserted { out.append(v) } }
        return out.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
