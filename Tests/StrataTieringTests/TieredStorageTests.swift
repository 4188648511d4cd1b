import Foundation
import Logging
import NIOCore
import S3Protocol
import StrataStore
import Synchronization
import Testing

@testable import StrataTiering

/// The tiered store on a real temporary root, in front of an in-memory upstream.
final class TieredFixture: Sendable {
    let path = NSTemporaryDirectory() + "strata-tiering-test-" + UUID().uuidString
    let upstream = FakeUpstream()
    let storage: TieredStorage

    init(
        _ writeType: WriteType,
        deleteType: DeleteType = .everywhere,
        readType: ReadType = .cache,
        syncIntervalMilliseconds: Int64 = -1
    )
        throws
    {
        let local = LocalStorage(store: try FileSystemStore(rootPath: path, options: StoreOptions(syncPolicy: .none)), io: IOPool(threads: 2))
        var logger = Logger(label: "tiering-test")
        logger.logLevel = .critical
        storage = TieredStorage(
            local: local,
            client: upstream,
            rules: TieringRules(
                writeType: writeType,
                deleteType: deleteType,
                readType: readType,
                syncIntervalMilliseconds: syncIntervalMilliseconds,
                overrides: [:]
            ),
            journal: try PersistJournal(root: path),
            workers: 2,
            maxBackoffMilliseconds: 1000,
            fillOnRangedMiss: false,
            logger: logger
        )
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func put(_ key: String, _ text: String) async throws -> PutObjectOutput {
        try await storage.putObject(PutObjectInput(bucket: "b", key: key, metadata: ObjectMetadata()), body: BytesPayload(text))
    }

    func get(_ key: String) async throws -> (text: String, persistence: String?) {
        let output = try await storage.getObject(GetObjectInput(bucket: "b", key: key))
        var bytes: [UInt8] = []
        if let body = output.body {
            for try await buffer in body.bytes { bytes += Array(buffer.readableBytesView) }
        }
        return (String(decoding: bytes, as: UTF8.self), output.persistence)
    }

    func local(_ key: String) async -> ObjectHandle? { try? await storage.local.openObject(bucket: "b", key: key) }
}

func code(_ body: () async throws -> Void) async -> S3ErrorCode? {
    do {
        try await body()
        return nil
    } catch let error as S3Error {
        return error.code
    } catch {
        return nil
    }
}

@Suite struct WriteTypeTests {
    @Test func mustCacheStaysLocal() async throws {
        let fixture = try TieredFixture(.mustCache)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        #expect(try await fixture.put("k", "local").persistence == "local")
        #expect(fixture.upstream.text("b", "k") == nil)
        #expect(try await fixture.get("k").text == "local")
    }

    @Test func cacheThroughHoldsBothOrNeither() async throws {
        let fixture = try TieredFixture(.cacheThrough)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        #expect(try await fixture.put("k", "both").persistence == "persisted")
        #expect(fixture.upstream.text("b", "k") == "both")
        #expect(await fixture.local("k")?.metadata.persisted == true)
        fixture.upstream.unreachable.store(true, ordering: .relaxed)
        #expect(await code { _ = try await fixture.put("k", "new") } == .serviceUnavailable)
        #expect(try await fixture.get("k").text == "both")
    }

    @Test func asyncThroughPersistsFromTheJournal() async throws {
        let fixture = try TieredFixture(.asyncThrough)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        fixture.upstream.unreachable.store(true, ordering: .relaxed)
        #expect(try await fixture.put("k", "v1").persistence == "pending")
        _ = try await fixture.put("k", "v2")
        // A newer write supersedes the pending one: one entry per key.
        #expect(fixture.storage.journal.entries().count == 1)
        fixture.upstream.unreachable.store(false, ordering: .relaxed)
        await fixture.storage.persister.persistDue()
        #expect(fixture.upstream.text("b", "k") == "v2")
        #expect(fixture.storage.journal.entries().isEmpty)
        #expect(await fixture.local("k")?.metadata.persisted == true)
    }

    @Test func throughKeepsNoLocalCopy() async throws {
        let fixture = try TieredFixture(.through, readType: .noCache)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        #expect(try await fixture.put("k", "remote").persistence == "upstream")
        #expect(await fixture.local("k") == nil)
        let read = try await fixture.get("k")
        #expect(read.text == "remote")
        #expect(read.persistence == "upstream")
        #expect(await fixture.local("k") == nil)
    }

    @Test func throughMultipartIsForwarded() async throws {
        let fixture = try TieredFixture(.through)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        let upload = try await fixture.storage.createMultipartUpload(
            CreateUploadInput(bucket: "b", key: "mp", owner: "o", metadata: ObjectMetadata(), tags: nil)
        )
        #expect(upload.upstreamUploadId != nil)
        let part = try await fixture.storage.uploadPart(
            UploadPartInput(bucket: "b", key: "mp", uploadId: upload.uploadId, partNumber: 1, contentMD5: nil, checksum: nil),
            body: BytesPayload("forwarded")
        )
        let done = try await fixture.storage.completeMultipartUpload(
            CompleteUploadInput(
                bucket: "b",
                key: "mp",
                uploadId: upload.uploadId,
                parts: [RequestedPart(number: 1, etag: part.etag)],
                condition: .none,
                minPartSize: 0
            )
        )
        #expect(done.etag.hasSuffix("-1"))
        #expect(fixture.upstream.text("b", "mp") == "forwarded")
    }
}

@Suite struct ReadTests {
    @Test func missReadsThroughAndFillsTheCache() async throws {
        let fixture = try TieredFixture(.mustCache)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        fixture.upstream.store("b", "remote", "from upstream")
        let first = try await fixture.get("remote")
        #expect(first.text == "from upstream")
        #expect(first.persistence == "persisted")
        #expect(await fixture.local("remote")?.metadata.upstreamETag != nil)
        fixture.upstream.unreachable.store(true, ordering: .relaxed)
        #expect(try await fixture.get("remote").text == "from upstream")
    }

    @Test func revalidationSeesChangesAndDeletes() async throws {
        let fixture = try TieredFixture(.mustCache, syncIntervalMilliseconds: 0)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        fixture.upstream.store("b", "k", "one")
        #expect(try await fixture.get("k").text == "one")
        fixture.upstream.store("b", "k", "two")
        #expect(try await fixture.get("k").text == "two")
        fixture.upstream.remove("b", "k")
        #expect(await code { _ = try await fixture.get("k") } == .noSuchKey)
        #expect(await fixture.local("k") == nil)
    }

    @Test func unreachableUpstreamKeepsCachedCopiesInService() async throws {
        let fixture = try TieredFixture(.mustCache, syncIntervalMilliseconds: 0)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        fixture.upstream.store("b", "k", "cached")
        _ = try await fixture.get("k")
        fixture.upstream.unreachable.store(true, ordering: .relaxed)
        #expect(try await fixture.get("k").text == "cached")
    }

    @Test func revalidationDueOnlyAfterTheInterval() {
        var meta = ObjectMetadata()
        meta.upstreamETag = "e"
        meta.syncedAt = 1000
        let rule = TieringRule(
            writeType: .mustCache,
            deleteType: .everywhere,
            readType: .cache,
            upstreamBucket: "b",
            upstreamPrefix: "",
            syncIntervalMilliseconds: 60_000
        )
        #expect(!TieredStorage.needsRevalidation(meta, rule: rule, now: 1059))
        #expect(TieredStorage.needsRevalidation(meta, rule: rule, now: 1060))
        meta.persisted = false
        #expect(!TieredStorage.needsRevalidation(meta, rule: rule, now: 9999))
    }
}

@Suite struct ListingAndDeleteTests {
    @Test func listingMergesUpstreamAndLocalOnlyObjects() async throws {
        let fixture = try TieredFixture(.mustCache)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        fixture.upstream.store("b", "a-remote", "x")
        fixture.upstream.store("b", "dir/remote", "x")
        _ = try await fixture.put("c-local", "y")
        let listed = try await fixture.storage.listObjects(ListObjectsInput(bucket: "b", prefix: "", delimiter: "/", startAfter: nil, maxKeys: 10))
        #expect(listed.page.contents.map(\.key) == ["a-remote", "c-local"])
        #expect(listed.page.commonPrefixes == ["dir/"])
        let capped = try await fixture.storage.listObjects(ListObjectsInput(bucket: "b", prefix: "", delimiter: nil, startAfter: nil, maxKeys: 2))
        #expect(capped.page.contents.map(\.key) == ["a-remote", "c-local"])
        #expect(capped.page.isTruncated)
    }

    @Test func deleteTypes() async throws {
        let everywhere = try TieredFixture(.cacheThrough)
        try await everywhere.storage.createBucket("b", owner: "o", permission: nil)
        _ = try await everywhere.put("k", "v")
        try await everywhere.storage.deleteObject(bucket: "b", key: "k")
        #expect(everywhere.upstream.text("b", "k") == nil)

        let localOnly = try TieredFixture(.cacheThrough, deleteType: .localOnly)
        try await localOnly.storage.createBucket("b", owner: "o", permission: nil)
        _ = try await localOnly.put("k", "v")
        try await localOnly.storage.deleteObject(bucket: "b", key: "k")
        #expect(localOnly.upstream.text("b", "k") == "v")
        #expect(await localOnly.local("k") == nil)
    }

    @Test func deleteFailsWhenTheUpstreamCannotDelete() async throws {
        let fixture = try TieredFixture(.cacheThrough)
        try await fixture.storage.createBucket("b", owner: "o", permission: nil)
        _ = try await fixture.put("k", "v")
        fixture.upstream.unreachable.store(true, ordering: .relaxed)
        #expect(await code { try await fixture.storage.deleteObject(bucket: "b", key: "k") } == .serviceUnavailable)
        #expect(await fixture.local("k") != nil)
        let outcomes = try await fixture.storage.deleteObjects(bucket: "b", keys: ["k"])
        #expect(outcomes.first?.error?.code == .serviceUnavailable)
    }
}
