/// Every property key Strata knows, grouped by area. Add keys here and nowhere else.
public enum Keys {
    // MARK: Server
    public static let rootDir = PropertyKey(
        "strata.root.dir",
        type: .string,
        default: "./data",
        "Root directory served over S3. Its top-level directories are buckets; created if missing."
    )
    public static let bindHost = PropertyKey(
        "strata.proxy.web.bind.host",
        alluxio: "alluxio.proxy.web.bind.host",
        type: .string,
        default: "127.0.0.1",
        "Address the S3 listener binds to. Binding beyond loopback with SIMPLE authentication trusts every client on the network."
    )
    public static let port = PropertyKey(
        "strata.proxy.web.port",
        alluxio: "alluxio.proxy.web.port",
        type: .integer(0...65535),
        default: "39999",
        "TCP port of the S3 listener (0 picks a free port and logs it)."
    )
    public static let webHostname = PropertyKey(
        "strata.proxy.web.hostname",
        alluxio: "alluxio.proxy.web.hostname",
        type: .string,
        default: "",
        "Host name clients use to reach the S3 endpoint (Alluxio's proxy host name). Informational: the listener binds to "
            + "strata.proxy.web.bind.host."
    )
    public static let allowedHosts = PropertyKey(
        "strata.proxy.web.allowed.hosts",
        type: .string,
        default: "",
        "Host names (comma-separated, without port; * for any) that listeners bound to loopback answer besides loopback names "
            + "(localhost, *.localhost, 127.x.y.z, [::1]) and strata.proxy.web.hostname. Other Host headers get 403, so a web page "
            + "cannot reach a loopback listener through DNS rebinding. Listeners bound beyond loopback answer every Host."
    )
    public static let adminEnabled = PropertyKey(
        "strata.admin.web.enabled",
        type: .boolean,
        default: "true",
        "Run the admin listener (health, version, Prometheus metrics)."
    )
    public static let adminBindHost = PropertyKey(
        "strata.admin.web.bind.host",
        type: .string,
        default: "127.0.0.1",
        "Address the admin listener binds to."
    )
    public static let adminPort = PropertyKey(
        "strata.admin.web.port",
        type: .integer(0...65535),
        default: "39998",
        "Port of the admin listener (0 picks a free port and logs it)."
    )
    public static let websiteEnabled = PropertyKey(
        "strata.website.web.enabled",
        type: .boolean,
        default: "true",
        "Run the website listener: buckets with a website configuration served by Host header to anonymous readers."
    )
    public static let websiteBindHost = PropertyKey(
        "strata.website.web.bind.host",
        type: .string,
        default: "127.0.0.1",
        "Address the website listener binds to (put a TLS-terminating proxy or load balancer in front of it)."
    )
    public static let websitePort = PropertyKey(
        "strata.website.web.port",
        type: .integer(0...65535),
        default: "39997",
        "Port of the website listener (0 picks a free port and logs it)."
    )
    public static let adminToken = PropertyKey(
        "strata.admin.web.token",
        type: .string,
        default: "",
        secret: true,
        "Pre-shared token of the admin API (X-Auth-Token). Empty, with no token file either: the admin listener answers only ping, "
            + "version, health and metrics."
    )
    public static let adminTokenFile = PropertyKey(
        "strata.admin.web.token.file",
        type: .string,
        default: "",
        "File holding the admin API token (first line), read at start-up; keeps the token out of properties files and process listings."
    )
    public static let adminAccount = PropertyKey(
        "strata.admin.account",
        type: .string,
        default: "strata",
        "The account name in the admin API's paths (/v1/s3/{account}/...); any other name is 404. Buckets made through the API are "
            + "owned by this user."
    )
    public static let idleTimeout = PropertyKey(
        "strata.proxy.web.idle.timeout",
        type: .duration,
        default: "5min",
        "A connection with no bytes moving in either direction for this long is closed (slow-loris protection; a slow but moving upload is not idle)."
    )
    public static let headerTimeout = PropertyKey(
        "strata.proxy.web.header.timeout",
        type: .duration,
        default: "60sec",
        "A request head must arrive within this long of the connection opening or the previous response ending; slower clients are disconnected."
    )
    public static let maxConnections = PropertyKey(
        "strata.proxy.web.max.connections",
        type: .integer(1...1_000_000),
        default: "4096",
        "Connections the S3 listener serves at once; further clients wait in the kernel's accept queue until one closes."
    )
    public static let maxConnectionsPerClient = PropertyKey(
        "strata.proxy.web.max.connections.per.client",
        type: .integer(0...1_000_000),
        default: "1024",
        "Connections one client IP address may hold on the S3 listener at once, inside strata.proxy.web.max.connections "
            + "(an IPv4-mapped IPv6 address counts as its IPv4 address); a connection over it is answered 503 SlowDown and closed "
            + "before its request is read. 0 turns the limit off. Behind a load balancer or proxy every client shares the "
            + "balancer's address: set it above the balancer's connection count, or to 0."
    )
    public static let ioThreads = PropertyKey(
        "strata.fs.io.threads",
        type: .integer(1...1024),
        default: "4",
        "Threads doing blocking filesystem calls, so slow disks or network filesystems never stall the event loops. Few threads keep "
            + "hand-offs cheap on a local disk (4 measured best for small requests on 2 cores); raise it for high-latency network "
            + "filesystems. When this key is not "
            + "set but strata.proxy.s3.v2.async.heavy.pool.maximum.thread.number is, the larger of that and this default is used (at most 1024)."
    )
    public static let inlineReadMaxSize = PropertyKey(
        "strata.fs.inline.read.max.size",
        type: .bytes,
        default: "64KB",
        "GET and HEAD of objects up to this size whose bytes are in the page cache are answered on the event loop that parsed them, "
            + "with no hand-off to strata.fs.io.threads (everything else, and every miss, takes the pooled path). Off on network "
            + "filesystems, where even an open may wait on the network, and with tiering or read rate limits; 0 turns it off."
    )
    public static let directoryHandles = PropertyKey(
        "strata.fs.directory.cache.entries",
        type: .integer(0...65_536),
        default: "1024",
        "Bucket and key directories kept open with the permission read from them, so a request checks each level with one stat "
            + "instead of an open and an xattr read. Each use compares the directory's identity and change time, so changes by "
            + "anyone are seen at once; each entry holds a file descriptor. Off on network filesystems, whose stat may answer from an "
            + "attribute cache; 0 turns it off."
    )
    public static let sendfile = PropertyKey(
        "strata.fs.sendfile.enabled",
        type: .boolean,
        default: "true",
        "GET of an object larger than strata.fs.inline.read.max.size is sent with sendfile(2) from the event loop, with no copy "
            + "through Strata, when its first page is in the page cache. Where inline reads are off (that key at 0, network "
            + "filesystems, tiering, read rate limits) or this is false, bodies stream through strata.fs.io.threads in 1 MiB reads."
    )
    public static let shutdownGrace = PropertyKey(
        "strata.proxy.shutdown.grace.period",
        type: .duration,
        default: "30sec",
        "On SIGINT/SIGTERM, how long in-flight requests may run before the server exits."
    )
    public static let drainDelay = PropertyKey(
        "strata.proxy.shutdown.drain.delay",
        type: .duration,
        default: "0sec",
        "On SIGINT/SIGTERM, how long the node keeps serving while its readiness check (/v1/s3/health/ready on the admin listener) "
            + "already answers 503, before the S3 listener stops accepting: set it a little above the load balancer's health-check "
            + "interval times its failure count, so no new request reaches a closing node. Counts against the grace period."
    )
    public static let clusterEnabled = PropertyKey(
        "strata.cluster.enabled",
        type: .boolean,
        default: "false",
        "This node shares its root with other Strata nodes (on one machine or over a network filesystem). Start-up then refuses a "
            + "mount whose locks stay on one client (NFS with nolock or local_lock, Lustre without flock, SMB, sshfs, s3fs), since "
            + "nodes would overwrite each other's conditional writes; without this key such a mount only logs a warning."
    )
    public static let accessLog = PropertyKey(
        "strata.proxy.access.log.enabled",
        type: .boolean,
        default: "true",
        "Write one structured log line per S3 request to standard error (operation, bucket, key, status, bytes, duration, request id)."
    )
    public static let proxyAuditLogging = PropertyKey(
        "strata.proxy.audit.logging.enabled",
        alluxio: "alluxio.proxy.audit.logging.enabled",
        type: .boolean,
        default: "false",
        "Write the audit log: one JSON line per S3, admin and website request (time, user, access key id, client address, operation, "
            + "bucket, key, status, bytes in and out, duration, request id; never a secret or signature) to strata.proxy.audit.log.file."
    )
    public static let auditLogFile = PropertyKey(
        "strata.proxy.audit.log.file",
        type: .string,
        default: "logs/proxy_audit.log",
        "The audit log's file (relative paths from the working directory); rotated into file.1 ... file.N by size."
    )
    public static let auditLogMaxSize = PropertyKey(
        "strata.proxy.audit.log.max.size",
        type: .bytes,
        default: "64MB",
        "Size at which the audit log is rotated."
    )
    public static let auditLogMaxFiles = PropertyKey(
        "strata.proxy.audit.log.max.files",
        type: .integer(1...1000),
        default: "5",
        "Rotated audit log files kept (file.1 is the newest)."
    )
    public static let auditLogging = PropertyKey(
        "strata.audit.logging.enabled",
        alluxio: "alluxio.master.audit.logging.enabled",
        type: .boolean,
        default: "true",
        "Alluxio writes the proxy's audit log only when its master's audit log is enabled too: false turns the audit log off whatever "
            + "strata.proxy.audit.logging.enabled says."
    )
    public static let logLevel = PropertyKey(
        "strata.log.level",
        type: .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
        default: "info",
        "Minimum level of log lines written to standard error."
    )

    // MARK: Filesystem store
    public static let syncPolicy = PropertyKey(
        "strata.fs.sync.policy",
        type: .choice(["NONE", "FILE", "FILE_AND_DIRECTORY"]),
        default: "FILE_AND_DIRECTORY",
        "What is fsynced before a write is acknowledged: NONE (page cache only), FILE (the object's data and metadata), FILE_AND_DIRECTORY "
            + "(also the directory entry, so the object survives a power cut)."
    )
    public static let tmpSweepAge = PropertyKey(
        "strata.fs.tmp.sweep.age",
        type: .duration,
        default: "1h",
        "Temporary files older than this, left by a crash, are removed by the start-up sweep. Younger ones may belong to another server "
            + "sharing the directory."
    )
    public static let listFolders = PropertyKey(
        "strata.proxy.s3.list.objects.return.folders",
        alluxio: "alluxio.proxy.s3.list.objects.return.folders",
        type: .boolean,
        default: "false",
        "Alluxio behaviour: list every directory as a 0-byte `dir/` key. Off: only directories created as `dir/` objects are keys, as in AWS."
    )
    public static let listingETagMaxSize = PropertyKey(
        "strata.s3.listing.etag.compute.max.size",
        type: .bytes,
        default: "16MB",
        "Files written outside S3 get their MD5 ETag computed (and cached) during listings up to this size; larger ones show a placeholder "
            + "ETag in listings until first read or HEAD."
    )
    public static let listingIndexMemory = PropertyKey(
        "strata.s3.listing.index.memory",
        type: .bytes,
        default: "64MB",
        "Memory for the sorted names of large directories (256 entries or more), kept between listing pages so that every page of a "
            + "directory of millions of keys costs the same. Checked against the directory's change time on every page; 0 turns it off."
    )

    // MARK: S3 semantics
    public static let deleteBucketAbortsUploads = PropertyKey(
        "strata.s3.bucket.delete.aborts.uploads",
        type: .boolean,
        default: "true",
        "DeleteBucket aborts the bucket's in-progress multipart uploads and frees their parts, as AWS does. Off: a bucket with uploads "
            + "in progress cannot be deleted (BucketNotEmpty), as in Alluxio."
    )
    public static let strictKeys = PropertyKey(
        "strata.s3.keys.strict",
        type: .boolean,
        default: "false",
        "Refuse keys a filesystem cannot hold at their natural path (`.` and `..` segments, empty segments, `dir/` with a body, both `a` "
            + "and `a/b`, names starting `.strata.`), as Alluxio does. Off: every valid S3 key is stored, the few such keys under escaped "
            + "names (see the README)."
    )
    public static let bucketNamingRestrictions = PropertyKey(
        "strata.proxy.s3.bucket.naming.restrictions.enabled",
        alluxio: "alluxio.proxy.s3.bucket.naming.restrictions.enabled",
        type: .boolean,
        default: "true",
        "Apply AWS bucket naming rules to CreateBucket (each `:`-separated segment). Existing directories stay reachable either way."
    )
    public static let userMetadataMaxSize = PropertyKey(
        "strata.proxy.s3.user.metadata.max.size",
        type: .bytes,
        default: "2KB",
        "Maximum total size of `x-amz-meta-*` names and values on one object (AWS: 2 KB). Larger requests get MetadataTooLarge."
    )
    public static let taggingRestrictions = PropertyKey(
        "strata.proxy.s3.tagging.restrictions.enabled",
        alluxio: "alluxio.proxy.s3.tagging.restrictions.enabled",
        type: .boolean,
        default: "true",
        "Enforce AWS's tag limits: at most 10 tags per object (50 per bucket), keys up to 128 and values up to 256 characters. Duplicate "
            + "keys are always refused."
    )
    public static let taggingHeaderMaxSize = PropertyKey(
        "strata.proxy.s3.header.metadata.max.size",
        alluxio: "alluxio.proxy.s3.header.metadata.max.size",
        type: .bytes,
        default: "2KB",
        "Maximum size of the `x-amz-tagging` request header (0 disables the check). Larger headers get MetadataTooLarge."
    )
    public static let writeType = PropertyKey(
        "strata.proxy.s3.writetype",
        alluxio: "alluxio.proxy.s3.writetype",
        type: .choice(["MUST_CACHE", "CACHE_THROUGH", "ASYNC_THROUGH", "THROUGH"]),
        default: "MUST_CACHE",
        "Where writes go. Without an upstream endpoint every write type behaves as MUST_CACHE (local only)."
    )
    public static let deleteType = PropertyKey(
        "strata.proxy.s3.deletetype",
        alluxio: "alluxio.proxy.s3.deletetype",
        type: .choice(["ALLUXIO_AND_UFS", "ALLUXIO_ONLY"]),
        default: "ALLUXIO_AND_UFS",
        "Whether deletes also remove the upstream copy. Without an upstream only the local copy exists."
    )
    public static let globalReadRateLimit = PropertyKey(
        "strata.proxy.s3.global.read.rate.limit.mb",
        alluxio: "alluxio.proxy.s3.global.read.rate.limit.mb",
        type: .integer(Int64(Int32.min)...Int64(Int32.max)),
        default: "0",
        "Most MB per second all GetObject responses together may send; 0 or less: unlimited."
    )
    public static let connectionReadRateLimit = PropertyKey(
        "strata.proxy.s3.single.connection.read.rate.limit.mb",
        alluxio: "alluxio.proxy.s3.single.connection.read.rate.limit.mb",
        type: .integer(Int64(Int32.min)...Int64(Int32.max)),
        default: "0",
        "Most MB per second one GetObject response may send; 0 or less: unlimited. With both limits set, the lower one applies."
    )
    public static let bucketPathCacheTimeout = PropertyKey(
        "strata.proxy.s3.bucketpathcache.timeout",
        alluxio: "alluxio.proxy.s3.bucketpathcache.timeout",
        "alluxio.proxy.s3.bucketpathcache.timeout.ms",
        type: .duration,
        default: "1min",
        "Alluxio's bucket-existence cache lifetime. Accepted for compatibility; Strata keeps no such cache, every request sees the bucket "
            + "directory as it is (as Alluxio does with 0min)."
    )
    public static let streamCacheTimeout = PropertyKey(
        "strata.proxy.stream.cache.timeout",
        alluxio: "alluxio.proxy.stream.cache.timeout",
        type: .duration,
        default: "1h",
        "Alluxio's stream cache of its non-S3 REST API. Accepted for compatibility; Strata serves only the S3 API and has no stream cache."
    )
    public static let v2Enabled = PropertyKey(
        "strata.proxy.s3.v2.version.enabled",
        alluxio: "alluxio.proxy.s3.v2.version.enabled",
        type: .boolean,
        default: "true",
        "Alluxio's choice between its v1 and v2 S3 servers. Accepted for compatibility; Strata has one implementation and behaves the same "
            + "either way."
    )
    public static let v2AsyncProcessing = PropertyKey(
        "strata.proxy.s3.v2.async.processing.enabled",
        alluxio: "alluxio.proxy.s3.v2.async.processing.enabled",
        type: .boolean,
        default: "false",
        "Alluxio v2's switch to run requests on its light and heavy thread pools. Accepted for compatibility; Strata always runs blocking "
            + "work off the event loops, on strata.fs.io.threads."
    )
    public static let v2LightPoolCore = PropertyKey(
        "strata.proxy.s3.v2.async.light.pool.core.thread.number",
        alluxio: "alluxio.proxy.s3.v2.async.light.pool.core.thread.number",
        type: .integer(0...65536),
        default: "8",
        "Core size of Alluxio v2's light pool. Accepted for compatibility; Strata does light work on its event loops."
    )
    public static let v2LightPoolMaximum = PropertyKey(
        "strata.proxy.s3.v2.async.light.pool.maximum.thread.number",
        alluxio: "alluxio.proxy.s3.v2.async.light.pool.maximum.thread.number",
        type: .integer(1...65536),
        default: "64",
        "Maximum size of Alluxio v2's light pool. Accepted for compatibility; Strata does light work on its event loops."
    )
    public static let v2LightPoolQueue = PropertyKey(
        "strata.proxy.s3.v2.async.light.pool.queue.size",
        alluxio: "alluxio.proxy.s3.v2.async.light.pool.queue.size",
        type: .integer(1...Int64(Int32.max)),
        default: "65536",
        "Queue length of Alluxio v2's light pool. Accepted for compatibility; Strata bounds work with strata.proxy.web.max.connections."
    )
    public static let v2HeavyPoolCore = PropertyKey(
        "strata.proxy.s3.v2.async.heavy.pool.core.thread.number",
        alluxio: "alluxio.proxy.s3.v2.async.heavy.pool.core.thread.number",
        type: .integer(0...65536),
        default: "8",
        "Core size of Alluxio v2's heavy pool. Accepted for compatibility; Strata's threads for blocking work are all started at once "
            + "(strata.fs.io.threads)."
    )
    public static let v2HeavyPoolMaximum = PropertyKey(
        "strata.proxy.s3.v2.async.heavy.pool.maximum.thread.number",
        alluxio: "alluxio.proxy.s3.v2.async.heavy.pool.maximum.thread.number",
        type: .integer(1...65536),
        default: "64",
        "Maximum size of Alluxio v2's heavy pool. Accepted for compatibility; Strata runs blocking work on strata.fs.io.threads, which "
            + "takes the larger of this and its own default (at most 1024) when this key is set and strata.fs.io.threads is not."
    )
    public static let v2HeavyPoolQueue = PropertyKey(
        "strata.proxy.s3.v2.async.heavy.pool.queue.size",
        alluxio: "alluxio.proxy.s3.v2.async.heavy.pool.queue.size",
        type: .integer(1...Int64(Int32.max)),
        default: "65536",
        "Queue length of Alluxio v2's heavy pool. Accepted for compatibility; Strata bounds work with strata.proxy.web.max.connections."
    )

    // MARK: Multipart uploads
    public static let multipartSuffix = PropertyKey(
        "strata.proxy.s3.multipart.temporary.dir.suffix",
        alluxio: "alluxio.proxy.s3.multipart.temporary.dir.suffix",
        type: .string,
        default: "_s3_multipart_tmp",
        "Suffix of the directory holding one upload's parts (under the bucket's hidden .strata.uploads directory)."
    )
    public static let minPartSize = PropertyKey(
        "strata.proxy.s3.complete.multipart.upload.min.part.size",
        alluxio: "alluxio.proxy.s3.complete.multipart.upload.min.part.size",
        "alluxio.proxy.s3.multipart.upload.min.part.size",
        type: .bytes,
        default: "5MB",
        "Every part but the last must be at least this large (EntityTooSmall otherwise; 0 disables)."
    )
    public static let completePoolSize = PropertyKey(
        "strata.proxy.s3.complete.multipart.upload.pool.size",
        alluxio: "alluxio.proxy.s3.complete.multipart.upload.pool.size",
        type: .integer(1...65536),
        default: "20",
        "Threads of Alluxio v1's CompleteMultipartUpload pool. Accepted for compatibility; Strata joins parts on strata.fs.io.threads."
    )
    public static let completeKeepalive = PropertyKey(
        "strata.proxy.s3.complete.multipart.upload.keepalive.enabled",
        alluxio: "alluxio.proxy.s3.complete.multipart.upload.keepalive.enabled",
        type: .boolean,
        default: "false",
        "Answer CompleteMultipartUpload with 200 at once and send whitespace while parts are joined; errors then arrive in the XML body."
    )
    public static let completeKeepaliveInterval = PropertyKey(
        "strata.proxy.s3.complete.multipart.upload.keepalive.time.interval",
        alluxio: "alluxio.proxy.s3.complete.multipart.upload.keepalive.time.interval",
        type: .duration,
        default: "30sec",
        "Longest gap between keepalive spaces (the first comes after 1 second, then the gap doubles)."
    )
    public static let cleanerEnabled = PropertyKey(
        "strata.proxy.s3.multipart.upload.cleaner.enabled",
        alluxio: "alluxio.proxy.s3.multipart.upload.cleaner.enabled",
        type: .boolean,
        default: "true",
        "Abort multipart uploads idle longer than the cleaner timeout, also those left from before a restart."
    )
    public static let cleanerTimeout = PropertyKey(
        "strata.proxy.s3.multipart.upload.cleaner.timeout",
        alluxio: "alluxio.proxy.s3.multipart.upload.cleaner.timeout",
        "alluxio.proxy.s3.multipart.upload.timeout",
        type: .duration,
        default: "24h",
        "How long an upload may go without a new part before the cleaner aborts it."
    )
    public static let cleanerRetryCount = PropertyKey(
        "strata.proxy.s3.multipart.upload.cleaner.retry.count",
        alluxio: "alluxio.proxy.s3.multipart.upload.cleaner.retry.count",
        type: .integer(0...100),
        default: "3",
        "How often the cleaner retries an abort that failed."
    )
    public static let cleanerRetryDelay = PropertyKey(
        "strata.proxy.s3.multipart.upload.cleaner.retry.delay",
        alluxio: "alluxio.proxy.s3.multipart.upload.cleaner.retry.delay",
        type: .duration,
        default: "10sec",
        "Wait between the cleaner's retries."
    )
    public static let cleanerPoolSize = PropertyKey(
        "strata.proxy.s3.multipart.upload.cleaner.pool.size",
        alluxio: "alluxio.proxy.s3.multipart.upload.cleaner.pool.size",
        type: .integer(1...64),
        default: "1",
        "How many uploads the cleaner aborts at the same time."
    )

    // MARK: Tiering to an upstream S3
    public static let upstreamEndpoint = PropertyKey(
        "strata.underfs.s3.endpoint",
        alluxio: "alluxio.underfs.s3.endpoint",
        type: .string,
        default: "",
        "URL of the upstream S3 service (e.g. https://s3.us-east-1.amazonaws.com). Empty: no upstream, every write type behaves as MUST_CACHE."
    )
    public static let upstreamRegion = PropertyKey(
        "strata.underfs.s3.region",
        alluxio: "alluxio.underfs.s3.endpoint.region",
        type: .string,
        default: "us-east-1",
        "Region the upstream requests are signed for."
    )
    public static let upstreamAccessKey = PropertyKey(
        "strata.underfs.s3.access.key",
        type: .string,
        default: "",
        "Access key for the upstream S3."
    )
    public static let upstreamSecretKey = PropertyKey(
        "strata.underfs.s3.secret.key",
        type: .string,
        default: "",
        secret: true,
        "Secret key for the upstream S3. Never printed or logged."
    )
    public static let upstreamPathStyle = PropertyKey(
        "strata.underfs.s3.path.style",
        type: .boolean,
        default: "true",
        "Address upstream buckets path-style (endpoint/bucket/key). False: virtual-host style (bucket.endpoint/key)."
    )
    public static let upstreamTLSVerify = PropertyKey(
        "strata.underfs.s3.tls.verify",
        type: .boolean,
        default: "true",
        "Verify the upstream's TLS certificate."
    )
    public static let upstreamConnectTimeout = PropertyKey(
        "strata.underfs.s3.connect.timeout",
        type: .duration,
        default: "10sec",
        "Connection timeout for upstream requests."
    )
    public static let upstreamRequestTimeout = PropertyKey(
        "strata.underfs.s3.request.timeout",
        type: .duration,
        default: "5min",
        "Longest time an upstream request may go without progress before it fails."
    )
    public static let upstreamConcurrency = PropertyKey(
        "strata.underfs.s3.concurrency",
        type: .integer(1...4096),
        default: "64",
        "Maximum concurrent connections to the upstream."
    )
    public static let upstreamSTSEndpoint = PropertyKey(
        "strata.underfs.s3.sts.endpoint",
        type: .string,
        default: "",
        "The upstream's STS endpoint: tiering then signs with temporary credentials from AssumeRoleWithWebIdentity, exchanged for a "
            + "token from this server's own OIDC issuer (strata.oidc.issuer.enabled), instead of a stored access key."
    )
    public static let upstreamSTSRole = PropertyKey(
        "strata.underfs.s3.sts.role",
        type: .string,
        default: "",
        "The role ARN tiering assumes at the upstream's STS."
    )
    public static let upstreamSTSAudience = PropertyKey(
        "strata.underfs.s3.sts.audience",
        type: .string,
        default: "sts",
        "The audience of the tokens this server signs for the upstream's STS."
    )
    public static let oidcIssuerEnabled = PropertyKey(
        "strata.oidc.issuer.enabled",
        type: .boolean,
        default: "false",
        "Act as an OpenID Connect issuer: /.well-known/openid-configuration and /.well-known/jwks.json on the S3 listener, with an "
            + "ES256 key made at first start under the root (.strata/oidc-keys.json, mode 0600)."
    )
    public static let oidcIssuerURL = PropertyKey(
        "strata.oidc.issuer.url",
        type: .string,
        default: "",
        "This issuer's URL as its tokens and discovery document name it (how others reach the S3 listener, e.g. https://strata.example)."
    )
    public static let readType = PropertyKey(
        "strata.user.file.readtype.default",
        alluxio: "alluxio.user.file.readtype.default",
        type: .choice(["CACHE", "CACHE_PROMOTE", "NO_CACHE"]),
        default: "CACHE",
        "On a cache miss: CACHE (and Alluxio's CACHE_PROMOTE) keeps the object read from upstream locally; NO_CACHE streams it without keeping it."
    )
    public static let metadataSyncInterval = PropertyKey(
        "strata.user.file.metadata.sync.interval",
        alluxio: "alluxio.user.file.metadata.sync.interval",
        type: .syncInterval,
        default: "1min",
        "How stale a cached object may be: after this long it is revalidated against the upstream ETag (changed: refetched; deleted: "
            + "removed). -1 never, 0 on every access."
    )
    public static let rangeMissPolicy = PropertyKey(
        "strata.user.file.range.miss.policy",
        type: .choice(["FETCH_RANGE", "FILL_OBJECT"]),
        default: "FILL_OBJECT",
        "A ranged GET that misses the cache fetches just the range from upstream; FILL_OBJECT also fetches the whole object into the cache "
            + "in the background (when the read type caches), so the reads that follow hit."
    )
    public static let cacheQuota = PropertyKey(
        "strata.cache.quota",
        type: .bytes,
        default: "0",
        "With an upstream: the most bytes of objects kept locally (0: no limit). Beyond it the least recently read copies the upstream "
            + "already holds are evicted, down to 90%; objects not yet persisted are never evicted."
    )
    public static let cacheEvictionInterval = PropertyKey(
        "strata.cache.eviction.interval",
        type: .duration,
        default: "30sec",
        "How often the cache quota is checked."
    )
    public static let asyncWorkers = PropertyKey(
        "strata.proxy.s3.async.through.workers",
        type: .integer(1...256),
        default: "4",
        "How many ASYNC_THROUGH journal entries are persisted upstream at the same time."
    )
    public static let asyncMaxBackoff = PropertyKey(
        "strata.proxy.s3.async.through.retry.max.delay",
        type: .duration,
        default: "2min",
        "Longest wait between retries of a failed upstream persist (the wait starts at 1 second and doubles)."
    )
    public static let bucketWriteType = PropertyKey(
        "strata.bucket.<bucket>.writetype",
        type: .choice(["MUST_CACHE", "CACHE_THROUGH", "ASYNC_THROUGH", "THROUGH"]),
        default: "",
        "Write type for one bucket."
    )
    public static let bucketDeleteType = PropertyKey(
        "strata.bucket.<bucket>.deletetype",
        type: .choice(["ALLUXIO_AND_UFS", "ALLUXIO_ONLY"]),
        default: "",
        "Delete type for one bucket."
    )
    public static let bucketReadType = PropertyKey(
        "strata.bucket.<bucket>.readtype",
        type: .choice(["CACHE", "CACHE_PROMOTE", "NO_CACHE"]),
        default: "",
        "Read type for one bucket."
    )
    public static let bucketUpstreamBucket = PropertyKey(
        "strata.bucket.<bucket>.upstream.bucket",
        type: .string,
        default: "",
        "Upstream bucket a bucket is mounted on (default: the same name)."
    )
    public static let bucketUpstreamPrefix = PropertyKey(
        "strata.bucket.<bucket>.upstream.prefix",
        type: .string,
        default: "",
        "Key prefix inside the upstream bucket (default: none)."
    )

    // MARK: Identity
    public static let authMode = PropertyKey(
        "strata.s3.auth.mode",
        type: .choice(["SIMPLE", "SIGV4"]),
        default: "SIMPLE",
        "SIMPLE: the caller is the access key named in the Authorization header and the signature is not checked (Alluxio's default; "
            + "trusted networks only). SIGV4: signatures (SigV4 and SigV2, headers and presigned URLs, streaming payloads) are verified "
            + "against the credential store."
    )
    public static let restAuthentication = PropertyKey(
        "strata.s3.rest.authentication.enabled",
        alluxio: "alluxio.s3.rest.authentication.enabled",
        type: .boolean,
        default: "false",
        "Alluxio's switch: true means strata.s3.auth.mode=SIGV4."
    )
    public static let restAuthenticator = PropertyKey(
        "strata.s3.rest.authenticator.classname",
        alluxio: "alluxio.s3.rest.authenticator.classname",
        type: .string,
        default: "alluxio.proxy.s3.auth.PassAllAuthenticator",
        "Alluxio's authenticator plugin for signature mode. Accepted for compatibility; Strata loads no plugins: with SIGV4 every signature "
            + "is verified against the credential store."
    )
    public static let authenticationType = PropertyKey(
        "strata.security.authentication.type",
        alluxio: "alluxio.security.authentication.type",
        type: .choice(["SIMPLE", "NOSASL", "CUSTOM"]),
        default: "SIMPLE",
        "Alluxio's authentication type. SIMPLE and CUSTOM: requests act as the user the Authorization header names. NOSASL: requests carry "
            + "no user."
    )
    public static let permissionEnabled = PropertyKey(
        "strata.security.authorization.permission.enabled",
        alluxio: "alluxio.security.authorization.permission.enabled",
        type: .boolean,
        default: "true",
        "Check POSIX-style permissions (owner, group, mode bits) of buckets and objects for the calling user, as Alluxio does."
    )
    public static let permissionUmask = PropertyKey(
        "strata.security.authorization.permission.umask",
        alluxio: "alluxio.security.authorization.permission.umask",
        type: .octalMask,
        default: "022",
        "Permission bits removed from the mode of new buckets, directories and objects."
    )
    public static let permissionSupergroup = PropertyKey(
        "strata.security.authorization.permission.supergroup",
        alluxio: "alluxio.security.authorization.permission.supergroup",
        type: .string,
        default: "supergroup",
        "Members of this group pass every permission check."
    )
    public static let posixOwnership = PropertyKey(
        "strata.security.authorization.posix.ownership.enabled",
        type: .boolean,
        default: "false",
        "Give new objects, directories and buckets the real POSIX owner and group of the S3 user and its group (when such a user "
            + "and group exist and Strata may chown), so filesystem users see the same ownership as S3 users."
    )
    public static let groupMappingFile = PropertyKey(
        "strata.security.group.mapping.file",
        type: .string,
        default: "",
        "File mapping users to groups for permission checks. Empty: the system's user and group database."
    )
    public static let adminAccessKey = PropertyKey(
        "strata.s3.auth.admin.access.key",
        type: .string,
        default: "",
        "Access key of the administrator credential, which may do everything (also STRATA_ADMIN_ACCESS_KEY)."
    )
    public static let adminSecretKey = PropertyKey(
        "strata.s3.auth.admin.secret.key",
        type: .string,
        default: "",
        secret: true,
        "Secret of the administrator credential (also STRATA_ADMIN_SECRET_KEY). Never printed or logged."
    )
    public static let stsEnabled = PropertyKey(
        "strata.sts.enabled",
        type: .boolean,
        default: "false",
        "Answer STS AssumeRoleWithWebIdentity on the S3 listener: tokens of the providers in strata.sts.config.file become temporary "
            + "credentials with their role's bucket grants."
    )
    public static let stsConfigFile = PropertyKey(
        "strata.sts.config.file",
        type: .string,
        default: "",
        "JSON file of trusted identity providers (issuer, audiences, optional jwks_file) and roles (arn, issuer, claim conditions, "
            + "grants, max_session_seconds); re-read when it changes."
    )
    public static let enforceRegion = PropertyKey(
        "strata.s3.auth.region.enforced",
        type: .boolean,
        default: "false",
        "Require signatures to be scoped to strata.s3.region. Off: any region in the credential scope is accepted."
    )
    public static let clockSkew = PropertyKey(
        "strata.s3.auth.clock.skew",
        type: .duration,
        default: "15min",
        "How far a signed request's date may be from the server's clock (RequestTimeTooSkewed beyond)."
    )
    public static let anonymousAccess = PropertyKey(
        "strata.s3.auth.anonymous.enabled",
        type: .boolean,
        default: "true",
        "Requests without an Authorization header act as the anonymous user. Off: they get 403 AccessDenied."
    )
    public static let anonymousUser = PropertyKey(
        "strata.s3.auth.anonymous.user",
        type: .string,
        default: "anonymous",
        "The user unauthenticated requests act as when anonymous access is enabled."
    )
    public static let simpleFormOrigins = PropertyKey(
        "strata.s3.auth.simple.form.origins",
        type: .string,
        default: "",
        "SIMPLE mode: web origins (comma-separated, `*` for any) whose browser forms may POST uploads to any bucket. A form "
            + "POST that carries an Origin header is otherwise accepted only where the bucket's CORS rules allow that origin "
            + "for POST, since any web page can name a user in a form field. Requests without Origin are not affected."
    )
    public static let superuser = PropertyKey(
        "strata.s3.superuser",
        type: .string,
        default: "admin",
        "This user sees every bucket in ListBuckets; other users see the buckets they own and buckets with no recorded owner."
    )
    public static let region = PropertyKey(
        "strata.s3.region",
        type: .string,
        default: "us-east-1",
        "Region reported by GetBucketLocation and accepted in CreateBucket's LocationConstraint."
    )

    public static let all: [PropertyKey] = [
        rootDir, bindHost, port, webHostname, allowedHosts, idleTimeout, headerTimeout, maxConnections, maxConnectionsPerClient,
        adminEnabled, adminBindHost, adminPort, adminToken, adminTokenFile,
        adminAccount, websiteEnabled, websiteBindHost, websitePort, ioThreads, inlineReadMaxSize, directoryHandles, sendfile,
        shutdownGrace, drainDelay, clusterEnabled,
        accessLog, proxyAuditLogging, auditLogFile, auditLogMaxSize, auditLogMaxFiles, auditLogging, logLevel,
        syncPolicy, tmpSweepAge, listFolders, listingETagMaxSize, listingIndexMemory, deleteBucketAbortsUploads, strictKeys,
        bucketNamingRestrictions, userMetadataMaxSize, taggingRestrictions, taggingHeaderMaxSize, writeType, deleteType,
        globalReadRateLimit, connectionReadRateLimit, bucketPathCacheTimeout, streamCacheTimeout,
        v2Enabled, v2AsyncProcessing, v2LightPoolCore, v2LightPoolMaximum, v2LightPoolQueue, v2HeavyPoolCore, v2HeavyPoolMaximum, v2HeavyPoolQueue,
        multipartSuffix, minPartSize, completePoolSize, completeKeepalive, completeKeepaliveInterval,
        cleanerEnabled, cleanerTimeout, cleanerRetryCount, cleanerRetryDelay, cleanerPoolSize,
        upstreamEndpoint, upstreamRegion, upstreamAccessKey, upstreamSecretKey, upstreamPathStyle, upstreamTLSVerify,
        upstreamConnectTimeout, upstreamRequestTimeout, upstreamConcurrency,
        upstreamSTSEndpoint, upstreamSTSRole, upstreamSTSAudience, oidcIssuerEnabled, oidcIssuerURL, readType, metadataSyncInterval, rangeMissPolicy,
        cacheQuota,
        cacheEvictionInterval, asyncWorkers, asyncMaxBackoff,
        bucketWriteType, bucketDeleteType, bucketReadType, bucketUpstreamBucket, bucketUpstreamPrefix,
        authMode, restAuthentication, restAuthenticator, adminAccessKey, adminSecretKey, stsEnabled, stsConfigFile, enforceRegion, clockSkew,
        anonymousAccess, anonymousUser, simpleFormOrigins,
        superuser, region,
        authenticationType, permissionEnabled, permissionUmask, permissionSupergroup, posixOwnership, groupMappingFile,
    ]
}
