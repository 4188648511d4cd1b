import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore

/// The body of a browser-form POST, read part by part: the fields before the file, then the file's bytes.
/// One reader per request; the file payload continues where the field reading stopped.
final class FormReader: @unchecked Sendable {
    private var iterator: RequestBody.AsyncIterator
    private var parser: FormDataParser
    private var inputEnded = false
    let progress: BodyProgress

    init(_ body: RequestBody, boundary: String, progress: BodyProgress) throws(S3Error) {
        iterator = body.makeAsyncIterator()
        parser = try FormDataParser(boundary: boundary)
        self.progress = progress
    }

    /// The next event; nil when the body ended (after the closing boundary, or too early: then an error).
    func next() async throws -> FormDataParser.Event? {
        while true {
            if let event = try parser.next() { return event }
            if inputEnded {
                try parser.finish()
                return nil
            }
            let chunk: ByteBuffer?
            do {
                chunk = try await iterator.next()
            } catch {
                throw S3Error(.incompleteBody)
            }
            guard let chunk else {
                inputEnded = true
                progress.markFinished()
                continue
            }
            chunk.withUnsafeReadableBytes { parser.append($0) }
        }
    }

    /// Bytes of the body the events so far account for.
    var consumedBytes: Int { parser.consumedBytes }

    /// Reads what follows the file (AWS ignores fields after it) so the connection stays usable.
    func drain() async throws {
        while try await next() != nil {}
    }
}

/// The file part of a form as an object body: its length is known only at its end, and the policy's
/// content-length-range is enforced as the bytes arrive.
struct FormFilePayload: PayloadSource {
    let reader: FormReader
    let sizeRange: ClosedRange<Int64>

    var length: Int64? { nil }

    func stream(_ consume: @Sendable (ByteBuffer) async throws -> Void) async throws -> [(String, String)] {
        var pending = ByteBuffer()
        var size: Int64 = 0
        reading: while let event = try await reader.next() {
            switch event {
            case .data(let bytes):
                size += Int64(bytes.count)
                if size > sizeRange.upperBound {
                    throw S3Error(
                        .entityTooLarge,
                        "Your proposed upload exceeds the maximum allowed size",
                        details: [("MaxSizeAllowed", "\(sizeRange.upperBound)")]
                    )
                }
                pending.writeBytes(bytes)
                if pending.readableBytes >= RequestPayload.batchSize {
                    try await consume(pending)
                    pending = ByteBuffer()
                }
            case .partEnd, .end:
                break reading
            case .part:
                throw S3Error(.malformedPOSTRequest, "A part began inside the file part.")
            }
        }
        if size < sizeRange.lowerBound {
            throw S3Error(
                .entityTooSmall,
                "Your proposed upload is smaller than the minimum allowed size",
                details: [("MinSizeAllowed", "\(sizeRange.lowerBound)"), ("ProposedSize", "\(size)")]
            )
        }
        try await reader.drain()
        if pending.readableBytes > 0 { try await consume(pending) }
        return []
    }
}

/// PostObject: an upload from an HTML form, authorized by the signed policy in the form rather than by headers.
extension S3Responder {
    /// Form fields that become a PutObject's headers (the `acl` field is `x-amz-acl`).
    static let formHeaderFields: Set<String> = [
        "cache-control", "content-type", "content-disposition", "content-encoding", "content-language", "expires", "content-md5",
        "x-amz-storage-class", "x-amz-website-redirect-location",
    ]

    func postObject(
        _ request: Request,
        target: S3Target,
        record: inout RequestRecord,
        bodyProgress: BodyProgress,
        context: Context
    ) async throws
        -> Response
    {
        guard let bucket = target.bucket else { throw S3Error(.internalError) }
        guard let boundary = FormDataParser.boundary(contentType: request.headers[.contentType] ?? "") else {
            let condition = "Bucket POST must be of the enclosure-type multipart/form-data"
            throw S3Error(.preconditionFailed, condition, details: [("Condition", condition)])
        }
        try await requireFormOrigin(request, bucket: bucket)
        // The credentials are in the body, so the client is invited to send it before anything is checked.
        if request.headers[.expect] != nil {
            try? await context.channel.triggerUserOutboundEvent(ConnectionGuard.SendContinue()).get()
        }
        let reader = try FormReader(request.body, boundary: boundary, progress: bodyProgress)
        var (fields, filename) = try await readFields(reader)
        fields["bucket"] = bucket
        guard var key = fields["key"], !key.isEmpty else {
            throw S3Error(
                .invalidArgument,
                "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
                details: [("ArgumentName", "key")]
            )
        }
        key = key.replacingOccurrences(of: "${filename}", with: filename ?? "")
        fields["key"] = key
        let identity = try formIdentity(fields)
        record.user = identity.user
        record.accessKeyID = identity.credential?.accessKey
        record.key = key
        let requestID = record.requestID
        var sizeRange: ClosedRange<Int64> = 0...BodyFraming.maxPayloadLength
        if let policyText = fields["policy"] {
            let policy = try PostPolicy.decode(base64: policyText)
            try policy.check(fields: fields, now: Int64(Date().timeIntervalSince1970))
            if let range = policy.contentLengthRange { sizeRange = range.clamped(to: sizeRange) }
        } else if identity.credential != nil {
            throw S3Error(.invalidArgument, "Bucket POST must contain a field named 'policy'.", details: [("ArgumentName", "policy")])
        }
        var objectTarget = target
        objectTarget.key = key
        let headers = Self.formHeaders(fields)
        let call = S3Call(
            request: Request(
                head: HTTPRequest(method: .post, scheme: nil, authority: request.head.authority, path: request.head.path, headerFields: headers),
                body: request.body
            ),
            target: objectTarget,
            operation: .postObject,
            requestID: requestID,
            identity: identity,
            bodyProgress: bodyProgress
        )
        let parsed = try parseRequest(.putObject, objectTarget, header: { headers[named: $0] })
        // The form is admitted as the PutObject it becomes, once its key is known.
        let admitted = try await gate.admit(call, parsed.action)
        guard case .putObject(let object, let condition) = admitted.action else { throw S3Error(.internalError) }
        var input = try objects.putInput(admitted, object, condition: condition)
        if let tagging = fields["tagging"] {
            let tags = try TagSet.parseXML(Array(tagging.utf8))
            try tags.validate(TaggingHandlers.objectTagLimits(settings))
            input.tags = tags
        }
        let output = try await storage.putObject(input, body: FormFilePayload(reader: reader, sizeRange: sizeRange))
        return formResponse(fields, request: request, bucket: bucket, key: key, headers: ObjectHandlers.putHeaders(output), etag: output.etag)
    }

    /// Reads the fields up to the file part (bounded by `FormFields`), with the file's own name.
    private func readFields(_ reader: FormReader) async throws -> ([String: String], String?) {
        var form = FormFields()
        while let event = try await reader.next() {
            if try form.take(event, consumedBytes: reader.consumedBytes) { return (form.fields, form.file?.filename) }
        }
        throw S3Error(.incorrectNumberOfFilesInPostRequest)
    }

    /// Who the form acts as: the signer of its policy (SIGV4 mode), the user it names (SIMPLE mode), or the
    /// anonymous user where that is allowed.
    private func formIdentity(_ fields: [String: String]) throws(S3Error) -> Identity {
        if let authenticator {
            if let signed = try authenticator.authenticateForm(fields) { return signed }
            return try authenticator.anonymous(refusal: "Anonymous access is not allowed: sign the form's policy.")
        }
        return try simpleIdentity(refusal: "Anonymous access is disabled; sign the form.") { () throws(S3Error) in
            let named = fields["awsaccesskeyid"] ?? fields["x-amz-credential"].flatMap { $0.split(separator: "/").first.map(String.init) }
            return named?.isEmpty == false ? named : nil
        }
    }

    /// The fields that a PutObject would carry as headers.
    private static func formHeaders(_ fields: [String: String]) -> HTTPFields {
        var headers = HTTPFields()
        for (name, value) in fields {
            let headerName = name == "acl" ? "x-amz-acl" : name
            guard
                formHeaderFields.contains(headerName) || headerName == "x-amz-acl" || headerName.hasPrefix("x-amz-meta-")
                    || (headerName.hasPrefix("x-amz-checksum-") && headerName != "x-amz-checksum-type"),
                let fieldName = HTTPField.Name(headerName)
            else { continue }
            headers.append(HTTPField(name: fieldName, value: value))
        }
        return headers
    }

    /// `success_action_redirect` answers 303 to that URL with bucket, key and ETag in its query;
    /// `success_action_status` 200 or 201 (with a PostResponse document); otherwise 204.
    private func formResponse(
        _ fields: [String: String],
        request: Request,
        bucket: String,
        key: String,
        headers: HTTPFields,
        etag: String
    ) -> Response {
        var headers = headers
        let authority = request.head.authority ?? "localhost"
        let location = "http://\(authority)/\(PercentEncoding.encode(bucket))/\(PercentEncoding.encode(key, keepSlash: true))"
        if let redirect = fields["success_action_redirect"] ?? fields["redirect"], let url = URL(string: redirect),
            url.scheme == "http" || url.scheme == "https"
        {
            let query = "bucket=\(PercentEncoding.encode(bucket))&key=\(PercentEncoding.encode(key))&etag=\(PercentEncoding.encode("\"\(etag)\""))"
            headers[.location] = redirect + (redirect.contains("?") ? "&" : "?") + query
            return Responses.empty(.seeOther, headers: headers)
        }
        headers[.location] = location
        switch fields["success_action_status"] {
        case "200":
            return Responses.empty(.ok, headers: headers)
        case "201":
            var xml = XMLWriter(root: "PostResponse", namespace: nil)
            xml.element("Location", location)
            xml.element("Bucket", bucket)
            xml.element("Key", key)
            xml.element("ETag", "\"\(etag)\"")
            return Responses.xml(xml.finish(), status: .created, headers: headers)
        default:
            return Responses.empty(.noContent, headers: headers)
        }
    }
}
