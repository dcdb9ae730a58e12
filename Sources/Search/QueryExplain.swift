// FT.EXPLAIN: renders a query the way RediSearch 2.10 does (QueryNode_DumpSds after parameter resolution and
// stemming expansion), byte for byte. It parses the query itself; execution never goes through here.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum QueryExplain {
    /// The FT.EXPLAIN text of `query` (lines end with `\n`; FT.EXPLAINCLI splits it into lines).
    ///
    /// - `textFields`: the index's TEXT field names (attribute names, as `@field` refers to them) in schema
    ///   order; field restrictions print through them, and a restriction to no TEXT field prints `@NULL:`.
    /// - `stopwords`: the index's stopword list (RediSearch's parser drops them before explaining).
    /// - `verbatim`: FT.EXPLAIN ... VERBATIM: no stemming expansion.
    /// - `caseSensitiveTags`: TAG fields declared CASESENSITIVE (other tag values print lowercased, unescaped).
    /// - `vectorFields`: vector field → algorithm; vector options on those fields are validated as FT.SEARCH
    ///   does (RediSearch validates them in FT.EXPLAIN once the field's index holds a vector).
    public static func explain(_ query: [UInt8], params: [String: [UInt8]] = [:], textFields: [String],
                               caseSensitiveTags: Set<String> = [], vectorFields: [String: VectorAlgorithm] = [:],
                               stopwords: Set<String> = TextAnalyzer.defaultStopwords, verbatim: Bool = false,
                               dialect: Int = 2) throws(QueryError) -> String {
        let tree = dialect == 1 ? try QueryParser.parseTreeDialect1(query, stopwords: stopwords)
                                : try QueryParser.parseTree(query, params: params, stopwords: stopwords)
        guard var root = tree.root else { return "<empty>\n" }
        try validate(root, vectorFields: vectorFields, isRoot: true)
        normalizeTags(&root, caseSensitive: caseSensitiveTags)
        if !verbatim {
            let analyzer = TextAnalyzer(stopwords: stopwords)
            expand(&root, analyzer)
        }
        var out = ""
        dump(root, depth: 0, textFields: textFields, into: &out)
        return out
    }

    /// Convenience: the query as a Swift string.
    public static func explain(_ query: String, params: [String: [UInt8]] = [:], textFields: [String],
                               caseSensitiveTags: Set<String> = [], vectorFields: [String: VectorAlgorithm] = [:],
                               stopwords: Set<String> = TextAnalyzer.defaultStopwords,
                               verbatim: Bool = false, dialect: Int = 2) throws(QueryError) -> String {
        try explain(Array(query.utf8), params: params, textFields: textFields, caseSensitiveTags: caseSensitiveTags,
                    vectorFields: vectorFields, stopwords: stopwords, verbatim: verbatim, dialect: dialect)
    }

    public enum VectorAlgorithm: Sendable { case flat, hnsw }

    /// Runs the vector option checks FT.SEARCH would (negative radius, bad EF_RUNTIME, ...).
    static func validate(_ n: ParseNode, vectorFields: [String: VectorAlgorithm], isRoot: Bool) throws(QueryError) {
        if case .vector(let info) = n.kind {
            if info.isKNN {
                if let alg = vectorFields[info.field] {
                    _ = try info.knnClause(hasFilter: !n.children.isEmpty, flat: alg == .flat)
                }
            } else if let alg = vectorFields[info.field] {
                _ = try info.rangeClause(flat: alg == .flat)
            } else if info.radius < 0 {
                _ = try info.rangeClause()
            }
        }
        for c in n.children { try validate(c, vectorFields: vectorFields, isRoot: false) }
    }

    /// Tag values are matched lowercased (unless CASESENSITIVE) and without escapes; EXPLAIN shows them so.
    static func normalizeTags(_ n: inout ParseNode, caseSensitive: Set<String>) {
        if case .tag(let field) = n.kind {
            let keepCase = caseSensitive.contains(field)
            for i in n.children.indices {
                switch n.children[i].kind {
                case .token(let t):
                    let u = ParseNode.unescapeTag(t)
                    n.children[i].kind = .token(keepCase ? u : TextAnalyzer.asciiLowercased(u))
                case .prefix(let t, let p, let s):
                    n.children[i].kind = .prefix(keepCase ? t : TextAnalyzer.asciiLowercased(t), prefix: p, suffix: s)
                default:
                    break
                }
            }
            return
        }
        for i in n.children.indices { normalizeTags(&n.children[i], caseSensitive: caseSensitive) }
    }

    /// The stemmer expander: a token becomes `UNION { token, +stem(expanded)[, stem(expanded)] }`; unions and
    /// non-exact phrases are walked, everything else (NOT, OPTIONAL, TAG, VECTOR, exact phrases) is left alone.
    static func expand(_ node: inout ParseNode, _ analyzer: TextAnalyzer) {
        if node.verbatim { return }
        switch node.kind {
        case .token(let t) where !t.isEmpty:
            var union = ParseNode(.union)
            union.fields = node.fields
            union.children.append(node)
            for term in analyzer.queryExpansions(of: t) {
                var expansion = ParseNode(.token(term))
                expansion.expanded = true
                expansion.fields = node.fields
                union.children.append(expansion)
            }
            node = union
        case .union, .phrase(exact: false):
            for i in node.children.indices { expand(&node.children[i], analyzer) }
        default:
            break
        }
    }

    static func dump(_ n: ParseNode, depth: Int, textFields: [String], into s: inout String) {
        pad(&s, depth)
        if let fields = n.fields {
            let mask = textFields.filter { fields.contains($0) }
            if mask.isEmpty {
                s += "@NULL:"
            } else if !n.isNumeric {
                s += "@" + mask.joined(separator: "|") + ":"
            }
        }
        func children(_ nodes: [ParseNode]) {
            for c in nodes { dump(c, depth: depth + 1, textFields: textFields, into: &s) }
        }
        switch n.kind {
        case .phrase(let exact):
            s += exact ? "EXACT {\n" : "INTERSECT {\n"
            children(n.children)
            pad(&s, depth)
            s += "}"
        case .token(let t):
            s += t.isEmpty ? "\"\"" : t
            if n.expanded { s += "(expanded)" }
            if n.weight != 1 { s += " => {$weight: \(cFormat("%g", n.weight));}" }
            s += "\n"
            return
        case .prefix(let t, let isPrefix, let isSuffix):
            if isPrefix && isSuffix { s += "INFIX{*\(t)*}" }
            else if isSuffix { s += "SUFFIX{*\(t)}" }
            else { s += "PREFIX{\(t)*}" }
        case .not:
            s += "NOT{\n"
            children(n.children)
            pad(&s, depth)
            s += "}"
        case .optional:
            s += "OPTIONAL{\n"
            children(n.children)
            pad(&s, depth)
            s += "}"
        case .numeric(let min, let minInclusive, let max, let maxInclusive, let field):
            s += "NUMERIC {\(cFormat("%f", min)) \(minInclusive ? "<=" : "<") @\(field) "
                + "\(maxInclusive ? "<=" : "<") \(cFormat("%f", max))}"
        case .geo(let g):
            s += "GEO \(g.field):{\(cFormat("%f", g.longitude)),\(cFormat("%f", g.latitude)) --> \(cFormat("%f", g.radius)) \(g.unit.rawValue)}"
        case .union:
            s += "UNION {\n"
            children(n.children)
            pad(&s, depth)
            s += "}"
        case .tag(let field):
            s += "TAG:@\(field) {\n"
            children(n.children)
            pad(&s, depth)
            s += "}"
        case .vector(let info):
            s += "VECTOR {"
            if !n.children.isEmpty {
                s += "\n"
                children(n.children)
                pad(&s, depth)
                s += "} => {"
            }
            if info.isKNN {
                s += "K=\(info.k) nearest vectors to `$\(info.blobParam)` "
            } else {
                s += "Vectors that are within \(cFormat("%g", info.radius)) distance radius from `$\(info.blobParam)` "
            }
            s += "in vector index associated with field @\(info.field)"
            for (name, value) in info.attributes { s += ", \(name) = \(value)" }
            if let yield = info.yieldAs ?? (info.isKNN ? "__\(info.field)_score" : nil) {
                s += ", yields distance as `\(yield)`"
            }
            s += "}"
        case .wildcard:
            s += "<WILDCARD>"
        case .fuzzy(let t, _):
            s += "FUZZY{\(t)}"
        case .wildcardPattern(let t):
            s += "WILDCARD{\(t)}"
        case .missing(let f):
            s += "ISMISSING{\(f)}"
        case .null:
            s += "<empty>"
        }
        if n.weight != 1 || n.slop != -1 || n.inOrder {
            s += " => {"
            if n.weight != 1 { s += " $weight: \(cFormat("%g", n.weight));" }
            if n.slop != -1 { s += " $slop: \(n.slop);" }
            if n.inOrder || n.slop != -1 { s += " $inorder: \(n.inOrder ? "true" : "false");" }
            s += " }"
        }
        s += "\n"
    }

    @inline(__always)
    static func pad(_ s: inout String, _ depth: Int) {
        if depth > 0 { s += String(repeating: "  ", count: depth) }
    }

    /// printf-style formatting of one double (`%f`, `%g`), as RediSearch's sds printf does.
    static func cFormat(_ format: String, _ value: Double) -> String {
        var buf = [CChar](repeating: 0, count: 512)
        let n = withVaList([value]) { va in
            buf.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, 512, format, va) }
        }
        let len = Int(min(max(n, 0), 511))
        return String(decoding: buf[0..<len].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ParseNode {
    var isNumeric: Bool { if case .numeric = kind { return true }; return false }
}
