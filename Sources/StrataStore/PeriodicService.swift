import ServiceLifecycle
import Synchronization

/// The one shape of Strata's background loops (persister, evictor, multipart cleaner): run `work`, sleep
/// `interval`, repeat until graceful shutdown; a shutdown cuts the sleep short, never the work.
public struct PeriodicService: Service {
    public let name: String
    public let interval: Duration
    /// Whether the first run happens at start-up or after one interval.
    public let startsImmediately: Bool
    public let work: @Sendable () async -> Void

    public init(name: String, interval: Duration, startsImmediately: Bool = true, work: @escaping @Sendable () async -> Void) {
        self.name = name
        self.interval = interval
        self.startsImmediately = startsImmediately
        self.work = work
    }

    public func run() async throws {
        var first = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if !first || startsImmediately { await work() }
            first = false
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// Wakes a `DelayedFlushService`: cheap from any thread, and every wake until the flush starts counts as one.
public final class WakeSignal: Sendable {
    fileprivate let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let armed = Mutex(false)

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func wake() {
        let first = armed.withLock { armed in
            defer { armed = true }
            return !armed
        }
        if first { continuation.yield() }
    }

    /// The flush is starting: a wake from now on asks for the next one.
    fileprivate func disarm() { armed.withLock { $0 = false } }
}

/// A batching flush that sleeps while there is nothing to flush: a wake starts one flush `delay` later (lines
/// arriving meanwhile join the batch), so an idle server is never woken by it. Flushes once more at shutdown.
public struct DelayedFlushService: Service {
    public let name: String
    public let delay: Duration
    public let signal: WakeSignal
    public let flush: @Sendable () -> Void

    public init(name: String, delay: Duration, signal: WakeSignal, flush: @escaping @Sendable () -> Void) {
        self.name = name
        self.delay = delay
        self.signal = signal
        self.flush = flush
    }

    public func run() async throws {
        let (signal, delay, flush) = (signal, delay, flush)
        let stream = signal.stream
        await cancelWhenGracefulShutdown {
            for await _ in stream {
                try? await Task.sleep(for: delay)
                signal.disarm()
                flush()
            }
        }
        flush()
    }
}
