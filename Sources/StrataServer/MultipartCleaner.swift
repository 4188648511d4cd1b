import CoreMetrics
import Logging
import StrataStore

/// Aborts multipart uploads that have had no new part for longer than the timeout, including uploads left from
/// before a restart (their state is on disk). Every abort frees all of the upload's space.
struct MultipartCleaner: Sendable {
    let local: LocalStorage
    /// Releases an upload's parts held elsewhere (the upstream half of a THROUGH upload).
    let storage: any ObjectStorage
    let settings: ServerSettings.CleanerSettings
    let metrics: RequestMetrics
    let logger: Logger

    /// Checks a few times per timeout, at least every minute and at most every second.
    var service: PeriodicService {
        let tick = Duration.milliseconds(min(60_000, max(1000, settings.timeoutMilliseconds / 4)))
        let idleSeconds = max(1, settings.timeoutMilliseconds / 1000)
        return PeriodicService(name: "multipart cleaner", interval: tick) { await sweep(idleSeconds: idleSeconds) }
    }

    func sweep(idleSeconds: Int64) async {
        metrics.cleanerRuns.increment()
        guard let expired = try? await local.run({ $0.expiredUploads(idleSeconds: idleSeconds) }) else { return }
        let poolSize = max(1, settings.poolSize)
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for item in expired {
                if running == poolSize {
                    await group.next()
                    running -= 1
                }
                group.addTask { await abort(item.uploads, item.name) }
                running += 1
            }
        }
    }

    private func abort(_ uploads: OpenFile, _ name: String) async {
        let info = try? await local.run { $0.uploadInfo(uploads, name) }
        for attempt in 0...settings.retryCount {
            do {
                if let info = info ?? nil { try await storage.releaseAbandonedUpload(info) }
                try await local.run { try $0.removeExpiredUpload(uploads, name) }
                logger.notice("multipart cleaner aborted idle upload \(name)")
                metrics.cleanerAborted.increment()
                return
            } catch {
                logger.warning("multipart cleaner could not abort \(name) (attempt \(attempt + 1)): \(error)")
                try? await Task.sleep(for: .milliseconds(settings.retryDelayMilliseconds))
            }
        }
    }
}
