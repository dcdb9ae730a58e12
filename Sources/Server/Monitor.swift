// MONITOR: every command the server runs, as one line to each monitoring client, in Redis's format.
#if canImport(Glibc)
import Glibc
#endif
import Keyspace

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension Server {
    /// MONITOR: from now on this client receives every command the server runs; a second MONITOR is ignored without
    /// a reply, as in Redis.
    func monitorCommands() -> [CommandSpec] {
        [command("monitor", arity: 1, flags: "admin noscript loading stale", acl: "admin slow dangerous",
                 group: "server", summary: "Listens for all requests received by the server in real-time.") { ctx in
            guard !ctx.client.isMonitor else { return }
            ctx.client.isMonitor = true
            ctx.server.monitorIDs.insert(ctx.client.id)
            ctx.client.reply.ok()
        }]
    }

    /// `+<unix s>.<µs> [0 <ip:port>] "arg" "arg" ...`: the arguments quoted and escaped as Redis's sdscatrepr does,
    /// secrets redacted as in the slow log. Called after a command ran (so EXEC's commands come before EXEC).
    func feedMonitors(_ client: Client, _ args: Arguments) {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let micros = String(time.tv_nsec / 1000)
        let stamp = "\(time.tv_sec).\(String(repeating: "0", count: 6 - micros.count))\(micros)"
        var line: [UInt8] = Array("+\(stamp) [0 \(client.address)]".utf8)
        let secret = SlowLog.secretArguments(args)
        for i in 0..<args.count {
            line.append(32)
            if secret.contains(i) {
                line.append(contentsOf: Array("\"(redacted)\"".utf8))
            } else {
                Self.appendQuoted(args[i], to: &line)
            }
        }
        line.append(contentsOf: [13, 10])
        for id in monitorIDs {
            guard let monitor = clients[id] else { continue }
            monitor.reply.raw(line)
            // The current client's replies leave when its input is done; another monitor's leave now.
            if monitor !== client { flush(monitor) }
        }
    }

    /// Redis's sdscatrepr: printable ASCII as is, `\\` and `"` escaped, \n \r \t \a \b by name, other bytes as \xhh.
    static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(34)
        for b in bytes {
            switch b {
            case 92, 34: out.append(92); out.append(b)
            case 10: out.append(contentsOf: [92, 110])
            case 13: out.append(contentsOf: [92, 114])
            case 9: out.append(contentsOf: [92, 116])
            case 7: out.append(contentsOf: [92, 97])
            case 8: out.append(contentsOf: [92, 98])
            case 32...126: out.append(b)
            default: out.append(contentsOf: [92, 120, hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]])
            }
        }
        out.append(34)
    }
}
