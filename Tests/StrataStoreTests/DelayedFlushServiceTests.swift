import Synchronization
import Testing

@testable import StrataStore

/// The batching flush of the access and audit logs: one flush per batch, none while idle, a last one at the end.
struct DelayedFlushServiceTests {
    final class Counter: Sendable {
        let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    @Test func flushesOncePerBatchNeverWhileIdleAndOnceAtTheEnd() async throws {
        let flushes = Counter()
        let signal = WakeSignal()
        let service = DelayedFlushService(name: "test", delay: .milliseconds(20), signal: signal) { flushes.increment() }
        let running = Task { try await service.run() }
        // Idle: five delays pass without a flush.
        try await Task.sleep(for: .milliseconds(100))
        #expect(flushes.count == 0)
        // Three wakes before the delay ends are one batch.
        signal.wake()
        signal.wake()
        signal.wake()
        #expect(await eventually { flushes.count >= 1 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(flushes.count == 1)
        signal.wake()
        #expect(await eventually { flushes.count == 2 })
        running.cancel()
        _ = try? await running.value
        #expect(flushes.count == 3)
    }
}
