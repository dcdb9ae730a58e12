// FT.INFO reply in RediSearch 2.10's shape: a flat key/value list in RESP2, a map (with doubles) in RESP3; plus our
// `tiering` key last, for indexes with SSD-backed vector fields.
import RESP
import Tiering
import VectorIndex

public enum SearchInfoWriter {
    public static func write(_ index: SearchIndex, into r: inout ReplyWriter) {
        let def = index.definition
        let resp3 = r.isRESP3
        func mb(_ bytes: Int) -> Double { Double(bytes) / (1024 * 1024) }
        /// RESP2 prints floats as bulk strings (RediSearch uses %g-like shortest digits), RESP3 as doubles.
        func float(_ v: Double) {
            if resp3 { r.double(v) } else { r.bulk(formatInfoDouble(v)) }
        }
        func key(_ k: String) { r.bulk(k) }
        let vectorBytes = index.vectorIndexBytes
        let (numDocs, maxDocId, failures, lastFailure, uses, dialects, fieldFailures, fieldLast, indexing, percent) = index.lock.withReadLock {
            (index.numDocs, index.maxDocId, index.failures, index.lastFailure, index.numberOfUses, index.dialectUses,
             index.fieldFailures, index.fieldLastFailure, index.isIndexing, index.percentIndexed)
        }
        let pending = index.pendingVectors
        let numTerms = index.numTerms
        let numRecords = index.numRecords
        let tiering = index.tieringReports
        // Our key goes after RediSearch's, and only when there is something to say, so parsers keyed on
        // RediSearch's fields (and replies of all-RAM indexes) are unchanged.
        r.map(tiering.isEmpty ? 34 : 35)
        key("index_name"); r.bulk(def.name)
        // RediSearch lists the options that turn its defaults off, in this order; NOOFFSETS implies NOHL.
        let options = [(def.noFreqs, "NOFREQS"), (def.noFields, "NOFIELDS"), (def.noOffsets, "NOOFFSETS"),
                       (def.noHighlight || def.noOffsets, "NOHL"), (def.maxTextFields, "MAXTEXTFIELDS")].filter(\.0)
        key("index_options"); r.array(options.count); for o in options { r.bulk(o.1) }
        key("index_definition")
        r.map(3)
        key("key_type"); r.bulk("HASH")
        // No PREFIX is RediSearch's single empty prefix.
        let prefixes = def.prefixes.isEmpty ? [[]] : def.prefixes.map(\.storage)
        key("prefixes"); r.array(prefixes.count); for p in prefixes { r.bulk(p) }
        key("default_score"); float(def.defaultScore)
        key("attributes")
        r.array(def.fields.count)
        for f in def.fields { writeAttribute(f, into: &r) }
        key("num_docs"); r.integer(numDocs)
        key("max_doc_id"); r.integer(maxDocId)
        key("num_terms"); r.integer(numTerms)
        key("num_records"); r.integer(numRecords)
        key("inverted_sz_mb"); float(mb(numRecords * 8))
        key("vector_index_sz_mb"); float(mb(vectorBytes))
        key("total_inverted_index_blocks"); r.integer(numTerms)
        key("offset_vectors_sz_mb"); float(0)
        key("doc_table_size_mb"); float(mb(maxDocId * 48))
        key("sortable_values_size_mb"); float(0)
        key("key_table_size_mb"); float(mb(numDocs * 32))
        key("tag_overhead_sz_mb"); float(0)
        key("text_overhead_sz_mb"); float(0)
        key("total_index_memory_sz_mb"); float(mb(vectorBytes + numRecords * 8 + maxDocId * 80))
        key("geoshapes_sz_mb"); float(0)
        key("records_per_doc_avg"); float(numDocs > 0 ? Double(numRecords) / Double(numDocs) : .nan)
        key("bytes_per_record_avg"); float(numRecords > 0 ? 8 : .nan)
        key("offsets_per_term_avg"); float(numRecords > 0 ? 0 : .nan)
        key("offset_bits_per_record_avg"); float(numRecords > 0 ? 8 : .nan)
        key("hash_indexing_failures"); r.integer(failures)
        key("total_indexing_time"); float(Double(index.totalIndexingMicros) / 1000)
        key("indexing"); r.integer(indexing || pending > 0 ? 1 : 0)
        key("percent_indexed"); float(pending > 0 && numDocs > 0 ? min(percent, Double(numDocs - min(pending, numDocs)) / Double(numDocs)) : percent)
        key("number_of_uses"); r.integer(uses)
        key("cleaning"); r.integer(0)
        key("gc_stats")
        r.map(7)
        for name in ["bytes_collected", "total_ms_run", "total_cycles", "average_cycle_time_ms", "last_run_time_ms",
                     "gc_numeric_trees_missed", "gc_blocks_denied"] {
            key(name); float(name == "average_cycle_time_ms" ? .nan : 0)
        }
        key("cursor_stats")
        r.map(4)
        key("global_idle"); r.integer(0)
        key("global_total"); r.integer(0)
        key("index_capacity"); r.integer(128)
        key("index_total"); r.integer(0)
        key("dialect_stats")
        r.map(4)
        for d in 0..<4 { key("dialect_\(d + 1)"); r.integer(dialects[d]) }
        key("Index Errors")
        writeErrors(failures, lastFailure, into: &r)
        key("field statistics")
        r.array(def.fields.count)
        for (i, f) in def.fields.enumerated() {
            r.map(3)
            key("identifier"); r.bulk(f.identifier)
            key("attribute"); r.bulk(f.attribute)
            key("Index Errors")
            writeErrors(fieldFailures[i], fieldLast[i], into: &r)
        }
        if !tiering.isEmpty {
            key("tiering")
            writeTiering(tiering.map(\.report), into: &r)
        }
    }

    /// The index's tiered vector fields together (an index rarely has more than one vector field).
    static func writeTiering(_ reports: [TieringIndexReport], into r: inout ReplyWriter) {
        var t = TieringIndexReport()
        for x in reports {
            t.ramBytes += x.ramBytes; t.ssdBytes += x.ssdBytes; t.segments += x.segments
            t.ramVectors += x.ramVectors; t.ssdVectors += x.ssdVectors; t.poolBytes += x.poolBytes
            t.poolHits += x.poolHits; t.poolMisses += x.poolMisses; t.promotions += x.promotions
            t.evictions += x.evictions; t.compactionDebtBytes += x.compactionDebtBytes; t.busy = t.busy || x.busy
        }
        let integers: [(String, Int)] = [("ram_bytes", t.ramBytes), ("ssd_bytes", t.ssdBytes), ("segments", t.segments),
                                         ("ram_vectors", t.ramVectors), ("ssd_vectors", t.ssdVectors), ("pool_bytes", t.poolBytes)]
        r.map(11)
        for (k, v) in integers { r.bulk(k); r.integer(v) }
        r.bulk("pool_hit_ratio")
        if r.isRESP3 { r.double(t.poolHitRatio) } else { r.bulk(formatInfoDouble(t.poolHitRatio)) }
        r.bulk("promotions"); r.integer(t.promotions)
        r.bulk("evictions"); r.integer(t.evictions)
        r.bulk("compaction_debt_bytes"); r.integer(t.compactionDebtBytes)
        r.bulk("busy"); r.integer(t.busy ? 1 : 0)
    }

    static func writeErrors(_ count: Int, _ last: IndexingFailure?, into r: inout ReplyWriter) {
        r.map(3)
        r.bulk("indexing failures"); r.integer(count)
        r.bulk("last indexing error"); r.bulk(last?.message ?? "N/A")
        r.bulk("last indexing error key"); r.bulk(last.map { $0.key.string } ?? "N/A")
    }

    /// One `attributes` entry: flat list in RESP2, a map with `flags` in RESP3 (as RediSearch 2.10).
    static func writeAttribute(_ f: FieldSpec, into r: inout ReplyWriter) {
        var pairs: [(String, AttributeValue)] = [("identifier", .text(f.identifier)), ("attribute", .text(f.attribute)),
                                                ("type", .text(f.kind.typeName))]
        var flags: [String] = []
        switch f.kind {
        case .text(let weight, _):
            pairs.append(("WEIGHT", .number(weight)))  // NOSTEM comes after SORTABLE / UNF, as in RediSearch
        case .tag(let sep, let cs):
            pairs.append(("SEPARATOR", .text(String(UnicodeScalar(sep)))))
            if cs { flags.append("CASESENSITIVE") }
        case .numeric, .geo:
            break
        case .vector(let p):
            pairs.append(("algorithm", .text(p.algorithm == .hnsw ? "HNSW" : "FLAT")))
            pairs.append(("data_type", .text(typeName(p.elementType))))
            pairs.append(("dim", .integer(p.dimension)))
            pairs.append(("distance_metric", .text(p.metric == .l2 ? "L2" : p.metric == .ip ? "IP" : "COSINE")))
            if p.algorithm == .hnsw {
                pairs.append(("M", .integer(p.m)))
                pairs.append(("ef_construction", .integer(p.efConstruction)))
            }
        }
        if f.sortable { flags.append("SORTABLE") }
        if f.unf { flags.append("UNF") }
        if case .text(_, true) = f.kind { flags.append("NOSTEM") }
        if f.noIndex { flags.append("NOINDEX") }
        if r.isRESP3 {
            r.map(pairs.count + 1)
            for (k, v) in pairs { r.bulk(k); v.write(&r) }
            r.bulk("flags"); r.array(flags.count); for fl in flags { r.bulk(fl) }
        } else {
            r.array(pairs.count * 2 + flags.count)
            for (k, v) in pairs { r.bulk(k); v.write(&r) }
            for fl in flags { r.bulk(fl) }
        }
    }

    static func typeName(_ t: VectorElementType) -> String {
        switch t {
        case .float32: return "FLOAT32"
        case .float64: return "FLOAT64"
        case .float16: return "FLOAT16"
        case .bfloat16: return "BFLOAT16"
        }
    }

    enum AttributeValue {
        case text(String), integer(Int), number(Double)
        func write(_ r: inout ReplyWriter) {
            switch self {
            case .text(let s): r.bulk(s)
            case .integer(let i): r.integer(i)
            case .number(let d): if r.isRESP3 { r.double(d) } else { r.bulk(ReplyWriter.formatDouble(d)) }
            }
        }
    }

    /// RediSearch prints FT.INFO floats like "%.17g" trimmed to the shortest round-trip form, e.g. 4.6253204345703125e-4.
    static func formatInfoDouble(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v == 0 { return "0" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int(v)) }
        var s = "\(v)"
        if let e = s.firstIndex(of: "e") {
            // Swift writes 4.625e-04 as "0.00046..." or "4.6e-05"; RediSearch writes exponents without leading zeros.
            let mantissa = s[..<e]
            var exponent = s[s.index(after: e)...]
            var sign = ""
            if exponent.first == "-" || exponent.first == "+" { if exponent.first == "-" { sign = "-" }; exponent = exponent.dropFirst() }
            while exponent.first == "0" && exponent.count > 1 { exponent = exponent.dropFirst() }
            s = "\(mantissa)e\(sign)\(exponent)"
        } else if abs(v) < 1e-3 {
            // RediSearch switches to exponent notation below 1e-3 (%g rule: exponent < -4 would be 1e-4; observed 4.6e-4).
            var exponent = 0
            var m = abs(v)
            while m < 1 { m *= 10; exponent -= 1 }
            let mantissa = "\(v < 0 ? -m : m)"
            s = "\(mantissa)e\(exponent)"
        }
        return s
    }
}
