// Glob-style pattern matching with Redis's stringmatchlen rules (KEYS, SCAN MATCH, HSCAN MATCH, CONFIG GET).

public enum GlobMatch {
    public static func matches(pattern: [UInt8], _ string: [UInt8], caseInsensitive: Bool = false) -> Bool {
        var skipLongerMatches = false
        return match(pattern[...], string[...], caseInsensitive, depth: 0, &skipLongerMatches)
    }

    public static func matches(pattern: String, _ string: String, caseInsensitive: Bool = false) -> Bool {
        matches(pattern: Array(pattern.utf8), Array(string.utf8), caseInsensitive: caseInsensitive)
    }

    private static func lower(_ c: UInt8) -> UInt8 { (c >= 65 && c <= 90) ? c + 32 : c }

    /// `skipLongerMatches` is Redis's pruning: once the pattern after a `*` matched nowhere in the rest of the string,
    /// no earlier `*` can help by consuming more, so every pending `*` gives up (this keeps `*a*a*a…b` linear-ish
    /// instead of exponential).
    private static func match(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>, _ nocase: Bool, depth: Int,
                              _ skipLongerMatches: inout Bool) -> Bool {
        // Redis caps recursion to keep hostile patterns from blowing the stack.
        if depth > 1000 { return false }
        var pi = p.startIndex, si = s.startIndex
        while pi < p.endIndex && si <= s.endIndex {
            let pc = p[pi]
            switch pc {
            case UInt8(ascii: "*"):
                while pi + 1 < p.endIndex && p[pi + 1] == UInt8(ascii: "*") { pi += 1 }
                if pi + 1 == p.endIndex { return true }
                var k = si
                while k <= s.endIndex {
                    if match(p[(pi + 1)...], s[k...], nocase, depth: depth + 1, &skipLongerMatches) { return true }
                    if skipLongerMatches { return false }
                    k += 1
                }
                skipLongerMatches = true
                return false
            case UInt8(ascii: "?"):
                if si >= s.endIndex { return false }
                si += 1
            case UInt8(ascii: "["):
                if si >= s.endIndex { return false }
                pi += 1
                let negate = pi < p.endIndex && p[pi] == UInt8(ascii: "^")
                if negate { pi += 1 }
                var matched = false
                while pi < p.endIndex && p[pi] != UInt8(ascii: "]") {
                    if p[pi] == UInt8(ascii: "\\") && pi + 1 < p.endIndex {
                        pi += 1
                        if p[pi] == s[si] { matched = true }
                    } else if pi + 2 < p.endIndex && p[pi + 1] == UInt8(ascii: "-") {
                        var lo = p[pi], hi = p[pi + 2]
                        var c = s[si]
                        if lo > hi { swap(&lo, &hi) }
                        if nocase { lo = lower(lo); hi = lower(hi); c = lower(c) }
                        if c >= lo && c <= hi { matched = true }
                        pi += 2
                    } else {
                        if nocase ? lower(p[pi]) == lower(s[si]) : p[pi] == s[si] { matched = true }
                    }
                    pi += 1
                }
                if pi >= p.endIndex { pi = p.endIndex - 1 }  // unterminated class: treat end as ']'
                if negate { matched = !matched }
                if !matched { return false }
                si += 1
            case UInt8(ascii: "\\") where pi + 1 < p.endIndex:
                pi += 1
                if si >= s.endIndex || p[pi] != s[si] { return false }
                si += 1
            default:
                if si >= s.endIndex { return false }
                if nocase ? lower(pc) != lower(s[si]) : pc != s[si] { return false }
                si += 1
            }
            pi += 1
            if si == s.endIndex {
                while pi < p.endIndex && p[pi] == UInt8(ascii: "*") { pi += 1 }
                break
            }
        }
        return pi == p.endIndex && si == s.endIndex
    }
}
