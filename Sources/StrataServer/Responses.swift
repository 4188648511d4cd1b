import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore

/// Response construction shared by every handler.
enum Responses {
    static let xmlContentType = "application/xml"

    static func xml(_ document: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = xmlContentType
        let buffer = ByteBuffer(string: document)
        fields[.contentLength] = String(buffer.readableBytes)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
    }

    /// A body the store produced, streamed at the client's pace.
    /// Rate limiters pace it in slices of 64 KiB, so the limit is smooth and nothing more than a chunk is held.
    static func stream(_ body: ObjectBody, limiters: [RateLimiter] = []) -> ResponseBody {
        let bytes = body.bytes
        return ResponseBody(contentLength: Int(body.length)) { writer in
            for try await buffer in bytes {
                guard !limiters.isEmpty else {
                    try await writer.write(buffer)
                    continue
                }
                var rest = buffer
                while let slice = rest.readSlice(length: min(rest.readableBytes, 65_536)), slice.readableBytes > 0 {
                    for limiter in limiters { await limiter.acquire(slice.readableBytes) }
                    try await writer.write(slice)
                }
            }
            try await writer.finish(nil)
        }
    }

    /// The headers of a GET or HEAD answer: the validators, and (unless it is a 304) the stored content headers with
    /// `response-*` overrides from `query`, the range and the length.
    static func objectHeaders(_ output: GetObjectOutput, query: QueryParameters) -> HTTPFields {
        var headers = HTTPFields()
        headers[.eTag] = "\"\(output.etag)\""
        headers[.lastModified] = HTTPDate.rfc1123(seconds: output.lastModifiedSeconds)
        headers[.acceptRanges] = "bytes"
        guard output.status != .notModified else { return headers }
        ObjectMetadataHeaders.apply(output.metadata, to: &headers, query: query)
        if let contentRange = output.contentRange { headers[.contentRange] = contentRange }
        headers[.contentLength] = String(output.contentLength)
        return headers
    }

    static func objectStatus(_ output: GetObjectOutput) -> HTTPResponse.Status {
        switch output.status {
        case .notModified: .notModified
        case .partialContent: .partialContent
        default: .ok
        }
    }

    static func empty(_ status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentLength] = "0"
        return Response(status: status, headers: fields, body: ResponseBody())
    }

    /// S3's XML error document; HEAD responses carry the status and headers only.
    static func error(_ error: S3Error, requestID: String, resource: String, isHead: Bool) -> Response {
        let (head, body) = errorParts(error, requestID: requestID, resource: resource, isHead: isHead)
        return Response(status: head.status, headers: head.headerFields, body: body.map { ResponseBody(byteBuffer: $0) } ?? ResponseBody())
    }

    /// The error answer as a head and the document, for the pooled and inline paths alike.
    static func errorParts(_ error: S3Error, requestID: String, resource: String, isHead: Bool) -> (HTTPResponse, ByteBuffer?) {
        var fields = HTTPFields()
        for (name, value) in error.headers {
            if let fieldName = HTTPField.Name(name) { fields[fieldName] = value }
        }
        let status = HTTPResponse.Status(code: error.status)
        if error.code == .notModified {
            fields[.contentLength] = "0"
            return (HTTPResponse(status: status, headerFields: fields), nil)
        }
        let buffer = ByteBuffer(string: errorDocument(error, requestID: requestID, resource: resource))
        fields[.contentType] = xmlContentType
        // A HEAD answer describes the GET answer without its body (RFC 9110 §9.3.2), so its length is the document's.
        fields[.contentLength] = String(buffer.readableBytes)
        return (HTTPResponse(status: status, headerFields: fields), isHead ? nil : buffer)
    }

    static func errorDocument(_ error: S3Error, requestID: String, resource: String) -> String {
        var xml = XMLWriter(root: "Error", namespace: nil)
        xml.element("Code", error.code.rawValue)
        xml.element("Message", error.message)
        for (name, value) in error.details { xml.element(name, value) }
        xml.element("Resource", error.resource ?? resource)
        xml.element("RequestId", requestID)
        xml.element("HostId", requestID)
        return xml.finish()
    }
}

extension HTTPFields {
    /// Header value by a name known only at run time.
    subscript(named name: String) -> String? {
        guard let field = HTTPField.Name(name) else { return nil }
        return self[field]
    }

    mutating func set(_ name: String, _ value: String) {
        guard let field = HTTPField.Name(name) else { return }
        self[field] = value
    }
}

extension HTTPField.Name {
    /// Names every response carries, validated once rather than per request.
    static let amzRequestID = HTTPField.Name("x-amz-request-id")!
    static let amzID2 = HTTPField.Name("x-amz-id-2")!
    static let requestID = HTTPField.Name("x-request-id")!
}
