import AsyncAlgorithms
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import S3Protocol
import StrataStore

/// How to reach the upstream S3 service.
public struct UpstreamSettings: Sendable {
    public var endpoint: String
    public var region: String
    public var accessKey: String
    public var secretKey: String
    public var pathStyle: Bool
    public var verifyTLS: Bool
    public var connectTimeoutMilliseconds: Int64
    public var requestTimeoutMilliseconds: Int64
    public var concurrency: Int
    /// Temporary credentials in place of the stored keys (AssumeRoleWithWebIdentity); nil: accessKey and secretKey.
    public var credentialSource: (any UpstreamCredentialSource)?

    public init(
        endpoint: String,
        region: String,
        accessKey: String,
        secretKey: String,
        pathStyle: Bool = true,
        verifyTLS: Bool = true,
        connectTimeoutMilliseconds: Int64 = 10_000,
        requestTimeoutMilliseconds: Int64 = 300_000,
        concurrency: Int = 64
    ) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.region = region
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.pathStyle = pathStyle
        self.verifyTLS = verifyTLS
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.concurrency = concurrency
    }
}

/// What the upstream says about one object.
public struct UpstreamObject: Sendable, Equatable {
    public var etag: String
    public var size: Int64
    public var lastModified: Int64
    public var contentType: String?
    /// The permission stored beside the object (`Permission.upstreamHeader`); nil when it has none recorded.
    public var permission: Permission?
    /// The content headers and `x-amz-meta-*` the upstream keeps with the object (lowercased names), without the
    /// permission: what a copy made upstream with a new permission must carry over.
    public var metadataHeaders: [String: String]
    /// How many tags the object has (`x-amz-tagging-count`): a copy kept locally fetches them when there are any.
    public var tagCount: Int

    public init(
        etag: String,
        size: Int64,
        lastModified: Int64,
        contentType: String?,
        permission: Permission? = nil,
        metadataHeaders: [String: String] = [:],
        tagCount: Int = 0
    ) {
        self.etag = etag
        self.size = size
        self.lastModified = lastModified
        self.contentType = contentType
        self.permission = permission
        self.metadataHeaders = metadataHeaders
        self.tagCount = tagCount
    }

    static let contentHeaders: Set<String> = [
        "content-type", "content-encoding", "content-disposition", "content-language", "cache-control", "expires",
    ]
}

/// One page of an upstream ListObjectsV2.
public struct UpstreamListPage: Sendable {
    public var objects: [(key: String, object: UpstreamObject)] = []
    public var commonPrefixes: [String] = []
    public var isTruncated = false
    public var nextContinuationToken: String?

    public init() {}
}

/// The upstream S3 as the tiered store uses it: the S3 actions it needs, typed. `UpstreamClient` speaks it over
/// HTTP; tests substitute an in-memory upstream.
public protocol UpstreamS3: Sendable {
    func head(bucket: String, key: String) async throws -> UpstreamObject?
    /// nil when the upstream has no such object; the body is pulled as it is consumed.
    func get(bucket: String, key: String, range: ClosedRange<Int64>?) async throws -> (UpstreamObject, ByteStream)?
    /// Streams a body of known length; returns the upstream ETag.
    func put(bucket: String, key: String, body: AsyncChannel<ByteBuffer>, length: Int64, headers: [(String, String)]) async throws -> String
    /// Creates a bucket; one that exists already is fine.
    func createBucket(_ bucket: String) async throws
    /// Deletes a key; a missing key is fine.
    func delete(bucket: String, key: String) async throws
    func copyObject(fromBucket: String, fromKey: String, toBucket: String, toKey: String, headers: [(String, String)]) async throws -> String
    func createMultipartUpload(bucket: String, key: String, headers: [(String, String)]) async throws -> String
    func uploadPart(
        bucket: String,
        key: String,
        uploadId: String,
        partNumber: Int,
        body: AsyncChannel<ByteBuffer>,
        length: Int64
    ) async throws -> String
    func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [(number: Int, etag: String)]) async throws -> String
    func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws
    /// An object's tags; nil when the upstream has no such object.
    func tagging(bucket: String, key: String) async throws -> TagSet?
    /// Replaces an object's tags (an empty set removes them).
    func setTagging(bucket: String, key: String, tags: TagSet) async throws
    func list(
        bucket: String,
        prefix: String,
        delimiter: String?,
        startAfter: String?,
        continuationToken: String?,
        maxKeys: Int
    ) async throws
        -> UpstreamListPage
    func shutdown() async
}

extension UpstreamS3 {
    public func get(bucket: String, key: String) async throws -> (UpstreamObject, ByteStream)? { try await get(bucket: bucket, key: key, range: nil) }

    public func list(bucket: String, prefix: String, delimiter: String?, startAfter: String?, maxKeys: Int) async throws -> UpstreamListPage {
        try await list(bucket: bucket, prefix: prefix, delimiter: delimiter, startAfter: startAfter, continuationToken: nil, maxKeys: maxKeys)
    }
}

/// A pooled, SigV4-signing client for the upstream S3, signed by the same signer that verifies requests.
public final class UpstreamClient: UpstreamS3 {
    public let settings: UpstreamSettings
    let http: HTTPClient
    let logger: Logger

    public init(settings: UpstreamSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        var tls = TLSConfiguration.makeClientConfiguration()
        if !settings.verifyTLS { tls.certificateVerification = .none }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(settings.connectTimeoutMilliseconds), read: .milliseconds(settings.requestTimeoutMilliseconds))
        )
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: settings.concurrency)
        configuration.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: Requests

    struct Target {
        var url: String
        var host: String
        var path: String
    }

    func target(bucket: String, key: String?, query: [(String, String)] = []) -> Target {
        let endpoint = settings.endpoint
        let schemeEnd = endpoint.range(of: "://")?.upperBound ?? endpoint.startIndex
        let scheme = String(endpoint[..<schemeEnd])
        var authority = String(endpoint[schemeEnd...])
        var basePath = ""
        if let slash = authority.firstIndex(of: "/") {
            basePath = String(authority[slash...])
            authority = String(authority[..<slash])
        }
        var path: String
        if settings.pathStyle {
            path = basePath + "/" + bucket + (key.map { "/" + $0 } ?? "/")
        } else {
            authority = bucket + "." + authority
            path = basePath + "/" + (key ?? "")
        }
        if path.isEmpty { path = "/" }
        var url = scheme + authority + SigV4.uriEncode(path, encodeSlash: false)
        if !query.isEmpty {
            url +=
                "?" + query.map { "\(SigV4.uriEncode($0.0, encodeSlash: true))=\(SigV4.uriEncode($0.1, encodeSlash: true))" }.joined(separator: "&")
        }
        return Target(url: url, host: authority, path: path)
    }

    /// Signs a request with SigV4 (`payloadHash` is UNSIGNED-PAYLOAD for streamed bodies).
    func sign(_ request: inout HTTPClientRequest, target: Target, query: [(String, String)], payloadHash: String, credentials: UpstreamCredentials) {
        let now = Date()
        let amzDate = Self.amzDate(now)
        request.headers.replaceOrAdd(name: "host", value: target.host)
        if let token = credentials.sessionToken { request.headers.replaceOrAdd(name: "x-amz-security-token", value: token) }
        request.headers.replaceOrAdd(name: "x-amz-date", value: amzDate)
        request.headers.replaceOrAdd(name: "x-amz-content-sha256", value: payloadHash)
        let headers = request.headers.map { (name: $0.name.lowercased(), value: $0.value) }
        let signed = Array(Set(headers.map(\.name))).sorted()
        let canonical = SigV4.canonicalRequest(
            method: request.method.rawValue,
            path: target.path,
            query: query.map { (name: $0.0, value: $0.1) },
            headers: headers,
            signedHeaders: signed,
            payloadHash: payloadHash
        )
        let date = String(amzDate.prefix(8))
        let scope = "\(date)/\(settings.region)/s3/aws4_request"
        let key = SigV4.signingKey(secret: credentials.secretKey, date: date, region: settings.region, service: "s3")
        let signature = SigV4.signature(key: key, stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        request.headers.replaceOrAdd(
            name: "authorization",
            value:
                "\(SigV4.algorithm) Credential=\(credentials.accessKey)/\(scope), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)"
        )
    }

    static func amzDate(_ date: Date) -> String {
        let iso = HTTPDate.iso8601(date)  // 2015-10-21T07:28:00.000Z
        return iso.prefix(19).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "") + "Z"
    }

    var timeout: TimeAmount { .milliseconds(settings.requestTimeoutMilliseconds) }

    func execute(
        _ method: HTTPMethod,
        bucket: String,
        key: String?,
        query: [(String, String)] = [],
        headers: [(String, String)] = [],
        body: HTTPClientRequest.Body? = nil,
        payloadHash: String = SigV4.emptySHA256
    ) async throws -> HTTPClientResponse {
        let target = target(bucket: bucket, key: key, query: query)
        var request = HTTPClientRequest(url: target.url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = body }
        let credentials: UpstreamCredentials
        if let source = settings.credentialSource {
            credentials = try await source.current()
        } else {
            credentials = UpstreamCredentials(accessKey: settings.accessKey, secretKey: settings.secretKey)
        }
        sign(&request, target: target, query: query, payloadHash: payloadHash, credentials: credentials)
        do {
            return try await http.execute(request, timeout: timeout)
        } catch {
            throw UpstreamError.unavailable("\(error)")
        }
    }

    // MARK: Objects

    public func head(bucket: String, key: String) async throws -> UpstreamObject? {
        let response = try await execute(.HEAD, bucket: bucket, key: key)
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw UpstreamError.status(Int(response.status.code), "HEAD") }
        return Self.object(response.headers)
    }

    static func object(_ headers: HTTPHeaders) -> UpstreamObject {
        var metadata: [String: String] = [:]
        for (name, value) in headers {
            let lowered = name.lowercased()
            guard UpstreamObject.contentHeaders.contains(lowered) || lowered.hasPrefix("x-amz-meta-"), lowered != Permission.upstreamHeader
            else { continue }
            metadata[lowered] = value
        }
        return UpstreamObject(
            etag: Conditions.unquote(headers.first(name: "etag") ?? ""),
            size: Int64(headers.first(name: "content-length") ?? "") ?? 0,
            lastModified: headers.first(name: "last-modified").flatMap(HTTPDate.parse) ?? 0,
            contentType: headers.first(name: "content-type"),
            permission: headers.first(name: Permission.upstreamHeader).flatMap(Permission.init(headerValue:)),
            metadataHeaders: metadata,
            tagCount: headers.first(name: "x-amz-tagging-count").flatMap { DecimalNumber.parseInt($0, in: 0...1_000_000) } ?? 0
        )
    }

    /// Starts a GET; nil when the upstream has no such object. The caller streams the body, which pulls from the
    /// connection only as fast as it is consumed.
    public func get(bucket: String, key: String, range: ClosedRange<Int64>?) async throws -> (UpstreamObject, ByteStream)? {
        var headers: [(String, String)] = []
        if let range { headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let response = try await execute(.GET, bucket: bucket, key: key, headers: headers)
        if response.status == .notFound { return nil }
        guard response.status == .ok || response.status == .partialContent else {
            _ = try? await response.body.collect(upTo: 1 << 16)
            throw UpstreamError.status(Int(response.status.code), "GET")
        }
        let body = response.body
        let stream = ByteStream {
            let iterator = IteratorBox(body.makeAsyncIterator())
            return { try await iterator.next() }
        }
        return (Self.object(response.headers), stream)
    }

    /// Streams a body of known length to the upstream; returns the upstream ETag.
    public func put(
        bucket: String,
        key: String,
        body: AsyncChannel<ByteBuffer>,
        length: Int64,
        headers extra: [(String, String)]
    ) async throws -> String {
        let headers: [(String, String)] = [("content-length", String(length))] + extra
        let response = try await execute(
            .PUT,
            bucket: bucket,
            key: key,
            headers: headers,
            body: .stream(body, length: .known(length)),
            payloadHash: SigV4.unsignedPayload
        )
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok else { throw UpstreamError.status(Int(response.status.code), "PUT") }
        return Conditions.unquote(response.headers.first(name: "etag") ?? "")
    }

    /// Creates the upstream bucket; one that exists already is fine.
    public func createBucket(_ bucket: String) async throws {
        let response = try await execute(.PUT, bucket: bucket, key: nil)
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok || response.status == .conflict else { throw UpstreamError.status(Int(response.status.code), "CreateBucket") }
    }

    public func delete(bucket: String, key: String) async throws {
        let response = try await execute(.DELETE, bucket: bucket, key: key)
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard response.status == .noContent || response.status == .ok || response.status == .notFound else {
            throw UpstreamError.status(Int(response.status.code), "DELETE")
        }
    }

    /// Server-side copy inside the upstream; returns the new ETag.
    public func copyObject(
        fromBucket: String,
        fromKey: String,
        toBucket: String,
        toKey: String,
        headers extra: [(String, String)]
    ) async throws -> String {
        let source = "/" + fromBucket + "/" + SigV4.uriEncode(fromKey, encodeSlash: false)
        let response = try await execute(.PUT, bucket: toBucket, key: toKey, headers: [("x-amz-copy-source", source)] + extra)
        let body = try await response.body.collect(upTo: 1 << 20)
        if response.status == .notFound { throw UpstreamError.status(404, "CopyObject") }
        guard response.status == .ok else { throw UpstreamError.status(Int(response.status.code), "CopyObject") }
        let root = try XMLDocument.parse(Array(body.readableBytesView))
        guard root.name != "Error", let etag = root.child("ETag")?.text else {
            throw UpstreamError.status(200, "CopyObject: \(root.child("Code")?.text ?? "no result")")
        }
        return Conditions.unquote(etag)
    }

    // MARK: Tags (kept upstream with the object, so they outlive its local copy)

    public func tagging(bucket: String, key: String) async throws -> TagSet? {
        let response = try await execute(.GET, bucket: bucket, key: key, query: [("tagging", "")])
        let body = try await response.body.collect(upTo: 1 << 20)
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw UpstreamError.status(Int(response.status.code), "GetObjectTagging") }
        return try TagSet.parseXML(Array(body.readableBytesView))
    }

    public func setTagging(bucket: String, key: String, tags: TagSet) async throws {
        guard !tags.isEmpty else {
            // No tags: DeleteObjectTagging, which every S3 implementation takes (some refuse an empty TagSet).
            let response = try await execute(.DELETE, bucket: bucket, key: key, query: [("tagging", "")])
            _ = try? await response.body.collect(upTo: 1 << 16)
            guard response.status == .noContent || response.status == .ok else {
                throw UpstreamError.status(Int(response.status.code), "DeleteObjectTagging")
            }
            return
        }
        let document = Array(tags.xml().utf8)
        let md5 = Data(Insecure.MD5.hash(data: document)).base64EncodedString()
        let response = try await execute(
            .PUT,
            bucket: bucket,
            key: key,
            query: [("tagging", "")],
            headers: [("content-length", String(document.count)), ("content-md5", md5)],
            body: .bytes(ByteBuffer(bytes: document)),
            payloadHash: SigV4.sha256Hex(document)
        )
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok || response.status == .noContent else {
            throw UpstreamError.status(Int(response.status.code), "PutObjectTagging")
        }
    }

    // MARK: Multipart (THROUGH uploads are forwarded as upstream multipart uploads)

    public func createMultipartUpload(bucket: String, key: String, headers: [(String, String)]) async throws -> String {
        let query = [("uploads", "")]
        let response = try await execute(.POST, bucket: bucket, key: key, query: query, headers: headers)
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw UpstreamError.status(Int(response.status.code), "CreateMultipartUpload") }
        guard let id = try XMLDocument.parse(Array(body.readableBytesView)).child("UploadId")?.text else {
            throw UpstreamError.status(Int(response.status.code), "CreateMultipartUpload without an UploadId")
        }
        return id
    }

    public func uploadPart(
        bucket: String,
        key: String,
        uploadId: String,
        partNumber: Int,
        body: AsyncChannel<ByteBuffer>,
        length: Int64
    ) async throws -> String {
        let query = [("partNumber", String(partNumber)), ("uploadId", uploadId)]
        let response = try await execute(
            .PUT,
            bucket: bucket,
            key: key,
            query: query,
            headers: [("content-length", String(length))],
            body: .stream(body, length: .known(length)),
            payloadHash: SigV4.unsignedPayload
        )
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok else { throw UpstreamError.status(Int(response.status.code), "UploadPart") }
        return Conditions.unquote(response.headers.first(name: "etag") ?? "")
    }

    public func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [(number: Int, etag: String)]) async throws -> String {
        var xml = XMLWriter(root: "CompleteMultipartUpload")
        for part in parts {
            xml.group("Part") {
                $0.element("PartNumber", part.number)
                $0.element("ETag", "\"\(part.etag)\"")
            }
        }
        let document = Array(xml.finish().utf8)
        let response = try await execute(
            .POST,
            bucket: bucket,
            key: key,
            query: [("uploadId", uploadId)],
            headers: [("content-length", String(document.count))],
            body: .bytes(ByteBuffer(bytes: document)),
            payloadHash: SigV4.sha256Hex(document)
        )
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw UpstreamError.status(Int(response.status.code), "CompleteMultipartUpload") }
        let root = try XMLDocument.parse(Array(body.readableBytesView))
        // A 200 can still carry an error document (S3 reports late failures that way); some servers name the
        // result element differently, so any non-error document with an ETag is success.
        guard root.name != "Error", let etag = root.child("ETag")?.text else {
            throw UpstreamError.status(Int(response.status.code), "CompleteMultipartUpload: \(root.child("Code")?.text ?? "no result")")
        }
        return Conditions.unquote(etag)
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        let response = try await execute(.DELETE, bucket: bucket, key: key, query: [("uploadId", uploadId)])
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard response.status == .noContent || response.status == .ok || response.status == .notFound else {
            throw UpstreamError.status(Int(response.status.code), "AbortMultipartUpload")
        }
    }

    public func list(
        bucket: String,
        prefix: String,
        delimiter: String?,
        startAfter: String?,
        continuationToken: String?,
        maxKeys: Int
    ) async throws -> UpstreamListPage {
        var query: [(String, String)] = [("list-type", "2"), ("max-keys", String(maxKeys)), ("prefix", prefix)]
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let startAfter { query.append(("start-after", startAfter)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let response = try await execute(.GET, bucket: bucket, key: nil, query: query)
        let body = try await response.body.collect(upTo: 32 << 20)
        if response.status == .notFound { return UpstreamListPage() }
        guard response.status == .ok else { throw UpstreamError.status(Int(response.status.code), "LIST") }
        let root = try XMLDocument.parse(Array(body.readableBytesView))
        var page = UpstreamListPage()
        page.isTruncated = root.child("IsTruncated")?.text == "true"
        page.nextContinuationToken = root.child("NextContinuationToken")?.text
        for item in root.children("Contents") {
            guard let key = item.child("Key")?.text else { continue }
            page.objects.append(
                (
                    key,
                    UpstreamObject(
                        etag: Conditions.unquote(item.child("ETag")?.text ?? ""),
                        size: Int64(item.child("Size")?.text ?? "") ?? 0,
                        lastModified: item.child("LastModified").flatMap { HTTPDate.parse($0.text) } ?? 0,
                        contentType: nil
                    )
                )
            )
        }
        page.commonPrefixes = root.children("CommonPrefixes").compactMap { $0.child("Prefix")?.text }
        return page
    }
}

public enum UpstreamError: Error, CustomStringConvertible {
    case unavailable(String)
    case status(Int, String)

    public var description: String {
        switch self {
        case .unavailable(let why): "upstream unavailable: \(why)"
        case .status(let code, let operation): "upstream answered \(code) to \(operation)"
        }
    }

    /// What the client of Strata sees when the upstream fails.
    public var s3Error: S3Error {
        S3Error(.serviceUnavailable, "The upstream S3 service failed: \(description)")
    }
}

/// Holds the HTTP client's body iterator for a ByteStream; only the one task that reads the body uses it.
private final class IteratorBox: @unchecked Sendable {
    var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ iterator: HTTPClientResponse.Body.AsyncIterator) { self.iterator = iterator }

    func next() async throws -> ByteBuffer? { try await iterator.next() }
}
