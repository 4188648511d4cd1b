import Foundation
import Synchronization

/// What S3 knows about an object beyond its bytes, stored in the `user.strata.meta` xattr in the binary format of
/// MetadataCodec.swift; values written as JSON by earlier versions (short keys, below) are still read.
///
/// This file, MetadataCodec.swift and ChecksumAlgorithm.swift use nothing else of the store, so the fuzz package
/// compiles them as they are; what needs the store's types is in ObjectMetadata+Store.swift.
public struct ObjectMetadata: Codable, Sendable, Equatable {
    public static let attributeName = "user.strata.meta"
    /// The version of the fields, not of the encoding (the binary format has its own marker byte).
    public static let currentVersion = 1

    public var version: Int = ObjectMetadata.currentVersion
    /// Unquoted ETag: hex MD5, or `hex-N` for multipart objects.
    public var etag: String
    /// Validator: the ETag holds only while size and mtime match; files edited outside S3 get a fresh one.
    public var size: Int64
    public var mtimeNanos: Int64
    public var contentType: String?
    public var contentEncoding: String?
    public var contentDisposition: String?
    public var contentLanguage: String?
    public var cacheControl: String?
    public var expires: String?
    /// `x-amz-meta-*` with the prefix removed and names lower-cased, as AWS returns them.
    public var userMetadata: [String: String]?
    public var owner: String?
    /// The permission model's group and mode (owner is `owner`); nil for objects from before it.
    public var group: String?
    public var mode: UInt16?
    public var isPublic: Bool?
    /// Set on directories that are objects (`key/`).
    public var isDirectory: Bool?
    /// For objects made by CompleteMultipartUpload: the upload (a retried Complete answers from it) and the
    /// part sizes, run-length encoded as `[size, count]` pairs, for GET with `partNumber`.
    public var multipartUploadId: String?
    public var partSizes: [[Int64]]?
    /// The parts' own checksums of `checksumAlgorithm`, in part order (GetObjectAttributes), when every part had one.
    public var partChecksums: [String]?
    /// The additional checksum the client asked for (`x-amz-checksum-*`), base64, and whether it covers the
    /// full object or is S3's composite of part checksums (`...-N`).
    public var checksumAlgorithm: ChecksumAlgorithm?
    public var checksum: String?
    public var checksumIsComposite: Bool?
    /// Tiering: the upstream's ETag for this version, when it was last confirmed (seconds), and whether the
    /// upstream holds this version yet (false while an ASYNC_THROUGH write waits in the journal).
    public var upstreamETag: String?
    public var syncedAt: Int64?
    public var persisted: Bool?
    /// Versioning: the id of this version (`null` for one written while versioning was suspended; nil for objects
    /// written before versioning was ever turned on, which S3 also calls `null`), and whether this version is a
    /// delete marker (an empty file in the key's versions directory).
    public var versionId: String?
    public var isDeleteMarker: Bool?

    /// The keys of the JSON format, which is still read (`decode`) and is how upload.json embeds the metadata.
    enum CodingKeys: String, CodingKey {
        case version = "v"
        case etag = "e"
        case size = "s"
        case mtimeNanos = "m"
        case contentType = "ct"
        case contentEncoding = "ce"
        case contentDisposition = "cd"
        case contentLanguage = "cl"
        case cacheControl = "cc"
        case expires = "ex"
        case userMetadata = "um"
        case group = "g"
        case mode = "pm"
        case isPublic = "pub"
        case owner = "o"
        case isDirectory = "dir"
        case multipartUploadId = "mp"
        case partSizes = "ps"
        case partChecksums = "pk"
        case checksumAlgorithm = "ka"
        case checksum = "kv"
        case checksumIsComposite = "kc"
        case upstreamETag = "ue"
        case syncedAt = "us"
        case persisted = "pp"
        case versionId = "vi"
        case isDeleteMarker = "dm"
    }

    public init(etag: String = "", size: Int64 = 0, mtimeNanos: Int64 = 0) {
        self.etag = etag
        self.size = size
        self.mtimeNanos = mtimeNanos
    }

    /// The binary format (MetadataCodec.swift): a typical object's fits in the inode's free xattr space.
    public func encoded() -> [UInt8] { MetadataCodec.encode(self) }

    /// nil for a missing, foreign or corrupt attribute: the object is then treated as written outside S3.
    /// The binary format starts with a byte no JSON text starts with; anything else is JSON from earlier versions.
    public static func decode(_ bytes: [UInt8]?) -> ObjectMetadata? {
        guard let bytes, let first = bytes.first else { return nil }
        if first == MetadataCodec.marker { return MetadataCodec.decode(bytes) }
        return try? jsonDecoder.decode(ObjectMetadata.self, from: Data(bytes))
    }

    /// Part `number` (1-based) of a multipart object as its offset and length (an empty part has length 0), and
    /// the part count. The layout is read from an xattr that other programs can write, so it is checked: nil when
    /// it is not a plausible layout of `size` bytes.
    public func part(_ number: Int, size: Int64) -> (found: (offset: Int64, length: Int64)?, count: Int)? {
        guard let partSizes else { return nil }
        var offset: Int64 = 0
        var count = 0
        var found: (offset: Int64, length: Int64)?
        for run in partSizes {
            guard run.count == 2, run[0] >= 0, (0...10_000).contains(run[1]), count + Int(run[1]) <= 10_000 else { return nil }
            let (runBytes, overflow) = run[0].multipliedReportingOverflow(by: run[1])
            guard !overflow, runBytes <= size - offset else { return nil }
            // Within the run, so this product is at most runBytes.
            if found == nil, number > count, number <= count + Int(run[1]) {
                found = (offset + Int64(number - count - 1) * run[0], run[0])
            }
            offset += runBytes
            count += Int(run[1])
        }
        guard offset == size else { return nil }
        return (found, count)
    }

    public static func runLengths(_ sizes: [Int64]) -> [[Int64]] {
        var runs: [[Int64]] = []
        for size in sizes {
            if let last = runs.last, last[0] == size {
                runs[runs.count - 1][1] += 1
            } else {
                runs.append([size, 1])
            }
        }
        return runs
    }

    private static let jsonDecoder = JSONDecoder()
}

/// What a bucket directory records about itself, in `user.strata.bucket`.
public struct BucketMetadata: Codable, Sendable, Equatable {
    public static let attributeName = "user.strata.bucket"
    public var owner: String?
    public var created: Int64
    public var group: String?
    public var mode: UInt16?
    public var isPublic: Bool?

    public init(owner: String?, created: Int64, group: String? = nil, mode: UInt16? = nil, isPublic: Bool? = nil) {
        self.owner = owner
        self.created = created
        self.group = group
        self.mode = mode
        self.isPublic = isPublic
    }

    public func encoded() -> [UInt8] { (try? Array(JSONEncoder().encode(self))) ?? [] }

    public static func decode(_ bytes: [UInt8]?) -> BucketMetadata? {
        guard let bytes, !bytes.isEmpty else { return nil }
        // Every request reads its bucket's record; the few distinct values are decoded once.
        if let known = decoded.withLock({ $0[bytes] }) { return known }
        guard let value = try? JSONDecoder().decode(BucketMetadata.self, from: Data(bytes)) else { return nil }
        decoded.withLock { cache in
            if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
            cache[bytes] = value
        }
        return value
    }

    private static let decoded = Mutex<[[UInt8]: BucketMetadata]>([:])
}

/// The ETag of an empty body, used for directory objects.
public let emptyMD5 = "d41d8cd98f00b204e9800998ecf8427e"
