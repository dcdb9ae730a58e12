// FT.SUGADD / FT.SUGGET / FT.SUGDEL / FT.SUGLEN: RediSearch's autocomplete dictionaries, kept as keys of their own type.
import Glibc
import Keyspace
import Search

extension Server {
    func suggestionCommands() -> [CommandSpec] {
        // Real keys (argument 1), so cluster routing and COMMAND GETKEYS treat them as any keyed command.
        func sug(_ name: String, flags: String, _ handler: @escaping CommandHandler) -> CommandSpec {
            CommandSpec(name, arity: -1, flags: flags.split(separator: " ").map(String.init) + ["module"],
                        categories: ["search"], keys: .single, keySpecFlags: [], group: "module", since: "1.0.0",
                        summary: "RediSearch command", handler: handler)
        }
        return [
            sug("FT.SUGADD", flags: "write denyoom") { ctx throws(CommandError) in try ctx.suggestionAdd() },
            sug("FT.SUGGET", flags: "readonly") { ctx throws(CommandError) in try ctx.suggestionGet() },
            sug("FT.SUGDEL", flags: "write") { ctx throws(CommandError) in
                guard ctx.args.count == 3 else { throw .wrongArity("FT.SUGDEL") }
                let string = Array(ctx.args[2])
                var deleted = false
                try ctx.server.database.modifySuggestions(ctx.args.bytes(1), create: false) { trie in
                    deleted = trie.delete(string)
                    return deleted
                }
                ctx.client.reply.integer(deleted ? 1 : 0)
            },
            sug("FT.SUGLEN", flags: "readonly") { ctx throws(CommandError) in
                guard ctx.args.count == 2 else { throw .wrongArity("FT.SUGLEN") }
                switch ctx.server.database.get(ctx.args.bytes(1)) {
                case nil: ctx.client.reply.integer(0)
                case .suggestions(let trie)?: ctx.client.reply.integer(trie.count)
                default: throw .wrongType
                }
            },
        ]
    }
}

extension CommandContext {
    /// `FT.SUGADD key string score [INCR] [PAYLOAD p]`: options first, then the key's type, then the score, in
    /// suggest.c's order (each decides which error comes first). The key is created even when nothing is added.
    func suggestionAdd() throws(CommandError) {
        guard args.count >= 4 && args.count <= 7 else { throw .wrongArity("FT.SUGADD") }
        var increment = false
        var payload: [UInt8]?
        var i = 4
        while i < args.count {
            if args.is(i, "INCR") {
                increment = true
            } else if args.is(i, "PAYLOAD") {
                guard i + 1 < args.count else { throw CommandError("Invalid payload: Expected an argument, but none provided") }
                payload = Array(args[i + 1])
                i += 1
            } else {
                throw CommandError("Unknown argument `\(args.string(i))`")
            }
            i += 1
        }
        let key = args.bytes(1)
        switch server.database.peek(key) {
        case nil, .suggestions?: break
        default: throw .wrongType
        }
        guard let score = Self.moduleDouble(Array(args[3])) else { throw CommandError("ERR invalid score") }
        let string = Array(args[2])
        var size = 0
        try server.database.modifySuggestions(key, create: true) { trie in
            trie.add(string, score: Float(score), increment: increment, payload: payload)
            size = trie.count
            return true
        }
        client.reply.integer(size)
    }

    /// `FT.SUGGET key prefix [FUZZY] [MAX n] [WITHSCORES] [WITHPAYLOADS] [TRIM] [OPTIMIZE]`; a missing key answers nil.
    func suggestionGet() throws(CommandError) {
        guard args.count >= 3 && args.count <= 10 else { throw .wrongArity("FT.SUGGET") }
        let prefix = Array(args[2])
        guard prefix.count < SuggestionTrie.maxPrefixBytes else { throw CommandError("Invalid query length") }
        var fuzzy = false, withScores = false, withPayloads = false, trim = false
        var limit = 5
        var i = 3
        while i < args.count {
            if args.is(i, "FUZZY") { fuzzy = true }
            else if args.is(i, "WITHSCORES") { withScores = true }
            else if args.is(i, "WITHPAYLOADS") { withPayloads = true }
            else if args.is(i, "TRIM") { trim = true }
            else if args.is(i, "OPTIMIZE") {}  // parsed and unused by RediSearch 2.10 as well
            else if args.is(i, "MAX") {
                guard i + 1 < args.count else { throw CommandError("MAX: Expected an argument, but none provided") }
                limit = try Self.coalescedPositive(Array(args[i + 1]), option: "MAX")
                i += 1
            } else {
                throw CommandError("Unrecognized argument: \(args.string(i))")
            }
            i += 1
        }
        let trie: SuggestionTrie
        switch server.database.get(args.bytes(1)) {
        case nil: client.reply.null(); return
        case .suggestions(let t)?: trie = t
        default: throw .wrongType
        }
        guard let found = trie.suggestions(prefix: prefix, limit: limit, maxDistance: fuzzy ? 1 : 0, trim: trim) else {
            throw CommandError("Invalid query")
        }
        client.reply.array(found.count * (1 + (withScores ? 1 : 0) + (withPayloads ? 1 : 0)))
        for s in found {
            client.reply.bulk(s.string)
            if withScores { client.reply.double(Double(s.score)) }
            if withPayloads {
                if let p = s.payload { client.reply.bulk(p) } else { client.reply.null() }
            }
        }
    }

    /// RedisModule_StringToDouble: strtod over the whole argument, no leading space, no NaN, no overflow or underflow
    /// to zero (`0x10` and `inf` pass).
    static func moduleDouble(_ bytes: [UInt8]) -> Double? {
        guard let first = bytes.first, !Self.isCSpace(first) else { return nil }
        guard let (value, error) = NumberParsing.wholeStrtod(bytes), !value.isNaN else { return nil }
        if error == ERANGE && (value.isInfinite || value == 0) { return nil }
        return value
    }

    /// C's isspace in the C locale.
    static func isCSpace(_ byte: UInt8) -> Bool { byte == 32 || (9...13).contains(byte) }

    /// rmutil's AC_GetUnsigned with AC_F_COALESCE | AC_F_GE1: an integer in 1 ... 2^32 - 1, else a double of at least
    /// 1 cut toward zero (a double below 1 fails to convert, as AC_GetDouble applies the bound itself).
    static func coalescedPositive(_ bytes: [UInt8], option: String) throws(CommandError) -> Int {
        let outside = CommandError("\(option): Value is outside acceptable bounds")
        let unconvertible = CommandError("\(option): Could not convert argument to expected type")
        let n: Int64
        if let i = Int64(String(decoding: bytes, as: UTF8.self)), String(i) == String(decoding: bytes, as: UTF8.self) {
            n = i
        } else {
            // RedisModule_StringToDouble refuses leading white space, which strtod alone would skip.
            guard let first = bytes.first, !Self.isCSpace(first),
                  let (d, _) = NumberParsing.wholeStrtod(bytes), !d.isNaN, d >= 1 else { throw unconvertible }
            guard d < 9.2e18 else { throw outside }
            n = Int64(d)
        }
        guard n >= 1, n <= Int64(UInt32.max) else { throw outside }
        return Int(n)
    }
}

extension Database {
    /// Runs `body` on the dictionary at `key` in place (created empty when missing and `create`); WRONGTYPE for
    /// another type; a missing key with `create` false is left alone. `body` returns whether it changed the trie
    /// (a change, or a new key, is one `.written` event).
    func modifySuggestions(_ key: Bytes, create: Bool, _ body: (inout SuggestionTrie) -> Bool) throws(CommandError) {
        var wrongType = false
        modify(key) { entry -> (result: Void, wrote: Bool) in
            var trie: SuggestionTrie
            var created = false
            switch entry {
            case nil:
                guard create else { return ((), false) }
                trie = SuggestionTrie()
                created = true
            case .suggestions(let t)?:
                trie = t
                entry = nil  // the trie's storage is now uniquely held, so `body` mutates it in place
            default:
                wrongType = true
                return ((), false)
            }
            let changed = body(&trie)
            entry = .suggestions(trie)
            return ((), changed || created)
        }
        if wrongType { throw .wrongType }
    }
}
