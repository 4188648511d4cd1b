import AsyncAlgorithms
import Crypto
import Foundation
import NIOCore
import S3Protocol
import StrataStore
import Synchronization

@testable import StrataTiering

/// An in-memory upstream S3 for the tiered store's tests: objects by bucket and key, ETags as MD5, and a switch
/// that makes every call fail as an unreachable upstream would.
final class FakeUpstream: UpstreamS3 {
    struct Stored {
        var bytes: [UInt8]
        var object: UpstreamObject
        var tags = TagSet()
    }

    private let objects = Mutex<[String: Stored]>([:])
    private let uploads = Mutex<[String: [Int: [UInt8]]]>([:])
    let unreachable = Atomic<Bool>(false)
    let calls = Atomic<Int>(0)

    private static func id(_ bucket: String, _ key: String) -> String { bucket + "/" + key }

    private func check() throws {
        calls.add(1, ordering: .relaxed)
        if unreachable.load(ordering: .relaxed) { throw UpstreamError.unavailable("fake upstream switched off") }
    }

    /// Puts an object as another client of the upstream would.
    func store(_ bucket: String, _ key: String, _ text: String) {
        let bytes = Array(text.utf8)
        let etag = Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let object = UpstreamObject(
            etag: etag,
            size: Int64(bytes.count),
            lastModified: Int64(Date().timeIntervalSince1970),
            contentType: "text/plain"
        )
        objects.withLock { $0[Self.id(bucket, key)] = Stored(bytes: bytes, object: object) }
    }

    func text(_ bucket: String, _ key: String) -> String? {
        objects.withLock { $0[Self.id(bucket, key)] }.map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    func remove(_ bucket: String, _ key: String) { _ = objects.withLock { $0.removeValue(forKey: Self.id(bucket, key)) } }

    func head(bucket: String, key: String) async throws -> UpstreamObject? {
        try check()
        return objects.withLock { $0[Self.id(bucket, key)] }?.object
    }

    func get(bucket: String, key: String, range: ClosedRange<Int64>?) async throws -> (UpstreamObject, ByteStream)? {
        try check()
        guard let stored = objects.withLock({ $0[Self.id(bucket, key)] }) else { return nil }
        let bytes = range.map { Array(stored.bytes[Int($0.lowerBound)...Int($0.upperBound)]) } ?? stored.bytes
        let sent = Atomic<Bool>(false)
        let stream = ByteStream {
            { sent.exchange(true, ordering: .relaxed) ? nil : ByteBuffer(bytes: bytes) }
        }
        return (stored.object, stream)
    }

    private func collect(_ body: AsyncChannel<ByteBuffer>) async -> [UInt8] {
        var bytes: [UInt8] = []
        for await buffer in body { bytes += Array(buffer.readableBytesView) }
        return bytes
    }

    func put(bucket: String, key: String, body: AsyncChannel<ByteBuffer>, length: Int64, headers: [(String, String)]) async throws -> String {
        try check()
        let text = String(decoding: await collect(body), as: UTF8.self)
        store(bucket, key, text)
        // The permission and tags a write carries stay with the object, as an S3 server keeps metadata and tags.
        let permission = headers.first { $0.0 == Permission.upstreamHeader }.flatMap { Permission(headerValue: $0.1) }
        let tags = headers.first { $0.0 == "x-amz-tagging" }.flatMap { try? TagSet.parseHeader($0.1) } ?? TagSet()
        return objects.withLock {
            $0[Self.id(bucket, key)]!.object.permission = permission
            $0[Self.id(bucket, key)]!.tags = tags
            $0[Self.id(bucket, key)]!.object.tagCount = tags.count
            return $0[Self.id(bucket, key)]!.object.etag
        }
    }

    func tagging(bucket: String, key: String) async throws -> TagSet? {
        try check()
        return objects.withLock { $0[Self.id(bucket, key)] }?.tags
    }

    func setTagging(bucket: String, key: String, tags: TagSet) async throws {
        try check()
        objects.withLock {
            $0[Self.id(bucket, key)]?.tags = tags
            $0[Self.id(bucket, key)]?.object.tagCount = tags.count
        }
    }

    func createBucket(_ bucket: String) async throws { try check() }

    func delete(bucket: String, key: String) async throws {
        try check()
        remove(bucket, key)
    }

    func copyObject(fromBucket: String, fromKey: String, toBucket: String, toKey: String, headers: [(String, String)]) async throws -> String {
        try check()
        guard let text = text(fromBucket, fromKey) else { throw UpstreamError.status(404, "CopyObject") }
        store(toBucket, toKey, text)
        return objects.withLock { $0[Self.id(toBucket, toKey)]!.object.etag }
    }

    func createMultipartUpload(bucket: String, key: String, headers: [(String, String)]) async throws -> String {
        try check()
        let id = UUID().uuidString
        uploads.withLock { $0[id] = [:] }
        return id
    }

    func uploadPart(
        bucket: String,
        key: String,
        uploadId: String,
        partNumber: Int,
        body: AsyncChannel<ByteBuffer>,
        length: Int64
    ) async throws -> String {
        try check()
        let bytes = await collect(body)
        uploads.withLock { $0[uploadId]?[partNumber] = bytes }
        return Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [(number: Int, etag: String)]) async throws -> String {
        try check()
        let stored = uploads.withLock { $0.removeValue(forKey: uploadId) } ?? [:]
        store(bucket, key, String(decoding: parts.flatMap { stored[$0.number] ?? [] }, as: UTF8.self))
        return objects.withLock { $0[Self.id(bucket, key)]!.object.etag } + "-\(parts.count)"
    }

    func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        try check()
        _ = uploads.withLock { $0.removeValue(forKey: uploadId) }
    }

    func list(
        bucket: String,
        prefix: String,
        delimiter: String?,
        startAfter: String?,
        continuationToken: String?,
        maxKeys: Int
    ) async throws
        -> UpstreamListPage
    {
        try check()
        let keys = objects.withLock { all in
            all.keys.compactMap { id -> String? in id.hasPrefix(bucket + "/") ? String(id.dropFirst(bucket.count + 1)) : nil }
        }.filter { key in key.hasPrefix(prefix) && (startAfter.map { $0 < key } ?? true) }.sorted()
        var page = UpstreamListPage()
        for key in keys {
            if let delimiter, let range = key.dropFirst(prefix.count).range(of: delimiter) {
                let common = String(key[..<range.upperBound])
                if page.commonPrefixes.last != common { page.commonPrefixes.append(common) }
                continue
            }
            if let object = objects.withLock({ $0[Self.id(bucket, key)] })?.object { page.objects.append((key, object)) }
        }
        return page
    }

    func shutdown() async {}
}

/// A request body held in memory, handed over in one batch.
struct BytesPayload: PayloadSource {
    let bytes: [UInt8]

    init(_ text: String) { bytes = Array(text.utf8) }

    var length: Int64? { Int64(bytes.count) }

    func stream(_ consume: @Sendable (ByteBuffer) async throws -> Void) async throws -> [(String, String)] {
        if !bytes.isEmpty { try await consume(ByteBuffer(bytes: bytes)) }
        return []
    }
}
