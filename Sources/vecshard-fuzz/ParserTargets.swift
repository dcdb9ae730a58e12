// Fuzz targets for the two wire parsers alone: fast, and checked against themselves rather than only for traps.
import RESP

enum ParserTargets {
    /// Every request of `stream`, parsed with the bytes arriving in reads that end at `cuts` (then the rest):
    /// the argument lists in order, then the protocol error if one stops the stream.
    static func requests(_ stream: [UInt8], cuts: [Int]) -> (requests: [[[UInt8]]], error: String?) {
        var parser = RequestParser()
        var buffer: [UInt8] = []
        var start = 0
        var out: [[[UInt8]]] = []
        for end in cuts.filter({ $0 <= stream.count }) + [stream.count] where end >= buffer.count {
            buffer += stream[buffer.count..<end]
            while start < buffer.count {
                let outcome: ParsedRequest?
                do {
                    outcome = try buffer.withUnsafeMutableBytes { raw throws(ProtocolError) in
                        try parser.parse(UnsafeMutableRawBufferPointer(rebasing: raw[start...]))
                    }
                } catch let error as ProtocolError { return (out, error.reason) } catch { return (out, "\(error)") }
                guard let outcome else { break }
                switch outcome {
                case .empty(let consumed): start += consumed
                case .multibulk(let consumed), .inline(let consumed):
                    out.append(buffer.withUnsafeBytes { raw in
                        parser.spans.map { Array(raw[(start + $0.offset)..<(start + $0.offset + $0.count)]) }
                    })
                    precondition(consumed > 0 && start + consumed <= buffer.count, "consumed \(consumed) past the buffer")
                    start += consumed
                }
            }
        }
        return (out, nil)
    }

    /// The first two bytes choose where the reads end; the stream must parse the same however it is split.
    static func requestSplits(_ input: [UInt8]) {
        guard input.count > 2 else { return }
        let stream = Array(input[2...])
        let whole = requests(stream, cuts: [])
        let first = Int(input[0]) * stream.count / 256, second = first + Int(input[1]) * (stream.count - first) / 256
        let split = requests(stream, cuts: [first, second])
        precondition(whole.requests == split.requests && whole.error == split.error,
                     "split at \(first),\(second) parsed differently: \(whole) vs \(split)")
        let bytewise = requests(stream, cuts: Array(0..<min(stream.count, 64)))
        precondition(whole.requests == bytewise.requests && whole.error == bytewise.error, "byte-at-a-time parse differs")
    }

    /// Reply parsing (what a node reads from its peers): never a trap, never past the buffer, and a complete reply
    /// stays complete when more bytes follow it.
    static func replies(_ input: [UInt8]) {
        var parser = ReplyParser()
        var start = 0
        while start < input.count {
            guard let (value, used) = try? parser.parse(input, from: start) else { return }
            precondition(used > 0 && start + used <= input.count, "reply used \(used) bytes past the buffer")
            var again = ReplyParser()
            let extended = Array(input[start..<(start + used)]) + [42, 13, 10]
            guard let (same, usedAgain) = try? again.parse(extended, from: 0) else {
                preconditionFailure("a complete reply failed to parse with bytes after it")
            }
            precondition(same == value && usedAgain == used, "a reply parsed differently with bytes after it")
            start += used
        }
    }
}
