import Logging
import ServiceLifecycle
import Synchronization

/// Whether this node is on its way out: set when SIGTERM arrives, before the S3 listener stops accepting, so the
/// readiness check answers 503 and load balancers stop sending new requests while in-flight ones finish.
final class DrainState: Sendable {
    private let draining = Atomic<Bool>(false)

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    func begin() { draining.store(true, ordering: .relaxed) }
}

/// Registered after the S3 listener, so graceful shutdown (which runs in reverse order of registration) reaches it
/// first: it marks the node draining, then keeps the listener open for `delay` so load balancers polling readiness
/// see the 503 and move traffic away before connections are refused.
struct DrainService: Service {
    let state: DrainState
    let delay: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        state.begin()
        logger.notice("draining: readiness answers 503; the S3 listener closes in \(delay)")
        // Cancellation (a second signal, or the grace period running out) ends the wait early.
        try? await Task.sleep(for: delay)
    }
}
