// One client connection: its socket handle, read buffer, parser, reply buffer and session state.
import CLibUV
import RESP
import Keyspace

public final class Client {
    public let id: Int
    let handle: UnsafeMutablePointer<uv_tcp_t>
    public let address: String
    public let localAddress: String
    public let createdAt: Int64

    // Read buffer: bytes [readStart, readEnd) are received but not yet executed.
    var readBuffer: UnsafeMutableRawPointer
    var readCapacity: Int
    var readStart = 0
    var readEnd = 0
    var parser: RequestParser

    /// Replies accumulate here and leave in one write after every complete request of a read has run.
    public var reply: ReplyWriter
    var pendingWriteBytes = 0
    var readingPaused = false

    public var name: String?
    public var libraryName: String?
    public var libraryVersion: String?
    public var authenticated: Bool
    public var user = "default"
    public var lastInteraction: Int64
    public var lastCommand = "NULL"
    public var noEvict = false
    public var readOnly = false
    public var asking = false

    /// MULTI state: queued commands as owned argv copies; `multiError` after a queue-time error.
    var transaction: [[Bytes]]?
    var multiError = false
    /// WATCHed keys, and whether one of them changed since.
    var watchedKeys: Set<Bytes> = []
    var watchDirty = false

    /// Set while a command waits for a worker thread: later requests wait so replies stay in order.
    public internal(set) var isBlocked = false
    /// The waiting command's logged arguments and start (uv_hrtime), for the slow log when it ends.
    var pendingSlowLog: (arguments: [[UInt8]], started: UInt64)?
    /// In MONITOR mode: every command the server runs is copied here.
    var isMonitor = false
    /// Set while EXEC runs the queued commands: each must reply before the next runs (EXEC's array, MULTI's
    /// isolation), so none may wait on a worker, a timer or another node. Redis's deny-blocking clients.
    public internal(set) var denyBlocking = false
    /// Set while processInput runs one of this client's requests (see Server.unblock).
    var isExecuting = false
    public internal(set) var closeAfterReply = false
    var isClosing = false
    /// In-process client without a socket (tests, internal calls): never written to or closed through libuv.
    var isDetached = false

    init(id: Int, handle: UnsafeMutablePointer<uv_tcp_t>, address: String, localAddress: String, now: Int64,
         limits: RequestLimits, authenticated: Bool) {
        self.id = id
        self.handle = handle
        self.address = address
        self.localAddress = localAddress
        self.createdAt = now
        self.lastInteraction = now
        self.parser = RequestParser(limits: limits)
        self.reply = ReplyWriter(protocolVersion: 2)
        self.authenticated = authenticated
        readCapacity = 16 * 1024
        readBuffer = UnsafeMutableRawPointer.allocate(byteCount: readCapacity, alignment: 16)
    }

    deinit { readBuffer.deallocate() }

    public var protocolVersion: Int {
        get { reply.protocolVersion }
        set { reply.protocolVersion = newValue }
    }

    /// Bytes received but not yet executed (the query buffer Redis limits).
    var pendingInput: Int { readEnd - readStart }

    /// Makes at least `minimum` free bytes after `readEnd`, compacting first and growing if needed.
    func reserveReadSpace(_ minimum: Int) {
        if readStart > 0 && (readCapacity - readEnd < minimum) {
            let live = readEnd - readStart
            if live > 0 { readBuffer.copyMemory(from: readBuffer + readStart, byteCount: live) }
            readStart = 0
            readEnd = live
        }
        if readCapacity - readEnd < minimum {
            var newCapacity = readCapacity
            while newCapacity - readEnd < minimum { newCapacity *= 2 }
            let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            grown.copyMemory(from: readBuffer, byteCount: readEnd)
            readBuffer.deallocate()
            readBuffer = grown
            readCapacity = newCapacity
        }
    }

    /// Gives back memory after a large request has been consumed.
    func shrinkReadBufferIfIdle() {
        if readStart == readEnd {
            readStart = 0; readEnd = 0
            if readCapacity > 1 << 20 {
                readBuffer.deallocate()
                readCapacity = 16 * 1024
                readBuffer = UnsafeMutableRawPointer.allocate(byteCount: readCapacity, alignment: 16)
            }
        }
    }

    /// CLIENT LIST / CLIENT INFO line.
    func infoLine(now: Int64) -> String {
        let age = (now - createdAt) / 1000
        let idle = (now - lastInteraction) / 1000
        var flags = ""
        if transaction != nil { flags += "x" }
        if readOnly { flags += "r" }
        if isBlocked { flags += "b" }
        if isMonitor { flags += "O" }
        if flags.isEmpty { flags = "N" }
        return "id=\(id) addr=\(address) laddr=\(localAddress) fd=-1 name=\(name ?? "") age=\(age) idle=\(idle) flags=\(flags) db=0 sub=0 psub=0 ssub=0 multi=\(transaction.map { $0.count } ?? -1) watch=\(watchedKeys.count) qbuf=\(pendingInput) qbuf-free=\(readCapacity - readEnd) argv-mem=0 multi-mem=0 rbs=\(readCapacity) rbp=\(readCapacity) obl=\(reply.buffer.count) oll=0 omem=\(pendingWriteBytes) tot-mem=\(readCapacity + reply.buffer.capacity + pendingWriteBytes) events=r cmd=\(lastCommand) user=\(user) redir=-1 resp=\(protocolVersion) lib-name=\(libraryName ?? "") lib-ver=\(libraryVersion ?? "")"
    }
}
