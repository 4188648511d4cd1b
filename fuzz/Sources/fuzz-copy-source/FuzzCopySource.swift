import FuzzSupport
import S3Protocol

/// `x-amz-copy-source` (CopySource(header:)) and `x-amz-copy-source-range` (CopySourceRange.parse). What
/// CopySource accepts must be a bucket and key the server would accept in a request path.
func reserved(_ segment: Substring) -> Bool { segment.utf8.starts(with: ".strata".utf8) }
func nothingReserved(_ segment: Substring) -> Bool { false }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    for text in fuzzStrings(fuzzBytes(start, count)) {
        for isReserved in [reserved, nothingReserved] {
            guard let source = try? CopySource(header: text, isReserved: isReserved) else { continue }
            fuzzCheck((try? BucketName.validate(source.bucket, strict: false)) != nil, "copy source bucket \(source.bucket.debugDescription)")
            fuzzCheck((try? ObjectKey.validate(source.key, isReserved: isReserved)) != nil, "copy source key \(source.key.debugDescription)")
            fuzzCheck(!source.bucket.utf8.contains(0x2F), "copy source bucket with '/': \(source.bucket.debugDescription)")
            _ = BucketName.relativePath(source.bucket)
            _ = ObjectKey.segments(source.key)
        }
        if let range = try? CopySourceRange.parse(text) {
            fuzzCheck(range.lowerBound >= 0 && range.lowerBound <= range.upperBound, "copy source range \(range) from \(text.debugDescription)")
        }
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
