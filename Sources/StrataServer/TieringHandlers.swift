import AsyncAlgorithms
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import S3Protocol
import StrataStore
import StrataTiering
import Synchronization

/// The upstream S3 and the policies that decide how each bucket uses it.
struct Tiering: Sendable {
    let client: UpstreamClient
    let policies: TieringPolicies
    let journal: PersistJournal
    let persister: AsyncPersister
    /// FILL_OBJECT: a ranged miss also fetches the whole object into the cache, in the background.
    let fillOnRangedMiss: Bool
    let metrics: TieringMetrics
    /// Keys being filled in the background, so concurrent ranged misses fetch an object once.
    let filling = InFlightKeys()
    /// Reads of cached objects, for least-recently-used eviction.
    let accesses = AccessTracker()
}

final class InFlightKeys: Sendable {
    private let keys = Mutex<Set<String>>([])

    /// False when the key is already in flight.
    func begin(_ key: String) -> Bool { keys.withLock { $0.insert(key).inserted } }
    func end(_ key: String) { _ = keys.withLock { $0.remove(key) } }
}

/// Write-through, pass-through and read-through against the upstream S3.
extension S3Responder {
    /// The headers an upstream PUT carries: what a later read-through must return, and what the upstream should
    /// check too (Content-MD5, checksums in headers, conditional-write preconditions).
    static func forwardedHeaders(_ call: S3Call) -> [(String, String)] {
        let kept: Set<String> = [
            "content-type", "cache-control", "content-disposition", "content-language", "expires", "x-amz-tagging", "content-md5",
            "if-match", "if-none-match",
        ]
        var headers: [(String, String)] = []
        for field in call.headers {
            let name = field.name.canonicalName
            let checksumValue = name.hasPrefix("x-amz-checksum-") && !RequestedChecksum.nonValueHeaders.contains(name)
            if name.hasPrefix("x-amz-meta-") || kept.contains(name) || checksumValue {
                headers.append((name, field.value))
            }
        }
        if let encoding = ObjectMetadataHeaders.strippingAWSChunked(call.header("content-encoding")) {
            headers.append(("content-encoding", encoding))
        }
        return headers
    }

    /// Streams the request body to the upstream (and into `writer` when there is a local copy too). Returns the
    /// upstream ETag and the trailers; if either side fails, the local copy is never published.
    func streamUpstream(
        _ call: S3Call,
        tiering: Tiering,
        policy: BucketPolicy,
        key: String,
        framing: BodyFraming,
        writer: ObjectWriter?
    ) async throws -> (String, [(String, String)]) {
        let channel = AsyncChannel<ByteBuffer>()
        let client = tiering.client
        let headers = Self.forwardedHeaders(call)
        let upload = Task { () throws -> String in
            do {
                return try await client.put(
                    bucket: policy.upstreamBucket,
                    key: policy.upstreamKey(key),
                    body: channel,
                    length: framing.payloadLength,
                    headers: headers
                )
            } catch {
                channel.finish()
                throw error
            }
        }
        let trailers: [(String, String)]
        do {
            trailers = try await BodyStreamer.stream(call, into: writer, io: io, framing: framing, mirror: channel)
        } catch {
            upload.cancel()
            channel.finish()
            throw error
        }
        channel.finish()
        do {
            return (try await upload.value, trailers)
        } catch let error as UpstreamError {
            throw error.s3Error
        }
    }

    /// THROUGH: the body goes straight upstream; a stale local copy of the key is dropped.
    func putThrough(
        _ call: S3Call,
        tiering: Tiering,
        policy: BucketPolicy,
        bucket: OpenFile,
        key: String,
        framing: BodyFraming
    ) async throws -> Response {
        let (etag, _) = try await streamUpstream(call, tiering: tiering, policy: policy, key: key, framing: framing, writer: nil)
        try await io.run { [store] in try store.deleteObject(bucket: bucket, key: key) }
        var headers: HTTPFields = [.eTag: "\"\(etag)\""]
        headers.set("x-strata-persistence", "upstream")
        return Responses.empty(headers: headers)
    }

    /// Whether a cached object must be checked against the upstream now.
    static func needsRevalidation(_ meta: ObjectMetadata, policy: BucketPolicy, now: Int64) -> Bool {
        guard meta.upstreamETag != nil, meta.persisted != false, policy.syncIntervalMilliseconds >= 0 else { return false }
        return (now - (meta.syncedAt ?? 0)) * 1000 >= policy.syncIntervalMilliseconds
    }

    enum Revalidation {
        case fresh
        case changed
        case deleted
    }

    /// Compares a cached object with the upstream. An unreachable upstream keeps the cached copy in service.
    func revalidate(_ object: ObjectHandle, tiering: Tiering, policy: BucketPolicy, bucket: OpenFile, key: String) async -> Revalidation {
        let upstream: UpstreamObject?
        do {
            upstream = try await tiering.client.head(bucket: policy.upstreamBucket, key: policy.upstreamKey(key))
        } catch {
            TieringMetrics.increment(tiering.metrics.upstreamErrors)
            logger.warning("upstream unreachable while revalidating \(key); serving the cached copy: \(error)")
            return .fresh
        }
        guard let upstream else {
            _ = try? await io.run { [store] in try store.deleteObject(bucket: bucket, key: key) }
            return .deleted
        }
        guard upstream.etag == object.metadata.upstreamETag else { return .changed }
        let now = Int64(Date().timeIntervalSince1970)
        let expected = object.metadata
        _ = try? await io.run { [store] in store.updateMetadata(bucket: bucket, key: key, ifStill: expected) { $0.syncedAt = now } }
        return .fresh
    }

    /// A local miss: serve from the upstream, keeping a copy when the read type says so. Ranged reads are fetched
    /// as ranges and not kept.
    func readThrough(_ call: S3Call, tiering: Tiering, policy: BucketPolicy, bucket: OpenFile, key: String, head: Bool) async throws -> Response {
        TieringMetrics.increment(tiering.metrics.cacheMisses)
        tiering.accesses.touch(call.target.bucket ?? "", key)
        let upstreamKey = policy.upstreamKey(key)
        let conditions = call.readConditions()
        let rangeSpec = call.header("range").flatMap(ByteRangeSpec.parse)
        if head || !conditions.isEmpty || rangeSpec != nil {
            let info: UpstreamObject?
            do { info = try await tiering.client.head(bucket: policy.upstreamBucket, key: upstreamKey) } catch let error as UpstreamError {
                throw error.s3Error
            }
            guard let info else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
            var headers = Self.upstreamHeaders(info)
            switch conditions.evaluate(etag: info.etag, lastModified: info.lastModified) {
            case .proceed: break
            case .notModified: return Responses.empty(.notModified, headers: headers)
            case .preconditionFailed: throw S3Error(.preconditionFailed)
            }
            if head {
                headers[.contentLength] = String(info.size)
                return Response(status: .ok, headers: headers, body: ResponseBody())
            }
            if let rangeSpec {
                guard let range = rangeSpec.resolve(size: info.size) else {
                    throw S3Error(.invalidRange, details: [("ActualObjectSize", "\(info.size)")]).with(
                        header: "Content-Range",
                        "bytes */\(info.size)"
                    )
                }
                if tiering.fillOnRangedMiss && policy.readType == .cache { fillInBackground(tiering, policy, bucket: bucket, key: key) }
                return try await proxyUpstream(tiering, policy, upstreamKey, range: range, size: info.size, headers: headers)
            }
        }
        let fetched: (UpstreamObject, HTTPClientResponse)?
        do { fetched = try await tiering.client.get(bucket: policy.upstreamBucket, key: upstreamKey) } catch let error as UpstreamError {
            throw error.s3Error
        }
        guard let (info, response) = fetched else { throw S3Error(.noSuchKey, details: [("Key", key)]) }
        var headers = Self.upstreamHeaders(info)
        headers[.contentLength] = String(info.size)
        let cacheWriter: ObjectWriter? =
            policy.readType == .cache ? try? await io.run { [store] in try store.beginWrite(bucket: bucket, key: key) } : nil
        if cacheWriter != nil { headers.set("x-strata-persistence", "persisted") }
        let io = io
        let logger = logger
        let body = ResponseBody(contentLength: Int(info.size)) { writer in
            var received: Int64 = 0
            do {
                for try await chunk in response.body {
                    received += Int64(chunk.readableBytes)
                    async let cached: Void = {
                        guard let cacheWriter else { return }
                        try await io.write(chunk, to: cacheWriter)
                    }()
                    try await writer.write(chunk)
                    try await cached
                }
            } catch {
                cacheWriter?.discard()
                throw error
            }
            try await writer.finish(nil)
            guard let cacheWriter else { return }
            guard received == info.size else {
                cacheWriter.discard()
                return
            }
            let committed = Self.cachedMetadata(info)
            do { try await io.run { _ = try cacheWriter.commit(metadata: committed) } } catch {
                logger.warning("could not keep the copy of \(key) read from upstream: \(error)")
            }
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Fetches the whole object into the cache without a client waiting on it (analytics readers fetch a Parquet
    /// footer first and the column chunks next: those then hit the cache).
    func fillInBackground(_ tiering: Tiering, _ policy: BucketPolicy, bucket: OpenFile, key: String) {
        let id = policy.upstreamBucket + "\u{0}" + policy.upstreamKey(key)
        guard tiering.filling.begin(id) else { return }
        let io = io
        let store = store
        let logger = logger
        Task.detached {
            defer { tiering.filling.end(id) }
            do {
                _ = try await Self.fill(tiering, policy, bucket: bucket, key: key, store: store, io: io)
            } catch {
                logger.warning("background fill of \(key) failed: \(error)")
            }
        }
    }

    /// Copies an upstream object into the local cache; false when the upstream has no such object.
    static func fill(
        _ tiering: Tiering,
        _ policy: BucketPolicy,
        bucket: OpenFile,
        key: String,
        store: FileSystemStore,
        io: IOPool
    ) async throws -> Bool {
        let fetched: (UpstreamObject, HTTPClientResponse)?
        do { fetched = try await tiering.client.get(bucket: policy.upstreamBucket, key: policy.upstreamKey(key)) } catch let error as UpstreamError {
            throw error.s3Error
        }
        guard let (info, response) = fetched else { return false }
        let writer = try await io.run { try store.beginWrite(bucket: bucket, key: key) }
        var received: Int64 = 0
        for try await chunk in response.body {
            received += Int64(chunk.readableBytes)
            try await io.write(chunk, to: writer)
        }
        guard received == info.size else {
            writer.discard()
            throw S3Error(.serviceUnavailable, "The upstream S3 sent a truncated object.")
        }
        let meta = cachedMetadata(info)
        try await io.run { _ = try writer.commit(metadata: meta) }
        return true
    }

    /// Metadata of a local copy of an upstream object: the upstream's ETag, so the object keeps its identity.
    static func cachedMetadata(_ info: UpstreamObject) -> ObjectMetadata {
        var meta = ObjectMetadata()
        meta.etag = info.etag
        meta.contentType = info.contentType
        meta.upstreamETag = info.etag
        meta.persisted = true
        meta.syncedAt = Int64(Date().timeIntervalSince1970)
        return meta
    }

    private func proxyUpstream(
        _ tiering: Tiering,
        _ policy: BucketPolicy,
        _ upstreamKey: String,
        range: ClosedRange<Int64>,
        size: Int64,
        headers base: HTTPFields
    ) async throws -> Response {
        let fetched: (UpstreamObject, HTTPClientResponse)?
        do { fetched = try await tiering.client.get(bucket: policy.upstreamBucket, key: upstreamKey, range: range) } catch let error as UpstreamError
        { throw error.s3Error }
        guard let (_, response) = fetched else { throw S3Error(.noSuchKey) }
        var headers = base
        let length = range.upperBound - range.lowerBound + 1
        headers[.contentLength] = String(length)
        headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
        return Response(
            status: .partialContent,
            headers: headers,
            body: ResponseBody(contentLength: Int(length)) { writer in
                for try await chunk in response.body { try await writer.write(chunk) }
                try await writer.finish(nil)
            }
        )
    }

    static func upstreamHeaders(_ info: UpstreamObject) -> HTTPFields {
        var headers = HTTPFields()
        headers[.eTag] = "\"\(info.etag)\""
        headers[.lastModified] = HTTPDate.rfc1123(seconds: info.lastModified)
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = info.contentType ?? ObjectMetadataHeaders.defaultContentType
        headers.set("x-strata-persistence", "upstream")
        return headers
    }

    /// A journal entry naming the current local version of `key` as waiting for the upstream.
    static func journalEntry(_ bucketName: String, _ key: String, _ policy: BucketPolicy) -> JournalEntry {
        JournalEntry(
            bucket: bucketName,
            key: key,
            upstreamBucket: policy.upstreamBucket,
            upstreamKey: policy.upstreamKey(key),
            enqueued: Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        )
    }

    /// Makes the entry durable (fsynced) before the caller answers.
    func record(_ entry: JournalEntry, in tiering: Tiering) async throws {
        try await io.run { try tiering.journal.record(entry) }
    }

    /// After an object was published locally by CopyObject or CompleteMultipartUpload, carries it to the upstream
    /// as the write type says: ASYNC_THROUGH through the journal; CACHE_THROUGH and THROUGH at once (a failure
    /// answers 503 and leaves the object pending in the journal, retried until it is upstream); THROUGH then drops
    /// the local copy.
    ///
    /// The journal entry is written before the local publish (`announceLocalWrite`), held back for a while so the
    /// persister does not take the previous version: a crash between publish and persist then still leaves the
    /// new object in the journal.
    func announceLocalWrite(bucketName: String, key: String) async throws -> JournalEntry? {
        guard let tiering, let policy = policy(bucketName), policy.writeType != .mustCache, !key.hasSuffix("/") else { return nil }
        var entry = Self.journalEntry(bucketName, key, policy)
        entry.notBefore = Int64(Date().timeIntervalSince1970 * 1000) + Self.announcementHoldMilliseconds
        try await record(entry, in: tiering)
        return entry
    }

    static let announcementHoldMilliseconds: Int64 = 30_000

    func persistAfterLocalWrite(bucketName: String, key: String, announced: JournalEntry?) async throws {
        guard let tiering, let policy = policy(bucketName), var entry = announced else { return }
        entry.notBefore = 0
        try await record(entry, in: tiering)
        guard policy.writeType != .asyncThrough else { return }
        let name = PersistJournal.fileName(bucket: bucketName, key: key)
        guard await tiering.persister.persist(name: name, entry: entry) else {
            throw S3Error(.serviceUnavailable, "The object is stored locally but the upstream S3 did not take it yet; it will be retried.")
        }
        if policy.writeType == .through {
            try await io.run { [store] in try store.deleteObject(bucket: try store.openBucket(bucketName), key: key) }
        }
    }

    /// The persistence state a GET/HEAD reports: local, pending (journal), persisted.
    static func persistenceState(_ meta: ObjectMetadata) -> String {
        if meta.persisted == false { return "pending" }
        return meta.upstreamETag != nil ? "persisted" : "local"
    }
}
