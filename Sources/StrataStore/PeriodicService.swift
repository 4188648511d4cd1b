import ServiceLifecycle

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
