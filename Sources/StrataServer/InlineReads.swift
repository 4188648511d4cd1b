import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore
import Synchronization

/// Where GET and HEAD of small objects may be answered on the event loop, and how large a body may be read there.
struct InlineReads: Sendable {
    let local: LocalStorage
    let maxBodyBytes: Int64
    /// Whether larger bodies are sent with `sendfile` from the event loop.
    let sendsFiles: Bool
}

/// An answer the event loop writes at once: the head with a body in memory, or with a range of an open file that
/// the kernel copies to the socket (`sendfile`).
struct BufferedResponse {
    enum Body {
        case buffer(ByteBuffer)
        case file(FileRegion)
    }

    var head: HTTPResponse
    var body: Body?
}

extension S3Responder {
    /// GET or HEAD of a small object answered on the calling event loop, with the same identity, permission,
    /// condition and header code as the pooled path: the hand-offs to the responder's task and to the I/O threads
    /// cost more than the filesystem work of a cached 4 KiB object. Nil when the request needs anything the
    /// pooled path does asynchronously (a body, CORS, a grant that depends on the bucket's owner, an uncached body, a
    /// large one unless `sendsFiles`: the channel then takes a file region).
    func respondInline(_ head: HTTPRequest, channel: any Channel, sendsFiles: Bool) -> BufferedResponse? {
        guard let inline = inlineReads, head.method == .get || head.method == .head, let path = head.path,
            !path.hasPrefix("/.well-known/"), Self.isPlainRead(head.headerFields),
            settings.hostGuard.refusal(authority: head.authority, fields: head.headerFields) == nil  // the pooled path refuses
        else { return nil }
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        var record = RequestRecord(listener: "s3", request: request, channel: channel, audited: auditLog != nil)
        var resource = "/"
        var answer: BufferedResponse
        do {
            let target = try S3Target(rawTarget: path)
            if sts != nil, STSService.isSTSRequest(request, target) { return nil }
            let operation = S3Router.route(method: head.method.rawValue, target: target, hasCopySource: false)
            guard operation == .getObject || operation == .headObject else { return nil }
            record.bucket = target.bucket ?? ""
            record.key = target.key ?? ""
            record.operation = operation.name
            let call = try identifiedCall(request, target, operation, &record, BodyProgress())
            resource = call.resource
            let parsed = try parseRequest(operation, target, header: { head.headerFields[named: $0] })
            // The gate decides here too, or sends the request to the pooled path (a grant that needs the bucket's
            // owner, a refusal whose precise error needs a lookup).
            guard let admitted = gate.admitInline(call, parsed.action) else { return nil }
            let read: ReadArguments
            switch admitted.action {
            case .getObject(let arguments), .headObject(let arguments): read = arguments
            default: return nil
            }
            let input = ObjectHandlers.getInput(admitted, read, head: head.method == .head)
            let largeAsFile = sendsFiles && inline.sendsFiles && head.method == .get
            guard let output = try inline.local.getObjectInline(input, inlineLimit: inline.maxBodyBytes, largeAsFile: largeAsFile) else {
                return nil
            }
            let (status, headers) = ObjectHandlers.getAnswer(call, read, output)
            answer = BufferedResponse(head: HTTPResponse(status: status, headerFields: headers), body: try Self.inlineBody(output.body))
        } catch let error as S3Error {
            let (errorHead, body) = Responses.errorParts(error, requestID: record.requestID, resource: resource, isHead: head.method == .head)
            answer = BufferedResponse(head: errorHead, body: body.map { .buffer($0) })
        } catch {
            // Anything unexpected is left to the pooled path, which logs it.
            return nil
        }
        finish(&answer.head.headerFields, status: answer.head.status, record)
        answer.head.headerFields[.date] = ResponseDate.current
        requestMetrics.inlineReads.increment()
        if case .file? = answer.body { requestMetrics.sendfileResponses.increment() }
        return answer
    }

    /// The body as the channel writes it. A file range gets its own descriptor, which the channel closes once the
    /// region is written or dropped, whatever happens to the store's handle meanwhile. Anything else (no descriptor
    /// left, a stream) is left to the pooled path.
    static func inlineBody(_ body: ObjectBody?) throws -> BufferedResponse.Body? {
        struct TakePooledPath: Error {}
        switch body {
        case nil: return nil
        case .buffer(let buffer)?: return .buffer(buffer)
        case .file(let file, let offset, let length, _)?:
            let (end, overflow) = offset.addingReportingOverflow(length)
            guard !overflow, let start = Int(exactly: offset), let stop = Int(exactly: end) else { throw TakePooledPath() }
            let descriptor = dup(file.fd)
            guard descriptor >= 0 else { throw TakePooledPath() }
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor)
            return .file(FileRegion(fileHandle: handle, readerIndex: start, endIndex: stop))
        case .stream?: throw TakePooledPath()
        }
    }

    /// A read that the pooled path would treat specially in none of the ways the inline path leaves out: no body,
    /// no CORS origin, no `Connection: close` (the pooled path closes after answering), no `Expect`.
    static func isPlainRead(_ fields: HTTPFields) -> Bool {
        if fields[.origin] != nil || fields[.expect] != nil || fields[.transferEncoding] != nil { return false }
        if let connection = fields[.connection], connection.lowercased() != "keep-alive" { return false }
        if let length = fields[.contentLength], length != "0" { return false }
        return true
    }
}

/// The Date header, formatted once a second (as Hummingbird does for the pooled path).
enum ResponseDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

    static var current: String {
        let now = time(nil)
        return cache.withLock { cached in
            if cached.second != now { cached = (now, HTTPDate.rfc1123(seconds: Int64(now))) }
            return cached.text
        }
    }
}
