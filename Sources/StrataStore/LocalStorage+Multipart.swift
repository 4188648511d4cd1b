import Foundation
import NIOCore
import S3Protocol

extension LocalStorage {
    public func createMultipartUpload(_ input: CreateUploadInput) async throws -> UploadInfo {
        try await createMultipartUpload(input, upstreamUploadId: nil)
    }

    /// `upstreamUploadId` marks a THROUGH upload whose parts live in an upstream multipart upload.
    public func createMultipartUpload(_ input: CreateUploadInput, upstreamUploadId: String?) async throws -> UploadInfo {
        try await run { store in
            try store.createUpload(
                bucketName: input.bucket,
                key: input.key,
                owner: input.owner,
                metadata: input.metadata,
                tags: input.tags,
                upstreamUploadId: upstreamUploadId
            )
        }
    }

    public func openUpload(bucket: String, key: String, uploadId: String) async throws -> Upload {
        try await run { try $0.openUpload(bucketName: bucket, key: key, uploadId: uploadId) }
    }

    public func uploadPart(_ input: UploadPartInput, body: any PayloadSource) async throws -> UploadPartOutput {
        let upload = try await openUpload(bucket: input.bucket, key: input.key, uploadId: input.uploadId)
        return try await uploadPart(input, into: upload, body: body)
    }

    /// Writes one part. The upload's checksum is computed for every part, so the composite can be formed at Complete.
    public func uploadPart(_ input: UploadPartInput, into upload: Upload, body: any PayloadSource) async throws -> UploadPartOutput {
        let requested = input.checksum
        let algorithm = requested?.algorithm ?? upload.info.metadata.checksumAlgorithm
        if let requested, let uploadAlgorithm = upload.info.metadata.checksumAlgorithm, requested.algorithm != uploadAlgorithm {
            throw S3Error(
                .invalidRequest,
                "Checksum Type mismatch occurred, expected checksum Type: \(uploadAlgorithm.rawValue.lowercased()), actual checksum Type: "
                    + "\(requested.algorithm.rawValue.lowercased())"
            )
        }
        let number = input.partNumber
        let writer = try await run { try $0.beginPartWrite(upload, number: number) }
        writer.checksum = algorithm.map { Checksummer($0) }
        do {
            let trailers = try await io.stream(body, into: writer)
            if let expected = input.contentMD5, expected != writer.md5.digest() { throw S3Error(.badDigest) }
            var meta = ObjectMetadata()
            meta.etag = writer.md5.hex()
            var checksum: (algorithm: ChecksumAlgorithm, value: String)?
            if let algorithm, let computed = writer.checksum?.base64() {
                let value = try requested?.verify(computed: computed, trailers: trailers) ?? computed
                meta.checksumAlgorithm = algorithm
                meta.checksum = value
                checksum = (algorithm, value)
            }
            let committed = meta
            try await io.run { _ = try writer.commit(metadata: committed) }
            return UploadPartOutput(etag: committed.etag, checksum: checksum)
        } catch {
            writer.discard()
            throw error
        }
    }

    public func uploadPartCopy(_ input: UploadPartCopyInput) async throws -> CopyObjectOutput {
        let users = users
        // The source is looked at before the upload: a caller who may not read it learns nothing of either, and a
        // source that cannot be copied is reported whoever asks.
        _ = try await run { store in
            _ = try store.openBucket(input.bucket)
            return try store.openCopySource(input.source, users: users, check: input.sourceCheck)
        }
        let upload = try await openUpload(bucket: input.bucket, key: input.key, uploadId: input.uploadId)
        guard upload.info.upstreamUploadId == nil else {
            throw S3Error(.notImplemented, "UploadPartCopy into an upload forwarded to the upstream (THROUGH) is not implemented.")
        }
        return try await run { store in
            let object = try store.openCopySource(input.source, users: users, check: input.sourceCheck)
            if input.conditions.evaluateForCopySource(etag: object.metadata.etag, lastModified: object.lastModifiedSeconds) != .proceed {
                throw S3Error(.preconditionFailed)
            }
            var range: ClosedRange<Int64>? = object.size > 0 ? 0...(object.size - 1) : nil
            if let rangeHeader = input.rangeHeader {
                let requested = try CopySourceRange.parse(rangeHeader)
                guard requested.upperBound < object.size else {
                    throw S3Error(.invalidRange, details: [("RangeRequested", rangeHeader), ("ActualObjectSize", "\(object.size)")])
                }
                range = requested
            }
            let writer = try store.beginPartWrite(upload, number: input.partNumber)
            if let range, let file = object.file {
                try writer.copy(from: file, offset: range.lowerBound, length: range.upperBound - range.lowerBound + 1)
            }
            var meta = ObjectMetadata()
            meta.etag = try store.md5(of: writer)
            let st = try writer.commit(metadata: meta)
            return CopyObjectOutput(etag: meta.etag, lastModifiedSeconds: st.mtimeSeconds)
        }
    }

    /// Joins the listed parts and publishes the object. A retried Complete of an upload that already finished
    /// answers as the first one did (AWS's idempotency); a forwarded (THROUGH) upload is only validated here and
    /// answered with an empty ETag for the tiered store to complete upstream.
    public func completeMultipartUpload(_ input: CompleteUploadInput) async throws -> CompletedUpload {
        try await run { store in
            do {
                let upload = try store.openUpload(bucketName: input.bucket, key: input.key, uploadId: input.uploadId)
                if upload.info.upstreamUploadId != nil {
                    _ = try store.validateParts(upload, input.parts, minPartSize: input.minPartSize)
                    return CompletedUpload(etag: "", lastModifiedSeconds: 0, metadata: ObjectMetadata())
                }
                return try store.completeUpload(
                    upload,
                    parts: input.parts,
                    minPartSize: input.minPartSize,
                    condition: input.condition,
                    statedChecksum: input.checksum
                )
            } catch let error as S3Error where error.code == .noSuchUpload {
                if let object = try? store.openObject(bucket: try store.openBucket(input.bucket), key: input.key),
                    object.metadata.multipartUploadId == input.uploadId
                {
                    return CompletedUpload(etag: object.metadata.etag, lastModifiedSeconds: object.lastModifiedSeconds, metadata: object.metadata)
                }
                throw error
            }
        }
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        let upload = try await openUpload(bucket: bucket, key: key, uploadId: uploadId)
        try await run { try $0.abortUpload(upload) }
    }

    public func listParts(_ input: ListPartsInput) async throws -> ListPartsOutput {
        let upload = try await openUpload(bucket: input.bucket, key: input.key, uploadId: input.uploadId)
        let all = try await run { try $0.listParts(upload) }
        let after = all.filter { $0.number > input.partNumberMarker }
        let page = Array(after.prefix(input.maxParts))
        return ListPartsOutput(upload: upload.info, parts: page, isTruncated: after.count > page.count)
    }

    public func listMultipartUploads(_ input: ListUploadsInput) async throws -> UploadsPage {
        try await run { store in
            try store.listUploadsPage(
                bucketName: input.bucket,
                prefix: input.prefix,
                delimiter: input.delimiter,
                keyMarker: input.keyMarker,
                uploadIdMarker: input.uploadIdMarker,
                maxUploads: input.maxUploads,
                initiator: input.initiator
            )
        }
    }
}
