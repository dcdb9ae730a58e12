// The query tree of RediSearch's DIALECT 2 language, produced by QueryParser and evaluated by the executor.

/// A filter expression. Field names are as written after `@` (aliases are resolved by the executor).
public indirect enum QueryNode: Equatable, Sendable {
    /// `*`: every document.
    case all
    /// A word; `fields` nil means every TEXT field. Matched after tokenizing/stemming unless VERBATIM.
    case term(fields: [String]?, text: String)
    /// `word*`, `*word`, `*word*`, `%word%`, `w'pattern'`: the union of the terms the pattern expands to.
    case expansion(fields: [String]?, pattern: TermPattern)
    /// `"exact words"` in order, adjacent.
    case phrase(fields: [String]?, words: [String])
    /// `@field:{a | b}`: any of the tags (exact match after the field's case rules, or a pattern).
    case tag(field: String, values: [TagValue])
    /// `@field:[lo hi]` with `(` marking an exclusive bound; ±inf allowed.
    case numericRange(field: String, min: Double, minExclusive: Bool, max: Double, maxExclusive: Bool)
    /// `@field:[lon lat radius unit]`: GEO values within the radius.
    case geo(GeoFilter)
    /// `@field:[VECTOR_RANGE r $B]=>{$EPSILON: e; $YIELD_DISTANCE_AS: d}`.
    case vectorRange(VectorRangeClause)
    /// `-expr`.
    case not(QueryNode)
    /// `a | b`.
    case union([QueryNode])
    /// `a b` (juxtaposition).
    case intersection([QueryNode])
    /// An intersection whose children's positions must lie within `slop` of each other (in order when `inOrder`):
    /// SLOP / INORDER, or `=>{$slop: n; $inorder: true}`.
    case proximity([QueryNode], slop: Int, inOrder: Bool)
    /// `~expr`: optional; matches everything, only affects scoring.
    case optional(QueryNode)
}

/// One value of a TAG clause.
public enum TagValue: Hashable, Sendable {
    /// The value as the tag index holds it (a trailing `\*`, escaped in the query, keeps its backslash).
    case exact(String)
    /// `pre*`, `*suf`, `*mid*`, `w'pattern'` (fuzzy does not apply to tags).
    case pattern(TermPattern)
}

extension TagValue: ExpressibleByStringLiteral {
    /// A literal is an exact value.
    public init(stringLiteral value: String) { self = .exact(value) }
}

extension QueryNode {
    /// True when an intersection of the tree checks SLOP / INORDER.
    var checksProximity: Bool {
        switch self {
        case .proximity: return true
        case .intersection(let cs), .union(let cs): return cs.contains { $0.checksProximity }
        case .not(let c), .optional(let c): return c.checksProximity
        default: return false
        }
    }
}

public struct VectorRangeClause: Equatable, Sendable {
    public var field: String
    public var radius: Double
    public var blob: [UInt8]
    public var epsilon: Double?
    public var yieldDistanceAs: String?
    public init(field: String, radius: Double, blob: [UInt8], epsilon: Double? = nil, yieldDistanceAs: String? = nil) {
        self.field = field; self.radius = radius; self.blob = blob; self.epsilon = epsilon; self.yieldDistanceAs = yieldDistanceAs
    }
}

public enum HybridPolicy: String, Equatable, Sendable {
    case batches = "BATCHES"
    case adhocBruteForce = "ADHOC_BF"
}

/// `=>[KNN k @field $BLOB ...]`: the k nearest documents among those the filter keeps.
public struct KNNClause: Equatable, Sendable {
    public var k: Int
    public var field: String
    public var blob: [UInt8]
    public var efRuntime: Int?
    public var epsilon: Double?
    public var hybridPolicy: HybridPolicy?
    public var batchSize: Int?
    /// `AS name` or `$YIELD_DISTANCE_AS`; nil means the default `__<field>_score`.
    public var scoreAlias: String?
    public init(k: Int, field: String, blob: [UInt8], efRuntime: Int? = nil, epsilon: Double? = nil,
                hybridPolicy: HybridPolicy? = nil, batchSize: Int? = nil, scoreAlias: String? = nil) {
        self.k = k; self.field = field; self.blob = blob; self.efRuntime = efRuntime; self.epsilon = epsilon
        self.hybridPolicy = hybridPolicy; self.batchSize = batchSize; self.scoreAlias = scoreAlias
    }
    /// The name under which the distance is returned.
    public var scoreField: String { scoreAlias ?? "__\(field)_score" }
}

/// A parsed FT.SEARCH query: a filter, and optionally a KNN clause applied to the filter's result.
public struct ParsedQuery: Equatable, Sendable {
    public var filter: QueryNode
    public var knn: KNNClause?
    /// The filter as the parser built it (weights, phrase kinds, the order of children): what scoring needs that
    /// `filter` leaves out. Not part of the query's identity: it is derived from the same text.
    var scoring = ScoringTree(root: nil)
    public init(filter: QueryNode, knn: KNNClause? = nil) { self.filter = filter; self.knn = knn }
}

/// The parse tree a query's scores are computed over (see Scoring.swift).
struct ScoringTree: Equatable, Sendable {
    let root: ParseNode?
    static func == (a: ScoringTree, b: ScoringTree) -> Bool { true }
}

/// A query that cannot be parsed or evaluated; `message` is the whole error reply text (RediSearch's wording).
public struct QueryError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
