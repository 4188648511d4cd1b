import Foundation
import Logging
import NIOCore
import S3Protocol
import StrataStore

/// GET and HEAD: local hits (revalidated by upstream ETag when due), read-through on a miss with cache fill.
extension TieredStorage {
    public func getObject(_ input: GetObjectInput) async throws -> GetObjectOutput {
        // Tiered buckets keep no versions: only the current local file can be `null` (NoSuchVersion otherwise).
        if input.versionId != nil { return try await local.getObject(input) }
        let rule = rule(input.bucket)
        let object: ObjectHandle
        // A local copy is checked where it is opened; a key missing here is checked by the read-through against the
        // upstream's object (the local answer would judge a miss that is no miss).
        let localCheck = input.permissionCheck.map(Self.onlyWherePresent)
        do {
            object = try await local.openObject(bucket: input.bucket, key: input.key, check: localCheck)
        } catch let error as S3Error where error.code == .noSuchKey {
            return try await readThrough(input, rule: rule)
        }
        TieringMetrics.increment(metrics.cacheHits)
        accesses.touch(input.bucket, input.key)
        if Self.needsRevalidation(object.metadata, rule: rule, now: Int64(Date().timeIntervalSince1970)) {
            switch await revalidate(object, rule: rule, bucket: input.bucket, key: input.key) {
            case .fresh: break
            case .deleted: throw S3Error(.noSuchKey, details: [("Key", input.key)])
            case .changed: return try await readThrough(input, rule: rule)
            }
        }
        var output = try local.serve(input, object)
        output.persistence = Self.persistenceState(object.metadata)
        return output
    }

    /// A read check for the local copy alone: a key the local store does not hold passes it, to be checked against
    /// the upstream's object by the read-through.
    static func onlyWherePresent(_ check: @escaping PermissionCheck) -> PermissionCheck {
        { path in
            if path.object != nil { try check(path) }
        }
    }

    /// The persistence state a GET/HEAD reports: local, pending (journal), persisted.
    static func persistenceState(_ meta: ObjectMetadata) -> String {
        if meta.persisted == false { return "pending" }
        return meta.upstreamETag != nil ? "persisted" : "local"
    }

    /// Whether a cached object must be checked against the upstream now.
    static func needsRevalidation(_ meta: ObjectMetadata, rule: TieringRule, now: Int64) -> Bool {
        guard meta.upstreamETag != nil, meta.persisted != false, rule.syncIntervalMilliseconds >= 0 else { return false }
        return (now - (meta.syncedAt ?? 0)) * 1000 >= rule.syncIntervalMilliseconds
    }

    enum Revalidation {
        case fresh
        case changed
        case deleted
    }

    /// Compares a cached object with the upstream. An unreachable upstream keeps the cached copy in service.
    func revalidate(_ object: ObjectHandle, rule: TieringRule, bucket: String, key: String) async -> Revalidation {
        let current: UpstreamObject?
        do {
            current = try await client.head(bucket: rule.upstreamBucket, key: rule.upstreamKey(key))
        } catch {
            TieringMetrics.increment(metrics.upstreamErrors)
            logger.warning("upstream unreachable while revalidating \(key); serving the cached copy: \(error)")
            return .fresh
        }
        guard let current else {
            _ = try? await local.deleteObject(bucket: bucket, key: key)
            return .deleted
        }
        guard current.etag == object.metadata.upstreamETag else { return .changed }
        let now = Int64(Date().timeIntervalSince1970)
        let expected = object.metadata
        _ = try? await local.run { store in
            store.updateMetadata(bucket: try store.openBucket(bucket), key: key, ifStill: expected) { $0.syncedAt = now }
        }
        return .fresh
    }

    /// A local miss: serve from the upstream, keeping a copy when the read type says so. Ranged reads are fetched
    /// as ranges and not kept (FILL_OBJECT fetches the whole object in the background instead).
    func readThrough(_ input: GetObjectInput, rule: TieringRule) async throws -> GetObjectOutput {
        TieringMetrics.increment(metrics.cacheMisses)
        accesses.touch(input.bucket, input.key)
        let upstreamKey = rule.upstreamKey(input.key)
        if input.headOnly || !input.conditions.isEmpty || input.range != nil {
            let info = try await upstream({ try await client.head(bucket: rule.upstreamBucket, key: upstreamKey) })
            try await authorize(input, info)
            guard let info else { throw S3Error(.noSuchKey, details: [("Key", input.key)]) }
            var output = Self.upstreamOutput(info)
            switch input.conditions.evaluate(etag: info.etag, lastModified: info.lastModified) {
            case .proceed: break
            case .notModified:
                output.status = .notModified
                output.contentLength = 0
                return output
            case .preconditionFailed: throw S3Error(.preconditionFailed)
            }
            if input.headOnly { return output }
            if let spec = input.range {
                guard let range = spec.resolve(size: info.size) else {
                    throw S3Error(.invalidRange, details: [("ActualObjectSize", "\(info.size)")]).with(
                        header: "Content-Range",
                        "bytes */\(info.size)"
                    )
                }
                if fillOnRangedMiss && rule.readType == .cache { fillInBackground(rule, bucket: input.bucket, key: input.key) }
                guard let (_, body) = try await upstream({ try await client.get(bucket: rule.upstreamBucket, key: upstreamKey, range: range) }) else {
                    throw S3Error(.noSuchKey, details: [("Key", input.key)])
                }
                let length = range.upperBound - range.lowerBound + 1
                output.status = .partialContent
                output.contentLength = length
                output.contentRange = "bytes \(range.lowerBound)-\(range.upperBound)/\(info.size)"
                output.body = .stream(length: length, body)
                return output
            }
        }
        let fetched = try await upstream({ try await client.get(bucket: rule.upstreamBucket, key: upstreamKey) })
        // Checked before a byte is sent or kept: an unread body is dropped with its connection.
        let permission = try await authorize(input, fetched?.0)
        guard let (info, body) = fetched else { throw S3Error(.noSuchKey, details: [("Key", input.key)]) }
        var output = Self.upstreamOutput(info)
        let cacheWriter: ObjectWriter? =
            rule.readType == .cache
            ? try? await local.run { try $0.beginWrite(bucket: try $0.openBucket(input.bucket), key: input.key) } : nil
        if cacheWriter != nil { output.persistence = "persisted" }
        let tee = CacheTee(
            writer: cacheWriter,
            io: local.io,
            size: info.size,
            metadata: Self.cachedMetadata(info, permission: permission),
            tags: cacheWriter == nil ? nil : await upstreamTags(rule, key: input.key, info),
            key: input.key,
            logger: logger
        )
        output.body = .stream(length: info.size, body.passing { try await tee.pass($0) })
        return output
    }

    static func upstreamOutput(_ info: UpstreamObject) -> GetObjectOutput {
        var metadata = ObjectMetadata(etag: info.etag)
        metadata.contentType = info.contentType
        return GetObjectOutput(
            status: .ok,
            etag: info.etag,
            lastModifiedSeconds: info.lastModified,
            metadata: metadata,
            size: info.size,
            contentLength: info.size,
            tagCount: info.tagCount,
            persistence: "upstream"
        )
    }

    /// Fetches the whole object into the cache without a client waiting on it (analytics readers fetch a Parquet
    /// footer first and the column chunks next: those then hit the cache).
    func fillInBackground(_ rule: TieringRule, bucket: String, key: String) {
        let id = rule.upstreamBucket + "\u{0}" + rule.upstreamKey(key)
        guard filling.begin(id) else { return }
        let storage = self
        Task.detached {
            defer { storage.filling.end(id) }
            do {
                _ = try await storage.fill(rule, bucket: bucket, key: key)
            } catch {
                storage.logger.warning("background fill of \(key) failed: \(error)")
            }
        }
    }

    /// Copies an upstream object into the local cache; false when the upstream has no such object.
    func fill(_ rule: TieringRule, bucket: String, key: String) async throws -> Bool {
        guard let (info, body) = try await upstream({ try await client.get(bucket: rule.upstreamBucket, key: rule.upstreamKey(key)) }) else {
            return false
        }
        let writer = try await local.run { try $0.beginWrite(bucket: try $0.openBucket(bucket), key: key) }
        var received: Int64 = 0
        do {
            for try await chunk in body {
                received += Int64(chunk.readableBytes)
                try await local.io.write(chunk, to: writer)
            }
        } catch {
            writer.discard()
            throw error
        }
        guard received == info.size else {
            writer.discard()
            throw S3Error(.serviceUnavailable, "The upstream S3 sent a truncated object.")
        }
        let meta = Self.cachedMetadata(info, permission: try await upstreamPermission(bucket: bucket, info))
        let tags = await upstreamTags(rule, key: key, info)
        try await local.io.run { _ = try writer.commit(metadata: meta, tags: tags) }
        return true
    }

    /// Metadata of a local copy of an upstream object: the upstream's ETag, so the object keeps its identity, and the
    /// permission it had (or inherits), so later cache hits are checked as the read-through was.
    static func cachedMetadata(_ info: UpstreamObject, permission: Permission?) -> ObjectMetadata {
        var meta = ObjectMetadata()
        meta.permission = permission
        meta.owner = permission?.owner
        meta.etag = info.etag
        meta.contentType = info.contentType
        meta.upstreamETag = info.etag
        meta.persisted = true
        meta.syncedAt = Int64(Date().timeIntervalSince1970)
        return meta
    }
}

/// Passes an upstream body through to the client while writing it into the cache; the copy is published when the
/// whole object arrived and discarded when anything went wrong (or the client went away).
final class CacheTee: @unchecked Sendable {
    private var writer: ObjectWriter?
    private let io: IOPool
    private let size: Int64
    private let metadata: ObjectMetadata
    private let tags: TagSet?
    private let key: String
    private let logger: Logger
    private var received: Int64 = 0

    init(writer: ObjectWriter?, io: IOPool, size: Int64, metadata: ObjectMetadata, tags: TagSet?, key: String, logger: Logger) {
        self.writer = writer
        self.io = io
        self.size = size
        self.metadata = metadata
        self.tags = tags
        self.key = key
        self.logger = logger
    }

    deinit { writer?.discard() }

    /// Called with each upstream buffer and finally with nil; returns what the client gets.
    func pass(_ chunk: ByteBuffer?) async throws -> ByteBuffer? {
        guard let writer else { return chunk }
        guard let chunk else {
            self.writer = nil
            guard received == size else {
                writer.discard()
                return nil
            }
            let (committed, tags) = (metadata, self.tags)
            do { try await io.run { _ = try writer.commit(metadata: committed, tags: tags) } } catch {
                logger.warning("could not keep the copy of \(key) read from upstream: \(error)")
            }
            return nil
        }
        received += Int64(chunk.readableBytes)
        do {
            try await io.write(chunk, to: writer)
        } catch {
            // The client still gets its bytes; only the cache copy is given up.
            self.writer = nil
            writer.discard()
        }
        return chunk
    }
}
