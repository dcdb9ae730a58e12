// Keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME(NX), the EXPIRE and TTL families, PERSIST,
// COPY, TOUCH. Semantics and error texts follow Redis 7.4's db.c and expire.c; DUMP / RESTORE / MOVE are not here.
import RESP
import Keyspace

extension Server {
    func keyCommands() -> [CommandSpec] {
        [
            command("del", arity: -2, flags: "write", acl: "keyspace write slow", keys: .all, keySpec: "RM delete", group: "generic", summary: "Deletes one or more keys.") { ctx in
                ctx.deleteKeys()
            },
            // Values are freed when their last reference goes, so UNLINK and DEL do the same work here.
            command("unlink", arity: -2, flags: "write fast", acl: "keyspace write fast", keys: .all, keySpec: "RM delete", group: "generic", since: "4.0.0", summary: "Asynchronously deletes one or more keys.") { ctx in
                ctx.deleteKeys()
            },
            command("exists", arity: -2, flags: "readonly fast", acl: "keyspace read fast", keys: .all, keySpec: "RO", group: "generic", summary: "Determines whether one or more keys exist.") { ctx in
                ctx.client.reply.integer(ctx.countExisting())
            },
            // No LRU/LFU clock is kept, so TOUCH only counts.
            command("touch", arity: -2, flags: "readonly fast", acl: "keyspace read fast", keys: .all, keySpec: "RO", group: "generic", since: "3.2.1", summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.") { ctx in
                ctx.client.reply.integer(ctx.countExisting())
            },
            command("type", arity: 2, flags: "readonly fast", acl: "keyspace read fast", keys: .single, keySpec: "RO", group: "generic", summary: "Determines the type of value stored at a key.") { ctx in
                ctx.client.reply.simpleString(ctx.server.database.get(ctx.args.bytes(1))?.type.rawValue ?? "none")
            },
            command("keys", arity: 2, flags: "readonly", acl: "keyspace read slow dangerous", group: "generic", summary: "Returns all key names that match a pattern.") { ctx in
                let pattern = Array(ctx.args[1])
                let keys: [Bytes]
                if pattern == [UInt8(ascii: "*")] {
                    keys = ctx.server.database.allKeys()
                } else {
                    keys = ctx.server.database.allKeys { GlobMatch.matches(pattern: pattern, $0.storage) }
                }
                ctx.client.reply.array(keys.count)
                for k in keys { ctx.client.reply.bulk(k) }
            },
            command("scan", arity: -2, flags: "readonly", acl: "keyspace read slow", group: "generic", since: "2.8.0", summary: "Iterates over the key names in the database.") { ctx throws(CommandError) in
                try ctx.scan()
            },
            command("randomkey", arity: 1, flags: "readonly", acl: "keyspace read slow", group: "generic", summary: "Returns a random key name from the database.") { ctx in
                if let key = ctx.server.database.randomKey() { ctx.client.reply.bulk(key) } else { ctx.client.reply.null() }
            },
            command("rename", arity: 3, flags: "write", acl: "keyspace write slow", keys: KeyPositions(first: 1, last: 2, step: 1), keySpec: "RW access delete", group: "generic", summary: "Renames a key and overwrites the destination.") { ctx throws(CommandError) in
                try ctx.rename(onlyIfAbsent: false)
            },
            command("renamenx", arity: 3, flags: "write fast", acl: "keyspace write fast", keys: KeyPositions(first: 1, last: 2, step: 1), keySpec: "RW access delete", group: "generic", summary: "Renames a key only when the target key name doesn't exist.") { ctx throws(CommandError) in
                try ctx.rename(onlyIfAbsent: true)
            },
            command("copy", arity: -3, flags: "write denyoom", acl: "keyspace write slow", keys: KeyPositions(first: 1, last: 2, step: 1), keySpec: "RO access", group: "generic", since: "6.2.0", summary: "Copies the value of a key to a new key.") { ctx throws(CommandError) in
                try ctx.copy()
            },
            command("expire", arity: -3, flags: "write fast", acl: "keyspace write fast", keys: .single, keySpec: "RW update", group: "generic", summary: "Sets the expiration time of a key in seconds.") { ctx throws(CommandError) in
                try ctx.expire(relative: true, seconds: true, name: "expire")
            },
            command("pexpire", arity: -3, flags: "write fast", acl: "keyspace write fast", keys: .single, keySpec: "RW update", group: "generic", since: "2.6.0", summary: "Sets the expiration time of a key in milliseconds.") { ctx throws(CommandError) in
                try ctx.expire(relative: true, seconds: false, name: "pexpire")
            },
            command("expireat", arity: -3, flags: "write fast", acl: "keyspace write fast", keys: .single, keySpec: "RW update", group: "generic", since: "1.2.0", summary: "Sets the expiration time of a key to a Unix timestamp.") { ctx throws(CommandError) in
                try ctx.expire(relative: false, seconds: true, name: "expireat")
            },
            command("pexpireat", arity: -3, flags: "write fast", acl: "keyspace write fast", keys: .single, keySpec: "RW update", group: "generic", since: "2.6.0", summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.") { ctx throws(CommandError) in
                try ctx.expire(relative: false, seconds: false, name: "pexpireat")
            },
            command("ttl", arity: 2, flags: "readonly fast", acl: "keyspace read fast", keys: .single, keySpec: "RO access", group: "generic", summary: "Returns the expiration time in seconds of a key.") { ctx in
                ctx.ttl(milliseconds: false, absolute: false)
            },
            command("pttl", arity: 2, flags: "readonly fast", acl: "keyspace read fast", keys: .single, keySpec: "RO access", group: "generic", since: "2.6.0", summary: "Returns the expiration time in milliseconds of a key.") { ctx in
                ctx.ttl(milliseconds: true, absolute: false)
            },
            command("expiretime", arity: 2, flags: "readonly fast", acl: "keyspace read fast", keys: .single, keySpec: "RO access", group: "generic", since: "7.0.0", summary: "Returns the expiration time of a key as a Unix timestamp.") { ctx in
                ctx.ttl(milliseconds: false, absolute: true)
            },
            command("pexpiretime", arity: 2, flags: "readonly fast", acl: "keyspace read fast", keys: .single, keySpec: "RO access", group: "generic", since: "7.0.0", summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.") { ctx in
                ctx.ttl(milliseconds: true, absolute: true)
            },
            command("persist", arity: 2, flags: "write fast", acl: "keyspace write fast", keys: .single, keySpec: "RW update", group: "generic", since: "2.2.0", summary: "Removes the expiration time of a key.") { ctx in
                ctx.client.reply.integer(ctx.server.database.persist(ctx.args.bytes(1)) ? 1 : 0)
            },
        ]
    }
}

extension CommandContext {
    /// DEL / UNLINK: the number of keys that existed (an expired key counts as already gone).
    func deleteKeys() {
        var n = 0
        for i in 1..<args.count where server.database.delete(args.bytes(i)) { n += 1 }
        client.reply.integer(n)
    }

    /// EXISTS / TOUCH: a key named twice counts twice.
    func countExisting() -> Int {
        var n = 0
        for i in 1..<args.count where server.database.get(args.bytes(i)) != nil { n += 1 }
        return n
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor is the next hash slot to visit; whole slots
    /// are returned, so every key present for the whole iteration is returned exactly once.
    func scan() throws(CommandError) {
        guard let cursor = Self.parseCursor(args[1]) else { throw CommandError("ERR invalid cursor") }
        var count = 10
        var pattern: [UInt8]?
        var typeName: String?
        var i = 2
        while i < args.count {
            let hasValue = i + 1 < args.count
            if args.is(i, "COUNT") && hasValue {
                count = try args.integer(i + 1)
                if count < 1 { throw .syntax }
            } else if args.is(i, "MATCH") && hasValue {
                let p = Array(args[i + 1])
                pattern = p == [UInt8(ascii: "*")] ? nil : p  // "*" matches everything: skip the matching
            } else if args.is(i, "TYPE") && hasValue {
                typeName = args.lowercased(i + 1)
            } else if args.is(i, "NOVALUES") {
                throw CommandError("ERR NOVALUES option can only be used in HSCAN")
            } else {
                throw .syntax
            }
            i += 2
        }
        var keys: [Bytes] = []
        var next: UInt64 = 0
        if cursor < UInt64(HashSlot.count) {
            // Redis 7.4 accepts an unknown TYPE name and simply matches nothing.
            next = UInt64(server.database.scan(cursor: Int(cursor), count: count) { key, value in
                if let typeName, value.type.rawValue != typeName { return }
                if let pattern, !GlobMatch.matches(pattern: pattern, key.storage) { return }
                keys.append(key)
            })
        }
        client.reply.array(2)
        client.reply.bulk(String(next))
        client.reply.array(keys.count)
        for k in keys { client.reply.bulk(k) }
    }

    /// Redis's string2ull: a non-negative Redis integer, else whatever strtoull accepts in full (leading zeros too).
    /// Like the C original, it reads the text only up to a NUL byte.
    static func parseCursor(_ raw: UnsafeRawBufferPointer) -> UInt64? {
        var text = Array(raw.prefix { $0 != 0 })
        if let v = Bytes.parseInteger(text) { return v < 0 ? nil : UInt64(v) }
        guard !text.isEmpty else { return nil }
        text.append(0)
        return text.withUnsafeBufferPointer { buf -> UInt64? in
            let start = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let v = strtoull(start, &end, 10)
            guard errno == 0, let end, end.pointee == 0 else { return nil }
            return UInt64(v)
        }
    }

    /// RENAME / RENAMENX: the TTL moves with the value; renaming a key onto itself is a no-op (RENAMENX answers 0).
    func rename(onlyIfAbsent: Bool) throws(CommandError) {
        let from = args.bytes(1), to = args.bytes(2)
        let database = server.database
        guard database.peek(from) != nil else { throw .noSuchKey }
        if from == to {
            if onlyIfAbsent { client.reply.integer(0) } else { client.reply.ok() }
            return
        }
        if onlyIfAbsent && database.peek(to) != nil { client.reply.integer(0); return }
        _ = database.rename(from, to: to)
        if onlyIfAbsent { client.reply.integer(1) } else { client.reply.ok() }
    }

    /// COPY source destination [DB destination-db] [REPLACE]. Only database 0 exists.
    func copy() throws(CommandError) {
        var replace = false
        var j = 3
        while j < args.count {
            if args.is(j, "REPLACE") {
                replace = true
            } else if args.is(j, "DB") && j + 1 < args.count {
                let db = try args.integer(j + 1)
                if db != 0 { throw CommandError("ERR DB index is out of range") }
                j += 1
            } else {
                throw .syntax
            }
            j += 1
        }
        let from = args.bytes(1), to = args.bytes(2)
        if from == to { throw CommandError("ERR source and destination objects are the same") }
        // A module value without a copy callback (RediSearch's suggestion tries) refuses only when it would be copied.
        if case .suggestions? = server.database.peek(from), replace || server.database.peek(to) == nil {
            throw CommandError("ERR not supported for this module key")
        }
        client.reply.integer(server.database.copy(from, to: to, replace: replace) ? 1 : 0)
    }

    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX | XX | GT | LT. A time already past deletes the key (and answers 1);
    /// a key without TTL counts as an infinite TTL for GT and LT.
    func expire(relative: Bool, seconds: Bool, name: String) throws(CommandError) {
        var nx = false, xx = false, gt = false, lt = false
        for j in 3..<max(3, args.count) {
            if args.is(j, "NX") { nx = true }
            else if args.is(j, "XX") { xx = true }
            else if args.is(j, "GT") { gt = true }
            else if args.is(j, "LT") { lt = true }
            else { throw CommandError("ERR Unsupported option \(args.string(j))") }
        }
        if nx && (xx || gt || lt) { throw CommandError("ERR NX and XX, GT or LT options at the same time are not compatible") }
        if gt && lt { throw CommandError("ERR GT and LT options at the same time are not compatible") }

        var when = try args.integer(2)
        if seconds {
            if when > Int.max / 1000 || when < Int.min / 1000 { throw .invalidExpireTime(name) }
            when *= 1000
        }
        let database = server.database
        let now = Int(database.clock())
        let base = relative ? now : 0
        if when > Int.max - base { throw .invalidExpireTime(name) }
        when += base

        let key = args.bytes(1)
        guard database.peek(key) != nil else { client.reply.integer(0); return }
        let current = database.expireTime(key).map { Int($0) }
        if (nx && current != nil) || (xx && current == nil) {
            client.reply.integer(0)
            return
        }
        if gt, current == nil || when <= current! { client.reply.integer(0); return }
        if lt, let current, when >= current { client.reply.integer(0); return }
        database.setExpire(key, at: Int64(when))  // a time already past deletes the key
        client.reply.integer(1)
    }

    /// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 without TTL; seconds are rounded to nearest.
    func ttl(milliseconds: Bool, absolute: Bool) {
        let database = server.database
        let key = args.bytes(1)
        guard database.get(key) != nil else { client.reply.integer(-2); return }
        guard let at = database.expireTime(key) else { client.reply.integer(-1); return }
        let value = max(0, Int(absolute ? at : at - database.clock()))
        // (value + 500) / 1000 without overflowing near Int.max (PEXPIREAT k 9223372036854775807 is legal).
        client.reply.integer(milliseconds ? value : value / 1000 + (value % 1000 + 500) / 1000)
    }
}
