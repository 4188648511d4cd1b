import Foundation
import Hummingbird
import Logging
import NIOCore
import StrataTiering
import Synchronization

/// The admin listener (separate from S3): health, version and Prometheus metrics. The bucket/user/key REST API
/// is to come; this listener is where it will live.
enum AdminApp {
    static let version = "0.1.0"

    static func make(host: String, port: Int, requests: RequestMetrics, tiering: TieredStorage?, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("v1/s3/ping") { _, _ in "pong" }
        router.get("v1/s3/version") { _, _ in "{\"version\":\"\(version)\"}" }
        router.get("metrics") { _, _ -> Response in
            var text = requests.render()
            if let tiering {
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
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text))
            )
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "Strata-admin"),
            onServerRunning: { channel in
                logger.notice("Strata admin endpoint listening on http://\(host):\(channel.localAddress?.port ?? port)/ (metrics at /metrics)")
            },
            logger: logger
        )
    }

    static func counter(_ name: String, _ help: String, _ value: Int) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
    }

    static func gauge(_ name: String, _ help: String, _ value: Int) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
    }
}
