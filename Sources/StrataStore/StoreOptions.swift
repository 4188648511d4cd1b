import S3Protocol
import Synchronization

/// What is made durable before a write is acknowledged.
public enum SyncPolicy: String, Sendable {
    case none = "NONE"
    case file = "FILE"
    case fileAndDirectory = "FILE_AND_DIRECTORY"
}

public struct StoreOptions: Sendable {
    public var syncPolicy: SyncPolicy
    /// Alluxio's behaviour: every directory is listed and readable as a `dir/` key.
    public var listFolders: Bool
    /// Files written outside S3 up to this size get a real MD5 ETag during listings.
    public var listingETagMaxSize: Int64
    /// Temporary files older than this are swept at start-up.
    public var tmpSweepAgeSeconds: Int64
    /// Suffix of the directory holding one multipart upload's parts (Alluxio's `_s3_multipart_tmp`).
    public var multipartSuffix: String
    /// Give what S3 creates its owner's and group's real POSIX uid and gid (needs the privilege to chown).
    public var posixOwnership: Bool = false
    /// Memory for the sorted names of large directories kept between listing pages (0 turns the index off).
    public var listingIndexBytes: Int = 64 << 20
    /// DeleteBucket aborts the bucket's in-progress multipart uploads (AWS); off, they make it BucketNotEmpty (Alluxio).
    public var deleteBucketAbortsUploads = true
    /// Keys the filesystem cannot name naturally are refused (Alluxio); off, they are stored under escaped names.
    public var strictKeys = false
    /// A directory is indexed only once it has not changed for this long: a change within the same timestamp tick
    /// would go unseen (git's "racy" rule; network filesystems' server clocks need the slack).
    public var listingIndexQuietNanos: Int64 = 1_000_000_000
    /// Directories the permission walk keeps open with their permission (0: every request opens and reads them).
    public var directoryHandles = 1024
    /// Directories left empty by a delete stay: in front of an upstream, the objects below a directory may all be
    /// upstream only (evicted), and the directory's recorded permission must keep governing them.
    public var keepsEmptyDirectories = false

    public init(
        syncPolicy: SyncPolicy = .fileAndDirectory,
        listFolders: Bool = false,
        listingETagMaxSize: Int64 = 16 << 20,
        tmpSweepAgeSeconds: Int64 = 3600,
        multipartSuffix: String = "_s3_multipart_tmp"
    ) {
        self.syncPolicy = syncPolicy
        self.listFolders = listFolders
        self.listingETagMaxSize = listingETagMaxSize
        self.tmpSweepAgeSeconds = tmpSweepAgeSeconds
        self.multipartSuffix = multipartSuffix
    }
}

/// Names Strata keeps for itself; listings never show them and keys may not use them.
public enum ReservedNames {
    /// Every name Strata keeps for itself starts with this.
    public static let prefix = ".strata."
    /// Temporary files being written (only when O_TMPFILE is unavailable) or being published.
    public static let temporaryPrefix = ".strata.tmp."
    /// In each top-level bucket: the in-progress multipart uploads of that bucket and its nested buckets.
    public static let uploadsDirectory = ".strata.uploads"

    /// A fresh temporary name: this process's random tag and a counter. Unique across the nodes sharing a root (64
    /// random bits per process), and, unlike `UUID()`, it costs no system call (Foundation reads /dev/urandom each time).
    public static func uniqueTemporaryName(_ infix: String = "") -> String {
        let count = temporaryCounter.add(1, ordering: .relaxed).newValue
        return temporaryPrefix + infix + processTag + "." + String(count, radix: 16)
    }

    private static let processTag = String(UInt64.random(in: 0...UInt64.max), radix: 16)
    private static let temporaryCounter = Atomic<UInt64>(0)

    public static func isReserved(_ component: Substring) -> Bool {
        component.hasBytePrefix(prefix)
    }

    public static func isReserved(_ component: String) -> Bool {
        component.hasBytePrefix(prefix)
    }
}
