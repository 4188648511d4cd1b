import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import StrataConfig
import StrataStore

/// Builds and runs the S3 server from a resolved configuration.
public enum StrataApp {
    public static func run(configuration: Configuration, logger: Logger) async throws {
        let settings = ServerSettings(configuration)
        let rootPath = configuration.string(Keys.rootDir)
        let store = try FileSystemStore(rootPath: rootPath, options: settings.store)
        let io = IOPool(threads: settings.ioThreads)
        if !configuration.signaturesRequired && !isLoopback(settings.host) {
            logger.warning(
                "SIMPLE authentication trusts the user named in each request, and the server is bound beyond loopback: anyone who can reach \(settings.host):\(settings.port) can act as any user"
            )
        }
        logger.info("serving \(store.rootPath)", metadata: ["sync": "\(settings.store.syncPolicy.rawValue)"])
        // Leftovers of a crash are swept in the background so start-up stays fast on large trees.
        Task.detached(priority: .background) {
            let removed = TemporarySweeper.sweep(store: store, olderThanSeconds: settings.store.tmpSweepAgeSeconds)
            if removed > 0 { logger.notice("removed \(removed) temporary files left by an earlier run") }
        }

        var authenticator: Authenticator?
        if configuration.signaturesRequired {
            let adminKey = configuration.string(Keys.adminAccessKey)
            let adminSecret = configuration.string(Keys.adminSecretKey)
            let admin = adminKey.isEmpty || adminSecret.isEmpty ? nil : Credential(accessKey: adminKey, secretKey: adminSecret, user: settings.superuser)
            if admin == nil { logger.warning("SIGV4 mode without an admin credential: only credentials from `strata credentials` can sign") }
            authenticator = Authenticator(
                credentials: CredentialStore(root: store.rootPath), admin: admin, region: settings.region,
                enforceRegion: configuration.bool(Keys.enforceRegion), clockSkewSeconds: configuration.durationMilliseconds(Keys.clockSkew) / 1000)
            logger.info("SIGV4 authentication: signatures are verified against \(store.rootPath)/.strata/credentials.json")
        }
        let responder = S3Responder(store: store, io: io, settings: settings, logger: logger, authenticator: authenticator)
        let app = Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "Strata"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                logger.notice("Strata S3 endpoint listening on http://\(settings.host):\(port)/ (also under /api/v1/s3/)")
            },
            logger: logger
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if settings.cleaner.enabled {
            services.append(.init(service: MultipartCleaner(store: store, io: io, settings: settings.cleaner, logger: logger)))
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // In-flight requests get the grace period; an upload cut short after it is discarded, never half-published.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(settings.shutdownGraceMilliseconds)
        try await ServiceGroup(configuration: groupConfiguration).run()
        await io.shutdown()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }
}
