// FT.SPELLCHECK, FT.DICTADD, FT.DICTDEL, FT.DICTDUMP: argument handling and replies as RediSearch 2.10 shapes them.
import Keyspace
import Search

extension Server {
    func spellCheckCommands() -> [CommandSpec] {
        func ft(_ name: String, keys: KeyPositions, _ handler: @escaping CommandHandler) -> CommandSpec {
            // RediSearch registers all four `readonly` (the dictionary writers too); only FT.SPELLCHECK names a "key"
            // (the index), which is not a key of the keyspace.
            CommandSpec(name, arity: -1, flags: ["readonly", "module"], categories: ["search"], keys: keys,
                        keySpecFlags: [], group: "module", since: "1.4.0", summary: "RediSearch command",
                        routesByKeys: false, handler: handler)
        }
        return [
            ft("FT.DICTADD", keys: .none) { ctx throws(CommandError) in
                try ctx.editDictionary("FT.DICTADD") { dictionary, term in dictionary.add(term) }
            },
            ft("FT.DICTDEL", keys: .none) { ctx throws(CommandError) in
                // RediSearch opens the dictionary with create: deleting from a missing one makes an empty one.
                try ctx.editDictionary("FT.DICTDEL") { dictionary, term in dictionary.delete(term) }
            },
            ft("FT.DICTDUMP", keys: .none) { ctx throws(CommandError) in
                guard ctx.args.count == 2 else { throw .wrongArity("FT.DICTDUMP") }
                guard let dictionary = ctx.server.search.dictionaries[Self.dictionaryName(ctx.args, 1)] else {
                    throw CommandError("could not open dict key")
                }
                let strings = dictionary.strings
                ctx.client.reply.set(strings.count)
                for s in strings { ctx.client.reply.bulk(s) }
            },
            ft("FT.SPELLCHECK", keys: .single) { ctx throws(CommandError) in try ctx.spellCheck() },
        ]
    }

    /// A dictionary's name is a C string in RediSearch: it ends at the first NUL.
    static func dictionaryName(_ args: Arguments, _ i: Int) -> String {
        let raw = Array(args[i])
        return String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
}

extension CommandContext {
    /// FT.DICTADD / FT.DICTDEL: applies `change` to each term of the dictionary named by argument 1 (created when
    /// missing) and replies how many terms it changed.
    func editDictionary(_ name: String, _ change: (inout SpellDictionary, [UInt8]) -> Bool) throws(CommandError) {
        guard args.count >= 3 else { throw .wrongArity(name) }
        let dictionaryName = Server.dictionaryName(args, 1)
        var dictionary = server.search.dictionaries[dictionaryName] ?? SpellDictionary()
        var changed = 0
        for i in 2..<args.count where change(&dictionary, Array(args[i])) { changed += 1 }
        server.search.dictionaries[dictionaryName] = dictionary
        client.reply.integer(changed)
    }

    /// RMUtil_ArgExists: the first argument from `offset` on equal to `word` (any case), 0 when none.
    private func argumentIndex(_ word: StaticString, from offset: Int) -> Int {
        var i = offset
        while i < args.count {
            if args.is(i, word) { return i }
            i += 1
        }
        return 0
    }

    /// `FT.SPELLCHECK idx query [DISTANCE d] [TERMS INCLUDE|EXCLUDE dict]... [DIALECT n] [FULLSCOREINFO]`. Options are
    /// found anywhere, in SpellCheckCommand's order of checks (the query word itself can be taken for one).
    func spellCheck() throws(CommandError) {
        guard args.count >= 3 else { throw .wrongArity("FT.SPELLCHECK") }
        var dialect = server.search.config.defaultDialect
        let dialectAt = argumentIndex("DIALECT", from: 3)
        if dialectAt > 0 {
            guard dialectAt + 1 < args.count, let d = Bytes.parseInteger(args[dialectAt + 1]) else {
                throw CommandError("Need an argument for DIALECT")
            }
            guard d >= 1 && d <= 4 else { throw CommandError("DIALECT requires a non negative integer >=1 and <= 4") }
            dialect = d
        }
        guard let index = server.search.index(named: args.string(1)) else { throw CommandError("Unknown Index name") }
        do throws(QueryError) { _ = try index.parseQuery(Array(args[2]), params: [:], dialect: dialect) } catch {
            throw CommandError(error.message)
        }
        var distance = 1
        let distanceAt = argumentIndex("DISTANCE", from: 0)
        if distanceAt > 0 {
            guard distanceAt + 1 < args.count else { throw CommandError("DISTANCE arg is given but no DISTANCE comes after") }
            guard let d = Bytes.parseInteger(args[distanceAt + 1]), d >= 1, d <= 4 else {
                throw CommandError("bad distance given, distance must be a natural number between 1 to 4")
            }
            distance = d
        }
        var includeNames: [String] = [], excludeNames: [String] = []
        var termsAt = argumentIndex("TERMS", from: 1)
        while termsAt > 0 {
            guard termsAt + 2 < args.count else { throw CommandError("TERM arg is given but no TERM params comes after") }
            let name = Server.dictionaryName(args, termsAt + 2)
            if args.is(termsAt + 1, "INCLUDE") { includeNames.append(name) }
            else if args.is(termsAt + 1, "EXCLUDE") { excludeNames.append(name) }
            else { throw CommandError("bad format, exlude/include operation was not given") }
            termsAt = argumentIndex("TERMS", from: termsAt + 1)
        }
        let fullScoreInfo = argumentIndex("FULLSCOREINFO", from: 0) > 0
        func dictionaries(_ names: [String]) throws(CommandError) -> [SpellDictionary] {
            var out: [SpellDictionary] = []
            for name in names {
                guard let d = server.search.dictionaries[name] else { throw CommandError("Dict does not exist: \(name)") }
                out.append(d)
            }
            return out
        }
        let include = try dictionaries(includeNames), exclude = try dictionaries(excludeNames)
        let request = SpellCheckRequest(query: Array(args[2]), dialect: dialect, distance: distance, include: include,
                                        exclude: exclude, fullScoreInfo: fullScoreInfo)
        let outcome: (results: [SpellCheckResult], documents: Int)
        do throws(QueryError) { outcome = try index.spellCheck(request) } catch { throw CommandError(error.message) }
        writeSpellCheck(outcome.results, documents: outcome.documents, fullScoreInfo: fullScoreInfo)
    }

    private func writeSpellCheck(_ results: [SpellCheckResult], documents: Int, fullScoreInfo: Bool) {
        if client.protocolVersion >= 3 {
            client.reply.map(fullScoreInfo ? 2 : 1)
            if fullScoreInfo { client.reply.simpleString("total_docs"); client.reply.integer(documents) }
            client.reply.simpleString("results")
            // Repeated words repeat their key, as RediSearch writes them.
            client.reply.map(results.count)
            for r in results {
                client.reply.bulk(r.term)
                switch r.outcome {
                case .exists:
                    client.reply.error("term exists in index")
                case .suggestions(let list):
                    client.reply.array(list.count)
                    for s in list {
                        client.reply.map(1)
                        client.reply.bulk(s.string)
                        client.reply.double(s.score)
                    }
                }
            }
            return
        }
        client.reply.array(results.count + (fullScoreInfo ? 1 : 0))
        if fullScoreInfo { client.reply.integer(documents) }
        for r in results {
            client.reply.array(3)
            client.reply.simpleString("TERM")
            client.reply.bulk(r.term)
            switch r.outcome {
            case .exists:
                client.reply.simpleString("term exists in index")
            case .suggestions(let list):
                client.reply.array(list.count)
                for s in list {
                    client.reply.array(2)
                    client.reply.double(s.score)
                    client.reply.bulk(s.string)
                }
            }
        }
    }
}
