import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import S3Protocol
import StrataStore

/// The single entry point for S3 requests: parse the target, identify the caller, route to an operation,
/// run its handler, and turn every failure into S3's error document. One access-log line per request.
struct S3Responder: HTTPResponder {
    typealias Context = S3RequestContext

    /// Where objects live: the local filesystem, or the tiered store in front of an upstream S3.
    let storage: any ObjectStorage
    let settings: ServerSettings
    let logger: Logger
    /// Verifies signatures in SIGV4 mode; nil in SIMPLE mode.
    let authenticator: Authenticator?
    let requestMetrics: RequestMetrics

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = RequestIDs.resolve(request.headers[named: "x-request-id"])
        var operationName = "Unknown"
        var bucketName = ""
        var keyName = ""
        var resource = "/"
        var response: Response
        let bodyProgress = BodyProgress()
        do {
            let target = try S3Target(rawTarget: request.head.path ?? "/")
            bucketName = target.bucket ?? ""
            keyName = target.key ?? ""
            let operation = S3Router.route(
                method: request.method.rawValue,
                target: target,
                hasCopySource: request.headers[named: "x-amz-copy-source"] != nil
            )
            operationName = operation.name
            let identity = try identify(request, target)
            let call = S3Call(
                request: request,
                target: target,
                operation: operation,
                requestID: requestID,
                identity: identity,
                bodyProgress: bodyProgress
            )
            resource = call.resource
            try await authorize(call)
            // Only an authenticated, authorized request is invited to send its body.
            if request.headers[.expect] != nil {
                try? await context.channel.triggerUserOutboundEvent(ConnectionGuard.SendContinue()).get()
            }
            response = try await dispatch(call)
        } catch let error as S3Error {
            response = Responses.error(error, requestID: requestID, resource: resource, isHead: request.method == .head)
        } catch {
            logger.error("unexpected failure", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
            response = Responses.error(S3Error(.internalError), requestID: requestID, resource: resource, isHead: request.method == .head)
        }
        if response.status.code >= 300, Self.declaresBody(request), !bodyProgress.isFinished {
            // The body was not read: close rather than drain what the client may still send.
            response.headers[.connection] = "close"
        }
        response.headers.set("x-amz-request-id", requestID)
        response.headers.set("x-amz-id-2", requestID)
        response.headers.set("x-request-id", requestID)
        response.headers[.server] = "Strata"
        requestMetrics.record(operation: operationName, status: Int(response.status.code), bytes: Int(response.headers[.contentLength] ?? "") ?? 0)
        if settings.accessLog {
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            logger.info(
                "request",
                metadata: [
                    "request_id": "\(requestID)", "operation": "\(operationName)", "method": "\(request.method.rawValue)",
                    "bucket": "\(bucketName)", "key": "\(keyName)", "status": "\(response.status.code)",
                    "bytes": "\(response.headers[.contentLength] ?? "-")", "duration_ms": "\(String(format: "%.2f", ms))",
                ]
            )
        }
        return response
    }

    static func declaresBody(_ request: Request) -> Bool {
        if request.headers[.transferEncoding] != nil { return true }
        guard let length = request.headers[.contentLength] else { return false }
        return length != "0"
    }

    /// SIGV4 mode verifies the signature; SIMPLE mode takes the access key named in the request as the user.
    private func identify(_ request: Request, _ target: S3Target) throws(S3Error) -> Identity {
        if let authenticator { return try authenticator.authenticate(request, target) }
        if let user = try SimpleIdentity.user(authorization: request.headers[.authorization], query: target.query) {
            return .simple(user)
        }
        guard settings.anonymousAccess else { throw S3Error(.accessDenied, "Anonymous access is disabled; sign the request.") }
        return .simple(settings.anonymousUser)
    }

    private func dispatch(_ call: S3Call) async throws -> Response {
        switch call.operation {
        case .listBuckets: return try await listBuckets(call)
        case .createBucket: return try await createBucket(call)
        case .headBucket: return try await headBucket(call)
        case .deleteBucket: return try await deleteBucket(call)
        case .getBucketLocation: return try await getBucketLocation(call)
        case .getBucketVersioning: return try await getBucketVersioning(call)
        case .getBucketAcl: return try await getBucketAcl(call)
        case .listObjects: return try await listObjects(call, version: 1)
        case .listObjectsV2: return try await listObjects(call, version: 2)
        case .deleteObjects: return try await deleteObjects(call)
        case .putObject: return try await putObject(call)
        case .copyObject: return try await copyObject(call)
        case .getObject: return try await getObject(call, head: false)
        case .headObject: return try await getObject(call, head: true)
        case .deleteObject: return try await deleteObject(call)
        case .getObjectAcl: return try await getObjectAcl(call)
        case .getBucketTagging: return try await getBucketTagging(call)
        case .putBucketTagging: return try await putBucketTagging(call)
        case .deleteBucketTagging: return try await deleteBucketTagging(call)
        case .getObjectTagging: return try await getObjectTagging(call)
        case .putObjectTagging: return try await putObjectTagging(call)
        case .deleteObjectTagging: return try await deleteObjectTagging(call)
        case .createMultipartUpload: return try await createMultipartUpload(call)
        case .uploadPart: return try await uploadPart(call)
        case .uploadPartCopy: return try await uploadPartCopy(call)
        case .completeMultipartUpload: return try await completeMultipartUpload(call)
        case .abortMultipartUpload: return try await abortMultipartUpload(call)
        case .listParts: return try await listParts(call)
        case .listMultipartUploads: return try await listMultipartUploads(call)
        case .notImplemented(let name):
            throw S3Error(.notImplemented, "\(name) is not implemented by this server.")
        }
    }
}

/// Hummingbird's basic context plus the connection, so the responder can ask the connection guard to send
/// `100 Continue` once a request is authorized.
struct S3RequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

enum RequestIDs {
    /// Honours a client's X-Request-Id when it is short printable ASCII; otherwise makes an AWS-style id.
    static func resolve(_ incoming: String?) -> String {
        if let incoming, !incoming.isEmpty, incoming.utf8.count <= 128,
            incoming.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "&") })
        {
            return incoming
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEF".utf8)
        return String(decoding: (0..<16).map { _ in alphabet[Int(generator.next() % 16)] }, as: UTF8.self)
    }
}
