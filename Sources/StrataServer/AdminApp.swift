import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import S3Protocol
import StrataStore
import StrataTiering
import Synchronization

/// The admin listener (separate from S3): ping, version, health for load balancers and Prometheus metrics, open to
/// all; with a token configured, the bucket-management API (AdminAPI) under `/v1/s3/{account}/`.
enum AdminApp {
    static let version = "0.1.0"

    static func make(
        host: String,
        port: Int,
        requests: RequestMetrics,
        local: LocalStorage?,
        tiering: TieredStorage?,
        api: AdminAPI?,
        auditLog: AuditLog?,
        drain: DrainState,
        hostGuard: HostGuard,
        connections: ClientConnectionLimit? = nil,
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router(context: S3RequestContext.self)
        router.add(middleware: RecordingMiddleware(metrics: requests, auditLog: auditLog))
        router.add(middleware: HostGuardMiddleware(hostGuard: hostGuard))
        router.get("v1/s3/ping") { _, _ in "pong" }
        router.get("v1/s3/version") { _, _ in AdminAPI.json(["version": version]) }
        router.get("v1/s3/health/live") { _, _ in AdminAPI.json(["Status": "live"]) }
        router.get("v1/s3/health/ready") { _, _ -> Response in
            // Ready when the store answers and the node is not shutting down: a load balancer stops sending requests to a
            // node whose mount is gone or which is draining.
            if drain.isDraining { return AdminAPI.json(["Status": "draining"], status: .serviceUnavailable) }
            do {
                if let local { try await local.run { try $0.checkRoot() } }
                return AdminAPI.json(["Status": "ready"])
            } catch {
                return AdminAPI.json(["Status": "unavailable", "Error": "\(error)"], status: .serviceUnavailable)
            }
        }
        // `/metrics` for Prometheus' default path, `/v1/s3/metrics` as in the seed's endpoint table.
        for path in ["metrics", "v1/s3/metrics"] {
            router.get(RouterPath(path)) { _, _ -> Response in
                Response(
                    status: .ok,
                    headers: [.contentType: "text/plain; version=0.0.4"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: await metricsText(requests, local, tiering, connections: connections)))
                )
            }
        }
        if let api { routes(api, on: router) }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "Strata-admin"),
            onServerRunning: { channel in
                logger.notice(
                    "Strata admin endpoint listening on http://\(host):\(channel.localAddress?.port ?? port)/ (metrics at /metrics)",
                    metadata: ["api": "\(api == nil ? "off (no strata.admin.web.token)" : "on")"]
                )
            },
            logger: logger
        )
    }

    typealias Handler = @Sendable (Request, S3RequestContext) async throws -> Response

    /// The seed's endpoint table. Each handler's failures become JSON answers with the seed's status codes.
    static func routes(_ api: AdminAPI, on router: Router<S3RequestContext>) {
        let guarded = Guarded(api: api)
        let buckets = "v1/s3/:account/buckets"
        router.post(
            RouterPath(buckets),
            use: guarded { request, _ in
                let body = try await AdminAPI.body(request)
                let name = try api.bucketName(body)
                return AdminAPI.json(try await api.createBucket(name, tags: try AdminAPI.tags(body)), status: .accepted)
            }
        )
        router.get(RouterPath(buckets), use: guarded { _, _ in AdminAPI.json(try await api.listBuckets()) })
        router.head(
            RouterPath(buckets + "/:bucket"),
            use: guarded { _, context in
                _ = try await api.storage.headBucket(try bucket(context))
                return Response(status: .ok)
            }
        )
        router.get(RouterPath(buckets + "/:bucket"), use: guarded { _, context in AdminAPI.json(try await api.describeBucket(try bucket(context))) })
        router.put(
            RouterPath(buckets + "/:bucket"),
            use: guarded { request, context in
                let tags = try AdminAPI.tags(try await AdminAPI.body(request))
                return AdminAPI.json(try await api.replaceTags(try bucket(context), tags))
            }
        )
        router.delete(RouterPath(buckets + "/:bucket"), use: guarded { _, context in AdminAPI.json(try await api.deleteBucket(try bucket(context))) })
        router.get(RouterPath(buckets + "/:bucket/duck"), use: guarded { _, context in try await api.duckBookmark(try bucket(context)) })
        userRoutes(api, base: buckets, on: router, guarded: guarded)

        let websites = "v1/s3/:account/websites"
        router.post(
            RouterPath(websites),
            use: guarded { request, _ in
                let body = try await AdminAPI.body(request)
                let name = try api.bucketName(body)
                let configuration = try AdminAPI.websiteConfiguration(body)
                return AdminAPI.json(
                    try await api.createWebsite(name, tags: try AdminAPI.tags(body), configuration: configuration),
                    status: .accepted
                )
            }
        )
        router.head(
            RouterPath(websites + "/:bucket"),
            use: guarded { _, context in
                _ = try await api.website(try bucket(context))
                return Response(status: .ok)
            }
        )
        router.get(
            RouterPath(websites + "/:bucket"),
            use: guarded { _, context in AdminAPI.json(try await api.describeWebsite(try bucket(context))) }
        )
        router.put(
            RouterPath(websites + "/:bucket"),
            use: guarded { request, context in
                let name = try bucket(context)
                _ = try await api.website(name)
                return AdminAPI.json(try await api.replaceTags(name, try AdminAPI.tags(try await AdminAPI.body(request))))
            }
        )
        router.patch(
            RouterPath(websites + "/:bucket"),
            use: guarded { request, context in
                AdminAPI.json(try await api.invalidate(try bucket(context), try await AdminAPI.body(request)))
            }
        )
        router.delete(
            RouterPath(websites + "/:bucket"),
            use: guarded { _, context in AdminAPI.json(try await api.deleteWebsite(try bucket(context))) }
        )
        router.get(
            RouterPath(websites + "/:bucket/duck"),
            use: guarded { _, context in
                let name = try bucket(context)
                _ = try await api.website(name)
                return try await api.duckBookmark(name)
            }
        )
        userRoutes(api, base: websites, on: router, guarded: guarded)

        // STS roles, kept in strata.sts.config.file: list, create or replace by ARN, delete.
        router.get(RouterPath("v1/s3/:account/sts/roles"), use: guarded { _, _ in AdminAPI.json(try api.stsFile().rolesDocument()) })
        router.put(
            RouterPath("v1/s3/:account/sts/roles"),
            use: guarded { request, _ in
                let role = try await AdminAPI.body(request)
                guard let arn = role["arn"] as? String, !arn.isEmpty else {
                    throw AdminAPI.Failure(status: .badRequest, message: "A role needs an arn.")
                }
                let file = try api.stsFile()
                do {
                    return AdminAPI.json(try file.putRole(role, arn: arn))
                } catch {
                    throw AdminAPI.Failure(status: .badRequest, message: "The role is not valid: \(error)")
                }
            }
        )
        router.delete(
            RouterPath("v1/s3/:account/sts/roles"),
            use: guarded { request, _ in
                guard let arn = request.uri.queryParameters.get("arn") else {
                    throw AdminAPI.Failure(status: .badRequest, message: "Name the role with ?arn=")
                }
                guard try api.stsFile().deleteRole(arn: arn) else { throw AdminAPI.Failure(status: .notFound, message: "No role \(arn).") }
                return AdminAPI.json(["Deleted": arn])
            }
        )

        // A new signing key for the OIDC issuer; the old one stays published until its tokens have expired.
        router.post(
            RouterPath("v1/s3/:account/oidc/keys"),
            use: guarded { _, _ in
                guard let issuer = api.issuer else { throw AdminAPI.Failure(status: .notFound, message: "The OIDC issuer is not enabled.") }
                return AdminAPI.json(["Kid": try issuer.rotate()], status: .created)
            }
        )
    }

    /// Users bound to a bucket or to a website's bucket: the same endpoints under either.
    static func userRoutes(_ api: AdminAPI, base: String, on router: Router<S3RequestContext>, guarded: Guarded) {
        router.post(
            RouterPath(base + "/:bucket/users"),
            use: guarded { request, context in
                let name = try api.userName(try await AdminAPI.body(request))
                return AdminAPI.json(try await api.createUser(bucket: try bucket(context), name: name))
            }
        )
        router.get(
            RouterPath(base + "/:bucket/users"),
            use: guarded { _, context in AdminAPI.json(try await api.listUsers(bucket: try bucket(context))) }
        )
        router.get(
            RouterPath(base + "/:bucket/users/:user"),
            use: guarded { _, context in
                AdminAPI.json(try await api.describeUser(bucket: try bucket(context), name: try user(context)))
            }
        )
        router.put(
            RouterPath(base + "/:bucket/users/:user"),
            use: guarded { _, context in
                AdminAPI.json(try await api.rotateKeys(bucket: try bucket(context), name: try user(context)))
            }
        )
        router.delete(
            RouterPath(base + "/:bucket/users/:user"),
            use: guarded { _, context in
                AdminAPI.json(try await api.deleteUser(bucket: try bucket(context), name: try user(context)))
            }
        )
    }

    /// Wraps a handler: token and account first, then every failure as the seed's JSON answer.
    struct Guarded: Sendable {
        let api: AdminAPI

        func callAsFunction(_ body: @escaping Handler) -> Handler {
            { [api] request, context in
                do {
                    try api.authenticate(request)
                    try api.checkAccount(context)
                    return try await body(request, context)
                } catch let failure as AdminAPI.Failure {
                    return AdminAPI.failure(failure)
                } catch let error as S3Error {
                    return AdminAPI.failure(AdminAPI.failure(for: error))
                } catch {
                    return AdminAPI.failure(AdminAPI.Failure(status: .internalServerError, message: "\(error)"))
                }
            }
        }
    }

    /// The bucket a path names, validated as the S3 listener validates bucket names in its paths: `.strata`,
    /// `a:..` and empty segments would otherwise reach the root's own state or climb out of a bucket.
    @Sendable static func bucket(_ context: S3RequestContext) throws -> String {
        guard let name = context.parameters.get("bucket") else { throw AdminAPI.Failure(status: .notFound, message: "No bucket.") }
        do {
            try BucketName.validate(name, strict: false)
        } catch {
            throw AdminAPI.Failure(status: .badRequest, message: "The bucket name \(name) is not valid.")
        }
        return name
    }

    @Sendable static func user(_ context: S3RequestContext) throws -> String {
        guard let name = context.parameters.get("user") else { throw AdminAPI.Failure(status: .notFound, message: "No user.") }
        return name
    }

    /// Metrics and the audit record of an admin request: the route's path (no query), the bucket or website it names.
    struct RecordingMiddleware: RouterMiddleware {
        typealias Context = S3RequestContext
        let metrics: RequestMetrics
        let auditLog: AuditLog?

        func finish(_ record: RequestRecord, status: Int, bytesOut: Int64?) {
            // Metrics by route shape, not by bucket: one series per endpoint.
            record.finish(
                status: status,
                bytesOut: bytesOut,
                metrics: metrics,
                auditLog: auditLog,
                metricsOperation: Self.routeName(record.operation)
            )
        }

        /// `GET /v1/s3/strata/buckets/b/users/u` as `GET buckets/{bucket}/users/{user}`.
        static func routeName(_ operation: String) -> String {
            let parts = operation.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return operation }
            var segments = parts[1].split(separator: "/").map(String.init)
            if segments.count >= 3, segments[0] == "v1", segments[1] == "s3" {
                segments.removeFirst(2)
                if let first = segments.first, !["ping", "version", "health"].contains(first) { segments.removeFirst() }
            }
            let names = ["buckets": "{bucket}", "websites": "{website}", "users": "{user}"]
            for index in segments.indices.dropFirst() where names[segments[index - 1]] != nil { segments[index] = names[segments[index - 1]]! }
            return "\(parts[0]) " + segments.joined(separator: "/")
        }

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var record = RequestRecord(listener: "admin", request: request, channel: context.channel, audited: auditLog != nil)
            let path = String((request.head.path ?? "/").split(separator: "?", maxSplits: 1).first ?? "/")
            record.operation = "\(request.method.rawValue) \(path)"
            let segments = path.split(separator: "/")
            // v1/s3/{account}/buckets|websites/{name}/...
            if segments.count >= 5, segments[3] == "buckets" || segments[3] == "websites" { record.bucket = String(segments[4]) }
            if segments.count >= 7, segments[5] == "users" { record.key = "users/" + segments[6] }
            // The token holder acts; the token itself is never recorded.
            record.user = request.headers[named: "x-auth-token"] == nil ? nil : "admin-token"
            do {
                let response = try await next(request, context)
                finish(record, status: Int(response.status.code), bytesOut: response.headers[.contentLength].flatMap { Int64($0) })
                return response
            } catch {
                finish(record, status: (error as? any HTTPResponseError)?.status.code ?? 500, bytesOut: nil)
                throw error
            }
        }
    }

    /// The registry's instruments, with the figures read at scrape time set first, and the tiered store's counters.
    static func metricsText(
        _ requests: RequestMetrics,
        _ local: LocalStorage?,
        _ tiering: TieredStorage?,
        connections: ClientConnectionLimit? = nil
    ) async -> String {
        if let local {
            let store = local.store
            let figures = try? await local.io.run { (uploads: store.openUploadCount(), index: store.listingIndexUsage) }
            let (uploads, index) = (figures?.uploads ?? 0, figures?.index ?? (directories: 0, bytes: 0))
            requests.gauge("strata_multipart_uploads_open", uploads)
            requests.gauge("strata_listing_index_directories", index.directories)
            requests.gauge("strata_listing_index_bytes", index.bytes)
        }
        var text = requests.render()
        if let connections { text += connectionsText(connections) }
        guard let tiering else { return text }
        let metrics = tiering.metrics
        let pending = await tiering.persister.pending()
        text += counter(
            "strata_cache_hits_total",
            "Reads served from the local cache of a mounted bucket.",
            metrics.cacheHits.load(ordering: .relaxed)
        )
        text += counter("strata_cache_misses_total", "Reads that went to the upstream S3.", metrics.cacheMisses.load(ordering: .relaxed))
        text += counter("strata_upstream_errors_total", "Upstream requests that failed.", metrics.upstreamErrors.load(ordering: .relaxed))
        text += counter("strata_persisted_total", "Objects persisted upstream from the journal.", metrics.persisted.load(ordering: .relaxed))
        text += counter(
            "strata_persist_failures_total",
            "Failed attempts to persist journal entries.",
            metrics.persistFailures.load(ordering: .relaxed)
        )
        text += gauge("strata_journal_pending_entries", "ASYNC_THROUGH writes waiting to be persisted.", pending.entries)
        text += gauge("strata_journal_pending_bytes", "Bytes of the objects waiting to be persisted.", Int(pending.bytes))
        return text
    }

    /// The S3 listener's per-client-address limit.
    static func connectionsText(_ connections: ClientConnectionLimit) -> String {
        let usage = connections.usage
        return gauge("strata_client_connections", "S3 connections counted by the per-client-address limit.", usage.connections)
            + gauge("strata_client_addresses", "Client addresses holding S3 connections.", usage.addresses)
            + counter(
                "strata_client_connections_refused_total",
                "S3 connections refused because their client address held strata.proxy.web.max.connections.per.client.",
                usage.refused
            )
    }

    static func counter(_ name: String, _ help: String, _ value: Int) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
    }

    static func gauge(_ name: String, _ help: String, _ value: Int) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
    }
}
