// Dispatch rules: unknown commands, arity, NOAUTH, MULTI/EXEC/WATCH, HELLO switching protocols.
import Testing
@testable import Server
import Keyspace

@Suite("Dispatch")
struct DispatchTests {
    @Test("unknown command names the args like Redis")
    func unknownCommand() {
        let server = Server(config: Config())
        let c = server.detachedClient()
        #expect(server.execute("FOO", "a", "b", on: c) == "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n")
        #expect(server.execute("foo", on: c) == "-ERR unknown command 'foo', with args beginning with: \r\n")
    }

    @Test("arity is checked from the table")
    func arity() {
        let server = Server(config: Config())
        let c = server.detachedClient()
        #expect(server.execute("GET", on: c) == "-ERR wrong number of arguments for 'get' command\r\n")
        #expect(server.execute("config", "get", on: c) == "-ERR wrong number of arguments for 'config|get' command\r\n")
    }

    @Test("requirepass demands AUTH")
    func auth() throws {
        var config = Config()
        try config.set("requirepass", "secret")
        let server = Server(config: config)
        let c = server.detachedClient()
        #expect(server.execute("GET", "a", on: c) == "-NOAUTH Authentication required.\r\n")
        #expect(server.execute("AUTH", "wrong", on: c) == "-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        #expect(server.execute("AUTH", "secret", on: c) == "+OK\r\n")
        #expect(server.execute("GET", "a", on: c) == "$-1\r\n")
    }

    @Test("MULTI queues, EXEC runs, queue-time errors abort")
    func multiExec() {
        let server = Server(config: Config())
        let c = server.detachedClient()
        #expect(server.execute("MULTI", on: c) == "+OK\r\n")
        #expect(server.execute("SET", "k", "v", on: c) == "+QUEUED\r\n")
        #expect(server.execute("GET", "k", on: c) == "+QUEUED\r\n")
        #expect(server.execute("EXEC", on: c) == "*2\r\n+OK\r\n$1\r\nv\r\n")
        server.execute("MULTI", on: c)
        #expect(server.execute("GET", on: c) == "-ERR wrong number of arguments for 'get' command\r\n")
        #expect(server.execute("EXEC", on: c) == "-EXECABORT Transaction discarded because of previous errors.\r\n")
        #expect(server.execute("EXEC", on: c) == "-ERR EXEC without MULTI\r\n")
    }

    @Test("a command that blocks and is unblocked before it returns runs once; pipelined requests keep their order")
    func inlineUnblock() {
        let server = Server(config: Config())
        var runs = 0
        server.commands.register(CommandSpec("xinline", arity: 1, flags: [], categories: [], keys: .none, group: "server",
                                             summary: "", routesByKeys: false) { ctx in
            runs += 1
            let id = ctx.client.id
            ctx.server.block(ctx.client)
            ctx.server.unblock(clientID: id) { w in w.integer(runs) }
        })
        let c = server.detachedClient()
        let input = Array("*1\r\n$7\r\nXINLINE\r\n*1\r\n$7\r\nXINLINE\r\n*1\r\n$4\r\nPING\r\n".utf8)
        c.reserveReadSpace(input.count)
        input.withUnsafeBytes { c.readBuffer.advanced(by: c.readEnd).copyMemory(from: $0.baseAddress!, byteCount: input.count) }
        c.readEnd += input.count
        server.processInput(c)
        #expect(runs == 2)
        #expect(String(decoding: c.reply.buffer, as: UTF8.self) == ":1\r\n:2\r\n+PONG\r\n")
        #expect(!c.isBlocked && c.pendingInput == 0)
    }

    @Test("WATCH aborts EXEC when another client touched the key")
    func watch() {
        let server = Server(config: Config())
        let a = server.detachedClient(), b = server.detachedClient()
        server.execute("WATCH", "k", on: a)
        server.execute("MULTI", on: a)
        server.execute("SET", "k", "1", on: a)
        server.execute("SET", "k", "2", on: b)
        #expect(server.execute("EXEC", on: a) == "*-1\r\n")
        #expect(server.execute("GET", "k", on: a) == "$1\r\n2\r\n")
    }

    @Test("HELLO 3 switches the reply writer to RESP3")
    func hello() {
        let server = Server(config: Config())
        let c = server.detachedClient()
        let reply = server.execute("HELLO", "3", on: c)
        #expect(reply.hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.1\r\n$5\r\nproto\r\n:3\r\n"))
        #expect(server.execute("GET", "missing", on: c) == "_\r\n")
        #expect(server.execute("HELLO", "4", on: c) == "-NOPROTO unsupported protocol version\r\n")
    }

    @Test("COMMAND GETKEYS uses the table's key positions")
    func getKeys() {
        let server = Server(config: Config())
        let c = server.detachedClient()
        #expect(server.execute("COMMAND", "GETKEYS", "DEL", "a", "b", on: c) == "*2\r\n$1\r\na\r\n$1\r\nb\r\n")
        #expect(server.execute("COMMAND", "GETKEYS", "PING", on: c) == "-ERR The command has no key arguments\r\n")
    }
}

@Suite("COMMAND LIST")
struct CommandListTests {
    func names(_ reply: String) -> [String] {
        reply.split(separator: "\r\n").filter { !$0.hasPrefix("*") && !$0.hasPrefix("$") }.map(String.init)
    }

    @Test("lists subcommands as container|sub and filters them like Redis 7")
    func listAndFilters() {
        let s = Server(config: Config())
        let c = s.detachedClient()
        let all = names(s.execute("COMMAND", "LIST", on: c))
        #expect(all.contains("config") && all.contains("config|get") && all.contains("slowlog|get") && all.contains("FT.SEARCH"))
        #expect(Set(names(s.execute("COMMAND", "LIST", "FILTERBY", "PATTERN", "config*", on: c)))
                == ["config", "config|get", "config|set", "config|resetstat", "config|rewrite"])
        let admin = names(s.execute("COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin", on: c))
        #expect(admin.contains("config|set") && admin.contains("monitor") && !admin.contains("get"))
        let search = names(s.execute("COMMAND", "LIST", "FILTERBY", "MODULE", "search", on: c))
        #expect(search.contains("FT.SEARCH") && search.contains("FT.CREATE") && search.allSatisfy { $0.uppercased().hasPrefix("FT.") || $0.hasPrefix("_FT.") })
        #expect(names(s.execute("COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch", on: c)).isEmpty)
        #expect(s.execute("COMMAND", "COUNT", on: c) == ":\(s.commands.commands.count)\r\n", "COUNT stays top-level, as Redis")
    }
}

@Suite("WAIT and EXEC")
struct WaitTests {
    @Test("WAIT answers 0 at once for no replicas and inside EXEC; its errors are Redis's")
    func waitReplies() {
        let s = Server(config: Config())
        let c = s.detachedClient()
        #expect(s.execute("WAIT", "0", "0", on: c) == ":0\r\n")
        #expect(s.execute("WAIT", "x", "0", on: c) == "-ERR value is not an integer or out of range\r\n")
        #expect(s.execute("WAIT", "1", "x", on: c) == "-ERR timeout is not an integer or out of range\r\n")
        #expect(s.execute("WAIT", "1", "-1", on: c) == "-ERR timeout is negative\r\n")
        s.execute("MULTI", on: c)
        s.execute("WAIT", "1", "0", on: c)
        s.execute("PING", on: c)
        #expect(s.execute("EXEC", on: c) == "*2\r\n:0\r\n+PONG\r\n")
        #expect(!c.denyBlocking && !c.isBlocked)
    }
}
