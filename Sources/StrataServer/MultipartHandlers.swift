import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore

/// CreateMultipartUpload, UploadPart, UploadPartCopy, ListParts, AbortMultipartUpload, ListMultipartUploads;
/// CompleteMultipartUpload in MultipartCompletion.swift.
struct MultipartHandlers {
    let storage: any ObjectStorage
    let settings: ServerSettings
    /// Gives the object an upload makes its owner, group and mode.
    let gate: AuthorizationGate

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

    func uploadPart(_ admitted: AdmittedRequest, _ upload: UploadAddress, partNumber: Int) async throws -> Response {
        let call = admitted.call
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

    func listParts(_ admitted: AdmittedRequest, _ address: UploadAddress, partNumberMarker marker: Int, maxParts: Int) async throws -> Response {
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
        Self.ownerElements(&xml, upload.owner)
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

    private static func ownerElements(_ xml: inout XMLWriter, _ owner: String) {
        for element in ["Initiator", "Owner"] {
            xml.group(element) {
                $0.element("ID", owner)
                $0.element("DisplayName", owner)
            }
        }
    }

    func abortMultipartUpload(_ admitted: AdmittedRequest, _ upload: UploadAddress) async throws -> Response {
        try await storage.abortMultipartUpload(bucket: upload.bucket, key: upload.key, uploadId: upload.uploadId)
        return Responses.empty(.noContent)
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
                Self.ownerElements(&xml, info.owner)
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
