import Synchronization

/// Counters Prometheus scrapes from the admin listener's `/metrics`.
public final class TieringMetrics: Sendable {
    public let cacheHits = Atomic<Int>(0)
    public let cacheMisses = Atomic<Int>(0)
    public let upstreamErrors = Atomic<Int>(0)
    public let persisted = Atomic<Int>(0)
    public let persistFailures = Atomic<Int>(0)

    public init() {}

    static func increment(_ counter: borrowing Atomic<Int>) { counter.add(1, ordering: .relaxed) }
}

/// Keys being filled in the background, so concurrent ranged misses fetch an object once.
final class InFlightKeys: Sendable {
    private let keys = Mutex<Set<String>>([])

    /// False when the key is already in flight.
    func begin(_ key: String) -> Bool { keys.withLock { $0.insert(key).inserted } }
    func end(_ key: String) { _ = keys.withLock { $0.remove(key) } }
}
