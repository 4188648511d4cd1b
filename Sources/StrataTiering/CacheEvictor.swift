import Foundation
import Logging
import S3Protocol
import StrataStore
import Synchronization

/// When the objects kept locally exceed the cache quota, evicts the least recently used copies that the upstream
/// already holds, down to 90% of the quota. Objects not yet persisted (or local only) are never evicted.
struct CacheEvictor: Sendable {
    let local: LocalStorage
    var store: FileSystemStore { local.store }
    var io: IOPool { local.io }
    let quotaBytes: Int64
    let intervalMilliseconds: Int64
    let accesses: AccessTracker
    let logger: Logger

    var service: PeriodicService {
        PeriodicService(name: "cache evictor", interval: .milliseconds(intervalMilliseconds), startsImmediately: false) { await enforce() }
    }

    func enforce() async {
        let store = store
        guard
            let objects = try? await io.run({ () -> [CachedObject] in
                var all: [CachedObject] = []
                for bucket in (try? store.listBuckets()) ?? [] {
                    try? store.cacheInventory(bucketName: bucket.name) { all.append($0) }
                }
                return all
            })
        else { return }
        var used = objects.reduce(Int64(0)) { $0 + $1.size }
        guard used > quotaBytes else { return }
        let target = quotaBytes / 10 * 9
        let candidates = objects.filter(\.evictable).sorted {
            accesses.lastAccess($0.bucket, $0.key, fallback: $0.modifiedSeconds)
                < accesses.lastAccess($1.bucket, $1.key, fallback: $1.modifiedSeconds)
        }
        var evicted = 0
        for object in candidates where used > target {
            if (try? await io.run { store.evict(bucketName: object.bucket, key: object.key) }) == true {
                used -= object.size
                evicted += 1
                accesses.forget(object.bucket, object.key)
            }
        }
        logger.notice("cache quota: evicted \(evicted) persisted objects, \(used) of \(quotaBytes) bytes in use")
    }
}

/// When cached objects were last read, for least-recently-used eviction (file mtimes stand in after a restart).
public final class AccessTracker: Sendable {
    public init() {}

    private let times = Mutex<[String: Int64]>([:])

    private static func id(_ bucket: String, _ key: String) -> String { bucket + "\u{0}" + key }

    public func touch(_ bucket: String, _ key: String) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        times.withLock { $0[Self.id(bucket, key)] = now }
    }

    /// Milliseconds.
    func lastAccess(_ bucket: String, _ key: String, fallback seconds: Int64) -> Int64 {
        times.withLock { $0[Self.id(bucket, key)] } ?? seconds * 1000
    }

    func forget(_ bucket: String, _ key: String) {
        _ = times.withLock { $0.removeValue(forKey: Self.id(bucket, key)) }
    }
}

extension TieredStorage {
    /// Drops the cached copies of `keys` (each a key, or a prefix when it ends in `*`) that the upstream holds, so the
    /// next read fetches them again; pending and local-only objects stay. Returns how many copies were dropped.
    public func invalidate(bucket: String, keys: [String]) async throws -> Int {
        let store = local.store
        let (prefixes, exact) = (keys.filter { $0.hasSuffix("*") }.map { String($0.dropLast()) }, Set(keys.filter { !$0.hasSuffix("*") }))
        let candidates = try await local.io.run { () throws(S3Error) -> [CachedObject] in
            var found: [CachedObject] = []
            for prefix in prefixes { try store.cacheInventory(bucketName: bucket, prefix: prefix) { if $0.evictable { found.append($0) } } }
            for key in exact where !prefixes.contains(where: key.hasPrefix) {
                try store.cacheInventory(bucketName: bucket, prefix: key) { if $0.evictable && $0.key == key { found.append($0) } }
            }
            return found
        }
        var dropped = 0
        for object in candidates where (try? await local.io.run({ store.evict(bucketName: object.bucket, key: object.key) })) == true {
            dropped += 1
        }
        return dropped
    }
}
