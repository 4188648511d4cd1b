import AsyncAlgorithms
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore
import StrataTiering
import Synchronization

/// CreateMultipartUpload, UploadPart, UploadPartCopy, ListParts, CompleteMultipartUpload,
/// AbortMultipartUpload, ListMultipartUploads.
extension S3Responder {
    static let maxCompleteBody = 4 << 20

    func createMultipartUpload(_ call: S3Call) async throws -> Response {
        let (bucketName, key) = (try call.bucket(), try call.key())
        guard !key.hasSuffix("/") else {
            throw S3Error(.invalidArgument, "A key ending in '/' names a directory, which cannot hold the data of a multipart upload.")
        }
        var metadata = try ObjectMetadataHeaders.from(call.headers, owner: call.user, userMetadataLimit: settings.userMetadataMaxSize)
        var responseHeaders = HTTPFields()
        if let name = call.header("x-amz-checksum-algorithm") {
            guard let algorithm = ChecksumAlgorithm(name: name) else {
                throw S3Error(
                    .invalidRequest,
                    "Checksum algorithm \(name) is not supported.",
                    details: [("ArgumentName", "x-amz-checksum-algorithm")]
                )
            }
            let type = (call.header("x-amz-checksum-type") ?? "COMPOSITE").uppercased()
            guard type == "COMPOSITE" || type == "FULL_OBJECT" else {
                throw S3Error(.invalidRequest, "Value for x-amz-checksum-type header is invalid.")
            }
            metadata.checksumAlgorithm = algorithm
            metadata.checksumIsComposite = type == "COMPOSITE"
            responseHeaders.set("x-amz-checksum-algorithm", algorithm.rawValue)
            responseHeaders.set("x-amz-checksum-type", type)
        }
        let tags = try headerTags(call)
        let user = call.user
        let uploadMetadata = metadata
        var upstreamUploadId: String?
        if let tiering, let policy = policy(bucketName), policy.writeType == .through {
            // THROUGH: the parts go straight to an upstream multipart upload.
            do {
                upstreamUploadId = try await tiering.client.createMultipartUpload(
                    bucket: policy.upstreamBucket,
                    key: policy.upstreamKey(key),
                    headers: Self.forwardedHeaders(call)
                )
            } catch let error as UpstreamError { throw error.s3Error }
        }
        let forwardedId = upstreamUploadId
        let info = try await io.run { [store] in
            try store.createUpload(bucketName: bucketName, key: key, owner: user, metadata: uploadMetadata, tags: tags, upstreamUploadId: forwardedId)
        }
        var xml = XMLWriter(root: "InitiateMultipartUploadResult")
        xml.element("Bucket", bucketName)
        xml.element("Key", key)
        xml.element("UploadId", info.uploadId)
        return Responses.xml(xml.finish(), headers: responseHeaders)
    }

    private func openUpload(_ call: S3Call) async throws -> Upload {
        let (bucketName, key) = (try call.bucket(), try call.key())
        let uploadId = call.query["uploadId"] ?? ""
        return try await io.run { [store] in try store.openUpload(bucketName: bucketName, key: key, uploadId: uploadId) }
    }

    func uploadPart(_ call: S3Call) async throws -> Response {
        let number = try call.partNumber()
        let framing = try BodyFraming.of(call)
        let expectedMD5 = try ObjectMetadataHeaders.contentMD5(call.headers)
        let requested = try RequestedChecksum.of(call)
        let upload = try await openUpload(call)
        if let upstreamId = upload.info.upstreamUploadId {
            return try await forwardPart(call, upload: upload, upstreamId: upstreamId, number: number, framing: framing)
        }
        // The upload's checksum is computed for every part, so the composite can be formed at Complete.
        let algorithm = requested?.algorithm ?? upload.info.metadata.checksumAlgorithm
        if let requested, let uploadAlgorithm = upload.info.metadata.checksumAlgorithm, requested.algorithm != uploadAlgorithm {
            throw S3Error(
                .invalidRequest,
                "Checksum Type mismatch occurred, expected checksum Type: \(uploadAlgorithm.rawValue.lowercased()), actual checksum Type: "
                    + "\(requested.algorithm.rawValue.lowercased())"
            )
        }
        let writer = try await io.run { [store] in try store.beginPartWrite(upload, number: number) }
        writer.checksum = algorithm.map { Checksummer($0) }
        do {
            let trailers = try await BodyStreamer.stream(call, into: writer, io: io, framing: framing)
            if let expectedMD5, expectedMD5 != writer.md5.digest() { throw S3Error(.badDigest) }
            var meta = ObjectMetadata()
            meta.etag = writer.md5.hex()
            var headers: HTTPFields = [.eTag: "\"\(meta.etag)\""]
            if let algorithm, let computed = writer.checksum?.base64() {
                meta.checksumAlgorithm = algorithm
                meta.checksum = try requested?.verify(computed: computed, trailers: trailers) ?? computed
                headers.set(algorithm.headerName, meta.checksum!)
            }
            let committed = meta
            try await io.run { _ = try writer.commit(metadata: committed) }
            return Responses.empty(headers: headers)
        } catch {
            writer.discard()
            throw error
        }
    }

    func uploadPartCopy(_ call: S3Call) async throws -> Response {
        let number = try call.partNumber()
        let source = try CopySource(header: call.header("x-amz-copy-source") ?? "", isReserved: ReservedNames.isReserved)
        let rangeHeader = call.header("x-amz-copy-source-range")
        let conditions = call.copySourceConditions()
        let upload = try await openUpload(call)
        guard upload.info.upstreamUploadId == nil else {
            throw S3Error(.notImplemented, "UploadPartCopy into an upload forwarded to the upstream (THROUGH) is not implemented.")
        }
        let result: (etag: String, modified: Int64) = try await io.run { [store] in
            let object = try store.openObject(bucket: try store.openBucket(source.bucket), key: source.key)
            if conditions.evaluateForCopySource(etag: object.metadata.etag, lastModified: object.lastModifiedSeconds) != .proceed {
                throw S3Error(.preconditionFailed)
            }
            var range: ClosedRange<Int64>? = object.size > 0 ? 0...(object.size - 1) : nil
            if let rangeHeader {
                let requested = try CopySourceRange.parse(rangeHeader)
                guard requested.upperBound < object.size else {
                    throw S3Error(.invalidRange, details: [("RangeRequested", rangeHeader), ("ActualObjectSize", "\(object.size)")])
                }
                range = requested
            }
            let writer = try store.beginPartWrite(upload, number: number)
            if let range, let file = object.file {
                try writer.copy(from: file, offset: range.lowerBound, length: range.upperBound - range.lowerBound + 1)
            }
            var meta = ObjectMetadata()
            meta.etag = try store.md5(of: writer)
            let st = try writer.commit(metadata: meta)
            return (meta.etag, st.mtimeSeconds)
        }
        var xml = XMLWriter(root: "CopyPartResult")
        xml.element("LastModified", HTTPDate.iso8601(seconds: result.modified))
        xml.element("ETag", "\"\(result.etag)\"")
        return Responses.xml(xml.finish())
    }

    /// THROUGH uploads: the part streams to the upstream upload; locally only a marker with its ETag remains.
    private func forwardPart(_ call: S3Call, upload: Upload, upstreamId: String, number: Int, framing: BodyFraming) async throws -> Response {
        guard let tiering, let policy = policy(upload.info.bucket) else {
            throw S3Error(.serviceUnavailable, "The upstream S3 is not configured any more.")
        }
        let channel = AsyncChannel<ByteBuffer>()
        let client = tiering.client
        let key = upload.info.key
        let sending = Task { () throws -> String in
            do {
                return try await client.uploadPart(
                    bucket: policy.upstreamBucket,
                    key: policy.upstreamKey(key),
                    uploadId: upstreamId,
                    partNumber: number,
                    body: channel,
                    length: framing.payloadLength
                )
            } catch {
                channel.finish()
                throw error
            }
        }
        do {
            try await BodyStreamer.stream(call, into: nil, io: io, framing: framing, mirror: channel)
        } catch {
            sending.cancel()
            channel.finish()
            throw error
        }
        channel.finish()
        let etag: String
        do { etag = try await sending.value } catch let error as UpstreamError { throw error.s3Error }
        let size = framing.payloadLength
        try await io.run { [store] in try store.recordForwardedPart(upload, number: number, etag: etag, size: size) }
        return Responses.empty(headers: [.eTag: "\"\(etag)\""])
    }

    func listParts(_ call: S3Call) async throws -> Response {
        let maxParts = try boundedInteger(call, "max-parts", default: 1000)
        let marker = try boundedInteger(call, "part-number-marker", default: 0)
        let upload = try await openUpload(call)
        let all = try await io.run { [store] in try store.listParts(upload) }
        let after = all.filter { $0.number > marker }
        let page = Array(after.prefix(maxParts))
        let truncated = after.count > page.count
        var xml = XMLWriter(root: "ListPartsResult")
        xml.element("Bucket", upload.info.bucket)
        xml.element("Key", upload.info.key)
        xml.element("UploadId", upload.info.uploadId)
        ownerElements(&xml, upload.info.owner)
        xml.element("StorageClass", "STANDARD")
        xml.element("PartNumberMarker", marker)
        if let last = page.last { xml.element("NextPartNumberMarker", last.number) }
        xml.element("MaxParts", maxParts)
        xml.element("IsTruncated", truncated)
        for part in page {
            xml.group("Part") {
                $0.element("PartNumber", part.number)
                $0.element("LastModified", HTTPDate.iso8601(seconds: part.lastModifiedSeconds, milliseconds: part.lastModifiedMilliseconds))
                $0.element("ETag", "\"\(part.etag)\"")
                $0.element("Size", String(part.size))
                if let algorithm = part.checksumAlgorithm, let value = part.checksum { $0.element(algorithm.xmlElement, value) }
            }
        }
        return Responses.xml(xml.finish())
    }

    private func ownerElements(_ xml: inout XMLWriter, _ owner: String) {
        for element in ["Initiator", "Owner"] {
            xml.group(element) {
                $0.element("ID", owner)
                $0.element("DisplayName", owner)
            }
        }
    }

    /// A non-negative integer query parameter, capped at 1000 like AWS's page sizes.
    private func boundedInteger(_ call: S3Call, _ name: String, default value: Int) throws(S3Error) -> Int {
        guard let raw = call.query[name] else { return value }
        guard let n = DecimalNumber.parseInt(raw, in: 0...Int.max) else {
            throw S3Error(
                .invalidArgument,
                "Provided \(name) not an integer or within integer range",
                details: [("ArgumentName", name), ("ArgumentValue", raw)]
            )
        }
        return min(n, 1000)
    }

    func abortMultipartUpload(_ call: S3Call) async throws -> Response {
        let upload = try await openUpload(call)
        if let upstreamId = upload.info.upstreamUploadId, let tiering, let policy = policy(upload.info.bucket) {
            do {
                try await tiering.client.abortMultipartUpload(
                    bucket: policy.upstreamBucket,
                    key: policy.upstreamKey(upload.info.key),
                    uploadId: upstreamId
                )
            } catch let error as UpstreamError { throw error.s3Error }
        }
        try await io.run { [store] in try store.abortUpload(upload) }
        return Responses.empty(.noContent)
    }

    func completeMultipartUpload(_ call: S3Call) async throws -> Response {
        let (bucketName, key) = (try call.bucket(), try call.key())
        let uploadId = call.query["uploadId"] ?? ""
        let body = try await BodyCollector.collect(call, limit: Self.maxCompleteBody)
        try ObjectMetadataHeaders.verifyContentMD5(call.headers, body: body)
        let parts = try Self.parseCompleteBody(body)
        let condition = try call.writeCondition()
        let authority = call.request.head.authority ?? "\(settings.host):\(settings.port)"
        let location = "http://\(authority)/\(PercentEncoding.encode(bucketName))/\(PercentEncoding.encode(key, keepSlash: true))"
        let minPartSize = settings.minPartSize
        let work: @Sendable () async throws -> String = { [store, io, self] in
            let announced = try await self.announceLocalWrite(bucketName: bucketName, key: key)
            let local = try await io.run { () throws -> CompletedUpload in
                do {
                    let upload = try store.openUpload(bucketName: bucketName, key: key, uploadId: uploadId)
                    if upload.info.upstreamUploadId != nil {
                        _ = try store.validateParts(upload, parts, minPartSize: minPartSize)
                        return CompletedUpload(etag: "", lastModifiedSeconds: 0, metadata: ObjectMetadata())
                    }
                    return try store.completeUpload(upload, parts: parts, minPartSize: minPartSize, condition: condition)
                } catch let error as S3Error where error.code == .noSuchUpload {
                    // A retried Complete of an upload that already finished answers as the first one did.
                    if let object = try? store.openObject(bucket: try store.openBucket(bucketName), key: key),
                        object.metadata.multipartUploadId == uploadId
                    {
                        return CompletedUpload(etag: object.metadata.etag, lastModifiedSeconds: object.lastModifiedSeconds, metadata: object.metadata)
                    }
                    throw error
                }
            }
            var completed = local
            if completed.etag.isEmpty {
                completed.etag = try await self.completeForwarded(bucketName: bucketName, key: key, uploadId: uploadId, parts: parts)
                if announced != nil { self.tiering?.journal.remove(bucket: bucketName, key: key) }
            } else {
                try await self.persistAfterLocalWrite(bucketName: bucketName, key: key, announced: announced)
            }
            var xml = XMLWriter(root: "CompleteMultipartUploadResult")
            xml.element("Location", location)
            xml.element("Bucket", bucketName)
            xml.element("Key", key)
            xml.element("ETag", "\"\(completed.etag)\"")
            if let algorithm = completed.metadata.checksumAlgorithm, let value = completed.metadata.checksum {
                xml.element(algorithm.xmlElement, value)
                xml.element("ChecksumType", completed.metadata.checksumIsComposite == false ? "FULL_OBJECT" : "COMPOSITE")
            }
            return xml.finish()
        }
        guard settings.completeKeepalive else { return Responses.xml(try await work()) }
        return keepaliveResponse(call, work: work)
    }

    /// Completes a THROUGH upload upstream and drops any stale local copy of the key.
    func completeForwarded(bucketName: String, key: String, uploadId: String, parts: [RequestedPart]) async throws -> String {
        let upload = try await io.run { [store] in try store.openUpload(bucketName: bucketName, key: key, uploadId: uploadId) }
        guard let upstreamId = upload.info.upstreamUploadId, let tiering, let policy = policy(bucketName) else { throw S3Error(.noSuchUpload) }
        let etag: String
        do {
            etag = try await tiering.client.completeMultipartUpload(
                bucket: policy.upstreamBucket,
                key: policy.upstreamKey(key),
                uploadId: upstreamId,
                parts: parts.map { (number: $0.number, etag: Conditions.unquote($0.etag)) }
            )
        } catch let error as UpstreamError { throw error.s3Error }
        try await io.run { [store] in
            store.finishForwardedUpload(upload)
            try store.deleteObject(bucket: try store.openBucket(bucketName), key: key)
        }
        return etag
    }

    /// Commits 200 at once and sends a space now and then while the upload is joined, so proxies and clients do
    /// not time out; the result (or an S3 error document) follows the whitespace, as AWS does.
    private func keepaliveResponse(_ call: S3Call, work: @escaping @Sendable () async throws -> String) -> Response {
        let maxInterval = Duration.milliseconds(settings.completeKeepaliveIntervalMilliseconds)
        let requestID = call.requestID
        let resource = call.resource
        let body = ResponseBody { writer in
            let outcome = Mutex<Result<String, any Error>?>(nil)
            let task = Task {
                let result: Result<String, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                outcome.withLock { $0 = result }
            }
            var interval = Duration.seconds(1)
            var waited = Duration.zero
            while outcome.withLock({ $0 }) == nil {
                try await Task.sleep(for: .milliseconds(50))
                waited += .milliseconds(50)
                if waited >= interval, outcome.withLock({ $0 }) == nil {
                    try await writer.write(ByteBuffer(string: " "))
                    waited = .zero
                    interval = min(interval * 2, maxInterval)
                }
            }
            _ = await task.result
            let document: String
            switch outcome.withLock({ $0 })! {
            case .success(let xml): document = xml
            case .failure(let error as S3Error): document = Responses.errorDocument(error, requestID: requestID, resource: resource)
            case .failure: document = Responses.errorDocument(S3Error(.internalError), requestID: requestID, resource: resource)
            }
            try await writer.write(ByteBuffer(string: document))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: Responses.xmlContentType], body: body)
    }

    static func parseCompleteBody(_ body: [UInt8]) throws(S3Error) -> [RequestedPart] {
        guard !body.isEmpty else {
            throw S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema")
        }
        let root = try XMLDocument.parse(body)
        guard root.name == "CompleteMultipartUpload" else { throw S3Error(.malformedXML) }
        return try root.children("Part").map { part throws(S3Error) in
            guard let raw = part.child("PartNumber")?.text.trimmingSpaces(), let number = Int(raw), let etag = part.child("ETag")?.text else {
                throw S3Error(.malformedXML)
            }
            let checksum = ChecksumAlgorithm.allCases.lazy.compactMap { algorithm in
                part.child(algorithm.xmlElement).map { (algorithm: algorithm, value: $0.text.trimmingSpaces()) }
            }.first
            return RequestedPart(number: number, etag: etag, checksum: checksum)
        }
    }

    func listMultipartUploads(_ call: S3Call) async throws -> Response {
        let bucketName = try call.bucket()
        let q = call.query
        let prefix = q["prefix"] ?? ""
        let delimiter = q["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let keyMarker = q["key-marker"] ?? ""
        let uploadIdMarker = q["upload-id-marker"] ?? ""
        let maxUploads = try boundedInteger(call, "max-uploads", default: 1000)
        let page = try await io.run { [store] in
            try store.listUploadsPage(
                bucketName: bucketName,
                prefix: prefix,
                delimiter: delimiter,
                keyMarker: keyMarker,
                uploadIdMarker: uploadIdMarker,
                maxUploads: maxUploads
            )
        }
        var xml = XMLWriter(root: "ListMultipartUploadsResult")
        xml.element("Bucket", bucketName)
        xml.element("KeyMarker", keyMarker)
        xml.element("UploadIdMarker", uploadIdMarker)
        if page.isTruncated {
            xml.element("NextKeyMarker", page.nextKeyMarker ?? "")
            xml.element("NextUploadIdMarker", page.nextUploadIdMarker ?? "")
        }
        if !prefix.isEmpty { xml.element("Prefix", prefix) }
        if let delimiter { xml.element("Delimiter", delimiter) }
        xml.element("MaxUploads", maxUploads)
        xml.element("IsTruncated", page.isTruncated)
        for info in page.uploads {
            xml.group("Upload") { xml in
                xml.element("Key", info.key)
                xml.element("UploadId", info.uploadId)
                ownerElements(&xml, info.owner)
                xml.element("StorageClass", "STANDARD")
                xml.element("Initiated", HTTPDate.iso8601(seconds: info.initiated / 1000, milliseconds: Int(info.initiated % 1000)))
            }
        }
        for common in page.commonPrefixes {
            xml.group("CommonPrefixes") { $0.element("Prefix", common) }
        }
        return Responses.xml(xml.finish())
    }
}
