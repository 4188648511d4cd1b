import Foundation
import Glibc
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore
import Synchronization

/// What one request did, as the audit log records it. Never a secret or a signature: the access key id names the
/// key, and query strings (which carry presigned signatures) are not recorded.
struct RequestRecord: Sendable {
    /// `s3`, `admin` or `website`.
    var listener: String
    var requestID: String
    var started: ContinuousClock.Instant
    var operation = "Unknown"
    var method = ""
    var bucket = ""
    var key = ""
    var user: String?
    var accessKeyID: String?
    var client: String?
    var bytesIn: Int64?

    /// A record of `request` as it arrives on `listener`, with the client's request id when it sent a usable one.
    /// The client's address is formatted only for the audit log.
    init(listener: String, request: Request, channel: any Channel, audited: Bool) {
        self.listener = listener
        self.requestID = RequestIDs.resolve(request.headers[named: "x-request-id"])
        self.started = .now
        self.method = request.method.rawValue
        self.client = audited ? channel.remoteAddress?.ipAddress : nil
        self.bytesIn = request.headers[.contentLength].flatMap { Int64($0) }
    }
}

extension RequestRecord {
    /// Counts the finished request in `metrics` (under `metricsOperation`, by default the recorded operation) and
    /// writes its audit line: every listener ends each request here.
    func finish(status: Int, bytesOut: Int64?, metrics: RequestMetrics, auditLog: AuditLog?, metricsOperation: String? = nil) {
        metrics.record(
            listener: listener,
            operation: metricsOperation ?? operation,
            status: status,
            bytesIn: bytesIn,
            bytesOut: bytesOut,
            elapsed: ContinuousClock.now - started
        )
        auditLog?.record(self, status: status, bytesOut: bytesOut)
    }
}

/// The audit log: one JSON object per line per request of every listener, appended to its own file in batches
/// (a background flush every 100 ms), rotated by size into `file.1` ... `file.N`.
final class AuditLog: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var fd: Int32
        var size: Int64
    }
    private let state: Mutex<State>
    private let flushSignal = WakeSignal()
    let path: String
    let maxBytes: Int64
    let maxFiles: Int

    init(path: String, maxBytes: Int64, maxFiles: Int) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let fd = Self.open(path)
        guard fd >= 0 else { throw AuditError(description: "cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        state = Mutex(State(fd: fd, size: Int64(lseek(fd, 0, SEEK_END))))
        self.path = path
        self.maxBytes = max(4096, maxBytes)
        self.maxFiles = max(1, maxFiles)
    }

    deinit { state.withLock { _ = close($0.fd) } }

    struct AuditError: Error, CustomStringConvertible {
        let description: String
    }

    private static func open(_ path: String) -> Int32 { Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640) }

    func record(_ record: RequestRecord, status: Int, bytesOut: Int64?) {
        let elapsed = ContinuousClock.now - record.started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        var line = "{\"time\":\(Self.quoted(HTTPDate.iso8601(Date())))"
        line += ",\"listener\":\(Self.quoted(record.listener)),\"request_id\":\(Self.quoted(record.requestID))"
        line += ",\"user\":\(Self.quoted(record.user)),\"access_key_id\":\(Self.quoted(record.accessKeyID)),\"client\":\(Self.quoted(record.client))"
        line += ",\"operation\":\(Self.quoted(record.operation)),\"method\":\(Self.quoted(record.method))"
        line += ",\"bucket\":\(Self.quoted(record.bucket)),\"key\":\(Self.quoted(record.key)),\"status\":\(status)"
        line += ",\"bytes_in\":\(record.bytesIn.map(String.init) ?? "null"),\"bytes_out\":\(bytesOut.map(String.init) ?? "null")"
        line += ",\"duration_ms\":\(Double(micros) / 1000)}\n"
        let first = state.withLock { state in
            defer { state.pending.append(contentsOf: line.utf8) }
            return state.pending.isEmpty
        }
        // The first line after a flush starts the next one: an idle server's audit log is never woken.
        if first { flushSignal.wake() }
    }

    /// Writes what is pending, rotating first when the file would pass its size bound.
    func flush() {
        state.withLock { state in
            guard !state.pending.isEmpty else { return }
            if state.size > 0, state.size + Int64(state.pending.count) > maxBytes { rotate(&state) }
            let written = state.pending.withUnsafeBytes { raw -> Int in
                var offset = 0
                while offset < raw.count {
                    let n = write(state.fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { break }
                    offset += n
                }
                return offset
            }
            state.size += Int64(written)
            state.pending.removeAll(keepingCapacity: true)
        }
    }

    /// `file` becomes `file.1`, `file.1` becomes `file.2`, ...; the oldest beyond `maxFiles` goes.
    private func rotate(_ state: inout State) {
        _ = unlink("\(path).\(maxFiles)")
        for index in stride(from: maxFiles - 1, through: 1, by: -1) { _ = rename("\(path).\(index)", "\(path).\(index + 1)") }
        _ = rename(path, "\(path).1")
        let fd = Self.open(path)
        guard fd >= 0 else { return }  // keep writing to the renamed file rather than lose lines
        close(state.fd)
        state.fd = fd
        state.size = 0
    }

    /// A JSON string (or null); control characters, quotes and backslashes escaped.
    static func quoted(_ text: String?) -> String {
        guard let text else { return "null" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    var service: DelayedFlushService {
        DelayedFlushService(name: "audit log", delay: .milliseconds(100), signal: flushSignal) { [self] in flush() }
    }
}
