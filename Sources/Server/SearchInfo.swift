// INFO search: the node-level search sections RediSearch 2.10 adds to INFO (modules / everything / search).
import Search

extension Server {
    func searchInfoText() -> String {
        var text = 0, numeric = 0, numericSortable = 0, tag = 0, tagSortable = 0, tagCase = 0
        var geo = 0, geoSortable = 0, vector = 0, flat = 0, hnsw = 0, memory = 0
        var dialects = [0, 0, 0, 0]
        for name in search.order {
            guard let index = search.index(named: name) else { continue }
            for f in index.definition.fields {
                switch f.kind {
                case .text: text += 1
                case .numeric: numeric += 1; if f.sortable { numericSortable += 1 }
                case .geo: geo += 1; if f.sortable { geoSortable += 1 }
                case .tag(_, let cs): tag += 1; if f.sortable { tagSortable += 1 }; if cs { tagCase += 1 }
                case .vector(let p): vector += 1; if p.algorithm == .hnsw { hnsw += 1 } else { flat += 1 }
                }
            }
            memory += index.vectorIndexBytes
            for (i, n) in index.dialectUses.enumerated() { dialects[i] += n }
        }
        func section(_ title: String, _ lines: [String]) -> String { "# \(title)\r\n" + lines.map { $0 + "\r\n" }.joined() }
        var fieldLines: [String] = []
        if text > 0 { fieldLines.append("search_fields_text:Text=\(text)") }
        if numeric > 0 { fieldLines.append("search_fields_numeric:Numeric=\(numeric)" + (numericSortable > 0 ? ",Sortable=\(numericSortable)" : "")) }
        if tag > 0 {
            fieldLines.append("search_fields_tag:Tag=\(tag)" + (tagSortable > 0 ? ",Sortable=\(tagSortable)" : "") + (tagCase > 0 ? ",CaseSensitive=\(tagCase)" : ""))
        }
        if geo > 0 { fieldLines.append("search_fields_geo:Geo=\(geo)" + (geoSortable > 0 ? ",Sortable=\(geoSortable)" : "")) }
        if vector > 0 { fieldLines.append("search_fields_vector:Vector=\(vector)" + (flat > 0 ? ",Flat=\(flat)" : "") + (hnsw > 0 ? ",HNSW=\(hnsw)" : "")) }
        let cfg = search.config
        return [
            section("search_version", ["search_version:2.10.5", "search_redis_version:\(redisCompatibleVersion) - oss",
                                       "search_vecshard_version:\(vecshardVersion)"]),
            section("search_index", ["search_number_of_indexes:\(search.order.count)"]),
            section("search_fields_statistics", fieldLines),
            section("search_memory", ["search_used_memory_indexes:\(memory)",
                                      "search_used_memory_indexes_human:\(ReplyFormat.shortest(Double(memory) / 1048576))",
                                      "search_total_indexing_time:0"]),
            section("search_cursors", ["search_global_idle:0", "search_global_total:0"]),
            section("search_gc", ["search_bytes_collected:0", "search_total_cycles:0", "search_total_ms_run:0"]),
            section("search_dialect_statistics", (1...4).map { "search_dialect_\($0):\(dialects[$0 - 1])" }),
            section("search_runtime_configurations", [
                "search_enableGC:ON", "search_minimal_term_prefix:\(cfg["MINPREFIX"] ?? "2")", "search_minimal_stem_length:4",
                "search_maximal_prefix_expansions:\(cfg["MAXPREFIXEXPANSIONS"] ?? "200")",
                "search_query_timeout_ms:\(cfg.timeoutMilliseconds)", "search_timeout_policy:\(cfg["ON_TIMEOUT"] ?? "return")",
                "search_max_search_results:\(cfg.maxSearchResults)",
            ]),
        ].joined(separator: "\r\n")
    }
}

enum ReplyFormat {
    static func shortest(_ v: Double) -> String {
        var s = "\(v)"
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}
