import FuzzSupport
import S3Protocol

/// SigV4 (and V2) header handling: SigV4Credential.parse(authorization:), parseScope, SigV2Authorization,
/// x-amz-date, the canonical request and string to sign over fuzzed headers, which x-amz-* headers are left
/// unsigned, SimpleIdentity.user and SigV2.stringToSign.
/// Layout, lines separated by LF: authorization, method, path, raw query, then `name:value` headers.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var input = FuzzReader(fuzzBytes(start, count))
    let authorization = String(decoding: input.field(separator: 0x0A), as: UTF8.self)
    let method = String(decoding: input.field(separator: 0x0A), as: UTF8.self)
    let path = String(decoding: input.field(separator: 0x0A), as: UTF8.self)
    let rawQuery = String(decoding: input.field(separator: 0x0A), as: UTF8.self)
    var headers: [(name: String, value: String)] = []
    while !input.isAtEnd {
        let line = input.field(separator: 0x0A)
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            headers.append((String(decoding: line[..<colon], as: UTF8.self), String(decoding: line[(colon + 1)...], as: UTF8.self)))
        } else {
            headers.append((String(decoding: line, as: UTF8.self), ""))
        }
    }
    let query = (try? QueryParameters(raw: Substring(rawQuery))) ?? QueryParameters()

    _ = try? SigV4Credential.parseScope(authorization)
    if let v2 = try? SigV2Authorization.parse(header: authorization) {
        fuzzCheck(!v2.accessKey.isEmpty && !v2.signature.isEmpty, "SigV2 \(authorization.debugDescription) gave \(v2)")
    }
    _ = try? SimpleIdentity.user(authorization: authorization, query: query)
    _ = try? SimpleIdentity.user(authorization: nil, query: query)

    let credential = try? SigV4Credential.parse(authorization: authorization)
    if let credential {
        fuzzCheck(credential.signature.utf8.count == 64, "signature \(credential.signature.debugDescription) from \(authorization.debugDescription)")
        fuzzCheck(!credential.accessKey.isEmpty, "empty access key from \(authorization.debugDescription)")
        fuzzCheck(
            credential.signature.utf8.allSatisfy { PercentEncoding.hexValue($0) != nil },
            "signature not ASCII hex: \(credential.signature.debugDescription) from \(authorization.debugDescription)"
        )
        fuzzCheck(
            credential.date.utf8.count == 8 && credential.date.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 },
            "credential date not 8 ASCII digits: \(credential.date.debugDescription) from \(authorization.debugDescription)"
        )
        // The scope we print must parse back to the same parts.
        let again = try? SigV4Credential.parseScope("\(credential.accessKey)/\(credential.scope)")
        fuzzCheck(
            again.map { $0 == (credential.accessKey, credential.date, credential.region, credential.service) } ?? false,
            "scope of \(authorization.debugDescription) does not parse back"
        )
    }
    let signedHeaders = credential?.signedHeaders ?? headers.map { $0.name.lowercased() }
    let unsigned = SignatureCoverage.unsignedAmzHeaders(headers.map(\.name), signed: signedHeaders)
    for name in unsigned {
        fuzzCheck(name.hasPrefix("x-amz-") && !signedHeaders.contains(name), "\(name.debugDescription) reported unsigned among \(signedHeaders)")
    }
    if !unsigned.isEmpty { _ = SignatureCoverage.unsignedHeadersError(unsigned) }
    let payloadHash = headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value ?? SigV4.unsignedPayload
    let canonical = SigV4.canonicalRequest(
        method: method,
        path: path,
        query: query.items,
        headers: headers,
        signedHeaders: signedHeaders,
        payloadHash: payloadHash
    )
    let scope = credential?.scope ?? "20130524/us-east-1/s3/aws4_request"
    let amzDate = headers.first { $0.name.lowercased() == "x-amz-date" }?.value ?? "20130524T000000Z"
    if let t = SigV4.parseAmzDate(amzDate) {
        fuzzCheck((HTTPDate.earliest...HTTPDate.latest).contains(t), "x-amz-date \(amzDate.debugDescription) = \(t)")
    }
    let stringToSign = SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical)
    let key = SigV4.signingKey(
        secret: credential?.accessKey ?? path,
        date: credential?.date ?? "20130524",
        region: credential?.region ?? "us-east-1",
        service: credential?.service ?? "s3"
    )
    let signature = SigV4.signature(key: key, stringToSign: stringToSign)
    _ = SigV4.constantTimeEquals(signature, credential?.signature ?? authorization)
    _ = SigV4.chunkStringToSign(amzDate: amzDate, scope: scope, previousSignature: signature, chunkHash: SigV4.emptySHA256)
    _ = SigV4.uriEncode(path, encodeSlash: true)

    let v2 = SigV2.stringToSign(
        method: method,
        contentMD5: headers.first { $0.name.lowercased() == "content-md5" }?.value ?? "",
        contentType: headers.first { $0.name.lowercased() == "content-type" }?.value ?? "",
        dateOrExpires: amzDate,
        headers: headers,
        rawPath: path,
        query: query.items
    )
    _ = SigV2.signature(secret: rawQuery, stringToSign: v2)
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
