import FuzzSupport
import S3Protocol

/// The request target: S3Target(rawTarget:) then S3Router.route for every method, with and without a copy
/// source, and the name checks the server applies to what the target yields.
/// S3Target is also checked against a reference that splits the target on bytes (`?`, scheme, Alluxio prefix,
/// `/`), as the kernel and other S3 servers do: a combining mark after a delimiter must not hide it.
let methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "get", ""]

enum Split: Equatable {
    case invalid
    case parsed(bucket: [UInt8]?, key: [UInt8]?)
}

func referenceSplit(_ raw: String) -> Split {
    let slash = UInt8(ascii: "/")
    let bytes = Array(raw.utf8)
    var path = bytes[...]
    if let q = bytes.firstIndex(of: UInt8(ascii: "?")) {
        path = bytes[..<q]
        let query = String(decoding: bytes[(q + 1)...], as: UTF8.self)
        if (try? QueryParameters(raw: Substring(query))) == nil { return .invalid }
    }
    if path.starts(with: "http://".utf8) || path.starts(with: "https://".utf8) {
        let authority = path[(path.firstIndex(of: UInt8(ascii: ":"))! + 3)...]
        path = authority.firstIndex(of: slash).map { authority[$0...] } ?? [slash]
    }
    let base = Array(S3Target.alluxioBasePath.utf8)
    if path.elementsEqual(base) || path.starts(with: base + [slash]) { path = path.dropFirst(base.count) }
    guard path.isEmpty || path.first == slash else { return .invalid }
    let trimmed = path.drop { $0 == slash }
    if trimmed.isEmpty { return .parsed(bucket: nil, key: nil) }
    let cut = trimmed.firstIndex(of: slash)
    guard let bucket = PercentEncoding.decode(String(decoding: cut.map { trimmed[..<$0] } ?? trimmed, as: UTF8.self)) else { return .invalid }
    guard let cut else { return .parsed(bucket: Array(bucket.utf8), key: nil) }
    guard let key = PercentEncoding.decode(String(decoding: trimmed[(cut + 1)...], as: UTF8.self)) else { return .invalid }
    return .parsed(bucket: Array(bucket.utf8), key: key.isEmpty ? nil : Array(key.utf8))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    for text in fuzzStrings(fuzzBytes(start, count)) {
        let reference = referenceSplit(text)
        guard let target = try? S3Target(rawTarget: text) else {
            fuzzCheck(reference == .invalid, "S3Target refuses \(text.debugDescription); split on bytes it is \(reference)")
            continue
        }
        let split = Split.parsed(bucket: target.bucket.map { Array($0.utf8) }, key: target.key.map { Array($0.utf8) })
        fuzzCheck(split == reference, "S3Target(\(text.debugDescription)) = \(split); split on bytes it is \(reference)")
        if target.bucket == nil { fuzzCheck(target.key == nil, "key without bucket from \(text.debugDescription)") }
        if let bucket = target.bucket {
            if (try? BucketName.validate(bucket, strict: false)) != nil { _ = BucketName.relativePath(bucket) }
            _ = try? BucketName.validate(bucket, strict: true)
        }
        if let key = target.key { _ = try? ObjectKey.validate(key) }
        for method in methods {
            for hasCopySource in [false, true] {
                let operation = S3Router.route(method: method, target: target, hasCopySource: hasCopySource)
                _ = operation.name
            }
        }
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
