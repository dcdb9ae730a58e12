// FT.AGGREGATE's pipeline: values, the APPLY/FILTER expression language, reducers, and pull-based result
// processors (grouper, sorter, pager, ...) that reproduce RediSearch 2.10's row order and `total` quirks.
// It knows nothing about sockets or the keyspace: documents arrive as snapshots of their hash fields.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Keyspace
import CNumberFormat

/// A double cast to a C `long long` as RediSearch's expressions do on x86-64: truncated toward zero, and NaN or a value
/// out of range becomes the minimum (what `cvttsd2si` gives) instead of trapping.
func cTruncated64(_ value: Double) -> Int64 {
    value > -9_223_372_036_854_775_809.0 && value < 9_223_372_036_854_775_808.0 ? Int64(value) : .min
}

/// The same for a C `int` (`substr`'s offset and length).
func cTruncated32(_ value: Double) -> Int {
    value > -2_147_483_649.0 && value < 2_147_483_648.0 ? Int(value) : Int(Int32.min)
}

// MARK: - Values

/// A value in an aggregate row (RediSearch's RSValue, minus references).
public indirect enum AggValue: Equatable, Sendable {
    case null
    case number(Double)
    case string([UInt8])
    case array([AggValue])

    public static func text(_ s: String) -> AggValue { .string(Array(s.utf8)) }

    /// RediSearch's RSValue_NumToString: integers with %lld, everything else with %.12g.
    public static func formatNumber(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded(.towardZero), abs(d) < 9.2e18 { return String(Int64(d)) }
        return formatG(d, precision: 12)
    }

    /// The value as text (numbers formatted as in replies); nil for null and arrays.
    public var textValue: String? {
        switch self {
        case .number(let d): return Self.formatNumber(d)
        case .string(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// RSValue_ToNumber: numbers, and strings that parse entirely as numbers.
    public var numberValue: Double? {
        switch self {
        case .number(let d): return d
        case .string(let b):
            guard !b.isEmpty else { return nil }
            let s = String(decoding: b, as: UTF8.self)
            var end: UnsafeMutablePointer<CChar>?
            return s.withCString { p -> Double? in
                let v = strtod(p, &end)
                return end.map { $0 == p + strlen(p) } == true ? v : nil
            }
        default: return nil
        }
    }

    /// RSValue_BoolTest.
    public var truthy: Bool {
        switch self {
        case .null: return false
        case .number(let d): return d != 0
        case .string(let b): return !b.isEmpty
        case .array(let a): return !a.isEmpty
        }
    }

    /// RSValue_Hash (FNV-1a 64 over the bytes / the double's bytes; null adds 1), used for group keys.
    func hash(_ seed: UInt64) -> UInt64 {
        switch self {
        case .null: return seed &+ 1
        case .number(var d): return withUnsafeBytes(of: &d) { fnv64a($0, seed) }
        case .string(let b): return b.withUnsafeBytes { fnv64a($0, seed) }
        case .array(let a): var h = seed; for v in a { h = v.hash(h) }; return h
        }
    }
}

func fnv64a(_ bytes: UnsafeRawBufferPointer, _ seed: UInt64) -> UInt64 {
    var h = seed
    for b in bytes { h ^= UInt64(b); h = h &* 0x100000001b3 }
    return h
}

/// RSValue_Cmp as the sorter and comparisons use it: numbers numerically, strings bytewise; mixed converts.
func compareValues(_ a: AggValue, _ b: AggValue) -> Int {
    switch (a, b) {
    case (.number(let x), .number(let y)): return x < y ? -1 : (x > y ? 1 : 0)
    case (.string(let x), .string(let y)):
        return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
    case (.null, .null): return 0
    case (.null, _): return -1
    case (_, .null): return 1
    case (.number(let x), _):
        if let y = b.numberValue { return x < y ? -1 : (x > y ? 1 : 0) }
        let xs = Array(AggValue.formatNumber(x).utf8), ys = Array((b.textValue ?? "").utf8)
        return xs.lexicographicallyPrecedes(ys) ? -1 : (xs == ys ? 0 : 1)
    case (_, .number):
        return -compareValues(b, a)
    default:
        let xs = Array((a.textValue ?? "").utf8), ys = Array((b.textValue ?? "").utf8)
        return xs.lexicographicallyPrecedes(ys) ? -1 : (xs == ys ? 0 : 1)
    }
}

/// An error that ends an aggregate; `message` is the reply text (RediSearch's wording, no `ERR ` prefix).
public struct AggregateError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

// MARK: - Lookup and rows

/// The named columns a pipeline stage can see, in creation order (which is also the reply order).
public final class AggLookup {
    public struct Key {
        public var name: String
        /// Hash field to read it from for document rows (nil: produced by the pipeline).
        public var source: String?
        public var coerceNumber = false
        public var lowercase = false
    }
    public private(set) var keys: [Key] = []
    public init() {}

    public func index(of name: String) -> Int? { keys.firstIndex { $0.name == name } }

    @discardableResult
    public func add(_ key: Key) -> Int {
        if let i = index(of: key.name) {
            if keys[i].source == nil && key.source != nil { keys[i] = key }
            return i
        }
        keys.append(key)
        return keys.count - 1
    }
}

/// One row: values by lookup slot (nil = absent).
public struct AggRow {
    public var values: [AggValue?]
    public var docId: UInt32 = 0
    public init(count: Int) { values = Array(repeating: nil, count: count) }
    public subscript(i: Int) -> AggValue? {
        get { i < values.count ? values[i] : nil }
        set {
            if i >= values.count { values.append(contentsOf: Array(repeating: nil, count: i - values.count + 1)) }
            values[i] = newValue
        }
    }
}

// MARK: - Expressions

public indirect enum AggExpr: Equatable, Sendable {
    case number(Double)
    case string(String)
    case property(String)
    case binary(String, AggExpr, AggExpr)
    case not(AggExpr)
    case call(String, [AggExpr])

    /// Every property the expression reads, in order.
    public var properties: [String] {
        switch self {
        case .property(let p): return [p]
        case .binary(_, let a, let b): return a.properties + b.properties
        case .not(let a): return a.properties
        case .call(_, let args): return args.flatMap { $0.properties }
        default: return []
        }
    }
}

/// Parses RediSearch's APPLY/FILTER language: precedence `|| && !` < comparisons < `+ -` < `* / % ^`, all left-assoc.
public struct AggExprParser {
    enum Token: Equatable { case num(Double), str(String), prop(String), sym(String), op(String), lp, rp, comma, end }
    var tokens: [Token] = []
    var pos = 0
    let source: String

    public static func parse(_ text: String) throws(AggregateError) -> AggExpr {
        var p = AggExprParser(source: text)
        try p.lex()
        // Parsing recurses per parenthesis and unary operator, evaluation per level of the tree: both are bounded so
        // that a deep expression is an error, not a stack overflow (10,000 parentheses used to kill the node).
        // The tree is bounded before it is built: freeing a deep tree recurses too.
        var depth = 0, deepest = 0, unaryRun = 0, operators = 0
        for t in p.tokens {
            if t == .lp { depth += 1 } else if t == .rp { depth -= 1 }
            if case .op = t { operators += 1 }
            unaryRun = t == .op("!") || t == .op("-") ? unaryRun + 1 : 0
            deepest = max(deepest, depth + unaryRun)
        }
        guard deepest <= maximumNesting, operators <= maximumDepth else { throw nestingError }
        let e = try p.expr(0)
        guard p.tokens[p.pos] == .end else { throw p.syntaxError() }
        return e
    }

    static let maximumNesting = 256
    /// Operators in one expression: `1 + 1 + … + 1` nests one level per operator.
    static let maximumDepth = 1024
    static var nestingError: AggregateError {
        AggregateError("Syntax error: the expression nests more than \(maximumNesting) levels or has more than \(maximumDepth) operators")
    }

    init(source: String) { self.source = source }

    func syntaxError() -> AggregateError { AggregateError("Syntax error at offset \(min(pos, source.utf8.count)) near \(source)") }

    mutating func lex() throws(AggregateError) {
        let s = Array(source.utf8)
        var i = 0
        func isIdent(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95 }
        while i < s.count {
            let c = s[i]
            if c == 32 || c == 9 || c == 10 || c == 13 { i += 1; continue }
            if c >= 48 && c <= 57 || (c == 46 && i + 1 < s.count && s[i + 1] >= 48 && s[i + 1] <= 57) {
                var j = i
                while j < s.count, (s[j] >= 48 && s[j] <= 57) || s[j] == 46 || s[j] == 101 || s[j] == 69
                        || ((s[j] == 43 || s[j] == 45) && j > i && (s[j - 1] == 101 || s[j - 1] == 69)) { j += 1 }
                guard let v = Double(String(decoding: s[i..<j], as: UTF8.self)) else { throw AggregateError("Syntax error at offset \(i) near \(source)") }
                tokens.append(.num(v)); i = j; continue
            }
            if c == 64 {  // @property
                var j = i + 1
                while j < s.count, isIdent(s[j]) || s[j] == 46 || s[j] == 36 || s[j] == 58 { j += 1 }
                tokens.append(.prop(String(decoding: s[(i + 1)..<j], as: UTF8.self))); i = j; continue
            }
            if c == 34 || c == 39 {  // string literal with backslash escapes
                var j = i + 1
                var out: [UInt8] = []
                while j < s.count && s[j] != c {
                    if s[j] == 92 && j + 1 < s.count { out.append(s[j + 1]); j += 2 } else { out.append(s[j]); j += 1 }
                }
                guard j < s.count else { throw AggregateError("Syntax error at offset \(i) near \(source)") }
                tokens.append(.str(String(decoding: out, as: UTF8.self))); i = j + 1; continue
            }
            if isIdent(c) {
                var j = i
                while j < s.count, isIdent(s[j]) { j += 1 }
                tokens.append(.sym(String(decoding: s[i..<j], as: UTF8.self))); i = j; continue
            }
            let two = i + 1 < s.count ? String(decoding: s[i...(i + 1)], as: UTF8.self) : ""
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(two) { tokens.append(.op(two)); i += 2; continue }
            switch c {
            case 40: tokens.append(.lp)
            case 41: tokens.append(.rp)
            case 44: tokens.append(.comma)
            case 43, 45, 42, 47, 37, 94, 60, 62, 33: tokens.append(.op(String(UnicodeScalar(c))))
            default: throw AggregateError("Syntax error at offset \(i) near \(source)")
            }
            i += 1
        }
        tokens.append(.end)
    }

    static func level(_ op: String) -> Int {
        switch op {
        case "||", "&&": return 1
        case "==", "!=", "<", "<=", ">", ">=": return 2
        case "+", "-": return 3
        case "*", "/", "%", "^": return 4
        default: return 0
        }
    }

    mutating func expr(_ minLevel: Int) throws(AggregateError) -> AggExpr {
        var lhs = try primary()
        while case .op(let op) = tokens[pos], Self.level(op) > minLevel {
            pos += 1
            let rhs = try expr(Self.level(op))
            lhs = .binary(op, lhs, rhs)
        }
        return lhs
    }

    mutating func primary() throws(AggregateError) -> AggExpr {
        let t = tokens[pos]
        pos += 1
        switch t {
        case .num(let v): return .number(v)
        case .str(let s): return .string(s)
        case .prop(let p): return .property(p)
        case .op("-"):
            if case .num(let v) = tokens[pos] { pos += 1; return .number(-v) }
            throw syntaxError()
        case .op("!"):
            return .not(try expr(1))
        case .lp:
            let e = try expr(0)
            guard tokens[pos] == .rp else { throw syntaxError() }
            pos += 1
            return e
        case .sym(let name):
            guard tokens[pos] == .lp else {
                throw AggregateError("Unknown symbol '\(name)'")
            }
            pos += 1
            var args: [AggExpr] = []
            if tokens[pos] != .rp {
                while true {
                    args.append(try expr(0))
                    if tokens[pos] == .comma { pos += 1; continue }
                    break
                }
            }
            guard tokens[pos] == .rp else { throw syntaxError() }
            pos += 1
            let lower = name.lowercased()
            guard AggFunctions.known.contains(lower) else { throw AggregateError("Unknown function name '\(name)'") }
            return .call(lower, args)
        default:
            throw syntaxError()
        }
    }
}

enum AggFunctions {
    static let known: Set<String> = ["upper", "lower", "floor", "ceil", "abs", "sqrt", "log", "log2", "exp", "exists",
                                     "substr", "format", "strlen", "to_number", "to_str", "startswith", "contains",
                                     "timefmt", "parsetime", "year", "monthofyear", "dayofyear", "dayofmonth",
                                     "dayofweek", "minute", "hour", "day", "month", "split", "geodistance"]
}

/// Evaluates an expression against a row; `slots` maps property names to lookup slots.
struct AggEvaluator {
    let slots: [String: Int]

    func eval(_ e: AggExpr, _ row: AggRow) throws(AggregateError) -> AggValue {
        switch e {
        case .number(let v): return .number(v)
        case .string(let s): return .text(s)
        case .property(let p):
            guard let slot = slots[p], let v = row[slot], v != .null else {
                throw AggregateError("\(p): has no value, consider using EXISTS if applicable")
            }
            return v
        case .not(let a):
            return .number(try eval(a, row).truthy ? 0 : 1)
        case .binary(let op, let a, let b):
            switch op {
            case "&&":
                guard try eval(a, row).truthy else { return .number(0) }
                return .number(try eval(b, row).truthy ? 1 : 0)
            case "||":
                if try eval(a, row).truthy { return .number(1) }
                return .number(try eval(b, row).truthy ? 1 : 0)
            case "==", "!=", "<", "<=", ">", ">=":
                let c = compareValues(try eval(a, row), try eval(b, row))
                let r: Bool
                switch op {
                case "==": r = c == 0
                case "!=": r = c != 0
                case "<": r = c < 0
                case "<=": r = c <= 0
                case ">": r = c > 0
                default: r = c >= 0
                }
                return .number(r ? 1 : 0)
            default:
                guard let x = try eval(a, row).numberValue, let y = try eval(b, row).numberValue else {
                    throw AggregateError("Could not convert value to a number")
                }
                switch op {
                case "+": return .number(x + y)
                case "-": return .number(x - y)
                case "*": return .number(x * y)
                case "/": return .number(y != 0 ? x / y : .nan)
                case "%":
                    if y == -1 { return .number(0) }
                    let divisor = cTruncated64(y)
                    guard divisor != 0 else { return .number(.nan) }
                    return .number(Double(cTruncated64(x).remainderReportingOverflow(dividingBy: divisor).partialValue))
                default: return .number(pow(x, y))
                }
            }
        case .call(let name, let args):
            return try call(name, args, row)
        }
    }

    private func number(_ args: [AggExpr], _ row: AggRow, _ name: String) throws(AggregateError) -> Double {
        guard args.count == 1 else { throw Self.arityError(name) }
        guard let d = try eval(args[0], row).numberValue else { throw AggregateError("Could not convert value to a number") }
        return d
    }

    private func call(_ name: String, _ args: [AggExpr], _ row: AggRow) throws(AggregateError) -> AggValue {
        switch name {
        case "exists":
            guard args.count == 1 else { throw Self.arityError(name) }
            if case .property(let p) = args[0] {
                guard let slot = slots[p], let v = row[slot], v != .null else { return .number(0) }
                return .number(1)
            }
            return .number((try? eval(args[0], row)).map { $0 == .null ? 0 : 1 } ?? 0)
        case "floor": return .number(Glibc.floor(try number(args, row, name)))
        case "ceil": return .number(Glibc.ceil(try number(args, row, name)))
        case "abs": return .number(Swift.abs(try number(args, row, name)))
        case "sqrt": return .number(Glibc.sqrt(try number(args, row, name)))
        case "log": return .number(Glibc.log(try number(args, row, name)))
        case "log2": return .number(Glibc.log2(try number(args, row, name)))
        case "exp": return .number(Glibc.exp(try number(args, row, name)))
        case "to_number": return .number(try number(args, row, name))
        case "upper", "lower", "strlen", "to_str":
            guard args.count == 1 else { throw Self.arityError(name) }
            let v = try eval(args[0], row)
            guard let s = v.textValue else { return v }
            switch name {
            case "upper": return .text(s.uppercased())
            case "lower": return .text(s.lowercased())
            case "strlen": return .number(Double(s.utf8.count))
            default: return .text(s)
            }
        case "startswith", "contains":
            guard args.count == 2 else { throw Self.arityError(name) }
            let s = try eval(args[0], row).textValue ?? "", p = try eval(args[1], row).textValue ?? ""
            if name == "startswith" { return .number(s.utf8.starts(with: p.utf8) ? 1 : 0) }
            if p.isEmpty { return .number(Double(s.utf8.count + 1)) }
            var count = 0
            let sb = Array(s.utf8), pb = Array(p.utf8)
            var i = 0
            while i + pb.count <= sb.count { if Array(sb[i..<(i + pb.count)]) == pb { count += 1; i += pb.count } else { i += 1 } }
            return .number(Double(count))
        case "substr":
            guard args.count == 3 else { throw Self.arityError(name) }
            let s = Array((try eval(args[0], row).textValue ?? "").utf8)
            guard var offset = try eval(args[1], row).numberValue.map(cTruncated32),
                  var len = try eval(args[2], row).numberValue.map(cTruncated32) else { throw AggregateError("Could not convert value to a number") }
            // RediSearch's offsets are C ints: an offset still before the start, or past the end, gives "".
            if offset < 0 { offset = s.count + offset }
            guard offset >= 0, offset <= s.count else { return .string([]) }
            if len < 0 { len = s.count - offset + len }
            len = max(0, min(len, s.count - offset))
            return .string(Array(s[offset..<(offset + len)]))
        case "format":
            guard let first = args.first else { throw AggregateError("Need at least one argument for format") }
            let fmt = Array((try eval(first, row).textValue ?? "").utf8)
            var out: [UInt8] = []
            var argi = 1
            var i = 0
            while i < fmt.count {
                if fmt[i] == 37 && i + 1 < fmt.count {
                    let c = fmt[i + 1]
                    if c == 37 { out.append(37) } else if c == 115 {
                        guard argi < args.count else { throw AggregateError("Not enough arguments for format") }
                        let v = try eval(args[argi], row)
                        argi += 1
                        out.append(contentsOf: (v.textValue ?? "(null)").utf8)
                    } else { throw AggregateError("Invalid format specifier %\(UnicodeScalar(c))") }
                    i += 2
                } else { out.append(fmt[i]); i += 1 }
            }
            return .string(out)
        case "timefmt":
            guard args.count == 1 || args.count == 2 else { throw Self.arityError(name) }
            var format = "%FT%TZ"
            if args.count == 2 {
                let f = try eval(args[1], row)
                guard case .string(let bytes) = f else {
                    throw AggregateError("Invalid type (\(Self.typeCode(f))) for argument 1 in function 'time'. VALIDATE_ARG__TYPE(v, RSValue_String) was false.")
                }
                format = String(decoding: bytes, as: UTF8.self)
            }
            guard let seconds = try eval(args[0], row).numberValue, var parts = Self.utcParts(seconds) else { return .null }
            var buffer = [CChar](repeating: 0, count: 1024)
            let written = strftime(&buffer, buffer.count, format, &parts)
            return written == 0 ? .null : .string(buffer[..<written].map { UInt8(bitPattern: $0) })
        case "parsetime":
            guard args.count == 2 else { throw Self.arityError(name) }
            let text = try stringArgument(args, 0, row, name), format = try stringArgument(args, 1, row, name)
            guard let text, let format else { return .null }
            var parts = tm()
            guard vs_strptime(text, format, &parts) != nil else { return .null }
            return .number(Double(timegm(&parts)))
        case "year", "monthofyear", "dayofyear", "dayofmonth", "dayofweek", "minute", "hour", "day", "month":
            guard args.count == 1 else { throw Self.arityError(name) }
            // RediSearch answers null for a negative time.
            guard let seconds = try eval(args[0], row).numberValue, seconds >= 0, var parts = Self.utcParts(seconds) else {
                return .null
            }
            switch name {
            case "year": return .number(Double(parts.tm_year) + 1900)
            case "monthofyear": return .number(Double(parts.tm_mon))
            case "dayofyear": return .number(Double(parts.tm_yday))
            case "dayofmonth": return .number(Double(parts.tm_mday))
            case "dayofweek": return .number(Double(parts.tm_wday))
            default:
                // The start of the minute, hour, day or month the time falls in.
                parts.tm_sec = 0
                if name != "minute" { parts.tm_min = 0 }
                if name == "day" || name == "month" { parts.tm_hour = 0 }
                if name == "month" { parts.tm_mday = 1 }
                return .number(Double(timegm(&parts)))
            }
        case "split":
            guard (1...3).contains(args.count) else { throw AggregateError("Invalid number of arguments for split") }
            guard let text = try stringArgument(args, 0, row, name) else { return .null }
            let separators = Set((args.count > 1 ? try eval(args[1], row).textValue ?? "" : ",").utf8)
            let stripped = Set((args.count > 2 ? try eval(args[2], row).textValue ?? "" : " ").utf8)
            var parts: [AggValue] = []
            for token in Array(text.utf8).split(omittingEmptySubsequences: false, whereSeparator: separators.contains) {
                var piece = token[...]
                while let b = piece.first, stripped.contains(b) { piece.removeFirst() }
                while let b = piece.last, stripped.contains(b) { piece.removeLast() }
                if !piece.isEmpty { parts.append(.string(Array(piece))) }
            }
            return .array(parts)
        case "geodistance":
            guard (2...4).contains(args.count) else { throw Self.arityError(name) }
            return .number(try geoDistance(args, row))
        default:
            throw AggregateError("Unknown function name '\(name)'")
        }
    }

    /// geodistance(a, b): each point is a "lon,lat" text or two numbers; meters rounded to two decimals, NaN when a
    /// point cannot be read (RediSearch evaluates to NaN rather than failing the row).
    private func geoDistance(_ args: [AggExpr], _ row: AggRow) throws(AggregateError) -> Double {
        var points: [(Double, Double)] = []
        var j = 0
        for _ in 0..<2 {
            guard j < args.count else { return .nan }
            let v = try eval(args[j], row)
            if v.numberValue != nil {
                guard j + 1 < args.count, let lon = v.numberValue, let lat = try eval(args[j + 1], row).numberValue else { return .nan }
                points.append((lon, lat))
                j += 2
            } else {
                guard case .string(let bytes) = v else { return .nan }
                switch GeoHash.parse(bytes) {
                case .success(let p): points.append((p.longitude, p.latitude))
                case .failure(let e): throw AggregateError(e.message)
                }
                j += 1
            }
        }
        let d = GeoHash.distance(points[0].0, points[0].1, points[1].0, points[1].1)
        return (d * 100).rounded(.toNearestOrAwayFromZero) / 100
    }

    /// An argument RediSearch requires to be a string (a number is an error; null gives nil).
    private func stringArgument(_ args: [AggExpr], _ i: Int, _ row: AggRow, _ name: String) throws(AggregateError) -> String? {
        let v = try eval(args[i], row)
        switch v {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .null: return nil
        default:
            throw AggregateError("Invalid type (\(Self.typeCode(v))) for argument \(i) in function '\(name)'. VALIDATE_ARG__STRING(v, \(i)) was false.")
        }
    }

    /// RediSearch's RSValueType numbers, as its type errors print them.
    private static func typeCode(_ v: AggValue) -> Int {
        switch v {
        case .number: return 1
        case .string: return 2
        case .null: return 3
        case .array: return 5
        }
    }

    /// The UTC calendar fields of a time in seconds (truncated as a C cast does); nil past what gmtime can represent.
    private static func utcParts(_ seconds: Double) -> tm? {
        guard seconds > -6.7e16, seconds < 6.7e16 else { return nil }
        var t = time_t(seconds)
        var parts = tm()
        return gmtime_r(&t, &parts) == nil ? nil : parts
    }

    /// RediSearch's wrong-arity errors, which differ by function family.
    private static func arityError(_ name: String) -> AggregateError {
        switch name {
        case "abs": return AggregateError("Invalid number of arguments for fabs")
        case "ceil", "floor", "log", "log2", "exp", "sqrt": return AggregateError("Invalid number of arguments for \(name)")
        case "timefmt": return AggregateError("Invalid arguments for function 'time'")
        default: return AggregateError("Invalid arguments for function '\(name)'")
        }
    }
}

// MARK: - Reducers

public struct ReducerSpec: Equatable, Sendable {
    public var name: String
    public var args: [String]
    public var alias: String
}

/// Accumulating state of one reducer for one group.
enum ReducerState {
    case count(Int)
    case sum(Double, Int)
    case minmax(Double?)
    case distinct(Set<UInt64>)
    case hll([UInt8])
    case list(RedisDictOrder)
    case first(AggValue?, AggValue?)
    case samples([Double])
}

struct Reducer {
    let kind: String
    let slot: Int?      // source property slot
    let sortSlot: Int?  // FIRST_VALUE ... BY
    let descending: Bool
    let quantile: Double

    func initial() -> ReducerState {
        switch kind {
        case "COUNT": return .count(0)
        case "SUM", "AVG": return .sum(0, 0)
        case "MIN", "MAX": return .minmax(nil)
        case "COUNT_DISTINCT": return .distinct([])
        case "COUNT_DISTINCTISH": return .hll(Array(repeating: 0, count: 256))
        case "TOLIST": return .list(RedisDictOrder())
        case "FIRST_VALUE": return .first(nil, nil)
        default: return .samples([])
        }
    }

    func add(_ state: inout ReducerState, _ row: AggRow) {
        let v = slot.flatMap { row[$0] }
        switch state {
        case .count(let n): state = .count(n + 1)
        case .sum(let s, let n):
            // sum.c counts every row; only numeric values add to the total.
            state = .sum(s + (v?.numberValue ?? 0), n + 1)
        case .minmax(let cur):
            guard let d = v?.numberValue else { return }
            if let c = cur { state = .minmax(kind == "MIN" ? Swift.min(c, d) : Swift.max(c, d)) } else { state = .minmax(d) }
        case .distinct(var set):
            guard let v, v != .null else { return }
            set.insert(v.hash(0))
            state = .distinct(set)
        case .hll(var registers):
            // count_distinct.c: HyperLogLog with 8 precision bits over the folded 64-bit value hash.
            guard let v, v != .null else { return }
            let h = v.hash(0x5f61767a)
            let h32 = UInt32(truncatingIfNeeded: h) ^ UInt32(truncatingIfNeeded: h >> 32)
            let index = Int(h32 >> 24)
            var rank: UInt8 = 1
            var x = h32
            while rank <= 24 { if x & 1 == 1 { break }; x >>= 1; rank += 1 }
            if rank > registers[index] { registers[index] = rank }
            state = .hll(registers)
        case .list(var dict):
            guard let v else { return }
            state = .count(0)  // release the dict's storage so the add below does not copy it
            if case .array(let a) = v { for item in a { dict.add(item) } } else { dict.add(v) }
            state = .list(dict)
        case .first(let best, let bestKey):
            // first_value.c: without BY the first row wins (a missing value gives null); with BY, the row whose
            // sort value is best (ascending unless DESC), a null sort value losing to anything.
            guard let sortSlot else {
                if best == nil { state = .first(v ?? .null, nil) }
                return
            }
            guard let v else { return }
            let key = row[sortSlot] ?? .null
            guard best != nil, let bk = bestKey else { state = .first(v, key); return }
            let rc = (descending ? 1 : -1) * compareValues(key, bk)
            let isNull = bk == .null
            if (!isNull && rc > 0) || (isNull && rc < 0) { state = .first(v, key) }
        case .samples(var xs):
            guard let d = v?.numberValue else { return }
            xs.append(d)
            state = .samples(xs)
        }
    }

    func finish(_ state: ReducerState) -> AggValue {
        switch state {
        case .count(let n): return .number(Double(n))
        case .sum(let s, let n): return .number(kind == "AVG" ? (n == 0 ? 0 : s / Double(n)) : s)
        case .minmax(let cur):
            return .number(cur ?? 0)
        case .distinct(let set): return .number(Double(set.count))
        case .hll(let registers):
            let m = 256.0
            let alpha = 0.7213 / (1 + 1.079 / m) * m * m
            var sum = 0.0
            for r in registers { sum += 1 / Double(UInt64(1) << r) }
            var estimate = alpha / sum
            if estimate <= 2.5 * m {
                let zeros = registers.filter { $0 == 0 }.count
                if zeros > 0 { estimate = m * Glibc.log(m / Double(zeros)) }
            } else if estimate > 4294967296.0 / 30 {
                estimate = -4294967296.0 * Glibc.log(1 - estimate / 4294967296.0)
            }
            return .number(Double(UInt64(estimate)))
        case .list(let dict): return .array(dict.ordered)
        case .first(let v, _): return v ?? .null
        case .samples(let xs):
            if kind == "STDDEV" {
                guard xs.count > 1 else { return .number(0) }
                let mean = xs.reduce(0, +) / Double(xs.count)
                let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
                return .number(variance.squareRoot())
            }
            return .number(QuantileStream.query(xs, quantile))
        }
    }
}

/// RediSearch's util/dict.c (Redis's incremental-rehash dict) keyed by RSValue_Hash, reproduced for TOLIST's order.
struct RedisDictOrder {
    var values: [AggValue] = []
    var hashes: [UInt64] = []
    /// Two tables of buckets; a bucket lists entry indexes, newest first.
    var tables: [[[Int]]] = [[], []]
    var used = [0, 0]
    var rehashIndex = -1

    var isRehashing: Bool { rehashIndex != -1 }

    private mutating func rehashStep() {
        guard isRehashing else { return }
        var emptyVisits = 10
        if used[0] != 0 {
            while tables[0][rehashIndex].isEmpty {
                rehashIndex += 1
                emptyVisits -= 1
                if emptyVisits == 0 { return }
            }
            let mask = tables[1].count - 1
            for e in tables[0][rehashIndex] {
                let h = Int(truncatingIfNeeded: hashes[e] & UInt64(mask))
                tables[1][h].insert(e, at: 0)
                used[0] -= 1; used[1] += 1
            }
            tables[0][rehashIndex] = []
            rehashIndex += 1
        }
        if used[0] == 0 {
            tables[0] = tables[1]; used[0] = used[1]
            tables[1] = []; used[1] = 0
            rehashIndex = -1
        }
    }

    private mutating func expand(_ size: Int) {
        var n = 4
        while n < size { n *= 2 }
        if tables[0].isEmpty { tables[0] = Array(repeating: [], count: n); return }
        tables[1] = Array(repeating: [], count: n)
        rehashIndex = 0
    }

    mutating func add(_ v: AggValue) {
        if isRehashing { rehashStep() }
        if !isRehashing {
            if tables[0].isEmpty { expand(4) } else if used[0] >= tables[0].count { expand(used[0] * 2) }
        }
        let h = v.hash(0)
        for t in 0...1 {
            guard !tables[t].isEmpty else { break }
            let idx = Int(truncatingIfNeeded: h & UInt64(tables[t].count - 1))
            for e in tables[t][idx] where hashes[e] == h && values[e] == v { return }
            if !isRehashing { break }
        }
        let t = isRehashing ? 1 : 0
        let idx = Int(truncatingIfNeeded: h & UInt64(tables[t].count - 1))
        values.append(v); hashes.append(h)
        tables[t][idx].insert(values.count - 1, at: 0)
        used[t] += 1
    }

    /// Iteration order: table 0's buckets, then table 1's while rehashing; each bucket newest first.
    var ordered: [AggValue] {
        var out: [AggValue] = []
        for t in 0...(isRehashing ? 1 : 0) { for b in tables[t] { for e in b { out.append(values[e]) } } }
        return out
    }
}

/// util/quantile.c with no target quantiles (so error 0.02·r), a 500-value buffer, flush + compress per buffer.
enum QuantileStream {
    struct Sample { var v: Double; var g: Double; var d: Double }

    static func query(_ values: [Double], _ q: Double, bufferCap: Int = 500) -> Double {
        var samples: [Sample] = []
        var n = 0.0
        func maxVal(_ r: Double) -> Double { 0.01 * 2.0 * r }
        func flush(_ buffer: [Double]) {
            let sorted = buffer.sorted()
            var r = 0.0
            var pos = 0
            for x in sorted {
                var inserted = false
                while pos < samples.count {
                    if samples[pos].v > x {
                        samples.insert(Sample(v: x, g: 1, d: (maxVal(r)).rounded(.down) - 1), at: pos)
                        inserted = true
                        break
                    }
                    r += samples[pos].g
                    pos += 1
                }
                if !inserted { samples.append(Sample(v: x, g: 1, d: 0)); pos = samples.count }
                else { pos += 1 }
                n += 1
            }
        }
        func compress() {
            guard samples.count >= 2 else { return }
            var i = samples.count - 2
            var r = n - 1 - samples[samples.count - 1].g
            while i >= 0 {
                let g = samples[i].g
                if samples[i].g + samples[i + 1].g + samples[i + 1].d <= maxVal(r) {
                    samples[i + 1].g += g
                    samples.remove(at: i)
                }
                r -= g
                i -= 1
            }
        }
        var buffer: [Double] = []
        for x in values {
            buffer.append(x)
            if buffer.count == bufferCap { flush(buffer); buffer.removeAll(); compress() }
        }
        if !buffer.isEmpty { flush(buffer) }
        guard !samples.isEmpty else { return 0 }
        var t = (q * n).rounded(.up)
        t += (maxVal(t) / 2).rounded(.down)
        var prev = 0
        var r = 0.0
        for i in 1..<max(1, samples.count) where samples.count > 1 {
            if r + samples[i].g + samples[i].d >= t { break }
            r += samples[i].g
            prev = i
        }
        return samples[prev].v
    }
}

// MARK: - Plan

public struct SortKey: Equatable, Sendable {
    public var property: String
    public var ascending: Bool
}

public enum AggStep: Equatable, Sendable {
    case load([String])
    case loadAll
    case groupBy([String], [ReducerSpec])
    /// SORTBY and LIMIT (and MAX) merged the way RediSearch's arrange step merges them: a SORTBY or LIMIT joins the
    /// last arrange step unless a GROUPBY comes after it.
    case arrange(ArrangeStep)
    case apply(AggExpr, String)
    case filter(AggExpr)
}

public struct ArrangeStep: Equatable, Sendable {
    public var sortKeys: [SortKey]?
    public var offset = 0
    public var limit = 0
    public var isLimited = false
}

/// The parsed FT.AGGREGATE arguments after the query (everything except PARAMS/DIALECT/TIMEOUT handling).
public struct AggregatePlan: Sendable {
    /// When the first step sorts by `property` alone (ADDSCORES' `@__score`), only the rows its heap keeps can leave
    /// the pipeline: the heap's size and direction, so the caller may hand over just those documents.
    public func leadingSort(by property: String) -> (size: Int, ascending: Bool)? {
        guard case .arrange(let a)? = steps.first, let keys = a.sortKeys, keys.count == 1, keys[0].property == property,
              !(a.isLimited && a.limit == 0) else { return nil }
        let wanted = a.offset.addingReportingOverflow(a.limit)
        guard !wanted.overflow else { return nil }
        return (wanted.partialValue == 0 ? 10 : wanted.partialValue, keys[0].ascending)
    }

    /// When LIMIT comes first, after nothing but LOAD and APPLY (which keep one row per document), only the first
    /// offset + limit documents can reach the output: that many, so the caller may hand over just those. RediSearch's
    /// pipeline stops reading there too, so they are all its total counts (`LIMIT n 0` reads everything: nil).
    public var leadingLimit: Int? {
        for step in steps {
            switch step {
            case .load, .apply: continue
            case .arrange(let a):
                guard a.sortKeys == nil, a.isLimited, a.limit > 0 else { return nil }
                let wanted = a.offset.addingReportingOverflow(a.limit)
                return wanted.overflow ? nil : wanted.partialValue
            default: return nil
            }
        }
        return nil
    }

    public var steps: [AggStep] = []
    public var verbatim = false
    public var withCursor = false
    public var cursorCount: Int?
    public var maxIdle: Int?
    public var params: [String: [UInt8]] = [:]
    public var dialect: Int?
    /// TIMEOUT (ms); a single node accepts it without enforcing it, a coordinator waits that long for its shards.
    public var timeoutMilliseconds: Int?
    /// ADDSCORES: each row gets the document's score as `__score`.
    public var addScores = false
    public var scorer = TextScorer.tfidf
    /// INFIELDS / SLOP / INORDER, which FT.AGGREGATE takes as FT.SEARCH does.
    public var scope = QueryScope()
    public init() {}

    /// The arrange step that a new SORTBY / LIMIT modifies (searching back to the last GROUPBY), created if missing.
    mutating func arrangeIndex() -> Int {
        for i in steps.indices.reversed() {
            if case .groupBy = steps[i] { break }
            if case .arrange = steps[i] { return i }
        }
        steps.append(.arrange(ArrangeStep()))
        return steps.count - 1
    }

    mutating func updateArrange(_ body: (inout ArrangeStep) -> Void) {
        let i = arrangeIndex()
        guard case .arrange(var a) = steps[i] else { return }
        body(&a)
        steps[i] = .arrange(a)
    }

    /// True when the rows need every hash field (LOAD *).
    public var loadsAll: Bool { steps.contains(.loadAll) }

    /// Parses from the argument after the query. Errors carry RediSearch's texts.
    public static func parse(_ args: [String], raw: [[UInt8]]) throws(AggregateError) -> AggregatePlan {
        var plan = AggregatePlan()
        var i = 0
        func count(_ name: String) throws(AggregateError) -> Int {
            guard i + 1 < args.count else { throw AggregateError("Bad arguments for \(name): Expected an argument, but none provided") }
            guard let n = Int(args[i + 1]) else { throw AggregateError("Bad arguments for \(name): Could not convert argument to expected type") }
            if let problem = argumentCountProblem(n, available: args.count - i - 2) { throw AggregateError("Bad arguments for \(name): \(problem)") }
            return n
        }
        func prop(_ s: String) -> String { s.hasPrefix("@") ? String(s.dropFirst()) : s }
        while i < args.count {
            let word = args[i].uppercased()
            switch word {
            case "VERBATIM": plan.verbatim = true; i += 1
            case "LOAD":
                guard i + 1 < args.count else { throw AggregateError("Bad arguments for LOAD: Expected an argument, but none provided") }
                if args[i + 1] == "*" { plan.steps.append(.loadAll); i += 2; continue }
                guard let n = Int(args[i + 1]), n >= 0, n < args.count - i - 1 else {
                    throw AggregateError("Bad arguments for LOAD: SUCCESS")
                }
                plan.steps.append(.load(args[(i + 2)..<(i + 2 + n)].map(prop)))
                i += 2 + n
            case "TIMEOUT":
                guard i + 1 < args.count, let t = Int(args[i + 1]) else { throw AggregateError("Bad arguments for TIMEOUT: Could not convert argument to expected type") }
                plan.timeoutMilliseconds = t
                i += 2
            case "GROUPBY":
                let n = try count("GROUPBY")
                let props = Array(args[(i + 2)..<(i + 2 + n)])
                for p in props where !p.hasPrefix("@") {
                    throw AggregateError("Bad arguments for GROUPBY: Unknown property `\(p)`. Did you mean `@\(p)`?")
                }
                i += 2 + n
                var reducers: [ReducerSpec] = []
                while i < args.count && args[i].uppercased() == "REDUCE" {
                    guard i + 1 < args.count else { throw AggregateError("Bad arguments for REDUCE: SUCCESS") }
                    let name = args[i + 1]
                    i += 1
                    let m = try count(name)
                    let rargs = Array(args[(i + 2)..<(i + 2 + m)])
                    i += 2 + m
                    var alias: String
                    if i < args.count && args[i].uppercased() == "AS" {
                        guard i + 1 < args.count else { throw AggregateError("Bad arguments for AS: Expected an argument, but none provided") }
                        alias = args[i + 1]; i += 2
                    } else {
                        alias = ("__generated_alias" + name + rargs.map { String($0.drop { $0 == "@" }) }.joined(separator: ",")).lowercased()
                    }
                    guard ["COUNT", "SUM", "AVG", "MIN", "MAX", "COUNT_DISTINCT", "COUNT_DISTINCTISH", "TOLIST",
                           "FIRST_VALUE", "STDDEV", "QUANTILE"].contains(name.uppercased()) else {
                        throw AggregateError("No such reducer: \(name)")
                    }
                    reducers.append(ReducerSpec(name: name.uppercased(), args: rargs, alias: alias))
                }
                plan.steps.append(.groupBy(props.map(prop), reducers))
            case "SORTBY":
                let n = try count("SORTBY")
                var keys: [SortKey] = []
                var j = i + 2
                while j < i + 2 + n {
                    let p = args[j]
                    guard p.hasPrefix("@") else { throw AggregateError("MISSING ASC or DESC after sort field (\(p))") }
                    var asc = true
                    if j + 1 < i + 2 + n {
                        let o = args[j + 1].uppercased()
                        if o == "ASC" { j += 1 } else if o == "DESC" { asc = false; j += 1 }
                    }
                    keys.append(SortKey(property: prop(p), ascending: asc))
                    j += 1
                }
                i += 2 + n
                var max: Int?
                if i < args.count && args[i].uppercased() == "MAX" {
                    guard i + 1 < args.count, let m = Int(args[i + 1]), m >= 0 else { throw AggregateError("Bad arguments for MAX: Could not convert argument to expected type") }
                    max = m; i += 2
                }
                plan.updateArrange { a in
                    a.sortKeys = keys
                    if let max { a.limit = max }
                }
            case "APPLY":
                guard i + 1 < args.count else { throw AggregateError("Bad arguments for APPLY/FILTER: Expected an argument, but none provided") }
                let e = try AggExprParser.parse(args[i + 1])
                i += 2
                var alias = args[i - 1]
                if i < args.count && args[i].uppercased() == "AS" {
                    guard i + 1 < args.count else { throw AggregateError("AS needs argument") }
                    alias = args[i + 1]; i += 2
                }
                plan.steps.append(.apply(e, alias))
            case "FILTER":
                guard i + 1 < args.count else { throw AggregateError("Bad arguments for APPLY/FILTER: Expected an argument, but none provided") }
                plan.steps.append(.filter(try AggExprParser.parse(args[i + 1])))
                i += 2
            case "LIMIT":
                guard i + 2 < args.count else { throw AggregateError("LIMIT requires two arguments") }
                guard let o = Int(args[i + 1]), let n = Int(args[i + 2]), o >= 0, n >= 0 else {
                    throw AggregateError("LIMIT needs two numeric arguments")
                }
                plan.updateArrange { a in a.offset = o; a.limit = n; a.isLimited = true }
                i += 3
            case "WITHCURSOR":
                plan.withCursor = true
                i += 1
                while i < args.count {
                    let o = args[i].uppercased()
                    guard o == "COUNT" || o == "MAXIDLE" else { break }
                    guard i + 1 < args.count, let v = Int(args[i + 1]), v >= 0 else { throw AggregateError("Bad arguments for \(o): Could not convert argument to expected type") }
                    if o == "COUNT" { plan.cursorCount = v } else { plan.maxIdle = v }
                    i += 2
                }
            case "PARAMS":
                let n = try count("PARAMS")
                guard n % 2 == 0 else { throw AggregateError("Parameters must be specified in PARAM VALUE pairs") }
                for j in stride(from: i + 2, to: i + 2 + n, by: 2) { plan.params[args[j]] = raw[j + 1] }
                i += 2 + n
            case "DIALECT":
                guard i + 1 < args.count, let d = Int(args[i + 1]) else { throw AggregateError("Need an argument for DIALECT") }
                guard d >= 1 && d <= 4 else { throw AggregateError("DIALECT requires a non negative integer >=1 and <= 4") }
                plan.dialect = d; i += 2
            case "ADDSCORES":
                plan.addScores = true
                i += 1
            case "INORDER":
                plan.scope.inOrder = true
                i += 1
            case "SLOP":
                guard i + 1 < args.count else { throw AggregateError("Bad arguments for SLOP: Expected an argument, but none provided") }
                switch NumberParsing.coalescedInt32(raw[i + 1]) {
                case .success(let n): plan.scope.slop = n
                case .failure(let e): throw AggregateError("Bad arguments for SLOP: \(e.message)")
                }
                i += 2
            case "INFIELDS":
                let n = try count("INFIELDS")
                plan.scope.textFields = Array(args[(i + 2)..<(i + 2 + n)])
                i += 2 + n
            case "SCORER":
                guard i + 1 < args.count else { throw AggregateError("Bad arguments for SCORER: Expected an argument, but none provided") }
                do throws(QueryError) { plan.scorer = try TextScorer.named(args[i + 1]) } catch { throw AggregateError(error.message) }
                i += 2
            default:
                throw AggregateError("Unknown argument `\(args[i])` at position \(i + 1) for <main>")
            }
        }
        return plan
    }
}

// MARK: - Execution

/// One matching document as the pipeline sees it: its key, id, yielded query fields and a snapshot of its hash.
public struct AggDocument: Sendable {
    public var key: Bytes
    public var docId: UInt32
    public var yielded: [(name: String, value: AggValue)]
    public var fields: [(name: Bytes, value: Bytes)]
    public init(key: Bytes, docId: UInt32, yielded: [(name: String, value: AggValue)], fields: [(name: Bytes, value: Bytes)]) {
        self.key = key; self.docId = docId; self.yielded = yielded; self.fields = fields
    }
}

/// Shared state of one pipeline run (RediSearch's QueryIterator): the `total` it reports.
final class AggContext {
    var totalResults = 0
}

/// The SearchResult a processor writes into. Only its doc id matters here: RediSearch never clears it, so a
/// grouped row inherits whatever id the result it was written into last held, which decides sort ties.
final class ResultSlot {
    var docId: UInt32 = 0
}

protocol AggProcessor: AnyObject {
    func next(_ slot: ResultSlot) throws(AggregateError) -> AggRow?
}

final class DocSource: AggProcessor {
    var docs: [AggDocument]
    var position = 0
    let lookup: AggLookup
    let ctx: AggContext
    let loadAll: Bool
    /// Each lookup key's hash field as bytes, converted once rather than per row (on the first row: the later steps
    /// of the pipeline add keys while it is built).
    private lazy var sourceFields: [Bytes?] = lookup.keys.map { k in k.source.map { Bytes($0) } }
    init(docs: [AggDocument], lookup: AggLookup, ctx: AggContext, loadAll: Bool) {
        self.docs = docs; self.lookup = lookup; self.ctx = ctx; self.loadAll = loadAll
    }
    /// Matches the caller left out (they could not reach the output): counted when the first document is read.
    var uncounted = 0
    func next(_ slot: ResultSlot) throws(AggregateError) -> AggRow? {
        guard position < docs.count else { return nil }
        let d = docs[position]
        if position == 0 { ctx.totalResults += uncounted }
        position += 1
        ctx.totalResults += 1
        var row = AggRow(count: lookup.keys.count)
        row.docId = d.docId
        slot.docId = d.docId
        for (name, v) in d.yielded { if let s = lookup.index(of: name) { row[s] = v } }
        for (i, k) in lookup.keys.enumerated() where row[i] == nil {
            guard let src = k.source else { continue }
            if src == "__key" { row[i] = .string(d.key.storage); continue }
            guard i < sourceFields.count, let field = sourceFields[i], !d.fields.isEmpty else { continue }
            guard let raw = d.fields.first(where: { $0.name == field })?.value else { continue }
            if k.coerceNumber {
                row[i] = .number(AggValue.string(raw.storage).numberValue ?? 0)
            } else if k.lowercase {
                row[i] = .text(raw.string.lowercased())
            } else {
                row[i] = .string(raw.storage)
            }
        }
        return row
    }
}

final class ApplyProcessor: AggProcessor {
    let upstream: AggProcessor
    let expr: AggExpr
    let target: Int?
    let evaluator: AggEvaluator
    init(upstream: AggProcessor, expr: AggExpr, slot: Int?, evaluator: AggEvaluator) {
        self.upstream = upstream; self.expr = expr; self.target = slot; self.evaluator = evaluator
    }
    func next(_ slot: ResultSlot) throws(AggregateError) -> AggRow? {
        while var row = try upstream.next(slot) {
            let v = try evaluator.eval(expr, row)
            if let target { row[target] = v; return row }
            if v.truthy { return row }
        }
        return nil
    }
}

final class PagerProcessor: AggProcessor {
    let upstream: AggProcessor
    var skip: Int
    var remaining: Int
    init(upstream: AggProcessor, offset: Int, count: Int) { self.upstream = upstream; skip = offset; remaining = count }
    func next(_ slot: ResultSlot) throws(AggregateError) -> AggRow? {
        while skip > 0 {
            guard try upstream.next(slot) != nil else { return nil }
            skip -= 1
        }
        guard remaining > 0 else { return nil }
        remaining -= 1
        return try upstream.next(slot)
    }
}

/// LIMIT 0 0: consumes everything, yields nothing (the reply is just the total).
final class CounterProcessor: AggProcessor {
    let upstream: AggProcessor
    init(upstream: AggProcessor) { self.upstream = upstream }
    func next(_ slot: ResultSlot) throws(AggregateError) -> AggRow? {
        while try upstream.next(slot) != nil {}
        return nil
    }
}

/// RediSearch's sorter: a bounded min-max heap (util/minmax_heap.c) fed as rpsortNext_innerLoop feeds it, drained
/// with pop_max. Reproducing the heap reproduces its order for ties, which its comparator leaves inconsistent.
final class SorterProcessor: AggProcessor {
    let upstream: AggProcessor
    let keys: [(slot: Int, ascending: Bool)]
    let limit: Int
    var heap: MinMaxHeap<AggRow>?
    init(upstream: AggProcessor, keys: [(slot: Int, ascending: Bool)], limit: Int) {
        self.upstream = upstream; self.keys = keys; self.limit = limit
    }

    /// cmpByFields: a present value beats a missing one whatever the order; ties fall to doc ids, with the last
    /// key's direction.
    static func compare(_ a: AggRow, _ b: AggRow, _ keys: [(slot: Int, ascending: Bool)]) -> Int {
        var ascending = false
        for k in keys {
            ascending = k.ascending
            let x = a[k.slot], y = b[k.slot]
            if x == nil || y == nil {
                if x != nil { return 1 }
                if y != nil { return -1 }
                continue
            }
            let rc = compareValues(x!, y!)
            if rc != 0 { return ascending ? -rc : rc }
        }
        let rc = a.docId < b.docId ? -1 : 1
        return ascending ? -rc : rc
    }

    func next(_ slot: ResultSlot) throws(AggregateError) -> AggRow? {
        if heap == nil {
            let keys = self.keys
            var h = MinMaxHeap<AggRow>(size: limit) { Self.compare($0, $1, keys) }
            var pooled = ResultSlot()
            while let r = try upstream.next(pooled) {
                if h.count < h.size {
                    h.insert(r)
                    pooled = ResultSlot()
                } else if let minRow = h.peekMin(), Self.compare(r, minRow, keys) > 0 {
                    // The evicted minimum's result object becomes the pooled one.
                    pooled = ResultSlot()
                    pooled.docId = h.exchangeMin(r)?.docId ?? 0
                }
            }
            heap = h
        }
        return heap!.popMax()
    }
}

/// A min-max heap laid out as RediSearch's (1-based array, min levels at even log2 depth).
struct MinMaxHeap<T> {
    var data: [T?]
    var count = 0
    let size: Int
    let cmp: (T, T) -> Int

    init(size: Int, cmp: @escaping (T, T) -> Int) {
        self.size = max(1, size)
        self.cmp = cmp
        data = [nil]
    }

    private static func isMin(_ n: Int) -> Bool { (UInt32(n).leadingZeroBitCount & 1) == 1 }
    private func gt(_ x: Int, _ y: Int) -> Bool { cmp(data[x]!, data[y]!) > 0 }
    private func lt(_ x: Int, _ y: Int) -> Bool { cmp(data[x]!, data[y]!) < 0 }

    private mutating func bubbleUpMin(_ i: Int) {
        let pp = i / 4
        if pp <= 0 { return }
        if lt(i, pp) { data.swapAt(i, pp); bubbleUpMin(pp) }
    }
    private mutating func bubbleUpMax(_ i: Int) {
        let pp = i / 4
        if pp <= 0 { return }
        if gt(i, pp) { data.swapAt(i, pp); bubbleUpMax(pp) }
    }
    private mutating func bubbleUp(_ i: Int) {
        let p = i / 2
        if p <= 0 { return }
        if Self.isMin(i) {
            if gt(i, p) { data.swapAt(i, p); bubbleUpMax(p) } else { bubbleUpMin(i) }
        } else {
            if lt(i, p) { data.swapAt(i, p); bubbleUpMin(p) } else { bubbleUpMax(i) }
        }
    }

    private func choose3(_ f: (Int, Int) -> Bool, _ a: Int, _ b: Int, _ c: Int) -> Int {
        f(a, b) ? (f(a, c) ? a : c) : (f(b, c) ? b : c)
    }
    private func choose4(_ f: (Int, Int) -> Bool, _ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Int {
        f(a, b) ? choose3(f, a, c, d) : choose3(f, b, c, d)
    }
    private func best(_ i: Int, _ f: (Int, Int) -> Bool) -> Int {
        let a = 2 * i, b = 2 * i + 1, c = 2 * a, d = 2 * a + 1, e = 2 * b, g = 2 * b + 1
        if g <= count { return choose4(f, c, d, e, g) }
        if e <= count { return choose3(f, c, d, e) }
        if d <= count { return choose3(f, b, c, d) }
        if c <= count { return f(b, c) ? b : c }
        if b <= count { return f(a, b) ? a : b }
        if a <= count { return a }
        return -1
    }
    private mutating func trickleDownMax(_ i: Int) {
        let m = best(i) { gt($0, $1) }
        if m <= -1 { return }
        if m > 2 * i + 1 {
            if gt(m, i) {
                data.swapAt(i, m)
                if lt(m, m / 2) { data.swapAt(m, m / 2) }
                trickleDownMax(m)
            }
        } else if gt(m, i) { data.swapAt(i, m) }
    }
    private mutating func trickleDownMin(_ i: Int) {
        let m = best(i) { lt($0, $1) }
        if m <= -1 { return }
        if m > 2 * i + 1 {
            if lt(m, i) {
                data.swapAt(i, m)
                if gt(m, m / 2) { data.swapAt(m, m / 2) }
                trickleDownMin(m)
            }
        } else if lt(m, i) { data.swapAt(i, m) }
    }

    mutating func insert(_ v: T) {
        count += 1
        if count >= data.count { data.append(v) } else { data[count] = v }
        bubbleUp(count)
    }

    func peekMin() -> T? { count > 0 ? data[1] : nil }

    mutating func exchangeMin(_ v: T) -> T? {
        guard count > 0 else { return nil }
        let m = data[1]
        data[1] = v
        trickleDownMin(1)
        return m
    }

    mutating func popMax() -> T? {
        if count > 2 {
            var idx = 2
            if lt(2, 3) { idx = 3 }
            let d = data[idx]
            data[idx] = data[count]
            count -= 1
            trickleDownMax(idx)
            return d
        }
        if count == 2 { count -= 1; return data[2] }
        if count == 1 { count -= 1; return data[1] }
        return nil
    }
}

/// A khash (RediSearch's util/khash.h with int64 keys) reproduced so groups come out in the same order.
struct KHashOrder {
    var keys: [UInt64] = []
    var used: [Bool] = []
    var values: [Int] = []
    var size = 0, upperBound = 0
    var nBuckets: Int { keys.count }

    static func hashFunc(_ key: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: (key >> 33) ^ key ^ (key << 11)) }

    func get(_ key: UInt64) -> Int? {
        guard nBuckets > 0 else { return nil }
        let mask = nBuckets - 1
        var i = Int(Self.hashFunc(key)) & mask
        let last = i
        var step = 0
        while used[i] {
            if keys[i] == key { return values[i] }
            step += 1
            i = (i + step) & mask
            if i == last { return nil }
        }
        return nil
    }

    mutating func resize(_ requested: Int) {
        var n = 1
        while n < requested { n <<= 1 }
        if n < 4 { n = 4 }
        if size >= Int(Double(n) * 0.77 + 0.5) { return }
        // Rehash in place, exactly as khash's kick-out loop does.
        let old = nBuckets
        var newUsed = Array(repeating: false, count: n)
        if n > old {
            keys.append(contentsOf: Array(repeating: 0, count: n - old))
            values.append(contentsOf: Array(repeating: 0, count: n - old))
        }
        var oldLive = used + Array(repeating: false, count: Swift.max(0, n - old))
        let mask = n - 1
        for j in 0..<old where oldLive[j] {
            var key = keys[j], val = values[j]
            oldLive[j] = false
            while true {
                var i = Int(Self.hashFunc(key)) & mask
                var step = 0
                while newUsed[i] { step += 1; i = (i + step) & mask }
                newUsed[i] = true
                if i < old && oldLive[i] {
                    swap(&key, &keys[i]); swap(&val, &values[i])
                    oldLive[i] = false
                } else {
                    keys[i] = key; values[i] = val
                    break
                }
            }
        }
        if n < old { keys.removeLast(old - n); values.removeLast(old - n) }
        used = newUsed
        upperBound = Int(Double(n) * 0.77 + 0.5)
    }

    mutating func put(_ key: UInt64, _ value: Int) {
        if size >= upperBound {
            if nBuckets > size << 1 { resize(nBuckets - 1) } else { resize(nBuckets + 1) }
        }
        let mask = nBuckets - 1
        var i = Int(Self.hashFunc(key)) & mask
        var step = 0
        while used[i] && keys[i] != key { step += 1; i = (i + step) & mask }
        if !used[i] { used[i] = true; keys[i] = key; values[i] = value; size += 1 }
    }

    /// Values in bucket order (kh_begin .. kh_end).
    var ordered: [Int] { (0..<nBuckets).filter { used[$0] }.map { values[$0] } }
}

final class GrouperProcessor: AggProcessor {
    let upstream: AggProcessor
    let srcSlots: [Int]
    let reducers: [Reducer]
    let width: Int
    let ctx: AggContext
    var groups: [(values: [AggValue], states: [ReducerState])] = []
    var table = KHashOrder()
    var output: [Int]?
    var position = 0
    init(upstream: AggProcessor, srcSlots: [Int], reducers: [Reducer], width: Int, ctx: AggContext) {
        self.upstream = upstream; self.srcSlots = srcSlots; self.reducers = reducers; self.width = width; self.ctx = ctx
    }

    private func extract(_ vals: inout [AggValue], _ pos: Int, _ hval: UInt64, _ row: AggRow) {
        if pos == vals.count {
            let g: Int
            if let existing = table.get(hval) { g = existing } else {
                g = groups.count
                groups.append((vals, reducers.map { $0.initial() }))
                table.put(hval, g)
            }
            for (r, red) in reducers.enumerated() { red.add(&groups[g].states[r], row) }
            return
        }
        let v = vals[pos]
        if case .array(let items) = v {
            if items.isEmpty {
                vals[pos] = .null
                extract(&vals, pos + 1, AggValue.null.hash(hval), row)
            } else {
                for item in items {
                    vals[pos] = item
                    extract(&vals, pos + 1, item.hash(hval), row)
                }
            }
            vals[pos] = v
        } else {
            extract(&vals, pos + 1, v.hash(hval), row)
        }
    }

    func next(_ slot: ResultSlot) throws(AggregateError) -> AggRow? {
        if output == nil {
            while let row = try upstream.next(slot) {
                var vals = srcSlots.map { row[$0] ?? .null }
                extract(&vals, 0, 0, row)
            }
            output = table.ordered
            ctx.totalResults = groups.count
        }
        guard position < output!.count else { return nil }
        let g = groups[output![position]]
        position += 1
        var row = AggRow(count: width)
        row.docId = slot.docId
        for (i, v) in g.values.enumerated() { row[i] = v }
        for (r, red) in reducers.enumerated() { row[srcSlots.count + r] = red.finish(g.states[r]) }
        return row
    }
}

/// What one read of a pipeline produced.
public struct AggregateChunk: Sendable {
    public var total: Int
    public var rows: [[(String, AggValue)]]
    public var warning: String?
}

/// A built pipeline: pull rows in chunks (the whole reply, or cursor reads).
public final class AggregatePipeline: @unchecked Sendable {
    let end: AggProcessor
    let ctx: AggContext
    let slot = ResultSlot()
    /// The lookup whose keys the final rows use.
    public let output: AggLookup
    public private(set) var exhausted = false
    /// Set by a blocking step (GROUPBY/SORTBY) so later chunks report 0 reads.
    let hasBlockingStep: Bool

    /// The lookup of document rows (before any GROUPBY): the columns a shard ships in a distributed aggregate.
    let input: AggLookup
    /// Distributed aggregates, on a shard: where the shard's part of the plan ends (see AggregateSplit).
    var shardEnd: AggProcessor?

    init(end: AggProcessor, ctx: AggContext, output: AggLookup, input: AggLookup, hasBlockingStep: Bool) {
        self.end = end; self.ctx = ctx; self.output = output; self.input = input; self.hasBlockingStep = hasBlockingStep
    }

    fileprivate var source: DocSource?

    /// The hash fields document rows read (nil: every field, for LOAD *). Lets the caller snapshot only those.
    public var documentFields: Set<String>? {
        guard let source, !source.loadAll else { return nil }
        return Set(source.lookup.keys.compactMap { $0.source }.filter { $0 != "__key" })
    }

    /// Supplies the matched documents when the pipeline was built without them (see `documentFields`). `uncounted`:
    /// matches left out because they cannot reach the output (see `AggregatePlan.leadingSort`), still counted in
    /// the total.
    public func setDocuments(_ docs: [AggDocument], uncounted: Int = 0) {
        source?.docs = docs
        source?.uncounted = uncounted
    }

    /// One chunk as RediSearch's sendChunk produces it: `total` is read when the first row (or the end) arrives.
    /// An error before the first row is thrown; one after it ends the chunk (and the pipeline) and is returned as
    /// `warning` (RESP3 replies list it; RESP2 drops it).
    public func chunk(limit: Int) throws(AggregateError) -> AggregateChunk {
        let slot = self.slot
        ctx.totalResults = 0
        guard !exhausted else { return AggregateChunk(total: 0, rows: [], warning: nil) }
        var out = AggregateChunk(total: 0, rows: [], warning: nil)
        do {
            guard let first = try end.next(slot) else {
                exhausted = true
                out.total = ctx.totalResults
                return out
            }
            out.total = ctx.totalResults
            out.rows.append(render(first))
        } catch {
            exhausted = true
            throw error
        }
        while out.rows.count < limit {
            do {
                guard let r = try end.next(slot) else { exhausted = true; break }
                out.rows.append(render(r))
            } catch {
                exhausted = true
                out.warning = error.message
                break
            }
        }
        return out
    }

    func render(_ row: AggRow) -> [(String, AggValue)] {
        var out: [(String, AggValue)] = []
        for (i, k) in output.keys.enumerated() { if let v = row[i] { out.append((k.name, v)) } }
        return out
    }

    /// Builds the processors for `plan` over `docs`. `schema` resolves @fields that are not loaded yet.
    public static func build(plan: AggregatePlan, docs: [AggDocument], schema: IndexDefinition,
                             yieldedNames: [String]) throws(AggregateError) -> AggregatePipeline {
        try assemble(plan: plan, docs: docs, schema: schema, yieldedNames: yieldedNames, stage: .whole)
    }

    /// A shard's part of a distributed aggregate over its `docs`; `shardRows()` runs it.
    public static func buildShard(plan: AggregatePlan, split: AggregateSplit, docs: [AggDocument], schema: IndexDefinition,
                                  yieldedNames: [String]) throws(AggregateError) -> AggregatePipeline {
        try assemble(plan: plan, docs: docs, schema: schema, yieldedNames: yieldedNames, stage: .shard(split))
    }

    /// The coordinator's part of a distributed aggregate: the steps the shards left, over their combined rows.
    public static func buildCoordinator(plan: AggregatePlan, split: AggregateSplit, rows: AggShardRows,
                                        schema: IndexDefinition) throws(AggregateError) -> AggregatePipeline {
        try assemble(plan: plan, docs: [], schema: schema, yieldedNames: [], stage: .coordinator(split, rows))
    }

    private enum Stage {
        case whole
        case shard(AggregateSplit)
        case coordinator(AggregateSplit, AggShardRows)
    }

    private static func assemble(plan: AggregatePlan, docs: [AggDocument], schema: IndexDefinition, yieldedNames: [String],
                                 stage: Stage) throws(AggregateError) -> AggregatePipeline {
        let ctx = AggContext()
        var lookup = AggLookup()
        let first = lookup
        for name in yieldedNames { lookup.add(.init(name: name, source: nil)) }
        var blocking = false
        // The shards already ran the first `ranOnShards` steps: the coordinator only learns the columns they made.
        var ranOnShards = 0
        var shardSplit: AggregateSplit?
        var shipped: AggShardRows?
        switch stage {
        case .whole: break
        case .shard(let split): shardSplit = split
        case .coordinator(let split, let rows):
            ranOnShards = split.shardSteps
            shipped = rows
            // In the shards' column order, which is the order a single node's lookup has (hence its reply order).
            for c in rows.columns { lookup.add(.init(name: c, source: nil)) }
        }
        var shardEnd: AggProcessor?

        func schemaKey(_ name: String) -> AggLookup.Key? {
            if name == "__key" { return .init(name: name, source: "__key") }
            guard let f = schema.field(attribute: name) else { return nil }
            var k = AggLookup.Key(name: name, source: f.identifier)
            if case .numeric = f.kind { k.coerceNumber = true }
            if f.sortable && !f.unf {
                switch f.kind { case .text, .tag: k.lowercase = true; default: break }
            }
            return k
        }
        /// A property an expression reads: already in the pipeline, or a SORTABLE schema field.
        func expressionSlot(_ name: String) throws(AggregateError) -> Int {
            if let i = lookup.index(of: name) { return i }
            if lookup === first, let f = schema.field(attribute: name), f.sortable, let k = schemaKey(name) { return lookup.add(k) }
            throw AggregateError("Property `\(name)` not loaded nor in pipeline")
        }
        func readSlot(_ name: String, _ missing: String) throws(AggregateError) -> Int {
            if let i = lookup.index(of: name) { return i }
            if lookup === first, let k = schemaKey(name) { return lookup.add(k) }
            throw AggregateError(missing)
        }
        func slots(_ e: AggExpr) throws(AggregateError) -> [String: Int] {
            var m: [String: Int] = [:]
            for p in e.properties { m[p] = try expressionSlot(p) }
            return m
        }

        // First pass creates keys (so document rows know what to load); processors are chained as we go.
        let source = DocSource(docs: docs, lookup: first, ctx: ctx, loadAll: plan.loadsAll)
        var proc: AggProcessor = source
        if let shipped { proc = ShippedRowSource(rows: shipped, lookup: first, ctx: ctx) }
        for (stepIndex, step) in plan.steps.enumerated() {
            if let split = shardSplit, stepIndex == split.shardSteps, shardEnd == nil { shardEnd = proc }
            let skipped = stepIndex < ranOnShards
            switch step {
            case .load(let names):
                for n in names {
                    if lookup === first {
                        // An explicit LOAD reads the document as stored (no sortable normalisation).
                        if var k = schemaKey(n) { k.lowercase = false; lookup.add(k) } else { lookup.add(.init(name: n, source: n)) }
                    }
                }
            case .loadAll:
                if lookup === first {
                    // Order: the first document's field order, then new names as they appear.
                    var names: [String] = []
                    var s2 = Set<String>()
                    for d in docs { for (f, _) in d.fields where s2.insert(f.string).inserted { names.append(f.string) } }
                    for n in names {
                        if let f = schema.fields.first(where: { $0.identifier == n }), var k = schemaKey(f.attribute), f.attribute == n {
                            k.lowercase = false
                            lookup.add(k)
                        } else { lookup.add(.init(name: n, source: n)) }
                    }
                }
            case .apply(let e, let alias):
                if skipped { lookup.add(.init(name: alias, source: nil)); continue }
                let ev = AggEvaluator(slots: try slots(e))
                let slot = lookup.add(.init(name: alias, source: nil))
                proc = ApplyProcessor(upstream: proc, expr: e, slot: slot, evaluator: ev)
            case .filter(let e):
                if skipped { continue }
                proc = ApplyProcessor(upstream: proc, expr: e, slot: nil, evaluator: AggEvaluator(slots: try slots(e)))
            case .arrange(let a):
                // As RediSearch's buildArrangeStep: LIMIT x 0 only counts; the sorter's heap holds offset+limit rows
                // (10 when neither LIMIT nor MAX says otherwise); a pager follows when there is an offset.
                let preRunOnShard = shardSplit.map { $0.shardSteps == stepIndex && $0.shardArrange } ?? false
                if a.isLimited && a.limit == 0 {
                    proc = CounterProcessor(upstream: proc)
                    if preRunOnShard { shardEnd = proc }
                    continue
                }
                var sorted = false
                let wanted = a.offset.addingReportingOverflow(a.limit)
                let size = wanted.overflow ? Int.max / 2 : wanted.partialValue
                if let keys = a.sortKeys {
                    var ks: [(slot: Int, ascending: Bool)] = []
                    for k in keys { ks.append((try readSlot(k.property, "Property `\(k.property)` not loaded nor in schema"), k.ascending)) }
                    // A shard keeps the heap's worth of rows, unpaged: the global page lies within the shards' heaps.
                    if preRunOnShard { shardEnd = SorterProcessor(upstream: proc, keys: ks, limit: size == 0 ? 10 : size) }
                    proc = SorterProcessor(upstream: proc, keys: ks, limit: size == 0 ? 10 : size)
                    blocking = true
                    sorted = true
                }
                if preRunOnShard && !sorted && a.limit > 0 {
                    // Unsorted: any offset+limit rows of the concatenation make the page, so each shard's first ones do.
                    shardEnd = PagerProcessor(upstream: proc, offset: 0, count: size)
                }
                if a.offset > 0 || (a.limit > 0 && !sorted) {
                    proc = PagerProcessor(upstream: proc, offset: a.offset, count: a.limit)
                }
            case .groupBy(let props, let specs):
                var src: [Int] = []
                for p in props { src.append(try readSlot(p, "No such property `\(p)`")) }
                var reducers: [Reducer] = []
                for s in specs {
                    var slot: Int?
                    var sortSlot: Int?
                    var desc = false
                    var q = 0.0
                    switch s.name {
                    case "COUNT":
                        guard s.args.isEmpty else { throw AggregateError("Count accepts 0 values only") }
                    default:
                        guard let a = s.args.first else { throw AggregateError("Bad arguments for \(s.name): Expected an argument, but none provided") }
                        let name = String(a.drop { $0 == "@" })
                        slot = try readSlot(name, "Property `\(name)` not present in document or pipeline")
                        if s.name == "QUANTILE" {
                            guard s.args.count == 2, let v = Double(s.args[1]), v >= 0, v <= 1 else {
                                throw AggregateError("Percentage must be between 0.0 and 1.0")
                            }
                            q = v
                        }
                        if s.name == "FIRST_VALUE", s.args.count >= 3, s.args[1].uppercased() == "BY" {
                            let by = String(s.args[2].drop { $0 == "@" })
                            sortSlot = try readSlot(by, "Property `\(by)` not present in document or pipeline")
                            desc = s.args.count >= 4 && s.args[3].uppercased() == "DESC"
                        }
                    }
                    reducers.append(Reducer(kind: s.name, slot: slot, sortSlot: sortSlot, descending: desc, quantile: q))
                }
                let next = AggLookup()
                for p in props { next.add(.init(name: String(p), source: nil)) }
                for s in specs { next.add(.init(name: s.alias, source: nil)) }
                proc = GrouperProcessor(upstream: proc, srcSlots: src, reducers: reducers, width: next.keys.count, ctx: ctx)
                lookup = next
                blocking = true
            }
        }
        let pipeline = AggregatePipeline(end: proc, ctx: ctx, output: lookup, input: first, hasBlockingStep: blocking)
        pipeline.source = shipped == nil ? source : nil
        if shardSplit != nil { pipeline.shardEnd = shardEnd ?? proc }
        return pipeline
    }
}
