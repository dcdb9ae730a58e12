// Cluster mode through the command table: CLUSTER subcommands, MOVED / CROSSSLOT on keyed commands (also in MULTI),
// replica reads after READONLY, and the replies when cluster support is off.
import Testing
@testable import Server
import Keyspace
#if canImport(Glibc)
import Glibc
#endif

private enum Topo {
    static let m1 = "97dc3795122f3a3c9822db1a98056071aba94eda"
    static let m2 = "e900263e5c7827cc1d66cae2f81d5b93e8b2f09a"
    static let m3 = "eeefd8ddc37413ca81595f9de19510d0f489a46a"
    static let r2 = "687c3ecc3d055f5d68f9cacf64c6336fa9d731ad"
    static let text = """
        node m1 \(m1) 127.0.0.1 7000 17000 master 0-5460
        node m2 \(m2) 127.0.0.1 7001 17001 master 5461-10922
        node m3 \(m3) 127.0.0.1 7002 17002 master 10923-16383
        node r2 \(r2) 127.0.0.1 7004 17004 replica-of m2
        """

    /// A server in cluster mode as node `name` of `text`, written to a temporary file.
    static func server(as name: String, port: Int) throws -> Server {
        // Unique per call: Swift Testing runs the tests of a suite in parallel.
        let path = "/tmp/vecshard-cluster-test-\(getpid())-\(name)-\(UInt64.random(in: 0...UInt64.max)).conf"
        guard let f = fopen(path, "w") else { throw CommandError("can't write \(path)") }
        fputs(text, f)
        fclose(f)
        defer { unlink(path) }
        var config = Config()
        try config.set("port", String(port))
        try config.set("cluster-enabled", "yes")
        try config.set("cluster-topology", path)
        try config.set("cluster-node", name)
        return Server(config: config)
    }
}

@Suite("CLUSTER commands and slot routing")
struct ClusterCommandTests {
    @Test("with cluster support off, CLUSTER answers Redis's error and keys are never redirected")
    func disabled() {
        let s = Server(config: Config())
        let c = s.detachedClient()
        #expect(s.execute("CLUSTER", "INFO", on: c) == "-ERR This instance has cluster support disabled\r\n")
        #expect(s.execute("CLUSTER", "SLOTS", on: c) == "-ERR This instance has cluster support disabled\r\n")
        #expect(s.execute("CLUSTER", "KEYSLOT", "foo", on: c) == "-ERR This instance has cluster support disabled\r\n")
        #expect(s.execute("CLUSTER", "BOGUS", on: c) == "-ERR unknown subcommand 'BOGUS'. Try CLUSTER HELP.\r\n")
        #expect(s.keyCheck == nil)
        #expect(s.execute("SET", "foo", "1", on: c) == "+OK\r\n")
    }

    @Test("topology subcommands: MYID, MYSHARDID, KEYSLOT, SLOTS, NODES, INFO, HELP, LINKS")
    func topology() throws {
        let s = try Topo.server(as: "m2", port: 7001)
        let c = s.detachedClient()
        #expect(s.execute("CLUSTER", "MYID", on: c) == "$40\r\n\(Topo.m2)\r\n")
        #expect(s.execute("cluster", "myshardid", on: c) == "$40\r\n\(Topo.m2)\r\n")
        #expect(s.execute("CLUSTER", "KEYSLOT", "foo", on: c) == ":12182\r\n")
        #expect(s.execute("CLUSTER", "KEYSLOT", "{user}:1", on: c) == ":5474\r\n")
        #expect(s.execute("CLUSTER", "SLOTS", on: c).hasPrefix("*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$40\r\n\(Topo.m1)\r\n*0\r\n*4\r\n:5461\r\n:10922\r\n"))
        let nodes = s.execute("CLUSTER", "NODES", on: c)
        #expect(nodes.contains("\(Topo.m2) 127.0.0.1:7001@17001 myself,master - 0 "))
        #expect(nodes.hasSuffix(" 2 connected\n\r\n"))  // r2's line (no slots) ends in \n, then the bulk's CRLF
        #expect(s.execute("CLUSTER", "INFO", on: c).contains("cluster_state:ok\r\ncluster_slots_assigned:16384\r\n"))
        #expect(s.execute("CLUSTER", "LINKS", on: c) == "*0\r\n")
        #expect(s.execute("CLUSTER", "HELP", on: c).hasPrefix("*32\r\n+CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"))
        #expect(s.execute("CLUSTER", "INFO", "x", on: c) == "-ERR wrong number of arguments for 'cluster|info' command\r\n")
        #expect(s.execute("CLUSTER", "MEET", "127.0.0.1", "7009", on: c)
                == "-ERR CLUSTER MEET is not supported: this cluster's topology is static (the cluster-topology file)\r\n")
        #expect(s.infoText(sections: ["cluster"]) == "# Cluster\r\ncluster_enabled:1\r\n")
        let c3 = s.detachedClient(protocolVersion: 3)
        #expect(s.execute("CLUSTER", "INFO", on: c3).hasPrefix("=")) // verbatim text in RESP3, as Redis
        #expect(s.execute("CLUSTER", "SLOTS", on: c3).contains("\(Topo.m1)\r\n%0\r\n"))
    }

    @Test("a master serves its slots and answers MOVED <slot> <host>:<port> for the others")
    func moved() throws {
        let s = try Topo.server(as: "m2", port: 7001)
        let c = s.detachedClient()
        #expect(s.execute("SET", "user:1", "v", on: c) == "+OK\r\n")          // slot 10778: ours
        #expect(s.execute("GET", "user:1", on: c) == "$1\r\nv\r\n")
        #expect(s.execute("GET", "foo", on: c) == "-MOVED 12182 127.0.0.1:7002\r\n")
        #expect(s.execute("SET", "{user}:1", "x", on: c) == "+OK\r\n")        // slot 5474: ours
        #expect(s.execute("HSET", "123456789", "f", "v", on: c) == "-MOVED 12739 127.0.0.1:7002\r\n")
        #expect(s.execute("DEL", "a", on: c) == "-MOVED 15495 127.0.0.1:7002\r\n")
        #expect(s.execute("EXISTS", "{user1000}.following", on: c) == "-MOVED 3443 127.0.0.1:7000\r\n")
        #expect(s.execute("PING", on: c) == "+PONG\r\n")
        #expect(s.execute("DBSIZE", on: c) == ":2\r\n")
    }

    @Test("keys in different slots are CROSSSLOT, even when this node owns both; one slot passes")
    func crossSlot() throws {
        let s = try Topo.server(as: "m2", port: 7001)
        let c = s.detachedClient()
        #expect(s.execute("DEL", "user:1", "{user}:1", on: c) == "-CROSSSLOT Keys in request don't hash to the same slot\r\n")
        #expect(s.execute("EXISTS", "a", "b", "c", on: c) == "-CROSSSLOT Keys in request don't hash to the same slot\r\n")
        #expect(s.execute("DEL", "{user}:1", "{user}:2", on: c) == ":0\r\n")
        #expect(s.execute("DEL", "{a}1", "{a}2", on: c) == "-MOVED 15495 127.0.0.1:7002\r\n")
    }

    @Test("MULTI: a foreign or second slot is refused at queue time and EXEC aborts; one local slot runs")
    func transactions() throws {
        let s = try Topo.server(as: "m2", port: 7001)
        let c = s.detachedClient()
        #expect(s.execute("MULTI", on: c) == "+OK\r\n")
        #expect(s.execute("SET", "{user}:1", "a", on: c) == "+QUEUED\r\n")
        #expect(s.execute("PING", on: c) == "+QUEUED\r\n")
        #expect(s.execute("SET", "{user}:2", "b", on: c) == "+QUEUED\r\n")
        #expect(s.execute("EXEC", on: c) == "*3\r\n+OK\r\n+PONG\r\n+OK\r\n")

        s.execute("MULTI", on: c)
        #expect(s.execute("SET", "{user}:1", "a", on: c) == "+QUEUED\r\n")
        #expect(s.execute("SET", "user:1", "b", on: c) == "-CROSSSLOT Keys in request don't hash to the same slot\r\n")
        #expect(s.execute("EXEC", on: c) == "-EXECABORT Transaction discarded because of previous errors.\r\n")

        s.execute("MULTI", on: c)
        #expect(s.execute("GET", "foo", on: c) == "-MOVED 12182 127.0.0.1:7002\r\n")
        #expect(s.execute("EXEC", on: c) == "-EXECABORT Transaction discarded because of previous errors.\r\n")
    }

    @Test("key positions that are not keyspace keys (routesByKeys false, e.g. FT.* index names) never redirect or pin a MULTI slot")
    func nonRoutingKeys() throws {
        let s = try Topo.server(as: "m2", port: 7001)
        s.commands.register(CommandSpec("xindex", arity: -2, flags: ["readonly"], categories: [], keys: .single, group: "module",
                                        summary: "", routesByKeys: false) { ctx in ctx.client.reply.ok() })
        let c = s.detachedClient()
        #expect(s.execute("XINDEX", "foo", on: c) == "+OK\r\n")   // foo is slot 12182, m3's
        s.execute("MULTI", on: c)
        #expect(s.execute("XINDEX", "foo", on: c) == "+QUEUED\r\n")
        #expect(s.execute("SET", "{user}:1", "v", on: c) == "+QUEUED\r\n")
        #expect(s.execute("EXEC", on: c) == "*2\r\n+OK\r\n+OK\r\n")
    }

    @Test("a replica sends MOVED to its master, serves reads after READONLY, never writes")
    func replica() throws {
        let s = try Topo.server(as: "r2", port: 7004)
        let c = s.detachedClient()
        #expect(s.execute("GET", "user:1", on: c) == "-MOVED 10778 127.0.0.1:7001\r\n")
        #expect(s.execute("READONLY", on: c) == "+OK\r\n")
        #expect(s.execute("GET", "user:1", on: c) == "$-1\r\n")
        #expect(s.execute("HGETALL", "user:1", on: c) == "*0\r\n")
        #expect(s.execute("SET", "user:1", "x", on: c) == "-MOVED 10778 127.0.0.1:7001\r\n")
        #expect(s.execute("GET", "foo", on: c) == "-MOVED 12182 127.0.0.1:7002\r\n")   // not our master's slot
        #expect(s.execute("READWRITE", on: c) == "+OK\r\n")
        #expect(s.execute("GET", "user:1", on: c) == "-MOVED 10778 127.0.0.1:7001\r\n")
        #expect(s.execute("CLUSTER", "MYSHARDID", on: c) == "$40\r\n\(Topo.m2)\r\n")
        #expect(s.execute("CLUSTER", "NODES", on: c).contains("\(Topo.r2) 127.0.0.1:7004@17004 myself,slave \(Topo.m2) 0 "))
    }

    @Test("COUNTKEYSINSLOT / GETKEYSINSLOT read the per-slot index; bad slots get Redis's errors")
    func keysInSlot() throws {
        let s = try Topo.server(as: "m2", port: 7001)
        let c = s.detachedClient()
        for k in ["{user}:1", "{user}:2", "{user}:3"] { s.execute("SET", k, "v", on: c) }
        #expect(s.execute("CLUSTER", "COUNTKEYSINSLOT", "5474", on: c) == ":3\r\n")
        #expect(s.execute("CLUSTER", "COUNTKEYSINSLOT", "0", on: c) == ":0\r\n")
        let two = s.execute("CLUSTER", "GETKEYSINSLOT", "5474", "2", on: c)
        #expect(two.hasPrefix("*2\r\n$8\r\n{user}:"))
        #expect(s.execute("CLUSTER", "GETKEYSINSLOT", "5474", "10", on: c).hasPrefix("*3\r\n"))
        #expect(s.execute("CLUSTER", "COUNTKEYSINSLOT", "16384", on: c) == "-ERR Invalid slot\r\n")
        #expect(s.execute("CLUSTER", "COUNTKEYSINSLOT", "x", on: c) == "-ERR value is not an integer or out of range\r\n")
        #expect(s.execute("CLUSTER", "GETKEYSINSLOT", "-1", "1", on: c) == "-ERR Invalid slot or number of keys\r\n")
        #expect(s.execute("CLUSTER", "GETKEYSINSLOT", "1", "-1", on: c) == "-ERR Invalid slot or number of keys\r\n")
    }

    @Test("REPLICAS / SLAVES list a master's replicas as CLUSTER NODES lines")
    func replicas() throws {
        let s = try Topo.server(as: "m1", port: 7000)
        let c = s.detachedClient()
        let reply = s.execute("CLUSTER", "REPLICAS", Topo.m2, on: c)
        #expect(reply.hasPrefix("*1\r\n$"))
        #expect(reply.contains("\r\n\(Topo.r2) 127.0.0.1:7004@17004 slave \(Topo.m2) 0 "))
        #expect(s.execute("CLUSTER", "SLAVES", Topo.m2, on: c) == reply)
        #expect(s.execute("CLUSTER", "REPLICAS", Topo.m1, on: c) == "*0\r\n")
        #expect(s.execute("CLUSTER", "REPLICAS", Topo.r2, on: c) == "-ERR The specified node is not a master\r\n")
        #expect(s.execute("CLUSTER", "REPLICAS", "nope", on: c) == "-ERR Unknown node nope\r\n")
    }

    @Test("the allocation-free key walk matches CommandSpec.keyIndexes")
    func keyWalk() {
        let specs: [KeyPositions] = [.none, .single, .all, KeyPositions(first: 1, last: -1, step: 2),
                                     KeyPositions(first: 2, last: 2, step: 1), KeyPositions(first: 1, last: -2, step: 1)]
        for keys in specs {
            let spec = CommandSpec("x", arity: -1, flags: [], categories: [], keys: keys, group: "g", summary: "")
            for argc in 1..<8 {
                var walked: [Int] = []
                Server.forEachKeyIndex(spec, argc: argc) { walked.append($0) }
                #expect(walked == spec.keyIndexes(argc: argc), "\(keys) argc \(argc)")
            }
        }
    }
}
