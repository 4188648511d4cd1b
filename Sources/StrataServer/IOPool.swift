import NIOCore
import NIOPosix
import S3Protocol
import StrataStore

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
    func write(_ buffer: ByteBuffer, to writer: ObjectWriter) async throws {
        try await run { try buffer.withUnsafeReadableBytes { bytes throws(S3Error) in try writer.write(bytes) } }
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
