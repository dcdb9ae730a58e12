// SLOWLOG: what is logged (threshold, skip_slowlog, EXEC's commands), how arguments are trimmed and redacted, and the
// replies and errors of GET / LEN / RESET / HELP and of the two directives.
import Testing
@testable import Server
import Keyspace

@Suite("SlowLog")
struct SlowLogTests {
    func server(threshold: Int = 0, maxLength: Int = 128) throws -> Server {
        var config = Config()
        try config.set("slowlog-log-slower-than", String(threshold))
        try config.set("slowlog-max-len", String(maxLength))
        return Server(config: config)
    }

    /// The logged argument lists, newest first.
    func loggedArguments(_ s: Server) -> [[String]] {
        s.slowLog.newest(-1).map { $0.arguments.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test("the threshold decides; -1 logs nothing; EXEC logs its commands, not itself")
    func threshold() throws {
        let s = try server(threshold: 200_000)
        let c = s.detachedClient()
        s.execute("SET", "k", "v", on: c)
        #expect(s.execute("SLOWLOG", "LEN", on: c) == ":0\r\n")
        s.execute("DEBUG", "SLEEP", "0.25", on: c)
        #expect(loggedArguments(s) == [["DEBUG", "SLEEP", "0.25"]])
        let entry = s.slowLog.newest(1).first!
        #expect(entry.microseconds >= 200_000 && entry.id == 0 && entry.clientAddress == "127.0.0.1:0")
        #expect(s.execute("CONFIG", "SET", "slowlog-log-slower-than", "-1", on: c) == "+OK\r\n")
        s.execute("DEBUG", "SLEEP", "0.25", on: c)
        #expect(s.slowLog.count == 1)
        #expect(s.execute("CONFIG", "SET", "slowlog-log-slower-than", "0", on: c) == "+OK\r\n")
        #expect(s.execute("SLOWLOG", "RESET", on: c) == "+OK\r\n")
        s.execute("CLIENT", "SETNAME", "worker-1", on: c)
        s.execute("MULTI", on: c)
        s.execute("INCR", "n", on: c)
        s.execute("EXEC", on: c)
        // RESET itself is logged (it ran before the log was looked at), MULTI too; EXEC is skip_slowlog.
        #expect(loggedArguments(s) == [["INCR", "n"], ["MULTI"], ["CLIENT", "SETNAME", "worker-1"], ["SLOWLOG", "RESET"]])
        #expect(s.slowLog.newest(1).first!.clientName == "worker-1")
    }

    @Test("32 arguments at most, 128 bytes an argument, secrets redacted")
    func trimming() throws {
        let s = try server()
        let c = s.detachedClient()
        let many = ["DEL"] + (1...32).map { "key\($0)" }
        s.execute(many.map { Bytes($0) }, on: c)
        #expect(loggedArguments(s).first == Array(many.prefix(31)) + ["... (2 more arguments)"])
        let long = String(repeating: "A", count: 129)
        s.execute("SET", "k", long, on: c)
        #expect(loggedArguments(s).first == ["SET", "k", String(repeating: "A", count: 128) + "... (1 more bytes)"])
        s.execute("AUTH", "user", "secret", on: c)
        #expect(loggedArguments(s).first == ["AUTH", "(redacted)", "(redacted)"])
        s.execute("HELLO", "2", "AUTH", "default", "secret", "SETNAME", "n", on: c)
        #expect(loggedArguments(s).first == ["HELLO", "2", "AUTH", "(redacted)", "(redacted)", "SETNAME", "n"])
        s.execute("CONFIG", "SET", "requirepass", "secret", "maxclients", "100", on: c)
        #expect(loggedArguments(s).first == ["CONFIG", "SET", "requirepass", "(redacted)", "maxclients", "100"])
    }

    @Test("GET's count and the max length; entries newest first with ids counting up")
    func getAndLength() throws {
        let s = try server(maxLength: 10)
        let c = s.detachedClient()
        for i in 0..<100 { s.execute("SET", "k", String(i), on: c) }
        #expect(s.execute("SLOWLOG", "LEN", on: c) == ":10\r\n")
        // SLOWLOG LEN is logged after it replies: ids 91-100 are left.
        #expect(s.slowLog.newest(-1).map(\.id) == Array((91...100).reversed()))
        let five = s.execute("SLOWLOG", "GET", "5", on: c)
        #expect(five.hasPrefix("*5\r\n*6\r\n:"))
        #expect(s.execute("SLOWLOG", "GET", "0", on: c) == "*0\r\n")
        #expect(s.execute("CONFIG", "SET", "slowlog-max-len", "3", on: c) == "+OK\r\n")
        #expect(s.slowLog.count == 3)
        #expect(s.execute("CONFIG", "SET", "slowlog-max-len", "0", on: c) == "+OK\r\n")
        s.execute("PING", on: c)
        #expect(s.execute("SLOWLOG", "LEN", on: c) == ":0\r\n")
    }

    @Test("one entry's reply: id, time, duration, arguments, address, name")
    func entryReply() throws {
        let s = try server()
        let c = s.detachedClient()
        s.execute("SLOWLOG", "RESET", on: c)
        let reply = s.execute("SLOWLOG", "GET", "1", on: c)
        let e = s.slowLog.newest(2).last!  // the GET has logged itself since
        #expect(reply == "*1\r\n*6\r\n:\(e.id)\r\n:\(e.timestamp)\r\n:\(e.microseconds)\r\n*2\r\n$7\r\nSLOWLOG\r\n$5\r\nRESET\r\n$11\r\n127.0.0.1:0\r\n$0\r\n\r\n")
        #expect(abs(e.timestamp - Int(wallClockMilliseconds() / 1000)) <= 2)
    }

    @Test("errors as Redis 7 words them")
    func errors() throws {
        let s = try server()
        let c = s.detachedClient()
        #expect(s.execute("SLOWLOG", "GET", "-2", on: c) == "-ERR count should be greater than or equal to -1\r\n")
        #expect(s.execute("SLOWLOG", "GET", "abc", on: c) == "-ERR count should be greater than or equal to -1\r\n")
        #expect(s.execute("SLOWLOG", "GET", "1", "2", on: c)
                == "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.\r\n")
        #expect(s.execute("SLOWLOG", "foo", on: c) == "-ERR unknown subcommand 'foo'. Try SLOWLOG HELP.\r\n")
        #expect(s.execute("SLOWLOG", "LEN", "x", on: c) == "-ERR wrong number of arguments for 'slowlog|len' command\r\n")
        #expect(s.execute("SLOWLOG", on: c) == "-ERR wrong number of arguments for 'slowlog' command\r\n")
        #expect(s.execute("CONFIG", "SET", "slowlog-max-len", "-1", on: c)
                == "-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 9223372036854775807 inclusive\r\n")
        #expect(s.execute("CONFIG", "SET", "slowlog-log-slower-than", "-5", on: c)
                == "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive\r\n")
        #expect(s.execute("CONFIG", "GET", "slowlog-log-slower-than", on: c) == "*2\r\n$23\r\nslowlog-log-slower-than\r\n$1\r\n0\r\n")
        let help = s.execute("SLOWLOG", "HELP", on: c)
        #expect(help.hasPrefix("*12\r\n+SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET [<count>]\r\n"))
        #expect(help.hasSuffix("+HELP\r\n+    Prints this help.\r\n"))
    }
}
