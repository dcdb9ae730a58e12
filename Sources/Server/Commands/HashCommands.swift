// Hash commands: HSET, HGET, HGETALL and the rest of the H* family.
import RESP
import Keyspace

extension Server {
    func hashCommands() -> [CommandSpec] {
        [
            command("hset", arity: -4, flags: "write denyoom fast", acl: "write hash fast", keys: .single, keySpec: "RW update", group: "hash", since: "2.0.0", summary: "Creates or modifies the value of a field in a hash.") { ctx throws(CommandError) in
                guard ctx.args.count % 2 == 0 else { throw .wrongArity("hset") }
                let limits = ctx.server.database.hashLimits
                let added = ctx.server.database.updateHash(ctx.args.bytes(1), create: true) { hash in
                    var added = 0
                    for i in stride(from: 2, to: ctx.args.count, by: 2) where hash.set(ctx.args.bytes(i), ctx.args.bytes(i + 1), limits: limits) {
                        added += 1
                    }
                    return added
                }
                switch added {
                case .success(let n)?: ctx.client.reply.integer(n)
                case .failure?: throw .wrongType
                case nil: ctx.client.reply.integer(0)
                }
            },
            command("hget", arity: 3, flags: "readonly fast", acl: "read hash fast", keys: .single, keySpec: "RO access", group: "hash", since: "2.0.0", summary: "Returns the value of a field in a hash.") { ctx throws(CommandError) in
                switch ctx.server.database.get(ctx.args.bytes(1)) {
                case nil: ctx.client.reply.null()
                case .hash(let h)?:
                    if let v = h[ctx.args.bytes(2)] { ctx.client.reply.bulk(v.storage) } else { ctx.client.reply.null() }
                default: throw .wrongType
                }
            },
            command("hgetall", arity: 2, flags: "readonly", acl: "read hash slow", keys: .single, keySpec: "RO access", group: "hash", since: "2.0.0", summary: "Returns all fields and values in a hash.") { ctx throws(CommandError) in
                switch ctx.server.database.get(ctx.args.bytes(1)) {
                case nil: ctx.client.reply.map(0)
                case .hash(let h)?:
                    ctx.client.reply.map(h.count)
                    h.forEach { f, v in ctx.client.reply.bulk(f.storage); ctx.client.reply.bulk(v.storage) }
                default: throw .wrongType
                }
            },
        ]
    }
}
