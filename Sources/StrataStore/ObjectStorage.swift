import NIOCore
import S3Protocol

/// The seam between HTTP and storage: one method per S3 action, typed inputs and outputs, async, owning its own
/// I/O threads. `LocalStorage` serves a filesystem; the tiered store in StrataTiering serves the same protocol on
/// top of a local store and an upstream S3, so handlers never know which they talk to.
public protocol ObjectStorage: Sendable {
    // MARK: Buckets
    func listBuckets() async throws -> [BucketInfo]
    /// `permission` is the bucket's owner, group and mode under the permission model (nil: none recorded).
    func createBucket(_ name: String, owner: String, permission: Permission?) async throws
    func headBucket(_ name: String) async throws -> BucketInfo
    func deleteBucket(_ name: String) async throws
    /// The owner that governs a bucket (its own, else its enclosing bucket's); NoSuchBucket when it does not exist.
    func bucketOwner(_ name: String) async throws -> String?
    func bucketTagging(_ bucket: String) async throws -> TagSet
    func setBucketTagging(_ bucket: String, tags: TagSet?) async throws
    /// A configuration document kept with the bucket (`cors`, later `website`); nil when none is set.
    func bucketConfiguration(_ bucket: String, _ name: BucketConfigurationName) async throws -> [UInt8]?
    /// Replaces (nil: removes) a configuration document.
    func setBucketConfiguration(_ bucket: String, _ name: BucketConfigurationName, _ document: [UInt8]?) async throws
    /// Permissions from the root along the path to a bucket or an object, for the permission model's checks.
    func pathPermissions(bucket: String, key: String?) async throws -> PathPermissions
    /// As `pathPermissions` for a key, with the object's own permission even when only an upstream holds the object
    /// (a tiered store whose local copy went): what checks on an existing object use.
    func objectPermissions(bucket: String, key: String) async throws -> PathPermissions
    func rootPermission() async throws -> Permission
    func setBucketPermission(_ bucket: String, _ permission: Permission) async throws
    func setObjectPermission(bucket: String, key: String, _ permission: Permission) async throws

    // MARK: Objects
    func putObject(_ input: PutObjectInput, body: any PayloadSource) async throws -> PutObjectOutput
    func getObject(_ input: GetObjectInput) async throws -> GetObjectOutput
    /// Deletes an object; with a condition, only when the object still matches it (PreconditionFailed otherwise).
    func deleteObject(bucket: String, key: String, condition: DeleteCondition) async throws
    /// Deletes each key; the outcome per key, in the order given.
    func deleteObjects(bucket: String, keys: [String]) async throws -> [(key: String, error: S3Error?)]
    /// DeleteObject as versioning defines it: version `versionId`, or (nil) the current version, which in a bucket
    /// with versioning becomes a stored version behind a new delete marker.
    func deleteVersioned(bucket: String, key: String, versionId: String?, condition: DeleteCondition) async throws -> DeletedVersion
    /// `viewer`: the caller whose rights narrow the listing, as `ListObjectsInput.viewer` (nil: everything).
    func listObjectVersions(_ arguments: ListVersionsArguments, viewer: Caller?) async throws -> VersionsPage
    func copyObject(_ input: CopyObjectInput) async throws -> CopyObjectOutput
    func listObjects(_ input: ListObjectsInput) async throws -> ListObjectsOutput
    func objectTagging(bucket: String, key: String) async throws -> TagSet
    func setObjectTagging(bucket: String, key: String, tags: TagSet?) async throws

    // MARK: Multipart uploads
    func createMultipartUpload(_ input: CreateUploadInput) async throws -> UploadInfo
    func uploadPart(_ input: UploadPartInput, body: any PayloadSource) async throws -> UploadPartOutput
    func uploadPartCopy(_ input: UploadPartCopyInput) async throws -> CopyObjectOutput
    func completeMultipartUpload(_ input: CompleteUploadInput) async throws -> CompletedUpload
    func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws
    func listParts(_ input: ListPartsInput) async throws -> ListPartsOutput
    func listMultipartUploads(_ input: ListUploadsInput) async throws -> UploadsPage
    /// Releases what an abandoned upload holds outside the local store (the tiered store's upstream half).
    func releaseAbandonedUpload(_ info: UploadInfo) async throws
}

extension ObjectStorage {
    public func objectPermissions(bucket: String, key: String) async throws -> PathPermissions {
        try await pathPermissions(bucket: bucket, key: key)
    }
}

/// Object bytes of a request, produced by the HTTP layer after transfer framing is removed. `stream` may be called
/// once: it hands over batches of about 1 MiB in order and returns only after the whole declared length arrived and
/// every signature over it checked out; its result is the aws-chunked trailers (empty for plain bodies).
/// The configuration documents a bucket keeps.
public enum BucketConfigurationName: String, Sendable {
    case cors
    case website
    /// `Enabled` or `Suspended` (Versioning.swift).
    case versioning
}

public protocol PayloadSource: Sendable {
    /// The number of bytes `stream` delivers; nil when the client did not say (chunked transfer coding, a file in
    /// a browser form), so that only the end of the stream tells.
    var length: Int64? { get }
    func stream(_ consume: @Sendable (ByteBuffer) async throws -> Void) async throws -> [(String, String)]
}

/// A response body produced by the store: a byte range of a local file (with a ready reader of it, which a
/// zero-copy sender may bypass), or bytes arriving from elsewhere.
public enum ObjectBody: Sendable {
    case file(OpenFile, offset: Int64, length: Int64, reader: ByteStream)
    case stream(length: Int64, ByteStream)
    /// A small body read together with the object's metadata, sent with the response head in one write.
    case buffer(ByteBuffer)

    public var length: Int64 {
        switch self {
        case .file(_, _, let length, _), .stream(let length, _): length
        case .buffer(let buffer): Int64(buffer.readableBytes)
        }
    }

    public var bytes: ByteStream {
        switch self {
        case .file(_, _, _, let reader), .stream(_, let reader): reader
        case .buffer(let buffer):
            ByteStream {
                let sent = OnceFlag()
                return { sent.take() ? buffer : nil }
            }
        }
    }
}

/// True the first time it is taken, false after.
final class OnceFlag: @unchecked Sendable {
    private var taken = false
    func take() -> Bool {
        defer { taken = true }
        return !taken
    }
}

/// A pull-based stream of buffers: the consumer's pace drives the producer, so memory stays flat.
public struct ByteStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let pull: @Sendable () async throws -> ByteBuffer?
        public mutating func next() async throws -> ByteBuffer? { try await pull() }
    }

    private let makePull: @Sendable () -> @Sendable () async throws -> ByteBuffer?

    /// `makePull` is called once per iteration and returns the function that yields the next buffer or nil.
    public init(_ makePull: @escaping @Sendable () -> @Sendable () async throws -> ByteBuffer?) {
        self.makePull = makePull
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pull: makePull()) }

    /// The same stream with each buffer (and the final nil) passed through `transform`.
    public func passing(through transform: @escaping @Sendable (ByteBuffer?) async throws -> ByteBuffer?) -> ByteStream {
        let makePull = makePull
        return ByteStream {
            let pull = makePull()
            return { try await transform(try await pull()) }
        }
    }
}

// MARK: Inputs and outputs

public struct PutObjectInput: Sendable {
    public var bucket: String
    public var key: String
    /// Content headers, user metadata and owner.
    public var metadata: ObjectMetadata
    public var tags: TagSet?
    public var contentMD5: [UInt8]?
    public var checksum: ChecksumRequest?
    public var condition: WriteCondition

    public init(
        bucket: String,
        key: String,
        metadata: ObjectMetadata,
        tags: TagSet? = nil,
        contentMD5: [UInt8]? = nil,
        checksum: ChecksumRequest? = nil,
        condition: WriteCondition = .none
    ) {
        self.bucket = bucket
        self.key = key
        self.metadata = metadata
        self.tags = tags
        self.contentMD5 = contentMD5
        self.checksum = checksum
        self.condition = condition
    }
}

public struct PutObjectOutput: Sendable {
    public var etag: String
    public var checksum: (algorithm: ChecksumAlgorithm, value: String)?
    /// Where the object stands with an upstream (`local`, `pending`, `persisted`, `upstream`); nil without one.
    public var persistence: String?
    /// The new version's id in a bucket with versioning.
    public var versionId: String?

    public init(
        etag: String,
        checksum: (algorithm: ChecksumAlgorithm, value: String)? = nil,
        persistence: String? = nil,
        versionId: String? = nil
    ) {
        self.etag = etag
        self.checksum = checksum
        self.persistence = persistence
        self.versionId = versionId
    }
}

/// The permission model's decision on an object, which the store makes where it opens the object (the current
/// version, a version by id, an upstream object read through, a copy source) with the permissions along its path:
/// it throws AccessDenied when the caller may not read. Made by the server's authorization gate.
public typealias PermissionCheck = @Sendable (PathPermissions) throws -> Void

public struct GetObjectInput: Sendable {
    public var bucket: String
    public var key: String
    /// HEAD: everything but the body.
    public var headOnly: Bool
    public var conditions: Conditions
    public var range: ByteRangeSpec?
    /// The Range header as sent, for error details.
    public var rangeHeader: String?
    public var partNumber: Int?
    /// A version other than the current one.
    public var versionId: String?
    /// The permission model's decision, made in the same hop to the I/O pool as the read (nil: none to make).
    public var permissionCheck: PermissionCheck?

    public init(
        bucket: String,
        key: String,
        headOnly: Bool = false,
        conditions: Conditions = Conditions(),
        range: ByteRangeSpec? = nil,
        rangeHeader: String? = nil,
        partNumber: Int? = nil
    ) {
        self.bucket = bucket
        self.key = key
        self.headOnly = headOnly
        self.conditions = conditions
        self.range = range
        self.rangeHeader = rangeHeader
        self.partNumber = partNumber
    }
}

public struct GetObjectOutput: Sendable {
    public enum Status: Sendable {
        case ok
        case partialContent
        case notModified
    }

    public var status: Status
    public var etag: String
    public var lastModifiedSeconds: Int64
    /// Content headers and user metadata. Objects only the upstream holds carry what it reported.
    public var metadata: ObjectMetadata
    public var size: Int64
    /// Bytes in the response body.
    public var contentLength: Int64
    /// `bytes a-b/size` or `bytes */size` for partial responses.
    public var contentRange: String?
    public var partsCount: Int?
    public var tagCount: Int
    public var persistence: String?
    /// nil for HEAD, 304 and empty bodies.
    public var body: ObjectBody?

    public init(
        status: Status,
        etag: String,
        lastModifiedSeconds: Int64,
        metadata: ObjectMetadata,
        size: Int64,
        contentLength: Int64,
        contentRange: String? = nil,
        partsCount: Int? = nil,
        tagCount: Int = 0,
        persistence: String? = nil,
        body: ObjectBody? = nil
    ) {
        self.status = status
        self.etag = etag
        self.lastModifiedSeconds = lastModifiedSeconds
        self.metadata = metadata
        self.size = size
        self.contentLength = contentLength
        self.contentRange = contentRange
        self.partsCount = partsCount
        self.tagCount = tagCount
        self.persistence = persistence
        self.body = body
    }
}

public struct CopyObjectInput: Sendable {
    public enum MetadataDirective: Sendable {
        /// Carry the source's content headers and user metadata over, owned by this user with this permission.
        case copy(owner: String, permission: Permission?)
        case replace(ObjectMetadata)
    }

    public var source: CopySource
    public var bucket: String
    public var key: String
    public var conditions: Conditions
    public var metadata: MetadataDirective
    /// nil keeps the source's tags.
    public var tags: TagSet?
    /// The read check of the source version, made where it is opened (nil: none to make).
    public var sourceCheck: PermissionCheck?

    public init(
        source: CopySource,
        bucket: String,
        key: String,
        conditions: Conditions,
        metadata: MetadataDirective,
        tags: TagSet?,
        sourceCheck: PermissionCheck? = nil
    ) {
        self.source = source
        self.bucket = bucket
        self.key = key
        self.conditions = conditions
        self.metadata = metadata
        self.tags = tags
        self.sourceCheck = sourceCheck
    }
}

public struct CopyObjectOutput: Sendable {
    public var etag: String
    public var lastModifiedSeconds: Int64
    /// The copy's version id in a bucket with versioning, and the version copied when the source has one.
    public var versionId: String?
    public var sourceVersionId: String?

    public init(etag: String, lastModifiedSeconds: Int64, versionId: String? = nil, sourceVersionId: String? = nil) {
        self.etag = etag
        self.lastModifiedSeconds = lastModifiedSeconds
        self.versionId = versionId
        self.sourceVersionId = sourceVersionId
    }
}

public struct ListObjectsInput: Sendable {
    public var bucket: String
    public var prefix: String
    public var delimiter: String?
    public var startAfter: String?
    public var maxKeys: Int
    /// The caller whose rights narrow the listing: directories it may not read and enter are not walked (nil: the
    /// caller sees everything).
    public var viewer: Caller?

    public init(bucket: String, prefix: String, delimiter: String?, startAfter: String?, maxKeys: Int) {
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.startAfter = startAfter
        self.maxKeys = maxKeys
    }
}

public struct ListObjectsOutput: Sendable {
    public var page: ListPage
    public var bucketOwner: String?

    public init(page: ListPage, bucketOwner: String?) {
        self.page = page
        self.bucketOwner = bucketOwner
    }
}

public struct CreateUploadInput: Sendable {
    public var bucket: String
    public var key: String
    public var owner: String
    public var metadata: ObjectMetadata
    public var tags: TagSet?

    public init(bucket: String, key: String, owner: String, metadata: ObjectMetadata, tags: TagSet?) {
        self.bucket = bucket
        self.key = key
        self.owner = owner
        self.metadata = metadata
        self.tags = tags
    }
}

public struct UploadPartInput: Sendable {
    public var bucket: String
    public var key: String
    public var uploadId: String
    public var partNumber: Int
    public var contentMD5: [UInt8]?
    public var checksum: ChecksumRequest?

    public init(bucket: String, key: String, uploadId: String, partNumber: Int, contentMD5: [UInt8]?, checksum: ChecksumRequest?) {
        self.bucket = bucket
        self.key = key
        self.uploadId = uploadId
        self.partNumber = partNumber
        self.contentMD5 = contentMD5
        self.checksum = checksum
    }
}

public struct UploadPartOutput: Sendable {
    public var etag: String
    public var checksum: (algorithm: ChecksumAlgorithm, value: String)?

    public init(etag: String, checksum: (algorithm: ChecksumAlgorithm, value: String)? = nil) {
        self.etag = etag
        self.checksum = checksum
    }
}

public struct UploadPartCopyInput: Sendable {
    public var bucket: String
    public var key: String
    public var uploadId: String
    public var partNumber: Int
    public var source: CopySource
    /// The `x-amz-copy-source-range` as sent, checked against the source's size.
    public var rangeHeader: String?
    public var conditions: Conditions
    /// The read check of the source version, made where it is opened (nil: none to make).
    public var sourceCheck: PermissionCheck?

    public init(
        bucket: String,
        key: String,
        uploadId: String,
        partNumber: Int,
        source: CopySource,
        rangeHeader: String?,
        conditions: Conditions,
        sourceCheck: PermissionCheck? = nil
    ) {
        self.sourceCheck = sourceCheck
        self.bucket = bucket
        self.key = key
        self.uploadId = uploadId
        self.partNumber = partNumber
        self.source = source
        self.rangeHeader = rangeHeader
        self.conditions = conditions
    }
}

public struct CompleteUploadInput: Sendable {
    public var bucket: String
    public var key: String
    public var uploadId: String
    public var parts: [RequestedPart]
    public var condition: WriteCondition
    public var minPartSize: Int64
    /// The whole object's checksum the client states (`x-amz-checksum-*` on Complete): BadDigest unless it matches.
    public var checksum: (algorithm: ChecksumAlgorithm, value: String)?

    public init(bucket: String, key: String, uploadId: String, parts: [RequestedPart], condition: WriteCondition, minPartSize: Int64) {
        self.bucket = bucket
        self.key = key
        self.uploadId = uploadId
        self.parts = parts
        self.condition = condition
        self.minPartSize = minPartSize
    }
}

public struct ListPartsInput: Sendable {
    public var bucket: String
    public var key: String
    public var uploadId: String
    public var partNumberMarker: Int
    public var maxParts: Int

    public init(bucket: String, key: String, uploadId: String, partNumberMarker: Int, maxParts: Int) {
        self.bucket = bucket
        self.key = key
        self.uploadId = uploadId
        self.partNumberMarker = partNumberMarker
        self.maxParts = maxParts
    }
}

public struct ListPartsOutput: Sendable {
    public var upload: UploadInfo
    public var parts: [PartInfo]
    public var isTruncated: Bool

    public init(upload: UploadInfo, parts: [PartInfo], isTruncated: Bool) {
        self.upload = upload
        self.parts = parts
        self.isTruncated = isTruncated
    }
}

/// ListMultipartUploads takes the protocol's parsed arguments unchanged.
public typealias ListUploadsInput = ListUploadsArguments

extension ObjectStorage {
    public func deleteObject(bucket: String, key: String) async throws {
        try await deleteObject(bucket: bucket, key: key, condition: DeleteCondition())
    }

    /// A store without versioning has one version per key, `null`.
    public func deleteVersioned(bucket: String, key: String, versionId: String?, condition: DeleteCondition) async throws -> DeletedVersion {
        guard versionId == nil || versionId == VersionID.null else { return DeletedVersion(versionId: versionId) }
        try await deleteObject(bucket: bucket, key: key, condition: condition)
        return DeletedVersion(versionId: versionId)
    }

    public func listObjectVersions(_ arguments: ListVersionsArguments, viewer: Caller?) async throws -> VersionsPage {
        throw S3Error(.notImplemented, "ListObjectVersions is not available on buckets that tier to an upstream S3.")
    }
}
