import FuzzSupport
import S3Protocol

/// The Range header: ByteRangeSpec.parse, then resolve against an object size chosen by the input
/// (often 0, 1 or Int64.max); and DecimalNumber, the parser of every other client number (max-keys,
/// partNumber, Expires, ...). Layout: [size selector...][header bytes].
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var input = FuzzReader(fuzzBytes(start, count))
    // A leading printable byte is part of the header (so text seeds work as they are); otherwise it
    // selects the size.
    var size: Int64 = 1000
    if let first = input.bytes.first, first < 0x20 {
        _ = input.byte()
        size = input.interestingInt64()
        if size < 0 { size = size == Int64.min ? 0 : -size }
    }
    for header in fuzzStrings(input.rest()) {
        for bounds: ClosedRange<Int64> in [0...Int64.max, 1...10_000, 0...1000, Int64.min...Int64.max, size...size] {
            if let n = DecimalNumber.parse(header, in: bounds) {
                fuzzCheck(bounds.contains(n), "DecimalNumber.parse(\(header.debugDescription), in: \(bounds)) = \(n)")
                fuzzCheck(
                    Int64(header) == n && header.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 },
                    "DecimalNumber.parse(\(header.debugDescription)) = \(n)"
                )
            }
        }
        if let n = DecimalNumber.parseInt(Substring(header), in: 1...10_000) { fuzzCheck((1...10_000).contains(n), "parseInt = \(n)") }
        guard let spec = ByteRangeSpec.parse(header) else { continue }
        for objectSize in [size, 0, 1, Int64.max] {
            guard let range = spec.resolve(size: objectSize) else { continue }
            fuzzCheck(
                range.lowerBound >= 0 && range.upperBound < objectSize && range.lowerBound <= range.upperBound,
                "\(header.debugDescription) resolved against \(objectSize) to \(range)"
            )
        }
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
