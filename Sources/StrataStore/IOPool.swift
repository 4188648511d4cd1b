import NIOCore
import NIOPosix
import S3Protocol

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

    /// Appends a received buffer to an object being written, on the pool.
    public func write(_ buffer: ByteBuffer, to writer: ObjectWriter) async throws {
        try await run { try buffer.withUnsafeReadableBytes { bytes throws(S3Error) in try writer.write(bytes) } }
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
