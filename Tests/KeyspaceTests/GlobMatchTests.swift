// Glob matching with Redis's stringmatchlen rules: *, ?, [sets], [^negation], ranges, escapes, nocase.
import Testing
@testable import Keyspace

@Suite("GlobMatch")
struct GlobMatchTests {
    @Test("matches", arguments: [
        ("*", ""), ("*", "anything"), ("h?llo", "hello"), ("h*llo", "hllo"), ("h*llo", "heeeello"),
        ("h[ae]llo", "hallo"), ("h[^e]llo", "hallo"), ("h[a-b]llo", "hbllo"), ("h[b-a]llo", "hallo"),
        ("h\\*llo", "h*llo"), ("[\\]]", "]"), ("a*b*c", "axxbyyc"), ("**a", "a"), ("user:*", "user:1"),
        ("*foo*", "xfoox"), ("[abc", "a"), ("*a*b", "aab"), ("*ab*c", "aabxc"), ("a*a*a", "aaa"),
    ])
    func matches(pattern: String, string: String) {
        #expect(GlobMatch.matches(pattern: pattern, string))
    }

    @Test("does not match", arguments: [
        ("h?llo", "hllo"), ("h[ae]llo", "hillo"), ("h[^e]llo", "hello"), ("h[a-b]llo", "hcllo"),
        ("h\\*llo", "hello"), ("abc", "abcd"), ("abc", "ab"), ("?", ""), ("a*b", "acd"), ("user:*", "users"),
        ("[a]", ""),
    ])
    func doesNotMatch(pattern: String, string: String) {
        #expect(!GlobMatch.matches(pattern: pattern, string))
    }

    @Test("case-insensitive mode folds ASCII letters and ranges")
    func noCase() {
        #expect(GlobMatch.matches(pattern: "HeLLo*", "hello world", caseInsensitive: true))
        #expect(GlobMatch.matches(pattern: "[A-C]x", "bx", caseInsensitive: true))
        #expect(!GlobMatch.matches(pattern: "HeLLo*", "hello world"))
    }

    @Test("binary strings and hostile patterns")
    func binaryAndHostile() {
        #expect(GlobMatch.matches(pattern: [UInt8(ascii: "*"), 0], [1, 2, 0]))
        let hostile = String(repeating: "*a", count: 40) + "b"
        #expect(!GlobMatch.matches(pattern: hostile, String(repeating: "a", count: 60)))
    }
}
