// Keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME(NX), EXPIRE family, TTL family, PERSIST, COPY.
import RESP
import Keyspace

extension Server {
    func keyCommands() -> [CommandSpec] {
        [
            command("del", arity: -2, flags: "write", acl: "keyspace write slow", keys: .all, keySpec: "RM delete", group: "generic", summary: "Deletes one or more keys.") { ctx in
                var n = 0
                for i in 1..<ctx.args.count where ctx.server.database.delete(ctx.args.bytes(i)) { n += 1 }
                ctx.client.reply.integer(n)
            },
            command("exists", arity: -2, flags: "readonly fast", acl: "keyspace read fast", keys: .all, keySpec: "RO", group: "generic", summary: "Determines whether one or more keys exist.") { ctx in
                var n = 0
                for i in 1..<ctx.args.count where ctx.server.database.exists(ctx.args.bytes(i)) { n += 1 }
                ctx.client.reply.integer(n)
            },
            command("type", arity: 2, flags: "readonly fast", acl: "keyspace read fast", keys: .single, keySpec: "RO", group: "generic", summary: "Determines the type of value stored at a key.") { ctx in
                ctx.client.reply.simpleString(ctx.server.database.peek(ctx.args.bytes(1))?.type.rawValue ?? "none")
            },
        ]
    }
}
