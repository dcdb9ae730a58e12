// Replies straight from keyspace values, without copying them into an intermediate array.
import RESP
import Keyspace

extension ReplyWriter {
    /// A bulk string with the bytes of `value`.
    public mutating func bulk(_ value: Bytes) {
        value.withUnsafeBytes { bulk($0) }
    }
}
