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

    public init(syncPolicy: SyncPolicy = .fileAndDirectory, listFolders: Bool = false, listingETagMaxSize: Int64 = 16 << 20, tmpSweepAgeSeconds: Int64 = 3600) {
        self.syncPolicy = syncPolicy
        self.listFolders = listFolders
        self.listingETagMaxSize = listingETagMaxSize
        self.tmpSweepAgeSeconds = tmpSweepAgeSeconds
    }
}

/// Names Strata keeps for itself; listings never show them and keys may not use them.
public enum ReservedNames {
    /// Temporary files being written (only when O_TMPFILE is unavailable) or being published.
    public static let temporaryPrefix = ".strata.tmp."
    /// Strata's state directory at the top of the root (never a bucket: bucket names cannot start with a dot).
    public static let stateDirectory = ".strata"

    public static func isReserved(_ component: Substring) -> Bool {
        component.hasPrefix(temporaryPrefix)
    }

    public static func isReserved(_ component: String) -> Bool {
        component.hasPrefix(temporaryPrefix)
    }
}
