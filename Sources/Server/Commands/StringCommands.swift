// String commands: GET, SET and friends, counters, ranges.
import RESP
import Keyspace

extension Server {
    func stringCommands() -> [CommandSpec] {
        [
            command("get", arity: 2, flags: "readonly fast", acl: "read string fast", keys: .single, keySpec: "RO access", group: "string", summary: "Returns the string value of a key.") { ctx throws(CommandError) in
                switch ctx.server.database.get(ctx.args.bytes(1)) {
                case nil: ctx.client.reply.null()
                case .string(let s)?: ctx.client.reply.bulk(s.storage)
                default: throw .wrongType
                }
            },
            command("set", arity: -3, flags: "write denyoom", acl: "write string slow", keys: .single, keySpec: "RW access update variable_flags", group: "string", summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.") { ctx throws(CommandError) in
                ctx.server.database.set(ctx.args.bytes(1), .string(ctx.args.bytes(2)))
                ctx.client.reply.ok()
            },
        ]
    }
}
