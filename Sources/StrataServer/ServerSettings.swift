import Foundation
import StrataConfig
import StrataStore

/// The parts of the configuration the S3 front end reads on every request, resolved once.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    public var ioThreads: Int
    public var shutdownGraceMilliseconds: Int64
    public var drainDelayMilliseconds: Int64
    public var accessLog: Bool
    public var bucketNamingRestrictions: Bool
    public var userMetadataMaxSize: Int
    public var taggingRestrictions: Bool
    public var taggingHeaderMaxSize: Int
    public var anonymousAccess: Bool
    public var anonymousUser: String
    /// SIMPLE mode: origins whose browser forms may post anywhere (`*`: any); others need a bucket CORS rule.
    public var simpleFormOrigins: [String]
    public var superuser: String
    public var region: String
    public var minPartSize: Int64
    public var completeKeepalive: Bool
    public var completeKeepaliveIntervalMilliseconds: Int64
    public var cleaner: CleanerSettings
    public var store: StoreOptions
    var permissions = PermissionSettings()
    /// The S3 listener's Host check against DNS rebinding (open unless bound to loopback).
    var hostGuard = HostGuard.open
    /// Alluxio's read rate limits in MB/s; 0 or less: unlimited.
    var globalReadRateLimitMB = 0
    var connectionReadRateLimitMB = 0

    public struct CleanerSettings: Sendable {
        public var enabled: Bool
        public var timeoutMilliseconds: Int64
        public var retryCount: Int
        public var retryDelayMilliseconds: Int64
        public var poolSize: Int
    }

    public init(_ config: Configuration) {
        host = config.string(Keys.bindHost)
        port = config.int(Keys.port)
        hostGuard = HostGuard(bindHost: host, config)
        ioThreads = config.int(Keys.ioThreads)
        shutdownGraceMilliseconds = config.durationMilliseconds(Keys.shutdownGrace)
        drainDelayMilliseconds = config.durationMilliseconds(Keys.drainDelay)
        accessLog = config.bool(Keys.accessLog)
        bucketNamingRestrictions = config.bool(Keys.bucketNamingRestrictions)
        userMetadataMaxSize = Int(config.bytes(Keys.userMetadataMaxSize))
        taggingRestrictions = config.bool(Keys.taggingRestrictions)
        taggingHeaderMaxSize = Int(config.bytes(Keys.taggingHeaderMaxSize))
        anonymousAccess = config.bool(Keys.anonymousAccess)
        anonymousUser = config.string(Keys.anonymousUser)
        simpleFormOrigins = config.string(Keys.simpleFormOrigins).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        superuser = config.string(Keys.superuser)
        region = config.string(Keys.region)
        minPartSize = config.bytes(Keys.minPartSize)
        completeKeepalive = config.bool(Keys.completeKeepalive)
        completeKeepaliveIntervalMilliseconds = max(1000, config.durationMilliseconds(Keys.completeKeepaliveInterval))
        permissions = PermissionSettings(
            enabled: config.bool(Keys.permissionEnabled),
            umask: UInt16(config.string(Keys.permissionUmask), radix: 8) ?? 0o022,
            supergroup: config.string(Keys.permissionSupergroup),
            serverUserOnly: config.choice(Keys.authenticationType) == "NOSASL"
        )
        globalReadRateLimitMB = config.int(Keys.globalReadRateLimit)
        connectionReadRateLimitMB = config.int(Keys.connectionReadRateLimit)
        cleaner = CleanerSettings(
            enabled: config.bool(Keys.cleanerEnabled),
            timeoutMilliseconds: config.durationMilliseconds(Keys.cleanerTimeout),
            retryCount: config.int(Keys.cleanerRetryCount),
            retryDelayMilliseconds: config.durationMilliseconds(Keys.cleanerRetryDelay),
            poolSize: config.int(Keys.cleanerPoolSize)
        )
        store = StoreOptions(
            syncPolicy: SyncPolicy(rawValue: config.choice(Keys.syncPolicy)) ?? .fileAndDirectory,
            listFolders: config.bool(Keys.listFolders),
            listingETagMaxSize: config.bytes(Keys.listingETagMaxSize),
            tmpSweepAgeSeconds: config.durationMilliseconds(Keys.tmpSweepAge) / 1000,
            multipartSuffix: config.string(Keys.multipartSuffix)
        )
        store.posixOwnership = config.bool(Keys.posixOwnership)
        store.listingIndexBytes = Int(clamping: config.bytes(Keys.listingIndexMemory))
        store.deleteBucketAbortsUploads = config.bool(Keys.deleteBucketAbortsUploads)
        store.strictKeys = config.bool(Keys.strictKeys)
        store.directoryHandles = config.int(Keys.directoryHandles)
        store.keepsEmptyDirectories = !config.string(Keys.upstreamEndpoint).isEmpty
    }
}
