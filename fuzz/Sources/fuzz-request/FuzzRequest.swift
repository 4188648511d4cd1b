import FuzzSupport
import S3Protocol

/// A whole request's arguments: S3Target, S3Router.route, then S3Request.parse with fuzzed headers, and
/// ContinuationToken. Layout, lines separated by LF: method, raw target, then `name:value` headers.
/// Whether the request is parsed with key segments escaped (the default) or strictly (Alluxio's refusals).
nonisolated(unsafe) var escapesKeySegments = false

func checkAddress(_ bucket: String, _ key: String, _ what: String) {
    fuzzCheck((try? BucketName.validate(bucket, strict: false)) != nil, "\(what): bucket \(bucket.debugDescription) passed to a handler")
    fuzzCheck(
        (try? ObjectKey.validate(key, escapesSegments: escapesKeySegments)) != nil,
        "\(what): key \(key.debugDescription) passed to a handler"
    )
    // Every entry name a key maps to is one the filesystem holds inside its directory, and decodes back.
    let (directories, leaf) = ObjectKey.fileSegments(key)
    let segments = key.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
    fuzzCheck(segments.count == directories.count + 1, "\(key.debugDescription) maps to \(directories.count + 1) names")
    for (name, segment) in zip(directories + [leaf], segments) {
        fuzzCheck(!name.isEmpty && name != "." && name != ".." && !name.utf8.contains(UInt8(ascii: "/")), "entry name \(name.debugDescription)")
        fuzzCheck(ObjectKey.segment(ofEntry: name.utf8).map { $0.elementsEqual(segment) } == true, "\(name.debugDescription) decodes wrongly")
        fuzzCheck(!escapesKeySegments || name.utf8.count <= ObjectKey.maxComponentBytes, "entry name of \(name.utf8.count) bytes")
    }
}

/// Checks the bounds of what a handler receives. Written as `if case` rather than a switch so that a new
/// action in S3Protocol does not break this package's build.
func check(_ action: S3Action) {
    let name = action.operation.name
    if case .listObjects(let list) = action {
        fuzzCheck((0...ListObjectsArguments.maxKeysLimit).contains(list.maxKeys), "max-keys \(list.maxKeys)")
        // An empty continuation-token is taken as none (the first page), as AWS does.
        if list.continuationToken?.isEmpty == false { fuzzCheck(!(list.startAfter ?? "").isEmpty, "continuation token without a start key") }
    }
    if case .listMultipartUploads(let list) = action {
        fuzzCheck((0...1000).contains(list.maxUploads), "max-uploads \(list.maxUploads)")
        fuzzCheck((try? BucketName.validate(list.bucket, strict: false)) != nil, "\(name): bucket \(list.bucket.debugDescription)")
    }
    switch action {
    case .deleteObject(let object, _, let versionId):
        checkAddress(object.bucket, object.key, name)
        if let versionId { fuzzCheck(VersionID.isWellFormed(versionId), "versionId \(versionId.debugDescription)") }
    case .listObjectVersions(let list):
        fuzzCheck((0...1000).contains(list.maxKeys), "max-keys \(list.maxKeys)")
        fuzzCheck((try? BucketName.validate(list.bucket, strict: false)) != nil, "\(name): bucket \(list.bucket.debugDescription)")
    case .putObject(let object, _), .getObjectAcl(let object), .getObjectTagging(let object),
        .putObjectTagging(let object), .deleteObjectTagging(let object), .createMultipartUpload(let object):
        checkAddress(object.bucket, object.key, name)
    case .getObject(let read), .headObject(let read):
        checkAddress(read.object.bucket, read.object.key, name)
        if let part = read.partNumber { fuzzCheck((1...10_000).contains(part), "partNumber \(part)") }
        if let versionId = read.versionId { fuzzCheck(VersionID.isWellFormed(versionId), "versionId \(versionId.debugDescription)") }
    case .copyObject(let copy):
        checkAddress(copy.object.bucket, copy.object.key, name)
        checkAddress(copy.source.bucket, copy.source.key, "\(name) source")
    case .uploadPart(let upload, let part):
        checkAddress(upload.bucket, upload.key, name)
        fuzzCheck((1...10_000).contains(part), "partNumber \(part)")
    case .uploadPartCopy(let upload, let part, let source, let range, _):
        checkAddress(upload.bucket, upload.key, name)
        checkAddress(source.bucket, source.key, "\(name) source")
        fuzzCheck((1...10_000).contains(part), "partNumber \(part)")
        if let range { _ = try? CopySourceRange.parse(range) }
    case .completeMultipartUpload(let upload, _), .abortMultipartUpload(let upload):
        checkAddress(upload.bucket, upload.key, name)
    case .listParts(let upload, let marker, let maxParts):
        checkAddress(upload.bucket, upload.key, name)
        fuzzCheck((0...10_000).contains(marker) && (0...1000).contains(maxParts), "part-number-marker \(marker), max-parts \(maxParts)")
    case .headBucket(let bucket), .deleteBucket(let bucket), .getBucketLocation(let bucket), .getBucketVersioning(let bucket),
        .putBucketVersioning(let bucket), .getBucketAcl(let bucket), .deleteObjects(let bucket), .getBucketTagging(let bucket),
        .putBucketTagging(let bucket),
        .deleteBucketTagging(let bucket), .getBucketCors(let bucket), .putBucketCors(let bucket), .deleteBucketCors(let bucket),
        .getBucketWebsite(let bucket), .putBucketWebsite(let bucket), .deleteBucketWebsite(let bucket),
        .preflight(let bucket), .postObject(let bucket):
        fuzzCheck((try? BucketName.validate(bucket, strict: false)) != nil, "\(name): bucket \(bucket.debugDescription)")
    case .getObjectAttributes(let arguments):
        checkAddress(arguments.object.bucket, arguments.object.key, name)
        fuzzCheck((0...1000).contains(arguments.maxParts) && arguments.partNumberMarker >= 0, "max-parts \(arguments.maxParts)")
        fuzzCheck(!arguments.attributes.isEmpty, "no attributes")
    case .listBuckets(let list):
        if let count = list.maxBuckets { fuzzCheck((1...ListBucketsArguments.maxBucketsLimit).contains(count), "max-buckets \(count)") }
    default:
        break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var input = FuzzReader(fuzzBytes(start, count))
    let method = String(decoding: input.field(separator: 0x0A), as: UTF8.self)
    let rawTarget = String(decoding: input.field(separator: 0x0A), as: UTF8.self)
    var headers: [(String, String)] = []
    while !input.isAtEnd {
        let line = String(decoding: input.field(separator: 0x0A), as: UTF8.self)
        if let (name, value) = line.splitOnceBytes(UInt8(ascii: ":")) {
            headers.append((name.lowercased(), value.trimmingSpaces()))
        }
    }
    for token in [rawTarget, method] + headers.map(\.1) {
        if let key = ContinuationToken.decode(token) { _ = ContinuationToken.encode(key) }
        if !token.isEmpty, token.utf8.count <= 3000 {
            let back = ContinuationToken.decode(ContinuationToken.encode(token))
            fuzzCheck(
                back?.utf8.elementsEqual(token.utf8) ?? false,
                "continuation token of \(token.debugDescription) decodes to \(String(describing: back))"
            )
        }
    }
    guard let target = try? S3Target(rawTarget: rawTarget) else { return 0 }
    let lookup = headers
    let header: (String) -> String? = { name in lookup.first { $0.0 == name }?.1 }
    let operation = S3Router.route(method: method, target: target, hasCopySource: header("x-amz-copy-source") != nil)
    let reserved: (Substring) -> Bool = { $0.utf8.starts(with: ".strata".utf8) }
    for escapes in [false, true] {
        escapesKeySegments = escapes
        let parsed = try? S3Request.parse(operation: operation, target: target, header: header, isReservedKey: reserved, escapesKeySegments: escapes)
        guard let request = parsed else { continue }
        fuzzCheck(request.operation == operation, "parsed \(request.operation.name) from routed \(operation.name)")
        check(request.action)
    }
    return 0
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.utf8.first == 0x20 { s = s.dropFirst() }
        while s.utf8.last == 0x20 { s = s.dropLast() }
        return String(s)
    }
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
