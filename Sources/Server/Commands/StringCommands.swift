// String commands: GET, SET and its variants, MGET/MSET, counters (INCR*, DECR*), APPEND, STRLEN, GETRANGE, SETRANGE.
// Semantics, option rules and error texts follow Redis 7.4's t_string.c; bit operations and LCS are not here.
import RESP
import Keyspace

extension Server {
    func stringCommands() -> [CommandSpec] {
        [
            command("get", arity: 2, flags: "readonly fast", acl: "read string fast", keys: .single, keySpec: "RO access", group: "string", summary: "Returns the string value of a key.") { ctx throws(CommandError) in
                try ctx.replyString(ctx.server.database.get(ctx.server.lookupKey(ctx.args, 1)))
            },
            command("set", arity: -3, flags: "write denyoom", acl: "write string slow", keys: .single, keySpec: "RW access update variable_flags", group: "string", summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.") { ctx throws(CommandError) in
                let options = try StringOptions.parse(ctx.args, from: 3, forSet: true)
                try ctx.setGeneric(options, value: 2, name: "set", okReply: nil)
            },
            command("setnx", arity: 3, flags: "write denyoom fast", acl: "write string fast", keys: .single, keySpec: "OW insert", group: "string", summary: "Set the string value of a key only when the key doesn't exist.") { ctx throws(CommandError) in
                var options = StringOptions()
                options.nx = true
                try ctx.setGeneric(options, value: 2, name: "setnx", okReply: (1, 0))
            },
            command("setex", arity: 4, flags: "write denyoom", acl: "write string slow", keys: .single, keySpec: "OW update", group: "string", since: "2.0.0", summary: "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.") { ctx throws(CommandError) in
                var options = StringOptions()
                options.expire = (.ex, 2)
                try ctx.setGeneric(options, value: 3, name: "setex", okReply: nil)
            },
            command("psetex", arity: 4, flags: "write denyoom", acl: "write string slow", keys: .single, keySpec: "OW update", group: "string", since: "2.6.0", summary: "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.") { ctx throws(CommandError) in
                var options = StringOptions()
                options.expire = (.px, 2)
                try ctx.setGeneric(options, value: 3, name: "psetex", okReply: nil)
            },
            command("getset", arity: 3, flags: "write denyoom fast", acl: "write string fast", keys: .single, keySpec: "RW access update", group: "string", summary: "Returns the previous string value of a key after setting it to a new value.") { ctx throws(CommandError) in
                let key = ctx.args.bytes(1)
                try ctx.replyString(ctx.server.database.get(key))
                ctx.server.database.set(key, .string(ctx.args.bytes(2)))
            },
            command("getdel", arity: 2, flags: "write fast", acl: "write string fast", keys: .single, keySpec: "RW access delete", group: "string", since: "6.2.0", summary: "Returns the string value of a key after deleting the key.") { ctx throws(CommandError) in
                let key = ctx.args.bytes(1)
                let value = ctx.server.database.get(key)
                try ctx.replyString(value)
                if value != nil { ctx.server.database.delete(key) }
            },
            command("getex", arity: -2, flags: "write fast", acl: "write string fast", keys: .single, keySpec: "RW access update", group: "string", since: "6.2.0", summary: "Returns the string value of a key after setting its expiration time.") { ctx throws(CommandError) in
                let options = try StringOptions.parse(ctx.args, from: 2, forSet: false)
                let key = ctx.args.bytes(1)
                let database = ctx.server.database
                guard let value = database.get(key) else { ctx.client.reply.null(); return }
                guard case .string(let s) = value else { throw .wrongType }
                // The expire time is validated only once the key is known to exist, as Redis does.
                let when = try options.expire.map { kind, index throws(CommandError) in
                    try ctx.expireMilliseconds(index, kind, name: "getex")
                }
                ctx.client.reply.bulk(s)
                if let when {
                    database.setExpire(key, at: when)  // an EXAT/PXAT in the past deletes the key
                } else if options.persist {
                    database.persist(key)
                }
            },
            command("mget", arity: -2, flags: "readonly fast", acl: "read string fast", keys: .all, keySpec: "RO access", group: "string", summary: "Atomically returns the string values of one or more keys.") { ctx in
                ctx.client.reply.array(ctx.args.count - 1)
                for i in 1..<ctx.args.count {
                    // MGET answers nil for keys of another type instead of failing.
                    if case .string(let s)? = ctx.server.database.get(ctx.args.bytes(i)) {
                        ctx.client.reply.bulk(s)
                    } else {
                        ctx.client.reply.null()
                    }
                }
            },
            command("mset", arity: -3, flags: "write denyoom", acl: "write string slow", keys: KeyPositions(first: 1, last: -1, step: 2), keySpec: "OW update", group: "string", since: "1.0.1", summary: "Atomically creates or modifies the string values of one or more keys.") { ctx throws(CommandError) in
                guard ctx.args.count % 2 == 1 else { throw .wrongArity("mset") }
                for i in stride(from: 1, to: ctx.args.count, by: 2) {
                    ctx.server.database.set(ctx.args.bytes(i), .string(ctx.args.bytes(i + 1)))
                }
                ctx.client.reply.ok()
            },
            command("msetnx", arity: -3, flags: "write denyoom", acl: "write string slow", keys: KeyPositions(first: 1, last: -1, step: 2), keySpec: "OW insert", group: "string", since: "1.0.1", summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.") { ctx throws(CommandError) in
                guard ctx.args.count % 2 == 1 else { throw .wrongArity("msetnx") }
                let database = ctx.server.database
                for i in stride(from: 1, to: ctx.args.count, by: 2) where database.peek(ctx.args.bytes(i)) != nil {
                    ctx.client.reply.integer(0)
                    return
                }
                for i in stride(from: 1, to: ctx.args.count, by: 2) {
                    database.set(ctx.args.bytes(i), .string(ctx.args.bytes(i + 1)))
                }
                ctx.client.reply.integer(1)
            },
            command("incr", arity: 2, flags: "write denyoom fast", acl: "write string fast", keys: .single, keySpec: "RW access update", group: "string", summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.") { ctx throws(CommandError) in
                try ctx.incrementBy(1)
            },
            command("decr", arity: 2, flags: "write denyoom fast", acl: "write string fast", keys: .single, keySpec: "RW access update", group: "string", summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.") { ctx throws(CommandError) in
                try ctx.incrementBy(-1)
            },
            command("incrby", arity: 3, flags: "write denyoom fast", acl: "write string fast", keys: .single, keySpec: "RW access update", group: "string", summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.") { ctx throws(CommandError) in
                try ctx.incrementBy(ctx.args.integer(2))
            },
            command("decrby", arity: 3, flags: "write denyoom fast", acl: "write string fast", keys: .single, keySpec: "RW access update", group: "string", summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.") { ctx throws(CommandError) in
                let decrement = try ctx.args.integer(2)
                // Negating Int.min overflows.
                if decrement == Int.min { throw CommandError("ERR decrement would overflow") }
                try ctx.incrementBy(-decrement)
            },
            command("incrbyfloat", arity: 3, flags: "write denyoom fast", acl: "write string fast", keys: .single, keySpec: "RW access update", group: "string", since: "2.6.0", summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.") { ctx throws(CommandError) in
                let key = ctx.args.bytes(1)
                var value: LongDouble = 0
                switch ctx.server.database.peek(key) {
                case .hash?, .suggestions?: throw .wrongType
                case .string(let s)?:
                    guard let v = s.withUnsafeBytes({ LongDouble.parse($0) }) else { throw .notFloat }
                    value = v
                case nil: break
                }
                guard let increment = LongDouble.parse(ctx.args[2]) else { throw .notFloat }
                value += increment
                if value.isNaN || value.isInfinite { throw CommandError("ERR increment would produce NaN or Infinity") }
                let text = LongDouble.humanFriendly(value)
                ctx.server.database.set(key, .string(Bytes(text)), keepTTL: true)
                ctx.client.reply.bulk(text)
            },
            command("append", arity: 3, flags: "write denyoom fast", acl: "write string fast", keys: .single, keySpec: "RW insert", group: "string", since: "2.0.0", summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.") { ctx throws(CommandError) in
                let key = ctx.args.bytes(1)
                let tail = ctx.args[2]
                switch ctx.server.database.peek(key) {
                case .hash?, .suggestions?: throw .wrongType
                case .string(let s)?: try ctx.checkStringLength(s.count, tail.count)
                case nil: break
                }
                let length = ctx.server.database.updateString(key) { bytes in
                    bytes.append(contentsOf: tail)
                    return bytes.count
                }
                ctx.client.reply.integer(length ?? 0)
            },
            command("strlen", arity: 2, flags: "readonly fast", acl: "read string fast", keys: .single, keySpec: "RO", group: "string", since: "2.2.0", summary: "Returns the length of a string value.") { ctx throws(CommandError) in
                switch ctx.server.database.get(ctx.args.bytes(1)) {
                case nil: ctx.client.reply.integer(0)
                case .string(let s)?: ctx.client.reply.integer(s.count)
                default: throw .wrongType
                }
            },
            command("getrange", arity: 4, flags: "readonly", acl: "read string slow", keys: .single, keySpec: "RO access", group: "string", since: "2.4.0", summary: "Returns a substring of the string stored at a key.") { ctx throws(CommandError) in
                try ctx.getRange()
            },
            command("substr", arity: 4, flags: "readonly", acl: "read string slow", keys: .single, keySpec: "RO access", group: "string", summary: "Returns a substring from a string value.") { ctx throws(CommandError) in
                try ctx.getRange()
            },
            command("setrange", arity: 4, flags: "write denyoom", acl: "write string slow", keys: .single, keySpec: "RW update", group: "string", since: "2.2.0", summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.") { ctx throws(CommandError) in
                let offset = try ctx.args.integer(2)
                if offset < 0 { throw CommandError("ERR offset is out of range") }
                let key = ctx.args.bytes(1)
                let patch = ctx.args[3]
                switch ctx.server.database.peek(key) {
                case nil:
                    // Setting nothing on a missing key creates nothing.
                    if patch.isEmpty { ctx.client.reply.integer(0); return }
                case .string(let s)?:
                    if patch.isEmpty { ctx.client.reply.integer(s.count); return }
                default:
                    throw .wrongType
                }
                try ctx.checkStringLength(offset, patch.count)
                let length = ctx.server.database.updateString(key) { bytes in
                    let end = offset + patch.count
                    if bytes.count < end { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
                    bytes.withUnsafeMutableBytes { dst in
                        UnsafeMutableRawBufferPointer(rebasing: dst[offset..<end]).copyMemory(from: patch)
                    }
                    return bytes.count
                }
                ctx.client.reply.integer(length ?? 0)
            },
        ]
    }
}

/// The options of SET (NX, XX, GET, KEEPTTL, EX, PX, EXAT, PXAT) and GETEX (PERSIST, EX, PX, EXAT, PXAT), parsed with
/// Redis's rule that a keyword conflicting with one already given is a syntax error (a repeated one is not).
struct StringOptions {
    enum ExpireKind { case ex, px, exat, pxat }

    var nx = false
    var xx = false
    var get = false
    var keepTTL = false
    var persist = false
    /// The expiry keyword and the index of its argument.
    var expire: (kind: ExpireKind, index: Int)?

    static func parse(_ args: Arguments, from start: Int, forSet: Bool) throws(CommandError) -> StringOptions {
        var o = StringOptions()
        var j = start
        while j < args.count {
            let hasNext = j + 1 < args.count
            let noOtherExpiry = { (kind: ExpireKind) in o.expire == nil || o.expire!.kind == kind }
            if forSet && args.is(j, "NX") && !o.xx {
                o.nx = true
            } else if forSet && args.is(j, "XX") && !o.nx {
                o.xx = true
            } else if forSet && args.is(j, "GET") {
                o.get = true
            } else if forSet && args.is(j, "KEEPTTL") && o.expire == nil {
                o.keepTTL = true
            } else if !forSet && args.is(j, "PERSIST") && o.expire == nil {
                o.persist = true
            } else if let kind = Self.expireKeyword(args, j), hasNext, !o.keepTTL, !o.persist, noOtherExpiry(kind) {
                o.expire = (kind, j + 1)
                j += 1
            } else {
                throw .syntax
            }
            j += 1
        }
        return o
    }

    private static func expireKeyword(_ args: Arguments, _ i: Int) -> ExpireKind? {
        if args.is(i, "EX") { return .ex }
        if args.is(i, "PX") { return .px }
        if args.is(i, "EXAT") { return .exat }
        if args.is(i, "PXAT") { return .pxat }
        return nil
    }
}

extension CommandContext {
    /// Replies with a string value, nil for a missing key, or WRONGTYPE (Redis's getGenericCommand).
    func replyString(_ value: Value?) throws(CommandError) {
        switch value {
        case nil: client.reply.null()
        case .string(let s)?: client.reply.bulk(s)
        default: throw .wrongType
        }
    }

    /// Argument `index` as an absolute expiry in ms for SET/GETEX/SETEX/PSETEX; a non-positive time, or one that
    /// overflows, is `ERR invalid expire time in '<name>' command`.
    func expireMilliseconds(_ index: Int, _ kind: StringOptions.ExpireKind, name: String) throws(CommandError) -> Int64 {
        var ms = try args.integer(index)
        let inSeconds = kind == .ex || kind == .exat
        if ms <= 0 || (inSeconds && ms > Int.max / 1000) { throw .invalidExpireTime(name) }
        if inSeconds { ms *= 1000 }
        if kind == .ex || kind == .px {
            let (sum, overflow) = ms.addingReportingOverflow(Int(server.database.clock()))
            if overflow { throw .invalidExpireTime(name) }
            ms = sum
        }
        return Int64(ms)
    }

    /// SET and its variants: validate the expiry, answer GET, apply NX/XX, store. `okReply` replaces +OK / nil with
    /// integers (SETNX's 1 / 0).
    func setGeneric(_ options: StringOptions, value: Int, name: String, okReply: (done: Int, skipped: Int)?) throws(CommandError) {
        let key = args.bytes(1)
        let database = server.database
        let when = try options.expire.map { kind, index throws(CommandError) in try expireMilliseconds(index, kind, name: name) }
        if options.get { try replyString(database.get(key)) }
        let found = database.peek(key) != nil
        if (options.nx && found) || (options.xx && !found) {
            if !options.get {
                if let okReply { client.reply.integer(okReply.skipped) } else { client.reply.null() }
            }
            return
        }
        if let when {
            database.set(key, .string(args.bytes(value)), expireAt: when)
        } else {
            database.set(key, .string(args.bytes(value)), keepTTL: options.keepTTL)
        }
        if !options.get {
            if let okReply { client.reply.integer(okReply.done) } else { client.reply.ok() }
        }
    }

    /// INCR, DECR, INCRBY, DECRBY: the value must be a Redis integer; the result must fit in 64 bits. Keeps the TTL.
    func incrementBy(_ increment: Int) throws(CommandError) {
        var failure: CommandError?
        let sum: Int = server.database.modify(server.lookupKey(args, 1)) { entry in
            var value = 0
            switch entry {
            case .hash?, .suggestions?: failure = .wrongType; return (0, false)
            case .string(let s)?:
                guard let v = s.integerValue else { failure = .notInteger; return (0, false) }
                value = v
            case nil: break
            }
            let (sum, overflow) = value.addingReportingOverflow(increment)
            if overflow { failure = .overflow; return (0, false) }
            entry = .string(Bytes(integer: sum))
            return (sum, true)
        }
        if let failure { throw failure }
        client.reply.integer(sum)
    }

    /// `proto-max-bulk-len` caps strings grown by APPEND and SETRANGE.
    func checkStringLength(_ size: Int, _ append: Int) throws(CommandError) {
        let (total, overflow) = size.addingReportingOverflow(append)
        if overflow || total > server.config.int("proto-max-bulk-len") {
            throw CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        }
    }

    /// GETRANGE / SUBSTR with Redis's index clamping: negative indexes count from the end, and a range that is
    /// empty after clamping (or a missing key) is an empty string.
    func getRange() throws(CommandError) {
        var start = try args.integer(2)
        var end = try args.integer(3)
        let s: Bytes
        switch server.database.get(args.bytes(1)) {
        case nil: client.reply.bulk(EmptyCollection<UInt8>()); return
        case .string(let v)?: s = v
        default: throw .wrongType
        }
        let length = s.count
        if start < 0 && end < 0 && start > end { client.reply.bulk(EmptyCollection<UInt8>()); return }
        if start < 0 { start += length }
        if end < 0 { end += length }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= length { end = length - 1 }
        if start > end || length == 0 {
            client.reply.bulk(EmptyCollection<UInt8>())
        } else {
            s.withUnsafeBytes { client.reply.bulk(UnsafeRawBufferPointer(rebasing: $0[start...end])) }
        }
    }
}

#if arch(x86_64) || arch(i386)
/// INCRBYFLOAT works in C's `long double` (80-bit on x86), as Redis does, so results match digit for digit.
typealias LongDouble = Float80
#else
typealias LongDouble = Double
#endif

extension LongDouble {
    /// Redis's string2ld: the whole text must parse with strtold, no leading space, no NaN, no overflow to ±HUGE_VAL
    /// and no underflow to zero.
    static func parse(_ raw: UnsafeRawBufferPointer) -> LongDouble? {
        if raw.isEmpty || raw.count >= 5 * 1024 { return nil }
        var text = Array(raw)
        text.append(0)
        if isspace(Int32(text[0])) != 0 { return nil }
        return text.withUnsafeMutableBufferPointer { buf -> LongDouble? in
            let start = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            #if arch(x86_64) || arch(i386)
            let value = strtold(start, &end)
            #else
            let value = strtod(start, &end)
            #endif
            guard let end, end - start == raw.count else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            if errno == EINVAL || value.isNaN { return nil }
            return value
        }
    }

    /// Redis's ld2string in human-friendly mode: `%.17Lf` with trailing zeros (and a bare point) removed, `-0` as `0`.
    static func humanFriendly(_ value: LongDouble) -> String {
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value.isNaN { return "nan" }
        let capacity = 5 * 1024
        var buffer = [CChar](repeating: 0, count: capacity)
        #if arch(x86_64) || arch(i386)
        let format = "%.17Lf"
        #else
        let format = "%.17f"
        #endif
        let n = Int(withVaList([value]) { vsnprintf(&buffer, capacity, format, $0) })
        // Too long for Redis's buffer: it stores an empty string.
        if n + 1 > capacity { return "" }
        var text = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        if text == "-0" { text = "0" }
        return text
    }
}

extension Server {
    /// Argument `i` as a key for a lookup or `Database.modify` (which stores new keys compacted), in reused storage:
    /// GET and INCR on a key longer than 14 bytes then allocate nothing for it.
    func lookupKey(_ args: Arguments, _ i: Int) -> Bytes { Bytes(args[i], reusing: &keyScratch) }
}
