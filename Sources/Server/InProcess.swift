// In-process command execution without sockets: unit tests and internal callers run commands through the table.
import CLibUV
import RESP
import Keyspace

extension Server {
    /// A client with no socket; its replies stay in `reply.buffer`. Never flushed or closed through libuv.
    public func detachedClient(protocolVersion: Int = 2) -> Client {
        let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        let client = Client(id: nextClientID, handle: handle, address: "127.0.0.1:0", localAddress: "127.0.0.1:0",
                            now: wallClockMilliseconds(), limits: requestLimits,
                            authenticated: config["requirepass"].isEmpty)
        nextClientID += 1
        client.protocolVersion = protocolVersion
        client.isDetached = true
        // Registered like a connected client so WATCH, CLIENT LIST and worker replies find it.
        clients[client.id] = client
        return client
    }

    /// Runs one command as if `client` had sent it and returns the reply bytes it produced.
    @discardableResult
    public func execute(_ argv: [Bytes], on client: Client) -> [UInt8] {
        client.reply.buffer.removeAll(keepingCapacity: true)
        Arguments.withOwned(argv) { execute(client, $0) }
        return client.reply.buffer
    }

    /// Convenience for tests: string arguments, reply decoded as UTF-8.
    @discardableResult
    public func execute(_ argv: String..., on client: Client) -> String {
        String(decoding: execute(argv.map { Bytes($0) }, on: client), as: UTF8.self)
    }
}
