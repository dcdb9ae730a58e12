// Runs one fuzz input as a client's request stream against an in-process node (no sockets) and checks its invariants.
import Foundation
import RESP
import Keyspace
import Server

/// One in-process node reused across inputs: building a node per input would dominate the run, so each input starts
/// from the same reset state instead (keys flushed, indexes dropped and recreated, connection state reset).
final class CommandHarness {
    let server: Server
    let client: Client
    let directory: String
    /// VS_FUZZ_VERBOSE=1 prints each request and the start of its reply (for reading a saved input's effect).
    let verbose = ProcessInfo.processInfo.environment["VS_FUZZ_VERBOSE"] == "1"

    /// Commands a fuzz input may not run in-process, because they end the process, sleep, open connections to other
    /// hosts, start background threads whose replies need the event loop, or write outside the scratch directory.
    static let refused: Set<String> = [
        "shutdown", "debug", "migrate", "replicaof", "slaveof", "sync", "psync", "bgsave", "bgrewriteaof",
        "failover", "monitor",
    ]
    static let refusedSubcommands: Set<String> = [
        "cluster meet", "cluster replicate", "cluster failover", "cluster setslot", "client pause",
    ]
    /// CONFIG SET names that point the node at files, ports or worker threads.
    static let refusedConfig: Set<String> = [
        "dir", "dbfilename", "logfile", "pidfile", "cluster-config-file", "vector-cold-dir", "port", "bind",
        "unixsocket", "appendfilename", "search-workers", "cluster-announce-ip", "tls-port",
    ]

    /// The schema every input finds: one field of each kind, two vector algorithms, sortable fields.
    static let fixture: [[String]] = [
        ["FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "t", "TEXT", "SORTABLE", "u", "TEXT",
         "NOSTEM", "WEIGHT", "2", "n", "NUMERIC", "SORTABLE", "g", "TAG", "SEPARATOR", ",", "v", "VECTOR", "HNSW", "6",
         "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2", "f", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM",
         "2", "DISTANCE_METRIC", "COSINE", "loc", "GEO", "SORTABLE"],
        ["HSET", "d:1", "t", "hello world", "u", "running dogs", "n", "1", "g", "a,b", "loc", "2.35,48.85"],
        ["HSET", "d:2", "t", "hello there world", "n", "2.5", "g", "b", "loc", "-122.4 37.7"],
        ["HSET", "d:3", "t", "goodbye", "u", "hello", "n", "-3", "g", "c"],
        ["HSET", "d:4", "n", "40", "g", "a"],
        ["SET", "s", "string"],
    ]
    static let vectors: [(String, [Float])] = [("d:1", [0.1, 0.2]), ("d:2", [1, 0]), ("d:3", [-1, 0.5]), ("d:5", [0, 0])]

    init() throws {
        directory = NSTemporaryDirectory() + "vecshard-fuzz-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // The server's startup chdirs into `dir` (as redis-server does); SAVE writes relative to the working directory.
        guard FileManager.default.changeCurrentDirectoryPath(directory) else { throw CocoaError(.fileWriteUnknown) }
        var config = Config()
        try config.set("dir", directory)
        try config.set("search-workers", "0")
        try config.set("save", "")
        try config.set("loglevel", "warning")
        server = Server(config: config)
        client = server.detachedClient()
    }

    private func run(_ argv: [String]) { server.execute(argv.map { Bytes($0) }, on: client) }

    /// Back to the state every input starts from.
    func reset() {
        run(["RESET"])
        run(["FLUSHALL", "SYNC"])
        for name in indexNames() { run(["FT.DROPINDEX", name]) }
        for command in Self.fixture { run(command) }
        for (key, vector) in Self.vectors {
            let blob = Bytes(vector.withUnsafeBytes { Array($0) })
            server.execute([Bytes("HSET"), Bytes(key), Bytes("v"), blob, Bytes("f"), blob], on: client)
        }
    }

    private func indexNames() -> [String] {
        let reply = server.execute([Bytes("FT._LIST")], on: client)
        var parser = ReplyParser()
        guard let (value, _) = try? parser.parse(reply, from: 0), let items = value.elements else { return [] }
        return items.compactMap(\.text)
    }

    /// Whether the harness runs this request at all (see `refused`).
    static func allows(_ argv: [[UInt8]]) -> Bool {
        guard let first = argv.first else { return false }
        let name = String(decoding: first, as: UTF8.self).lowercased()
        if refused.contains(name) { return false }
        if argv.count > 1 {
            let sub = String(decoding: argv[1], as: UTF8.self).lowercased()
            if refusedSubcommands.contains(name + " " + sub) { return false }
            if name == "config", sub == "set" {
                var i = 2
                while i < argv.count {
                    if refusedConfig.contains(String(decoding: argv[i], as: UTF8.self).lowercased()) { return false }
                    i += 2
                }
            }
        }
        return true
    }

    /// Parses `input` as a connection's byte stream and runs each request. A reply must be well-formed RESP; a trap
    /// anywhere is the finding.
    func run(input: [UInt8]) {
        reset()
        // The requests a connection's parser takes from the stream, up to a protocol error (ParserTargets).
        for argv in ParserTargets.requests(input, cuts: []).requests where Self.allows(argv) {
            let reply = server.execute(argv.map { Bytes($0) }, on: client)
            Self.checkWellFormed(reply, after: argv)
            if verbose {
                let command = argv.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
                FileHandle.standardError.write(Data("> \(command.prefix(300))\n< \(String(decoding: reply.prefix(300), as: UTF8.self))\n".utf8))
            }
            if client.closeAfterReply { return }
        }
    }

    /// Every reply is one or more complete RESP values with nothing left over.
    static func checkWellFormed(_ reply: [UInt8], after argv: [[UInt8]]) {
        var parser = ReplyParser()
        var start = 0
        while start < reply.count {
            guard let (_, used) = try? parser.parse(reply, from: start), used > 0 else {
                let command = argv.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
                let rest = String(decoding: reply[start...].prefix(200), as: UTF8.self)
                fatalError("malformed reply to \(command.prefix(200)): \(rest)")
            }
            start += used
        }
    }
}
