import Crypto

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Streaming MD5 whose state can be carried across thread-pool hops.
public struct MD5Accumulator: @unchecked Sendable {
    private var hasher = Insecure.MD5()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public func hex() -> String { Hex.encode(hasher.finalize()) }

    public func digest() -> [UInt8] { Array(hasher.finalize()) }
}
