// Logging to stdout in Redis's format: "pid:role dd Mon yyyy hh:mm:ss.mmm <level> message".
#if canImport(Glibc)
import Glibc
#endif

public enum LogLevel: Int, Sendable, Comparable {
    case debug = 0, verbose, notice, warning, nothing
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
    init(name: String) {
        switch name {
        case "debug": self = .debug
        case "verbose": self = .verbose
        case "warning": self = .warning
        case "nothing": self = .nothing
        default: self = .notice
        }
    }
    /// Redis's level marks: . - * #
    var mark: String { [".", "-", "*", "#", " "][rawValue] }
}

/// Writes log lines with write(2): stdout is not concurrency-safe in Swift 6, and lines must not interleave.
public struct Logger: Sendable {
    public var level: LogLevel
    /// Role character: M (master), S (replica), C (child), X (sentinel).
    public var role: Character = "M"
    public var fd: Int32 = 1

    public init(level: LogLevel = .notice) { self.level = level }

    public func log(_ l: LogLevel, _ message: @autoclosure () -> String) {
        guard l >= level, l != .nothing else { return }
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var tmv = tm()
        localtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, 64, "%d %b %Y %H:%M:%S", &tmv)
        let stamp = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let ms = Int(tv.tv_usec / 1000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        let line = "\(getpid()):\(role) \(stamp).\(msText) \(l.mark) \(message())\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }

    public func debug(_ m: @autoclosure () -> String) { log(.debug, m()) }
    public func verbose(_ m: @autoclosure () -> String) { log(.verbose, m()) }
    public func notice(_ m: @autoclosure () -> String) { log(.notice, m()) }
    public func warning(_ m: @autoclosure () -> String) { log(.warning, m()) }
}
