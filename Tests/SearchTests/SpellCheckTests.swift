// FT.SPELLCHECK's rules on a small index, against the replies Redis Stack 7.4.1 / RediSearch 2.10.5 gave for it.
import Testing
@testable import Search
import Keyspace

private func sampleIndex() throws -> SearchIndex {
    let def = try CreateParser.parse(["idx", "SCHEMA", "t", "TEXT", "tg", "TAG", "n", "NUMERIC"])
    let index = try SearchIndex(definition: def)
    let docs = ["hello world", "help me", "hallo welt", "held", "yellow fellow", "hello hello helping"]
    for (i, text) in docs.enumerated() {
        var h = HashValue()
        h.set(Bytes("t"), Bytes(text))
        if i == 5 { h.set(Bytes("tg"), Bytes("foo")) }
        index.index(key: Bytes("d\(i + 1)"), hash: h)
    }
    return index
}

private func check(_ index: SearchIndex, _ query: String, distance: Int = 1, include: [SpellDictionary] = [],
                   exclude: [SpellDictionary] = [], full: Bool = false) throws -> [String] {
    let request = SpellCheckRequest(query: Array(query.utf8), dialect: 2, distance: distance, include: include,
                                    exclude: exclude, fullScoreInfo: full)
    return try index.spellCheck(request).results.map { r in
        switch r.outcome {
        case .exists: return "\(r.term): exists"
        case .suggestions(let list):
            return "\(r.term): " + list.map { "\(String(decoding: $0.string, as: UTF8.self)) \($0.score)" }.joined(separator: ", ")
        }
    }
}

@Suite("SpellCheck")
struct SpellCheckTests {
    @Test("candidates within the distance, scored by document share, ties in RediSearch's trie order")
    func suggestionsAndOrder() throws {
        let index = try sampleIndex()
        #expect(try check(index, "helo") == ["helo: hello 0.3333333333333333, held 0.16666666666666666, help 0.16666666666666666"])
        #expect(try check(index, "helo", distance: 2) == [
            "helo: hello 0.3333333333333333, held 0.16666666666666666, help 0.16666666666666666, "
                + "hallo 0.16666666666666666, +help 0.16666666666666666, welt 0.16666666666666666"])
        // Known words report nothing; repeats and stopwords are checked each time they appear.
        #expect(try check(index, "hello") == [])
        #expect(try check(index, "helo the helo").count == 3)
        #expect(try check(index, "hello helo", full: true).first == "hello: exists")
        #expect(try check(index, "helo", full: true) == ["helo: hello 2.0, held 1.0, help 1.0"])
    }

    @Test("dictionaries: INCLUDE adds their words (0 when the index lacks them), EXCLUDE skips a word, folded")
    func dictionaries() throws {
        let index = try sampleIndex()
        var names = SpellDictionary()
        for w in ["Helo", "hxlo", "héllo"] { _ = names.add(Array(w.utf8)) }
        #expect(names.strings.map { String(decoding: $0, as: UTF8.self) } == ["Helo", "hxlo", "héllo"])
        #expect(try check(index, "hlo", include: [names]) == ["hlo: Helo 0.0, hxlo 0.0"])
        #expect(try check(index, "helo", exclude: [names]) == [])
    }

    @Test("a query word is folded whole (the tokenizer lowercases ASCII only): Á finds á")
    func foldsTheWordWhole() throws {
        let def = try CreateParser.parse(["fz", "SCHEMA", "t", "TEXT", "NOSTEM"])
        let index = try SearchIndex(definition: def)
        for (i, text) in ["áo", "ábo"].enumerated() {
            var h = HashValue()
            h.set(Bytes("t"), Bytes(text))
            index.index(key: Bytes("a\(i)"), hash: h)
        }
        let expanded = index.lock.withReadLock { index.textExpansions(.fuzzy("Áo", distance: 1), PrefixExpansion(minimumLength: 2, maximumTerms: 200)) }
        #expect(Set(expanded) == ["áo", "ábo"])
        #expect(try check(index, "ÁBX") == ["Ábx: ábo 0.5"])
    }
}
