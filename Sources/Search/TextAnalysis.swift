// RediSearch 2.10's default text analysis: the separator tokenizer, its English stopword list and the
// English Snowball (Porter2) stemmer. Pure byte/string logic; no index or query structures here.

/// Splits and normalizes text the way RediSearch's default ("simple") tokenizer does, and stems English words.
///
/// Rules (from RediSearch 2.10.5 `toksep.h` / `tokenize.c`):
/// - separators: space, tab and ``,./(){}[]:;~!@#$%^&*-=+|'`"<>?``; a backslash escapes the next byte;
/// - inside a token, unescaped blanks and control bytes are dropped (so `\n` does not split), escape
///   backslashes are removed, ASCII letters are lowercased (other bytes are kept as-is, so UTF-8 is preserved);
/// - empty tokens and stopwords are skipped.
public struct TextAnalyzer: Sendable {
    /// The stopwords this analyzer drops (already lowercase).
    public let stopwords: Set<String>

    /// `stopwords` nil means RediSearch's default English list; pass an empty set for `STOPWORDS 0`.
    public init(stopwords: Set<String>? = nil) {
        self.stopwords = stopwords ?? TextAnalyzer.defaultStopwords
    }

    /// RediSearch's default stopword list (`DEFAULT_STOPWORDS` in stopwords.h).
    public static let defaultStopwords: Set<String> = [
        "a", "is", "the", "an", "and", "are", "as", "at", "be", "but", "by", "for",
        "if", "in", "into", "it", "no", "not", "of", "on", "or", "such", "that", "their",
        "then", "there", "these", "they", "this", "to", "was", "will", "with",
    ]

    /// RediSearch indexes a `+stem` entry only for tokens at least this long (`MINSTEMLEN` default 4).
    public static let minStemLength = 4

    /// The lowercased tokens of `text` in order, stopwords removed.
    public func tokens(_ text: some StringProtocol) -> [String] {
        var out: [String] = []
        TextAnalyzer.forEachToken(Array(text.utf8)) { token in
            let word = String(decoding: token, as: UTF8.self)
            if !stopwords.contains(word) { out.append(word) }
        }
        return out
    }

    /// The English Snowball (Porter2) stem of a lowercase term; the term itself when nothing applies.
    public func stem(_ term: String) -> String {
        EnglishStemmer.stem(term)
    }

    /// What RediSearch's stemmer expander adds to a query term: `+stem` (words indexed under that stem), then the stem
    /// itself as a word when it differs from the term.
    public func queryExpansions(of term: String) -> [String] {
        let s = stem(term)
        return s == term ? ["+" + s] : ["+" + s, s]
    }

    /// The extra term RediSearch indexes next to `term` (`+` followed by the stem), or nil when the stem
    /// equals the term or the term is shorter than `minStemLength`.
    public func indexedStem(_ term: String) -> String? {
        guard term.utf8.count >= TextAnalyzer.minStemLength else { return nil }
        let s = stem(term)
        return s == term ? nil : "+" + s
    }

    /// Whether `byte` separates tokens (RediSearch's `ToksepMap_g`).
    @inline(__always)
    public static func isSeparator(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "@"),
             UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "^"), UInt8(ascii: "&"),
             UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "|"),
             UInt8(ascii: "'"), UInt8(ascii: "`"), UInt8(ascii: "\""), UInt8(ascii: "<"), UInt8(ascii: ">"),
             UInt8(ascii: "?"):
            return true
        default:
            return false
        }
    }

    /// Calls `body` with each normalized, non-empty token of `text` (stopwords not removed).
    public static func forEachToken(_ text: [UInt8], _ body: ([UInt8]) -> Void) {
        var token: [UInt8] = []
        token.reserveCapacity(16)
        var escaped = false
        for b in text {
            if !escaped && isSeparator(b) {
                if !token.isEmpty { body(token); token.removeAll(keepingCapacity: true) }
                continue
            }
            if b == UInt8(ascii: "\\") && !escaped {
                escaped = true
                continue
            }
            let blank = b == 0x20 || b == 0x09
            if (blank && !escaped) || b < 0x20 || b == 0x7F {
                // Unescaped blanks cannot reach here (they separate); control bytes vanish from the token.
            } else if b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") {
                token.append(b | 0x20)
            } else {
                token.append(b)
            }
            escaped = false
        }
        if !token.isEmpty { body(token) }
    }

    /// ASCII-lowercases `s` and removes backslashes that escape punctuation or whitespace
    /// (RediSearch's `rm_strdupcase`, applied to query terms).
    public static func normalizeQueryTerm(_ s: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        var it = Array(s)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "\\"), let next = it.first, isPunctOrSpace(next) { continue }
            out.append(asciiLower(b))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercases ASCII letters only (RediSearch's `tolower` in the C locale).
    public static func asciiLowercased(_ s: String) -> String { String(decoding: s.utf8.map(asciiLower), as: UTF8.self) }

    /// One byte of `asciiLowercased`.
    @inline(__always) static func asciiLower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// C `ispunct(b) || isspace(b)` in the C locale.
    @inline(__always)
    static func isPunctOrSpace(_ b: UInt8) -> Bool {
        (b >= 0x21 && b <= 0x2F) || (b >= 0x3A && b <= 0x40) || (b >= 0x5B && b <= 0x60) || (b >= 0x7B && b <= 0x7E)
            || b == 0x20 || (b >= 0x09 && b <= 0x0D)
    }
}

/// The English Snowball stemmer (Porter2), as in libstemmer's `english` algorithm that RediSearch bundles.
/// Works on Unicode scalars (as libstemmer's UTF-8 mode works on characters); non-ASCII letters are consonants.
enum EnglishStemmer {
    private static let exceptions1: [String: String] = [
        "skis": "ski", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
        "idly": "idl", "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli", "singly": "singl",
        "sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas", "cosmos": "cosmos", "bias": "bias",
        "andes": "andes",
    ]
    private static let exceptions2: Set<String> = [
        "inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed",
    ]

    static func stem(_ word: String) -> String {
        // Words of one or two characters are left alone.
        var chars = 0
        for b in word.utf8 where b & 0xC0 != 0x80 { chars += 1 }
        if chars <= 2 { return word }
        if let e = exceptions1[word] { return e }
        var w = Word(word.unicodeScalars.map { $0.value })
        return w.run()
    }

    private struct Word {
        var b: [UInt32]
        var r1 = 0
        var r2 = 0

        init(_ scalars: [UInt32]) { b = scalars }

        static let Y = UInt32(UInt8(ascii: "Y"))
        static func c(_ ch: Unicode.Scalar) -> UInt32 { ch.value }

        func isVowel(_ i: Int) -> Bool {
            switch b[i] {
            case 0x61, 0x65, 0x69, 0x6F, 0x75, 0x79:  // a e i o u y
                return true
            default:
                return false
            }
        }

        func ends(_ s: String) -> Bool {
            let u = s.unicodeScalars.map { $0.value }
            guard u.count <= b.count else { return false }
            return b[(b.count - u.count)...].elementsEqual(u)
        }

        mutating func replaceSuffix(_ count: Int, with s: String) {
            b.removeLast(count)
            b.append(contentsOf: s.unicodeScalars.map { $0.value })
        }

        /// The longest of `suffixes` the word ends with.
        func longest(_ suffixes: [String]) -> String? {
            var best: String? = nil
            for s in suffixes where ends(s) && s.utf8.count > (best?.utf8.count ?? -1) { best = s }
            return best
        }

        func containsVowel(before end: Int) -> Bool {
            var i = 0
            while i < end { if isVowel(i) { return true }; i += 1 }
            return false
        }

        /// Whether the word's first `end` bytes end in a short syllable.
        func endsShortSyllable(_ end: Int) -> Bool {
            if end == 2 {
                return isVowel(0) && !isVowel(1)
            }
            guard end >= 3 else { return false }
            let c = b[end - 1]
            return !isVowel(end - 3) && isVowel(end - 2) && !isVowel(end - 1)
                && c != Word.c("w") && c != Word.c("x") && c != Word.Y
        }

        func isShort() -> Bool { r1 >= b.count && endsShortSyllable(b.count) }

        mutating func markRegions() {
            let n = b.count
            func regionAfter(_ start: Int) -> Int {
                var i = start
                while i + 1 < n {
                    if isVowel(i) && !isVowel(i + 1) { return i + 2 }
                    i += 1
                }
                return n
            }
            if ends2(prefix: "gener") || ends2(prefix: "arsen") {
                r1 = 5
            } else if ends2(prefix: "commun") {
                r1 = 6
            } else {
                r1 = regionAfter(0)
            }
            r2 = r1 < n ? regionAfter(r1) : n
            if r2 > n { r2 = n }
        }

        func ends2(prefix p: String) -> Bool {
            let u = p.unicodeScalars.map { $0.value }
            return b.count >= u.count && b[0..<u.count].elementsEqual(u)
        }

        mutating func run() -> String {
            if b.first == Word.c("'") { b.removeFirst() }
            // Mark consonant-y as Y: an initial y, and y after a vowel.
            if b.first == Word.c("y") { b[0] = Word.Y }
            var i = 1
            while i < b.count {
                if b[i] == Word.c("y") && isVowel(i - 1) { b[i] = Word.Y }
                i += 1
            }
            markRegions()
            step0()
            step1a()
            if EnglishStemmer.exceptions2.contains(Word.string(b)) {
                return finish()
            }
            step1b()
            step1c()
            step2()
            step3()
            step4()
            step5()
            return finish()
        }

        func finish() -> String {
            Word.string(b.map { $0 == Word.Y ? Word.c("y") : $0 })
        }

        static func string(_ scalars: [UInt32]) -> String {
            var s = String.UnicodeScalarView()
            for v in scalars { if let u = Unicode.Scalar(v) { s.append(u) } }
            return String(s)
        }

        mutating func step0() {
            if let s = longest(["'s'", "'s", "'"]) { b.removeLast(s.utf8.count) }
        }

        mutating func step1a() {
            guard let s = longest(["sses", "ied", "ies", "us", "ss", "s"]) else { return }
            switch s {
            case "sses": replaceSuffix(4, with: "ss")
            case "ied", "ies": replaceSuffix(3, with: b.count > 4 ? "i" : "ie")
            case "s":
                // Delete if the part before the s (excluding the letter just before it) holds a vowel.
                if b.count >= 3 && containsVowel(before: b.count - 2) { b.removeLast() }
            default: break  // us, ss
            }
        }

        mutating func step1b() {
            guard let s = longest(["eed", "eedly", "ed", "edly", "ing", "ingly"]) else { return }
            let n = s.utf8.count
            if s == "eed" || s == "eedly" {
                if b.count - n >= r1 { replaceSuffix(n, with: "ee") }
                return
            }
            guard containsVowel(before: b.count - n) else { return }
            b.removeLast(n)
            if ends("at") || ends("bl") || ends("iz") {
                b.append(Word.c("e"))
            } else if let last = b.last, b.count >= 2, b[b.count - 2] == last,
                      "bdfgmnprt".unicodeScalars.contains(where: { $0.value == last }) {
                b.removeLast()
            } else if isShort() {
                b.append(Word.c("e"))
            }
        }

        mutating func step1c() {
            guard b.count > 2, let last = b.last, last == Word.c("y") || last == Word.Y else { return }
            if !isVowel(b.count - 2) { b[b.count - 1] = Word.c("i") }
        }

        mutating func step2() {
            let suffixes = ["tional", "enci", "anci", "abli", "entli", "izer", "ization", "ational", "ation", "ator",
                            "alism", "aliti", "alli", "fulness", "ousli", "ousness", "iveness", "iviti", "biliti",
                            "bli", "ogi", "fulli", "lessli", "li"]
            guard let s = longest(suffixes) else { return }
            let n = s.utf8.count
            guard b.count - n >= r1 else { return }
            switch s {
            case "tional": replaceSuffix(n, with: "tion")
            case "enci": replaceSuffix(n, with: "ence")
            case "anci": replaceSuffix(n, with: "ance")
            case "abli": replaceSuffix(n, with: "able")
            case "entli": replaceSuffix(n, with: "ent")
            case "izer", "ization": replaceSuffix(n, with: "ize")
            case "ational", "ation", "ator": replaceSuffix(n, with: "ate")
            case "alism", "aliti", "alli": replaceSuffix(n, with: "al")
            case "fulness": replaceSuffix(n, with: "ful")
            case "ousli", "ousness": replaceSuffix(n, with: "ous")
            case "iveness", "iviti": replaceSuffix(n, with: "ive")
            case "biliti", "bli": replaceSuffix(n, with: "ble")
            case "ogi":
                if b.count - n >= 1 && b[b.count - n - 1] == Word.c("l") { replaceSuffix(n, with: "og") }
            case "fulli": replaceSuffix(n, with: "ful")
            case "lessli": replaceSuffix(n, with: "less")
            case "li":
                if b.count - n >= 1 && "cdeghkmnrt".unicodeScalars.contains(where: { $0.value == b[b.count - n - 1] }) {
                    b.removeLast(n)
                }
            default: break
            }
        }

        mutating func step3() {
            let suffixes = ["tional", "ational", "alize", "icate", "iciti", "ical", "ful", "ness", "ative"]
            guard let s = longest(suffixes) else { return }
            let n = s.utf8.count
            guard b.count - n >= r1 else { return }
            switch s {
            case "tional": replaceSuffix(n, with: "tion")
            case "ational": replaceSuffix(n, with: "ate")
            case "alize": replaceSuffix(n, with: "al")
            case "icate", "iciti", "ical": replaceSuffix(n, with: "ic")
            case "ful", "ness": b.removeLast(n)
            case "ative": if b.count - n >= r2 { b.removeLast(n) }
            default: break
            }
        }

        mutating func step4() {
            let suffixes = ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ism",
                            "ate", "iti", "ous", "ive", "ize", "ion"]
            guard let s = longest(suffixes) else { return }
            let n = s.utf8.count
            guard b.count - n >= r2 else { return }
            if s == "ion" {
                let p = b.count - n - 1
                if p >= 0 && (b[p] == Word.c("s") || b[p] == Word.c("t")) { b.removeLast(n) }
            } else {
                b.removeLast(n)
            }
        }

        mutating func step5() {
            guard let last = b.last else { return }
            let start = b.count - 1
            if last == Word.c("e") {
                if start >= r2 || (start >= r1 && !endsShortSyllable(start)) { b.removeLast() }
            } else if last == Word.c("l") {
                if start >= r2 && start >= 1 && b[start - 1] == Word.c("l") { b.removeLast() }
            }
        }
    }
}
