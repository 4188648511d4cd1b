import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore
import Synchronization

/// CreateMultipartUpload, UploadPart, UploadPartCopy, ListParts, CompleteMultipartUpload,
/// AbortMultipartUpload, ListMultipartUploads.
extension S3Responder {
    static let maxCompleteBody = 4 << 20

    func createMultipartUpload(_ admitted: AdmittedRequest, _ object: ObjectAddress) async throws -> Response {
        let call = admitted.call
        let (bucketName, key) = (object.bucket, object.key)
        guard !key.hasSuffix("/") || !settings.store.strictKeys else {
            throw S3Error(.invalidArgument, "A key ending in '/' names a directory, which cannot hold the data of a multipart upload.")
        }
        var metadata = try ObjectMetadataHeaders.from(call.headers, owner: call.user, userMetadataLimit: settings.userMetadataMaxSize)
        metadata.permission = try gate.newPermission(admitted, directory: false)
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
        let info = try await storage.createMultipartUpload(
            CreateUploadInput(
                bucket: bucketName,
                key: key,
                owner: call.user,
                metadata: metadata,
                tags: try TaggingHandlers.headerTags(call, settings)
            )
        )
        var xml = XMLWriter(root: "InitiateMultipartUploadResult")
        xml.element("Bucket", bucketName)
        xml.element("Key", key)
        xml.element("UploadId", info.uploadId)
        return Responses.xml(xml.finish(), headers: responseHeaders)
    }

    func uploadPart(_ call: S3Call, _ upload: UploadAddress, partNumber: Int) async throws -> Response {
        let framing = try BodyFraming.of(call)
        let input = UploadPartInput(
            bucket: upload.bucket,
            key: upload.key,
            uploadId: upload.uploadId,
            partNumber: partNumber,
            contentMD5: try ObjectMetadataHeaders.contentMD5(call.headers),
            checksum: try ChecksumRequest.of(call)
        )
        let output = try await storage.uploadPart(input, body: RequestPayload(call: call, framing: framing))
        var headers: HTTPFields = [.eTag: "\"\(output.etag)\""]
        if let (algorithm, value) = output.checksum { headers.set(algorithm.headerName, value) }
        return Responses.empty(headers: headers)
    }

    func uploadPartCopy(
        _ admitted: AdmittedRequest,
        _ upload: UploadAddress,
        partNumber: Int,
        source: CopySource,
        range: String?,
        conditions: Conditions
    ) async throws
        -> Response
    {
        let input = UploadPartCopyInput(
            bucket: upload.bucket,
            key: upload.key,
            uploadId: upload.uploadId,
            partNumber: partNumber,
            source: source,
            rangeHeader: range,
            conditions: conditions,
            sourceCheck: admitted.readCheck(.copySource)
        )
        let result = try await storage.uploadPartCopy(input)
        var xml = XMLWriter(root: "CopyPartResult")
        xml.element("LastModified", HTTPDate.iso8601(seconds: result.lastModifiedSeconds))
        xml.element("ETag", "\"\(result.etag)\"")
        return Responses.xml(xml.finish())
    }

    func listParts(_ address: UploadAddress, partNumberMarker marker: Int, maxParts: Int) async throws -> Response {
        let listed = try await storage.listParts(
            ListPartsInput(bucket: address.bucket, key: address.key, uploadId: address.uploadId, partNumberMarker: marker, maxParts: maxParts)
        )
        let upload = listed.upload
        let page = listed.parts
        let truncated = listed.isTruncated
        var xml = XMLWriter(root: "ListPartsResult")
        xml.element("Bucket", upload.bucket)
        xml.element("Key", upload.key)
        xml.element("UploadId", upload.uploadId)
        ownerElements(&xml, upload.owner)
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

    func abortMultipartUpload(_ upload: UploadAddress) async throws -> Response {
        try await storage.abortMultipartUpload(bucket: upload.bucket, key: upload.key, uploadId: upload.uploadId)
        return Responses.empty(.noContent)
    }

    func completeMultipartUpload(_ call: S3Call, _ upload: UploadAddress, condition: WriteCondition) async throws -> Response {
        let (bucketName, key, uploadId) = (upload.bucket, upload.key, upload.uploadId)
        let body = try await BodyCollector.collect(call, limit: Self.maxCompleteBody)
        try ObjectMetadataHeaders.verifyContentMD5(call.headers, body: body)
        let parts = try Self.parseCompleteBody(body)
        let authority = call.request.head.authority ?? "\(settings.host):\(settings.port)"
        let location = "http://\(authority)/\(PercentEncoding.encode(bucketName))/\(PercentEncoding.encode(key, keepSlash: true))"
        var input = CompleteUploadInput(
            bucket: bucketName,
            key: key,
            uploadId: uploadId,
            parts: parts,
            condition: condition,
            minPartSize: settings.minPartSize
        )
        input.checksum = Self.statedObjectChecksum(call)
        let work: @Sendable () async throws -> String = { [storage, input] in
            Self.completeResult(try await storage.completeMultipartUpload(input), location: location, bucket: bucketName, key: key)
        }
        // The new version's id is a header, which a response already under way cannot carry: no keepalive then.
        guard settings.completeKeepalive, try await BucketConfigurationHandlers.versioningStatus(bucketName, in: storage) == nil else {
            let completed = try await storage.completeMultipartUpload(input)
            var headers = HTTPFields()
            if let versionId = completed.metadata.versionId, versionId != VersionID.null { headers.set("x-amz-version-id", versionId) }
            return Responses.xml(Self.completeResult(completed, location: location, bucket: bucketName, key: key), headers: headers)
        }
        return keepaliveResponse(call, work: work)
    }

    static func completeResult(_ completed: CompletedUpload, location: String, bucket: String, key: String) -> String {
        var xml = XMLWriter(root: "CompleteMultipartUploadResult")
        xml.element("Location", location)
        xml.element("Bucket", bucket)
        xml.element("Key", key)
        xml.element("ETag", "\"\(completed.etag)\"")
        if let algorithm = completed.metadata.checksumAlgorithm, let value = completed.metadata.checksum {
            xml.element(algorithm.xmlElement, value)
            xml.element("ChecksumType", completed.metadata.checksumIsComposite == false ? "FULL_OBJECT" : "COMPOSITE")
        }
        return xml.finish()
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

    /// Callers who do not own the bucket see the uploads they started, as the filesystem would show them theirs.
    func listMultipartUploads(_ admitted: AdmittedRequest, _ list: ListUploadsArguments) async throws -> Response {
        let (bucketName, prefix, delimiter, keyMarker, uploadIdMarker, maxUploads) = (
            list.bucket, list.prefix, list.delimiter, list.keyMarker, list.uploadIdMarker, list.maxUploads
        )
        var input = list
        if let caller = admitted.listingCaller, try await !admitted.ownsBucket(bucketName) { input.initiator = caller.user }
        let page = try await storage.listMultipartUploads(input)
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

    /// The whole object's checksum stated on Complete (`x-amz-checksum-<algorithm>`), composite `...-N` or not; it
    /// is compared as it is, so a value that is no digest simply does not match (BadDigest).
    static func statedObjectChecksum(_ call: S3Call) -> (algorithm: ChecksumAlgorithm, value: String)? {
        for algorithm in ChecksumAlgorithm.allCases {
            if let value = call.header(algorithm.headerName) { return (algorithm, value) }
        }
        return nil
    }
}
