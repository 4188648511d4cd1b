import Foundation
import NIOCore
import S3Protocol
import Synchronization

/// Points where a layer above (the tiered store) joins a local write.
public struct WriteHooks: Sendable {
    /// Receives every batch, concurrently with its local write (write-through mirrors it upstream).
    public var mirror: (@Sendable (ByteBuffer) async throws -> Void)?
    /// Runs once the body is complete and verified, just before the object is published; returns the metadata
    /// to publish (write-through records the upstream ETag there).
    public var beforePublish: (@Sendable (ObjectMetadata) async throws -> ObjectMetadata)?

    public init(
        mirror: (@Sendable (ByteBuffer) async throws -> Void)? = nil,
        beforePublish: (@Sendable (ObjectMetadata) async throws -> ObjectMetadata)? = nil
    ) {
        self.mirror = mirror
        self.beforePublish = beforePublish
    }
}

extension LocalStorage {
    public func putObject(_ input: PutObjectInput, body: any PayloadSource) async throws -> PutObjectOutput {
        try await putObject(input, body: body, hooks: WriteHooks())
    }

    /// Streams the body into a temporary file (hashing on the way), verifies Content-MD5 and the requested checksum,
    /// and publishes atomically. Nothing becomes visible unless every check passed.
    public func putObject(_ input: PutObjectInput, body: any PayloadSource, hooks: WriteHooks) async throws -> PutObjectOutput {
        let key = input.key
        if !key.hasSuffix("/"), hooks.mirror == nil, hooks.beforePublish == nil, let length = body.length, length <= Self.gatheredBodyLimit {
            return try await putGathered(input, body: body, length: length)
        }
        let bucket = try await run { try $0.openBucket(input.bucket) }
        // `dir/` is the directory itself when empty (or always, in strict mode); with a body it is a file in it.
        if key.hasSuffix("/"), store.options.strictKeys || body.length == 0 {
            let containsData = S3Error(.directoryObjectContainsData, "A key ending in '/' names a directory, which cannot hold data.")
            if let length = body.length {
                guard length == 0 else { throw containsData }
            } else {
                _ = try await body.stream { if $0.readableBytes > 0 { throw containsData } }
            }
            try await run { try $0.putDirectoryObject(bucket: bucket, key: key, metadata: input.metadata, tags: input.tags) }
            return PutObjectOutput(etag: emptyMD5)
        }
        let permission = input.metadata.permission
        let bucketName = input.bucket
        let writer = try await run {
            try $0.beginWrite(bucket: bucket, key: key, permission: permission, versioning: $0.versioningStatus(bucketName, bucket))
        }
        writer.checksum = input.checksum.map { Checksummer($0.algorithm) }
        do {
            let trailers = try await io.stream(body, into: writer, alongside: hooks.mirror)
            var (meta, checksum) = try Self.verified(input, writer, trailers: trailers)
            if let beforePublish = hooks.beforePublish { meta = try await beforePublish(meta) }
            let committed = meta
            let tags = input.tags
            let condition = input.condition
            try await io.run { _ = try writer.commit(metadata: committed, tags: tags, condition: condition) }
            return PutObjectOutput(etag: committed.etag, checksum: checksum, versionId: writer.versionId)
        } catch {
            writer.discard()
            throw error
        }
    }

    /// A declared body up to this size is gathered in memory and then created, written, checked and published in
    /// one hand-off to the I/O threads instead of four (bucket, writer, bytes, commit): for a 4 KiB PUT the
    /// hand-offs cost more than the writing.
    static let gatheredBodyLimit: Int64 = 64 << 10

    private func putGathered(_ input: PutObjectInput, body: any PayloadSource, length: Int64) async throws -> PutObjectOutput {
        let gathered = GatheredBody(capacity: Int(length))
        let trailers = try await body.stream { gathered.append($0) }
        let bytes = gathered.bytes
        return try await run { store in
            let bucket = try store.openBucket(input.bucket)
            let writer = try store.beginWrite(
                bucket: bucket,
                key: input.key,
                permission: input.metadata.permission,
                versioning: store.versioningStatus(input.bucket, bucket)
            )
            writer.checksum = input.checksum.map { Checksummer($0.algorithm) }
            do {
                try bytes.withUnsafeReadableBytes { bytes throws(S3Error) in try writer.write(bytes) }
                let (meta, checksum) = try Self.verified(input, writer, trailers: trailers)
                _ = try writer.commit(metadata: meta, tags: input.tags, condition: input.condition)
                return PutObjectOutput(etag: meta.etag, checksum: checksum, versionId: writer.versionId)
            } catch {
                writer.discard()
                throw error
            }
        }
    }

    /// Checks a written body against Content-MD5 and the requested checksum; the metadata to publish (with the
    /// ETag and checksum) and the checksum to answer with.
    private static func verified(
        _ input: PutObjectInput,
        _ writer: ObjectWriter,
        trailers: [(String, String)]
    ) throws -> (ObjectMetadata, (algorithm: ChecksumAlgorithm, value: String)?) {
        if let expected = input.contentMD5, expected != writer.md5.digest() { throw S3Error(.badDigest) }
        var meta = input.metadata
        meta.etag = writer.md5.hex()
        var checksum: (algorithm: ChecksumAlgorithm, value: String)?
        if let requested = input.checksum, let computed = writer.checksum {
            let value = try requested.verify(computed: computed.base64(), trailers: trailers)
            meta.checksumAlgorithm = requested.algorithm
            meta.checksum = value
            checksum = (requested.algorithm, value)
        }
        return (meta, checksum)
    }

    /// Opens an object for serving; NoSuchBucket or NoSuchKey when it is not here.
    public func openObject(bucket: String, key: String, check: (@Sendable (PathPermissions) throws -> Void)? = nil) async throws -> ObjectHandle {
        let users = users
        return try await run { try $0.openObject(bucketName: bucket, key: key, users: users, check: check) }
    }

    /// Bodies up to this size are read in the same hop to the I/O pool as the object is opened.
    static let smallBodyLimit: Int64 = 64 * 1024

    /// Opens, checks and (for small bodies) reads the object in one hop to the I/O pool.
    public func getObject(_ input: GetObjectInput) async throws -> GetObjectOutput {
        let users = users
        return try await run { store in
            let object = try store.openObject(input, users: users)
            var output = try serve(input, object)
            if case .file(let file, let offset, let length, _)? = output.body, length <= Self.smallBodyLimit {
                output.body = .buffer(try FileChunks.read(file: file, at: offset, count: Int(length)))
            }
            return output
        }
    }

    /// GET or HEAD on the calling thread, for a caller that must not wait for the disk (the event loop): nil when
    /// the body is not in the page cache, or larger than `inlineLimit` without `largeAsFile`, and the caller takes
    /// the pooled path. A body up to `inlineLimit` comes back read; a larger one, with `largeAsFile`, as the open
    /// file for the caller to send with `sendfile` (only its first page is known to be cached).
    /// Opening and `statx` may still touch the disk when the inode is not cached, as nginx's open does.
    public func getObjectInline(_ input: GetObjectInput, inlineLimit: Int64, largeAsFile: Bool) throws -> GetObjectOutput? {
        guard input.versionId == nil else { return nil }
        let object: ObjectHandle
        do {
            object = try store.openObject(bucketName: input.bucket, key: input.key, users: users, check: input.permissionCheck)
        } catch let error as S3Error where error.code == .noSuchKey && store.hasStoredVersions(input.bucket) {
            return nil  // the pooled path says whether a delete marker hides the key
        }
        var output = try serve(input, object)
        if case .file(let file, let offset, let length, _)? = output.body {
            if length > inlineLimit {
                guard largeAsFile, FileChunks.readIfCached(file: file, at: offset, count: 1) != nil else { return nil }
                return output
            }
            guard let buffer = FileChunks.readIfCached(file: file, at: offset, count: Int(length)) else { return nil }
            output.body = .buffer(buffer)
        }
        return output
    }

    /// Applies the conditions, the part number or the range to an opened object: AWS's precedence, 304 and 412,
    /// 416 with the object's size.
    public func serve(_ input: GetObjectInput, _ object: ObjectHandle) throws -> GetObjectOutput {
        let etag = object.metadata.etag
        var output = GetObjectOutput(
            status: .ok,
            etag: etag,
            lastModifiedSeconds: object.lastModifiedSeconds,
            metadata: object.metadata,
            size: object.size,
            contentLength: object.size,
            tagCount: object.tags.count
        )
        switch input.conditions.evaluate(etag: etag, lastModified: object.lastModifiedSeconds) {
        case .proceed: break
        case .notModified:
            output.status = .notModified
            output.contentLength = 0
            return output
        case .preconditionFailed:
            throw S3Error(.preconditionFailed, details: [("Condition", input.conditions.ifMatch != nil ? "If-Match" : "If-Unmodified-Since")])
        }
        let size = object.size
        var first: Int64 = 0
        if let number = input.partNumber {
            guard input.rangeHeader == nil else { throw S3Error(.invalidRequest, "Cannot specify both Range header and partNumber query parameter") }
            // An object without a (valid) part layout is one part: the whole object.
            let layout =
                object.metadata.part(number, size: size)
                ?? (number == 1 ? (found: (offset: 0, length: size), count: 1) : (found: nil, count: 1))
            guard let part = layout.found else {
                // 400 InvalidPart, as AWS answers (ceph's s3-tests check it against AWS), not 416.
                throw S3Error(
                    .invalidPart,
                    "The requested partnumber is not satisfiable",
                    details: [("PartNumberRequested", "\(number)"), ("ActualPartCount", "\(layout.count)")]
                )
            }
            first = part.offset
            output.contentLength = part.length
            output.status = .partialContent
            // An empty part has no byte range to name.
            output.contentRange = part.length > 0 ? "bytes \(first)-\(first + part.length - 1)/\(size)" : "bytes */\(size)"
            output.partsCount = layout.count
        } else if let spec = input.range {
            guard let range = spec.resolve(size: size) else {
                throw S3Error(.invalidRange, details: [("RangeRequested", input.rangeHeader ?? ""), ("ActualObjectSize", "\(size)")])
                    .with(header: "Content-Range", "bytes */\(size)")
            }
            first = range.lowerBound
            output.contentLength = range.upperBound - range.lowerBound + 1
            output.status = .partialContent
            output.contentRange = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
        }
        if !input.headOnly, output.contentLength > 0, let file = object.file {
            output.body = .file(
                file,
                offset: first,
                length: output.contentLength,
                reader: fileStream(file, offset: first, length: output.contentLength)
            )
        }
        return output
    }
}

extension LocalStorage {
    /// Reads a byte range in 1 MiB chunks on the I/O pool, the next chunk already being read while the previous
    /// one is sent.
    public func fileStream(_ file: OpenFile, offset: Int64, length: Int64) -> ByteStream {
        let io = io
        return ByteStream {
            let reader = FileReadAhead(file: file, offset: offset, length: length, io: io)
            return { try await reader.next() }
        }
    }
}

/// One reader of a file range, used by a single consumer.
final class FileReadAhead: @unchecked Sendable {
    private let file: OpenFile
    private let io: IOPool
    private var position: Int64
    private var remaining: Int64
    private var pending: Task<ByteBuffer, any Error>?
    /// Chunks already handed out, oldest first. A response writer returns once a chunk is queued and waits only at the
    /// next one, so the chunk from three calls back has almost always been sent when a read starts, and its memory is reused.
    private var handedOut: [ByteBuffer] = []

    init(file: OpenFile, offset: Int64, length: Int64, io: IOPool) {
        self.file = file
        self.io = io
        position = offset
        remaining = length
        pending = length > 0 ? read() : nil
    }

    deinit { pending?.cancel() }

    private func read() -> Task<ByteBuffer, any Error> {
        let (file, io, at, count) = (file, io, position, Int(min(Int64(FileChunks.chunkSize), remaining)))
        // Handed over in a box the read empties, so the buffer is uniquely referenced when it is refilled.
        let reuse = SpareBuffer(handedOut.count >= 3 ? handedOut.removeFirst() : nil)
        return Task {
            try await io.run {
                guard var buffer = reuse.take() else { return try FileChunks.read(file: file, at: at, count: count) }
                try FileChunks.read(file: file, at: at, count: count, into: &buffer)
                return buffer
            }
        }
    }

    func next() async throws -> ByteBuffer? {
        guard let task = pending else { return nil }
        let buffer = try await task.value
        position += Int64(buffer.readableBytes)
        remaining -= Int64(buffer.readableBytes)
        pending = remaining > 0 ? read() : nil
        handedOut.append(buffer)
        return buffer
    }
}

/// A buffer passed to another thread to be refilled; taking it leaves no other reference behind.
final class SpareBuffer: @unchecked Sendable {
    private var buffer: ByteBuffer?

    init(_ buffer: ByteBuffer?) { self.buffer = buffer }

    func take() -> ByteBuffer? {
        defer { buffer = nil }
        return buffer
    }
}

/// A small body collected as it arrives, before anything is written.
final class GatheredBody: Sendable {
    private let buffer: Mutex<ByteBuffer>

    init(capacity: Int) {
        buffer = Mutex(ByteBufferAllocator().buffer(capacity: capacity))
    }

    func append(_ part: ByteBuffer) {
        _ = buffer.withLock { $0.writeImmutableBuffer(part) }
    }

    var bytes: ByteBuffer { buffer.withLock { $0 } }
}
