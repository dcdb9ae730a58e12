// vecshard-server: reads flags and an optional config file, then runs one node.
import Server
#if canImport(Glibc)
import Glibc
#endif

@main
struct VecShardServer {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var config = Config()
        do {
            if let first = arguments.first, first == "-v" || first == "--version" {
                print("VecShard server v=\(vecshardVersion) redis_version=\(redisCompatibleVersion)")
                return
            }
            if let first = arguments.first, first == "-h" || first == "--help" {
                print("Usage: vecshard-server [/path/to/redis.conf | --config FILE] [--directive value ...]")
                return
            }
            // A first argument without "--" is a config file path, as for redis-server.
            if let first = arguments.first, !first.hasPrefix("--") {
                try config.load(fileText: try readFile(first))
                arguments.removeFirst()
            }
            if let i = arguments.firstIndex(of: "--config"), i + 1 < arguments.count {
                try config.load(fileText: try readFile(arguments[i + 1]))
                arguments.removeSubrange(i...(i + 1))
            }
            try config.load(arguments: arguments)
        } catch {
            writeError("\n*** FATAL CONFIG FILE ERROR (VecShard \(vecshardVersion)) ***\n\(error)\n")
            exit(1)
        }
        if !config["dir"].isEmpty && chdir(config["dir"]) != 0 {
            writeError("Can't chdir to '\(config["dir"])': \(String(cString: strerror(errno)))\n")
            exit(1)
        }
        let server = Server(config: config)
        server.logger.notice("oO0OoO0OoO0Oo VecShard is starting oO0OoO0OoO0Oo")
        server.logger.notice("VecShard version=\(vecshardVersion), redis_version=\(redisCompatibleVersion), pid=\(getpid()), just started")
        do {
            try server.run()
        } catch {
            server.logger.warning("\(error)")
            exit(1)
        }
        exit(0)
    }

    static func writeError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    static func readFile(_ path: String) throws -> String {
        guard let f = fopen(path, "r") else { throw ConfigError.unreadable(path) }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buf[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
