import S3Protocol

/// Alluxio's write types: where a write goes when a bucket is mounted on an upstream S3.
public enum WriteType: String, Sendable {
    /// Local only.
    case mustCache = "MUST_CACHE"
    /// Local and upstream at once; acknowledged when both hold the bytes.
    case cacheThrough = "CACHE_THROUGH"
    /// Local now, upstream later from a durable journal.
    case asyncThrough = "ASYNC_THROUGH"
    /// Straight to upstream, no local copy.
    case through = "THROUGH"
}

public enum DeleteType: String, Sendable {
    /// Alluxio's ALLUXIO_AND_UFS: local and upstream.
    case everywhere = "ALLUXIO_AND_UFS"
    /// Alluxio's ALLUXIO_ONLY: the local copy only.
    case localOnly = "ALLUXIO_ONLY"
}

public enum ReadType: Sendable {
    /// Keep what a miss reads from upstream.
    case cache
    /// Stream it without keeping it.
    case noCache

    public init(_ name: String) { self = name.uppercased() == "NO_CACHE" ? .noCache : .cache }
}

/// How one bucket uses the upstream (named apart from S3 bucket policies, which Strata does not implement).
public struct TieringRule: Sendable, Equatable {
    public var writeType: WriteType
    public var deleteType: DeleteType
    public var readType: ReadType
    public var upstreamBucket: String
    public var upstreamPrefix: String
    /// -1 never revalidate, 0 on every access, otherwise milliseconds.
    public var syncIntervalMilliseconds: Int64

    public init(
        writeType: WriteType,
        deleteType: DeleteType,
        readType: ReadType,
        upstreamBucket: String,
        upstreamPrefix: String,
        syncIntervalMilliseconds: Int64
    ) {
        self.writeType = writeType
        self.deleteType = deleteType
        self.readType = readType
        self.upstreamBucket = upstreamBucket
        self.upstreamPrefix = upstreamPrefix
        self.syncIntervalMilliseconds = syncIntervalMilliseconds
    }

    public func upstreamKey(_ key: String) -> String { upstreamPrefix + key }
}

/// The global rule with per-bucket overrides, resolved per request.
public struct TieringRules: Sendable {
    public struct Override: Sendable {
        public var writeType: WriteType?
        public var deleteType: DeleteType?
        public var readType: ReadType?
        public var upstreamBucket: String?
        public var upstreamPrefix: String?

        public init(
            writeType: WriteType? = nil,
            deleteType: DeleteType? = nil,
            readType: ReadType? = nil,
            upstreamBucket: String? = nil,
            upstreamPrefix: String? = nil
        ) {
            self.writeType = writeType
            self.deleteType = deleteType
            self.readType = readType
            self.upstreamBucket = upstreamBucket
            self.upstreamPrefix = upstreamPrefix
        }
    }

    public var writeType: WriteType
    public var deleteType: DeleteType
    public var readType: ReadType
    public var syncIntervalMilliseconds: Int64
    public var overrides: [String: Override]

    public init(writeType: WriteType, deleteType: DeleteType, readType: ReadType, syncIntervalMilliseconds: Int64, overrides: [String: Override]) {
        self.writeType = writeType
        self.deleteType = deleteType
        self.readType = readType
        self.syncIntervalMilliseconds = syncIntervalMilliseconds
        self.overrides = overrides
    }

    public func rule(for bucket: String) -> TieringRule {
        let o = overrides.valueForBytes(bucket)
        return TieringRule(
            writeType: o?.writeType ?? writeType,
            deleteType: o?.deleteType ?? deleteType,
            readType: o?.readType ?? readType,
            upstreamBucket: o?.upstreamBucket ?? bucket,
            upstreamPrefix: o?.upstreamPrefix ?? "",
            syncIntervalMilliseconds: syncIntervalMilliseconds
        )
    }
}
