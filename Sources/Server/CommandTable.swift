// The command table: every command as data (name, arity, flags, ACL categories, key positions, handler).
// Dispatch, arity checks, COMMAND / COMMAND DOCS and cluster key-slot extraction all read this one table.
import RESP
import Keyspace

/// What a handler gets: the server, the calling client and the arguments (argv[0] is the command name).
/// Valid only during the handler call, like `args` (views into the read buffer): handlers that finish later keep the
/// client's id, never the context. So the references are unowned(unsafe): checked `unowned` cost two atomic
/// reference-count operations per reference per command.
public struct CommandContext {
    public unowned(unsafe) let server: Server
    public unowned(unsafe) let client: Client
    public let args: Arguments
}

public typealias CommandHandler = (CommandContext) throws(CommandError) -> Void

/// Where a command's keys are, in Redis's (first, last, step) form: last -1 means "to the end", 0/0/0 no keys.
public struct KeyPositions: Sendable {
    public var first: Int
    public var last: Int
    public var step: Int
    public static let none = KeyPositions(first: 0, last: 0, step: 0)
    public static let single = KeyPositions(first: 1, last: 1, step: 1)
    public static let all = KeyPositions(first: 1, last: -1, step: 1)
    public init(first: Int, last: Int, step: Int) { self.first = first; self.last = last; self.step = step }
}

/// A command declared as data.
public final class CommandSpec {
    public let name: String
    /// Positive: exact argument count (with the name); negative: at least -arity.
    public let arity: Int
    public let flags: [String]
    public let categories: [String]
    public let keys: KeyPositions
    /// Key-spec flags (`RW`, `RO`, `OW`, `RM`, `access`, `update`, `insert`, `delete`) for COMMAND INFO.
    public let keySpecFlags: [String]
    public let summary: String
    public let since: String
    public let group: String
    public let subcommands: [CommandSpec]
    /// False for commands whose "key" arguments are not keyspace keys (FT.* index names): no slot routing.
    public let routesByKeys: Bool
    public let handler: CommandHandler?
    /// Position in the table, for per-command statistics.
    public internal(set) var id = 0

    public init(_ name: String, arity: Int, flags: [String], categories: [String], keys: KeyPositions = .none,
                keySpecFlags: [String] = [], group: String, since: String = "1.0.0", summary: String,
                subcommands: [CommandSpec] = [], routesByKeys: Bool = true, handler: CommandHandler? = nil) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.categories = categories
        self.keys = keys
        self.keySpecFlags = keySpecFlags
        self.summary = summary
        self.since = since
        self.group = group
        self.subcommands = subcommands
        self.routesByKeys = routesByKeys
        self.handler = handler
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }
    public var isWrite: Bool { has("write") }

    /// Indexes of the key arguments in `argc` arguments, per (first, last, step).
    public func keyIndexes(argc: Int) -> [Int] {
        guard keys.first > 0 else { return [] }
        let last = keys.last < 0 ? argc + keys.last : keys.last
        guard keys.first <= last, last < argc else { return keys.first < argc ? [keys.first] : [] }
        return Array(stride(from: keys.first, through: last, by: max(keys.step, 1)))
    }
}

/// Lookup by name without allocating: an open-addressing table indexed by a hash of the lowercased name (no
/// Dictionary, so no SipHash and no bucket array retained per command); names compare case-insensitively.
public struct CommandTable {
    public private(set) var commands: [CommandSpec] = []
    /// Lowercased name bytes per command id, compared against the request's name.
    private var names: [[UInt8]] = []
    /// Slot → command id + 1 (0 = empty); linear probing; at most a quarter full. Earlier registrations of a name
    /// sit earlier in its probe run, so the first one wins, as before.
    private var slots: [Int32] = Array(repeating: 0, count: 64)
    /// Per-command counters for INFO commandstats: calls, microseconds, rejected, failed.
    public var stats: [CommandStats] = []

    public init() {}

    public mutating func register(_ spec: CommandSpec) {
        spec.id = commands.count
        names.append(spec.name.utf8.map(Arguments.foldCase))
        commands.append(spec)
        stats.append(CommandStats())
        if commands.count * 4 > slots.count { rebuildSlots(capacity: slots.count * 2) } else { place(spec.id) }
    }

    private mutating func place(_ id: Int) {
        let mask = slots.count - 1
        var i = Self.hash(names[id]) & mask
        while slots[i] != 0 { i = (i &+ 1) & mask }
        slots[i] = Int32(id + 1)
    }

    private mutating func rebuildSlots(capacity: Int) {
        slots = Array(repeating: 0, count: capacity)
        for id in commands.indices { place(id) }
    }

    public mutating func register(_ specs: [CommandSpec]) { for s in specs { register(s) } }

    static func hash<C: Collection>(_ name: C) -> Int where C.Element == UInt8 {
        var h: UInt64 = 0xcbf29ce484222325
        for c in name { h = (h ^ UInt64(Arguments.foldCase(c))) &* 0x100000001b3 }
        return Int(truncatingIfNeeded: h)
    }

    public func lookup(_ name: UnsafeRawBufferPointer) -> CommandSpec? {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var i = Self.hash(name) & mask
            while slots[i] != 0 {
                let id = Int(slots[i]) - 1
                if names[id].withUnsafeBufferPointer({ Self.equalFolded($0, name) }) { return commands[id] }
                i = (i &+ 1) & mask
            }
            return nil
        }
    }

    /// `lowered` (already lowercase) equals `name` ignoring ASCII case.
    @inline(__always) private static func equalFolded(_ lowered: UnsafeBufferPointer<UInt8>, _ name: UnsafeRawBufferPointer) -> Bool {
        guard lowered.count == name.count else { return false }
        for j in 0..<name.count where lowered[j] != Arguments.foldCase(name[j]) { return false }
        return true
    }

    public func lookup(_ name: String) -> CommandSpec? {
        var n = name
        return n.withUTF8 { lookup(UnsafeRawBufferPointer($0)) }
    }

    /// A container's subcommand (`CONFIG GET` → the `get` spec), or nil.
    public static func subcommand(of spec: CommandSpec, _ name: UnsafeRawBufferPointer) -> CommandSpec? {
        let lower = String(decoding: name, as: UTF8.self).lowercased()
        return spec.subcommands.first { $0.name == "\(spec.name)|\(lower)" }
    }
}

public struct CommandStats: Sendable {
    public var calls = 0
    public var microseconds = 0
    public var rejected = 0
    public var failed = 0
}

extension ReplyWriter {
    /// One COMMAND / COMMAND INFO entry in Redis 7's 10-element shape.
    mutating func commandInfo(_ spec: CommandSpec) {
        array(10)
        bulk(spec.name)
        integer(spec.arity)
        set(spec.flags.count)
        for f in spec.flags { simpleString(f) }
        integer(spec.keys.first)
        integer(spec.keys.last)
        integer(spec.keys.step)
        set(spec.categories.count)
        for c in spec.categories { simpleString("@" + c) }
        set(0)  // tips
        if spec.keys.first > 0 {
            array(1)
            map(3)
            bulk("flags"); set(spec.keySpecFlags.count); for f in spec.keySpecFlags { simpleString(f) }
            bulk("begin_search"); map(2); bulk("type"); bulk("index"); bulk("spec"); map(1); bulk("index"); integer(spec.keys.first)
            bulk("find_keys"); map(2); bulk("type"); bulk("range"); bulk("spec"); map(3)
            bulk("lastkey"); integer(spec.keys.last < 0 ? spec.keys.last : spec.keys.last - spec.keys.first)
            bulk("keystep"); integer(spec.keys.step)
            bulk("limit"); integer(0)
        } else {
            array(0)
        }
        array(spec.subcommands.count)
        for sub in spec.subcommands { commandInfo(sub) }
    }

    /// One COMMAND DOCS entry: summary, since, group, complexity-free.
    mutating func commandDocs(_ spec: CommandSpec) {
        bulk(spec.name)
        let hasSubs = !spec.subcommands.isEmpty
        map(hasSubs ? 4 : 3)
        bulk("summary"); bulk(spec.summary)
        bulk("since"); bulk(spec.since)
        bulk("group"); bulk(spec.group)
        if hasSubs {
            bulk("subcommands")
            map(spec.subcommands.count)
            for s in spec.subcommands { commandDocs(s) }
        }
    }
}
