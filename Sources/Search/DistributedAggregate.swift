// FT.AGGREGATE across shards: which steps run on each shard, the rows a shard ships (and their wire form), and how
// the coordinator combines them so the rest of the pipeline sees what one node holding every document would see.
import RESP

/// How a distributed aggregate divides its plan. Shards run the leading LOAD / APPLY / FILTER steps (they see one
/// document at a time, so running them per shard changes nothing) and ship every resulting row; the coordinator runs
/// the remaining steps over the concatenation. When the first remaining step is a SORTBY / LIMIT, each shard also
/// pre-runs it bounded to offset+limit rows (the global page can only come from those), and the coordinator runs it
/// again over the survivors.
public struct AggregateSplit: Sendable, Equatable {
    /// Steps (AggregatePlan.steps) the shards run; the coordinator runs the rest.
    public var shardSteps: Int
    /// The step at `shardSteps` is an arrange step the shards pre-run, unpaged (see above).
    public var shardArrange: Bool
    /// KNN queries: each shard's k nearest are only candidates, so shards run no step and the coordinator first keeps
    /// the global k nearest by this yielded distance field.
    public var knnField: String?
    public var knnK: Int?

    public init(shardSteps: Int, shardArrange: Bool, knnField: String? = nil, knnK: Int? = nil) {
        self.shardSteps = shardSteps; self.shardArrange = shardArrange; self.knnField = knnField; self.knnK = knnK
    }
}

extension AggregatePlan {
    /// The split of this plan for a query with the given KNN clause (nil: no KNN).
    public func distributedSplit(knn: KNNClause?) -> AggregateSplit {
        if let knn { return AggregateSplit(shardSteps: 0, shardArrange: false, knnField: knn.scoreField, knnK: knn.k) }
        for (n, step) in steps.enumerated() {
            switch step {
            case .load, .loadAll, .apply, .filter: continue
            case .arrange: return AggregateSplit(shardSteps: n, shardArrange: true)
            case .groupBy: return AggregateSplit(shardSteps: n, shardArrange: false)
            }
        }
        return AggregateSplit(shardSteps: steps.count, shardArrange: false)
    }
}

/// One row a shard produced, with the documents it read to produce it (the source of FT.AGGREGATE's `total`).
public struct AggShardRow: Sendable, Equatable {
    /// Documents read since the previous row, this row's included.
    public var reads: Int
    public var docId: UInt32
    /// By column; nil: the row has no value there.
    public var values: [AggValue?]
    public init(reads: Int, docId: UInt32, values: [AggValue?]) { self.reads = reads; self.docId = docId; self.values = values }
}

/// A shard's answer to `_FT.AGGREGATE.SHARD`, or the coordinator's combination of several.
public struct AggShardRows: Sendable, Equatable {
    /// Column names in the shard's lookup order.
    public var columns: [String]
    public var rows: [AggShardRow]
    /// Documents read after the last row (filtered out, or consumed by a pre-run SORTBY / LIMIT 0 0).
    public var trailingReads: Int
    /// An APPLY / FILTER error that ended the shard's rows where it happened.
    public var error: String?

    public init(columns: [String], rows: [AggShardRow], trailingReads: Int = 0, error: String? = nil) {
        self.columns = columns; self.rows = rows; self.trailingReads = trailingReads; self.error = error
    }

    /// The rows of every shard (in a fixed shard order) as one stream, as if one node had read the shards' documents
    /// one shard after another: columns unioned in first-seen order, each shard's trailing reads carried to the next
    /// row, and a shard's error ending the stream there. KNN keeps the global k nearest, nearest first (ties by
    /// shard order, then the shard's own order).
    public static func combine(_ shards: [AggShardRows], split: AggregateSplit) -> AggShardRows {
        var columns: [String] = []
        var position: [String: Int] = [:]
        for s in shards { for c in s.columns where position[c] == nil { position[c] = columns.count; columns.append(c) } }
        func remapped(_ row: AggShardRow, _ shard: AggShardRows) -> AggShardRow {
            var values = [AggValue?](repeating: nil, count: columns.count)
            for (i, c) in shard.columns.enumerated() where i < row.values.count { values[position[c]!] = row.values[i] }
            return AggShardRow(reads: row.reads, docId: row.docId, values: values)
        }
        if let field = split.knnField, let k = split.knnK {
            let slot = position[field]
            var candidates: [(distance: Double, row: AggShardRow)] = []
            for s in shards {
                for r in s.rows {
                    let row = remapped(r, s)
                    candidates.append((slot.flatMap { row.values[$0]?.numberValue } ?? .infinity, row))
                }
            }
            // A stable sort keeps shard order, then each shard's order, among equal distances.
            let nearest = candidates.enumerated().sorted { a, b in
                a.element.distance != b.element.distance ? a.element.distance < b.element.distance : a.offset < b.offset
            }.prefix(max(0, k)).map(\.element.row)
            return AggShardRows(columns: columns, rows: Array(nearest), trailingReads: 0,
                                error: shards.lazy.compactMap(\.error).first)
        }
        var out = AggShardRows(columns: columns, rows: [])
        var carried = 0
        for s in shards {
            for r in s.rows {
                var row = remapped(r, s)
                row.reads += carried
                carried = 0
                out.rows.append(row)
            }
            carried += s.trailingReads
            if let e = s.error { out.error = e; break }
        }
        out.trailingReads = carried
        return out
    }

    // MARK: wire format

    /// The `_FT.AGGREGATE.SHARD` reply (always RESP2 between nodes):
    ///
    ///     *4  *<c> $<column>...  *<n> ( *<2+c> :<reads> :<doc id> <value>... )...  :<trailing reads>  ($<error> | null)
    ///
    /// where a value is a null bulk (absent), `n<round-trip decimal>` (number), `s<bytes>` (string), `z` (null)
    /// or an array of values.
    public func encode(into w: inout ReplyWriter) {
        w.array(4)
        w.array(columns.count)
        for c in columns { w.bulk(c) }
        w.array(rows.count)
        for r in rows {
            w.array(2 + columns.count)
            w.integer(r.reads)
            w.integer(Int(r.docId))
            for i in 0..<columns.count { Self.encode(i < r.values.count ? r.values[i] : nil, into: &w) }
        }
        w.integer(trailingReads)
        if let error { w.bulk(error) } else { w.null() }
    }

    private static func encode(_ v: AggValue?, into w: inout ReplyWriter) {
        switch v {
        case nil: w.null()
        case .null?: w.bulk("z")
        case .number(let d)?: w.bulk("n" + exactText(d))
        case .string(let b)?: w.bulk([UInt8(ascii: "s")] + b)
        case .array(let items)?:
            w.array(items.count)
            for item in items { encode(item, into: &w) }
        }
    }

    /// Decodes a `_FT.AGGREGATE.SHARD` reply; nil when it is not one.
    public static func decode(_ v: RESPValue) -> AggShardRows? {
        guard let top = v.elements, top.count == 4, let names = top[0].elements, let list = top[1].elements,
              let trailing = top[2].int else { return nil }
        var columns: [String] = []
        for n in names {
            guard let b = n.bytes else { return nil }
            columns.append(String(decoding: b, as: UTF8.self))
        }
        var rows: [AggShardRow] = []
        rows.reserveCapacity(list.count)
        for item in list {
            guard let e = item.elements, e.count == 2 + columns.count, let reads = e[0].int, let id = e[1].int,
                  let docId = UInt32(exactly: id) else { return nil }
            var values: [AggValue?] = []
            values.reserveCapacity(columns.count)
            for raw in e[2...] {
                guard let value = decodeValue(raw) else { return nil }
                values.append(value)
            }
            rows.append(AggShardRow(reads: reads, docId: docId, values: values))
        }
        var error: String?
        switch top[3] {
        case .null: break
        default:
            guard let b = top[3].bytes else { return nil }
            error = String(decoding: b, as: UTF8.self)
        }
        return AggShardRows(columns: columns, rows: rows, trailingReads: trailing, error: error)
    }

    /// nil: malformed; .some(nil): absent.
    private static func decodeValue(_ v: RESPValue) -> AggValue?? {
        if case .null = v { return .some(nil) }
        if let items = v.elements {
            var out: [AggValue] = []
            for i in items {
                guard let d = decodeValue(i), let value = d else { return nil }
                out.append(value)
            }
            return .some(.array(out))
        }
        guard let b = v.bytes, let tag = b.first else { return nil }
        switch tag {
        case UInt8(ascii: "z"): return .some(.null)
        case UInt8(ascii: "s"): return .some(.string(Array(b.dropFirst())))
        case UInt8(ascii: "n"):
            guard let d = parseExact(String(decoding: b.dropFirst(), as: UTF8.self)) else { return nil }
            return .some(.number(d))
        default: return nil
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
}

extension AggregatePipeline {
    /// Runs a shard's part (built with `buildShard`) and returns its rows with every document-row column.
    public func shardRows() -> AggShardRows {
        let end = shardEnd ?? self.end
        let columns = input.keys.map(\.name)
        var out = AggShardRows(columns: columns, rows: [])
        var counted = 0
        do {
            while let row = try end.next(slot) {
                let reads = ctx.totalResults - counted
                counted = ctx.totalResults
                out.rows.append(AggShardRow(reads: reads, docId: row.docId, values: (0..<columns.count).map { row[$0] }))
            }
        } catch {
            out.error = error.message
        }
        out.trailingReads = ctx.totalResults - counted
        return out
    }
}

/// The coordinator's source: the shards' combined rows in place of documents, counting reads as DocSource counts
/// documents, so `total` comes out as a single node's would.
final class ShippedRowSource: AggProcessor {
    let rows: AggShardRows
    let slots: [Int]
    let lookup: AggLookup
    let ctx: AggContext
    var position = 0
    var finished = false

    /// `lookup` must already hold every column (AggregatePipeline seeds it with them).
    init(rows: AggShardRows, lookup: AggLookup, ctx: AggContext) {
        self.rows = rows; self.lookup = lookup; self.ctx = ctx
        slots = rows.columns.map { lookup.index(of: $0)! }
    }

    func next(_ slot: ResultSlot) throws(AggregateError) -> AggRow? {
        guard position < rows.rows.count else {
            if !finished {
                finished = true
                ctx.totalResults += rows.trailingReads
                if let e = rows.error { throw AggregateError(e) }
            }
            return nil
        }
        let shipped = rows.rows[position]
        position += 1
        ctx.totalResults += shipped.reads
        var row = AggRow(count: lookup.keys.count)
        row.docId = shipped.docId
        slot.docId = shipped.docId
        for (i, v) in shipped.values.enumerated() where i < slots.count { row[slots[i]] = v }
        return row
    }
}
