import FuzzSupport
import S3Protocol

/// Conditional headers: If-Match / If-None-Match ETag lists and If-(Un)Modified-Since dates.
/// Layout: lines `if-match`, `if-none-match`, `if-modified-since`, `if-unmodified-since`, `etag`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var input = FuzzReader(fuzzBytes(start, count))
    var fields: [String] = []
    for _ in 0..<5 { fields.append(String(decoding: input.field(separator: 0x0A), as: UTF8.self)) }
    let conditions = Conditions(
        ifMatch: fields[0].isEmpty ? nil : fields[0],
        ifNoneMatch: fields[1].isEmpty ? nil : fields[1],
        ifModifiedSince: fields[2].isEmpty ? nil : fields[2],
        ifUnmodifiedSince: fields[3].isEmpty ? nil : fields[3]
    )
    _ = conditions.isEmpty
    let etag = Conditions.unquote(fields[4])
    for lastModified in [Int64.min, -1, 0, 1_445_412_480, Int64.max] {
        _ = conditions.evaluate(etag: etag, lastModified: lastModified)
        _ = conditions.evaluateForCopySource(etag: etag, lastModified: lastModified)
    }
    for field in fields {
        _ = Conditions.unquote(field)
        _ = Conditions.matches(field, etag)
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
