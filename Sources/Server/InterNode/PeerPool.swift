// Outbound RESP connections to the other nodes of the cluster: a small pool of persistent, pipelined connections
// per peer, with AUTH + HELLO 2 on connect, per-request deadlines, and a circuit breaker that fails requests to a
// dead peer at once while it is probed in the background with exponential backoff.
// Loop thread only: every callback runs on the libuv loop; nothing here is shared with workers.
import CLibUV
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// Why a request to a peer got no reply.
enum PeerFailure: Error, CustomStringConvertible {
    /// The breaker is open (recent connection failure) or the peer refused the connection.
    case unavailable(String)
    /// No reply before the request's deadline.
    case timeout
    /// The connection broke while the request was outstanding.
    case disconnected(String)

    var description: String {
        switch self {
        case .unavailable(let why): return "unavailable (\(why))"
        case .timeout: return "timed out"
        case .disconnected(let why): return "disconnected (\(why))"
        }
    }
}

typealias PeerReply = Result<RESPValue, PeerFailure>

struct PeerPoolSettings {
    /// Connections per peer; requests go to the one with the fewest outstanding (a blocked search holds a connection).
    var connectionsPerPeer = 4
    /// Password sent with AUTH on connect (masterauth, else requirepass); empty: no AUTH.
    var password = ""
    var connectTimeoutMilliseconds: UInt64 = 1000
    /// A connection with outstanding requests and no byte received for this long is considered dead.
    var stallMilliseconds: UInt64 = 3000
    var initialBackoffMilliseconds: UInt64 = 100
    var maxBackoffMilliseconds: UInt64 = 2000
}

/// The peers of one node, indexed like the topology's nodes (self has no entry).
final class PeerPool {
    let loop: UnsafeMutablePointer<uv_loop_t>
    var settings: PeerPoolSettings
    let logger: (String) -> Void
    private(set) var peers: [Int: Peer] = [:]
    /// Called when a peer's first connection of a healthy period completes its handshake (startup and after an outage).
    var onPeerUp: ((Int) -> Void)?

    init(loop: UnsafeMutablePointer<uv_loop_t>, settings: PeerPoolSettings, logger: @escaping (String) -> Void) {
        self.loop = loop
        self.settings = settings
        self.logger = logger
    }

    func addPeer(node: Int, name: String, host: String, port: Int) {
        peers[node] = Peer(pool: self, node: node, name: name, host: host, port: port)
    }

    /// Opens a connection to every peer now (startup), so schema pulls and breakers start early.
    func connectAll() { for p in peers.values { p.ensureConnected() } }

    /// Sends `argv` to `node`; `callback` runs exactly once on the loop (possibly before `send` returns).
    func send(to node: Int, _ argv: [[UInt8]], timeoutMilliseconds: UInt64, _ callback: @escaping (PeerReply) -> Void) {
        guard let peer = peers[node] else { callback(.failure(.unavailable("unknown node"))); return }
        peer.send(argv, timeoutMilliseconds: timeoutMilliseconds, callback)
    }

    func isUp(_ node: Int) -> Bool { peers[node]?.breakerOpenUntil == nil }

    /// One line per peer for INFO / logs: name, state, outstanding requests.
    var summary: [String] {
        peers.keys.sorted().map { i in
            let p = peers[i]!
            let state = p.breakerOpenUntil == nil ? (p.everUp ? "up" : "connecting") : "down"
            return "\(p.name)=\(p.host):\(p.port),state=\(state),pending=\(p.connections.reduce(0) { $0 + $1.outstanding }),failures=\(p.failures)"
        }
    }
}

/// One peer node: its connections and its circuit breaker.
final class Peer {
    unowned let pool: PeerPool
    let node: Int
    let name: String
    let host: String
    let port: Int
    var connections: [PeerConnection] = []
    /// Breaker: while set, requests fail at once; a probe connection retries when it passes.
    var breakerOpenUntil: UInt64?
    var backoff: UInt64 = 0
    var failures = 0
    var everUp = false
    private var upAnnounced = false
    private let probeTimer: LoopTimer

    init(pool: PeerPool, node: Int, name: String, host: String, port: Int) {
        self.pool = pool
        self.node = node
        self.name = name
        self.host = host
        self.port = port
        probeTimer = LoopTimer(loop: pool.loop)
        for i in 0..<max(1, pool.settings.connectionsPerPeer) { connections.append(PeerConnection(peer: self, slot: i)) }
    }

    func ensureConnected() { connections[0].connectIfNeeded() }

    func send(_ argv: [[UInt8]], timeoutMilliseconds: UInt64, _ callback: @escaping (PeerReply) -> Void) {
        if breakerOpenUntil != nil {
            callback(.failure(.unavailable("connection to \(name) \(host):\(port) failed recently; retrying in the background")))
            return
        }
        // Prefer a ready connection with the fewest outstanding requests; open more lazily.
        let best = connections.min { a, b in
            if a.isReady != b.isReady { return a.isReady }
            return a.outstanding < b.outstanding
        }!
        var target = best
        if best.outstanding > 0, let idle = connections.first(where: { $0.isIdle }) { target = idle }
        target.send(argv, timeoutMilliseconds: timeoutMilliseconds, callback)
    }

    /// A connection finished its handshake.
    func connectionReady() {
        backoff = 0
        if !upAnnounced {
            upAnnounced = true
            everUp = true
            pool.logger("Cluster link to \(name) \(host):\(port) is up")
            pool.onPeerUp?(node)
        }
    }

    /// A connection failed (connect error, reset, stall, handshake error): open the breaker, drop every connection,
    /// and probe again after the backoff.
    func connectionFailed(_ why: String, _ connection: PeerConnection? = nil) {
        failures += 1
        // Open the breaker before any failed request's callback runs, so retries from callbacks fail fast.
        if breakerOpenUntil != nil { connection?.reset(.disconnected(why)); return }
        do {
            // A peer never reached yet is most likely still starting (fleets start together): retry at the initial
            // pace, so the first schema exchange and broadcasts do not wait out a grown backoff.
            backoff = backoff == 0 || !everUp ? pool.settings.initialBackoffMilliseconds
                : min(backoff * 2, pool.settings.maxBackoffMilliseconds)
            breakerOpenUntil = monotonicMilliseconds() + backoff
            if upAnnounced || failures == 1 { pool.logger("Cluster link to \(name) \(host):\(port) is down: \(why)") }
            upAnnounced = false
            for c in connections { c.reset(.disconnected(why)) }
            probeTimer.start(after: backoff) { [unowned self] in self.probe() }
        }
    }

    private func probe() {
        breakerOpenUntil = nil
        // While the probe connects, requests still fail fast: the breaker stays half-open until the handshake.
        breakerOpenUntil = UInt64.max
        connections[0].connectIfNeeded(probe: true)
    }

    /// The probe's handshake succeeded: close the breaker.
    func probeSucceeded() {
        breakerOpenUntil = nil
        connectionReady()
    }

    func probeFailed(_ why: String, _ connection: PeerConnection) {
        breakerOpenUntil = nil
        connectionFailed(why, connection)
    }
}

/// One TCP connection to a peer: a FIFO of outstanding requests matched to replies in order (pipelining).
final class PeerConnection {
    unowned let peer: Peer
    let slot: Int
    private enum State { case idle, connecting, ready }
    private var state = State.idle
    private var isProbe = false
    private var tcp: UnsafeMutablePointer<uv_tcp_t>?

    private struct Pending {
        var callback: ((PeerReply) -> Void)?
        var deadline: UInt64
        var timeout: UInt64 = 0
        /// Handshake replies (AUTH, HELLO) are checked here, not handed to a caller.
        var handshake: Bool
    }
    private var pending: [Pending] = []
    private var head = 0
    /// Bytes written before the TCP connection is up.
    private var outbox: [UInt8] = []
    private var inbox: [UInt8] = []
    private var inboxStart = 0
    private var parser = ReplyParser()
    private var lastRead: UInt64 = 0
    private let timer: LoopTimer
    private let scratch = UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    init(peer: Peer, slot: Int) {
        self.peer = peer
        self.slot = slot
        timer = LoopTimer(loop: peer.pool.loop)
    }

    var outstanding: Int { pending.count - head }
    var isReady: Bool { state == .ready }
    var isIdle: Bool { state == .idle }

    func connectIfNeeded(probe: Bool = false) {
        guard state == .idle else { return }
        isProbe = probe
        let loop = peer.pool.loop
        let h = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop, h)
        h.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_tcp_nodelay(h, 1)
        tcp = h
        state = .connecting
        lastRead = monotonicMilliseconds()
        var storage = sockaddr_storage()
        let host = peer.host == "localhost" ? "127.0.0.1" : peer.host
        var r: Int32 = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(host, Int32(peer.port), $0) }
        }
        if r != 0 {
            r = withUnsafeMutablePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(host, Int32(peer.port), $0) }
            }
        }
        if r != 0 { failed("cannot parse address '\(peer.host)' (IPv4/IPv6 literals only)"); return }
        let req = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        r = withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
                uv_tcp_connect(req, h, addr) { req, status in
                    let conn = Unmanaged<PeerConnection>.fromOpaque(req!.pointee.data).takeUnretainedValue()
                    let stream = req!.pointee.handle
                    req!.deallocate()
                    conn.connected(stream, status)
                }
            }
        }
        if r != 0 { req.deallocate(); failed("connect: \(String(cString: uv_strerror(r)))"); return }
        // The handshake goes first in the pipeline; requests queue behind it.
        var hello: [UInt8] = []
        if !peer.pool.settings.password.isEmpty {
            hello += Self.encode([Array("AUTH".utf8), Array(peer.pool.settings.password.utf8)])
            pending.append(Pending(callback: nil, deadline: 0, handshake: true))
        }
        hello += Self.encode([Array("HELLO".utf8), Array("2".utf8)])
        pending.append(Pending(callback: nil, deadline: 0, handshake: true))
        outbox = hello + outbox
        armTimer()
    }

    private func connected(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
        guard state == .connecting, let tcp, stream == UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_stream_t.self) else { return }
        if status != 0 { failed("connect: \(String(cString: uv_strerror(status)))"); return }
        state = .ready
        lastRead = monotonicMilliseconds()
        // Again now that the socket exists (libuv may not apply a flag set before connect): pipelined requests on one
        // connection must not wait for the previous reply's ACK (Nagle + delayed ACK).
        uv_tcp_nodelay(tcp, 1)
        tcp.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { s in
            _ = uv_read_start(s, { handle, _, buf in
                let conn = Unmanaged<PeerConnection>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
                buf!.pointee = uv_buf_init(conn.scratch.assumingMemoryBound(to: CChar.self), 64 * 1024)
            }, { stream, nread, _ in
                let conn = Unmanaged<PeerConnection>.fromOpaque(stream!.pointee.data).takeUnretainedValue()
                if nread < 0 { conn.failed(nread == Int(UV_EOF.rawValue) ? "connection closed by peer" : String(cString: uv_strerror(Int32(nread)))); return }
                if nread > 0 { conn.received(nread) }
            })
        }
        let queued = outbox
        outbox = []
        write(queued)
    }

    func send(_ argv: [[UInt8]], timeoutMilliseconds: UInt64, _ callback: @escaping (PeerReply) -> Void) {
        if state == .idle { connectIfNeeded() }
        if state == .idle { callback(.failure(.unavailable("cannot connect to \(peer.name)"))); return }
        let now = monotonicMilliseconds()
        // The stall clock starts when a reply is first owed, not at the last read of an idle connection.
        if outstanding == 0 { lastRead = now }
        pending.append(Pending(callback: callback, deadline: now + max(1, timeoutMilliseconds), timeout: timeoutMilliseconds, handshake: false))
        let bytes = Self.encode(argv)
        if state == .ready { write(bytes) } else { outbox += bytes }
        armTimer()
    }

    static func encode(_ argv: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = Array("*\(argv.count)\r\n".utf8)
        for a in argv {
            out += Array("$\(a.count)\r\n".utf8)
            out += a
            out += [13, 10]
        }
        return out
    }

    private func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, let tcp else { return }
        // Block layout: | payload |; the request's data points at it until libuv calls back.
        let block = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { block.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        let req = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        req.pointee.data = block
        var buf = uv_buf_init(block.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let r = tcp.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { s in
            uv_write(req, s, &buf, 1) { req, _ in
                // Errors surface through the read side (EOF/reset); here we only free.
                req!.pointee.data.deallocate()
                req!.deallocate()
            }
        }
        if r != 0 {
            block.deallocate()
            req.deallocate()
            failed("write: \(String(cString: uv_strerror(r)))")
        }
    }

    private func received(_ n: Int) {
        lastRead = monotonicMilliseconds()
        inbox.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: n))
        while inboxStart < inbox.count {
            let next: (value: RESPValue, consumed: Int)?
            do {
                next = try parser.parse(inbox, from: inboxStart)
            } catch {
                failed("protocol error: \(error.reason)")
                return
            }
            guard let (value, used) = next else { break }
            inboxStart += used
            guard head < pending.count else { failed("unexpected reply"); return }
            let entry = pending[head]
            head += 1
            if entry.handshake {
                // AUTH may be refused when the peer has no password (harmless); HELLO 2 must succeed.
                if case .error(let message) = value, !message.contains("AUTH") && !message.contains("password") {
                    failed("handshake refused: \(message)")
                    return
                }
                let moreHandshake = pending[head...].contains { $0.handshake }
                if !moreHandshake { handshakeDone() }
            } else {
                entry.callback?(.success(value))
            }
            if state == .idle { return }  // a callback may have reset us
        }
        if inboxStart == inbox.count { inbox.removeAll(keepingCapacity: inbox.capacity <= 1 << 20); inboxStart = 0 }
        else if inboxStart > 1 << 16 { inbox.removeFirst(inboxStart); inboxStart = 0 }
        compactPending()
    }

    private func handshakeDone() {
        if isProbe { isProbe = false; peer.probeSucceeded() } else { peer.connectionReady() }
    }

    private func compactPending() {
        if head == pending.count { pending.removeAll(keepingCapacity: true); head = 0 }
        else if head > 64 && head * 2 > pending.count { pending.removeFirst(head); head = 0 }
    }

    /// Deadline bookkeeping: expire late requests (their replies, if they come, are consumed and dropped), and treat a
    /// connection that owes replies but has been silent for `stallMilliseconds` (or never finished connecting) as dead.
    private func armTimer() {
        guard outstanding > 0 else { timer.stop(); return }
        let now = monotonicMilliseconds()
        var next = UInt64.max
        for i in head..<pending.count where pending[i].callback != nil { next = min(next, pending[i].deadline) }
        let stallAt = lastRead + (state == .ready ? stallLimit : peer.pool.settings.connectTimeoutMilliseconds)
        next = min(next, stallAt)
        timer.start(after: next > now ? next - now : 0) { [unowned self] in self.tick() }
    }

    /// Silence that means "dead": the setting, or longer when a request was given a longer timeout (a slow query
    /// that its caller is still waiting for must not kill the connection).
    private var stallLimit: UInt64 {
        var longest: UInt64 = 0
        for i in head..<pending.count { longest = max(longest, pending[i].timeout) }
        return max(peer.pool.settings.stallMilliseconds, longest + 1000)
    }

    private func tick() {
        let now = monotonicMilliseconds()
        if outstanding > 0 {
            let limit = state == .ready ? stallLimit : peer.pool.settings.connectTimeoutMilliseconds
            if now >= lastRead + limit {
                failed(state == .ready ? "no reply for \(limit) ms" : "connect timed out after \(limit) ms")
                return
            }
        }
        // Collect first: a callback may send (append) or reset this connection (clear `pending`).
        var expired: [(PeerReply) -> Void] = []
        for i in head..<pending.count where pending[i].callback != nil && pending[i].deadline <= now {
            expired.append(pending[i].callback!)
            pending[i].callback = nil
        }
        for cb in expired { cb(.failure(.timeout)) }
        if state != .idle { armTimer() }
    }

    /// Connection-level failure: reset this connection, then let the peer's breaker decide.
    private func failed(_ why: String) {
        if isProbe { peer.probeFailed(why, self) } else { peer.connectionFailed(why, self) }
        reset(.disconnected(why))
    }

    /// Closes the socket and fails every outstanding request with `failure`.
    func reset(_ failure: PeerFailure) {
        guard state != .idle || outstanding > 0 else { return }
        isProbe = false
        state = .idle
        timer.stop()
        if let tcp {
            self.tcp = nil
            tcp.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { h in
                if uv_is_closing(h) == 0 { uv_close(h) { $0?.deallocate() } }
            }
        }
        let callbacks = pending[head...].compactMap(\.callback)
        pending.removeAll()
        head = 0
        outbox = []
        inbox = []
        inboxStart = 0
        parser = ReplyParser()
        for cb in callbacks { cb(.failure(failure)) }
    }
}
