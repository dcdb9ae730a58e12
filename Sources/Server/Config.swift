// Node configuration: embedded defaults, redis.conf files and `--name value` flags, CONFIG GET/SET.
import RESP

public enum ConfigError: Error, CustomStringConvertible {
    case unknownDirective(String, line: Int?)
    case badValue(String, String, line: Int?)
    /// An integer outside the directive's range (Redis's wording, which CONFIG SET repeats).
    case outOfRange(String, ClosedRange<Int>, line: Int?)
    case unreadable(String)
    public var description: String {
        switch self {
        case .unknownDirective(let n, let line):
            return (line.map { "line \($0): " } ?? "") + "Bad directive or wrong number of arguments: '\(n)'"
        case .badValue(let n, let v, let line):
            return (line.map { "line \($0): " } ?? "") + "argument couldn't be parsed into a value for '\(n)': '\(v)'"
        case .outOfRange(let n, let range, let line):
            return (line.map { "line \($0): " } ?? "") + "'\(n)' " + Self.rangeText(range)
        case .unreadable(let path): return "Fatal error, can't open config file '\(path)'"
        }
    }

    static func rangeText(_ range: ClosedRange<Int>) -> String {
        "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive"
    }
}

/// How a directive's text is checked and normalised.
enum DirectiveKind {
    case string
    case bool
    case integer(ClosedRange<Int>)
    case memory
    case oneOf([String])
    /// Multi-word values (bind, save, client-output-buffer-limit): kept as given.
    case words
}

struct Directive {
    let name: String
    let kind: DirectiveKind
    let defaultValue: String
    /// CONFIG SET may change it at runtime.
    let mutable: Bool
    var aliases: [String] = []
}

/// Every directive the node knows. Unknown ones are refused at startup with a clear message.
let knownDirectives: [Directive] = [
    Directive(name: "port", kind: .integer(0...65535), defaultValue: "6379", mutable: false),
    Directive(name: "bind", kind: .words, defaultValue: "127.0.0.1 -::1", mutable: false),
    Directive(name: "protected-mode", kind: .bool, defaultValue: "yes", mutable: true),
    Directive(name: "dir", kind: .string, defaultValue: "", mutable: true),
    Directive(name: "requirepass", kind: .string, defaultValue: "", mutable: true),
    Directive(name: "masterauth", kind: .string, defaultValue: "", mutable: true),
    Directive(name: "maxclients", kind: .integer(1...1_000_000), defaultValue: "10000", mutable: true),
    Directive(name: "timeout", kind: .integer(0...Int(Int32.max)), defaultValue: "0", mutable: true),
    Directive(name: "tcp-keepalive", kind: .integer(0...Int(Int32.max)), defaultValue: "300", mutable: true),
    Directive(name: "tcp-backlog", kind: .integer(0...65535), defaultValue: "511", mutable: false),
    Directive(name: "loglevel", kind: .oneOf(["debug", "verbose", "notice", "warning", "nothing"]), defaultValue: "notice", mutable: true),
    Directive(name: "logfile", kind: .string, defaultValue: "", mutable: false),
    Directive(name: "daemonize", kind: .oneOf(["no"]), defaultValue: "no", mutable: false),
    Directive(name: "pidfile", kind: .string, defaultValue: "", mutable: false),
    Directive(name: "databases", kind: .integer(1...1), defaultValue: "1", mutable: false),
    Directive(name: "hz", kind: .integer(1...500), defaultValue: "10", mutable: true),
    Directive(name: "proto-max-bulk-len", kind: .memory, defaultValue: "536870912", mutable: true),
    Directive(name: "client-query-buffer-limit", kind: .memory, defaultValue: "1073741824", mutable: true),
    Directive(name: "client-output-buffer-limit", kind: .words, defaultValue: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", mutable: true),
    Directive(name: "hash-max-listpack-entries", kind: .integer(0...Int(Int32.max)), defaultValue: "128", mutable: true, aliases: ["hash-max-ziplist-entries"]),
    Directive(name: "hash-max-listpack-value", kind: .integer(0...Int(Int32.max)), defaultValue: "64", mutable: true, aliases: ["hash-max-ziplist-value"]),
    Directive(name: "maxmemory", kind: .memory, defaultValue: "0", mutable: true),
    Directive(name: "maxmemory-policy", kind: .oneOf(["noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl"]), defaultValue: "noeviction", mutable: true),
    Directive(name: "save", kind: .words, defaultValue: "", mutable: true),
    Directive(name: "appendonly", kind: .bool, defaultValue: "no", mutable: true),
    Directive(name: "appendfsync", kind: .oneOf(["always", "everysec", "no"]), defaultValue: "everysec", mutable: true),
    Directive(name: "dbfilename", kind: .string, defaultValue: "dump.rdb", mutable: true),
    Directive(name: "appendfilename", kind: .string, defaultValue: "appendonly.aof", mutable: false),
    Directive(name: "io-threads", kind: .integer(1...128), defaultValue: "1", mutable: false),
    Directive(name: "cluster-enabled", kind: .bool, defaultValue: "no", mutable: false),
    Directive(name: "cluster-topology", kind: .string, defaultValue: "", mutable: false),
    Directive(name: "cluster-node", kind: .string, defaultValue: "", mutable: false),
    Directive(name: "cluster-node-timeout", kind: .integer(1...Int(Int32.max)), defaultValue: "15000", mutable: true),
    Directive(name: "search-workers", kind: .integer(0...256), defaultValue: "2", mutable: false),
    Directive(name: "vector-memory-limit", kind: .memory, defaultValue: "0", mutable: true),
    Directive(name: "vector-cold-dir", kind: .string, defaultValue: "", mutable: true),
    Directive(name: "vector-cold-after", kind: .integer(0...Int(Int32.max)), defaultValue: "0", mutable: true),
    Directive(name: "slowlog-log-slower-than", kind: .integer(-1...Int.max), defaultValue: "10000", mutable: true),
    Directive(name: "slowlog-max-len", kind: .integer(0...Int.max), defaultValue: "128", mutable: true),
    Directive(name: "active-expire-enabled", kind: .bool, defaultValue: "yes", mutable: true),
]

/// The node's configuration: directive name → normalised text value.
public struct Config {
    private(set) var values: [String: String] = [:]
    private var index: [String: Directive] = [:]

    public init() {
        for d in knownDirectives {
            values[d.name] = d.defaultValue
            index[d.name] = d
            for a in d.aliases { index[a] = d }
        }
    }

    /// Parses redis.conf text: one directive per line, `#` comments, values optionally quoted.
    public mutating func load(fileText: String) throws {
        for (n, rawLine) in fileText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = Array(line.utf8).withUnsafeBytes { RequestParser.splitInline($0) }?
                .map { String(decoding: $0, as: UTF8.self) }
            guard let words, let name = words.first else { throw ConfigError.badValue("line", line, line: n + 1) }
            try set(name, words.dropFirst().joined(separator: " "), line: n + 1)
        }
    }

    /// Applies `--name value ...` flags (redis-server style: everything up to the next `--` is the value).
    public mutating func load(arguments: [String]) throws {
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            guard a.hasPrefix("--"), a.count > 2 else { throw ConfigError.unknownDirective(a, line: nil) }
            let name = String(a.dropFirst(2))
            var j = i + 1
            var words: [String] = []
            while j < arguments.count && !arguments[j].hasPrefix("--") { words.append(arguments[j]); j += 1 }
            try set(name, words.joined(separator: " "), line: nil)
            i = j
        }
    }

    public func isKnown(_ name: String) -> Bool { index[name.lowercased()] != nil }
    public func isMutable(_ name: String) -> Bool { index[name.lowercased()]?.mutable ?? false }
    public var names: [String] { values.keys.sorted() }

    /// Validates and stores a directive.
    public mutating func set(_ name: String, _ value: String, line: Int? = nil) throws {
        guard let d = index[name.lowercased()] else { throw ConfigError.unknownDirective(name, line: line) }
        values[d.name] = try Self.normalise(d, value, line: line)
    }

    static func normalise(_ d: Directive, _ value: String, line: Int?) throws -> String {
        switch d.kind {
        case .string, .words:
            return value
        case .bool:
            switch value.lowercased() {
            case "yes": return "yes"
            case "no": return "no"
            default: throw ConfigError.badValue(d.name, value, line: line)
            }
        case .integer(let range):
            guard let v = Int(value) else { throw ConfigError.badValue(d.name, value, line: line) }
            guard range.contains(v) else { throw ConfigError.outOfRange(d.name, range, line: line) }
            return String(v)
        case .memory:
            guard let v = parseMemory(value) else { throw ConfigError.badValue(d.name, value, line: line) }
            return String(v)
        case .oneOf(let options):
            let lower = value.lowercased()
            guard options.contains(lower) else { throw ConfigError.badValue(d.name, value, line: line) }
            return lower
        }
    }

    /// "1gb", "64mb", "100k", "512" → bytes (redis.conf units: k=1000, kb=1024, ...).
    public static func parseMemory(_ text: String) -> Int? {
        let lower = text.lowercased()
        let units: [(String, Int)] = [("kb", 1024), ("mb", 1024 * 1024), ("gb", 1024 * 1024 * 1024),
                                      ("k", 1000), ("m", 1_000_000), ("g", 1_000_000_000), ("b", 1)]
        for (suffix, mult) in units where lower.hasSuffix(suffix) {
            guard let v = Int(lower.dropLast(suffix.count)), v >= 0 else { return nil }
            return v * mult
        }
        guard let v = Int(lower), v >= 0 else { return nil }
        return v
    }

    public subscript(name: String) -> String { values[index[name]?.name ?? name] ?? "" }
    public func int(_ name: String) -> Int { Int(self[name]) ?? 0 }
    public func bool(_ name: String) -> Bool { self[name] == "yes" }
    public var port: Int { int("port") }
    public var bindAddresses: [String] { self["bind"].split(separator: " ").map(String.init) }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}
