import Foundation
import Logging
import S3Protocol
import StrataStore

/// ObjectStorage in front of an upstream S3: the local store is the cache, each bucket's TieringRule (write,
/// read and delete types) decides where bytes go, and the journal with its persister carries ASYNC_THROUGH writes
/// upstream. Handlers see the same protocol as for a plain local store.
public struct TieredStorage: ObjectStorage {
    public let local: LocalStorage
    public let client: any UpstreamS3
    public let rules: TieringRules
    public let journal: PersistJournal
    public let persister: AsyncPersister
    public let metrics: TieringMetrics
    /// Reads of cached objects, for least-recently-used eviction.
    public let accesses = AccessTracker()
    /// FILL_OBJECT: a ranged miss also fetches the whole object into the cache, in the background.
    let fillOnRangedMiss: Bool
    let filling = InFlightKeys()
    let logger: Logger

    public init(
        local: LocalStorage,
        client: any UpstreamS3,
        rules: TieringRules,
        journal: PersistJournal,
        workers: Int,
        maxBackoffMilliseconds: Int64,
        fillOnRangedMiss: Bool,
        logger: Logger
    ) {
        let metrics = TieringMetrics()
        self.local = local
        self.client = client
        self.rules = rules
        self.journal = journal
        self.metrics = metrics
        self.fillOnRangedMiss = fillOnRangedMiss
        self.logger = logger
        persister = AsyncPersister(
            local: local,
            client: client,
            journal: journal,
            metrics: metrics,
            workers: workers,
            maxBackoffMilliseconds: maxBackoffMilliseconds,
            logger: logger
        )
    }

    /// Keeps the local copies within `quotaBytes`, evicting least recently read copies the upstream holds.
    public func evictor(quotaBytes: Int64, intervalMilliseconds: Int64) -> PeriodicService {
        CacheEvictor(local: local, quotaBytes: quotaBytes, intervalMilliseconds: intervalMilliseconds, accesses: accesses, logger: logger).service
    }

    func rule(_ bucket: String) -> TieringRule { rules.rule(for: bucket) }

    /// Upstream failures reach clients as 503 ServiceUnavailable; this is the one place they are mapped.
    func upstream<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as UpstreamError {
            TieringMetrics.increment(metrics.upstreamErrors)
            throw error.s3Error
        }
    }

    // MARK: Buckets

    public func listBuckets() async throws -> [BucketInfo] { try await local.listBuckets() }

    /// Creates the bucket locally and upstream; an upstream that refuses is logged, the local bucket stays.
    public func createBucket(_ name: String, owner: String, permission: Permission?) async throws {
        try await local.createBucket(name, owner: owner, permission: permission)
        let upstreamBucket = rule(name).upstreamBucket
        do { try await client.createBucket(upstreamBucket) } catch {
            logger.warning("could not create upstream bucket \(upstreamBucket): \(error)")
        }
    }

    public func headBucket(_ name: String) async throws -> BucketInfo { try await local.headBucket(name) }
    public func deleteBucket(_ name: String) async throws { try await local.deleteBucket(name) }
    public func bucketOwner(_ name: String) async throws -> String? { try await local.bucketOwner(name) }
    public func bucketTagging(_ bucket: String) async throws -> TagSet { try await local.bucketTagging(bucket) }
    public func pathPermissions(bucket: String, key: String?) async throws -> PathPermissions {
        try await local.pathPermissions(bucket: bucket, key: key)
    }
    public func rootPermission() async throws -> Permission { try await local.rootPermission() }
    public func setBucketPermission(_ bucket: String, _ permission: Permission) async throws {
        try await local.setBucketPermission(bucket, permission)
    }

    public func setBucketTagging(_ bucket: String, tags: TagSet?) async throws { try await local.setBucketTagging(bucket, tags: tags) }
    public func bucketConfiguration(_ bucket: String, _ name: BucketConfigurationName) async throws -> [UInt8]? {
        try await local.bucketConfiguration(bucket, name)
    }
    public func setBucketConfiguration(_ bucket: String, _ name: BucketConfigurationName, _ document: [UInt8]?) async throws {
        // A version kept only in the cache would be lost to eviction, and the upstream's own versions are not Strata's.
        if name == .versioning {
            throw S3Error(.notImplemented, "Versioning is not available on a server that tiers to an upstream S3.")
        }
        try await local.setBucketConfiguration(bucket, name, document)
    }

    // MARK: Deletes

    /// Deletes `key` upstream when the delete type says so, before the caller deletes it locally. The intent is
    /// journaled first (held back like a write's announcement) and returned, to be completed after the local delete:
    /// if the node dies in between, the persister finishes both sides once the hold ends. Any pending upload of the
    /// key is superseded by it.
    func deleteUpstream(_ bucket: String, _ key: String) async throws -> JournalEntry? {
        let rule = rule(bucket)
        guard rule.deleteType == .everywhere, !key.hasSuffix("/") else {
            journal.remove(bucket: bucket, key: key)
            return nil
        }
        var intent = journalEntry(bucket, key, rule)
        intent.deletion = true
        intent.notBefore = Int64(Date().timeIntervalSince1970 * 1000) + Self.announcementHoldMilliseconds
        let journal = journal
        let recorded = intent
        try await local.io.run { try journal.record(recorded) }
        do {
            try await upstream { try await client.delete(bucket: rule.upstreamBucket, key: rule.upstreamKey(key)) }
        } catch {
            // The client hears of the failure: the delete must not happen later behind its back.
            journal.complete(name: PersistJournal.fileName(bucket: bucket, key: key), enqueued: intent.enqueued)
            throw error
        }
        return intent
    }

    /// The local half of a delete is done: its intent leaves the journal (unless a newer write superseded it).
    func finishDelete(_ intent: JournalEntry?) {
        guard let intent else { return }
        journal.complete(name: PersistJournal.fileName(bucket: intent.bucket, key: intent.key), enqueued: intent.enqueued)
    }

    public func deleteObject(bucket: String, key: String, condition: DeleteCondition) async throws {
        _ = try await local.headBucket(bucket)
        if !condition.isEmpty {
            // Checked against the object as readers see it (read through on a miss); not atomic with the upstream delete.
            let current: GetObjectOutput
            do {
                current = try await getObject(GetObjectInput(bucket: bucket, key: key, headOnly: true))
            } catch let error as S3Error where error.code == .noSuchKey {
                return  // already gone: no error, as for any delete
            }
            guard condition.allows(etag: current.etag, lastModifiedSeconds: current.lastModifiedSeconds, size: current.contentLength) else {
                throw S3Error(.preconditionFailed, details: [("Condition", "If-Match")])
            }
        }
        let intent = try await deleteUpstream(bucket, key)
        try await local.deleteObject(bucket: bucket, key: key)
        finishDelete(intent)
        await pruneEmptied(bucket: bucket, keys: [key])
    }

    /// Upstream deletes run 16 at a time: a 1000-key request should not wait for 1000 round trips in a row.
    public func deleteObjects(bucket: String, keys: [String]) async throws -> [(key: String, error: S3Error?)] {
        _ = try await local.headBucket(bucket)
        let escapes = !local.store.options.strictKeys
        let valid = keys.filter { (try? ObjectKey.validate($0, isReserved: ReservedNames.isReserved, escapesSegments: escapes)) != nil }
        let (failures, intents) = await withTaskGroup(of: (String, S3Error?, JournalEntry?).self) { group in
            var failures: [String: S3Error] = [:]
            var intents: [JournalEntry] = []
            var running = 0
            func note(_ done: String, _ error: S3Error?, _ intent: JournalEntry?) {
                if let error { failures[done] = error }
                if let intent { intents.append(intent) }
            }
            for key in valid {
                if running == 16, let (done, error, intent) = await group.next() {
                    running -= 1
                    note(done, error, intent)
                }
                group.addTask {
                    do {
                        return (key, nil, try await deleteUpstream(bucket, key))
                    } catch let error as S3Error {
                        return (key, error, nil)
                    } catch {
                        return (key, S3Error(.internalError), nil)
                    }
                }
                running += 1
            }
            for await (done, error, intent) in group { note(done, error, intent) }
            return (failures, intents)
        }
        let results = try await local.deleteObjects(bucket: bucket, keys: keys, failed: failures)
        // A key gone upstream whose local delete failed keeps its intent: the persister finishes it later, as it
        // does for a single delete that fails locally.
        let failedLocally = Set(results.compactMap { $0.error == nil ? nil : $0.key })
        for intent in intents where !failedLocally.contains(intent.key) { finishDelete(intent) }
        await pruneEmptied(bucket: bucket, keys: results.compactMap { $0.error == nil ? $0.key : nil })
        return results
    }

    // MARK: Listing

    /// A mounted bucket lists what the upstream holds plus what is only local (not yet persisted, or MUST_CACHE):
    /// the first `maxKeys` of the union of both sides' pages, in S3 order, local entries winning on equal keys.
    public func listObjects(_ input: ListObjectsInput) async throws -> ListObjectsOutput {
        var output = try await local.listObjects(input)
        guard input.maxKeys > 0 else { return output }
        let rule = rule(input.bucket)
        let upstreamPage = try await upstream {
            try await client.list(
                bucket: rule.upstreamBucket,
                prefix: rule.upstreamPrefix + input.prefix,
                delimiter: input.delimiter,
                startAfter: input.startAfter.map { rule.upstreamPrefix + $0 },
                maxKeys: input.maxKeys
            )
        }
        var visiblePage = upstreamPage
        var skipTo: String?
        if let viewer = input.viewer {
            (visiblePage, skipTo) = try await visible(upstreamPage, bucket: input.bucket, stripping: rule.upstreamPrefix, viewer: viewer)
        }
        output.page = Self.merge(local: output.page, upstream: visiblePage, stripping: rule.upstreamPrefix, maxKeys: input.maxKeys)
        // A page whose upstream part was all hidden still moves on: past the directory that hid its last entry.
        if output.page.isTruncated, let skipTo, output.page.lastItem.map({ $0.utf8.lexicographicallyPrecedes(skipTo.utf8) }) ?? true,
            output.page.contents.count + output.page.commonPrefixes.count < input.maxKeys
        {
            output.page.lastItem = skipTo
        }
        return output
    }

    /// The upstream entries a listing's viewer may see, judged by the local directories as a local listing is (a
    /// common prefix as the directory it names); and where the next page goes on when the last entries were hidden:
    /// past the whole directory that hid the last of them, whose name the viewer may see.
    func visible(_ page: UpstreamListPage, bucket: String, stripping prefix: String, viewer: Caller) async throws -> (UpstreamListPage, String?) {
        let strip = prefix.utf8.count
        func localKey(_ key: String) -> String { String(decoding: Array(key.utf8.dropFirst(strip)), as: UTF8.self) }
        let objects = page.objects.map { localKey($0.key) }
        let prefixes = page.commonPrefixes.map { localKey($0) + "_" }
        let hidden = try await local.hiddenDirectories(bucket: bucket, keys: objects + prefixes, viewer: viewer)
        var filtered = page
        filtered.objects = zip(page.objects, hidden.prefix(objects.count)).filter { $0.1 == nil }.map(\.0)
        filtered.commonPrefixes = zip(page.commonPrefixes, hidden.dropFirst(objects.count)).filter { $0.1 == nil }.map(\.0)
        let skip = hidden.compactMap { $0 }.max { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { $0 + "/\u{10FFFF}" }
        return (filtered, skip)
    }

    static func merge(local: ListPage, upstream: UpstreamListPage, stripping upstreamPrefix: String, maxKeys: Int) -> ListPage {
        let strip = upstreamPrefix.utf8.count
        func localKey(_ key: String) -> String { String(decoding: Array(key.utf8.dropFirst(strip)), as: UTF8.self) }
        enum Item {
            case object(ObjectSummary)
            case common(String)

            var key: String {
                switch self {
                case .object(let o): o.key
                case .common(let p): p
                }
            }
        }
        // Keyed by bytes: two spellings of a name that Swift deems equal are two keys on disk.
        var items: [[UInt8]: Item] = [:]
        for (key, object) in upstream.objects {
            let name = localKey(key)
            items[Array(name.utf8)] = .object(
                ObjectSummary(
                    key: name,
                    size: object.size,
                    lastModifiedSeconds: object.lastModified,
                    lastModifiedMilliseconds: 0,
                    etag: object.etag,
                    owner: nil
                )
            )
        }
        for common in upstream.commonPrefixes { items[Array(localKey(common).utf8)] = .common(localKey(common)) }
        for object in local.contents { items[Array(object.key.utf8)] = .object(object) }
        for common in local.commonPrefixes { items[Array(common.utf8)] = .common(common) }
        let ordered = items.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value)
        var merged = ListPage()
        for item in ordered.prefix(maxKeys) {
            switch item {
            case .object(let o): merged.contents.append(o)
            case .common(let p): merged.commonPrefixes.append(p)
            }
            merged.lastItem = item.key
        }
        merged.isTruncated = ordered.count > maxKeys || local.isTruncated || upstream.isTruncated
        return merged
    }

    // MARK: Multipart uploads

    public func createMultipartUpload(_ input: CreateUploadInput) async throws -> UploadInfo {
        let rule = rule(input.bucket)
        var upstreamUploadId: String?
        if rule.writeType == .through {
            // THROUGH: the parts go straight to an upstream multipart upload.
            _ = try await local.headBucket(input.bucket)
            let headers = UpstreamHeaders.forWrite(metadata: input.metadata, tags: input.tags)
            upstreamUploadId = try await upstream {
                try await client.createMultipartUpload(bucket: rule.upstreamBucket, key: rule.upstreamKey(input.key), headers: headers)
            }
        }
        return try await local.createMultipartUpload(input, upstreamUploadId: upstreamUploadId)
    }

    public func uploadPart(_ input: UploadPartInput, body: any PayloadSource) async throws -> UploadPartOutput {
        let upload = try await local.openUpload(bucket: input.bucket, key: input.key, uploadId: input.uploadId)
        guard let upstreamId = upload.info.upstreamUploadId else { return try await local.uploadPart(input, into: upload, body: body) }
        // THROUGH uploads: the part streams to the upstream upload; locally only a marker with its ETag remains.
        let rule = rule(upload.info.bucket)
        let key = upload.info.key
        let body = try await local.withKnownLength(body, bucket: input.bucket)
        defer { (body as? SpooledPayload)?.discard() }
        let size = body.length ?? 0
        let etag = try await streamUpstream(body) { [client] channel in
            try await client.uploadPart(
                bucket: rule.upstreamBucket,
                key: rule.upstreamKey(key),
                uploadId: upstreamId,
                partNumber: input.partNumber,
                body: channel,
                length: size
            )
        }
        try await local.run { try $0.recordForwardedPart(upload, number: input.partNumber, etag: etag, size: size) }
        return UploadPartOutput(etag: etag)
    }

    /// A source that lives only upstream is checked, then brought into the cache, as CopyObject does.
    public func uploadPartCopy(_ input: UploadPartCopyInput) async throws -> CopyObjectOutput {
        _ = try await local.headBucket(input.bucket)
        _ = try await local.headBucket(input.source.bucket)
        if input.source.versionId == nil, !input.source.key.hasSuffix("/"),
            (try? await local.openObject(bucket: input.source.bucket, key: input.source.key)) == nil
        {
            try await authorizeSource(input.source, check: input.sourceCheck)
            _ = try await fill(rule(input.source.bucket), bucket: input.source.bucket, key: input.source.key)
        }
        return try await local.uploadPartCopy(input)
    }

    public func completeMultipartUpload(_ input: CompleteUploadInput) async throws -> CompletedUpload {
        let announced = try await announceLocalWrite(bucket: input.bucket, key: input.key)
        var completed = try await local.completeMultipartUpload(input)
        if completed.etag.isEmpty {
            completed.etag = try await completeForwarded(input)
            if announced != nil { journal.remove(bucket: input.bucket, key: input.key) }
        } else {
            try await persistAfterLocalWrite(bucket: input.bucket, key: input.key, announced: announced)
        }
        return completed
    }

    /// Completes a THROUGH upload upstream and drops any stale local copy of the key.
    func completeForwarded(_ input: CompleteUploadInput) async throws -> String {
        let upload = try await local.openUpload(bucket: input.bucket, key: input.key, uploadId: input.uploadId)
        guard let upstreamId = upload.info.upstreamUploadId else { throw S3Error(.noSuchUpload) }
        let rule = rule(input.bucket)
        let etag = try await upstream {
            try await client.completeMultipartUpload(
                bucket: rule.upstreamBucket,
                key: rule.upstreamKey(input.key),
                uploadId: upstreamId,
                parts: input.parts.map { (number: $0.number, etag: Conditions.unquote($0.etag)) }
            )
        }
        try await local.run { store in
            store.finishForwardedUpload(upload)
            try store.deleteObject(bucket: try store.openBucket(input.bucket), key: input.key)
        }
        return etag
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        let upload = try await local.openUpload(bucket: bucket, key: key, uploadId: uploadId)
        try await releaseAbandonedUpload(upload.info)
        try await local.run { try $0.abortUpload(upload) }
    }

    public func releaseAbandonedUpload(_ info: UploadInfo) async throws {
        guard let upstreamId = info.upstreamUploadId else { return }
        let rule = rule(info.bucket)
        try await upstream {
            try await client.abortMultipartUpload(bucket: rule.upstreamBucket, key: rule.upstreamKey(info.key), uploadId: upstreamId)
        }
    }

    public func listParts(_ input: ListPartsInput) async throws -> ListPartsOutput { try await local.listParts(input) }
    public func listMultipartUploads(_ input: ListUploadsInput) async throws -> UploadsPage { try await local.listMultipartUploads(input) }
}
