// RediSearch DIALECT 2 query parser: a lexer that follows RediSearch 2.10's Ragel scanner token for token,
// and a shift-reduce expression parser that reproduces its Lemon grammar's precedences (including quirks
// such as `-a 2020` meaning `-(a 2020)`). It builds an internal tree (`ParseNode`, the shape FT.EXPLAIN
// prints) and lowers it to the public `QueryNode` / `ParsedQuery`. Evaluation lives in the executor.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum QueryParser {
    /// Parses an FT.SEARCH query string.
    ///
    /// - `params`: the PARAMS name → value pairs (text for terms and numbers, raw bytes for vector blobs).
    /// - `dialect`: 2, 3 and 4 parse alike; 1 is parsed with the DIALECT 2 grammar too.
    /// - `stopwords`: nil keeps every term (the executor drops stopwords); a set makes the parser drop them the
    ///   way RediSearch's parser does (`a b` → `b`, an all-stopword query → `.union([])`, matching nothing).
    public static func parse(_ query: [UInt8], params: [String: [UInt8]], dialect: Int = 2,
                             stopwords: Set<String>? = nil) throws(QueryError) -> ParsedQuery {
        let tree = dialect == 1 ? try parseTreeDialect1(query, stopwords: stopwords)
                                : try parseTree(query, params: params, stopwords: stopwords)
        return try tree.lower()
    }

    /// DIALECT 1 (RediSearch's default): its own grammar (no parameters or vector queries, `|` binds tighter
    /// than juxtaposition, `-`/`~`/`@f:` reach further right). Stopwords are dropped (RediSearch's lexer does).
    static func parseTreeDialect1(_ query: [UInt8], stopwords: Set<String>?) throws(QueryError) -> ParseTree {
        let sw = stopwords ?? TextAnalyzer.defaultStopwords
        let tokens = QueryLexer(query).tokenizeDialect1(stopwords: sw)
        try checkNesting(tokens)
        var p = DialectOneParser(tokens: tokens)
        return try p.parseQuery()
    }

    /// Convenience for tests and tools: the query as a Swift string.
    public static func parse(_ query: String, params: [String: [UInt8]] = [:], dialect: Int = 2,
                             stopwords: Set<String>? = nil) throws(QueryError) -> ParsedQuery {
        try parse(Array(query.utf8), params: params, dialect: dialect, stopwords: stopwords)
    }

    /// The deepest nesting a query may have: parentheses, or `-` / `~` applied to one another. The parsers and every
    /// walk over the tree recurse once per level, so a 2 KiB query of 1,000 parentheses used to overflow the stack
    /// and kill the node. RediSearch's DIALECT 2 parser accepts 200 nested parentheses and refuses 1,000 with this
    /// error (its DIALECT 1 parser gives a syntax error from 100).
    static let maximumNesting = 256

    static func checkNesting(_ tokens: [QueryToken]) throws(QueryError) {
        var depth = 0, deepest = 0, prefixRun = 0, longestRun = 0
        for t in tokens {
            switch t.kind {
            case .lp: depth += 1; deepest = max(deepest, depth)
            case .rp: depth -= 1
            default: break
            }
            if t.kind == .minus || t.kind == .tilde { prefixRun += 1; longestRun = max(longestRun, prefixRun) } else { prefixRun = 0 }
        }
        guard deepest + longestRun <= maximumNesting else {
            throw QueryError("Parser stack overflow. Try moving nested parentheses more to the left")
        }
    }

    /// The internal tree (what FT.EXPLAIN renders), with parameters resolved.
    static func parseTree(_ query: [UInt8], params: [String: [UInt8]],
                          stopwords: Set<String>?) throws(QueryError) -> ParseTree {
        try parseTreeTracked(query, params: params, stopwords: stopwords).tree
    }

    /// `parseTree`, and the names of the parameters it looked up (in order, repeats kept).
    static func parseTreeTracked(_ query: [UInt8], params: [String: [UInt8]],
                                 stopwords: Set<String>?) throws(QueryError) -> (tree: ParseTree, resolved: [String]) {
        let tokens = QueryLexer(query).tokenize()
        try checkNesting(tokens)
        var p = ShiftReduceParser(tokens: tokens, params: params, stopwords: stopwords)
        let tree = try p.parseQuery()
        if let e = p.deferredError { throw e }
        try tree.checkDistanceNames()
        return (tree, p.resolvedParams)
    }

    /// A DIALECT 2+ parse (`parse`) with what the result depends on besides the text: the parameters looked up, and
    /// the one that gave the KNN vector (nil without KNN).
    static func parseTracked(_ query: [UInt8], params: [String: [UInt8]], stopwords: Set<String>?)
        throws(QueryError) -> (parsed: ParsedQuery, resolved: [String], knnBlobParam: String?) {
        let (tree, resolved) = try parseTreeTracked(query, params: params, stopwords: stopwords)
        var blobParam: String?
        if let root = tree.root, case .vector(let info) = root.kind, info.isKNN { blobParam = info.blobParam }
        return (try tree.lower(), resolved, blobParam)
    }
}

// MARK: - Errors

extension QueryError {
    static func syntax(_ tok: QueryToken) -> QueryError {
        QueryError("Syntax error at offset \(tok.pos) near \(tok.near)")
    }
    static func noSuchParameter(_ name: String) -> QueryError { QueryError("No such parameter `\(name)`") }
    static func vectorParams(_ detail: String) -> QueryError {
        QueryError("Error parsing vector similarity parameters: \(detail)")
    }
    static func unsupported(_ what: String) -> QueryError {
        QueryError("Syntax error: \(what) are not supported")
    }
}

// MARK: - Lexer

enum TokenKind: Equatable {
    case size, number, modifier, attribute, term, exact, prefix, suffix, contains, verbatim, wildcardPattern
    case arrow, asKeyword, isMissing, quote, or, lp, rp, lb, rb, colon, semicolon, minus, tilde, star, percent
    case lsqb, rsqb
    case equals, notEqual, gt, ge, lt, le
    /// DIALECT 1 only: a stopword (its lexer classifies them).
    case stopword
    case eof

    /// The Lemon precedence level of the token (`%left` order in RediSearch's parser.y; higher binds tighter).
    var precedence: Int {
        switch self {
        case .eof: return 0
        case .or: return 4
        case .isMissing: return 5
        case .modifier: return 6
        case .rp, .rb, .rsqb: return 7
        case .exact: return 8
        case .term, .asKeyword: return 9
        case .quote: return 10
        case .lp, .lb, .lsqb: return 11
        case .tilde, .minus: return 12
        case .arrow: return 14
        case .colon: return 15
        case .notEqual, .equals: return 16
        case .ge, .gt, .le, .lt: return 17
        case .number: return 18
        case .size: return 19
        case .star: return 20
        case .prefix, .suffix, .contains: return 23
        case .percent: return 24
        case .attribute: return 25
        case .verbatim, .wildcardPattern: return 26
        case .semicolon, .stopword: return 0
        }
    }

    /// Precedence levels of RediSearch's DIALECT 1 grammar (v1/parser.y), 0 for tokens without one.
    var dialect1Precedence: Int {
        switch self {
        case .tilde: return 2
        case .quote: return 4
        case .colon: return 5
        case .minus: return 6
        case .number: return 7
        case .stopword: return 8
        case .term: return 10
        case .prefix, .suffix, .contains: return 11
        case .percent: return 12
        case .attribute: return 13
        case .lp: return 14
        case .rp: return 15
        case .modifier: return 16
        case .or: return 18
        case .arrow: return 20
        default: return 0
        }
    }
}

struct QueryToken {
    var kind: TokenKind
    /// Byte offset RediSearch reports for this token.
    var pos: Int
    /// The token's text (a term without escapes removed, a modifier/attribute without `@`/`$`, ...).
    var text: ArraySlice<UInt8> = []
    /// The text RediSearch prints after `near` when this token is the offending one: the payload of the most
    /// recent token that carried text (punctuation tokens do not replace it).
    var nearBytes: ArraySlice<UInt8> = []
    var near: String { String(decoding: nearBytes, as: UTF8.self) }
    var numval: Double = 0
    /// `$name` forms of prefix/suffix/contains/wildcard tokens.
    var isParam = false
    /// -1 for a `-$param` bound produced by the `@f>-$p` operators.
    var sign = 1
}

struct QueryLexer {
    let s: [UInt8]
    init(_ s: [UInt8]) { self.s = s }

    @inline(__always) static func isPunct(_ b: UInt8) -> Bool {
        (b >= 0x21 && b <= 0x2F) || (b >= 0x3A && b <= 0x40) || (b >= 0x5B && b <= 0x60) || (b >= 0x7B && b <= 0x7E)
    }
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
    @inline(__always) static func isCntrl(_ b: UInt8) -> Bool { b < 0x20 || b == 0x7F }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// Length of the `term` pattern at `i` (0 if none): plain bytes, escaped punctuation/space, `_`.
    func termLength(_ i: Int) -> Int {
        var j = i
        while j < s.count {
            let b = s[j]
            if b == UInt8(ascii: "\\") {
                if j + 1 < s.count, QueryLexer.isPunct(s[j + 1]) || QueryLexer.isSpace(s[j + 1]) { j += 2; continue }
                break
            }
            if b == UInt8(ascii: "_") || !(QueryLexer.isPunct(b) || QueryLexer.isCntrl(b) || QueryLexer.isSpace(b)) {
                j += 1
                continue
            }
            break
        }
        return j - i
    }

    func sizeLength(_ i: Int) -> Int {
        var j = i
        while j < s.count && QueryLexer.isDigit(s[j]) { j += 1 }
        return j - i
    }

    func numberLength(_ i: Int) -> Int {
        var j = i
        if j < s.count && (s[j] == UInt8(ascii: "+") || s[j] == UInt8(ascii: "-")) { j += 1 }
        let d = sizeLength(j)
        if d == 0 { return 0 }
        j += d
        if j + 1 < s.count && s[j] == UInt8(ascii: ".") && QueryLexer.isDigit(s[j + 1]) { j += 1 + sizeLength(j + 1) }
        if j < s.count && (s[j] == UInt8(ascii: "e") || s[j] == UInt8(ascii: "E")) {
            var k = j + 1
            if k < s.count && (s[k] == UInt8(ascii: "+") || s[k] == UInt8(ascii: "-")) { k += 1 }
            let e = sizeLength(k)
            if e > 0 { j = k + e }
        }
        return j - i
    }

    func infLength(_ i: Int) -> Int {
        var j = i
        if j < s.count && (s[j] == UInt8(ascii: "+") || s[j] == UInt8(ascii: "-")) { j += 1 }
        guard j + 3 <= s.count, s[j] | 0x20 == UInt8(ascii: "i"), s[j + 1] | 0x20 == UInt8(ascii: "n"),
              s[j + 2] | 0x20 == UInt8(ascii: "f") else { return 0 }
        return j + 3 - i
    }

    static let keywordAs: [UInt8] = Array("as".utf8)
    static let keywordIsMissing: [UInt8] = Array("ismissing".utf8)

    /// Case-insensitive match of a lowercase keyword at `i`.
    func keywordLength(_ i: Int, _ k: [UInt8]) -> Int {
        guard i + k.count <= s.count else { return 0 }
        for n in 0..<k.count where (s[i + n] | 0x20) != k[n] { return 0 }
        return k.count
    }

    /// `"..."`: the furthest closing quote such that every quote in between is backslash-escaped.
    func exactLength(_ i: Int) -> Int {
        guard i < s.count && s[i] == UInt8(ascii: "\"") else { return 0 }
        var best = 0
        var j = i + 1
        while j < s.count {
            if s[j] == UInt8(ascii: "\"") {
                if j > i + 1 { best = j + 1 - i }
                if s[j - 1] != UInt8(ascii: "\\") || j == i + 1 { break }
            }
            j += 1
        }
        return best
    }

    /// `'...'` with backslash escapes.
    func verbatimLength(_ i: Int) -> Int {
        guard i < s.count && s[i] == UInt8(ascii: "'") else { return 0 }
        var j = i + 1
        while j < s.count {
            if s[j] == UInt8(ascii: "\\") { j += 2; continue }
            if s[j] == UInt8(ascii: "'") { return j > i + 1 ? j + 1 - i : 0 }
            j += 1
        }
        return 0
    }

    /// term | number | attr, for the affix patterns.
    func affixBodyLength(_ i: Int) -> Int {
        var best = max(termLength(i), numberLength(i))
        if i < s.count && s[i] == UInt8(ascii: "$") {
            let t = termLength(i + 1)
            if t > 0 { best = max(best, t + 1) }
        }
        return best
    }

    enum NumOp { case ne, eq, gt, ge, lt, le }

    /// `@field <op> value`: returns (total length, op, field length, op offset, value offset).
    func numericOp(_ i: Int) -> (len: Int, op: NumOp, valueStart: Int, opStart: Int, fieldLen: Int)? {
        guard s[i] == UInt8(ascii: "@") else { return nil }
        let f = termLength(i + 1)
        guard f > 0 else { return nil }
        var j = i + 1 + f
        while j < s.count && QueryLexer.isSpace(s[j]) { j += 1 }
        guard j < s.count else { return nil }
        let opStart = j
        var op: NumOp
        if s[j] == UInt8(ascii: "!") && j + 1 < s.count && s[j + 1] == UInt8(ascii: "=") { op = .ne; j += 2 }
        else if s[j] == UInt8(ascii: "=") && j + 1 < s.count && s[j + 1] == UInt8(ascii: "=") { op = .eq; j += 2 }
        else if s[j] == UInt8(ascii: ">") {
            if j + 1 < s.count && s[j + 1] == UInt8(ascii: "=") { op = .ge; j += 2 } else { op = .gt; j += 1 }
        } else if s[j] == UInt8(ascii: "<") {
            if j + 1 < s.count && s[j + 1] == UInt8(ascii: "=") { op = .le; j += 2 } else { op = .lt; j += 1 }
        } else { return nil }
        while j < s.count && QueryLexer.isSpace(s[j]) { j += 1 }
        let valueStart = j
        var v = max(numberLength(j), infLength(j), sizeLength(j))
        var k = j
        if k < s.count && (s[k] == UInt8(ascii: "+") || s[k] == UInt8(ascii: "-")) { k += 1 }
        if k < s.count && s[k] == UInt8(ascii: "$") {
            let t = termLength(k + 1)
            if t > 0 { v = max(v, k + 1 + t - j) }
        }
        guard v > 0 else { return nil }
        return (valueStart + v - i, op, valueStart, opStart, f)
    }

    func tokenize() -> [QueryToken] {
        var out: [QueryToken] = []
        out.reserveCapacity(16)
        var near: ArraySlice<UInt8> = []
        var i = 0
        func text(_ a: Int, _ b: Int) -> ArraySlice<UInt8> { s[a..<b] }
        func push(_ kind: TokenKind, _ pos: Int, _ t: ArraySlice<UInt8>? = nil, num: Double = 0, param: Bool = false, sign: Int = 1) {
            if let t { near = t }
            out.append(QueryToken(kind: kind, pos: pos, text: t ?? [], nearBytes: near, numval: num, isParam: param, sign: sign))
        }
        while i < s.count {
            let b = s[i]
            // Candidate lengths, in the scanner's rule order (ties go to the earlier rule).
            var bestLen = 0
            var rule = -1
            func consider(_ len: Int, _ r: Int) { if len > bestLen { bestLen = len; rule = r } }
            consider(sizeLength(i), 0)
            consider(numberLength(i), 1)
            if b == UInt8(ascii: "@") { let t = termLength(i + 1); if t > 0 { consider(t + 1, 2) } }
            if b == UInt8(ascii: "$") { let t = termLength(i + 1); if t > 0 { consider(t + 1, 3) } }
            var numOp: (len: Int, op: NumOp, valueStart: Int, opStart: Int, fieldLen: Int)? = nil
            if b == UInt8(ascii: "@"), let n = numericOp(i) { numOp = n; consider(n.len, 4) }
            if b == UInt8(ascii: "="), i + 1 < s.count, s[i + 1] == UInt8(ascii: ">") { consider(2, 5) }
            consider(keywordLength(i, QueryLexer.keywordAs), 6)
            consider(infLength(i), 7)
            if i + 1 < s.count && ((b == UInt8(ascii: "\"") && s[i + 1] == b) || (b == UInt8(ascii: "'") && s[i + 1] == b)) {
                consider(2, 8)
            }
            if QueryLexer.isPunct(b) || QueryLexer.isSpace(b) || QueryLexer.isCntrl(b) { consider(1, 9) }
            consider(keywordLength(i, QueryLexer.keywordIsMissing), 10)
            consider(termLength(i), 11)
            let ex = exactLength(i)
            consider(ex, 12)
            let body = affixBodyLength(i)
            if body > 0 && i + body < s.count && s[i + body] == UInt8(ascii: "*") { consider(body + 1, 13) }
            if ex > 0 && i + ex < s.count && s[i + ex] == UInt8(ascii: "*") { consider(ex + 1, 14) }
            if b == UInt8(ascii: "*") {
                let sb = affixBodyLength(i + 1)
                if sb > 0 {
                    consider(sb + 1, 15)
                    if i + 1 + sb < s.count && s[i + 1 + sb] == UInt8(ascii: "*") { consider(sb + 2, 17) }
                }
                let se = exactLength(i + 1)
                if se > 0 {
                    consider(se + 1, 16)
                    if i + 1 + se < s.count && s[i + 1 + se] == UInt8(ascii: "*") { consider(se + 2, 18) }
                }
            }
            consider(verbatimLength(i), 19)
            if b == UInt8(ascii: "w") { let v = verbatimLength(i + 1); if v > 0 { consider(v + 1, 20) } }

            let end = i + bestLen
            switch rule {
            case 0:
                push(.size, i, text(i, end), num: QueryLexer.strtod(text(i, end)))
            case 1:
                push(.number, i, text(i, end), num: QueryLexer.strtod(text(i, end)))
            case 2:
                push(.modifier, i, text(i + 1, end))
                if s[(i + 1)..<end].contains(UInt8(ascii: "\\")) {
                    // RediSearch unescapes the field name in place in the query buffer, so later `near` texts
                    // show the shifted bytes (`@\-6` reads `-66`).
                    let raw = s[(i + 1)..<end]
                    var shifted = Array(ShiftReduceParser.unescapeBytes(raw))
                    shifted.append(contentsOf: raw.suffix(raw.count - shifted.count))
                    near = ArraySlice(shifted)
                    out[out.count - 1].nearBytes = near
                }
            case 3:
                push(.attribute, i, text(i + 1, end))
            case 4:
                let n = numOp!
                // RediSearch lexes these through a helper that gets the token by value: the `near` text of
                // later tokens still comes from before the comparison.
                let savedNear = near
                defer { near = savedNear }
                push(.modifier, i, text(i + 1, i + 1 + n.fieldLen))
                let kind: TokenKind
                switch n.op {
                case .ne: kind = .notEqual
                case .eq: kind = .equals
                case .gt: kind = .gt
                case .ge: kind = .ge
                case .lt: kind = .lt
                case .le: kind = .le
                }
                push(kind, i, text(n.opStart, n.opStart + (n.op == .gt || n.op == .lt ? 1 : 2)))
                var v = n.valueStart
                var sign = 1
                if (s[v] == UInt8(ascii: "+") || s[v] == UInt8(ascii: "-")) && v + 1 < end && s[v + 1] == UInt8(ascii: "$") {
                    sign = s[v] == UInt8(ascii: "-") ? -1 : 1
                    v += 1
                }
                if s[v] == UInt8(ascii: "$") {
                    // RediSearch's length arithmetic takes one byte past the match into the parameter name
                    // (`@n>=$lo|x` looks up `lo|`), then trims trailing whitespace.
                    var e = min(end + 1, s.count)
                    while e > v + 1 && QueryLexer.isSpace(s[e - 1]) { e -= 1 }
                    push(.attribute, i, text(v + 1, e), sign: sign)
                } else {
                    let t = text(v, end)
                    push(.number, i, text(v, min(end + 1, s.count)),
                         num: infLength(v) == end - v ? (s[v] == UInt8(ascii: "-") ? -.infinity : .infinity)
                                                      : QueryLexer.strtod(t))
                }
            case 5:
                // RediSearch's arrow token points one byte in and spans two bytes (`>` and what follows).
                push(.arrow, i, text(i + 1, min(i + 3, s.count)))
            case 6:
                push(.asKeyword, i, text(i, end))
            case 7:
                push(.number, i, text(i, end), num: b == UInt8(ascii: "-") ? -.infinity : .infinity)
            case 8:
                push(.term, i, [])
            case 9:
                switch b {
                case UInt8(ascii: "\""): push(.quote, i)
                case UInt8(ascii: "|"): push(.or, i)
                case UInt8(ascii: "("): push(.lp, i)
                case UInt8(ascii: ")"): push(.rp, i)
                case UInt8(ascii: "{"): push(.lb, i)
                case UInt8(ascii: "}"): push(.rb, i)
                case UInt8(ascii: ":"): push(.colon, i)
                case UInt8(ascii: ";"): push(.semicolon, i)
                case UInt8(ascii: "-"): push(.minus, i)
                case UInt8(ascii: "~"): push(.tilde, i)
                case UInt8(ascii: "*"): push(.star, i)
                case UInt8(ascii: "%"): push(.percent, i)
                case UInt8(ascii: "["): push(.lsqb, i)
                case UInt8(ascii: "]"): push(.rsqb, i)
                default: break  // other punctuation, spaces and control bytes are skipped
                }
            case 10:
                push(.isMissing, i, text(i, end))
            case 11:
                push(.term, i, text(i, end))
            case 12:
                push(.exact, i, text(i + 1, end - 1))
            case 13:
                let param = b == UInt8(ascii: "$")
                push(.prefix, i, text(param ? i + 1 : i, end - 1), param: param)
            case 14:
                push(.prefix, i, text(i + 1, end - 2))
            case 15:
                let param = s[i + 1] == UInt8(ascii: "$")
                push(.suffix, i, text(param ? i + 2 : i + 1, end), param: param)
            case 16:
                push(.suffix, i, text(i + 2, end - 1))
            case 17:
                let param = s[i + 1] == UInt8(ascii: "$")
                push(.contains, i, text(param ? i + 2 : i + 1, end - 1), param: param)
            case 18:
                push(.contains, i, text(i + 2, end - 2))
            case 19:
                // RediSearch's action tests for a `$` two bytes in (copied from the w'...' rule) and shifts by it.
                if i + 2 < end - 1 && s[i + 2] == UInt8(ascii: "$") {
                    push(.verbatim, i, text(i + 2, end - 1))
                } else {
                    push(.verbatim, i, text(i + 1, end - 1))
                }
            case 20:
                let param = s[i + 2] == UInt8(ascii: "$")
                push(.wildcardPattern, i + 2, text(param ? i + 3 : i + 2, end - 1), param: param)
            default:
                break
            }
            i = bestLen > 0 ? end : i + 1
        }
        let lastPos = out.last?.pos ?? 0
        out.append(QueryToken(kind: .eof, pos: lastPos, nearBytes: near))
        return out
    }

    /// C `strtod` over the bytes (accepts what RediSearch accepts: decimals, exponents, inf, hex).
    static func strtod(_ t: ArraySlice<UInt8>) -> Double {
        var z = Array(t)
        z.append(0)
        return z.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: z.count) { Glibc.strtod($0, nil) }
        }
    }
}

// MARK: - Numeric helpers (RediSearch's ParseDouble / ParseInteger / parseDoubleRange)

public enum NumberParsing {
    /// The whole string as a double (strtod, no trailing bytes, no overflow), negated when `sign` is -1.
    static func parseDouble(_ v: some Collection<UInt8>, sign: Int = 1) -> Double? {
        guard let (d, error) = wholeStrtod(v), !(error == ERANGE && d.isInfinite), !(error != 0 && d == 0) else { return nil }
        return sign == -1 ? -d : d
    }

    /// RediSearch's `AC_GetInt` with AC_F_COALESCE (SLOP): a Redis integer, else a double cut to an integer the way
    /// C casts (1.5 is 1, 0x10 is 16); "Could not convert argument to expected type" or "Value is outside acceptable
    /// bounds" past a 32-bit int, as RediSearch words them.
    public static func coalescedInt32(_ v: [UInt8]) -> Result<Int, QueryError> {
        var n: Int64
        if let i = parseInteger(v) {
            n = Int64(i)
        } else if let (d, _) = wholeStrtod(v), !d.isInfinite {
            n = cTruncated64(d)
        } else {
            return .failure(QueryError("Could not convert argument to expected type"))
        }
        guard n >= Int64(Int32.min), n <= Int64(Int32.max) else { return .failure(QueryError("Value is outside acceptable bounds")) }
        return .success(Int(n))
    }

    /// C `strtod` over all of `v` and the errno it set, or nil when bytes are left over (an empty text is 0).
    public static func wholeStrtod(_ v: some Collection<UInt8>) -> (Double, errno: Int32)? {
        var z = Array(v)
        z.append(0)
        var result: (Double, errno: Int32)?
        z.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: z.count) { c in
                var end: UnsafeMutablePointer<CChar>? = nil
                errno = 0
                let d = Glibc.strtod(c, &end)
                let consumed = end.map { $0 - UnsafeMutablePointer(mutating: c) } ?? 0
                if consumed == v.count { result = (d, errno) }
            }
        }
        return result
    }

    /// The whole string as a base-10 integer (strtoll semantics).
    static func parseInteger(_ v: some Collection<UInt8>) -> Int? {
        var z = Array(v)
        z.append(0)
        var ok = false
        var n: Int64 = 0
        z.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: z.count) { c in
                var end: UnsafeMutablePointer<CChar>? = nil
                errno = 0
                n = Int64(strtoll(c, &end, 10))
                let consumed = end.map { $0 - UnsafeMutablePointer(mutating: c) } ?? 0
                ok = consumed == v.count && !(errno == ERANGE) && !(errno != 0 && n == 0)
            }
        }
        return ok ? Int(n) : nil
    }

    /// A numeric range bound given through a parameter: `(` makes it exclusive; `±inf` accepted.
    static func parseRangeBound(_ raw: [UInt8], isMin: Bool, sign: Int) throws(QueryError) -> (Double, Bool) {
        var v = raw[...]
        var inclusive = true
        if v.first == UInt8(ascii: "(") { inclusive = false; v = v.dropFirst() }
        let lower = v.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        let noPlus = lower.first == UInt8(ascii: "+") ? Array(lower.dropFirst()) : lower
        if isMin && ((sign == 1 && lower == Array("-inf".utf8)) || (sign == -1 && noPlus == Array("inf".utf8))) {
            return (-.infinity, inclusive)
        }
        if !isMin && ((sign == 1 && noPlus == Array("inf".utf8)) || (sign == -1 && lower == Array("-inf".utf8))) {
            return (.infinity, inclusive)
        }
        var z = Array(v)
        z.append(0)
        var d = 0.0
        var consumed = 0
        z.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: z.count) { c in
                var end: UnsafeMutablePointer<CChar>? = nil
                d = Glibc.strtod(c, &end)
                consumed = end.map { $0 - UnsafeMutablePointer(mutating: c) } ?? 0
            }
        }
        if consumed != v.count || d == .infinity || d == -.infinity {
            throw QueryError("Bad \(isMin ? "lower" : "upper") range: \(String(decoding: v, as: UTF8.self))")
        }
        return (sign == -1 ? -d : d, inclusive)
    }
}

// MARK: - Internal tree

/// A vector query node (`=>[KNN ...]` or `[VECTOR_RANGE ...]`) as RediSearch keeps it before execution.
struct VectorNodeInfo {
    var isKNN: Bool
    var field: String
    var k = 0
    var radius = 0.0
    var blob: [UInt8] = []
    var blobParam: String
    /// Raw attributes in the order given (`EF_RUNTIME 20`, `=>{$EPSILON: 0.1}`), names as written.
    var attributes: [(name: String, value: String)] = []
    /// `AS name` / `$YIELD_DISTANCE_AS`.
    var yieldAs: String?
}

/// A node of RediSearch's query tree (QueryNode in query_node.h), before query expansion.
struct ParseNode {
    enum Kind {
        case token(String)
        case prefix(String, prefix: Bool, suffix: Bool)
        case phrase(exact: Bool)
        case union
        case not
        case optional
        case tag(String)
        case numeric(min: Double, minInclusive: Bool, max: Double, maxInclusive: Bool, field: String)
        /// `@f:[lon lat radius unit]` and GEOFILTER.
        case geo(GeoFilter)
        case vector(VectorNodeInfo)
        case wildcard
        case fuzzy(String, distance: Int)
        case wildcardPattern(String)
        case missing(String)
        case null
    }
    var kind: Kind
    var children: [ParseNode] = []
    /// nil: every field (RS_FIELDMASK_ALL); otherwise the field names the mask was restricted to.
    var fields: [String]? = nil
    /// Not subject to query expansion (numbers, exact phrases).
    var verbatim = false
    /// Added by stemming expansion (FT.EXPLAIN prints `(expanded)`).
    var expanded = false
    var weight = 1.0
    var slop = -1
    var inOrder = false

    init(_ kind: Kind, children: [ParseNode] = []) { self.kind = kind; self.children = children }

    var isPlainPhrase: Bool {
        if case .phrase(exact: false) = kind, fields == nil { return true }
        return false
    }
    var isUnion: Bool { if case .union = kind { return true }; return false }

    /// SLOP / INORDER for every intersection (non-exact phrase) that sets no `$slop` / `$inorder` of its own.
    mutating func applyProximity(slop: Int, inOrder: Bool) {
        if case .phrase(exact: false) = kind {
            if self.slop == -1 { self.slop = slop }
            if inOrder { self.inOrder = true }
        }
        for i in children.indices { children[i].applyProximity(slop: slop, inOrder: inOrder) }
    }

    /// The slop an intersection checks (-1: none): INORDER without a slop checks the order only (INT_MAX).
    var effectiveSlop: Int { inOrder && slop < 0 ? Int(Int32.max) : slop }

    /// QueryNode_SetFieldMask: `&=` on this node and every descendant.
    mutating func restrictFields(_ mask: [String]) {
        if let f = fields { fields = f.filter { mask.contains($0) } } else { fields = mask }
        for i in children.indices { children[i].restrictFields(mask) }
    }
}

/// A parsed query: the root (nil for an empty / all-stopword query).
struct ParseTree {
    var root: ParseNode?

    /// Every distance a vector node yields becomes a result property; RediSearch rejects a name used twice.
    func checkDistanceNames() throws(QueryError) {
        var seen = Set<String>()
        func walk(_ n: ParseNode) throws(QueryError) {
            if case .vector(let info) = n.kind,
               let name = info.yieldAs ?? (info.isKNN ? "__\(info.field)_score" : nil) {
                guard seen.insert(name).inserted else { throw QueryError("Property `\(name)` specified more than once") }
            }
            for c in n.children { try walk(c) }
        }
        if let root { try walk(root) }
    }
}

// MARK: - Parser

/// Parses the token stream. Expressions are handled by a small shift-reduce machine that uses the same
/// precedence table as RediSearch's Lemon grammar, so operators group exactly as there; atoms (terms, tags,
/// ranges, phrases) are parsed directly.
struct ShiftReduceParser {
    let tokens: [QueryToken]
    let params: [String: [UInt8]]
    let stopwords: Set<String>?
    var i = 0
    /// The first parameter error; RediSearch reports it only when the query parsed.
    var deferredError: QueryError?
    /// Every parameter name looked up, in order (repeats kept): all the tree depends on besides the tokens.
    var resolvedParams: [String] = []

    init(tokens: [QueryToken], params: [String: [UInt8]], stopwords: Set<String>?) {
        self.tokens = tokens; self.params = params; self.stopwords = stopwords
    }

    var tok: QueryToken { tokens[i] }
    /// The current token's kind (no copy of the token).
    var kind: TokenKind { tokens[i].kind }
    func peek(_ n: Int = 1) -> QueryToken { tokens[min(i + n, tokens.count - 1)] }
    mutating func advance() { if i < tokens.count - 1 { i += 1 } }
    func fail() -> QueryError { .syntax(tok) }
    mutating func expect(_ k: TokenKind) throws(QueryError) {
        guard kind == k else { throw fail() }
        advance()
    }

    mutating func deferError(_ e: QueryError) { if deferredError == nil { deferredError = e } }

    func str(_ b: some Collection<UInt8>) -> String { String(decoding: b, as: UTF8.self) }

    /// A parameter's value, or nil (error deferred) when it is missing.
    mutating func param(_ name: ArraySlice<UInt8>) -> [UInt8]? {
        let n = str(name)
        resolvedParams.append(n)
        guard let v = params[n] else { deferError(.noSuchParameter(n)); return nil }
        return v
    }

    /// Removes backslashes that escape punctuation or whitespace.
    static func unescapeBytes(_ b: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var j = b.startIndex
        while j < b.endIndex {
            if b[j] == UInt8(ascii: "\\") && j + 1 < b.endIndex && TextAnalyzer.isPunctOrSpace(b[j + 1]) { j += 1; continue }
            out.append(b[j]); j += 1
        }
        return out
    }

    /// `modifier ::= MODIFIER`: field names are unescaped, case kept.
    func unescape(_ b: ArraySlice<UInt8>) -> String {
        let b = Array(b)
        var out: [UInt8] = []
        var j = 0
        while j < b.count {
            if b[j] == UInt8(ascii: "\\") && j + 1 < b.count && TextAnalyzer.isPunctOrSpace(b[j + 1]) { j += 1; continue }
            out.append(b[j]); j += 1
        }
        return str(out)
    }

    // MARK: query

    mutating func parseQuery() throws(QueryError) -> ParseTree {
        if kind == .eof { return ParseTree(root: nil) }
        // query ::= star [=> [KNN ...]] ; star ::= STAR | LP star RP
        var depth = 0
        while peek(depth).kind == .lp { depth += 1 }
        if peek(depth).kind == .star {
            for _ in 0..<depth { advance() }
            advance()
            for _ in 0..<depth { try expect(.rp) }
            if kind == .eof { return ParseTree(root: ParseNode(.wildcard)) }
            guard kind == .arrow else { throw fail() }
            advance()
            guard kind == .lsqb else { throw fail() }
            advance()
            let knn = try parseKNN(filter: nil)
            return ParseTree(root: knn)
        }
        var machine = ExpressionMachine()
        let result = try parseExpression(&machine, topLevel: true)
        return ParseTree(root: result)
    }

    // MARK: expressions

    /// The parser stack: operands and pending operators.
    struct ExpressionMachine {
        enum Entry {
            case operand(ParseNode?, isText: Bool, isUnionResult: Bool)
            case prefix(Prefix)
            case or
            case lparen
        }
        enum Prefix {
            case minus, tilde
            case fields([String])
            var precedence: Int {
                switch self {
                case .minus, .tilde: return 12
                case .fields: return 15
                }
            }
        }
        var stack: [Entry] = []
        /// Stack depth at which the current parenthesis (or the whole query) starts.
        var base = 0
        /// Inside `@field:( ... )`: only text expressions are allowed (a field modifier is a syntax error).
        var textMode = false
        /// Whether the finished expression was text-only (RediSearch's `text_expr`).
        var resultIsText = false

        /// Whether the next operand is in text context (the machine's, or a pending `@field:` prefix's).
        var inTextContext: Bool {
            if textMode { return true }
            var previous: Entry? = nil
            for e in stack[base...] {
                if case .prefix(.fields) = e { return true }
                // `text_union OR` only continues with text (`a | b | @f:x` is a syntax error in RediSearch).
                if case .or = e, case .operand(_, true, true)? = previous { return true }
                previous = e
            }
            return false
        }
    }

    /// Parses until `)` (when nested) or end of input, reducing with RediSearch's precedences.
    mutating func parseExpression(_ m: inout ExpressionMachine, topLevel: Bool) throws(QueryError) -> ParseNode? {
        while true {
            let t = tok
            let lastIsOperand: Bool = {
                if case .operand = m.stack.last { return m.stack.count > m.base || m.stack.count > 0 }
                return false
            }()
            let topIsOperand = m.stack.count > m.base && lastIsOperand
            switch t.kind {
            case .or:
                guard topIsOperand else { throw fail() }
                try reduce(&m, lookahead: TokenKind.or.precedence)
                m.stack.append(.or)
                advance()
            case .arrow:
                guard topIsOperand else { throw fail() }
                try reduce(&m, lookahead: TokenKind.arrow.precedence)
                advance()
                if kind == .lb {
                    advance()
                    let attrs = try parseAttributeList()
                    guard case .operand(var node, let isText, let isUnion) = m.stack.removeLast() else { throw fail() }
                    if node != nil { try applyAttributes(&node!, attrs) }
                    m.stack.append(.operand(node, isText: isText, isUnionResult: isUnion))
                } else if kind == .lsqb && topLevel && m.base == 0 && m.stack.count == 1 {
                    advance()
                    guard case .operand(let node, _, _) = m.stack.removeLast() else { throw fail() }
                    return try parseKNN(filter: node)
                } else {
                    throw fail()
                }
            case .rp:
                if topLevel && m.base == 0 { throw fail() }
                guard topIsOperand else { throw fail() }
                try reduce(&m, lookahead: 0)
                return try finish(&m)
            case .eof:
                guard topIsOperand else { throw fail() }
                if !topLevel { throw fail() }
                try reduce(&m, lookahead: 0)
                return try finish(&m)
            default:
                // Something that starts an operand: juxtaposition (AND, precedence 13) or a first operand.
                if topIsOperand {
                    // A field modifier cannot continue `text_union OR text`: RediSearch closes the text union
                    // first (`a | b | c @f:x` is `(a | b | c) @f:x`).
                    let closesTextUnion = t.kind == .modifier || t.kind == .isMissing
                    try reduce(&m, lookahead: t.kind.precedence, closeTextUnion: closesTextUnion)
                }
                try shiftOperandStart(&m)
            }
        }
    }

    /// Collapses the single remaining operand of the current level.
    mutating func finish(_ m: inout ExpressionMachine) throws(QueryError) -> ParseNode? {
        guard m.stack.count == m.base + 1, case .operand(let n, let isText, _) = m.stack.removeLast() else { throw fail() }
        m.resultIsText = isText
        return n
    }

    /// Reduces while the rule on top of the stack binds at least as tightly as the lookahead token.
    mutating func reduce(_ m: inout ExpressionMachine, lookahead: Int, closeTextUnion: Bool = false) throws(QueryError) {
        while m.stack.count - m.base >= 2 {
            guard case .operand(let right, let rightText, let rightUnion) = m.stack[m.stack.count - 1] else { return }
            let below = m.stack[m.stack.count - 2]
            switch below {
            case .operand(let left, let leftText, _):
                guard 13 >= lookahead else { return }
                m.stack.removeLast(2)
                let l = rightUnion ? left : left  // union results are plain exprs once juxtaposed
                _ = l
                m.stack.append(.operand(ShiftReduceParser.and(left, right), isText: leftText && rightText, isUnionResult: false))
            case .prefix(let p):
                guard p.precedence >= lookahead else { return }
                m.stack.removeLast(2)
                switch p {
                case .minus:
                    m.stack.append(.operand(right.map { ParseNode(.not, children: [$0]) }, isText: rightText, isUnionResult: false))
                case .tilde:
                    m.stack.append(.operand(right.map { ParseNode(.optional, children: [$0]) }, isText: rightText, isUnionResult: false))
                case .fields(let f):
                    guard rightText else { throw fail() }
                    var n = right
                    n?.restrictFields(f)
                    m.stack.append(.operand(n, isText: false, isUnionResult: false))
                }
            case .or:
                guard m.stack.count - m.base >= 3,
                      case .operand(let left, let leftText, let leftUnion) = m.stack[m.stack.count - 3] else { return }
                guard 4 >= lookahead || (closeTextUnion && leftText && leftUnion && rightText) else { return }
                // After a (non-text) union, a text operand followed by `|` starts a nested union in RediSearch's
                // LALR tables: `@n:[1 2] | a | b | c` is `UNION { NUMERIC, a, UNION { b, c } }`.
                if lookahead == TokenKind.or.precedence && leftUnion && !leftText && (rightText || rightUnion) { return }
                m.stack.removeLast(3)
                m.stack.append(.operand(ShiftReduceParser.or(left, right, leftIsUnion: leftUnion),
                                        isText: leftText && rightText, isUnionResult: true))
            case .lparen:
                return
            }
        }
    }

    /// `expr ::= expr expr`: extends a plain (non-exact, unrestricted) phrase, else makes a new one.
    /// Both take their operands by value and move them (`take()`): the left operand is usually the node built so
    /// far, and appending to a copy of its children made a query of n terms cost n² (100,000 `|` terms held the loop
    /// thread for minutes).
    static func and(_ b: consuming ParseNode?, _ c: consuming ParseNode?) -> ParseNode? {
        guard var a = b.take() else { return c }
        guard let c = c.take() else { return a }
        if a.isPlainPhrase {
            a.children.append(c)
            return a
        }
        return ParseNode(.phrase(exact: false), children: [a, c])
    }

    /// `union ::= expr OR expr` / `union ::= union OR expr` (the latter appends to whatever node the left
    /// union turned out to be, as RediSearch does).
    static func or(_ b: consuming ParseNode?, _ c: consuming ParseNode?, leftIsUnion: Bool) -> ParseNode? {
        if leftIsUnion {
            guard var a = b.take() else { return c }
            if var c = c.take() {
                // `A->fieldMask |= C->fieldMask; SetFieldMask(C, A->fieldMask)` (nil is the all-fields mask).
                if let af = a.fields, let cf = c.fields {
                    let merged = af + cf.filter { !af.contains($0) }
                    a.fields = merged
                    c.restrictFields(merged)
                } else {
                    a.fields = nil
                }
                a.children.append(c)
            }
            return a
        }
        guard var a = b.take() else { return c }
        guard let c = c.take() else { return a }
        if a.isUnion && a.fields == nil {
            a.children.append(c)
            return a
        }
        return ParseNode(.union, children: [a, c])
    }

    /// Shifts the start of an operand: a prefix operator, a parenthesis, a field modifier or an atom.
    mutating func shiftOperandStart(_ m: inout ExpressionMachine) throws(QueryError) {
        let t = tok
        let textContext = m.inTextContext
        if textContext && (t.kind == .modifier || t.kind == .isMissing) { throw fail() }
        switch t.kind {
        case .minus:
            advance(); m.stack.append(.prefix(.minus))
        case .tilde:
            advance(); m.stack.append(.prefix(.tilde))
        case .lp:
            advance()
            var inner = ExpressionMachine()
            inner.textMode = textContext
            let node = try parseExpression(&inner, topLevel: false)
            let isText = inner.resultIsText
            try expect(.rp)
            m.stack.append(.operand(node, isText: isText, isUnionResult: false))
        case .modifier:
            try shiftModifier(&m)
        default:
            let (node, isText) = try parseAtom()
            m.stack.append(.operand(node, isText: isText, isUnionResult: false))
        }
    }

    /// `@f:` / `@f|g:` then text (prefix operator), `{tags}`, `[range]`; or `@f <op> value`.
    mutating func shiftModifier(_ m: inout ExpressionMachine) throws(QueryError) {
        let field = unescape(tok.text)
        advance()
        switch kind {
        case .colon:
            advance()
            switch kind {
            case .lb:
                advance()
                let node = try parseTagList(field: field)
                m.stack.append(.operand(node, isText: false, isUnionResult: false))
            case .lsqb:
                advance()
                let node = try parseRange(field: field)
                m.stack.append(.operand(node, isText: false, isUnionResult: false))
            default:
                guard startsTextOperand(kind) else { throw fail() }
                m.stack.append(.prefix(.fields([field])))
            }
        case .or:
            // modifierlist ::= modifier OR term (OR term)* COLON text_expr
            var fields = [field]
            while kind == .or {
                advance()
                guard [.term, .number, .size, .asKeyword, .exact, .isMissing].contains(kind) else {
                    throw fail()
                }
                if tok.text.isEmpty { throw QueryError("Syntax error at offset \(tok.pos) near ") }
                fields.append(str(tok.text))
                advance()
            }
            try expect(.colon)
            guard startsTextOperand(kind) else { throw fail() }
            m.stack.append(.prefix(.fields(fields)))
        case .equals, .notEqual, .gt, .ge, .lt, .le:
            let op = kind
            advance()
            guard let v = try parseParamNum(kind: .numeric) else {
                m.stack.append(.operand(ParseNode(.null), isText: false, isUnionResult: false))
                return
            }
            var node: ParseNode
            switch op {
            case .equals, .notEqual:
                node = ParseNode(.numeric(min: v.value, minInclusive: true, max: v.value, maxInclusive: true, field: field))
                if op == .notEqual { node = ParseNode(.not, children: [node]) }
            case .gt: node = ParseNode(.numeric(min: v.value, minInclusive: false, max: .infinity, maxInclusive: true, field: field))
            case .ge: node = ParseNode(.numeric(min: v.value, minInclusive: true, max: .infinity, maxInclusive: true, field: field))
            case .lt: node = ParseNode(.numeric(min: -.infinity, minInclusive: true, max: v.value, maxInclusive: false, field: field))
            default: node = ParseNode(.numeric(min: -.infinity, minInclusive: true, max: v.value, maxInclusive: true, field: field))
            }
            m.stack.append(.operand(node, isText: false, isUnionResult: false))
        default:
            throw fail()
        }
    }

    func startsTextOperand(_ k: TokenKind) -> Bool {
        switch k {
        case .term, .number, .size, .attribute, .asKeyword, .prefix, .suffix, .contains, .wildcardPattern, .exact,
             .minus, .tilde, .lp, .percent, .quote:
            return true
        default:
            return false
        }
    }

    // MARK: atoms

    /// A term, number, `$param`, affix, phrase, fuzzy term or wildcard pattern. Returns (node, isText).
    mutating func parseAtom() throws(QueryError) -> (ParseNode?, Bool) {
        let t = tok
        switch t.kind {
        case .term, .asKeyword:
            advance()
            let text = TextAnalyzer.normalizeQueryTerm(t.text)
            if let sw = stopwords, sw.contains(text) { return (nil, true) }
            return (ParseNode(.token(text)), true)
        case .number, .size:
            advance()
            var n = ParseNode(.token(str(t.text)))
            n.verbatim = true
            return (n, true)
        case .attribute:
            advance()
            guard let v = param(t.text) else { return (ParseNode(.token("")), true) }
            var n = ParseNode(.token(TextAnalyzer.normalizeQueryTerm(v)))
            // A parameter whose value reads as a number is not expanded either.
            if NumberParsing.parseDouble(v) != nil { n.verbatim = true }
            return (n, true)
        case .prefix, .suffix, .contains:
            advance()
            return (affixNode(t), true)
        case .wildcardPattern:
            advance()
            if t.isParam {
                guard let v = param(t.text) else { return (ParseNode(.wildcardPattern("")), true) }
                return (ParseNode(.wildcardPattern(str(v))), true)
            }
            return (ParseNode(.wildcardPattern(str(t.text))), true)
        case .exact:
            advance()
            var n = ParseNode(.phrase(exact: true))
            for w in ShiftReduceParser.splitPhrase(t.text) { n.children.append(ParseNode(.token(w))) }
            n.verbatim = true
            return (n, true)
        case .percent:
            var depth = 0
            while kind == .percent && depth < 3 { depth += 1; advance() }
            let term = tok
            guard [.term, .number, .size, .attribute, .asKeyword, .exact, .isMissing].contains(term.kind) else { throw fail() }
            advance()
            for _ in 0..<depth { try expect(.percent) }
            var text = TextAnalyzer.normalizeQueryTerm(term.text)
            if term.kind == .attribute { text = param(term.text).map { TextAnalyzer.normalizeQueryTerm($0) } ?? "" }
            return (ParseNode(.fuzzy(text, distance: depth)), true)
        case .quote:
            // text_expr ::= QUOTE ATTRIBUTE QUOTE: the literal word `$name`, not a parameter.
            advance()
            guard kind == .attribute else { throw fail() }
            let name = tok.text
            advance()
            try expect(.quote)
            var n = ParseNode(.token(TextAnalyzer.normalizeQueryTerm([UInt8(ascii: "$")] + name)))
            n.verbatim = true
            return (n, true)
        case .isMissing:
            advance()
            try expect(.lp)
            guard kind == .modifier else { throw fail() }
            let f = unescape(tok.text)
            advance()
            try expect(.rp)
            return (ParseNode(.missing(f)), false)
        default:
            throw fail()
        }
    }

    /// `NewPrefixNode_WithParams`: literal affixes are unescaped (case kept); `$param` ones lowercased.
    mutating func affixNode(_ t: QueryToken) -> ParseNode {
        let isPrefix = t.kind == .prefix || t.kind == .contains
        let isSuffix = t.kind == .suffix || t.kind == .contains
        var text: String
        if t.isParam {
            text = param(t.text).map { TextAnalyzer.normalizeQueryTerm($0) } ?? ""
        } else {
            text = unescape(t.text)
        }
        _ = text
        return ParseNode(.prefix(text, prefix: isPrefix, suffix: isSuffix))
    }

    /// Splits an exact phrase like RediSearch's `toksep2` (no `$` separator), lowercasing and unescaping.
    static func splitPhrase(_ b: ArraySlice<UInt8>) -> [String] {
        var out: [String] = []
        var cur: [UInt8] = []
        var escaped = false
        for c in b {
            if !escaped && c != UInt8(ascii: "$") && TextAnalyzer.isSeparator(c) {
                if !cur.isEmpty { out.append(TextAnalyzer.normalizeQueryTerm(cur)) }
                cur.removeAll()
                escaped = false
                continue
            }
            escaped = !escaped && c == UInt8(ascii: "\\")
            cur.append(c)
        }
        if !cur.isEmpty { out.append(TextAnalyzer.normalizeQueryTerm(cur)) }
        return out
    }

    // MARK: tags

    /// `{a | b c | pre* | $p}` after `@field:`; the current token follows `{`.
    mutating func parseTagList(field: String) throws(QueryError) -> ParseNode {
        var tag = ParseNode(.tag(field))
        while true {
            switch kind {
            case .term, .number, .size, .attribute, .asKeyword, .exact, .isMissing:
                // One value (case kept, escapes kept) or a term list (lowercased words: an INTERSECT).
                // (`"..."` and `ismissing` fall back to plain terms here, as in RediSearch's grammar.)
                let first = tok
                advance()
                if [.term, .number, .size, .attribute, .asKeyword, .exact, .isMissing].contains(kind) {
                    var phrase = ParseNode(.phrase(exact: false))
                    phrase.children.append(termListWord(first))
                    var count = 1
                    while [.term, .number, .size, .attribute, .asKeyword, .exact, .isMissing].contains(kind) {
                        let w = tok
                        advance()
                        count += 1
                        // termlist ::= termlist param_term skips stopwords (but not in the first two words).
                        if count > 2, w.kind != .attribute && w.kind != .number && w.kind != .size, let sw = stopwords,
                           sw.contains(TextAnalyzer.normalizeQueryTerm(w.text)) { continue }
                        phrase.children.append(termListWord(w))
                    }
                    tag.children.append(phrase)
                } else if first.kind == .attribute {
                    let v = param(first.text) ?? []
                    tag.children.append(ParseNode(.token(str(v))))
                } else {
                    tag.children.append(ParseNode(.token(str(first.text))))
                }
            case .prefix, .suffix, .contains:
                let t = tok
                advance()
                tag.children.append(affixNode(t))
            case .wildcardPattern:
                let t = tok
                advance()
                let text = t.isParam ? str(param(t.text) ?? []) : str(t.text)
                tag.children.append(ParseNode(.wildcardPattern(text)))
            default:
                throw fail()
            }
            if kind == .or { advance(); continue }
            try expect(.rb)
            return tag
        }
    }

    mutating func termListWord(_ t: QueryToken) -> ParseNode {
        switch t.kind {
        case .attribute:
            return ParseNode(.token(param(t.text).map { TextAnalyzer.normalizeQueryTerm($0) } ?? ""))
        case .number, .size:
            return ParseNode(.token(str(t.text)))
        default:
            return ParseNode(.token(TextAnalyzer.normalizeQueryTerm(t.text)))
        }
    }

    // MARK: numeric and vector ranges

    enum ParamNumKind { case numeric, minRange, maxRange }

    struct Bound { var value: Double; var inclusive: Bool }

    /// param_num: `$p`, `-$p`, or num (SIZE | NUMBER | MINUS num). Returns nil when a parameter is missing.
    mutating func parseParamNum(kind numKind: ParamNumKind, exclusive: Bool = false) throws(QueryError) -> Bound? {
        var sign = 1
        if kind == .minus && peek().kind == .attribute { sign = -1; advance() }
        if kind == .attribute {
            let t = tok
            advance()
            sign *= t.sign
            guard let v = param(t.text) else { return nil }
            switch numKind {
            case .numeric:
                guard let d = NumberParsing.parseDouble(v, sign: sign) else {
                    deferError(QueryError("Invalid numeric value (\(str(v))) for parameter `\(str(t.text))`"))
                    return nil
                }
                return Bound(value: d, inclusive: !exclusive)
            case .minRange, .maxRange:
                do {
                    // RediSearch parses a leading `(` in the value but drops the flag (a local is discarded).
                    let (d, _) = try NumberParsing.parseRangeBound(v, isMin: numKind == .minRange, sign: sign)
                    return Bound(value: d, inclusive: !exclusive)
                } catch {
                    deferError(error)
                    return nil
                }
            }
        }
        var negate = false
        while kind == .minus { negate.toggle(); advance() }
        guard kind == .number || kind == .size else { throw fail() }
        let d = tok.numval
        advance()
        return Bound(value: negate ? -d : d, inclusive: !exclusive)
    }

    /// One bound of `[lo hi]`: param_num or `(` exclusive_param_num.
    mutating func parseBound(kind numKind: ParamNumKind) throws(QueryError) -> (Bound?, Bool) {
        if kind == .lp {
            advance()
            if kind == .minus && peek().kind == .attribute {
                return (try parseParamNum(kind: numKind, exclusive: true), true)
            }
            guard [.attribute, .number, .size, .minus].contains(kind) else { throw fail() }
            return (try parseParamNum(kind: numKind, exclusive: true), true)
        }
        return (try parseParamNum(kind: numKind), false)
    }

    /// After `@field:[`: a numeric range or `VECTOR_RANGE r $B`.
    mutating func parseRange(field: String) throws(QueryError) -> ParseNode {
        if kind == .term || kind == .asKeyword || kind == .isMissing {
            let command = tok
            advance()
            let radiusTok = tok
            guard let radius = try parseParamNum(kind: .numeric) ?? Optional(Bound(value: 0, inclusive: true)) else { throw fail() }
            _ = radiusTok
            guard kind == .attribute else { throw fail() }
            let vecTok = tok
            advance()
            guard kind == .rsqb else { throw fail() }
            guard command.text.map({ $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }) == Array("VECTOR_RANGE".utf8) else {
                throw QueryError("Syntax error: expecting vector similarity range command at offset \(command.pos) near \(str(command.text))")
            }
            advance()
            let blob = param(vecTok.text) ?? []
            var info = VectorNodeInfo(isKNN: false, field: field, blobParam: str(vecTok.text))
            info.radius = radius.value
            info.blob = blob
            return ParseNode(.vector(info))
        }
        let (lo, loExclusive) = try parseBound(kind: .minRange)
        if kind == .rsqb && !loExclusive {
            advance()
            let v = lo?.value ?? 0
            let (loValue, loIncl) = lo.map { ($0.value, true) } ?? (v, true)
            // `[n]` is the single value n (a parameter here is a plain number, not a range bound).
            return ParseNode(.numeric(min: loValue, minInclusive: loIncl, max: loValue, maxInclusive: true, field: field))
        }
        let (hi, hiExclusive) = try parseBound(kind: .maxRange)
        if kind != .rsqb {
            // geo_filter's coordinates are param_num: no `(`, so RediSearch fails at the radius after one.
            guard !loExclusive && !hiExclusive else { throw fail() }
            return try parseGeoRest(field: field, longitude: lo, latitude: hi)
        }
        advance()
        guard let lo, let hi else { return ParseNode(.null) }
        return ParseNode(.numeric(min: lo.value, minInclusive: lo.inclusive, max: hi.value, maxInclusive: hi.inclusive, field: field))
    }

    /// After `@field:[lon lat`: `radius unit]` (geo_filter: param_num param_term). A filter RediSearch's
    /// GeoFilter_Validate refuses is reported once the whole query parsed, as its parameter errors are.
    mutating func parseGeoRest(field: String, longitude: Bound?, latitude: Bound?) throws(QueryError) -> ParseNode {
        let radius = try parseParamNum(kind: .numeric)
        var unitName: String?
        switch kind {
        case .term, .number, .size, .asKeyword, .isMissing:
            unitName = str(tok.text)
            advance()
        case .attribute:
            let t = tok
            advance()
            unitName = param(t.text).map { str($0) }
        default:
            throw fail()
        }
        guard kind == .rsqb else { throw fail() }
        advance()
        guard let longitude, let latitude, let radius, let unitName else { return ParseNode(.null) }
        return geoNode(field: field, longitude: longitude.value, latitude: latitude.value, radius: radius.value, unitName: unitName)
    }

    mutating func geoNode(field: String, longitude: Double, latitude: Double, radius: Double, unitName: String) -> ParseNode {
        do throws(QueryError) {
            return ParseNode(.geo(try GeoFilter.validated(field: field, longitude: longitude, latitude: latitude,
                                                          radius: radius, unitName: unitName)))
        } catch {
            deferError(error)
            return ParseNode(.null)
        }
    }

    // MARK: KNN

    /// After `=>[`: `KNN k @field $BLOB [NAME value]... [AS name]] [=>{attrs}]` then end of query.
    mutating func parseKNN(filter: ParseNode?) throws(QueryError) -> ParseNode {
        guard kind == .term || kind == .asKeyword || kind == .isMissing else { throw fail() }
        let command = tok
        advance()
        let kTok = tok
        guard kTok.kind == .size || kTok.kind == .attribute else { throw fail() }
        advance()
        guard kind == .modifier else { throw fail() }
        let field = str(tok.text)
        advance()
        guard kind == .attribute else { throw fail() }
        let vecTok = tok
        advance()
        let cmd = command.text.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
        guard cmd == Array("KNN".utf8) else {
            throw QueryError("Syntax error: Expecting Vector Similarity command at offset \(command.pos) near \(str(command.text))")
        }
        var info = VectorNodeInfo(isKNN: true, field: field, blobParam: str(vecTok.text))
        // The vector is resolved before k (node parameter order).
        info.blob = param(vecTok.text) ?? []
        if kTok.kind == .size {
            // A literal past 2^64 reads as 0 in RediSearch (no hits); anything else is at most Int.max.
            let literal = kTok.numval
            info.k = literal >= 18_446_744_073_709_551_616.0 ? 0 : literal >= 9_223_372_036_854_775_807.0 ? .max : Int(literal)
        } else if let v = param(kTok.text) {
            if let k = NumberParsing.parseInteger(v), k >= 0 {
                info.k = k
            } else {
                deferError(QueryError("Invalid numeric value (\(str(v))) for parameter `\(str(kTok.text))`"))
            }
        }
        // vector_attribute_list: TERM param_term pairs.
        while kind == .term || kind == .isMissing || kind == .exact {
            let name = str(tok.text)
            advance()
            guard [.term, .number, .size, .attribute, .asKeyword, .isMissing, .exact].contains(kind) else { throw fail() }
            let v = tok
            advance()
            let value = v.kind == .attribute ? str(param(v.text) ?? []) : str(v.text)
            info.attributes.append((name, value))
        }
        if kind == .asKeyword {
            advance()
            guard [.term, .number, .size, .attribute, .asKeyword, .isMissing, .exact].contains(kind) else { throw fail() }
            let v = tok
            advance()
            info.yieldAs = v.kind == .attribute ? str(param(v.text) ?? []) : str(v.text)
        }
        try expect(.rsqb)
        var node = ParseNode(.vector(info))
        if let filter { node.children.append(filter) }
        if kind == .arrow {
            advance()
            try expect(.lb)
            let attrs = try parseAttributeList()
            try applyAttributes(&node, attrs)
        }
        guard kind == .eof else { throw fail() }
        return node
    }

    // MARK: attributes

    /// `{$name: value; ...}` after `=>{`; consumes the closing `}`.
    mutating func parseAttributeList() throws(QueryError) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        while true {
            if kind == .rb { advance(); return out }
            if kind == .attribute {
                let name = str(tok.text)
                advance()
                try expect(.colon)
                guard [.term, .number, .size, .attribute, .asKeyword, .isMissing, .exact].contains(kind) else { throw fail() }
                let v = tok
                advance()
                var value = str(v.text)
                if v.kind == .attribute {
                    // Resolved while parsing (unlike other parameters): a missing one is the error reported.
                    resolvedParams.append(str(v.text))
                    guard let resolved = params[str(v.text)] else { throw .noSuchParameter(str(v.text)) }
                    value = str(resolved)
                }
                out.append((name, value))
                if kind == .semicolon {
                    while kind == .semicolon { advance() }
                    continue
                }
                guard kind == .rb else { throw fail() }
                continue
            }
            throw fail()
        }
    }

    /// QueryNode_ApplyAttributes: $weight, $slop, $inorder, $phonetic, $yield_distance_as (vector nodes) and
    /// the vector parameters (EF_RUNTIME, EPSILON, HYBRID_POLICY, BATCH_SIZE) on vector nodes.
    mutating func applyAttributes(_ node: inout ParseNode, _ attrs: [(name: String, value: String)]) throws(QueryError) {
        for (name, value) in attrs {
            let lname = name.lowercased()
            func invalid() -> QueryError { QueryError("Invalid value (\(value)) for `\(name)`") }
            if value.isEmpty { throw invalid() }
            switch lname {
            case "slop":
                guard let n = NumberParsing.parseInteger(Array(value.utf8)), n >= -1 else { throw invalid() }
                node.slop = n
            case "inorder", "phonetic":
                let v = value.lowercased()
                guard v == "true" || v == "1" || v == "false" || v == "0" else { throw invalid() }
                if lname == "inorder" { node.inOrder = v == "true" || v == "1" }
            case "weight":
                guard let d = NumberParsing.parseDouble(Array(value.utf8)), d >= 0 else { throw invalid() }
                node.weight = d
            default:
                guard case .vector(var info) = node.kind else { throw QueryError("Invalid attribute \(name)") }
                if lname == "yield_distance_as" {
                    info.yieldAs = value
                } else if ["ef_runtime", "epsilon", "hybrid_policy", "batch_size"].contains(lname) {
                    info.attributes.append((name, value))
                } else {
                    throw QueryError("Invalid attribute \(name)")
                }
                node.kind = .vector(info)
            }
        }
    }
}



// MARK: - DIALECT 1

extension QueryLexer {
    /// `number` of the DIALECT 1 scanner: `-`? digits (`.` digits)? ([eE] `-`? digits)?
    func numberLengthDialect1(_ i: Int) -> Int {
        var j = i
        if j < s.count && s[j] == UInt8(ascii: "-") { j += 1 }
        let d = sizeLength(j)
        if d == 0 { return 0 }
        j += d
        if j + 1 < s.count && s[j] == UInt8(ascii: ".") && QueryLexer.isDigit(s[j + 1]) { j += 1 + sizeLength(j + 1) }
        if j < s.count && (s[j] == UInt8(ascii: "e") || s[j] == UInt8(ascii: "E")) {
            var k = j + 1
            if k < s.count && s[k] == UInt8(ascii: "-") { k += 1 }
            let e = sizeLength(k)
            if e > 0 { j = k + e }
        }
        return j - i
    }

    /// RediSearch's v1 scanner (longest match, earlier rule wins ties).
    func tokenizeDialect1(stopwords: Set<String>) -> [QueryToken] {
        var out: [QueryToken] = []
        var near: ArraySlice<UInt8> = []
        var i = 0
        func push(_ kind: TokenKind, _ pos: Int, _ t: ArraySlice<UInt8>? = nil, num: Double = 0) {
            if let t { near = t }
            out.append(QueryToken(kind: kind, pos: pos, text: t ?? [], nearBytes: near, numval: num))
        }
        while i < s.count {
            let b = s[i]
            var bestLen = 0
            var rule = -1
            func consider(_ len: Int, _ r: Int) { if len > bestLen { bestLen = len; rule = r } }
            consider(numberLengthDialect1(i), 0)
            if b == UInt8(ascii: "@") { let t = termLength(i + 1); if t > 0 { consider(t + 1, 1) } }
            if b == UInt8(ascii: "$") { let t = termLength(i + 1); if t > 0 { consider(t + 1, 2) } }
            if b == UInt8(ascii: "="), i + 1 < s.count, s[i + 1] == UInt8(ascii: ">") { consider(2, 3) }
            // v1's `inf` pattern is `['+\-']? 'inf'`: its sign class also holds the apostrophe.
            if b == UInt8(ascii: "'") { let n = infLength(i + 1); if n == 3 { consider(4, 4) } } else { consider(infLength(i), 4) }
            if QueryLexer.isPunct(b) || QueryLexer.isSpace(b) || QueryLexer.isCntrl(b) { consider(1, 5) }
            consider(termLength(i), 6)
            let body = max(termLength(i), numberLengthDialect1(i))
            if body > 0 && i + body < s.count && s[i + body] == UInt8(ascii: "*") { consider(body + 1, 7) }
            if b == UInt8(ascii: "*") {
                let sb = max(termLength(i + 1), numberLengthDialect1(i + 1))
                if sb > 0 {
                    consider(sb + 1, 8)
                    if i + 1 + sb < s.count && s[i + 1 + sb] == UInt8(ascii: "*") { consider(sb + 2, 9) }
                }
            }
            let end = i + bestLen
            switch rule {
            case 0: push(.number, i, s[i..<end], num: QueryLexer.strtod(s[i..<end]))
            case 1: push(.modifier, i, s[(i + 1)..<end])
            case 2: push(.attribute, i, s[(i + 1)..<end])
            case 3: push(.arrow, i, s[(i + 1)..<min(i + 3, s.count)])
            case 4: push(.number, i, s[i..<end], num: b == UInt8(ascii: "-") ? -.infinity : .infinity)
            case 5:
                switch b {
                case UInt8(ascii: "\""): push(.quote, i)
                case UInt8(ascii: "|"): push(.or, i)
                case UInt8(ascii: "("): push(.lp, i)
                case UInt8(ascii: ")"): push(.rp, i)
                case UInt8(ascii: "{"): push(.lb, i)
                case UInt8(ascii: "}"): push(.rb, i)
                case UInt8(ascii: ":"): push(.colon, i)
                case UInt8(ascii: ";"): push(.semicolon, i)
                case UInt8(ascii: "-"): push(.minus, i)
                case UInt8(ascii: "~"): push(.tilde, i)
                case UInt8(ascii: "*"): push(.star, i)
                case UInt8(ascii: "%"): push(.percent, i)
                case UInt8(ascii: "["): push(.lsqb, i)
                case UInt8(ascii: "]"): push(.rsqb, i)
                default: break
                }
            case 6:
                let t = s[i..<end]
                let isStop = stopwords.contains(TextAnalyzer.asciiLowercased(String(decoding: t, as: UTF8.self)))
                push(isStop ? .stopword : .term, i, t)
            case 7: push(.prefix, i, s[i..<(end - 1)])
            case 8: push(.suffix, i, s[(i + 1)..<end])
            case 9: push(.contains, i, s[(i + 1)..<(end - 1)])
            default: break
            }
            i = bestLen > 0 ? end : i + 1
        }
        out.append(QueryToken(kind: .eof, pos: out.last?.pos ?? 0, nearBytes: near))
        return out
    }
}

/// RediSearch's DIALECT 1 grammar on the same shift-reduce scheme as DIALECT 2 (see `ShiftReduceParser`).
struct DialectOneParser {
    let tokens: [QueryToken]
    var i = 0

    init(tokens: [QueryToken]) { self.tokens = tokens }

    var kind: TokenKind { tokens[i].kind }
    var tok: QueryToken { tokens[i] }
    func peek(_ n: Int = 1) -> QueryToken { tokens[min(i + n, tokens.count - 1)] }
    mutating func advance() { if i < tokens.count - 1 { i += 1 } }
    func fail() -> QueryError { .syntax(tok) }
    mutating func expect(_ k: TokenKind) throws(QueryError) {
        guard kind == k else { throw fail() }
        advance()
    }
    func str(_ b: some Collection<UInt8>) -> String { String(decoding: b, as: UTF8.self) }
    func unescape(_ b: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var j = b.startIndex
        while j < b.endIndex {
            if b[j] == UInt8(ascii: "\\") && j + 1 < b.endIndex && TextAnalyzer.isPunctOrSpace(b[j + 1]) { j += 1; continue }
            out.append(b[j]); j += 1
        }
        return str(out)
    }

    enum Entry {
        case operand(ParseNode?, isUnion: Bool)
        case minus, tilde
        case fields([String])
        case or
    }

    mutating func parseQuery() throws(QueryError) -> ParseTree {
        if kind == .eof { return ParseTree(root: nil) }
        if kind == .star {
            advance()
            guard kind == .eof else { throw fail() }
            return ParseTree(root: ParseNode(.wildcard))
        }
        return ParseTree(root: try parseExpression(nested: false))
    }

    func prefixPrecedence(_ e: Entry) -> Int {
        switch e {
        case .minus: return 6
        case .tilde: return 2
        case .fields: return 16
        default: return 0
        }
    }

    mutating func parseExpression(nested: Bool) throws(QueryError) -> ParseNode? {
        var stack: [Entry] = []
        func topIsOperand() -> Bool { if case .operand? = stack.last { return true }; return false }
        func reduce(_ lookahead: Int) {
            while stack.count >= 2, case .operand(let right, let rightUnion) = stack[stack.count - 1] {
                switch stack[stack.count - 2] {
                case .operand(let left, _):
                    guard 17 >= lookahead else { return }
                    stack.removeLast(2)
                    stack.append(.operand(ShiftReduceParser.and(left, right), isUnion: false))
                case .or:
                    guard stack.count >= 3, case .operand(let left, let leftUnion) = stack[stack.count - 3] else { return }
                    guard (leftUnion ? 19 : 18) >= lookahead else { return }
                    stack.removeLast(3)
                    // (Unlike DIALECT 2, a stopword-shortened union does not swallow later operands as children.)
                    let appendable = leftUnion && (left?.isUnion ?? false)
                    stack.append(.operand(ShiftReduceParser.or(left, right, leftIsUnion: appendable), isUnion: true))
                case .minus, .tilde, .fields:
                    let p = stack[stack.count - 2]
                    guard prefixPrecedence(p) >= lookahead else { return }
                    stack.removeLast(2)
                    var n = right
                    switch p {
                    case .minus: n = right.map { ParseNode(.not, children: [$0]) }
                    case .tilde: n = right.map { ParseNode(.optional, children: [$0]) }
                    case .fields(let f): n?.restrictFields(f)
                    default: break
                    }
                    stack.append(.operand(n, isUnion: false))
                    _ = rightUnion
                }
            }
        }
        func finish() throws(QueryError) -> ParseNode? {
            reduce(0)
            guard stack.count == 1, case .operand(let n, _) = stack[0] else { throw fail() }
            return n
        }
        while true {
            switch kind {
            case .or:
                guard topIsOperand() else { throw fail() }
                reduce(18)
                stack.append(.or)
                advance()
            case .arrow:
                guard topIsOperand() else { throw fail() }
                reduce(20)
                advance()
                try expect(.lb)
                var attrs: [(name: String, value: String)] = []
                while kind != .rb {
                    guard kind == .attribute else { throw fail() }
                    let name = str(tok.text)
                    advance()
                    try expect(.colon)
                    guard kind == .term || kind == .number else { throw fail() }
                    attrs.append((name, str(tok.text)))
                    advance()
                    if kind == .semicolon { while kind == .semicolon { advance() }; continue }
                    guard kind == .rb else { throw fail() }
                }
                advance()
                guard case .operand(var node, let u) = stack.removeLast() else { throw fail() }
                if node != nil {
                    var helper = ShiftReduceParser(tokens: tokens, params: [:], stopwords: nil)
                    try helper.applyAttributes(&node!, attrs)
                }
                stack.append(.operand(node, isUnion: u))
            case .rp:
                guard nested, topIsOperand() else { throw fail() }
                return try finish()
            case .eof:
                guard !nested, topIsOperand() else { throw fail() }
                return try finish()
            default:
                if topIsOperand() { reduce(kind.dialect1Precedence) }
                try shiftOperandStart(&stack)
            }
        }
    }

    mutating func shiftOperandStart(_ stack: inout [Entry]) throws(QueryError) {
        switch kind {
        case .minus:
            advance(); stack.append(.minus)
        case .tilde:
            advance(); stack.append(.tilde)
        case .lp:
            advance()
            let n = try parseExpression(nested: true)
            try expect(.rp)
            stack.append(.operand(n, isUnion: false))
        case .stopword:
            advance()
            stack.append(.operand(nil, isUnion: false))
        case .term, .number:
            stack.append(.operand(parseTermList(), isUnion: false))
        case .prefix, .suffix, .contains:
            let t = tok
            advance()
            let text = unescape(t.text)
            stack.append(.operand(ParseNode(.prefix(text, prefix: t.kind != .suffix, suffix: t.kind != .prefix)), isUnion: false))
        case .quote:
            advance()
            var words: [String] = []
            var count = 0
            while kind == .term || kind == .number || (kind == .stopword && count >= 2) {
                if kind != .stopword { words.append(TextAnalyzer.normalizeQueryTerm(tok.text)) }
                count += 1
                advance()
            }
            guard count > 0 else { throw fail() }
            try expect(.quote)
            var n: ParseNode
            if count == 1 {
                n = ParseNode(.token(words[0]))
            } else {
                n = ParseNode(.phrase(exact: true))
                for w in words { n.children.append(ParseNode(.token(w))) }
            }
            n.verbatim = true
            stack.append(.operand(n, isUnion: false))
        case .percent:
            var depth = 0
            while kind == .percent && depth < 3 { depth += 1; advance() }
            guard kind == .term || kind == .number || kind == .stopword else { throw fail() }
            let text = TextAnalyzer.normalizeQueryTerm(tok.text)
            advance()
            for _ in 0..<depth { try expect(.percent) }
            stack.append(.operand(ParseNode(.fuzzy(text, distance: depth)), isUnion: false))
        case .modifier:
            let field = unescape(tok.text)
            advance()
            if kind == .or {
                var fields = [field]
                while kind == .or {
                    advance()
                    guard kind == .term || kind == .number else { throw fail() }
                    fields.append(str(tok.text))
                    advance()
                }
                try expect(.colon)
                stack.append(.fields(fields))
                return
            }
            try expect(.colon)
            if kind == .lb {
                advance()
                stack.append(.operand(try parseTagList(field: field), isUnion: false))
            } else if kind == .lsqb {
                advance()
                let (lo, loIncl) = try parseNum()
                let (hi, hiIncl) = try parseNum()
                if kind != .rsqb {
                    // geo_filter ::= LSQB num num num TERM RSQB
                    let (radius, _) = try parseNum()
                    guard kind == .term else { throw fail() }
                    let unitName = str(tok.text)
                    advance()
                    try expect(.rsqb)
                    // RediSearch's DIALECT 1 parser sets GeoFilter_Validate's error as it meets the filter.
                    let filter = try GeoFilter.validated(field: field, longitude: lo, latitude: hi, radius: radius, unitName: unitName)
                    stack.append(.operand(ParseNode(.geo(filter)), isUnion: false))
                    return
                }
                advance()
                stack.append(.operand(ParseNode(.numeric(min: lo, minInclusive: loIncl, max: hi, maxInclusive: hiIncl,
                                                         field: field)), isUnion: false))
            } else {
                stack.append(.fields([field]))
            }
        default:
            throw fail()
        }
    }

    /// A term list: one token, or a phrase (INTERSECT) of adjacent words. The grammar's precedences let a
    /// second word be a number but end a longer list at a number or stopword (`a b 5` is `(a b) 5`).
    mutating func parseTermList() -> ParseNode? {
        var words: [String] = [TextAnalyzer.normalizeQueryTerm(tok.text)]
        advance()
        while kind == .term || (kind == .number && words.count == 1) {
            words.append(TextAnalyzer.normalizeQueryTerm(tok.text))
            advance()
        }
        if words.count == 1 { return ParseNode(.token(words[0])) }
        var n = ParseNode(.phrase(exact: false))
        for w in words { n.children.append(ParseNode(.token(w))) }
        return n
    }

    /// num ::= NUMBER | LP num | MINUS num
    mutating func parseNum() throws(QueryError) -> (Double, Bool) {
        var inclusive = true
        var negate = false
        while kind == .lp || kind == .minus {
            if kind == .lp { inclusive = false } else { negate.toggle() }
            advance()
        }
        guard kind == .number else { throw fail() }
        let v = tok.numval
        advance()
        return (negate ? -v : v, inclusive)
    }

    /// `{a | b c | pre*}`: values as written (case kept); term lists lowercased. In DIALECT 1 the closing `}` is
    /// optional and a `|` after it continues the list (`@t:{a} | b` is the tag list `a | b`).
    mutating func parseTagList(field: String) throws(QueryError) -> ParseNode {
        var tag = ParseNode(.tag(field))
        while true {
            switch kind {
            case .term, .number, .stopword:
                let first = tok
                advance()
                if kind == .term || kind == .number {
                    var n = ParseNode(.phrase(exact: false))
                    n.children.append(ParseNode(.token(TextAnalyzer.normalizeQueryTerm(first.text))))
                    while kind == .term || kind == .number || kind == .stopword {
                        if kind != .stopword { n.children.append(ParseNode(.token(TextAnalyzer.normalizeQueryTerm(tok.text)))) }
                        advance()
                    }
                    tag.children.append(n)
                } else {
                    tag.children.append(ParseNode(.token(str(first.text))))
                }
            case .prefix, .suffix, .contains:
                let t = tok
                advance()
                tag.children.append(ParseNode(.prefix(unescape(t.text), prefix: t.kind != .suffix, suffix: t.kind != .prefix)))
            default:
                throw fail()
            }
            while kind == .rb { advance() }
            if kind == .or { advance(); continue }
            return tag
        }
    }
}

// MARK: - Lowering to the public AST

extension ParseTree {
    func lower() throws(QueryError) -> ParsedQuery {
        guard let root else { return ParsedQuery(filter: .union([])) }
        if case .vector(let info) = root.kind, info.isKNN {
            let filter = try root.children.first.map { (c) throws(QueryError) -> QueryNode in try c.lower() } ?? .all
            let knn = try info.knnClause(hasFilter: !root.children.isEmpty)
            var parsed = ParsedQuery(filter: filter, knn: knn)
            parsed.scoring = ScoringTree(root: root.children.first)
            return parsed
        }
        var parsed = ParsedQuery(filter: try root.lower())
        parsed.scoring = ScoringTree(root: root)
        return parsed
    }
}

/// FT.SEARCH's `FILTER field min max` and `GEOFILTER field lon lat radius unit` (RediSearch 1.x's filters, still
/// sent by redis-py's `Query.add_filter`).
public enum GlobalFilter: Sendable {
    case numeric(field: String, min: Double, minInclusive: Bool, max: Double, maxInclusive: Bool)
    case geo(GeoFilter)

    /// `FILTER`'s bounds as NumericFilter_Parse reads them: `(` for exclusive, `-inf` / `+inf`, strtod otherwise, with
    /// RediSearch's `Bad lower range: x` / `Bad upper range: x`.
    public static func numeric(field: String, min: [UInt8], max: [UInt8]) throws(QueryError) -> GlobalFilter {
        let (lo, loInclusive) = try NumberParsing.parseRangeBound(min, isMin: true, sign: 1)
        let (hi, hiInclusive) = try NumberParsing.parseRangeBound(max, isMin: false, sign: 1)
        return .numeric(field: field, min: lo, minInclusive: loInclusive, max: hi, maxInclusive: hiInclusive)
    }
}

/// FT.SEARCH's options that change what the query tree matches: INFIELDS, FILTER / GEOFILTER, SLOP and INORDER.
public struct QueryScope: Sendable {
    /// INFIELDS: text clauses match only in these fields.
    public var textFields: [String]?
    /// FILTER then GEOFILTER, in the order given.
    public var filters: [GlobalFilter] = []
    /// SLOP: the words of every intersection at most this many positions apart (-1: no limit).
    public var slop = -1
    /// INORDER: the words of every intersection in the query's order.
    public var inOrder = false
    public init() {}
    public var isEmpty: Bool { textFields == nil && filters.isEmpty && slop == -1 && !inOrder }
}

extension ParsedQuery {
    /// Applies FT.SEARCH's INFIELDS, FILTER / GEOFILTER, SLOP and INORDER to the tree as RediSearch does, then lowers it
    /// again: INFIELDS ANDs a field mask into every node's (QueryNode_SetFieldMask); each filter leads the query's
    /// intersection (QAST_SetGlobalFilters: prepended to a top-level phrase, else the query and the filter become a
    /// new one; a KNN query's filter is wrapped the same way, or becomes the filter; an empty query stays empty); SLOP
    /// and INORDER apply to every intersection without its own `$slop` / `$inorder` (Query_EvalPhraseNode), the new
    /// ones included.
    public mutating func apply(_ scope: QueryScope) throws(QueryError) {
        if scope.isEmpty { return }
        var root = scoring.root
        if let fields = scope.textFields { root?.restrictFields(fields) }
        for global in scope.filters {
            let node: ParseNode
            switch global {
            case .numeric(let field, let lo, let loInclusive, let hi, let hiInclusive):
                node = ParseNode(.numeric(min: lo, minInclusive: loInclusive, max: hi, maxInclusive: hiInclusive, field: field))
            case .geo(let g):
                node = ParseNode(.geo(g))
            }
            guard var current = root else {
                if knn != nil { root = node }
                continue
            }
            if knn == nil, case .phrase = current.kind {
                current.children.insert(node, at: 0)
                root = current
            } else {
                root = ParseNode(.phrase(exact: false), children: [node, current])
            }
        }
        if scope.slop >= 0 || scope.inOrder { root?.applyProximity(slop: scope.slop, inOrder: scope.inOrder) }
        scoring = ScoringTree(root: root)
        if let root { filter = try root.lower() } else if knn != nil { filter = .all }
    }
}

extension VectorNodeInfo {
    /// Typed KNN options, validated with VecSim's messages (algorithm-specific checks are the executor's).
    /// `flat`: true for a FLAT field, false for HNSW, nil when unknown (then only algorithm-independent checks).
    func knnClause(hasFilter: Bool, flat: Bool? = nil) throws(QueryError) -> KNNClause {
        var clause = KNNClause(k: k, field: field, blob: blob, scoreAlias: yieldAs)
        var seen = Set<String>()
        for (name, value) in attributes {
            let upper = name.uppercased()
            if flat == true && (upper == "EF_RUNTIME" || upper == "EPSILON") { throw .vectorParams("Invalid option") }
            guard seen.insert(upper).inserted else { throw .vectorParams("Parameter was specified twice") }
            let bytes = Array(value.utf8)
            switch upper {
            case "EF_RUNTIME":
                guard let n = NumberParsing.parseInteger(bytes), n > 0 else { throw .vectorParams("Invalid value was given") }
                clause.efRuntime = n
            case "EPSILON":
                guard let d = NumberParsing.parseDouble(bytes), d > 0 else { throw .vectorParams("Invalid value was given") }
                clause.epsilon = d
            case "BATCH_SIZE":
                guard let n = NumberParsing.parseInteger(bytes), n > 0 else { throw .vectorParams("Invalid value was given") }
                clause.batchSize = n
            case "HYBRID_POLICY":
                switch upper == "HYBRID_POLICY" ? value.uppercased() : "" {
                case "BATCHES": clause.hybridPolicy = .batches
                case "ADHOC_BF": clause.hybridPolicy = .adhocBruteForce
                default: throw .vectorParams("invalid hybrid policy was given")
                }
            default:
                throw .vectorParams("Invalid option")
            }
        }
        if !hasFilter && (clause.hybridPolicy != nil || clause.batchSize != nil) {
            throw .vectorParams("hybrid query attributes were sent for a non-hybrid query")
        }
        if clause.hybridPolicy == .adhocBruteForce && clause.batchSize != nil {
            throw .vectorParams("'batch size' is irrelevant for 'ADHOC_BF' policy")
        }
        if flat == false && clause.epsilon != nil {
            throw .vectorParams("range query attributes were sent for a non-range query")
        }
        return clause
    }

    func rangeClause(flat: Bool? = nil) throws(QueryError) -> VectorRangeClause {
        var clause = VectorRangeClause(field: field, radius: radius, blob: blob, yieldDistanceAs: yieldAs)
        if radius < 0 {
            throw QueryError("Error parsing vector similarity query: negative radius (\(QueryExplain.cFormat("%g", radius))) given in a range query")
        }
        var seen = Set<String>()
        for (name, value) in attributes {
            let upper = name.uppercased()
            guard seen.insert(upper).inserted else { throw .vectorParams("Parameter was specified twice") }
            guard upper == "EPSILON", flat != true else { throw .vectorParams("Invalid option") }
            guard let d = NumberParsing.parseDouble(Array(value.utf8)), d > 0 else {
                throw .vectorParams("Invalid value was given")
            }
            clause.epsilon = d
        }
        return clause
    }
}

extension ParseNode {
    func lower() throws(QueryError) -> QueryNode {
        switch kind {
        case .token(let t):
            return .term(fields: fields, text: t)
        case .prefix, .fuzzy, .wildcardPattern:
            return .expansion(fields: fields, pattern: termPattern!)
        case .phrase(let exact):
            if exact {
                // A filter (FILTER / GEOFILTER) may lead a quoted phrase; it matches beside the words.
                var words: [String] = [], others: [QueryNode] = []
                for c in children {
                    if case .token(let w) = c.kind { words.append(w) } else { others.append(try c.lower()) }
                }
                let phrase = QueryNode.phrase(fields: fields, words: words)
                return others.isEmpty ? phrase : .intersection(others + [phrase])
            }
            let lowered = try children.map { (c) throws(QueryError) -> QueryNode in try c.lower() }
            let slop = effectiveSlop
            return slop >= 0 ? .proximity(lowered, slop: slop, inOrder: inOrder) : .intersection(lowered)
        case .union:
            return .union(try children.map { (c) throws(QueryError) -> QueryNode in try c.lower() })
        case .not:
            return .not(try children.first?.lower() ?? .union([]))
        case .optional:
            return .optional(try children.first?.lower() ?? .union([]))
        case .tag(let field):
            return .tag(field: field, values: try loweredTagValues())
        case .numeric(let min, let minInclusive, let max, let maxInclusive, let field):
            return .numericRange(field: field, min: min, minExclusive: !minInclusive, max: max, maxExclusive: !maxInclusive)
        case .geo(let filter):
            return .geo(filter)
        case .vector(let info):
            if info.isKNN { throw QueryError("Syntax error: KNN must be the whole query") }
            return .vectorRange(try info.rangeClause())
        case .wildcard:
            return .all
        case .missing(let f):
            throw QueryError("'ismissing' requires field '\(f)' to be defined with 'INDEXMISSING'")
        case .null:
            return .union([])
        }
    }

    /// The pattern of an affix, fuzzy or wildcard node.
    var termPattern: TermPattern? {
        switch kind {
        case .prefix(let t, let isPrefix, let isSuffix):
            return isPrefix && isSuffix ? .contains(t) : isSuffix ? .suffix(t) : .prefix(t)
        case .fuzzy(let t, let distance): return .fuzzy(t, distance: distance)
        case .wildcardPattern(let t): return .wildcard(t)
        default: return nil
        }
    }

    /// A TAG node's values as matching uses them (escapes kept as in the tree).
    func loweredTagValues() throws(QueryError) -> [TagValue] {
        var values: [TagValue] = []
        for c in children {
            switch c.kind {
            case .token(let t):
                // A literal value ending in an escaped `*` keeps its backslash.
                var v = ParseNode.unescapeTag(t)
                if t.hasSuffix("\\*") { v = String(v.dropLast()) + "\\*" }
                values.append(.exact(v))
            case .prefix, .wildcardPattern:
                values.append(.pattern(c.termPattern!))
            case .phrase:
                var words: [String] = []
                for w in c.children { if case .token(let s) = w.kind { words.append(s) } }
                values.append(.exact(words.joined(separator: " ")))
            default:
                throw .unsupported("fuzzy tag values")
            }
        }
        return values
    }

    /// Tag values keep RediSearch's backslash escapes in the tree; matching uses the unescaped text.
    static func unescapeTag(_ t: String) -> String {
        guard t.utf8.contains(UInt8(ascii: "\\")) else { return t }
        var out: [UInt8] = []
        let b = Array(t.utf8)
        var j = 0
        while j < b.count {
            if b[j] == UInt8(ascii: "\\") && j + 1 < b.count && TextAnalyzer.isPunctOrSpace(b[j + 1]) { j += 1 }
            out.append(b[j]); j += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
