// ROLE and WAIT for a node without a replication stream (phase 1): what Redis answers for a master with no replicas.
import CLibUV
import RESP

extension Server {
    func replicationCommands() -> [CommandSpec] {
        [command("role", arity: 1, flags: "noscript loading stale fast", acl: "admin fast dangerous", group: "server",
                 since: "2.8.12", summary: "Returns the replication role.") { ctx in
            // Every node is a master to replication; INFO replication says the same.
            ctx.client.reply.array(3)
            ctx.client.reply.bulk("master")
            ctx.client.reply.integer(0)
            ctx.client.reply.array(0)
        },
        command("wait", arity: 3, flags: "noscript", acl: "slow connection", group: "generic", since: "3.0.0",
                summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.") { ctx throws(CommandError) in
            let replicas = try ctx.args.integer(1)
            guard let timeout = Int(ctx.args.string(2)) else {
                throw CommandError("ERR timeout is not an integer or out of range")
            }
            guard timeout >= 0 else { throw CommandError("ERR timeout is negative") }
            // No replica ever acknowledges: 0 at once when none are asked for, else 0 when the timeout ends (never,
            // for timeout 0, as Redis with too few replicas). Inside EXEC Redis cannot block and answers at once.
            guard replicas > 0, !ctx.client.denyBlocking, !ctx.client.isDetached else {
                ctx.client.reply.integer(0)
                return
            }
            ctx.server.block(ctx.client)
            guard timeout > 0 else { return }
            ctx.server.unblockLater(clientID: ctx.client.id, milliseconds: UInt64(timeout)) { $0.integer(0) }
        }]
    }

    /// Ends `clientID`'s wait after `milliseconds` with `write` (if the client is still there), on a one-shot timer.
    func unblockLater(clientID: Int, milliseconds: UInt64, _ write: @escaping (inout ReplyWriter) -> Void) {
        let timer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        uv_timer_init(loop, timer)
        timer.pointee.data = Unmanaged.passRetained(PendingUnblock(clientID, write)).toOpaque()
        uv_timer_start(timer, { t in
            let pending = Unmanaged<PendingUnblock>.fromOpaque(t!.pointee.data).takeRetainedValue()
            Server.from(t!.pointee.loop.pointee.data).unblock(clientID: pending.clientID, pending.write)
            uv_close(UnsafeMutableRawPointer(t!).assumingMemoryBound(to: uv_handle_t.self)) { $0!.deallocate() }
        }, milliseconds, 0)
    }
}

/// What a one-shot unblock timer carries (its handle's `data`).
private final class PendingUnblock {
    let clientID: Int
    let write: (inout ReplyWriter) -> Void
    init(_ clientID: Int, _ write: @escaping (inout ReplyWriter) -> Void) {
        self.clientID = clientID
        self.write = write
    }
}
