// Hash commands: HSET, HGET, HGETALL and the rest of the H* family (t_hash.c). Field expiry (HEXPIRE…) is not here.
import RESP
import Keyspace

extension Server {
    func hashCommands() -> [CommandSpec] {
        [
            command("hset", arity: -4, flags: "write denyoom fast", acl: "write hash fast", keys: .single, keySpec: "RW update", group: "hash", since: "2.0.0", summary: "Creates or modifies the value of a field in a hash.") { ctx throws(CommandError) in
                let added = try ctx.server.hsetGeneric(ctx, name: "hset")
                ctx.client.reply.integer(added)
            },
            command("hmset", arity: -4, flags: "write denyoom fast", acl: "write hash fast", keys: .single, keySpec: "RW update", group: "hash", since: "2.0.0", summary: "Sets the values of multiple fields.") { ctx throws(CommandError) in
                // HMSET (deprecated) and HSET differ only in the reply.
                _ = try ctx.server.hsetGeneric(ctx, name: "hmset")
                ctx.client.reply.ok()
            },
            command("hsetnx", arity: 4, flags: "write denyoom fast", acl: "write hash fast", keys: .single, keySpec: "RW insert", group: "hash", since: "2.0.0", summary: "Sets the value of a field in a hash only when the field doesn't exist.") { ctx throws(CommandError) in
                let key = ctx.args.bytes(1), field = ctx.args.bytes(2), value = ctx.args.bytes(3)
                // Checked before writing so an existing field leaves the key untouched (no change event, WATCH intact).
                if let hash = try ctx.server.hashForWrite(key), hash.contains(field) {
                    ctx.client.reply.integer(0)
                    return
                }
                let limits = ctx.server.database.hashLimits
                _ = ctx.server.database.updateHash(key, create: true) { hash in
                    hash.prepareForWrite(pairs: 1, longestArgument: max(field.count, value.count), limits: limits)
                    hash.set(field, value, limits: limits)
                }
                ctx.client.reply.integer(1)
            },
            command("hget", arity: 3, flags: "readonly fast", acl: "read hash fast", keys: .single, keySpec: "RO access", group: "hash", since: "2.0.0", summary: "Returns the value of a field in a hash.") { ctx throws(CommandError) in
                if let value = try ctx.server.hashForRead(ctx.args.bytes(1))?[ctx.args.bytes(2)] {
                    ctx.client.reply.bulk(value)
                } else {
                    ctx.client.reply.null()
                }
            },
            command("hmget", arity: -3, flags: "readonly fast", acl: "read hash fast", keys: .single, keySpec: "RO access", group: "hash", since: "2.0.0", summary: "Returns the values of all fields in a hash.") { ctx throws(CommandError) in
                // A missing key is an empty hash: one null per field.
                let hash = try ctx.server.hashForRead(ctx.args.bytes(1))
                ctx.client.reply.array(ctx.args.count - 2)
                for i in 2..<ctx.args.count {
                    if let value = hash?[ctx.args.bytes(i)] { ctx.client.reply.bulk(value) } else { ctx.client.reply.null() }
                }
            },
            command("hgetall", arity: 2, flags: "readonly", acl: "read hash slow", keys: .single, keySpec: "RO access", group: "hash", since: "2.0.0", summary: "Returns all fields and values in a hash.") { ctx throws(CommandError) in
                guard let hash = try ctx.server.hashForRead(ctx.args.bytes(1)) else { ctx.client.reply.map(0); return }
                ctx.client.reply.map(hash.count)
                hash.forEachRaw { f, v in ctx.client.reply.bulk(f); ctx.client.reply.bulk(v) }
            },
            command("hkeys", arity: 2, flags: "readonly", acl: "read hash slow", keys: .single, keySpec: "RO access", group: "hash", since: "2.0.0", summary: "Returns all fields in a hash.") { ctx throws(CommandError) in
                guard let hash = try ctx.server.hashForRead(ctx.args.bytes(1)) else { ctx.client.reply.array(0); return }
                ctx.client.reply.array(hash.count)
                hash.forEachRaw { f, _ in ctx.client.reply.bulk(f) }
            },
            command("hvals", arity: 2, flags: "readonly", acl: "read hash slow", keys: .single, keySpec: "RO access", group: "hash", since: "2.0.0", summary: "Returns all values in a hash.") { ctx throws(CommandError) in
                guard let hash = try ctx.server.hashForRead(ctx.args.bytes(1)) else { ctx.client.reply.array(0); return }
                ctx.client.reply.array(hash.count)
                hash.forEachRaw { _, v in ctx.client.reply.bulk(v) }
            },
            command("hdel", arity: -3, flags: "write fast", acl: "write hash fast", keys: .single, keySpec: "RW delete", group: "hash", since: "2.0.0", summary: "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.") { ctx throws(CommandError) in
                let key = ctx.args.bytes(1)
                let fields = ctx.args.bytes(2..<ctx.args.count)
                // Only a real deletion touches the key (Redis signals nothing when no field existed).
                guard let hash = try ctx.server.hashForWrite(key), fields.contains(where: { hash.contains($0) }) else {
                    ctx.client.reply.integer(0)
                    return
                }
                let deleted = ctx.server.database.updateHash(key, create: false) { hash in
                    fields.reduce(0) { n, f in hash.remove(f) ? n + 1 : n }
                }
                if case .success(let n)? = deleted { ctx.client.reply.integer(n) } else { ctx.client.reply.integer(0) }
            },
            command("hlen", arity: 2, flags: "readonly fast", acl: "read hash fast", keys: .single, keySpec: "RO", group: "hash", since: "2.0.0", summary: "Returns the number of fields in a hash.") { ctx throws(CommandError) in
                ctx.client.reply.integer(try ctx.server.hashForRead(ctx.args.bytes(1))?.count ?? 0)
            },
            command("hexists", arity: 3, flags: "readonly fast", acl: "read hash fast", keys: .single, keySpec: "RO", group: "hash", since: "2.0.0", summary: "Determines whether a field exists in a hash.") { ctx throws(CommandError) in
                let exists = try ctx.server.hashForRead(ctx.args.bytes(1))?.contains(ctx.args.bytes(2)) ?? false
                ctx.client.reply.integer(exists ? 1 : 0)
            },
            command("hstrlen", arity: 3, flags: "readonly fast", acl: "read hash fast", keys: .single, keySpec: "RO", group: "hash", since: "3.2.0", summary: "Returns the length of the value of a field.") { ctx throws(CommandError) in
                ctx.client.reply.integer(try ctx.server.hashForRead(ctx.args.bytes(1))?[ctx.args.bytes(2)]?.count ?? 0)
            },
            command("hincrby", arity: 4, flags: "write denyoom fast", acl: "write hash fast", keys: .single, keySpec: "RW access update", group: "hash", since: "2.0.0", summary: "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.") { ctx throws(CommandError) in
                let increment = try ctx.args.integer(3)
                let key = ctx.args.bytes(1), field = ctx.args.bytes(2)
                var current = 0
                if let old = try ctx.server.hashForWrite(key)?[field] {
                    guard let n = old.integerValue else { throw .hashValueNotInteger }
                    current = n
                }
                let (sum, overflow) = current.addingReportingOverflow(increment)
                if overflow { throw .overflow }
                ctx.server.hashStore(key, field, Bytes(integer: sum))
                ctx.client.reply.integer(sum)
            },
            command("hincrbyfloat", arity: 4, flags: "write denyoom fast", acl: "write hash fast", keys: .single, keySpec: "RW access update", group: "hash", since: "2.6.0", summary: "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.") { ctx throws(CommandError) in
                guard let increment = LongDoubleText.parse(ctx.args[3]) else { throw .notFloat }
                if increment.isNaN || increment.isInfinite { throw CommandError("ERR value is NaN or Infinity") }
                let key = ctx.args.bytes(1), field = ctx.args.bytes(2)
                var current: Float80 = 0
                if let old = try ctx.server.hashForWrite(key)?[field] {
                    guard let v = old.withUnsafeBytes({ LongDoubleText.parse($0) }) else { throw .hashValueNotFloat }
                    current = v
                }
                let result = current + increment
                if result.isNaN || result.isInfinite { throw CommandError("ERR increment would produce NaN or Infinity") }
                let text = Bytes(LongDoubleText.format(result))
                ctx.server.hashStore(key, field, text)
                ctx.client.reply.bulk(text)
            },
            command("hrandfield", arity: -2, flags: "readonly", acl: "read hash slow", keys: .single, keySpec: "RO access", group: "hash", since: "6.2.0", summary: "Returns one or more random fields from a hash.") { ctx throws(CommandError) in
                try ctx.server.hrandfield(ctx)
            },
            command("hscan", arity: -3, flags: "readonly", acl: "read hash slow", keys: .single, keySpec: "RO access", group: "hash", since: "2.8.0", summary: "Iterates over fields and values of a hash.") { ctx throws(CommandError) in
                try ctx.server.hscan(ctx)
            },
        ]
    }

    /// The hash at `key` for a read command (counting hits and misses), nil when missing, WRONGTYPE otherwise.
    func hashForRead(_ key: Bytes) throws(CommandError) -> HashValue? {
        switch database.get(key) {
        case nil: return nil
        case .hash(let h)?: return h
        default: throw .wrongType
        }
    }

    /// The hash at `key` before a write (Redis's lookupKeyWrite: no hit/miss statistics), nil when missing.
    func hashForWrite(_ key: Bytes) throws(CommandError) -> HashValue? {
        switch database.peek(key) {
        case nil: return nil
        case .hash(let h)?: return h
        default: throw .wrongType
        }
    }

    /// Stores one already validated field value (HINCRBY*), creating the hash when needed.
    func hashStore(_ key: Bytes, _ field: Bytes, _ value: Bytes) {
        let limits = database.hashLimits
        _ = database.updateHash(key, create: true) { hash in hash.set(field, value, limits: limits) }
    }

    /// HSET and HMSET: pairs from argument 2 on; returns how many fields were new.
    func hsetGeneric(_ ctx: CommandContext, name: String) throws(CommandError) -> Int {
        let args = ctx.args
        guard args.count % 2 == 0 else { throw .wrongArity(name) }
        var longest = 0
        for i in 2..<args.count { longest = max(longest, args[i].count) }
        let limits = database.hashLimits
        let result = database.updateHash(args.bytes(1), create: true) { hash in
            // Redis converts up front when the request alone is too big for a listpack, even if fields repeat.
            hash.prepareForWrite(pairs: (args.count - 2) / 2, longestArgument: longest, limits: limits)
            var added = 0
            for i in stride(from: 2, to: args.count, by: 2) where hash.set(field: args[i], value: args[i + 1], limits: limits) {
                added += 1
            }
            return added
        }
        switch result {
        case .success(let n)?: return n
        case .failure?: throw .wrongType
        case nil: return 0
        }
    }

    /// HRANDFIELD key [count [WITHVALUES]], with Redis's four sampling cases.
    func hrandfield(_ ctx: CommandContext) throws(CommandError) {
        let args = ctx.args
        var rng = SystemRandomNumberGenerator()
        guard args.count >= 3 else {
            guard let hash = try hashForRead(args.bytes(1)), let pick = hash.randomPair(using: &rng) else {
                ctx.client.reply.null()
                return
            }
            ctx.client.reply.bulk(pick.field)
            return
        }
        let requested = try args.integer(2)
        if requested == Int.min {
            throw CommandError("ERR value is out of range, value must between \(-Int.max) and \(Int.max)")
        }
        if args.count > 4 || (args.count == 4 && !args.is(3, "WITHVALUES")) { throw .syntax }
        let withValues = args.count == 4
        if withValues && (requested < -Int.max / 2 || requested > Int.max / 2) { throw CommandError("ERR value is out of range") }
        guard let hash = try hashForRead(args.bytes(1)), requested != 0 else { ctx.client.reply.array(0); return }

        let reply = { (field: Bytes, value: Bytes) in
            if withValues { ctx.client.reply.pair() }
            ctx.client.reply.bulk(field)
            if withValues { ctx.client.reply.bulk(value) }
        }
        let openReply = { (n: Int) in if withValues { ctx.client.reply.pairArray(n) } else { ctx.client.reply.array(n) } }
        let count = requested.magnitude
        let size = hash.count

        // Case 1: a negative count samples with repetition (and count 1 is a single sample).
        if requested < 0 || count == 1 {
            openReply(Int(count))
            for _ in 0..<count { if let p = hash.randomPair(using: &rng) { reply(p.field, p.value) } }
            return
        }
        // Case 2: asking for at least the whole hash returns the whole hash.
        if count >= UInt(size) {
            openReply(size)
            hash.forEach(reply)
            return
        }
        openReply(Int(count))
        if hash.isCompact || count * 3 > UInt(size) {
            // Case 3 (and listpacks): drop random pairs until `count` remain, keeping the hash's order.
            var all = hash.pairs
            var keep = Array(repeating: true, count: all.count)
            var remaining = all.count
            while remaining > Int(count) {
                let i = Int.random(in: 0..<all.count, using: &rng)
                if keep[i] { keep[i] = false; remaining -= 1 }
            }
            for i in 0..<all.count where keep[i] { reply(all[i].field, all[i].value) }
            all.removeAll()
        } else {
            // Case 4: a big hash and a small count: random picks, skipping repeats.
            var chosen = Set<Bytes>()
            while chosen.count < Int(count) {
                guard let p = hash.randomPair(using: &rng) else { break }
                if chosen.insert(p.field).inserted { reply(p.field, p.value) }
            }
        }
    }

    /// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES].
    func hscan(_ ctx: CommandContext) throws(CommandError) {
        let args = ctx.args
        guard let cursor = Self.parseScanCursor(args[2]) else { throw CommandError("ERR invalid cursor") }
        guard let hash = try hashForRead(args.bytes(1)) else {
            ctx.client.reply.array(2); ctx.client.reply.bulk("0"); ctx.client.reply.array(0)
            return
        }
        var count = 10
        var pattern: [UInt8]?
        var noValues = false
        var i = 3
        while i < args.count {
            let remaining = args.count - i
            if args.is(i, "COUNT") && remaining >= 2 {
                count = try args.integer(i + 1)
                if count < 1 { throw .syntax }
                i += 2
            } else if args.is(i, "MATCH") && remaining >= 2 {
                let p = Array(args[i + 1])
                pattern = p == [UInt8(ascii: "*")] ? nil : p  // "*" matches everything: no filtering
                i += 2
            } else if args.is(i, "NOVALUES") {
                noValues = true
                i += 1
            } else {
                throw .syntax
            }
        }
        var found: [(Bytes, Bytes)] = []
        let next = hash.scan(cursor: cursor, count: count) { f, v in
            if let pattern, !f.withUnsafeBytes({ GlobMatch.matches(pattern: pattern, Array($0)) }) { return }
            found.append((f, v))
        }
        ctx.client.reply.array(2)
        ctx.client.reply.bulk(String(next))
        ctx.client.reply.array(noValues ? found.count : found.count * 2)
        for (f, v) in found {
            ctx.client.reply.bulk(f)
            if !noValues { ctx.client.reply.bulk(v) }
        }
    }

    /// Redis's parseScanCursorOrReply: an unsigned 64-bit decimal.
    static func parseScanCursor(_ raw: UnsafeRawBufferPointer) -> UInt64? {
        if let n = Bytes.parseInteger(raw) { return n >= 0 ? UInt64(n) : nil }
        return UInt64(String(decoding: raw, as: UTF8.self))
    }
}

extension CommandError {
    static let hashValueNotInteger = CommandError("ERR hash value is not an integer")
    static let hashValueNotFloat = CommandError("ERR hash value is not a float")
}
