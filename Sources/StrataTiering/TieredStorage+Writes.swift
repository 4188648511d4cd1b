import AsyncAlgorithms
import Foundation
import NIOCore
import S3Protocol
import StrataStore
import Synchronization

/// PutObject and CopyObject by write type, and the journal steps shared with CompleteMultipartUpload.
extension TieredStorage {
    public func putObject(_ input: PutObjectInput, body: any PayloadSource) async throws -> PutObjectOutput {
        // Directory objects are local structure; they are never sent upstream.
        if input.key.hasSuffix("/"), body.length == 0 || local.store.options.strictKeys { return try await local.putObject(input, body: body) }
        let rule = rule(input.bucket)
        // An upstream PUT declares its length, so a body that did not is spooled first.
        let body =
            rule.writeType == .mustCache || rule.writeType == .asyncThrough ? body : try await local.withKnownLength(body, bucket: input.bucket)
        defer { (body as? SpooledPayload)?.discard() }
        switch rule.writeType {
        case .mustCache:
            var output = try await local.putObject(input, body: body)
            output.persistence = "local"
            return output
        case .through:
            // The body goes straight upstream; a stale local copy of the key is dropped.
            _ = try await local.headBucket(input.bucket)
            let headers = UpstreamHeaders.forPut(input)
            let etag = try await streamUpstream(body) { [client] channel in
                try await client.put(
                    bucket: rule.upstreamBucket,
                    key: rule.upstreamKey(input.key),
                    body: channel,
                    length: body.length ?? 0,
                    headers: headers
                )
            }
            try await local.deleteObject(bucket: input.bucket, key: input.key)
            return PutObjectOutput(etag: etag, persistence: "upstream")
        case .cacheThrough:
            return try await putCacheThrough(input, body: body, rule: rule)
        case .asyncThrough:
            // The journal entry is durable before the publish and held back until it is released after it, so
            // the persister never takes the previous version; after a crash the held entry still names the key.
            let announced = Mutex<JournalEntry?>(nil)
            var output = try await local.putObject(
                input,
                body: body,
                hooks: WriteHooks(beforePublish: { meta in
                    var meta = meta
                    meta.persisted = false
                    let entry = try await announceLocalWrite(bucket: input.bucket, key: input.key)
                    announced.withLock { $0 = entry }
                    return meta
                })
            )
            try await persistAfterLocalWrite(bucket: input.bucket, key: input.key, announced: announced.withLock { $0 })
            output.persistence = "pending"
            return output
        }
    }

    /// The body streams to the local temporary file and to the upstream at once; the local copy is published only
    /// once the upstream took it, so a failure on either side leaves no new version anywhere locally.
    func putCacheThrough(_ input: PutObjectInput, body: any PayloadSource, rule: TieringRule) async throws -> PutObjectOutput {
        let channel = AsyncChannel<ByteBuffer>()
        let client = client
        let headers = UpstreamHeaders.forPut(input)
        let upload = Task { () throws -> String in
            do {
                return try await client.put(
                    bucket: rule.upstreamBucket,
                    key: rule.upstreamKey(input.key),
                    body: channel,
                    length: body.length ?? 0,
                    headers: headers
                )
            } catch {
                channel.finish()
                throw error
            }
        }
        do {
            var output = try await local.putObject(
                input,
                body: body,
                hooks: WriteHooks(
                    mirror: { await channel.send($0) },
                    beforePublish: { meta in
                        channel.finish()
                        let etag = try await upstream { try await upload.value }
                        var meta = meta
                        meta.upstreamETag = etag
                        meta.persisted = true
                        meta.syncedAt = Int64(Date().timeIntervalSince1970)
                        return meta
                    }
                )
            )
            output.persistence = "persisted"
            return output
        } catch {
            upload.cancel()
            channel.finish()
            throw error
        }
    }

    /// Streams a request body to an upstream request that reads from a channel; returns that request's result.
    func streamUpstream(
        _ body: any PayloadSource,
        _ send: @escaping @Sendable (AsyncChannel<ByteBuffer>) async throws -> String
    ) async throws -> String {
        let channel = AsyncChannel<ByteBuffer>()
        let sending = Task { () throws -> String in
            do {
                return try await send(channel)
            } catch {
                channel.finish()
                throw error
            }
        }
        do {
            _ = try await body.stream { await channel.send($0) }
        } catch {
            sending.cancel()
            channel.finish()
            throw error
        }
        channel.finish()
        return try await upstream { try await sending.value }
    }

    public func copyObject(_ input: CopyObjectInput) async throws -> CopyObjectOutput {
        let rule = rule(input.bucket)
        let sourceRule = self.rule(input.source.bucket)
        if rule.writeType == .through {
            // THROUGH: the upstream copies server-side; nothing is kept locally.
            _ = try await local.headBucket(input.bucket)
            let source = try await authorizeSource(input.source, check: input.sourceCheck)
            var headers: [(String, String)]
            switch input.metadata {
            case .copy(_, let permission?):
                // The copy is the copier's: the source's headers with the new permission in place of the source's.
                guard let source else { throw S3Error(.noSuchKey, details: [("Key", input.source.key)]) }
                headers = [("x-amz-metadata-directive", "REPLACE")] + source.metadataHeaders.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                headers.append((Permission.upstreamHeader, permission.headerValue))
            case .copy: headers = [("x-amz-metadata-directive", "COPY")]
            case .replace(let meta): headers = [("x-amz-metadata-directive", "REPLACE")] + UpstreamHeaders.forWrite(metadata: meta, tags: nil)
            }
            let etag: String
            do {
                etag = try await client.copyObject(
                    fromBucket: sourceRule.upstreamBucket,
                    fromKey: sourceRule.upstreamKey(input.source.key),
                    toBucket: rule.upstreamBucket,
                    toKey: rule.upstreamKey(input.key),
                    headers: headers
                )
            } catch UpstreamError.status(404, _) {
                throw S3Error(.noSuchKey, details: [("Key", input.source.key)])
            } catch let error as UpstreamError { throw error.s3Error }
            try await local.deleteObject(bucket: input.bucket, key: input.key)
            return CopyObjectOutput(etag: etag, lastModifiedSeconds: Int64(Date().timeIntervalSince1970))
        }
        // A source that lives only upstream is checked, then brought into the cache, where the copy checks it again.
        _ = try await local.headBucket(input.source.bucket)
        let present = (try? await local.openObject(bucket: input.source.bucket, key: input.source.key)) != nil
        if !present, !input.source.key.hasSuffix("/") {
            try await authorizeSource(input.source, check: input.sourceCheck)
            _ = try await fill(sourceRule, bucket: input.source.bucket, key: input.source.key)
        }
        let announced = try await announceLocalWrite(bucket: input.bucket, key: input.key)
        let output = try await local.copyObject(input)
        try await persistAfterLocalWrite(bucket: input.bucket, key: input.key, announced: announced)
        return output
    }

    /// Runs a copy's source check against the source as the upstream holds it (or its local copy), before anything
    /// is read or copied; the upstream's view of the source comes back (nil: it holds none).
    @discardableResult
    func authorizeSource(_ source: CopySource, check: PermissionCheck?) async throws -> UpstreamObject? {
        let rule = rule(source.bucket)
        let info = try await upstream { try await client.head(bucket: rule.upstreamBucket, key: rule.upstreamKey(source.key)) }
        if let check {
            var path = try await local.pathPermissions(bucket: source.bucket, key: source.key)
            if path.object == nil, let info {
                path.object = info.permission ?? Self.bucketPermission(path, source.bucket).map(Permission.inherited(fromBucket:))
            }
            try check(path)
        }
        return info
    }

    // MARK: The journal around local publishes

    /// A journal entry naming the current local version of `key` as waiting for the upstream.
    func journalEntry(_ bucket: String, _ key: String, _ rule: TieringRule) -> JournalEntry {
        JournalEntry(
            bucket: bucket,
            key: key,
            upstreamBucket: rule.upstreamBucket,
            upstreamKey: rule.upstreamKey(key),
            enqueued: Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        )
    }

    static let announcementHoldMilliseconds: Int64 = 30_000

    /// Before an object is published locally by a write that must reach the upstream, its journal entry is made
    /// durable and held back for a while, so the persister does not take the previous version; a crash between
    /// publish and persist still leaves the new object in the journal.
    func announceLocalWrite(bucket: String, key: String) async throws -> JournalEntry? {
        let rule = rule(bucket)
        guard rule.writeType != .mustCache, !key.hasSuffix("/") else { return nil }
        var entry = journalEntry(bucket, key, rule)
        entry.notBefore = Int64(Date().timeIntervalSince1970 * 1000) + Self.announcementHoldMilliseconds
        let journal = journal
        let recorded = entry
        try await local.io.run { try journal.record(recorded) }
        return entry
    }

    /// After the local publish, carries the object to the upstream as the write type says: ASYNC_THROUGH through the
    /// journal; CACHE_THROUGH and THROUGH at once (a failure answers 503 and leaves the object pending in the
    /// journal, retried until it is upstream); THROUGH then drops the local copy.
    func persistAfterLocalWrite(bucket: String, key: String, announced: JournalEntry?) async throws {
        guard var entry = announced else { return }
        let rule = rule(bucket)
        let journal = journal
        guard rule.writeType != .asyncThrough else {
            entry.notBefore = 0
            let released = entry
            try await local.io.run { try journal.record(released) }
            return
        }
        // Persisted now, while the entry is still held back from the background persister, so the two never race
        // for it (a failed attempt is rescheduled with backoff by the persister itself).
        let name = PersistJournal.fileName(bucket: bucket, key: key)
        guard await persister.persist(name: name, entry: entry, waitingForLease: true) else {
            throw S3Error(.serviceUnavailable, "The object is stored locally but the upstream S3 did not take it yet; it will be retried.")
        }
        if rule.writeType == .through { try await local.deleteObject(bucket: bucket, key: key) }
    }
}

/// The headers an upstream write carries: what a later read-through must return, and what the upstream should
/// check too (Content-MD5, checksums in headers, conditional-write preconditions).
enum UpstreamHeaders {
    static func forWrite(metadata: ObjectMetadata, tags: TagSet?) -> [(String, String)] {
        var headers: [(String, String)] = []
        if let v = metadata.contentType { headers.append(("content-type", v)) }
        if let v = metadata.contentEncoding { headers.append(("content-encoding", v)) }
        if let v = metadata.contentDisposition { headers.append(("content-disposition", v)) }
        if let v = metadata.contentLanguage { headers.append(("content-language", v)) }
        if let v = metadata.cacheControl { headers.append(("cache-control", v)) }
        if let v = metadata.expires { headers.append(("expires", v)) }
        // A client's own `x-amz-meta-strata-permission` never reaches the upstream: only the server records permissions.
        for (name, value) in (metadata.userMetadata ?? [:]).sorted(by: { $0.key < $1.key })
        where ("x-amz-meta-" + name).lowercased() != Permission.upstreamHeader {
            headers.append(("x-amz-meta-" + name, value))
        }
        if let permission = metadata.permission { headers.append((Permission.upstreamHeader, permission.headerValue)) }
        if let tags, !tags.isEmpty {
            let encoded = tags.tags.map { PercentEncoding.encode($0.key) + "=" + PercentEncoding.encode($0.value) }.joined(separator: "&")
            headers.append(("x-amz-tagging", encoded))
        }
        return headers
    }

    static func forPut(_ input: PutObjectInput) -> [(String, String)] {
        var headers = forWrite(metadata: input.metadata, tags: input.tags)
        if let md5 = input.contentMD5 { headers.append(("content-md5", Data(md5).base64EncodedString())) }
        if let checksum = input.checksum, let value = checksum.expected { headers.append((checksum.algorithm.headerName, value)) }
        switch input.condition {
        case .none: break
        case .absent: headers.append(("if-none-match", "*"))
        case .matches(let etag): headers.append(("if-match", etag))
        case .noneMatches(let etags): headers.append(("if-none-match", etags))
        }
        return headers
    }
}
