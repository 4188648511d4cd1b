import Crypto
import Foundation
import NIOCore
import S3Protocol
import Synchronization

@testable import StrataStore

/// ObjectStorage held in memory: enough of S3 to drive the handlers without a filesystem, which shows they
/// depend on the protocol alone. Multipart uploads are kept simply (parts joined as they are, no size rules).
final class InMemoryStorage: ObjectStorage {
    struct Object {
        var bytes: [UInt8]
        var metadata: ObjectMetadata
        var tags: TagSet
        var modified: Int64
        /// What PutObjectAcl recorded (nil: the open default).
        var permission: Permission?
    }

    struct Bucket {
        var owner: String
        var tags = TagSet()
        var configurations: [BucketConfigurationName: [UInt8]] = [:]
        var objects: [String: Object] = [:]
        var permission: Permission?
    }

    struct Upload {
        var info: UploadInfo
        var tags: TagSet?
        var parts: [Int: (bytes: [UInt8], etag: String)] = [:]
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let uploads = Mutex<[String: Upload]>([:])

    private func bucket(_ name: String) throws(S3Error) -> Bucket {
        guard let bucket = buckets.withLock({ $0[name] }) else { throw S3Error(.noSuchBucket, details: [("BucketName", name)]) }
        return bucket
    }

    private func object(_ bucket: String, _ key: String) throws(S3Error) -> Object {
        guard let object = try self.bucket(bucket).objects[key] else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
        return object
    }

    private func update(_ name: String, _ change: (inout Bucket) throws(S3Error) -> Void) throws(S3Error) {
        var bucket = try bucket(name)
        try change(&bucket)
        buckets.withLock { $0[name] = bucket }
    }

    func listBuckets() async throws -> [BucketInfo] {
        buckets.withLock { $0 }.map { BucketInfo(name: $0.key, owner: $0.value.owner, creationSeconds: 0) }.sorted { $0.name < $1.name }
    }

    func createBucket(_ name: String, owner: String, permission: Permission?) async throws {
        buckets.withLock { if $0[name] == nil { $0[name] = Bucket(owner: owner) } }
    }

    func headBucket(_ name: String) async throws -> BucketInfo { BucketInfo(name: name, owner: try bucket(name).owner, creationSeconds: 0) }

    func deleteBucket(_ name: String) async throws {
        guard try bucket(name).objects.isEmpty else { throw S3Error(.bucketNotEmpty) }
        _ = buckets.withLock { $0.removeValue(forKey: name) }
    }

    func bucketOwner(_ name: String) async throws -> String? { try bucket(name).owner }

    /// Everything is open to everyone unless an ACL was set: the permission model is tested on the filesystem store.
    func pathPermissions(bucket: String, key: String?) async throws -> PathPermissions {
        let found = try self.bucket(bucket)
        let object = try? key.map { key throws(S3Error) in try self.object(bucket, key) }
        return PathPermissions(
            directories: [found.permission ?? Permission(owner: found.owner, group: found.owner, mode: 0o777)],
            directoriesComplete: true,
            object: object.flatMap { $0 }.map { $0.permission ?? Permission(owner: found.owner, group: found.owner, mode: 0o666) }
        )
    }

    func rootPermission() async throws -> Permission { Permission(owner: "admin", group: "supergroup", mode: 0o1777) }
    func setBucketPermission(_ bucket: String, _ permission: Permission) async throws { try update(bucket) { $0.permission = permission } }
    func setObjectPermission(bucket: String, key: String, _ permission: Permission) async throws {
        _ = try object(bucket, key)
        try update(bucket) { $0.objects[key]?.permission = permission }
    }
    func bucketTagging(_ bucket: String) async throws -> TagSet { try self.bucket(bucket).tags }
    func setBucketTagging(_ bucket: String, tags: TagSet?) async throws { try update(bucket) { $0.tags = tags ?? TagSet() } }
    func bucketConfiguration(_ bucket: String, _ name: BucketConfigurationName) async throws -> [UInt8]? {
        try self.bucket(bucket).configurations[name]
    }
    func setBucketConfiguration(_ bucket: String, _ name: BucketConfigurationName, _ document: [UInt8]?) async throws {
        try update(bucket) { $0.configurations[name] = document }
    }

    func putObject(_ input: PutObjectInput, body: any PayloadSource) async throws -> PutObjectOutput {
        _ = try bucket(input.bucket)
        let bytes = try await Self.collect(body)
        var meta = input.metadata
        meta.etag = Self.md5Hex(bytes)
        if let expected = input.contentMD5, expected != Array(Insecure.MD5.hash(data: bytes)) { throw S3Error(.badDigest) }
        let object = Object(bytes: bytes, metadata: meta, tags: input.tags ?? TagSet(), modified: 1_700_000_000)
        try update(input.bucket) { $0.objects[input.key] = object }
        return PutObjectOutput(etag: meta.etag)
    }

    func getObject(_ input: GetObjectInput) async throws -> GetObjectOutput {
        let object = try object(input.bucket, input.key)
        var output = GetObjectOutput(
            status: .ok,
            etag: object.metadata.etag,
            lastModifiedSeconds: object.modified,
            metadata: object.metadata,
            size: Int64(object.bytes.count),
            contentLength: Int64(object.bytes.count),
            tagCount: object.tags.count
        )
        var bytes = object.bytes
        if let range = input.range?.resolve(size: Int64(bytes.count)) {
            bytes = Array(bytes[Int(range.lowerBound)...Int(range.upperBound)])
            output.status = .partialContent
            output.contentLength = Int64(bytes.count)
            output.contentRange = "bytes \(range.lowerBound)-\(range.upperBound)/\(object.bytes.count)"
        }
        if !input.headOnly, !bytes.isEmpty {
            let sent = Atomic<Bool>(false)
            let chunk = bytes
            output.body = .stream(
                length: Int64(bytes.count),
                ByteStream { { sent.exchange(true, ordering: .relaxed) ? nil : ByteBuffer(bytes: chunk) } }
            )
        }
        return output
    }

    func deleteObject(bucket: String, key: String, condition: DeleteCondition) async throws { try update(bucket) { $0.objects[key] = nil } }

    func deleteObjects(bucket: String, keys: [String]) async throws -> [(key: String, error: S3Error?)] {
        try await keys.asyncMap { key in
            if key.hasPrefix("forbidden") { return (key, S3Error(.accessDenied)) }
            try await self.deleteObject(bucket: bucket, key: key)
            return (key, nil)
        }
    }

    func copyObject(_ input: CopyObjectInput) async throws -> CopyObjectOutput {
        var object = try object(input.source.bucket, input.source.key)
        if case .replace(let meta) = input.metadata {
            let etag = object.metadata.etag
            object.metadata = meta
            object.metadata.etag = etag
        }
        if let tags = input.tags { object.tags = tags }
        let copy = object
        try update(input.bucket) { $0.objects[input.key] = copy }
        return CopyObjectOutput(etag: object.metadata.etag, lastModifiedSeconds: object.modified)
    }

    func listObjects(_ input: ListObjectsInput) async throws -> ListObjectsOutput {
        let bucket = try bucket(input.bucket)
        var page = ListPage()
        let keys = bucket.objects.keys.filter { key in key.hasPrefix(input.prefix) && (input.startAfter.map { $0 < key } ?? true) }.sorted()
        for key in keys.prefix(input.maxKeys) {
            let object = bucket.objects[key]!
            page.contents.append(
                ObjectSummary(
                    key: key,
                    size: Int64(object.bytes.count),
                    lastModifiedSeconds: object.modified,
                    lastModifiedMilliseconds: 0,
                    etag: object.metadata.etag,
                    owner: nil
                )
            )
            page.lastItem = key
        }
        page.isTruncated = keys.count > input.maxKeys
        return ListObjectsOutput(page: page, bucketOwner: bucket.owner)
    }

    func objectTagging(bucket: String, key: String) async throws -> TagSet { try object(bucket, key).tags }

    func setObjectTagging(bucket: String, key: String, tags: TagSet?) async throws {
        _ = try object(bucket, key)
        try update(bucket) { $0.objects[key]?.tags = tags ?? TagSet() }
    }

    private static func collect(_ body: any PayloadSource) async throws -> [UInt8] {
        let collected = Mutex<[UInt8]>([])
        _ = try await body.stream { buffer in collected.withLock { $0 += Array(buffer.readableBytesView) } }
        return collected.withLock { $0 }
    }

    static func md5Hex(_ bytes: [UInt8]) -> String { Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    // MARK: Multipart uploads

    private func upload(_ id: String) throws(S3Error) -> Upload {
        guard let upload = uploads.withLock({ $0[id] }) else { throw S3Error(.noSuchUpload) }
        return upload
    }

    private func addPart(_ id: String, _ number: Int, _ bytes: [UInt8]) throws(S3Error) -> String {
        _ = try upload(id)
        let etag = Self.md5Hex(bytes)
        uploads.withLock { $0[id]?.parts[number] = (bytes, etag) }
        return etag
    }

    func createMultipartUpload(_ input: CreateUploadInput) async throws -> UploadInfo {
        _ = try bucket(input.bucket)
        return uploads.withLock { uploads in
            let info = UploadInfo(
                bucket: input.bucket,
                key: input.key,
                uploadId: "upload-\(uploads.count + 1)",
                owner: input.owner,
                initiated: 1_700_000_000_000,
                metadata: input.metadata
            )
            uploads[info.uploadId] = Upload(info: info, tags: input.tags)
            return info
        }
    }

    func uploadPart(_ input: UploadPartInput, body: any PayloadSource) async throws -> UploadPartOutput {
        UploadPartOutput(etag: try addPart(input.uploadId, input.partNumber, try await Self.collect(body)))
    }

    func uploadPartCopy(_ input: UploadPartCopyInput) async throws -> CopyObjectOutput {
        let source = try object(input.source.bucket, input.source.key)
        return CopyObjectOutput(etag: try addPart(input.uploadId, input.partNumber, source.bytes), lastModifiedSeconds: source.modified)
    }

    /// The parts named, joined; the ETag is S3's: the MD5 of the parts' MD5s, and their count.
    func completeMultipartUpload(_ input: CompleteUploadInput) async throws -> CompletedUpload {
        let upload = try upload(input.uploadId)
        var bytes: [UInt8] = []
        var digests: [UInt8] = []
        for requested in input.parts {
            guard let part = upload.parts[requested.number], "\"\(part.etag)\"" == requested.etag || part.etag == requested.etag else {
                throw S3Error(.invalidPart)
            }
            bytes += part.bytes
            digests += Array(Insecure.MD5.hash(data: part.bytes))
        }
        var meta = upload.info.metadata
        meta.etag = Self.md5Hex(digests) + "-\(input.parts.count)"
        let object = Object(bytes: bytes, metadata: meta, tags: upload.tags ?? TagSet(), modified: 1_700_000_000)
        try update(input.bucket) { $0.objects[input.key] = object }
        _ = uploads.withLock { $0.removeValue(forKey: input.uploadId) }
        return CompletedUpload(etag: meta.etag, lastModifiedSeconds: object.modified, metadata: meta)
    }

    func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        _ = try upload(uploadId)
        _ = uploads.withLock { $0.removeValue(forKey: uploadId) }
    }

    func listParts(_ input: ListPartsInput) async throws -> ListPartsOutput {
        let upload = try upload(input.uploadId)
        let numbers = upload.parts.keys.sorted().filter { $0 > input.partNumberMarker }
        let parts = numbers.prefix(input.maxParts).map { number in
            let part = upload.parts[number]!
            return PartInfo(
                number: number,
                size: Int64(part.bytes.count),
                etag: part.etag,
                lastModifiedSeconds: 1_700_000_000,
                lastModifiedMilliseconds: 0
            )
        }
        return ListPartsOutput(upload: upload.info, parts: parts, isTruncated: numbers.count > input.maxParts)
    }

    func listMultipartUploads(_ input: ListUploadsInput) async throws -> UploadsPage {
        _ = try bucket(input.bucket)
        var page = UploadsPage()
        page.uploads = uploads.withLock { $0.values.map(\.info) }.filter { info in
            info.bucket == input.bucket && info.key.hasPrefix(input.prefix) && input.initiator.map { $0 == info.owner } != false
        }.sorted { $0.key < $1.key }
        return page
    }

    func releaseAbandonedUpload(_ info: UploadInfo) async throws {}
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
