import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import StrataConfig
import StrataStore
import StrataTiering
import UnixSignals

/// The S3 application and everything that runs beside it, built from a configuration and not yet running.
/// Tests build it and drive `s3` in-process (HummingbirdTesting); the executable runs it.
struct StrataApplication {
    let s3: Application<S3Responder>
    /// Background services (persister, evictor, cleaner) and the admin listener.
    let services: [any Service]
    let responder: S3Responder
    let settings: ServerSettings
    let local: LocalStorage
    let tiered: TieredStorage?
    /// Set on SIGTERM before the S3 listener closes; the readiness check reports it.
    let drain: DrainState
    /// The S3 listener's per-client-address connection counts; nil when that limit is off.
    let connections: ClientConnectionLimit?

    /// Releases what the services do not own: the upstream client and the I/O threads.
    func shutdown() async {
        responder.accessLog?.flush()
        await tiered?.client.shutdown()
        await local.io.shutdown()
    }
}

/// Builds and runs the S3 server from a resolved configuration.
public enum StrataApp {
    public static func run(configuration: Configuration, logger: Logger) async throws {
        let built = try buildApplication(configuration, logger: logger)
        // Graceful shutdown runs in reverse order: first the node reports draining, then the S3 listener stops accepting
        // and finishes its requests, then background work and the admin listener (still answering 503 on readiness) end.
        let drain = DrainService(state: built.drain, delay: .milliseconds(built.settings.drainDelayMilliseconds), logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: (built.services + [built.s3, drain]).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        // In-flight requests get the grace period; an upload cut short after it is discarded, never half-published.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(built.settings.shutdownGraceMilliseconds)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            await built.shutdown()
            throw error
        }
        await built.shutdown()
    }

    /// Opens the root, verifies its filesystem, and wires the store, authentication, tiering and services.
    /// `storage` replaces the store the configuration describes (tests use an in-memory one).
    static func buildApplication(
        _ configuration: Configuration,
        logger: Logger,
        storage override: (any ObjectStorage)? = nil
    ) throws
        -> StrataApplication
    {
        let rootPath = configuration.string(Keys.rootDir)
        let settings = serverSettings(configuration, rootPath: rootPath)
        let store = try FileSystemStore(rootPath: rootPath, options: settings.store)
        let io = IOPool(threads: settings.ioThreads)
        if !configuration.signaturesRequired && !isLoopback(settings.host) {
            logger.warning(
                """
                SIMPLE authentication trusts the user named in each request, and the server is bound beyond loopback: \
                anyone who can reach \(settings.host):\(settings.port) can act as any user
                """
            )
        }
        try checkSharedRoot(store.rootPath, clustered: configuration.bool(Keys.clusterEnabled), logger: logger)
        logger.info("serving \(store.rootPath)", metadata: ["sync": "\(settings.store.syncPolicy.rawValue)"])
        // Leftovers of a crash are swept in the background so start-up stays fast on large trees.
        Task.detached(priority: .background) {
            let removed = TemporarySweeper.sweep(store: store, olderThanSeconds: settings.store.tmpSweepAgeSeconds)
            if removed > 0 { logger.notice("removed \(removed) temporary files left by an earlier run") }
        }

        let credentials = CredentialStore(root: store.rootPath, logger: logger)
        let sts = try makeSTS(configuration, root: store.rootPath, logger: logger)
        var authenticator: Authenticator?
        if configuration.signaturesRequired {
            let adminKey = configuration.string(Keys.adminAccessKey)
            let adminSecret = configuration.string(Keys.adminSecretKey)
            let admin =
                adminKey.isEmpty || adminSecret.isEmpty ? nil : Credential(accessKey: adminKey, secretKey: adminSecret, user: settings.superuser)
            if admin == nil { logger.warning("SIGV4 mode without an admin credential: only credentials from `strata credentials` can sign") }
            authenticator = Authenticator(
                credentials: credentials,
                admin: admin,
                region: settings.region,
                enforceRegion: configuration.bool(Keys.enforceRegion),
                clockSkewSeconds: configuration.durationMilliseconds(Keys.clockSkew) / 1000,
                anonymousUser: settings.anonymousAccess && settings.permissions.enabled ? settings.anonymousUser : nil,
                sessions: sts?.sealer,
                roles: sts?.configuration
            )
            logger.info("SIGV4 authentication: signatures are verified against \(store.rootPath)/.strata/credentials.json")
        }
        let users = try UserDirectory(mappingFile: configuration.string(Keys.groupMappingFile))
        let local = LocalStorage(store: store, io: io, users: users)
        if settings.permissions.enabled {
            // Anyone may create a bucket and only its owner may delete it, unless the admin set the root otherwise.
            store.initializeRootPermission(Permission(owner: settings.superuser, group: settings.permissions.supergroup, mode: 0o1777))
        }
        let issuer = try makeIssuer(configuration, root: store.rootPath)
        let tiered = try makeTieredStorage(configuration, local: local, issuer: issuer, logger: logger)
        let storage: any ObjectStorage = override ?? tiered ?? local
        let requestMetrics = RequestMetrics()
        let accessLog = settings.accessLog ? AccessLog() : nil
        let auditLog =
            configuration.bool(Keys.proxyAuditLogging)
            ? try AuditLog(
                path: configuration.string(Keys.auditLogFile),
                maxBytes: configuration.bytes(Keys.auditLogMaxSize),
                maxFiles: configuration.int(Keys.auditLogMaxFiles)
            ) : nil
        var responder = S3Responder(
            storage: storage,
            settings: settings,
            users: users,
            globalReadLimiter: RateLimiter(megabytesPerSecond: settings.globalReadRateLimitMB),
            logger: logger,
            authenticator: authenticator,
            requestMetrics: requestMetrics,
            accessLog: accessLog,
            auditLog: auditLog,
            sts: sts,
            issuer: issuer
        )
        responder.inlineReads = inlineReads(configuration, storage: storage, local: local, settings: settings, logger: logger)
        let channelConfiguration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionGuard(headerTimeout: .milliseconds(max(100, configuration.durationMilliseconds(Keys.headerTimeout))))
            ],
            idleTimeout: .milliseconds(max(1000, configuration.durationMilliseconds(Keys.idleTimeout)))
        )
        let perClient = configuration.int(Keys.maxConnectionsPerClient)
        let connections = perClient > 0 ? ClientConnectionLimit(maximum: perClient) : nil
        let app = Application(
            responder: responder,
            server: s3Server(responder, configuration: channelConfiguration, connections: connections),
            configuration: .init(
                address: .hostname(settings.host, port: settings.port),
                serverName: "Strata",
                availableConnectionsDelegate: .maximum(configuration.int(Keys.maxConnections), logger: logger)
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                logger.notice("Strata S3 endpoint listening on http://\(settings.host):\(port)/ (also under /api/v1/s3/)")
            },
            logger: logger
        )
        var services: [any Service] = []
        let drain = DrainState()
        if let accessLog { services.append(accessLog.service) }
        if let auditLog { services.append(auditLog.service) }
        if let tiered {
            services.append(tiered.persister.service)
            if configuration.bytes(Keys.cacheQuota) > 0 {
                services.append(
                    tiered.evictor(
                        quotaBytes: configuration.bytes(Keys.cacheQuota),
                        intervalMilliseconds: max(100, configuration.durationMilliseconds(Keys.cacheEvictionInterval))
                    )
                )
            }
        }
        if configuration.bool(Keys.adminEnabled) {
            services.append(
                AdminApp.make(
                    host: configuration.string(Keys.adminBindHost),
                    port: configuration.int(Keys.adminPort),
                    requests: requestMetrics,
                    local: local,
                    tiering: tiered,
                    api: try adminAPI(
                        configuration,
                        storage: storage,
                        credentials: credentials,
                        settings: settings,
                        tiering: tiered,
                        issuer: issuer
                    ).map {
                        var api = $0
                        api.stsConfiguration = sts?.configuration
                        return api
                    },
                    auditLog: auditLog,
                    drain: drain,
                    hostGuard: HostGuard(bindHost: configuration.string(Keys.adminBindHost), configuration),
                    connections: connections,
                    logger: logger
                )
            )
        }
        if configuration.bool(Keys.websiteEnabled) {
            services.append(
                WebsiteResponder.make(
                    host: configuration.string(Keys.websiteBindHost),
                    port: configuration.int(Keys.websitePort),
                    storage: storage,
                    gate: responder.gate,
                    reader: websiteReader(settings, signaturesRequired: authenticator != nil),
                    metrics: requestMetrics,
                    auditLog: auditLog,
                    hostGuard: HostGuard(bindHost: configuration.string(Keys.websiteBindHost), configuration),
                    logger: logger
                )
            )
        }
        if settings.cleaner.enabled {
            services.append(
                MultipartCleaner(local: local, storage: storage, settings: settings.cleaner, metrics: requestMetrics, logger: logger).service
            )
        }
        return StrataApplication(
            s3: app,
            services: services,
            responder: responder,
            settings: settings,
            local: local,
            tiered: tiered,
            drain: drain,
            connections: connections
        )
    }

    /// A website visitor: the anonymous user, who reaches only public objects when signatures are required.
    static func websiteReader(_ settings: ServerSettings, signaturesRequired: Bool) -> Identity {
        var reader = Identity.simple(settings.anonymousUser)
        reader.isAnonymousPublic = signaturesRequired
        return reader
    }

    /// HTTP/1 connections whose small reads the responder may answer inline, limited per client address when
    /// `connections` is set.
    static func s3Server(
        _ responder: S3Responder,
        configuration: HTTP1Channel.Configuration,
        connections: ClientConnectionLimit? = nil
    ) -> HTTPServerBuilder {
        var inlineHandler: (@Sendable () -> InlineReadHandler)?
        if responder.inlineReads != nil {
            inlineHandler = { @Sendable in InlineReadHandler(respond: { responder.respondInline($0, channel: $1, sendsFiles: $2) }) }
        }
        let handler = inlineHandler
        return HTTPServerBuilder { respond -> any ServerChildChannel in
            let channel = S3Channel(responder: respond, configuration: configuration, inlineHandler: handler)
            guard let connections else { return channel }
            return ClientLimitedChannel(base: channel, limit: connections)
        }
    }

    /// Small reads on the event loop, where nothing the pooled path adds is configured: not in front of an upstream
    /// (a miss goes there), not under read rate limits, not on a network filesystem (an open may wait on the network).
    static func inlineReads(
        _ configuration: Configuration,
        storage: any ObjectStorage,
        local: LocalStorage,
        settings: ServerSettings,
        logger: Logger
    ) -> InlineReads? {
        let limit = configuration.bytes(Keys.inlineReadMaxSize)
        guard limit > 0, storage is LocalStorage, settings.globalReadRateLimitMB <= 0, settings.connectionReadRateLimitMB <= 0 else { return nil }
        if let filesystem = RootFilesystem.of(path: local.store.rootPath), filesystem.isShared {
            logger.info("small reads take the I/O threads: the root is on \(filesystem.type)")
            return nil
        }
        return InlineReads(local: local, maxBodyBytes: limit, sendsFiles: configuration.bool(Keys.sendfile))
    }

    /// Nodes sharing a root rely on flock reaching every client: refuse (in a cluster) or warn about a mount where it
    /// does not, and say what the filesystem is.
    static func checkSharedRoot(_ root: String, clustered: Bool, logger: Logger) throws {
        guard let filesystem = RootFilesystem.of(path: root) else { return }
        let described = "\(filesystem.type) mounted at \(filesystem.mountPoint)"
        if let reason = filesystem.localOnlyLocks {
            if clustered {
                throw StartupError(
                    description: "strata.cluster.enabled, but the root is on \(described), \(reason); nodes would not see each other's locks"
                )
            }
            logger.warning("the root is on \(described), \(reason): run only one Strata node on this root")
        } else if filesystem.type.hasPrefix("fuse") && !filesystem.fuseWithSharedLocks && clustered {
            logger.warning("the root is on \(described): locks reach other nodes only if this FUSE filesystem implements flock")
        } else if !filesystem.isShared && clustered {
            logger.notice("strata.cluster.enabled on a local filesystem (\(described)): nodes must run on this machine")
        }
    }

    /// The bucket-management API, when a token is configured (inline or in a file).
    static func adminAPI(
        _ config: Configuration,
        storage: any ObjectStorage,
        credentials: CredentialStore,
        settings: ServerSettings,
        tiering: TieredStorage?,
        issuer: OIDCIssuer?
    ) throws -> AdminAPI? {
        var token = config.string(Keys.adminToken)
        let file = config.string(Keys.adminTokenFile)
        if token.isEmpty, !file.isEmpty {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw StartupError(description: "cannot read the admin token file \(file) (strata.admin.web.token.file)")
            }
            token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        }
        guard !token.isEmpty else { return nil }
        let hostname = config.string(Keys.webHostname)
        return AdminAPI(
            storage: storage,
            credentials: credentials,
            account: config.string(Keys.adminAccount),
            token: token,
            settings: settings,
            s3Host: hostname.isEmpty ? settings.host : hostname,
            s3Port: settings.port,
            websitePort: config.bool(Keys.websiteEnabled) ? config.int(Keys.websitePort) : nil,
            tiering: tiering,
            issuer: issuer
        )
    }

    /// Strata's own OIDC issuer, when `strata.oidc.issuer.enabled`.
    static func makeIssuer(_ config: Configuration, root: String) throws -> OIDCIssuer? {
        guard config.bool(Keys.oidcIssuerEnabled) else { return nil }
        let url = config.string(Keys.oidcIssuerURL)
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw StartupError(description: "strata.oidc.issuer.enabled needs strata.oidc.issuer.url (http:// or https://)")
        }
        return try OIDCIssuer(issuer: url, root: root)
    }

    /// The STS, when `strata.sts.enabled`: its configuration must parse at start-up.
    static func makeSTS(_ config: Configuration, root: String, logger: Logger) throws -> STSService? {
        guard config.bool(Keys.stsEnabled) else { return nil }
        let path = config.string(Keys.stsConfigFile)
        guard !path.isEmpty else { throw StartupError(description: "strata.sts.enabled needs strata.sts.config.file") }
        let file: STSConfigurationFile
        do {
            file = try STSConfigurationFile(path: path, logger: logger)
        } catch {
            throw StartupError(description: "cannot read the STS configuration \(path): \(error)")
        }
        return STSService(configuration: file, verifier: WebIdentityVerifier(), sealer: try SessionSealer.load(root: root))
    }

    struct StartupError: Error, CustomStringConvertible {
        let description: String
    }

    /// The tiered store (upstream client, journal, per-bucket rules), when `strata.underfs.s3.endpoint` is set.
    static func makeTieredStorage(_ config: Configuration, local: LocalStorage, issuer: OIDCIssuer? = nil, logger: Logger) throws -> TieredStorage? {
        let endpoint = config.string(Keys.upstreamEndpoint)
        guard !endpoint.isEmpty else { return nil }
        var settings = UpstreamSettings(
            endpoint: endpoint,
            region: config.string(Keys.upstreamRegion),
            accessKey: config.string(Keys.upstreamAccessKey),
            secretKey: config.string(Keys.upstreamSecretKey),
            pathStyle: config.bool(Keys.upstreamPathStyle),
            verifyTLS: config.bool(Keys.upstreamTLSVerify),
            connectTimeoutMilliseconds: config.durationMilliseconds(Keys.upstreamConnectTimeout),
            requestTimeoutMilliseconds: config.durationMilliseconds(Keys.upstreamRequestTimeout),
            concurrency: config.int(Keys.upstreamConcurrency)
        )
        let stsEndpoint = config.string(Keys.upstreamSTSEndpoint)
        if !stsEndpoint.isEmpty {
            guard let issuer else { throw StartupError(description: "strata.underfs.s3.sts.endpoint needs strata.oidc.issuer.enabled") }
            let audience = config.string(Keys.upstreamSTSAudience)
            settings.credentialSource = WebIdentityCredentialSource(
                stsEndpoint: stsEndpoint,
                roleArn: config.string(Keys.upstreamSTSRole),
                sessionName: "strata-tiering",
                http: HTTPClient.shared,
                token: { try issuer.token(subject: "strata-tiering", audience: audience) }
            )
        }
        var overrides: [String: TieringRules.Override] = [:]
        for bucket in config.bucketsWithOverrides {
            overrides[bucket] = TieringRules.Override(
                writeType: config.perBucket(Keys.bucketWriteType, bucket: bucket).flatMap { WriteType(rawValue: $0.uppercased()) },
                deleteType: config.perBucket(Keys.bucketDeleteType, bucket: bucket).flatMap { DeleteType(rawValue: $0.uppercased()) },
                readType: config.perBucket(Keys.bucketReadType, bucket: bucket).map(ReadType.init),
                upstreamBucket: config.perBucket(Keys.bucketUpstreamBucket, bucket: bucket),
                upstreamPrefix: config.perBucket(Keys.bucketUpstreamPrefix, bucket: bucket)
            )
        }
        let rules = TieringRules(
            writeType: WriteType(rawValue: config.choice(Keys.writeType)) ?? .mustCache,
            deleteType: DeleteType(rawValue: config.choice(Keys.deleteType)) ?? .everywhere,
            readType: ReadType(config.choice(Keys.readType)),
            syncIntervalMilliseconds: Configuration.syncIntervalMilliseconds(config.string(Keys.metadataSyncInterval)),
            overrides: overrides
        )
        logger.info("tiering to \(endpoint): default write type \(rules.writeType.rawValue), delete type \(rules.deleteType.rawValue)")
        return TieredStorage(
            local: local,
            client: UpstreamClient(settings: settings, logger: logger),
            rules: rules,
            journal: try PersistJournal(root: local.store.rootPath),
            workers: config.int(Keys.asyncWorkers),
            maxBackoffMilliseconds: config.durationMilliseconds(Keys.asyncMaxBackoff),
            fillOnRangedMiss: config.choice(Keys.rangeMissPolicy) == "FILL_OBJECT",
            logger: logger
        )
    }

    /// A network filesystem's stat may answer from an attribute cache, so there each request opens the directories afresh.
    static func serverSettings(_ configuration: Configuration, rootPath: String) -> ServerSettings {
        var settings = ServerSettings(configuration)
        if RootFilesystem.of(path: rootPath)?.isShared == true { settings.store.directoryHandles = 0 }
        return settings
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }
}
