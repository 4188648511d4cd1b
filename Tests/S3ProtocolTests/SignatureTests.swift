import Testing

@testable import S3Protocol

/// AWS's published Signature Version 4 examples for S3 (and the classic Signature Version 2 example).
@Suite struct SigV4VectorTests {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    let amzDate = "20130524T000000Z"
    let scope = "20130524/us-east-1/s3/aws4_request"
    var key: [UInt8] { SigV4.signingKey(secret: secret, date: "20130524", region: "us-east-1", service: "s3") }

    func sign(_ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)], payloadHash: String) -> String {
        let signed = headers.map { $0.0.lowercased() }.sorted()
        let canonical = SigV4.canonicalRequest(
            method: method,
            path: path,
            query: query.map { (name: $0.0, value: $0.1) },
            headers: headers.map { (name: $0.0, value: $0.1) },
            signedHeaders: signed,
            payloadHash: payloadHash
        )
        return SigV4.signature(key: key, stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
    }

    @Test func getObject() {
        let sig = sign(
            "GET",
            "/test.txt",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", SigV4.emptySHA256),
                ("x-amz-date", amzDate),
            ],
            payloadHash: SigV4.emptySHA256
        )
        #expect(sig == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func putObject() {
        let payload = SigV4.sha256Hex(Array("Welcome to Amazon S3.".utf8))
        #expect(payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let sig = sign(
            "PUT",
            "/test$file.text",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-date", amzDate),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("x-amz-content-sha256", payload),
            ],
            payloadHash: payload
        )
        #expect(sig == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func getBucketLifecycle() {
        let sig = sign(
            "GET",
            "/",
            query: [("lifecycle", "")],
            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", amzDate), ("x-amz-content-sha256", SigV4.emptySHA256)],
            payloadHash: SigV4.emptySHA256
        )
        #expect(sig == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func listObjects() {
        let sig = sign(
            "GET",
            "/",
            query: [("max-keys", "2"), ("prefix", "J")],
            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", amzDate), ("x-amz-content-sha256", SigV4.emptySHA256)],
            payloadHash: SigV4.emptySHA256
        )
        #expect(sig == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func presignedGet() {
        let query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", amzDate), ("X-Amz-Expires", "86400"), ("X-Amz-SignedHeaders", "host"),
        ]
        let sig = sign("GET", "/test.txt", query: query, headers: [("Host", "examplebucket.s3.amazonaws.com")], payloadHash: SigV4.unsignedPayload)
        #expect(sig == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func chunkedUploadChain() {
        let seed = sign(
            "PUT",
            "/examplebucket/chunkObject.txt",
            headers: [
                ("Host", "s3.amazonaws.com"), ("x-amz-date", amzDate), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824"),
                ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ],
            payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        )
        #expect(seed == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        var previous = seed
        let expected = [
            (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
            (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
            (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
        ]
        for (size, signature) in expected {
            let hash = SigV4.sha256Hex([UInt8](repeating: UInt8(ascii: "a"), count: size))
            let next = SigV4.signature(
                key: key,
                stringToSign: SigV4.chunkStringToSign(amzDate: amzDate, scope: scope, previousSignature: previous, chunkHash: hash)
            )
            #expect(next == signature)
            previous = next
        }
    }

    @Test func parsesAuthorizationHeaders() throws {
        let header =
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, "
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        let parsed = try SigV4Credential.parse(authorization: header)
        #expect(parsed.accessKey == "AKIAIOSFODNN7EXAMPLE")
        #expect(parsed.scope == scope)
        #expect(parsed.signedHeaders == ["host", "range", "x-amz-date"])
        for bad in [
            "AWS4-HMAC-SHA256 Credential=AK/2013/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=\(String(repeating: "0", count: 64))",
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, Signature=\(String(repeating: "0", count: 64))",
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=zz",
            "AWS4-HMAC-SHA1 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        ] {
            #expect(throws: S3Error.self, "\(bad)") { try SigV4Credential.parse(authorization: bad) }
        }
    }

    @Test func sigV2Example() {
        let toSign = SigV2.stringToSign(
            method: "GET",
            contentMD5: "",
            contentType: "",
            dateOrExpires: "Tue, 27 Mar 2007 19:36:42 +0000",
            headers: [],
            rawPath: "/johnsmith/photos/puppy.jpg",
            query: []
        )
        #expect(SigV2.signature(secret: secret, stringToSign: toSign) == "bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
    }

    @Test func constantTimeComparison() {
        #expect(SigV4.constantTimeEquals("abc", "abc"))
        #expect(!SigV4.constantTimeEquals("abc", "abd"))
        #expect(!SigV4.constantTimeEquals("abc", "ab"))
    }
}
