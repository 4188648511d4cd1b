import Foundation
import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore
import StrataTiering

/// CopyObject: same or another bucket, COPY/REPLACE metadata directive, copy onto itself with REPLACE,
/// `x-amz-copy-source-if-*` conditions. Data is copied by the kernel.
extension S3Responder {
    func copyObject(_ call: S3Call) async throws -> Response {
        let bucketName = try call.bucket()
        let key = try call.key()
        let source = try CopySource(header: call.header("x-amz-copy-source") ?? "", isReserved: ReservedNames.isReserved)
        let directive = (call.header("x-amz-metadata-directive") ?? "COPY").uppercased()
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error(.invalidArgument, "Unknown metadata directive.", details: [("ArgumentName", "x-amz-metadata-directive")])
        }
        let replacement =
            directive == "REPLACE"
            ? try ObjectMetadataHeaders.from(call.headers, owner: call.user, userMetadataLimit: settings.userMetadataMaxSize) : nil
        let taggingDirective = (call.header("x-amz-tagging-directive") ?? "COPY").uppercased()
        guard taggingDirective == "COPY" || taggingDirective == "REPLACE" else {
            throw S3Error(.invalidArgument, "Unknown tagging directive.", details: [("ArgumentName", "x-amz-tagging-directive")])
        }
        let replacementTags = taggingDirective == "REPLACE" ? (try headerTags(call) ?? TagSet()) : nil
        let conditions = call.copySourceConditions()
        let isSelf = source.bucket.bytesEqual(bucketName) && source.key.bytesEqual(key)
        if isSelf && replacement == nil && replacementTags == nil {
            throw S3Error(
                .invalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, "
                    + "storage class, website redirect location or encryption attributes."
            )
        }
        let user = call.user
        if let tiering, let policy = policy(bucketName), policy.writeType == .through, let sourcePolicy = self.policy(source.bucket) {
            // THROUGH: the upstream copies server-side; nothing is kept locally.
            var headers: [(String, String)] = [("x-amz-metadata-directive", directive)]
            if replacement != nil { headers += Self.forwardedHeaders(call).filter { $0.0 != "x-amz-tagging" } }
            let etag: String
            do {
                etag = try await tiering.client.copyObject(
                    fromBucket: sourcePolicy.upstreamBucket,
                    fromKey: sourcePolicy.upstreamKey(source.key),
                    toBucket: policy.upstreamBucket,
                    toKey: policy.upstreamKey(key),
                    headers: headers
                )
            } catch UpstreamError.status(404, _) {
                throw S3Error(.noSuchKey, details: [("Key", source.key)])
            } catch let error as UpstreamError { throw error.s3Error }
            try await io.run { [store] in try store.deleteObject(bucket: try store.openBucket(bucketName), key: key) }
            var xml = XMLWriter(root: "CopyObjectResult")
            xml.element("ETag", "\"\(etag)\"")
            xml.element("LastModified", HTTPDate.iso8601(Date()))
            return Responses.xml(xml.finish())
        }
        if let tiering, let sourcePolicy = policy(source.bucket) {
            // A source that lives only upstream is brought into the cache first.
            let sourceBucket = try await openBucket(source.bucket)
            let present = (try? await io.run { [store] in try store.openObject(bucket: sourceBucket, key: source.key) }) != nil
            if !present, !source.key.hasSuffix("/") {
                _ = try await Self.fill(tiering, sourcePolicy, bucket: sourceBucket, key: source.key, store: store, io: io)
            }
        }
        let announced = try await announceLocalWrite(bucketName: bucketName, key: key)
        let result: (etag: String, modified: Int64) = try await io.run { [store] in
            let destination = try store.openBucket(bucketName)
            let sourceBucket = try store.openBucket(source.bucket)
            let object = try store.openObject(bucket: sourceBucket, key: source.key)
            if conditions.evaluateForCopySource(etag: object.metadata.etag, lastModified: object.lastModifiedSeconds) != .proceed {
                throw S3Error(.preconditionFailed)
            }
            let metadata = replacement ?? ObjectMetadataHeaders.copied(from: object.metadata, owner: user)
            let tags = replacementTags ?? object.tags
            if isSelf {
                try store.replaceMetadata(bucket: destination, key: key, metadata: metadata)
                try store.setObjectTags(bucket: destination, key: key, tags: tags)
                let updated = try store.openObject(bucket: destination, key: key)
                return (updated.metadata.etag, updated.lastModifiedSeconds)
            }
            if key.hasSuffix("/") {
                guard object.size == 0 else {
                    throw S3Error(.directoryObjectContainsData, "A key ending in '/' names a directory, which cannot hold data.")
                }
                try store.putDirectoryObject(bucket: destination, key: key, metadata: metadata, tags: tags)
                let created = try store.openObject(bucket: destination, key: key)
                return (emptyMD5, created.lastModifiedSeconds)
            }
            let writer = try store.beginWrite(bucket: destination, key: key)
            var meta = metadata
            if let file = object.file {
                try writer.copy(from: file, offset: 0, length: object.size)
            }
            // A plain MD5 ETag describes the same bytes; a multipart ETag does not, so hash the copy.
            meta.etag = object.metadata.etag.contains("-") ? try store.md5(of: writer) : object.metadata.etag
            let st = try writer.commit(metadata: meta, tags: tags)
            return (meta.etag, st.mtimeSeconds)
        }
        try await persistAfterLocalWrite(bucketName: bucketName, key: key, announced: announced)
        var xml = XMLWriter(root: "CopyObjectResult")
        xml.element("ETag", "\"\(result.etag)\"")
        xml.element("LastModified", HTTPDate.iso8601(seconds: result.modified))
        return Responses.xml(xml.finish())
    }
}
