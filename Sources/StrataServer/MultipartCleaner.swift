import Logging
import ServiceLifecycle
import StrataStore
import StrataTiering

/// Aborts multipart uploads that have had no new part for longer than the timeout, including uploads left from
/// before a restart (their state is on disk). Every abort frees all of the upload's space.
struct MultipartCleaner: Service {
    let store: FileSystemStore
    let io: IOPool
    let settings: ServerSettings.CleanerSettings
    /// For THROUGH uploads the upstream half is aborted too.
    let tiering: Tiering?
    let logger: Logger

    func run() async throws {
        let timeoutSeconds = max(1, settings.timeoutMilliseconds / 1000)
        // Check a few times per timeout, at least every minute and at most every second.
        let tick = Duration.milliseconds(min(60_000, max(1000, settings.timeoutMilliseconds / 4)))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sweep(idleSeconds: timeoutSeconds)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
        }
    }

    func sweep(idleSeconds: Int64) async {
        guard let expired = try? await io.run({ [store] in store.expiredUploads(idleSeconds: idleSeconds) }) else { return }
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
        let info = try? await io.run { [store] in store.uploadInfo(uploads, name) }
        for attempt in 0...settings.retryCount {
            do {
                if let info = info ?? nil, let upstreamId = info.upstreamUploadId, let tiering {
                    let policy = tiering.policies.policy(for: info.bucket)
                    try await tiering.client.abortMultipartUpload(
                        bucket: policy.upstreamBucket,
                        key: policy.upstreamKey(info.key),
                        uploadId: upstreamId
                    )
                }
                try await io.run { [store] in try store.removeExpiredUpload(uploads, name) }
                logger.notice("multipart cleaner aborted idle upload \(name)")
                return
            } catch {
                logger.warning("multipart cleaner could not abort \(name) (attempt \(attempt + 1)): \(error)")
                try? await Task.sleep(for: .milliseconds(settings.retryDelayMilliseconds))
            }
        }
    }
}
