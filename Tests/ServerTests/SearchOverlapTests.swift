// When an FT.SEARCH may hop to a worker thread: only while searches from more than one client can overlap.
import Testing
@testable import Server

@Suite("Search overlap")
struct SearchOverlapTests {
    @Test("one client's searches never overlap")
    func oneClient() {
        var t = SearchOverlapTracker(window: 100)
        for now in stride(from: UInt64(0), to: 1000, by: 7) {
            let overlap = t.note(client: 3, now: now)
            #expect(!overlap)
        }
    }

    @Test("alternating clients overlap; the evidence lapses after the window")
    func twoClients() {
        var t = SearchOverlapTracker(window: 100)
        let answers = [(1, 10), (2, 11), (1, 12), (1, 112), (1, 113), (2, 500)].map { t.note(client: $0.0, now: UInt64($0.1)) }
        #expect(answers == [false, true, true, true, false, true])
    }

    @Test("an FT.SEARCH runs inline for a lone client and may hop once two clients search")
    func policy() throws {
        var config = Config()
        try config.set("search-workers", "2")
        let server = Server(config: config)
        let idle = [1, 1, 2, nil].map { server.searchRunsInline(clientID: $0) }
        #expect(idle == [true, true, false, false])
        server.searchesOnWorkers = 1
        let busy = [1, nil].map { server.searchRunsInline(clientID: $0) }
        #expect(busy == [true, true])
    }
}
