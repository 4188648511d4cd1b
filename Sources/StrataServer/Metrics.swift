import CoreMetrics
import Foundation
import Metrics
import Prometheus
import Synchronization

/// The server's metrics: swift-metrics instruments on its own Prometheus registry (not the process-wide
/// MetricsSystem, so several servers in one process keep apart), rendered by swift-prometheus at `/metrics`.
final class RequestMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    /// The instruments of one (listener, operation, status class), made once and reused.
    private struct Instruments: @unchecked Sendable {
        let requests: CoreMetrics.Counter
        let duration: CoreMetrics.Timer
    }
    private struct InstrumentKey: Hashable {
        let listener: String
        let operation: String
        let statusClass: Int
    }
    private let instruments = Mutex<[InstrumentKey: Instruments]>([:])
    private let bytesIn: [String: CoreMetrics.Counter]
    private let bytesOut: [String: CoreMetrics.Counter]
    /// Multipart cleaner sweeps, and the uploads they aborted.
    let cleanerRuns: CoreMetrics.Counter
    let cleanerAborted: CoreMetrics.Counter
    /// GETs and HEADs answered on the event loop (the rest of strata_requests_total took the I/O threads).
    let inlineReads: CoreMetrics.Counter
    /// Those of them whose body the kernel copied from the file (`sendfile`).
    let sendfileResponses: CoreMetrics.Counter

    static let listeners = ["s3", "admin", "website"]

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // From a cached 4 KiB GET (well under a millisecond) to a multi-gigabyte transfer.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        self.factory = factory
        bytesIn = Dictionary(
            uniqueKeysWithValues: Self.listeners.map {
                ($0, CoreMetrics.Counter(label: "strata_request_bytes_total", dimensions: [("listener", $0)], factory: factory))
            }
        )
        bytesOut = Dictionary(
            uniqueKeysWithValues: Self.listeners.map {
                ($0, CoreMetrics.Counter(label: "strata_response_bytes_total", dimensions: [("listener", $0)], factory: factory))
            }
        )
        cleanerRuns = CoreMetrics.Counter(label: "strata_multipart_cleaner_runs_total", factory: factory)
        cleanerAborted = CoreMetrics.Counter(label: "strata_multipart_cleaner_aborted_total", factory: factory)
        inlineReads = CoreMetrics.Counter(label: "strata_inline_reads_total", factory: factory)
        sendfileResponses = CoreMetrics.Counter(label: "strata_sendfile_responses_total", factory: factory)
    }

    /// One finished request: its count by operation and status class, its duration, and the bytes it moved.
    func record(listener: String, operation: String, status: Int, bytesIn received: Int64?, bytesOut sent: Int64?, elapsed: Duration) {
        // A struct key: no string is built per request, only when an instrument is first made.
        let key = InstrumentKey(listener: listener, operation: operation, statusClass: status / 100)
        let instruments = self.instruments.withLock { cache in
            if let made = cache[key] { return made }
            let statusClass = "\(status / 100)xx"
            let made = Instruments(
                requests: CoreMetrics.Counter(
                    label: "strata_requests_total",
                    dimensions: [("listener", listener), ("operation", operation), ("status", statusClass)],
                    factory: factory
                ),
                duration: CoreMetrics.Timer(
                    label: "strata_request_duration_seconds",
                    dimensions: [("listener", listener), ("operation", operation)],
                    factory: factory
                )
            )
            cache[key] = made
            return made
        }
        instruments.requests.increment()
        instruments.duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        if let received, received > 0 { bytesIn[listener]?.increment(by: Int(clamping: received)) }
        if let sent, sent > 0 { bytesOut[listener]?.increment(by: Int(clamping: sent)) }
    }

    /// Figures read at scrape time (open uploads, listing index, cache), set on gauges before rendering.
    func gauge(_ name: String, _ value: Int) {
        CoreMetrics.Gauge(label: name, factory: factory).record(value)
    }

    func render() -> String { registry.emitToString() }
}
