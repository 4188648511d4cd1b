import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import S3Protocol
import StrataStore
import StrataTiering

/// PutObject, GetObject, HeadObject, DeleteObject.
extension S3Responder {
    func putObject(_ call: S3Call) async throws -> Response {
        let bucketName = try call.bucket()
        let key = try call.key()
        let framing = try BodyFraming.of(call)
        let length = framing.payloadLength
        let expectedMD5 = try ObjectMetadataHeaders.contentMD5(call.headers)
        let requestedChecksum = try RequestedChecksum.of(call)
        let condition = try call.writeCondition()
        let metadata = try ObjectMetadataHeaders.from(call.headers, owner: call.user, userMetadataLimit: settings.userMetadataMaxSize)
        let tags = try headerTags(call)
        let bucket = try await openBucket(bucketName)

        if key.hasSuffix("/") {
            guard length == 0 else { throw S3Error(.directoryObjectContainsData, "A key ending in '/' names a directory, which cannot hold data.") }
            try await io.run { [store] in try store.putDirectoryObject(bucket: bucket, key: key, metadata: metadata, tags: tags) }
            return Responses.empty(headers: [.eTag: "\"\(emptyMD5)\""])
        }

        let policy = policy(bucketName)
        if let tiering, let policy, policy.writeType == .through {
            return try await putThrough(call, tiering: tiering, policy: policy, bucket: bucket, key: key, framing: framing)
        }
        let writer = try await io.run { [store] in try store.beginWrite(bucket: bucket, key: key) }
        writer.checksum = requestedChecksum.map { Checksummer($0.algorithm) }
        do {
            var upstreamETag: String?
            let trailers: [(String, String)]
            if let tiering, let policy, policy.writeType == .cacheThrough {
                (upstreamETag, trailers) = try await streamUpstream(
                    call,
                    tiering: tiering,
                    policy: policy,
                    key: key,
                    framing: framing,
                    writer: writer
                )
            } else {
                trailers = try await BodyStreamer.stream(call, into: writer, io: io, framing: framing)
            }
            let digest = writer.md5.digest()
            if let expectedMD5, expectedMD5 != digest { throw S3Error(.badDigest) }
            var meta = metadata
            meta.etag = writer.md5.hex()
            var headers: HTTPFields = [.eTag: "\"\(meta.etag)\""]
            if let requestedChecksum, let computed = writer.checksum {
                meta.checksumAlgorithm = requestedChecksum.algorithm
                meta.checksum = try requestedChecksum.verify(computed: computed.base64(), trailers: trailers)
                headers.set(requestedChecksum.algorithm.headerName, meta.checksum!)
            }
            if let upstreamETag {
                meta.upstreamETag = upstreamETag
                meta.persisted = true
                meta.syncedAt = Int64(Date().timeIntervalSince1970)
            }
            var announced: JournalEntry?
            if let policy, policy.writeType == .asyncThrough {
                // Durable before the publish and held back until it is released below, so the persister never
                // takes the previous version for this one; after a crash the held entry still names the key.
                meta.persisted = false
                announced = try await announceLocalWrite(bucketName: bucketName, key: key)
            }
            if tiering != nil { headers.set("x-strata-persistence", Self.persistenceState(meta)) }
            let committed = meta
            try await io.run { _ = try writer.commit(metadata: committed, tags: tags, condition: condition) }
            try await persistAfterLocalWrite(bucketName: bucketName, key: key, announced: announced)
            return Responses.empty(headers: headers)
        } catch {
            writer.discard()
            throw error
        }
    }

    func getObject(_ call: S3Call, head: Bool) async throws -> Response {
        let bucketName = try call.bucket()
        let key = try call.key()
        if let versionId = call.query["versionId"], versionId != "null" {
            throw S3Error(.invalidArgument, "Invalid version id specified", details: [("ArgumentName", "versionId"), ("ArgumentValue", versionId)])
        }
        let bucket = try await openBucket(bucketName)
        let object: ObjectHandle
        do {
            object = try await io.run { [store] in try store.openObject(bucket: bucket, key: key) }
        } catch let error as S3Error {
            guard error.code == .noSuchKey, let tiering, let policy = policy(bucketName) else { throw error }
            return try await readThrough(call, tiering: tiering, policy: policy, bucket: bucket, key: key, head: head)
        }
        if let tiering {
            TieringMetrics.increment(tiering.metrics.cacheHits)
            tiering.accesses.touch(bucketName, key)
        }
        if let tiering, let policy = policy(bucketName),
            Self.needsRevalidation(object.metadata, policy: policy, now: Int64(Date().timeIntervalSince1970))
        {
            switch await revalidate(object, tiering: tiering, policy: policy, bucket: bucket, key: key) {
            case .fresh: break
            case .deleted: throw S3Error(.noSuchKey, details: [("Key", key)])
            case .changed: return try await readThrough(call, tiering: tiering, policy: policy, bucket: bucket, key: key, head: head)
            }
        }
        let etag = object.metadata.etag
        var headers = HTTPFields()
        headers[.eTag] = "\"\(etag)\""
        headers[.lastModified] = HTTPDate.rfc1123(seconds: object.lastModifiedSeconds)
        headers[.acceptRanges] = "bytes"

        let conditions = call.readConditions()
        switch conditions.evaluate(etag: etag, lastModified: object.lastModifiedSeconds) {
        case .proceed: break
        case .notModified: return Responses.empty(.notModified, headers: headers)
        case .preconditionFailed:
            throw S3Error(.preconditionFailed, details: [("Condition", conditions.ifMatch != nil ? "If-Match" : "If-Unmodified-Since")])
        }
        ObjectMetadataHeaders.apply(object.metadata, to: &headers, query: call.query)
        if !object.tags.isEmpty { headers.set("x-amz-tagging-count", String(object.tags.count)) }
        if tiering != nil { headers.set("x-strata-persistence", Self.persistenceState(object.metadata)) }

        let size = object.size
        var first: Int64 = 0
        var length = size
        var status = HTTPResponse.Status.ok
        if let rawPart = call.query["partNumber"] {
            let number = try call.partNumber()
            guard call.header("range") == nil else {
                throw S3Error(.invalidRequest, "Cannot specify both Range header and partNumber query parameter")
            }
            // An object without a (valid) part layout is one part: the whole object.
            let layout =
                object.metadata.part(number, size: size) ?? (number == 1 ? (found: (offset: 0, length: size), count: 1) : (found: nil, count: 1))
            guard let part = layout.found else {
                throw S3Error(.invalidPartNumber, details: [("PartNumberRequested", rawPart), ("ActualPartCount", "\(layout.count)")])
            }
            first = part.offset
            length = part.length
            status = .partialContent
            // An empty part has no byte range to name.
            headers[.contentRange] = length > 0 ? "bytes \(first)-\(first + length - 1)/\(size)" : "bytes */\(size)"
            headers.set("x-amz-mp-parts-count", String(layout.count))
        } else if let rangeHeader = call.header("range"), let spec = ByteRangeSpec.parse(rangeHeader) {
            guard let range = spec.resolve(size: size) else {
                throw S3Error(.invalidRange, details: [("RangeRequested", rangeHeader), ("ActualObjectSize", "\(size)")])
                    .with(header: "Content-Range", "bytes */\(size)")
            }
            first = range.lowerBound
            length = range.upperBound - range.lowerBound + 1
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
        }
        headers[.contentLength] = String(length)
        if call.header("x-amz-checksum-mode")?.uppercased() == "ENABLED", status == .ok, let algorithm = object.metadata.checksumAlgorithm,
            let value = object.metadata.checksum
        {
            headers.set(algorithm.headerName, value)
            headers.set("x-amz-checksum-type", object.metadata.checksumIsComposite == true ? "COMPOSITE" : "FULL_OBJECT")
        }
        guard !head, length > 0, let file = object.file else {
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        return Response(status: status, headers: headers, body: FileStreaming.body(file: file, offset: first, length: length, io: io))
    }

    func deleteObject(_ call: S3Call) async throws -> Response {
        let bucketName = try call.bucket()
        let key = try call.key()
        let bucket = try await openBucket(bucketName)
        try await deleteUpstream(bucketName, key)
        try await io.run { [store] in try store.deleteObject(bucket: bucket, key: key) }
        return Responses.empty(.noContent)
    }

    /// Deletes the upstream copy first when the delete type says so, so a failure leaves everything as it was;
    /// a pending journal entry for the key is dropped either way.
    func deleteUpstream(_ bucketName: String, _ key: String) async throws {
        guard let tiering, let policy = policy(bucketName) else { return }
        tiering.journal.remove(bucket: bucketName, key: key)
        guard policy.deleteType == .everywhere, !key.hasSuffix("/") else { return }
        do { try await tiering.client.delete(bucket: policy.upstreamBucket, key: policy.upstreamKey(key)) } catch let error as UpstreamError {
            throw error.s3Error
        }
    }
}

/// Streams a byte range of a file, reading the next chunk while the previous one is being sent.
enum FileStreaming {
    static let chunkSize = 1 << 20

    static func body(file: OpenFile, offset: Int64, length: Int64, io: IOPool) -> ResponseBody {
        ResponseBody(contentLength: Int(length)) { writer in
            var position = offset
            var remaining = length
            func read(_ at: Int64, _ count: Int) -> Task<ByteBuffer, any Error> {
                Task { try await io.run { try readChunk(file: file, at: at, count: count) } }
            }
            var pending: Task<ByteBuffer, any Error>? = read(position, Int(min(Int64(chunkSize), remaining)))
            while let task = pending {
                let buffer = try await task.value
                position += Int64(buffer.readableBytes)
                remaining -= Int64(buffer.readableBytes)
                pending = remaining > 0 ? read(position, Int(min(Int64(chunkSize), remaining))) : nil
                try await writer.write(buffer)
            }
            try await writer.finish(nil)
        }
    }

    /// Reads exactly `count` bytes; a file that shrank underneath us aborts the response (the connection
    /// is closed, so the client sees a truncated transfer rather than wrong bytes).
    static func readChunk(file: OpenFile, at offset: Int64, count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var filled = 0
        while filled < count {
            let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - filled) { raw in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<(count - filled)]), at: offset + Int64(filled))
            }
            if n == 0 { throw S3Error(.internalError, "The object changed size while it was being read.") }
            filled += n
        }
        return buffer
    }
}
