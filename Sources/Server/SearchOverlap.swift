// Tells from which clients the latest FT.SEARCHes came whether two of them can run at once (worth a worker hop).

/// One client's searches never overlap: it waits for each reply, and its pipelined requests wait behind a blocked
/// search too. So searches can overlap only while more than one client sends them; a switch from one client to
/// another counts as evidence for `window` milliseconds.
struct SearchOverlapTracker {
    let window: UInt64
    /// 0: no search yet (client ids start at 1).
    private var lastClient = 0
    private var switchedAt: UInt64?

    init(window: UInt64 = 100) { self.window = window }

    /// Records a search from `client` at `now` (a monotonic clock in ms) and answers whether a search from another
    /// client may arrive while this one runs.
    mutating func note(client: Int, now: UInt64) -> Bool {
        if client != lastClient {
            if lastClient != 0 { switchedAt = now }
            lastClient = client
        }
        guard let switchedAt else { return false }
        return now &- switchedAt <= window
    }
}
