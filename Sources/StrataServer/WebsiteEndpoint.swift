import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import S3Protocol
import StrataStore
import Synchronization

/// The website listener: a request's `Host` names a bucket with a website configuration, whose objects are served to
/// anonymous readers with the index document for directory paths and the error document for misses. Only GET and
/// HEAD. Every object read passes the authorization gate as the anonymous `reader`: a website shows what the
/// permission model lets anyone read (public-read objects when signatures are required), never an object its owner
/// kept private.
struct WebsiteResponder: HTTPResponder {
    typealias Context = S3RequestContext
    let storage: any ObjectStorage
    let gate: AuthorizationGate
    /// Who a website's visitor is: the anonymous user, limited to public objects when signatures are required.
    let reader: Identity
    let logger: Logger
    let metrics: RequestMetrics
    let auditLog: AuditLog?
    /// Bound to loopback, only loopback names and the allowed hosts are served (HostGuard.swift).
    var hostGuard = HostGuard.open
    let parsedConfigurations = ParsedWebsiteConfigurations()

    func respond(to request: Request, context: Context) async throws -> Response {
        var record = RequestRecord(listener: "website", request: request, channel: context.channel, audited: auditLog != nil)
        record.operation = "Website" + (request.method == .head ? "Head" : "Get")
        record.bucket = Self.bucketName(host: request.head.authority ?? "")
        record.key = String((request.head.path ?? "/").split(separator: "?", maxSplits: 1).first ?? "/")
        let response = await answer(request)
        let bytesOut = response.headers[.contentLength].flatMap { Int64($0) }
        record.finish(status: Int(response.status.code), bytesOut: bytesOut, metrics: metrics, auditLog: auditLog)
        return response
    }

    private func answer(_ request: Request) async -> Response {
        if let refusal = hostGuard.refusal(request) { return page(.forbidden, "403 Forbidden", refusal, request) }
        guard request.method == .get || request.method == .head else {
            return page(
                .methodNotAllowed,
                "405 Method Not Allowed",
                "Websites are read-only: GET and HEAD only.",
                request,
                extra: [.allow: "GET, HEAD"]
            )
        }
        let host = Self.bucketName(host: request.head.authority ?? "")
        guard BucketName.isSafePath(host) else { return page(.notFound, "404 Not Found", "No website is served for this host.", request) }
        let configuration: WebsiteConfiguration
        do {
            guard let document = try await storage.bucketConfiguration(host, .website) else {
                return page(.notFound, "404 Not Found", "The bucket \(host) has no website configuration.", request)
            }
            configuration = try parsedConfigurations.parse(host, document)
        } catch {
            return page(.notFound, "404 Not Found", "No website is served for this host.", request)
        }
        let path = request.head.path ?? "/"
        if let redirectHost = configuration.redirectHost {
            let location = "\(configuration.redirectProtocol ?? "http")://\(redirectHost)\(path)"
            return Response(status: .movedPermanently, headers: [.location: location, .contentLength: "0"])
        }
        guard let key = configuration.key(forPath: path) else { return page(.badRequest, "400 Bad Request", "The path cannot be decoded.", request) }
        do {
            return try await serve(request, bucket: host, key: key)
        } catch let error as S3Error where error.code == .noSuchKey {
            // `/dir` names a directory when `dir/index.html` exists: send the browser to `/dir/`, as AWS does.
            if let index = configuration.indexSuffix, !key.hasSuffix("/" + index), key != index,
                (try? await serve(request, bucket: host, key: key + "/" + index, headOnly: true)) != nil
            {
                let directory = WebsiteConfiguration.directoryLocation(forKey: key)
                return Response(status: .found, headers: [.location: directory, .contentLength: "0"])
            }
            if let errorKey = configuration.errorKey, var response = try? await serve(request, bucket: host, key: errorKey, conditional: false) {
                response.status = .notFound
                return response
            }
            return page(.notFound, "404 Not Found", "The page \(key) does not exist.", request)
        } catch let error as S3Error {
            return page(HTTPResponse.Status(code: error.status), "\(error.status) \(error.code.rawValue)", error.message, request)
        } catch {
            logger.error("website request failed", metadata: ["error": "\(error)"])
            return page(.internalServerError, "500 Internal Server Error", "The page could not be read.", request)
        }
    }

    /// The bucket a Host header names: the host without its port, lowercased (DNS names are case-insensitive).
    static func bucketName(host: String) -> String {
        var name = Substring(host)
        if name.hasPrefix("[") {
            name = name.split(separator: "]").first.map { $0.dropFirst() } ?? name
        } else if let colon = name.lastIndex(of: ":") {
            name = name[..<colon]
        }
        return name.lowercased()
    }

    /// An object with its content headers, honouring Range and the conditional headers, read as the gate admits
    /// the anonymous reader's GetObject.
    private func serve(
        _ request: Request,
        bucket: String,
        key: String,
        conditional: Bool = true,
        headOnly: Bool? = nil
    ) async throws -> Response {
        let target = try S3Target(rawTarget: "/" + PercentEncoding.encode(bucket) + "/" + PercentEncoding.encode(key, keepSlash: true))
        let parsed = try S3Request.parse(
            operation: .getObject,
            target: target,
            header: { conditional ? request.headers[named: $0] : nil },
            isReservedKey: { _ in false },
            escapesKeySegments: true
        )
        let call = S3Call(
            request: request,
            target: target,
            operation: .getObject,
            requestID: "",
            identity: reader,
            bodyProgress: BodyProgress()
        )
        let admitted = try await gate.admit(call, parsed.action)
        guard case .getObject(let read) = admitted.action else { throw S3Error(.internalError) }
        let output = try await storage.getObject(ObjectHandlers.getInput(admitted, read, head: headOnly ?? (request.method == .head)))
        let headers = Responses.objectHeaders(output, query: try QueryParameters(raw: nil))
        let status = Responses.objectStatus(output)
        if status == .notModified { return Responses.empty(.notModified, headers: headers) }
        guard let body = output.body else { return Response(status: status, headers: headers, body: ResponseBody()) }
        return Response(status: status, headers: headers, body: Responses.stream(body))
    }

    /// A small HTML page for errors (HEAD gets the status and headers only).
    private func page(_ status: HTTPResponse.Status, _ title: String, _ detail: String, _ request: Request, extra: HTTPFields = [:]) -> Response {
        let html =
            "<html><head><title>\(XMLWriter.escape(title))</title></head><body><h1>\(XMLWriter.escape(title))</h1>"
            + "<p>\(XMLWriter.escape(detail))</p></body></html>\n"
        var headers = extra
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentLength] = String(html.utf8.count)
        let body = request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: html))
        return Response(status: status, headers: headers, body: body)
    }

    static func make(
        host: String,
        port: Int,
        storage: any ObjectStorage,
        gate: AuthorizationGate,
        reader: Identity,
        metrics: RequestMetrics,
        auditLog: AuditLog?,
        hostGuard: HostGuard,
        logger: Logger
    )
        -> some ApplicationProtocol
    {
        Application(
            responder: WebsiteResponder(
                storage: storage,
                gate: gate,
                reader: reader,
                logger: logger,
                metrics: metrics,
                auditLog: auditLog,
                hostGuard: hostGuard
            ),
            configuration: .init(address: .hostname(host, port: port), serverName: "Strata-website"),
            onServerRunning: { channel in
                logger.notice("Strata website endpoint listening on http://\(host):\(channel.localAddress?.port ?? port)/ (bucket by Host header)")
            },
            logger: logger
        )
    }
}

/// The last parsed website configuration of each bucket, reused while the stored document is byte for byte the same:
/// the document is still read on every request (so a change shows at once), only its XML is not parsed again.
final class ParsedWebsiteConfigurations: Sendable {
    private let parsed = Mutex<[String: (document: [UInt8], configuration: WebsiteConfiguration)]>([:])
    static let capacity = 1024

    func parse(_ bucket: String, _ document: [UInt8]) throws -> WebsiteConfiguration {
        if let kept = parsed.withLock({ $0[bucket] }), kept.document == document { return kept.configuration }
        let configuration = try WebsiteConfiguration.parse(document)
        parsed.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[bucket] = (document, configuration)
        }
        return configuration
    }
}
