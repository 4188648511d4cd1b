import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore
import Synchronization

/// CompleteMultipartUpload: the part list parsed, the parts joined by the store, and (when joining may take long)
/// whitespace sent meanwhile so that clients do not time out.
extension MultipartHandlers {
    static let maxCompleteBody = 4 << 20

    func completeMultipartUpload(_ admitted: AdmittedRequest, _ upload: UploadAddress, condition: WriteCondition) async throws -> Response {
        let call = admitted.call
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

    /// The whole object's checksum stated on Complete (`x-amz-checksum-<algorithm>`), composite `...-N` or not; it
    /// is compared as it is, so a value that is no digest simply does not match (BadDigest).
    static func statedObjectChecksum(_ call: S3Call) -> (algorithm: ChecksumAlgorithm, value: String)? {
        for algorithm in ChecksumAlgorithm.allCases {
            if let value = call.header(algorithm.headerName) { return (algorithm, value) }
        }
        return nil
    }
}
