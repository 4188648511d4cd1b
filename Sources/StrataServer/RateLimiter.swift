import Synchronization

/// A token bucket over bytes: a sender reserves what it is about to send and sleeps off any debt, so throughput
/// stays at the rate on average without bursts larger than `burst` and without buffering anything.
final class RateLimiter: Sendable {
    private let bytesPerSecond: Double
    private let burst: Double
    private let state: Mutex<(tokens: Double, last: ContinuousClock.Instant)>

    /// nil for a limit of zero or less (unlimited).
    init?(megabytesPerSecond: Int) {
        guard megabytesPerSecond > 0 else { return nil }
        bytesPerSecond = Double(megabytesPerSecond) * 1_048_576
        burst = bytesPerSecond / 10
        state = Mutex((burst, ContinuousClock.now))
    }

    /// Waits until `bytes` may be sent.
    func acquire(_ bytes: Int) async {
        let wait: Double = state.withLock { state in
            let now = ContinuousClock.now
            let elapsed = now - state.last
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            state.tokens = min(burst, state.tokens + seconds * bytesPerSecond) - Double(bytes)
            state.last = now
            return state.tokens < 0 ? -state.tokens / bytesPerSecond : 0
        }
        // The debt is bounded by the senders in flight, but the conversion must not trap whatever it is.
        if wait > 0 { try? await Task.sleep(for: .nanoseconds(Int64(min(wait, 86_400) * 1e9))) }
    }
}
