// Index schemas: what FT.CREATE declares (definition and fields), parsed from its arguments with RediSearch's errors.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Keyspace
import VectorIndex

/// RediSearch's variable-length argument lists (`PREFIX n p…`, `RETURN n f…`, `LOAD n …`): the count is read as an
/// unsigned 32-bit number, then that many arguments must follow. The problem with `n` when `available` arguments
/// follow it, in RediSearch's words (after "Bad arguments for NAME: "), or nil. Compares without `i + n`, which
/// overflows for a count near 2^63.
public func argumentCountProblem(_ n: Int, available: Int) -> String? {
    if n < 0 || n > UInt32.max { return "Value is outside acceptable bounds" }
    return n > available ? "Expected an argument, but none provided" : nil
}

public enum FieldKind: Sendable, Equatable {
    case text(weight: Double, noStem: Bool)
    case tag(separator: UInt8, caseSensitive: Bool)
    case numeric
    /// "lon,lat" values, indexed as their geohash.
    case geo
    case vector(VectorIndexParameters)

    public var typeName: String {
        switch self {
        case .text: return "TEXT"
        case .tag: return "TAG"
        case .numeric: return "NUMERIC"
        case .geo: return "GEO"
        case .vector: return "VECTOR"
        }
    }
}

/// Where an HNSW field keeps its graph (`STORAGE RAM|TIERED`, our extension to FT.CREATE).
public enum VectorStorage: String, Sendable, Equatable {
    /// All in RAM, as RediSearch.
    case ram = "RAM"
    /// RAM for new writes, SSD page-file segments under `vector-memory-limit` (module Tiering).
    case tiered = "TIERED"
}

public struct FieldSpec: Sendable, Equatable {
    /// The hash field it reads.
    public var identifier: String
    /// The name queries use (`AS alias`, else the identifier).
    public var attribute: String
    public var kind: FieldKind
    public var sortable = false
    /// UNF: sortable text kept unnormalised (RediSearch prints it for sortable NUMERIC always).
    public var unf = false
    public var noIndex = false
    /// VECTOR only: `STORAGE` as given; nil lets the node decide when the index is created (tiered iff
    /// `vector-memory-limit` > 0 then), so the choice is not frozen into a schema replayed on other nodes.
    public var storage: VectorStorage?
    public init(identifier: String, attribute: String, kind: FieldKind) {
        self.identifier = identifier; self.attribute = attribute; self.kind = kind
    }
}

public struct IndexDefinition: Sendable, Equatable {
    public var name: String
    public var prefixes: [Bytes] = []
    public var filter: String?
    public var language = "english"
    public var languageField: String?
    public var defaultScore = 1.0
    public var scoreField: String?
    /// nil: RediSearch's default English list.
    public var stopwords: [String]?
    public var temporarySeconds: Int?
    public var skipInitialScan = false
    public var noOffsets = false
    public var noFreqs = false
    public var noFields = false
    public var noHighlight = false
    /// Wide field masks (MAXTEXTFIELDS, or more than 32 TEXT fields at creation): FT.ALTER may add TEXT fields past 32.
    public var maxTextFields = false
    public var fields: [FieldSpec] = []

    /// RediSearch's limits: 128 TEXT fields, and 32 for FT.ALTER on an index without wide masks.
    public static let maxTextFields = 128
    public static let maxFields = 1024
    public static let narrowTextFields = 32
    public var textFieldCount: Int { fields.count { if case .text = $0.kind { return true }; return false } }

    public init(name: String) { self.name = name }

    /// True when a key belongs to the index (no prefix means every key).
    public func matches(key: Bytes) -> Bool {
        if prefixes.isEmpty { return true }
        for p in prefixes where key.storage.count >= p.count && key.storage.starts(with: p.storage) { return true }
        return false
    }

    public func field(attribute name: String) -> FieldSpec? {
        fields.first { $0.attribute == name } ?? fields.first { Self.equalIgnoringCase($0.attribute, name) }
    }

    /// `a.lowercased() == b.lowercased()` without building the two strings when both are ASCII (where lowercasing
    /// only maps A-Z): FT.SEARCH looks up every RETURN name, and most (`__v_score`) are in no schema.
    static func equalIgnoringCase(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        let ascii = a.withUTF8 { x in b.withUTF8 { y -> Bool? in
            guard x.allSatisfy({ $0 < 0x80 }), y.allSatisfy({ $0 < 0x80 }) else { return nil }
            guard x.count == y.count else { return false }
            for i in 0..<x.count where x[i] != y[i] {
                if TextAnalyzer.asciiLower(x[i]) != TextAnalyzer.asciiLower(y[i]) { return false }
            }
            return true
        } }
        return ascii ?? (a.lowercased() == b.lowercased())
    }
}

/// FT.CREATE idx [ON HASH] [PREFIX n p...] [FILTER f] [LANGUAGE l] [LANGUAGE_FIELD f] [SCORE s] [SCORE_FIELD f]
/// [MAXTEXTFIELDS] [TEMPORARY s] [NOOFFSETS] [NOHL] [NOFIELDS] [NOFREQS] [STOPWORDS n w...] [SKIPINITIALSCAN]
/// SCHEMA field [AS alias] type [options] ...
public enum CreateParser {
    public static func parse(_ args: [String], blobs: [[UInt8]]? = nil) throws(QueryError) -> IndexDefinition {
        // RediSearch's arity: FT.CREATE idx SCHEMA f type at least.
        guard args.count >= 4 else { throw QueryError("ERR wrong number of arguments for 'FT.CREATE' command") }
        var def = IndexDefinition(name: args[0])
        var i = 1
        func upper(_ j: Int) -> String { args[j].uppercased() }
        func need(_ n: Int, _ what: String) throws(QueryError) {
            if i + n >= args.count { throw QueryError("\(what) requires an argument") }
        }
        var sawSchema = false
        while i < args.count {
            switch upper(i) {
            case "ON":
                try need(1, "ON")
                let t = upper(i + 1)
                guard t == "HASH" else { throw QueryError("Invalid rule type: \(args[i + 1])") }
                i += 2
            case "PREFIX":
                try need(1, "PREFIX")
                guard let n = Int(args[i + 1]) else { throw QueryError("Bad arguments for PREFIX: Could not convert argument to expected type") }
                if let problem = argumentCountProblem(n, available: args.count - i - 2) { throw QueryError("Bad arguments for PREFIX: \(problem)") }
                def.prefixes = args[(i + 2)..<(i + 2 + n)].map { Bytes($0) }
                i += 2 + n
            case "FILTER":
                try need(1, "FILTER"); def.filter = args[i + 1]; i += 2
            case "LANGUAGE":
                try need(1, "LANGUAGE"); def.language = args[i + 1].lowercased(); i += 2
            case "LANGUAGE_FIELD":
                try need(1, "LANGUAGE_FIELD"); def.languageField = args[i + 1]; i += 2
            case "SCORE":
                try need(1, "SCORE")
                guard let s = Double(args[i + 1]), s >= 0, s <= 1 else { throw QueryError("Invalid score") }
                def.defaultScore = s; i += 2
            case "SCORE_FIELD":
                try need(1, "SCORE_FIELD"); def.scoreField = args[i + 1]; i += 2
            case "PAYLOAD_FIELD":
                try need(1, "PAYLOAD_FIELD"); i += 2
            case "MAXTEXTFIELDS": def.maxTextFields = true; i += 1
            case "NOOFFSETS": def.noOffsets = true; i += 1
            case "NOHL": def.noHighlight = true; i += 1
            case "NOFIELDS": def.noFields = true; i += 1
            case "NOFREQS": def.noFreqs = true; i += 1
            case "SKIPINITIALSCAN": def.skipInitialScan = true; i += 1
            case "ASYNC": i += 1
            case "TEMPORARY":
                try need(1, "TEMPORARY")
                guard let s = Int(args[i + 1]), s > 0 else { throw QueryError("Bad arguments for TEMPORARY: Could not convert argument to expected type") }
                def.temporarySeconds = s; i += 2
            case "STOPWORDS":
                try need(1, "STOPWORDS")
                guard let n = Int(args[i + 1]) else { throw QueryError("Bad arguments for STOPWORDS: Expected an argument, but none provided") }
                if let problem = argumentCountProblem(n, available: args.count - i - 2) { throw QueryError("Bad arguments for STOPWORDS: \(problem)") }
                def.stopwords = args[(i + 2)..<(i + 2 + n)].map { $0.lowercased() }
                i += 2 + n
            case "SCHEMA":
                sawSchema = true
                i += 1
                def.fields = try parseFields(args, from: &i)
            default:
                throw QueryError("Unknown argument `\(args[i])`")
            }
        }
        guard sawSchema else { throw QueryError("No schema found") }
        if def.fields.isEmpty { throw QueryError("Fields arguments are missing") }
        // RediSearch widens the field mask for a schema created with more than 32 TEXT fields, as MAXTEXTFIELDS does.
        let textFields = def.textFieldCount
        if textFields > IndexDefinition.maxTextFields { throw QueryError("Schema is limited to \(IndexDefinition.maxTextFields) TEXT fields") }
        if textFields > IndexDefinition.narrowTextFields { def.maxTextFields = true }
        return def
    }

    /// Parses `field [AS alias] type [options]...` until the arguments end.
    public static func parseFields(_ args: [String], from i: inout Int) throws(QueryError) -> [FieldSpec] {
        var fields: [FieldSpec] = []
        while i < args.count {
            let identifier = args[i]
            var attribute = identifier
            i += 1
            if i + 1 < args.count && args[i].uppercased() == "AS" { attribute = args[i + 1]; i += 2 }
            guard i < args.count else { throw QueryError("Field `\(identifier)` does not have a type") }
            // RediSearch's limit; without it 20,000 fields took minutes here (each is checked against the others).
            guard fields.count < IndexDefinition.maxFields else {
                throw QueryError("Schema is limited to \(IndexDefinition.maxFields) fields")
            }
            if fields.contains(where: { $0.attribute == attribute }) || fields.contains(where: { $0.identifier == identifier && $0.attribute == attribute }) {
                throw QueryError("Duplicate field in schema - \(attribute)")
            }
            var spec: FieldSpec
            switch args[i].uppercased() {
            case "TEXT":
                spec = FieldSpec(identifier: identifier, attribute: attribute, kind: .text(weight: 1, noStem: false))
                i += 1
            case "TAG":
                spec = FieldSpec(identifier: identifier, attribute: attribute, kind: .tag(separator: UInt8(ascii: ","), caseSensitive: false))
                i += 1
            case "NUMERIC":
                spec = FieldSpec(identifier: identifier, attribute: attribute, kind: .numeric)
                i += 1
            case "GEO":
                spec = FieldSpec(identifier: identifier, attribute: attribute, kind: .geo)
                i += 1
            case "VECTOR":
                i += 1
                var storage: VectorStorage?
                spec = FieldSpec(identifier: identifier, attribute: attribute,
                                 kind: .vector(try parseVector(args, from: &i, storage: &storage)))
                spec.storage = storage
            default:
                throw QueryError("Invalid field type for field `\(identifier)`")
            }
            // Field options.
            optionLoop: while i < args.count {
                switch args[i].uppercased() {
                case "SORTABLE":
                    guard !isVector(spec) else { break optionLoop }
                    spec.sortable = true
                    if case .numeric = spec.kind { spec.unf = true }
                    i += 1
                case "UNF": spec.unf = true; i += 1
                case "NOINDEX": spec.noIndex = true; i += 1
                case "NOSTEM":
                    if case .text(let w, _) = spec.kind { spec.kind = .text(weight: w, noStem: true); i += 1 } else { break optionLoop }
                case "WEIGHT":
                    guard case .text(_, let ns) = spec.kind else { break optionLoop }
                    guard i + 1 < args.count, let w = Double(args[i + 1]) else { throw QueryError("Bad arguments for weight: Could not convert argument to expected type") }
                    spec.kind = .text(weight: w, noStem: ns); i += 2
                case "PHONETIC":
                    guard case .text = spec.kind, i + 1 < args.count else { break optionLoop }
                    i += 2
                case "WITHSUFFIXTRIE", "INDEXEMPTY", "INDEXMISSING":
                    i += 1
                case "SEPARATOR":
                    guard case .tag(_, let cs) = spec.kind else { break optionLoop }
                    guard i + 1 < args.count, let c = args[i + 1].utf8.first, args[i + 1].utf8.count == 1 else {
                        throw QueryError("Tag separator must be a single character. Got `\(i + 1 < args.count ? args[i + 1] : "")`")
                    }
                    spec.kind = .tag(separator: c, caseSensitive: cs); i += 2
                case "CASESENSITIVE":
                    guard case .tag(let sep, _) = spec.kind else { break optionLoop }
                    spec.kind = .tag(separator: sep, caseSensitive: true); i += 1
                default:
                    break optionLoop
                }
            }
            fields.append(spec)
        }
        return fields
    }

    private static func isVector(_ s: FieldSpec) -> Bool { if case .vector = s.kind { return true }; return false }

    /// `FLAT|HNSW n TYPE t DIM d DISTANCE_METRIC m [INITIAL_CAP c] [BLOCK_SIZE b] [M m] [EF_CONSTRUCTION e] [EF_RUNTIME r]
    /// [EPSILON e] [STORAGE RAM|TIERED]`. STORAGE is ours, counted in `n` like the others so that RediSearch's own
    /// argument count rule still holds; it is left in `storage` (nil when absent).
    static func parseVector(_ args: [String], from i: inout Int, storage: inout VectorStorage?) throws(QueryError)
        -> VectorIndexParameters {
        guard i < args.count else { throw QueryError("Bad arguments for vector similarity algorithm: Expected an argument, but none provided") }
        let algoName = args[i].uppercased()
        let algorithm: VectorAlgorithm
        switch algoName {
        case "FLAT": algorithm = .flat
        case "HNSW": algorithm = .hnsw
        default: throw QueryError("Bad arguments for vector similarity algorithm: Unknown argument")
        }
        i += 1
        guard i < args.count, let given = Int(args[i]) else {
            throw QueryError("Bad arguments for vector similarity number of parameters: Expected an argument, but none provided")
        }
        guard given >= 0 else {
            throw QueryError("Bad arguments for vector similarity number of parameters: Value is outside acceptable bounds")
        }
        let n = given
        let shown = Int32(truncatingIfNeeded: given)  // RediSearch prints the count with %d
        if n % 2 != 0 {
            // RediSearch 2.10 words this differently for its two algorithms (checked against Redis Stack 7.4.1).
            throw QueryError(algorithm == .hnsw
                ? "Bad number of arguments for vector similarity index: got \(shown) but expected even number (as algorithm parameters should be submitted as named arguments)"
                : "Bad number of arguments for vector similarity index: got \(shown) but expected even number as algorithm parameters (should be submitted as named arguments)")
        }
        i += 1
        guard n <= args.count - i else { throw QueryError("Expected \(shown) parameters but got \(args.count - i)") }
        var type: VectorElementType?, dim: Int?, metric: DistanceMetric?
        var initialCap: Int?, blockSize: Int?, m: Int?, efc: Int?, efr: Int?, eps: Double?
        var j = i
        /// RediSearch reads LLONG_MAX as an overflow (strtoll's ERANGE value).
        func integer(_ text: String) -> Int? { Int(text).flatMap { $0 == .max ? nil : $0 } }
        func bad(_ what: String, _ why: String = "Unknown argument") -> QueryError {
            QueryError("Bad arguments for vector similarity \(algoName) index \(what): \(why)")
        }
        while j < i + n {
            let key = args[j].uppercased(), value = args[j + 1]
            switch key {
            case "TYPE":
                switch value.uppercased() {
                case "FLOAT32": type = .float32
                case "FLOAT64": type = .float64
                case "FLOAT16": type = .float16
                case "BFLOAT16": type = .bfloat16
                default: throw bad("type")
                }
            case "DIM":
                guard let d = integer(value) else { throw bad("dim", "Could not convert argument to expected type") }
                guard d > 0 && d <= 32768 else { throw bad("dim", "Value is outside acceptable bounds") }
                dim = d
            case "DISTANCE_METRIC":
                switch value.uppercased() {
                case "L2": metric = .l2
                case "IP": metric = .ip
                case "COSINE": metric = .cosine
                default: throw bad("metric")
                }
            case "INITIAL_CAP":
                guard let v = integer(value), v >= 0 else { throw bad("initial cap", "Could not convert argument to expected type") }
                initialCap = v
            case "BLOCK_SIZE" where algorithm == .flat:
                guard let v = Int(value), v > 0 else { throw bad("block size", "Could not convert argument to expected type") }
                blockSize = v
            case "M" where algorithm == .hnsw:
                guard let v = integer(value) else { throw bad("m", "Could not convert argument to expected type") }
                guard v > 0, v <= 4096 else { throw bad("m", "Value is outside acceptable bounds") }
                m = v
            case "EF_CONSTRUCTION" where algorithm == .hnsw:
                guard let v = integer(value) else { throw bad("efConstruction", "Could not convert argument to expected type") }
                guard v > 0 else { throw bad("efConstruction", "Value is outside acceptable bounds") }
                efc = v
            case "EF_RUNTIME" where algorithm == .hnsw:
                guard let v = integer(value) else { throw bad("efRuntime", "Could not convert argument to expected type") }
                guard v > 0 else { throw bad("efRuntime", "Value is outside acceptable bounds") }
                efr = v
            case "EPSILON" where algorithm == .hnsw:
                guard let v = Double(value), v > 0 else { throw bad("epsilon", "Value is outside acceptable bounds") }
                eps = v
            case "STORAGE":
                guard let s = VectorStorage(rawValue: value.uppercased()) else {
                    throw QueryError("ERR STORAGE must be RAM or TIERED, got '\(value)'")
                }
                // Segments on SSD are HNSW graphs; a FLAT index has no graph to page out.
                guard s == .ram || algorithm == .hnsw else {
                    throw QueryError("ERR STORAGE TIERED needs an HNSW vector field (FLAT is kept in RAM)")
                }
                storage = s
            default:
                throw QueryError("Bad arguments for algorithm \(algoName): \(args[j])")
            }
            j += 2
        }
        i += n
        guard let type, let dim, let metric else {
            throw QueryError("Missing mandatory parameter: cannot create \(algoName) index without specifying \(type == nil ? "TYPE" : dim == nil ? "DIM" : "DISTANCE_METRIC") argument")
        }
        if let initialCap {
            // The capacity is allocated up front: bound it as RediSearch does, by a share of the machine's memory.
            let limit = Self.initialCapacityLimit(bytesPerVector: dim * type.byteSize + (algorithm == .hnsw ? 2 * 4 * (m ?? 16) + 64 : 16))
            guard initialCap <= limit else {
                throw QueryError("Vector index initial capacity \(initialCap) exceeded server limit (\(limit) with the given parameters)")
            }
        }
        return VectorIndexParameters(algorithm: algorithm, dimension: dim, elementType: type, metric: metric,
                                     initialCapacity: initialCap ?? 1024, blockSize: blockSize ?? 1024, m: m ?? 16,
                                     efConstruction: efc ?? 200, efRuntime: efr ?? 10, epsilon: eps ?? 0.01)
    }

    /// Vectors of this size that fit in a tenth of the machine's memory: the largest INITIAL_CAP accepted.
    static func initialCapacityLimit(bytesPerVector: Int) -> Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        let memory = pages > 0 && pageSize > 0 ? pages * pageSize : 1 << 30
        return max(1, memory / 10 / max(1, bytesPerVector))
    }
}
