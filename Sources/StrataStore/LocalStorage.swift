import Foundation
import NIOCore
import S3Protocol

/// ObjectStorage on the local filesystem: every blocking call runs on its own I/O pool, never on the caller's
/// threads. The tiered store builds on the finer steps it exposes (open, serve, write with hooks).
public struct LocalStorage: ObjectStorage {
    public let store: FileSystemStore
    public let io: IOPool
    /// Names for POSIX owners and groups of entries made outside S3.
    public let users: UserDirectory

    public init(store: FileSystemStore, io: IOPool, users: UserDirectory? = nil) {
        self.store = store
        self.io = io
        self.users = users ?? UserDirectory()
    }

    /// Runs filesystem work on the I/O pool.
    public func run<T: Sendable>(_ body: @escaping @Sendable (FileSystemStore) throws -> T) async throws -> T {
        let store = store
        return try await io.run { try body(store) }
    }

    // MARK: Buckets

    public func listBuckets() async throws -> [BucketInfo] {
        try await run { try $0.listBuckets() }
    }

    public func createBucket(_ name: String, owner: String, permission: Permission?) async throws {
        _ = try await run { try $0.createBucket(name, owner: owner, permission: permission) }
    }

    public func headBucket(_ name: String) async throws -> BucketInfo {
        try await run { $0.bucketInfo(name, handle: try $0.openBucket(name)) }
    }

    public func deleteBucket(_ name: String) async throws {
        try await run { try $0.deleteBucket(name) }
    }

    public func bucketOwner(_ name: String) async throws -> String? {
        try await run { try $0.effectiveOwner(name) }
    }

    public func pathPermissions(bucket: String, key: String?) async throws -> PathPermissions {
        let users = users
        return try await run { try $0.pathPermissions(bucket: bucket, key: key, users: users) }
    }

    public func rootPermission() async throws -> Permission {
        let users = users
        return try await run { try $0.rootPermission(users: users) }
    }

    public func setBucketPermission(_ bucket: String, _ permission: Permission) async throws {
        try await run { try $0.setBucketPermission(bucket, permission) }
    }

    public func setObjectPermission(bucket: String, key: String, _ permission: Permission) async throws {
        try await run { try $0.setObjectPermission(bucket: try $0.openBucket(bucket), key: key, permission) }
    }

    public func bucketTagging(_ bucket: String) async throws -> TagSet {
        try await run { try $0.bucketTags(try $0.openBucket(bucket)) }
    }

    public func setBucketTagging(_ bucket: String, tags: TagSet?) async throws {
        try await run { try $0.setBucketTags(try $0.openBucket(bucket), tags: tags) }
    }

    public func bucketConfiguration(_ bucket: String, _ name: BucketConfigurationName) async throws -> [UInt8]? {
        try await run { try $0.bucketConfiguration(try $0.openBucket(bucket), name) }
    }

    public func setBucketConfiguration(_ bucket: String, _ name: BucketConfigurationName, _ document: [UInt8]?) async throws {
        try await run { store in
            try store.setBucketConfiguration(try store.openBucket(bucket), name, document)
            if name == .versioning { store.versioningCache.forget(bucket) }
        }
    }

    // MARK: Objects

    public func deleteObject(bucket: String, key: String, condition: DeleteCondition) async throws {
        try await run { try $0.deleteObject(bucket: try $0.openBucket(bucket), key: key, condition: condition) }
    }

    public func deleteObjects(bucket: String, keys: [String]) async throws -> [(key: String, error: S3Error?)] {
        try await deleteObjects(bucket: bucket, keys: keys, failed: [:])
    }

    /// Deletes the keys not already known to have failed (the tiered store's upstream deletes).
    public func deleteObjects(bucket: String, keys: [String], failed: [String: S3Error]) async throws -> [(key: String, error: S3Error?)] {
        try await run { store in
            let handle = try store.openBucket(bucket)
            return keys.map { key in
                do {
                    try ObjectKey.validate(key, isReserved: ReservedNames.isReserved, escapesSegments: !store.options.strictKeys)
                    if let failure = failed[key] { throw failure }
                    try store.deleteObject(bucket: handle, key: key)
                    return (key, nil)
                } catch let error as S3Error {
                    return (key, error)
                } catch {
                    return (key, S3Error(.internalError))
                }
            }
        }
    }

    public func objectTagging(bucket: String, key: String) async throws -> TagSet {
        try await run { try $0.objectTags(bucket: try $0.openBucket(bucket), key: key) }
    }

    public func setObjectTagging(bucket: String, key: String, tags: TagSet?) async throws {
        try await run { try $0.setObjectTags(bucket: try $0.openBucket(bucket), key: key, tags: tags) }
    }

    public func listObjects(_ input: ListObjectsInput) async throws -> ListObjectsOutput {
        let viewer = input.viewer.map { ListingViewer(caller: $0, users: users) }
        return try await run { store in
            let bucket = try store.openBucket(input.bucket)
            let owner = store.bucketInfo(input.bucket, handle: bucket).owner
            let page =
                input.maxKeys == 0
                ? ListPage()
                : try store.listObjects(
                    bucket: bucket,
                    prefix: input.prefix,
                    delimiter: input.delimiter,
                    startAfter: input.startAfter,
                    maxKeys: input.maxKeys,
                    viewer: viewer
                )
            return ListObjectsOutput(page: page, bucketOwner: owner)
        }
    }

    /// CopyObject within the local store: the kernel copies the bytes; a copy onto itself replaces metadata only.
    public func copyObject(_ input: CopyObjectInput) async throws -> CopyObjectOutput {
        let users = users
        return try await run { store in
            let destination = try store.openBucket(input.bucket)
            let object = try store.openCopySource(input.source, users: users, check: input.sourceCheck)
            let sourceVersionId = input.source.versionId ?? object.metadata.versionId
            if input.conditions.evaluateForCopySource(etag: object.metadata.etag, lastModified: object.lastModifiedSeconds) != .proceed {
                throw S3Error(.preconditionFailed)
            }
            let metadata: ObjectMetadata
            switch input.metadata {
            case .copy(let owner, let permission):
                var copied = object.metadata.copiedForCopy(owner: owner)
                if let permission { copied.permission = permission }
                metadata = copied
            case .replace(let replacement): metadata = replacement
            }
            let tags = input.tags ?? object.tags
            let versioning = store.versioningStatus(input.bucket, destination)
            // With versioning a copy onto itself is a new version, written like any other copy.
            let isSelf =
                input.source.bucket.bytesEqual(input.bucket) && input.source.key.bytesEqual(input.key) && input.source.versionId == nil
                && versioning == nil
            if isSelf {
                try store.replaceMetadata(bucket: destination, key: input.key, metadata: metadata)
                try store.setObjectTags(bucket: destination, key: input.key, tags: tags)
                let updated = try store.openObject(bucket: destination, key: input.key)
                return CopyObjectOutput(etag: updated.metadata.etag, lastModifiedSeconds: updated.lastModifiedSeconds)
            }
            if input.key.hasSuffix("/"), object.size == 0 || store.options.strictKeys {
                guard object.size == 0 else {
                    throw S3Error(.directoryObjectContainsData, "A key ending in '/' names a directory, which cannot hold data.")
                }
                try store.putDirectoryObject(bucket: destination, key: input.key, metadata: metadata, tags: tags)
                let created = try store.openObject(bucket: destination, key: input.key)
                return CopyObjectOutput(etag: emptyMD5, lastModifiedSeconds: created.lastModifiedSeconds)
            }
            let writer = try store.beginWrite(
                bucket: destination,
                key: input.key,
                permission: metadata.permission,
                versioning: versioning
            )
            var meta = metadata
            if let file = object.file {
                try writer.copy(from: file, offset: 0, length: object.size)
            }
            // A plain MD5 ETag describes the same bytes; a multipart ETag does not, so hash the copy.
            meta.etag = object.metadata.etag.contains("-") ? try store.md5(of: writer) : object.metadata.etag
            let st = try writer.commit(metadata: meta, tags: tags)
            return CopyObjectOutput(
                etag: meta.etag,
                lastModifiedSeconds: st.mtimeSeconds,
                versionId: writer.versionId,
                sourceVersionId: sourceVersionId
            )
        }
    }

    public func releaseAbandonedUpload(_ info: UploadInfo) async throws {}
}
