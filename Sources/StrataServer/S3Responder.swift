import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import S3Protocol
import StrataStore
import Synchronization

/// The single entry point for S3 requests: parse the target, identify the caller, parse the action, have the gate
/// admit it, dispatch it to the handler type of its area (S3Dispatch.swift), and turn every failure into S3's error
/// document. One access-log line per request.
struct S3Responder: HTTPResponder {
    typealias Context = S3RequestContext

    /// Where objects live: the local filesystem, or the tiered store in front of an upstream S3.
    let storage: any ObjectStorage
    let settings: ServerSettings
    /// User and group names for the permission model.
    let users: UserDirectory
    /// Alluxio's global read rate limit, shared by every GET.
    let globalReadLimiter: RateLimiter?
    let logger: Logger
    /// Verifies signatures in SIGV4 mode; nil in SIMPLE mode.
    let authenticator: Authenticator?
    let requestMetrics: RequestMetrics
    /// Nil when the access log is off.
    let accessLog: AccessLog?
    /// Nil when the audit log is off.
    var auditLog: AuditLog? = nil
    /// AssumeRoleWithWebIdentity, when the STS is on.
    var sts: STSService? = nil
    /// Strata's own OIDC issuer, whose discovery document and key set this listener serves.
    var issuer: OIDCIssuer? = nil
    /// Set when small GETs and HEADs may be answered on the event loop (`respondInline`).
    var inlineReads: InlineReads? = nil

    func respond(to request: Request, context: Context) async throws -> Response {
        var record = RequestRecord(listener: "s3", request: request, channel: context.channel, audited: auditLog != nil)
        if let refused = refusingForeignHost(request, record) { return refused }
        let requestID = record.requestID
        var resource = "/"
        var response: Response
        let bodyProgress = BodyProgress()
        // Bucket names never start with a dot, so these paths are the issuer's.
        if let issuer, request.method == .get, let path = request.head.path, path.hasPrefix("/.well-known/") {
            record.operation = "OpenIDDiscovery"
            return finish(Self.discovery(issuer, path: path, requestID: requestID), record)
        }
        do {
            let target = try S3Target(rawTarget: request.head.path ?? "/")
            if let sts, STSService.isSTSRequest(request, target) {
                record.operation = "AssumeRoleWithWebIdentity"
                return finish(await sts.handle(request, target, requestID: requestID), record)
            }
            record.bucket = target.bucket ?? ""
            record.key = target.key ?? ""
            let operation = S3Router.route(
                method: request.method.rawValue,
                target: target,
                hasCopySource: request.headers[named: "x-amz-copy-source"] != nil
            )
            record.operation = operation.name
            // A browser's preflight carries no credentials: it is answered from the bucket's CORS rules alone.
            if case .preflight = operation, let bucket = target.bucket {
                return finish(try await preflight(request, bucket: bucket), record)
            }
            if case .postObject = operation {
                // A browser form carries its credentials in the body: the handler reads them before anything else.
                resource = "/\(record.bucket)"
                response = try await postObject(request, target: target, record: &record, bodyProgress: bodyProgress, context: context)
            } else {
                response = try await authenticateAndDispatch(request, target, operation, &record, bodyProgress, context, resource: &resource)
            }
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
        // A refused preflight carries no CORS headers (request.method is OPTIONS only for preflights).
        if !record.bucket.isEmpty, request.method != .options, let origin = request.headers[named: "origin"] {
            await addCORSHeaders(&response, request, bucket: record.bucket, origin: origin)
        }
        return finish(response, record)
    }

    /// The issuer's discovery document and key set (JSON, cacheable for five minutes).
    static func discovery(_ issuer: OIDCIssuer, path: String, requestID: String) -> Response {
        let document: [String: Any]
        switch path.split(separator: "?", maxSplits: 1).first ?? "" {
        case "/.well-known/openid-configuration": document = issuer.discoveryDocument
        case "/.well-known/jwks.json": document = issuer.keySet
        default: return Responses.error(S3Error(.noSuchKey), requestID: requestID, resource: path, isHead: false)
        }
        var response = AdminAPI.json(document)
        response.headers[.cacheControl] = "max-age=300"
        return response
    }

    /// The call as the handlers see it, with the caller identified and recorded for the access log.
    func identifiedCall(
        _ request: Request,
        _ target: S3Target,
        _ operation: S3Operation,
        _ record: inout RequestRecord,
        _ bodyProgress: BodyProgress
    ) throws -> S3Call {
        let identity = try identify(request, target)
        record.user = identity.user
        record.accessKeyID = identity.credential?.accessKey
        return S3Call(
            request: request,
            target: target,
            operation: operation,
            requestID: record.requestID,
            identity: identity,
            bodyProgress: bodyProgress
        )
    }

    /// A request's arguments, with keys checked against the reserved names and escaped (or refused, with strict
    /// keys) as the store keeps them.
    func parseRequest(_ operation: S3Operation, _ target: S3Target, header: @escaping (String) -> String?) throws(S3Error) -> S3Request {
        try S3Request.parse(
            operation: operation,
            target: target,
            header: header,
            isReservedKey: ReservedNames.isReserved,
            escapesKeySegments: !settings.store.strictKeys
        )
    }

    /// Identifies the caller, checks what it may do, and runs the handler.
    private func authenticateAndDispatch(
        _ request: Request,
        _ target: S3Target,
        _ operation: S3Operation,
        _ record: inout RequestRecord,
        _ bodyProgress: BodyProgress,
        _ context: Context,
        resource: inout String
    ) async throws -> Response {
        let call = try identifiedCall(request, target, operation, &record, bodyProgress)
        resource = call.resource
        let parsed = try parseRequest(operation, target, header: { request.headers[named: $0] })
        let admitted = try await gate.admit(call, parsed.action)
        // Only an authenticated, authorized request is invited to send its body.
        if request.headers[.expect] != nil {
            try? await context.channel.triggerUserOutboundEvent(ConnectionGuard.SendContinue()).get()
        }
        return try await dispatch(admitted)
    }

    private func finish(_ answer: Response, _ record: RequestRecord) -> Response {
        var response = answer
        finish(&response.headers, status: response.status, record)
        return response
    }

    /// Request ids, server name, metrics, the access-log line and the audit record: every response passes here,
    /// the inline path's too.
    func finish(_ headers: inout HTTPFields, status: HTTPResponse.Status, _ record: RequestRecord) {
        headers[.amzRequestID] = record.requestID
        headers[.amzID2] = record.requestID
        headers[.requestID] = record.requestID
        headers[.server] = "Strata"
        let length = headers[.contentLength]
        record.finish(status: Int(status.code), bytesOut: length.flatMap { Int64($0) }, metrics: requestMetrics, auditLog: auditLog)
        if let accessLog {
            accessLog.record(
                AccessLog.Line(
                    requestID: record.requestID,
                    operation: record.operation,
                    method: record.method,
                    bucket: record.bucket,
                    key: record.key,
                    status: Int(status.code),
                    bytes: length ?? "-",
                    elapsed: ContinuousClock.now - record.started
                )
            )
        }
    }

    static func declaresBody(_ request: Request) -> Bool {
        if request.headers[.transferEncoding] != nil { return true }
        guard let length = request.headers[.contentLength] else { return false }
        return length != "0"
    }

    /// SIGV4 mode verifies the signature; SIMPLE mode takes the access key named in the request as the user.
    func identify(_ request: Request, _ target: S3Target) throws(S3Error) -> Identity {
        if let authenticator { return try authenticator.authenticate(request, target) }
        return try simpleIdentity(refusal: "Anonymous access is disabled; sign the request.") { () throws(S3Error) in
            try SimpleIdentity.user(authorization: request.headers[.authorization], query: target.query)
        }
    }

    /// SIMPLE mode's caller: under NOSASL the server's own user (no user is named); otherwise the user the request
    /// names, or the anonymous user where anonymous access is on.
    func simpleIdentity(refusal: String, named: () throws(S3Error) -> String?) throws(S3Error) -> Identity {
        if settings.permissions.serverUserOnly { return .simple(users.userName(geteuid())) }
        if let user = try named() { return .simple(user) }
        guard settings.anonymousAccess else { throw S3Error(.accessDenied, refusal) }
        return .simple(settings.anonymousUser)
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
    private static let sequence = Atomic<UInt64>(0)
    private static let key = UInt64.random(in: 0...UInt64.max)

    /// splitmix64's finalizer: a bijection on 64-bit words that spreads every input bit over the output.
    private static func mix(_ input: UInt64) -> UInt64 {
        var z = input
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Honours a client's X-Request-Id when it is short printable ASCII; otherwise makes an AWS-style id.
    static func resolve(_ incoming: String?) -> String {
        if let incoming, !incoming.isEmpty, incoming.utf8.count <= 128,
            incoming.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "&") })
        {
            return incoming
        }
        // Sixteen hex digits of a counter passed through a bijective mixer keyed at start: unique within the process
        // and no getrandom call per request. Not secret (the mixer can be inverted), which a request id need not be.
        var value = mix(sequence.add(1, ordering: .relaxed).newValue &+ key)
        return String(unsafeUninitializedCapacity: 16) { digits in
            for index in (0..<16).reversed() {
                let nibble = UInt8(truncatingIfNeeded: value & 0xF)
                digits[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
                value >>= 4
            }
            return 16
        }
    }
}
