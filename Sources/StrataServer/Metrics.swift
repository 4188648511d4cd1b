import Foundation
import Synchronization

/// Request counters by operation and status class, for every deployment.
final class RequestMetrics: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private let bytesOut = Atomic<Int>(0)

    func record(operation: String, status: Int, bytes: Int) {
        let label = "operation=\"\(operation)\",status=\"\(status / 100)xx\""
        counts.withLock { $0[label, default: 0] += 1 }
        bytesOut.add(bytes, ordering: .relaxed)
    }

    func render() -> String {
        var out = "# HELP strata_requests_total S3 requests by operation and status class.\n# TYPE strata_requests_total counter\n"
        for (label, count) in counts.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            out += "strata_requests_total{\(label)} \(count)\n"
        }
        out += "# HELP strata_response_bytes_total Bytes declared in response Content-Length headers.\n# TYPE strata_response_bytes_total counter\n"
        out += "strata_response_bytes_total \(bytesOut.load(ordering: .relaxed))\n"
        return out
    }
}
