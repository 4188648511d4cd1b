import Crypto
import Foundation
import HTTPTypes
import S3Protocol
import StrataStore

/// Translation between S3 request/response headers and stored object metadata.
enum ObjectMetadataHeaders {
    static let defaultContentType = "binary/octet-stream"

    /// Reads Content-Type, the other standard headers and `x-amz-meta-*` from a request.
    static func from(_ headers: HTTPFields, owner: String, userMetadataLimit: Int) throws(S3Error) -> ObjectMetadata {
        var meta = ObjectMetadata()
        meta.owner = owner
        meta.contentType = headers[.contentType]
        meta.contentEncoding = strippingAWSChunked(headers[.contentEncoding])
        meta.contentDisposition = headers[named: "content-disposition"]
        meta.contentLanguage = headers[named: "content-language"]
        meta.cacheControl = headers[.cacheControl]
        meta.expires = headers[.expires]
        var user: [String: String] = [:]
        var size = 0
        for field in headers {
            let name = field.name.canonicalName
            guard name.hasPrefix("x-amz-meta-") else { continue }
            let short = String(name.dropFirst("x-amz-meta-".count))
            guard !short.isEmpty else { continue }
            let value = user[short].map { $0 + "," + field.value } ?? field.value
            user[short] = value
            size += short.utf8.count + field.value.utf8.count
        }
        if userMetadataLimit > 0 && size > userMetadataLimit {
            throw S3Error(
                .metadataTooLarge,
                "Your metadata headers exceed the maximum allowed metadata size",
                details: [("Size", "\(size)"), ("MaxSizeAllowed", "\(userMetadataLimit)")]
            )
        }
        meta.userMetadata = user.isEmpty ? nil : user
        return meta
    }

    /// `aws-chunked` describes the request framing only; it must never be stored or returned. Any other value is
    /// kept exactly as sent (`deflate, gzip` stays `deflate, gzip`), as AWS does.
    static func strippingAWSChunked(_ value: String?) -> String? {
        guard let value else { return nil }
        let codings = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard codings.contains(where: { $0.lowercased() == "aws-chunked" }) else { return value }
        let kept = codings.filter { !$0.isEmpty && $0.lowercased() != "aws-chunked" }
        return kept.isEmpty ? nil : kept.joined(separator: ", ")
    }

    /// Adds an object's stored headers to a GET/HEAD response, applying `response-*` overrides.
    static func apply(_ meta: ObjectMetadata, to headers: inout HTTPFields, query: QueryParameters) {
        headers[.contentType] = query["response-content-type"] ?? meta.contentType ?? defaultContentType
        if let v = query["response-content-encoding"] ?? meta.contentEncoding { headers[.contentEncoding] = v }
        if let v = query["response-content-disposition"] ?? meta.contentDisposition { headers.set("content-disposition", v) }
        if let v = query["response-content-language"] ?? meta.contentLanguage { headers.set("content-language", v) }
        if let v = query["response-cache-control"] ?? meta.cacheControl { headers[.cacheControl] = v }
        if let v = query["response-expires"] ?? meta.expires { headers[.expires] = v }
        for (name, value) in (meta.userMetadata ?? [:]).sorted(by: { $0.key < $1.key }) {
            headers.set("x-amz-meta-" + name, value)
        }
    }

    /// Checks a small collected body against its Content-MD5 header, when there is one.
    static func verifyContentMD5(_ headers: HTTPFields, body: [UInt8]) throws(S3Error) {
        if let expected = try contentMD5(headers), Array(Insecure.MD5.hash(data: body)) != expected { throw S3Error(.badDigest) }
    }

    /// Validates a Content-MD5 header: base64 of exactly 16 bytes.
    static func contentMD5(_ headers: HTTPFields) throws(S3Error) -> [UInt8]? {
        guard let value = headers[named: "content-md5"] else { return nil }
        guard let data = Data(base64Encoded: value.trimmingCharacters(in: .whitespaces)), data.count == 16 else {
            throw S3Error(.invalidDigest)
        }
        return Array(data)
    }
}
