import NIOCore
import NIOPosix
import S3Protocol
import Synchronization

/// Runs blocking filesystem calls off the event loops and the cooperative pool.
public final class IOPool: Sendable {
    let pool: NIOThreadPool

    public init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// Below this a batch is written and hashed in one hop; above it, on two threads at once.
    static let parallelAppendMinimum = 256 << 10

    /// Appends a received buffer to an object being written (a copy read from upstream). A large batch is hashed on
    /// one pool thread while another writes it: MD5 runs at about the speed of a page-cache write, so doing both on
    /// one thread halves the rate. Uploads go through `stream`, which also overlaps batches.
    public func write(_ buffer: ByteBuffer, to writer: ObjectWriter) async throws {
        guard buffer.readableBytes >= Self.parallelAppendMinimum else {
            try await run { try buffer.withUnsafeReadableBytes { bytes throws(S3Error) in try writer.write(bytes) } }
            return
        }
        async let hashed: Void = run { buffer.withUnsafeReadableBytes { writer.hash($0) } }
        try await run { try buffer.withUnsafeReadableBytes { bytes throws(S3Error) in try writer.writeUnhashed(bytes) } }
        try await hashed
    }

    /// Streams an upload's batches into `writer` through a `WritePipeline`: each batch is hashed on one pool thread
    /// while another writes it, and the next batches are received meanwhile. `alongside` runs with each batch's
    /// write (a copy to the upstream store). Returns the payload's trailers once every batch is stored.
    public func stream(
        _ body: any PayloadSource,
        into writer: ObjectWriter,
        alongside: (@Sendable (ByteBuffer) async throws -> Void)? = nil
    ) async throws -> [(String, String)] {
        let pipeline = WritePipeline()
        do {
            let trailers = try await body.stream { buffer in
                try await pipeline.submit(
                    hash: { try await self.run { buffer.withUnsafeReadableBytes { writer.hash($0) } } },
                    store: {
                        async let local: Void = self.run {
                            try buffer.withUnsafeReadableBytes { bytes throws(S3Error) in try writer.writeUnhashed(bytes) }
                        }
                        if let alongside { try await alongside(buffer) }
                        try await local
                    }
                )
            }
            try await pipeline.finish()
            return trailers
        } catch {
            await pipeline.abandon()
            throw error
        }
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}

/// Reading local files in the chunks responses and uploads stream.
public enum FileChunks {
    public static let chunkSize = 1 << 20

    /// Reads exactly `count` bytes; a file that shrank underneath us is an error (a response then ends early and
    /// the client sees a truncated transfer rather than wrong bytes).
    public static func read(file: OpenFile, at offset: Int64, count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        try read(file: file, at: offset, count: count, into: &buffer)
        return buffer
    }

    /// Reads exactly `count` bytes if all of them are in the page cache, nil otherwise (also when the file shrank):
    /// for a thread that must not wait for the disk.
    public static func readIfCached(file: OpenFile, at offset: Int64, count: Int) -> ByteBuffer? {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let complete = fill(&buffer, count: count, at: offset) { Sys.preadIfCached(file.fd, $0, offset: $1) ?? 0 }
        return complete ? buffer : nil
    }

    /// Reads into `buffer`, reusing its memory when nothing else holds it any more (a chunk already sent) and
    /// copying on write otherwise: a stream of megabyte chunks then allocates two buffers, not one per chunk,
    /// which malloc would keep long after the transfer ends.
    public static func read(file: OpenFile, at offset: Int64, count: Int, into buffer: inout ByteBuffer) throws {
        buffer.clear(minimumCapacity: count)
        guard try fill(&buffer, count: count, at: offset, { try file.read(into: $0, at: $1) }) else {
            throw S3Error(.internalError, "The object changed size while it was being read.")
        }
    }

    /// Appends exactly `count` bytes from `offset` to `buffer` by repeated reads (`read` fills the space it is given
    /// from the offset it is given); false when a read returns nothing first.
    private static func fill(
        _ buffer: inout ByteBuffer,
        count: Int,
        at offset: Int64,
        _ read: (UnsafeMutableRawBufferPointer, Int64) throws -> Int
    ) rethrows -> Bool {
        var filled = 0
        while filled < count {
            let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - filled) { raw in
                try read(UnsafeMutableRawBufferPointer(rebasing: raw[0..<(count - filled)]), offset + Int64(filled))
            }
            if n == 0 { return false }
            filled += n
        }
        return true
    }
}

/// Stores an upload's batches while the next ones are received, so that receiving, hashing and writing overlap
/// instead of taking turns. Each batch is hashed in one lane and written in another, each lane in batch order but
/// neither waiting for the other: MD5 is the slowest step, and a write that stalls (fresh page-cache pages, a
/// busy disk) must not leave the hash lane idle. Up to `depth` batches wait or run at once: with one, the receiver
/// stalls whenever a batch takes longer to store than the connection's small inbound buffer takes to fill.
public final class WritePipeline: Sendable {
    public static let defaultDepth = 3

    private struct Batch {
        let hashed: Task<Void, any Error>
        let stored: Task<Void, any Error>

        func value() async throws {
            let hashing = await hashed.result
            try await stored.value
            try hashing.get()
        }
    }

    private let depth: Int
    private let inFlight = Mutex<[Batch]>([])

    public init(depth: Int = WritePipeline.defaultDepth) {
        self.depth = max(1, depth)
    }

    /// Queues a batch's two halves behind the batches before it; waits only while `depth` batches are queued.
    public func submit(
        hash: @escaping @Sendable () async throws -> Void,
        store: @escaping @Sendable () async throws -> Void
    ) async throws {
        let oldest = inFlight.withLock { $0.count >= depth ? $0.removeFirst() : nil }
        try await oldest?.value()
        let previous = inFlight.withLock { $0.last }
        // In order within each lane, and never after a batch that failed in it.
        let hashed = Task {
            try await previous?.hashed.value
            try await hash()
        }
        let stored = Task {
            try await previous?.stored.value
            try await store()
        }
        inFlight.withLock { $0.append(Batch(hashed: hashed, stored: stored)) }
    }

    /// Waits for every queued batch to be stored.
    public func finish() async throws {
        while let next = inFlight.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { try await next.value() }
    }

    /// Waits for batches still being stored, ignoring their outcome, so the file is not discarded under them.
    public func abandon() async {
        while let next = inFlight.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { _ = try? await next.value() }
    }
}
