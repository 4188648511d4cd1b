import CLibFuzzer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Helpers shared by the fuzz targets: carving typed values out of libFuzzer's byte buffer, and turning
/// bytes into the Strings the parsers take.

/// Copies libFuzzer's buffer into an array (the parsers take Strings and `[UInt8]`, not raw pointers).
public func fuzzBytes(_ start: UnsafeRawPointer, _ count: Int) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: start, count: count))
}

/// The Strings a server could build from these bytes: always the lenient UTF-8 decoding (invalid sequences
/// become U+FFFD); when the bytes are not valid UTF-8, also their Latin-1 reading (each byte one scalar), as
/// some HTTP stacks read header bytes above 0x7F. Valid UTF-8 yields exactly one String.
public func fuzzStrings(_ bytes: some Collection<UInt8>) -> [String] {
    let lenient = String(decoding: bytes, as: UTF8.self)
    if let strict = String(validating: bytes, as: UTF8.self), strict.utf8.elementsEqual(lenient.utf8) {
        return [lenient]
    }
    // Invalid UTF-8: also try the bytes as Latin-1 (each byte one scalar), which is how some HTTP stacks
    // read header bytes above 0x7F.
    let latin1 = String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    return [lenient, latin1]
}

/// Fails loudly so libFuzzer records the input: an invariant of a parser did not hold.
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    if !condition() {
        fatalError("fuzz invariant violated: \(message())", file: file, line: line)
    }
}

/// Reads typed values from the front of the input; when the input runs out every read yields zero/empty.
public struct FuzzReader {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { position >= bytes.count }
    public var remainingCount: Int { max(0, bytes.count - position) }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// Up to eight bytes, little-endian.
    public mutating func uint64() -> UInt64 {
        var v: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 8) { v |= UInt64(byte()) << UInt64(shift) }
        return v
    }

    public mutating func int64() -> Int64 { Int64(bitPattern: uint64()) }

    /// An Int64 that is often one of the values where bugs live: 0, 1, the extremes and their neighbours.
    public mutating func interestingInt64() -> Int64 {
        switch byte() % 12 {
        case 0: 0
        case 1: 1
        case 2: 2
        case 3: Int64.max
        case 4: Int64.max - 1
        case 5: Int64.min
        case 6: -1
        case 7: Int64(byte())
        case 8: Int64(UInt16(byte()) | UInt16(byte()) << 8)
        case 9: Int64(Int32.max)
        case 10: Int64(UInt32.max) + 1
        default: int64()
        }
    }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let end = min(bytes.count, position + max(0, count))
        defer { position = end }
        return bytes[min(position, end)..<end]
    }

    /// Bytes up to (not including) the next `separator`, which is consumed; the rest when there is none.
    public mutating func field(separator: UInt8) -> ArraySlice<UInt8> {
        guard position < bytes.count else { return [] }
        let start = position
        if let i = bytes[start...].firstIndex(of: separator) {
            position = i + 1
            return bytes[start..<i]
        }
        position = bytes.count
        return bytes[start...]
    }

    public mutating func rest() -> ArraySlice<UInt8> {
        defer { position = bytes.count }
        return bytes[min(position, bytes.count)...]
    }
}

extension Collection<UInt8> {
    /// Splits on a byte the way a filesystem splits a path: every separator counts, empty pieces kept.
    public func splitBytes(on separator: UInt8) -> [[UInt8]] {
        var pieces: [[UInt8]] = [[]]
        for b in self {
            if b == separator { pieces.append([]) } else { pieces[pieces.count - 1].append(b) }
        }
        return pieces
    }
}

/// The signature libFuzzer calls for each input.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Hands control to libFuzzer with `callback` as the target. Each fuzz target's @main calls this: SwiftPM
/// renames an executable's entry point and links it as `main`, so libFuzzer's own `main` never runs.
public func runLibFuzzer(_ callback: FuzzCallback) -> Never {
    // Swift's crash backtracer attaches to a crashing process and, under libFuzzer, can keep the terminal
    // waiting long after the process is gone; libFuzzer and ASan print the stack anyway. The runtime reads
    // the setting at start-up, so set it and start again.
    #if os(Linux)
    if getenv("SWIFT_BACKTRACE") == nil {
        setenv("SWIFT_BACKTRACE", "enable=no", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }
    #endif
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv, callback)
    exit(status)
}

nonisolated(unsafe) private let emptyInput = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

/// libFuzzer's data pointer as the `LLVMFuzzerTestOneInput` signature takes it (never nil, even when empty).
public func fuzzPointer(_ data: UnsafePointer<UInt8>?) -> UnsafeRawPointer {
    data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(emptyInput)
}
