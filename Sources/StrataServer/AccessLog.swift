import Foundation
import Glibc
import S3Protocol
import StrataStore
import Synchronization

/// One line per request, `key=value` fields, written to standard error in batches: formatting is plain string
/// building with our own UTC clock (no calendar, time zone or metadata sorting per line), and a background flush
/// turns many lines into one write. Keys are percent-encoded so no client byte can forge a line.
final class AccessLog: Sendable {
    /// Lines not yet written, and the current second's timestamp text (formatted once a second).
    private struct Pending {
        var bytes: [UInt8] = []
        var second: Int = -1
        var secondText: [UInt8] = []
    }

    private let pending = Mutex(Pending())
    /// Started by the first line after a flush: an idle server's log is never woken.
    private let flushSignal = WakeSignal()
    /// Where full batches go: standard error, or a test's collector.
    private let output: @Sendable ([UInt8]) -> Void

    init(output: @escaping @Sendable ([UInt8]) -> Void = AccessLog.writeStandardError) {
        self.output = output
    }
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

    /// Appends the line to the pending bytes directly, with no intermediate strings: it runs once per request.
    func record(_ line: Line) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let micros = line.elapsed.components.seconds * 1_000_000 + line.elapsed.components.attoseconds / 1_000_000_000_000
        let (full, first): ([UInt8]?, Bool) = pending.withLock { state in
            let first = state.bytes.isEmpty
            if state.second != now.tv_sec {
                // "YYYY-MM-DDTHH:MM:SS." without the milliseconds.
                state.second = now.tv_sec
                state.secondText = Array(HTTPDate.iso8601(seconds: Int64(now.tv_sec)).utf8.dropLast(4))
            }
            var out = state.bytes
            state.bytes = []
            out.append(contentsOf: state.secondText)
            Self.appendDecimal(&out, now.tv_nsec / 1_000_000, width: 3)
            out.append(contentsOf: "Z info request request_id=".utf8)
            out.append(contentsOf: line.requestID.utf8)
            out.append(contentsOf: " operation=".utf8)
            out.append(contentsOf: line.operation.utf8)
            out.append(contentsOf: " method=".utf8)
            out.append(contentsOf: line.method.utf8)
            out.append(contentsOf: " bucket=".utf8)
            PercentEncoding.appendEncoded(line.bucket, to: &out, keepSlash: true)
            out.append(contentsOf: " key=".utf8)
            PercentEncoding.appendEncoded(line.key, to: &out, keepSlash: true)
            out.append(contentsOf: " status=".utf8)
            Self.appendDecimal(&out, line.status)
            out.append(contentsOf: " bytes=".utf8)
            out.append(contentsOf: line.bytes.utf8)
            out.append(contentsOf: " duration_ms=".utf8)
            Self.appendDecimal(&out, Int(micros / 1000))
            out.append(UInt8(ascii: "."))
            Self.appendDecimal(&out, Int(micros % 1000 / 10), width: 2)
            out.append(UInt8(ascii: "\n"))
            guard out.count >= Self.flushThreshold else {
                state.bytes = out
                return (nil, first)
            }
            state.bytes.reserveCapacity(Self.flushThreshold + 1024)
            return (out, false)
        }
        if let full { output(full) }
        if first { flushSignal.wake() }
    }

    /// A non-negative number in decimal, zero-padded to `width` digits.
    static func appendDecimal(_ out: inout [UInt8], _ value: Int, width: Int = 1) {
        let start = out.count
        var remaining = value.magnitude
        repeat {
            out.append(UInt8(ascii: "0") &+ UInt8(remaining % 10))
            remaining /= 10
        } while remaining > 0
        while out.count - start < width { out.append(UInt8(ascii: "0")) }
        out[start...].reverse()
    }

    func flush() {
        let lines = pending.withLock { state in
            defer { state.bytes = [] }
            return state.bytes
        }
        if !lines.isEmpty { output(lines) }
    }

    @Sendable static func writeStandardError(_ bytes: [UInt8]) {
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

    /// Flushes `flushInterval` after the first line of a batch, and once more at shutdown.
    var service: DelayedFlushService {
        DelayedFlushService(name: "access log", delay: Self.flushInterval, signal: flushSignal) { [self] in flush() }
    }
}
