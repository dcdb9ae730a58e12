// A one-shot libuv timer with a Swift closure, for inter-node deadlines, reconnect backoff and fan-out timeouts.
// Loop thread only. `close()` must be called once the timer is no longer needed (it frees the handle).
import CLibUV

final class LoopTimer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var action: (() -> Void)?
    private var closed = false

    init(loop: UnsafeMutablePointer<uv_loop_t>) {
        handle = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        uv_timer_init(loop, handle)
        // Unretained: the owner keeps the timer alive until close(); after uv_timer_stop no callback runs.
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    /// (Re)arms the timer to run `action` once after `milliseconds`.
    func start(after milliseconds: UInt64, _ action: @escaping () -> Void) {
        guard !closed else { return }
        self.action = action
        uv_timer_start(handle, { h in
            let timer = Unmanaged<LoopTimer>.fromOpaque(h!.pointee.data).takeUnretainedValue()
            let action = timer.action
            timer.action = nil
            action?()
        }, milliseconds, 0)
    }

    var isArmed: Bool { action != nil }

    func stop() {
        action = nil
        if !closed { uv_timer_stop(handle) }
    }

    func close() {
        guard !closed else { return }
        stop()
        closed = true
        handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0) { $0?.deallocate() } }
    }
}

/// Milliseconds of the loop's monotonic clock (uv_hrtime).
@inline(__always) func monotonicMilliseconds() -> UInt64 { uv_hrtime() / 1_000_000 }
