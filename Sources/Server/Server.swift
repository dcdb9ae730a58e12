// The node: a libuv event loop that owns every socket, runs commands in order, and takes results back from workers.
import CLibUV
import RESP
import Keyspace
import Synchronization
import Search
import Tiering
#if canImport(Glibc)
import Glibc
#endif

public let vecshardVersion = "0.1.0"
/// The Redis release whose commands and replies we follow; clients gate features on it.
public let redisCompatibleVersion = "7.4.1"

public final class Server {
    public var config: Config
    public let database: Database
    public let search: SearchRegistry
    public var logger: Logger
    public var commands = CommandTable()
    public let startTime: Int64
    public let runID: String

    let loop: UnsafeMutablePointer<uv_loop_t>
    var listeners: [UnsafeMutablePointer<uv_tcp_t>] = []
    var clients: [Int: Client] = [:]
    var nextClientID = 1
    private var cronTimer: UnsafeMutablePointer<uv_timer_t>?
    private var signalHandles: [UnsafeMutablePointer<uv_signal_t>] = []
    /// Work handed back by worker threads, run on the loop thread.
    public let mailbox = LoopMailbox()
    /// Searches handed to worker threads and not yet answered (loop thread only; see `searchRunsInline`).
    var searchesOnWorkers = 0
    /// Which clients sent the latest searches: whether a worker hop can let two run at once (see `searchRunsInline`).
    var searchOverlap = SearchOverlapTracker()
    /// Clients held after a hash write while tiering's seals catch up (see `holdForTiering`).
    var tieringHeldClients: [Int] = []
    /// When the oldest of `tieringHeldClients` was held (wall-clock ms).
    var tieringHoldsSince: Int64 = 0
    /// Hash writes after which a client was held (INFO tiering `tiering_write_holds`).
    var tieringWriteHolds = 0
    /// When to give the heap freed by a burst of writes back to the kernel.
    var heapRelease = HeapRelease()

    // Statistics for INFO.
    public var totalConnections = 0
    public var rejectedConnections = 0
    public var totalCommands = 0
    public var netInputBytes = 0
    public var netOutputBytes = 0
    public var errorStats: [String: Int] = [:]
    public var totalErrorReplies = 0
    public var lastSave: Int64
    /// `database.dirty` when the last snapshot was written or loaded (INFO `rdb_changes_since_last_save`).
    var dirtyAtLastSave = 0
    /// INFO `rdb_last_bgsave_status`: false after a failed SAVE / BGSAVE, until one succeeds.
    var lastSaveSucceeded = true
    public var cronLoops = 0

    /// WATCHed key → ids of the clients watching it.
    var watchers: [Bytes: Set<Int>] = [:]
    /// Storage reused by `lookupKey` for keys longer than `Bytes.inlineCapacity`.
    var keyScratch: [UInt8] = []

    /// Extra INFO sections contributed by other modules (search, cluster, tiering): name → text body.
    public var infoSections: [(name: String, body: (Server) -> String)] = []
    /// Called before a keyed command runs (cluster slot checks). A returned error is the reply instead.
    public var keyCheck: ((CommandSpec, Arguments, Client) -> CommandError?)?
    /// Loaded modules for HELLO / INFO modules / MODULE LIST: (name, version).
    public var modules: [(name: String, version: Int)] = []
    public var shutdownRequested = false
    /// Config values read on every request, cached by applyConfig.
    var outputHardLimit = 0
    var queryBufferLimit = 1 << 30
    /// `search-workers` (immutable), read on every FT.SEARCH.
    var searchWorkers = 2
    /// SLOWLOG's entries and its two directives.
    var slowLog = SlowLog()
    /// Clients in MONITOR mode.
    var monitorIDs: Set<Int> = []

    public init(config: Config) {
        self.config = config
        self.logger = Logger(level: LogLevel(name: config["loglevel"]))
        self.database = Database()
        self.search = SearchRegistry(database: database)
        self.modules = [(name: "search", version: searchModuleVersion)]
        self.startTime = wallClockMilliseconds()
        self.lastSave = startTime / 1000
        var id = ""
        for _ in 0..<40 { id.append(String(Int.random(in: 0..<16), radix: 16)) }
        self.runID = id
        loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        uv_loop_init(loop)
        applyConfig()
        registerBuiltinCommands()
        database.subscribe { [unowned self] event in self.touchWatchedKey(event.key) }
        infoSections.append((name: "search", body: { $0.searchInfoText() }))
        infoSections.append((name: "tiering", body: { $0.tieringInfoText() }))
    }

    /// Pushes runtime-tunable directives into the components that use them.
    public func applyConfig() {
        outputHardLimit = parsedOutputHardLimit
        queryBufferLimit = config.int("client-query-buffer-limit")
        searchWorkers = config.int("search-workers")
        slowLog.threshold = config.int("slowlog-log-slower-than")
        slowLog.maxLength = config.int("slowlog-max-len")
        logger.level = LogLevel(name: config["loglevel"])
        database.hashLimits.maxCompactEntries = config.int("hash-max-listpack-entries")
        database.hashLimits.maxCompactValueLength = config.int("hash-max-listpack-value")
        for c in clients.values { c.parser.limits = requestLimits }
        applyTieringConfig()
    }

    var requestLimits: RequestLimits {
        var l = RequestLimits()
        l.maxBulkLength = config.int("proto-max-bulk-len")
        return l
    }

    // MARK: lifecycle

    /// Binds every configured address and runs the loop until SHUTDOWN or a signal.
    public func run() throws {
        let loopData = Unmanaged.passUnretained(self).toOpaque()
        loop.pointee.data = loopData
        TieringController.configureProcessMemory()
        let referenced: Set<String>
        do { referenced = try loadSnapshot(from: config["dbfilename"]) ?? [] } catch { throw ServerError.load(error.description) }
        removeStaleTieringFiles(keeping: referenced)
        try listen()
        let timer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        uv_timer_init(loop, timer)
        timer.pointee.data = loopData
        let period = UInt64(max(1, 1000 / max(1, config.int("hz"))))
        uv_timer_start(timer, { t in Server.from(t!.pointee.data).cron() }, period, period)
        cronTimer = timer
        let async = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
        uv_async_init(loop, async) { a in Server.from(a!.pointee.data).drainMailbox() }
        async.pointee.data = loopData
        mailbox.attach(async)
        for sig in [SIGINT, SIGTERM] {
            let h = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
            uv_signal_init(loop, h)
            h.pointee.data = loopData
            uv_signal_start(h, { h, signum in
                let server = Server.from(h!.pointee.data)
                server.logger.warning("Received \(signum == SIGINT ? "SIGINT" : "SIGTERM") scheduling shutdown...")
                // As Redis: a signal shuts down like SHUTDOWN without arguments (saving when save points are set).
                _ = server.prepareForShutdown(save: server.hasSavePoints)
            }, sig)
            signalHandles.append(h)
        }
        signal(SIGPIPE, SIG_IGN)
        logger.notice("Ready to accept connections tcp")
        uv_run(loop, UV_RUN_DEFAULT)
        logger.warning("VecShard is now ready to exit, bye bye...")
    }

    static func from(_ data: UnsafeMutableRawPointer?) -> Server {
        Unmanaged<Server>.fromOpaque(data!).takeUnretainedValue()
    }

    public func stop() {
        shutdownRequested = true
        uv_stop(loop)
    }

    private func listen() throws {
        let port = Int32(config.port)
        var bound: [String] = []
        for var address in config.bindAddresses {
            // A leading '-' means "skip this address if it is unavailable" (redis.conf).
            let optional = address.hasPrefix("-")
            if optional { address.removeFirst() }
            let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
            uv_tcp_init(loop, handle)
            handle.pointee.data = loop.pointee.data
            var result: Int32
            if address.contains(":") {
                var addr = sockaddr_in6()
                result = uv_ip6_addr(address, port, &addr)
                if result == 0 {
                    result = withUnsafePointer(to: &addr) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(handle, $0, UInt32(UV_TCP_IPV6ONLY.rawValue)) }
                    }
                }
            } else {
                var addr = sockaddr_in()
                result = uv_ip4_addr(address, port, &addr)
                if result == 0 {
                    result = withUnsafePointer(to: &addr) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(handle, $0, 0) }
                    }
                }
            }
            if result == 0 {
                result = handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { stream in
                    uv_listen(stream, Int32(config.int("tcp-backlog"))) { server, status in
                        guard status == 0, let server else { return }
                        Server.from(server.pointee.data).accept(server)
                    }
                }
            }
            if result != 0 {
                handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0) { $0?.deallocate() } }
                let message = "Could not create server TCP listening socket \(address):\(port): \(String(cString: uv_strerror(result)))"
                if optional { logger.notice(message); continue }
                throw ServerError.listen(message)
            }
            listeners.append(handle)
            bound.append(address)
        }
        if listeners.isEmpty { throw ServerError.listen("Failed listening on port \(port) (tcp), aborting.") }
        logger.notice("Server initialized, listening on \(bound.map { "\($0):\(port)" }.joined(separator: ", "))")
    }

    // MARK: connections

    private func accept(_ listener: UnsafeMutablePointer<uv_stream_t>) {
        let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop, handle)
        let accepted = handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { uv_accept(listener, $0) }
        guard accepted == 0 else {
            handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0) { $0?.deallocate() } }
            return
        }
        uv_tcp_nodelay(handle, 1)
        let keepalive = config.int("tcp-keepalive")
        if keepalive > 0 { uv_tcp_keepalive(handle, 1, UInt32(keepalive)) }
        let peer = Self.address(of: handle, peer: true)
        let local = Self.address(of: handle, peer: false)
        if clients.count >= config.int("maxclients") {
            rejectedConnections += 1
            rejectAndClose(handle, "-ERR max number of clients reached\r\n")
            return
        }
        let requirePass = !config["requirepass"].isEmpty
        if config.bool("protected-mode") && !requirePass && !Self.isLoopback(peer) && config["bind"] == "127.0.0.1 -::1" {
            rejectAndClose(handle, "-DENIED Running in protected mode because protected mode is enabled and no password is set for the default user.\r\n")
            return
        }
        let client = Client(id: nextClientID, handle: handle, address: peer, localAddress: local, now: wallClockMilliseconds(),
                            limits: requestLimits, authenticated: !requirePass)
        nextClientID += 1
        totalConnections += 1
        clients[client.id] = client
        handle.pointee.data = Unmanaged.passRetained(client).toOpaque()
        startReading(client)
    }

    private static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address.hasPrefix("[::1]") || address.hasPrefix("::1")
    }

    /// Writes a one-line refusal synchronously (best effort) and closes.
    private func rejectAndClose(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ text: String) {
        var bytes = Array(text.utf8)
        handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { stream in
            bytes.withUnsafeMutableBytes { raw in
                var buf = uv_buf_init(raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(raw.count))
                _ = uv_try_write(stream, &buf, 1)
            }
        }
        handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0) { $0?.deallocate() } }
    }

    static func address(of handle: UnsafeMutablePointer<uv_tcp_t>, peer: Bool) -> String {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? uv_tcp_getpeername(handle, $0, &length) : uv_tcp_getsockname(handle, $0, &length)
            }
        }
        guard r == 0 else { return "?:0" }
        var name = [CChar](repeating: 0, count: 64)
        var port: UInt16 = 0
        withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                _ = uv_ip_name(sa, &name, 64)
                if sa.pointee.sa_family == sa_family_t(AF_INET6) {
                    sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { port = UInt16(bigEndian: $0.pointee.sin6_port) }
                } else {
                    sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { port = UInt16(bigEndian: $0.pointee.sin_port) }
                }
            }
        }
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return storage.ss_family == sa_family_t(AF_INET6) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    func startReading(_ client: Client) {
        client.readingPaused = false
        client.handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { stream in
            _ = uv_read_start(stream, { handle, suggested, buf in
                let client = Unmanaged<Client>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
                client.reserveReadSpace(16 * 1024)
                buf!.pointee = uv_buf_init((client.readBuffer + client.readEnd).assumingMemoryBound(to: CChar.self),
                                           UInt32(min(client.readCapacity - client.readEnd, Int(UInt32.max))))
            }, { stream, nread, _ in
                let client = Unmanaged<Client>.fromOpaque(stream!.pointee.data).takeUnretainedValue()
                let server = Server.from(stream!.pointee.loop.pointee.data)
                if nread < 0 { server.close(client); return }
                client.readEnd += nread
                server.netInputBytes += nread
                server.processInput(client)
            })
        }
    }

    func pauseReading(_ client: Client) {
        guard !client.readingPaused else { return }
        client.readingPaused = true
        client.handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { _ = uv_read_stop($0) }
    }

    /// Closes a connection; pending writes are cancelled by libuv.
    public func close(_ client: Client) {
        guard !client.isClosing else { return }
        client.isClosing = true
        clients.removeValue(forKey: client.id)
        monitorIDs.remove(client.id)
        unwatchAll(client)
        if client.isDetached { return }
        client.handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { h in
            uv_close(h) { h in
                Unmanaged<Client>.fromOpaque(h!.pointee.data).release()
                h!.deallocate()
            }
        }
    }

    // MARK: requests

    /// Runs every complete request in the read buffer, then writes all replies at once.
    func processInput(_ client: Client) {
        client.lastInteraction = coarseWallClockMilliseconds()
        while client.readStart < client.readEnd && !client.isBlocked && !client.closeAfterReply && !client.isClosing {
            let input = UnsafeMutableRawBufferPointer(start: client.readBuffer + client.readStart, count: client.pendingInput)
            let parsed: ParsedRequest?
            do {
                parsed = try client.parser.parse(input)
            } catch {
                client.reply.error(error.message)
                logger.verbose("Protocol error (\(error.reason)) from client: id=\(client.id) addr=\(client.address)")
                client.closeAfterReply = true
                break
            }
            guard let parsed else { break }
            switch parsed {
            case .empty(let consumed):
                client.readStart += consumed
            case .multibulk(let consumed), .inline(let consumed):
                // Both kinds of request are spans of the read buffer: no copy, no allocation per command.
                client.isExecuting = true
                client.parser.withSpans { spans in
                    execute(client, Arguments(base: input.baseAddress!, spans: spans))
                }
                client.isExecuting = false
                client.readStart += consumed
            }
        }
        if client.pendingInput > queryBufferLimit {
            logger.warning("Closing client that reached max query buffer length: id=\(client.id) addr=\(client.address)")
            client.closeAfterReply = true
        }
        client.shrinkReadBufferIfIdle()
        flush(client)
    }

    /// Sends the accumulated replies: try a direct write, queue the rest, and stop reading while a lot is queued.
    public func flush(_ client: Client) {
        guard !client.isClosing, !client.isDetached else { return }
        let total = client.reply.buffer.count
        if total > 0 {
            netOutputBytes += total
            var written = 0
            if client.pendingWriteBytes == 0 {
                written = client.handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { stream in
                    client.reply.buffer.withUnsafeMutableBytes { raw -> Int in
                        var buf = uv_buf_init(raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(raw.count))
                        let r = uv_try_write(stream, &buf, 1)
                        if r >= 0 { return Int(r) }
                        return r == UV_EAGAIN.rawValue ? 0 : -1
                    }
                }
                if written < 0 { close(client); return }
            }
            if written < total { queueWrite(client, from: written) }
            if client.reply.buffer.capacity > 1 << 20 {
                client.reply.buffer = []
                client.reply.buffer.reserveCapacity(16 * 1024)
            } else {
                client.reply.buffer.removeAll(keepingCapacity: true)
            }
        }
        if client.closeAfterReply && client.pendingWriteBytes == 0 { close(client); return }
        let hardLimit = outputHardLimit
        if hardLimit > 0 && client.pendingWriteBytes > hardLimit {
            logger.warning("Client id=\(client.id) addr=\(client.address) scheduled to be closed ASAP for overcoming of output buffer limits.")
            close(client)
            return
        }
        // Backpressure: a client that does not read its replies stops being read from.
        if client.pendingWriteBytes > 4 << 20 { pauseReading(client) }
    }

    /// The `normal` class hard limit of client-output-buffer-limit (0 = none); parsed by applyConfig, not per write.
    var parsedOutputHardLimit: Int {
        let words = config["client-output-buffer-limit"].split(separator: " ")
        if let i = words.firstIndex(of: "normal"), i + 1 < words.count { return Config.parseMemory(String(words[i + 1])) ?? 0 }
        return 0
    }

    private func queueWrite(_ client: Client, from offset: Int) {
        let remaining = client.reply.buffer.count - offset
        // Block layout: | size: Int | payload bytes |. The write request points at it until libuv calls back.
        let block = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Int>.size + remaining, alignment: 16)
        block.storeBytes(of: remaining, as: Int.self)
        client.reply.buffer.withUnsafeBytes { raw in
            (block + MemoryLayout<Int>.size).copyMemory(from: raw.baseAddress! + offset, byteCount: remaining)
        }
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        request.pointee.data = block
        client.pendingWriteBytes += remaining
        var buf = uv_buf_init((block + MemoryLayout<Int>.size).assumingMemoryBound(to: CChar.self), UInt32(remaining))
        let r = client.handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { stream in
            uv_write(request, stream, &buf, 1) { request, status in
                let block = request!.pointee.data!
                let size = block.load(as: Int.self)
                let stream = request!.pointee.handle!
                block.deallocate()
                request!.deallocate()
                let client = Unmanaged<Client>.fromOpaque(stream.pointee.data).takeUnretainedValue()
                let server = Server.from(stream.pointee.loop.pointee.data)
                client.pendingWriteBytes -= size
                if client.isClosing { return }
                if status < 0 { server.close(client); return }
                if client.pendingWriteBytes == 0 {
                    if client.closeAfterReply { server.close(client); return }
                    if client.readingPaused {
                        server.startReading(client)
                        server.processInput(client)
                    }
                }
            }
        }
        if r != 0 {
            client.pendingWriteBytes -= remaining
            block.deallocate()
            request.deallocate()
            close(client)
        }
    }

    // MARK: worker hand-off

    /// Runs `work` on the loop thread soon (callable from any thread through `mailbox`).
    public func post(_ work: @escaping @Sendable (Server) -> Void) { mailbox.post(work) }

    private func drainMailbox() {
        for item in mailbox.take() { item(self) }
    }

    /// Marks a client as waiting for a worker: its later requests are held back so replies stay in order.
    public func block(_ client: Client) { client.isBlocked = true }

    /// Ends a wait started by `block`: `write` appends the reply, then queued requests run.
    public func unblock(clientID: Int, _ write: (inout ReplyWriter) -> Void) {
        guard let client = clients[clientID] else { return }
        client.isBlocked = false
        write(&client.reply)
        if let pending = client.pendingSlowLog {
            // Logged with its time on the worker: an offloaded FT.SEARCH is slow there, not on the loop.
            client.pendingSlowLog = nil
            logIfSlow(client, arguments: pending.arguments, microseconds: Int((uv_hrtime() - pending.started) / 1000))
        }
        // Unblocked from inside its own command (its result was ready at once, e.g. a shard search run inline): the
        // processInput running that command carries on when it returns. Running it here would execute the same,
        // not yet consumed, request again, recursing until the stack overflows.
        if client.isExecuting { return }
        processInput(client)
    }

    // MARK: cron

    private func cron() {
        cronLoops += 1
        releaseTieringHoldsIfDue()
        if config.bool("active-expire-enabled") { database.activeExpireCycle() }
        if heapRelease.shouldRelease(activity: database.dirty &+ TieredVectorIndex.drainsFinished, now: coarseWallClockMilliseconds(),
                                     isBusy: { TieringController.node.report.busy }) {
            let start = monotonicNanoseconds()
            HeapRelease.releaseFreeHeap()
            logger.verbose("Released free heap after writes went quiet (\((monotonicNanoseconds() - start) / 1000) µs)")
        }
        let idleTimeout = Int64(config.int("timeout")) * 1000
        if idleTimeout > 0 && cronLoops % max(1, config.int("hz")) == 0 {
            let now = wallClockMilliseconds()
            for c in clients.values where !c.isBlocked && now - c.lastInteraction > idleTimeout {
                logger.verbose("Closing idle client")
                close(c)
            }
        }
    }

    // MARK: WATCH

    func watch(_ client: Client, _ key: Bytes) {
        if client.watchedKeys.insert(key).inserted { watchers[key, default: []].insert(client.id) }
    }

    func unwatchAll(_ client: Client) {
        for k in client.watchedKeys {
            watchers[k]?.remove(client.id)
            if watchers[k]?.isEmpty == true { watchers.removeValue(forKey: k) }
        }
        client.watchedKeys.removeAll()
        client.watchDirty = false
    }

    private func touchWatchedKey(_ key: Bytes) {
        guard !watchers.isEmpty, let ids = watchers[key] else { return }
        for id in ids { clients[id]?.watchDirty = true }
    }

    public var connectedClients: Int { clients.count }
    public var allClients: [Client] { clients.values.sorted { $0.id < $1.id } }
    public func client(id: Int) -> Client? { clients[id] }
}

/// Wall-clock milliseconds to within a scheduler tick (CLOCK_REALTIME_COARSE reads the vDSO's copy of the time
/// without touching the TSC). Enough for idle times, which are counted in seconds, and stamped on every read.
@inline(__always)
func coarseWallClockMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME_COARSE, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Worker threads hand results to the loop through this: a locked queue plus a libuv async wake-up.
public final class LoopMailbox: @unchecked Sendable {
    private let items = Mutex<[@Sendable (Server) -> Void]>([])
    // Written once on the loop thread before any worker can post; uv_async_send is thread-safe.
    private var wakeup: UnsafeMutablePointer<uv_async_t>?

    func attach(_ handle: UnsafeMutablePointer<uv_async_t>) { wakeup = handle }

    public func post(_ work: @escaping @Sendable (Server) -> Void) {
        items.withLock { $0.append(work) }
        if let wakeup { uv_async_send(wakeup) }
    }

    func take() -> [@Sendable (Server) -> Void] {
        items.withLock { items in
            let taken = items
            items.removeAll()
            return taken
        }
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case listen(String)
    /// The snapshot in `dir` could not be loaded: the node refuses to start, as Redis does on a bad RDB.
    case load(String)
    public var description: String {
        switch self { case .listen(let m), .load(let m): return m }
    }
}
