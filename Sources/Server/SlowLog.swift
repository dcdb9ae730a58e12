// The slow log: the latest commands whose run time reached slowlog-log-slower-than, as Redis's SLOWLOG keeps them.
import Keyspace

/// One logged command, with what SLOWLOG GET replies for it.
struct SlowLogEntry {
    let id: Int
    /// Unix time in seconds when the command was logged.
    let timestamp: Int
    let microseconds: Int
    /// The arguments as logged: at most 32, each at most 128 bytes, secrets redacted (`SlowLog.loggedArguments`).
    let arguments: [[UInt8]]
    let clientAddress: String
    let clientName: String
}

/// The newest `maxLength` entries, newest first on read. Redis's limits and texts: 32 arguments (the last one says
/// how many more there were), 128 bytes an argument (with how many more bytes), AUTH / HELLO AUTH passwords and
/// CONFIG SET of a password shown as "(redacted)".
struct SlowLog {
    static let maxArguments = 32
    static let maxArgumentBytes = 128

    /// Oldest first; trimmed to `maxLength` on every push.
    private(set) var entries: [SlowLogEntry] = []
    private var nextId = 0
    /// Microseconds a command must take to be logged; negative: log nothing (slowlog-log-slower-than).
    var threshold = 10_000
    /// slowlog-max-len.
    var maxLength = 128 {
        didSet { trim() }
    }

    var count: Int { entries.count }

    /// Whether a command that took `microseconds` is logged (threshold 0 logs every command).
    @inline(__always) func wants(_ microseconds: Int) -> Bool { threshold >= 0 && microseconds >= threshold }

    mutating func push(arguments: [[UInt8]], microseconds: Int, timestamp: Int, clientAddress: String,
                       clientName: String) {
        entries.append(SlowLogEntry(id: nextId, timestamp: timestamp, microseconds: microseconds, arguments: arguments,
                                    clientAddress: clientAddress, clientName: clientName))
        nextId += 1
        trim()
    }

    mutating func reset() { entries.removeAll() }

    /// The newest `count` entries (all when `count` is negative), newest first.
    func newest(_ count: Int) -> [SlowLogEntry] {
        Array(entries.suffix(count < 0 ? entries.count : count).reversed())
    }

    private mutating func trim() {
        if entries.count > maxLength { entries.removeFirst(entries.count - maxLength) }
    }

    /// What the log keeps of a command's arguments.
    static func loggedArguments(_ args: Arguments) -> [[UInt8]] {
        let total = args.count
        let kept = min(total, maxArguments)
        let secret = secretArguments(args)
        var out: [[UInt8]] = []
        out.reserveCapacity(kept)
        for i in 0..<kept {
            if kept != total && i == kept - 1 {
                out.append(Array("... (\(total - kept + 1) more arguments)".utf8))
            } else if secret.contains(i) {
                out.append(Array("(redacted)".utf8))
            } else {
                let a = args[i]
                if a.count > maxArgumentBytes {
                    let note = "... (\(a.count - maxArgumentBytes) more bytes)"
                    out.append(Array(a.prefix(maxArgumentBytes)) + Array(note.utf8))
                } else {
                    out.append(Array(a))
                }
            }
        }
        return out
    }

    /// Positions Redis redacts: every AUTH argument, the user and password after HELLO's AUTH, the value of
    /// CONFIG SET requirepass / masterauth.
    static func secretArguments(_ args: Arguments) -> Set<Int> {
        if args.is(0, "AUTH") { return Set(1..<args.count) }
        if args.is(0, "HELLO") {
            for i in 1..<args.count where args.is(i, "AUTH") && i + 2 < args.count { return [i + 1, i + 2] }
            return []
        }
        if args.is(0, "CONFIG"), args.count >= 4, args.is(1, "SET") {
            var secret: Set<Int> = []
            for i in stride(from: 2, to: args.count - 1, by: 2)
            where args.is(i, "requirepass") || args.is(i, "masterauth") {
                secret.insert(i + 1)
            }
            return secret
        }
        return []
    }
}
