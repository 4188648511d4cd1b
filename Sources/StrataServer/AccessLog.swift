import Foundation
import Glibc
import S3Protocol
import StrataStore
import Synchronization

/// One line per request, `key=value` fields, written to standard error in batches: formatting is plain string
/// building with our own UTC clock (no calendar, time zone or metadata sorting per line), and a background flush
/// turns many lines into one write. Keys are percent-encoded so no client byte can forge a line.
final class AccessLog: Sendable {
    private let pending = Mutex<[UInt8]>([])
    static let flushThreshold = 64 * 1024
    static let flushInterval = Duration.milliseconds(100)

    struct Line {
        var requestID: String
        var operation: String
        var method: String
        var bucket: String
        var key: String
        var status: Int
        var bytes: String
        var elapsed: Duration
    }

    func record(_ line: Line) {
        let micros = line.elapsed.components.seconds * 1_000_000 + line.elapsed.components.attoseconds / 1_000_000_000_000
        let milliseconds = "\(micros / 1000).\(String(micros % 1000 / 10 + 100).dropFirst())"
        var text = HTTPDate.iso8601(Date())
        text += " info request request_id=\(line.requestID) operation=\(line.operation) method=\(line.method)"
        text += " bucket=\(PercentEncoding.encode(line.bucket, keepSlash: true)) key=\(PercentEncoding.encode(line.key, keepSlash: true))"
        text += " status=\(line.status) bytes=\(line.bytes) duration_ms=\(milliseconds)\n"
        let full: [UInt8]? = pending.withLock { buffer in
            buffer.append(contentsOf: text.utf8)
            guard buffer.count >= Self.flushThreshold else { return nil }
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if let full { Self.write(full) }
    }

    func flush() {
        let lines = pending.withLock { buffer in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if !lines.isEmpty { Self.write(lines) }
    }

    private static func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }

    /// Flushes every `flushInterval`, and once more at shutdown.
    var service: PeriodicService {
        PeriodicService(name: "access log", interval: Self.flushInterval) { [self] in flush() }
    }
}
