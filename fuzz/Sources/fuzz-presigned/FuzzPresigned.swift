import FuzzSupport
import S3Protocol

/// Presigned URLs: the raw query string through QueryParameters, then PresignedV4.parse and PresignedV2.parse,
/// and the identity SIMPLE authentication reads from the same query.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    for text in fuzzStrings(fuzzBytes(start, count)) {
        guard let query = try? QueryParameters(raw: Substring(text)) else { continue }
        _ = try? SimpleIdentity.user(authorization: nil, query: query)
        if let v4 = try? PresignedV4.parse(query) {
            fuzzCheck((1...PresignedV4.maxExpiry).contains(v4.expires), "X-Amz-Expires \(v4.expires) from \(text.debugDescription)")
            fuzzCheck(
                (HTTPDate.earliest...HTTPDate.latest).contains(v4.requestTime),
                "X-Amz-Date \(v4.requestTime) from \(text.debugDescription)"
            )
            fuzzCheck(v4.credential.signedHeaders.contains("host"), "signed headers without host from \(text.debugDescription)")
            fuzzCheck(
                v4.credential.signature.utf8.count == 64 && v4.credential.signature.utf8.allSatisfy { PercentEncoding.hexValue($0) != nil },
                "signature \(v4.credential.signature.debugDescription)"
            )
            fuzzCheck(!v4.credential.accessKey.isEmpty, "empty access key from \(text.debugDescription)")
            // The expiry instant must be computable without overflow, as the server computes it.
            let (_, overflow) = v4.requestTime.addingReportingOverflow(v4.expires)
            fuzzCheck(!overflow, "X-Amz-Date + X-Amz-Expires overflows")
            _ = v4.credential.scope
        }
        if let v2 = try? PresignedV2.parse(query) {
            fuzzCheck((0...HTTPDate.latest).contains(v2.expires), "Expires \(v2.expires) from \(text.debugDescription)")
            _ = HTTPDate.rfc1123(seconds: v2.expires)
        }
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
