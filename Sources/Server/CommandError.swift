// Command errors with Redis's exact wording; the dispatcher turns a thrown one into a `-` reply.
import Keyspace

/// An error reply. `message` is the whole reply text after `-`, starting with its code (ERR, WRONGTYPE, ...).
public struct CommandError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }

    /// The error code: the first word (`ERR`, `WRONGTYPE`), used by INFO errorstats.
    public var code: String { String(message.prefix { $0 != " " }) }

    public static let syntax = CommandError("ERR syntax error")
    public static let notInteger = CommandError("ERR value is not an integer or out of range")
    public static let notFloat = CommandError("ERR value is not a valid float")
    public static let wrongType = CommandError(WrongTypeError.message)
    public static let noSuchKey = CommandError("ERR no such key")
    public static let noAuth = CommandError("NOAUTH Authentication required.")
    public static let overflow = CommandError("ERR increment or decrement would overflow")
    public static let invalidExpire = CommandError("ERR invalid expire time in 'set' command")

    public static func wrongArity(_ name: String) -> CommandError {
        CommandError("ERR wrong number of arguments for '\(name)' command")
    }

    public static func invalidExpireTime(_ name: String) -> CommandError {
        CommandError("ERR invalid expire time in '\(name)' command")
    }

    public static func unknownSubcommand(_ sub: String, _ command: String) -> CommandError {
        CommandError("ERR unknown subcommand '\(sub)'. Try \(command.uppercased()) HELP.")
    }
}
