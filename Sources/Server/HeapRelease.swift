// HeapRelease: when writes and the index work they started go quiet, hands the heap pages their transients freed back
// to the kernel (glibc's malloc_trim), since glibc by itself only returns the top of the heap. Decides when.
import CStorageShims

/// A bulk load leaves free chunks all through the heap: each indexed HSET's field table and vector copy before the
/// vector moved to the index, request buffers, the old copies of grown per-document arrays. They stay resident until
/// reused. One `malloc_trim(0)` once writes, the vector buffers' drains into their graphs and tiering's seals and
/// merges have all stopped for `quietMilliseconds` gives ~0.7 MB back on the pypi-50k node at a 20 % vector-memory-
/// limit and ~1.1 MB all-RAM (bench/results/memory.md), for 0.05–1 ms of the loop thread, which has no writes to
/// serve then. (Tiering trims after each seal and merge, but more is freed after that trim, as the work returns.)
struct HeapRelease {
    /// Long enough that a pipelined load's pauses between batches do not trim; short enough to follow a load closely.
    static let quietMilliseconds: Int64 = 500

    private var lastActivity = 0
    private var lastChange: Int64 = 0
    private var trimDue = false
    /// When `isBusy` last answered true.
    private var lastBusy = Int64.min / 2

    /// Called from cron with a counter of writes and finished background work (the keyspace's changes plus finished
    /// drains); true when it is time to trim, once per quiet period. `isBusy` (tiering still sealing or merging) is
    /// asked only once the counter has been still for the quiet period, and must then have been false for a quiet
    /// period as well: the work's last frees come just after it stops reporting busy.
    mutating func shouldRelease(activity: Int, now: Int64, isBusy: () -> Bool) -> Bool {
        if activity != lastActivity {
            lastActivity = activity
            lastChange = now
            trimDue = true
            return false
        }
        guard trimDue, now - lastChange >= Self.quietMilliseconds else { return false }
        if isBusy() { lastBusy = now }
        guard now - lastBusy >= Self.quietMilliseconds else { return false }
        trimDue = false
        return true
    }

    static func releaseFreeHeap() { _ = vs_release_free_memory() }
}
