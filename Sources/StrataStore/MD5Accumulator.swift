import Crypto
import S3Protocol

/// Streaming MD5 whose state can be carried across thread-pool hops.
public struct MD5Accumulator: @unchecked Sendable {
    private var hasher = Insecure.MD5()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public func hex() -> String { SigV4.hex(hasher.finalize()) }

    public func digest() -> [UInt8] { Array(hasher.finalize()) }
}
