// SAVE's snapshot file read back by a fresh node: keyspace, FT definitions (aliases, FT.ALTER fields) and the answers
// of a rebuilt index; a flipped byte, a truncation or a foreign file is refused with a clear reason.
import Testing
@testable import Server
import Keyspace
#if canImport(Glibc)
import Glibc
#endif

private func temporaryPath() -> String {
    "/tmp/vecshard-persistence-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).snap"
}

private func readAll(_ path: String) -> [UInt8] { (try? Server.readFile(path)).flatMap { $0 } ?? [] }

private func writeAll(_ bytes: [UInt8], _ path: String) throws { try Server.writeAtomically(bytes, to: path) }

private func vector(_ i: Int) -> Bytes {
    // Distinct for every i, so no two documents tie on a distance (ties may come back in another order).
    Bytes((0..<16).map { Float(($0 * 7 + i * 13) % 29) / 29 + Float(i) / 1000 }.withUnsafeBytes { Array($0) })
}

/// A node with strings, hashes, an expiring key and an index (FLAT, so its answers are exact) with an alias and a
/// field added by FT.ALTER.
private func populatedServer() -> (Server, Client) {
    let server = Server(config: Config())
    let c = server.detachedClient()
    server.execute("SET", "greeting", "hello", on: c)
    server.execute("SET", "later", "x", "EX", "1000", on: c)
    server.execute(["FT.CREATE", "idx", "PREFIX", "1", "doc:", "SCHEMA", "n", "NUMERIC", "v", "VECTOR", "FLAT", "6",
                    "TYPE", "FLOAT32", "DIM", "16", "DISTANCE_METRIC", "L2"].map { Bytes($0) }, on: c)
    server.execute("FT.ALIASADD", "docs", "idx", on: c)
    server.execute("FT.ALTER", "idx", "SCHEMA", "ADD", "t", "TAG", on: c)
    server.execute("FT.CONFIG", "SET", "DEFAULT_DIALECT", "2", on: c)
    for i in 0..<200 {
        server.execute([Bytes("HSET"), Bytes("doc:\(i)"), Bytes("n"), Bytes("\(i)"), Bytes("t"), Bytes("g\(i % 4)"),
                        Bytes("v"), vector(i)], on: c)
    }
    return (server, c)
}

private func knn(_ server: Server, _ c: Client, _ index: String) -> [UInt8] {
    server.execute([Bytes("FT.SEARCH"), Bytes(index), Bytes("@t:{g1}=>[KNN 5 @v $q]"), Bytes("PARAMS"), Bytes("2"),
                    Bytes("q"), vector(3), Bytes("SORTBY"), Bytes("__v_score"), Bytes("DIALECT"), Bytes("2")], on: c)
}

@Suite("Persistence")
struct PersistenceTests {
    @Test("a saved node loads into a fresh one: keys, TTLs, FT definitions and the same KNN answers")
    func roundTrip() throws {
        let path = temporaryPath()
        defer { unlink(path) }
        let (server, c) = populatedServer()
        #expect(server.saveSnapshot(to: path))
        #expect(server.database.dirty == server.dirtyAtLastSave)
        let expected = knn(server, c, "idx")
        #expect(expected.count > 100 && expected.first != UInt8(ascii: "-"))

        let restored = Server(config: Config())
        let rc = restored.detachedClient()
        #expect(try restored.loadSnapshot(from: path) == [])
        #expect(restored.execute("GET", "greeting", on: rc) == "$5\r\nhello\r\n")
        #expect(restored.database.pttl("later") > 990_000)
        #expect(restored.execute("DBSIZE", on: rc) == ":202\r\n")
        #expect(restored.execute("FT._LIST", on: rc) == server.execute("FT._LIST", on: c))
        #expect(restored.search.index(named: "idx")?.numDocs == 200)
        #expect(restored.search.index(named: "idx")?.definition == server.search.index(named: "idx")?.definition)
        #expect(restored.search.config.defaultDialect == 2)
        #expect(knn(restored, rc, "idx") == expected)
        #expect(knn(restored, rc, "docs") == expected)
        #expect(restored.execute(["HGET", "doc:7", "v"].map { Bytes($0) }, on: rc)
                == server.execute(["HGET", "doc:7", "v"].map { Bytes($0) }, on: c))
    }

    @Test("no file: nothing loaded, the node starts empty")
    func missing() throws {
        let server = Server(config: Config())
        #expect(try server.loadSnapshot(from: temporaryPath()) == nil)
        #expect(server.database.count == 0)
    }

    @Test("a flipped byte, a truncation or a foreign file is refused", arguments: [
        ("flip", "checksum"), ("truncate", "checksum"), ("short", "Short read"), ("foreign", "Wrong signature"),
        ("version", "Can't handle snapshot format version 9.0"),
    ])
    func damaged(damage: String, reason: String) throws {
        let path = temporaryPath()
        defer { unlink(path) }
        let (server, _) = populatedServer()
        #expect(server.saveSnapshot(to: path))
        var bytes = readAll(path)
        try #require(bytes.count > 1000)
        switch damage {
        case "flip": bytes[bytes.count / 2] ^= 0x10
        case "truncate": bytes.removeLast(5)
        case "short": bytes = Array(bytes.prefix(10))
        case "foreign": bytes.replaceSubrange(0..<9, with: Array("REDIS0011".utf8))
        default: bytes[6] = 9
        }
        try writeAll(bytes, path)
        let fresh = Server(config: Config())
        do {
            _ = try fresh.loadSnapshot(from: path)
            Issue.record("\(damage): loaded")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
            #expect(error.description.contains("Bad snapshot file"))
        }
    }

    @Test("SAVE and BGSAVE reply as Redis and move LASTSAVE; SHUTDOWN checks its flags")
    func commands() throws {
        let server = Server(config: Config())
        let c = server.detachedClient()
        server.lastSave = 0
        let directory = "/tmp/vecshard-persistence-cmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o755)
        defer { unlink(directory + "/dump.rdb"); rmdir(directory) }
        #expect(server.execute("CONFIG", "SET", "dbfilename", directory + "/dump.rdb", on: c) == "+OK\r\n")
        server.execute("SET", "k", "v", on: c)
        #expect(server.execute("SAVE", on: c) == "+OK\r\n")
        #expect(server.lastSave > 0)
        #expect(server.execute("BGSAVE", on: c) == "+Background saving started\r\n")
        #expect(server.execute("BGSAVE", "SCHEDULE", on: c) == "+Background saving started\r\n")
        #expect(server.execute("BGSAVE", "NOW", on: c) == "-ERR syntax error\r\n")
        #expect(server.execute("SAVE", "x", on: c) == "-ERR wrong number of arguments for 'save' command\r\n")
        #expect(server.execute("SHUTDOWN", "SAVE", "NOSAVE", on: c) == "-ERR syntax error\r\n")
        #expect(server.execute("SHUTDOWN", "ABORT", on: c) == "-ERR No shutdown in progress.\r\n")
        #expect(server.infoText(sections: ["persistence"]).contains("rdb_changes_since_last_save:0\r\n"))
        #expect(!server.shutdownRequested)
    }
}
