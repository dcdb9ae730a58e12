// A connection's input path (processInput over the read buffer): inline and multibulk requests pipelined in one read
// or arriving a byte at a time give the same replies, and protocol errors reply then close.
import Testing
@testable import Server
import Keyspace

/// Appends `bytes` to the client's read buffer as a socket read would, then runs what is complete.
private func receive(_ server: Server, _ client: Client, _ bytes: [UInt8]) {
    client.reserveReadSpace(bytes.count)
    bytes.withUnsafeBytes { client.readBuffer.advanced(by: client.readEnd).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    client.readEnd += bytes.count
    server.processInput(client)
}

/// Feeds `stream` in reads of `chunk` bytes and returns every reply produced, in order.
private func replies(to stream: String, chunk: Int) -> String {
    let server = Server(config: Config())
    let client = server.detachedClient()
    let bytes = Array(stream.utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count && !client.closeAfterReply {
        receive(server, client, Array(bytes[i..<min(bytes.count, i + chunk)]))
        out += client.reply.buffer
        client.reply.buffer.removeAll(keepingCapacity: true)
        i += chunk
    }
    return String(decoding: out, as: UTF8.self)
}

@Suite("Connection input")
struct ConnectionInputTests {
    static let pipeline = "PING\r\nSET \"k 1\" \"a\\x41\\nb\"\r\n*2\r\n$3\r\nGET\r\n$3\r\nk 1\r\n  ECHO   'it\\'s'  \n"
        + "HSET h f v\r\n*3\r\n$4\r\nHGET\r\n$1\r\nh\r\n$1\r\nf\r\n\r\nINCR n\r\nPING hello\r\n"
    static let expected = "+PONG\r\n+OK\r\n$4\r\naA\nb\r\n$4\r\nit's\r\n:1\r\n$1\r\nv\r\n:1\r\n$5\r\nhello\r\n"

    @Test("inline and multibulk requests pipelined in one read, or split into reads of any size, reply alike",
          arguments: [1, 2, 3, 5, 7, 16, 1 << 20])
    func pipelined(chunk: Int) {
        #expect(replies(to: Self.pipeline, chunk: chunk) == Self.expected)
    }

    @Test("a quoted inline argument is decoded once: the stored value is the decoded bytes")
    func inlineValueStored() {
        let server = Server(config: Config())
        let client = server.detachedClient()
        receive(server, client, Array("SET k \"\\x00\\xff\"\r\n".utf8))
        #expect(server.execute([Bytes("GET"), Bytes("k")], on: client) == Array("$2\r\n".utf8) + [0, 255, 13, 10])
    }

    @Test("an inline protocol error replies -ERR Protocol error and closes after the earlier replies")
    func inlineProtocolError() {
        #expect(replies(to: "PING\r\nSET k \"open\r\nPING\r\n", chunk: 1 << 20)
                == "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n")
        let long = String(repeating: "a", count: 64 * 1024 + 1)
        #expect(replies(to: long, chunk: 1 << 20) == "-ERR Protocol error: too big inline request\r\n")
    }
}
