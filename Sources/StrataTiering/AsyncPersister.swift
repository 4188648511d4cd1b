import AsyncAlgorithms
import Foundation
import Logging
import NIOCore
import S3Protocol
import StrataStore

/// Persists ASYNC_THROUGH writes upstream from the journal: a pool of workers, retries with exponential backoff,
/// resumption after restarts (the journal is on disk). An entry leaves the journal only once the version it names
/// is upstream; a newer write of the same key supersedes it.
public struct AsyncPersister: Sendable {
    let local: LocalStorage
    var store: FileSystemStore { local.store }
    var io: IOPool { local.io }
    let client: any UpstreamS3
    let journal: PersistJournal
    let metrics: TieringMetrics
    let workers: Int
    let maxBackoffMilliseconds: Int64
    let logger: Logger

    /// The background loop: every quarter second, persists what is due.
    public var service: PeriodicService {
        PeriodicService(name: "async-through persister", interval: .milliseconds(250)) { await persistDue() }
    }

    func persistDue() async {
        let journal = journal
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let all = try? await io.run { () -> [(name: String, entry: JournalEntry)] in
            journal.removeOrphanedLeases()
            return journal.entries()
        }
        let due = all?.filter { $0.entry.notBefore <= now } ?? []
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for item in due {
                if running == workers {
                    await group.next()
                    running -= 1
                }
                group.addTask { await persist(name: item.name, entry: item.entry) }
                running += 1
            }
        }
    }

    /// Persists one entry now; true when the version it names is upstream (or gone locally).
    @discardableResult
    func persist(name: String, entry: JournalEntry, waitingForLease: Bool = false) async -> Bool {
        let journal = journal
        // Another process on this root persists it now (or has just finished): leave it to that one, or (a write
        // waiting for its own upload) wait for it to let go.
        guard let lease = waitingForLease ? await claimWhenFree(name: name, entry: entry) : journal.claim(name: name) else { return false }
        guard let current = journal.entry(named: name), current.enqueued == entry.enqueued else {
            lease.release(removing: journal.entry(named: name) == nil)
            return false
        }
        let done = await persistClaimed(name: name, entry: entry)
        lease.release(removing: done && journal.entry(named: name) == nil)
        return done
    }

    /// Claims an entry's lease, waiting (up to 10 s, polling) while another persister holds it for an earlier
    /// version of the key; nil when the wait ends or a newer write superseded the entry.
    private func claimWhenFree(name: String, entry: JournalEntry) async -> JournalLease? {
        let journal = journal
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let lease = journal.claim(name: name) { return lease }
            guard journal.entry(named: name)?.enqueued == entry.enqueued else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Persists an entry this process has claimed.
    private func persistClaimed(name: String, entry: JournalEntry) async -> Bool {
        let journal = journal
        do {
            if entry.deletion == true {
                // A delete whose node died between its two halves: finish both (each is idempotent). A newer write
                // of the key would have replaced this entry, so the local object is not newer than the delete.
                try await client.delete(bucket: entry.upstreamBucket, key: entry.upstreamKey)
                try await local.deleteObject(bucket: entry.bucket, key: entry.key)
                journal.complete(name: name, enqueued: entry.enqueued)
                logger.notice("finished an interrupted delete of \(entry.bucket)/\(entry.key)")
                return true
            }
            let (bucket, object) = try await io.run { [store] in
                let bucket = try store.openBucket(entry.bucket)
                return (bucket, try store.openObject(bucket: bucket, key: entry.key))
            }
            if object.metadata.persisted != false, object.metadata.upstreamETag != nil {
                journal.complete(name: name, enqueued: entry.enqueued)
                return true
            }
            guard let file = object.file else {
                journal.complete(name: name, enqueued: entry.enqueued)
                return true
            }
            let etag = try await upload(file: file, size: object.size, metadata: object.metadata, tags: object.tags, entry: entry)
            let now = Int64(Date().timeIntervalSince1970)
            let expected = object.metadata
            let key = entry.key
            _ = try await io.run { [store] in
                store.updateMetadata(bucket: bucket, key: key, ifStill: expected) {
                    $0.persisted = true
                    $0.upstreamETag = etag
                    $0.syncedAt = now
                }
            }
            journal.complete(name: name, enqueued: entry.enqueued)
            TieringMetrics.increment(metrics.persisted)
            logger.debug("persisted \(entry.bucket)/\(entry.key) upstream")
            return true
        } catch let error as S3Error where error.code == .noSuchKey || error.code == .noSuchBucket {
            // Deleted before it was persisted: nothing left to do.
            journal.complete(name: name, enqueued: entry.enqueued)
            return true
        } catch {
            TieringMetrics.increment(metrics.persistFailures)
            var retry = entry
            retry.attempts += 1
            let backoff = min(maxBackoffMilliseconds, 1000 * (Int64(1) << min(retry.attempts - 1, 20)))
            retry.notBefore = Int64(Date().timeIntervalSince1970 * 1000) + backoff
            journal.postpone(name: name, entry: retry)
            logger.warning("could not persist \(entry.bucket)/\(entry.key) upstream (attempt \(retry.attempts), retry in \(backoff) ms): \(error)")
            return false
        }
    }

    /// Pending journal entries and the bytes they stand for, for `/metrics`.
    public func pending() async -> (entries: Int, bytes: Int64) {
        let journal = journal
        let store = store
        return
            (try? await io.run {
                var bytes: Int64 = 0
                let entries = journal.entries()
                for (_, entry) in entries {
                    if let bucket = try? store.openBucket(entry.bucket), let object = try? store.openObject(bucket: bucket, key: entry.key) {
                        bytes += object.size
                    }
                }
                return (entries.count, bytes)
            }) ?? (0, 0)
    }

    /// Streams the local file to the upstream, reading 1 MiB at a time as the upload consumes it.
    private func upload(file: OpenFile, size: Int64, metadata: ObjectMetadata, tags: TagSet, entry: JournalEntry) async throws -> String {
        let channel = AsyncChannel<ByteBuffer>()
        let io = io
        let reader = Task {
            var offset: Int64 = 0
            while offset < size, !Task.isCancelled {
                let count = Int(min(Int64(FileChunks.chunkSize), size - offset))
                let position = offset
                guard let chunk = try? await io.run({ try FileChunks.read(file: file, at: position, count: count) }) else { break }
                await channel.send(chunk)
                offset += Int64(chunk.readableBytes)
            }
            channel.finish()
        }
        defer { reader.cancel() }
        // Every header a synchronous write sends: a read-through after eviction returns what the upstream kept.
        let headers = UpstreamHeaders.forWrite(metadata: metadata, tags: tags)
        return try await client.put(bucket: entry.upstreamBucket, key: entry.upstreamKey, body: channel, length: size, headers: headers)
    }
}
