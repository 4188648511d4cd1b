import Testing

@testable import S3Protocol

@Suite struct ByteRangeTests {
    @Test func parsesTheThreeForms() {
        #expect(ByteRangeSpec.parse("bytes=100-200") == .closed(first: 100, last: 200))
        #expect(ByteRangeSpec.parse("bytes=100-") == .from(first: 100))
        #expect(ByteRangeSpec.parse("bytes=-200") == .suffix(length: 200))
    }

    @Test func ignoresWhatS3Ignores() {
        for header in ["bytes=100", "bytes=100-1", "items=0-1", "bytes=0-1,2-3", "bytes=a-b", "bytes=-", "bytes=1 -2"] {
            #expect(ByteRangeSpec.parse(header) == nil, "\(header)")
        }
    }

    @Test func resolvesAgainstSize() {
        #expect(ByteRangeSpec.closed(first: 100, last: 200).resolve(size: 1000) == 100...200)
        #expect(ByteRangeSpec.closed(first: 100, last: 200).resolve(size: 150) == 100...149)
        #expect(ByteRangeSpec.closed(first: 100, last: 200).resolve(size: 100) == nil)
        #expect(ByteRangeSpec.from(first: 150).resolve(size: 150) == nil)
        #expect(ByteRangeSpec.suffix(length: 200).resolve(size: 1000) == 800...999)
        #expect(ByteRangeSpec.suffix(length: 200).resolve(size: 100) == 0...99)
        #expect(ByteRangeSpec.suffix(length: 0).resolve(size: 100) == nil)
        #expect(ByteRangeSpec.from(first: 0).resolve(size: 0) == nil)
    }
}

@Suite struct NameTests {
    @Test func awsBucketRules() {
        for good in ["abc", "my-bucket", "my.bucket.name", "a1b2c3", String(repeating: "a", count: 63), "a--b"] {
            #expect(BucketName.isValidAWS(good), "\(good)")
        }
        for bad in [
            "ab", "ABC", "a_b", "-ab", "ab-", "a..b", "a.-b", "a-.b", "192.168.1.1", "xn--ab", "ab-s3alias", String(repeating: "a", count: 64),
        ] {
            #expect(!BucketName.isValidAWS(bad), "\(bad)")
        }
    }

    @Test func nestedBucketsMapToDirectories() throws {
        #expect(BucketName.relativePath("a:b:c") == "a/b/c")
        try BucketName.validate("abc:def", strict: true)
        #expect(throws: S3Error.self) { try BucketName.validate("abc::def", strict: false) }
        #expect(throws: S3Error.self) { try BucketName.validate("..", strict: false) }
        #expect(throws: S3Error.self) { try BucketName.validate(".strata", strict: false) }
        #expect(throws: S3Error.self) { try BucketName.validate("a/b", strict: false) }
    }

    @Test func keyValidation() throws {
        try ObjectKey.validate("a/b/c.txt")
        try ObjectKey.validate("dir/")
        try ObjectKey.validate("spaces and ünïcødé")
        for bad in ["", "/lead", "a//b", "a/./b", "a/../b", "..", "nul\u{0}byte"] {
            #expect(throws: S3Error.self, "\(bad)") { try ObjectKey.validate(bad) }
        }
        #expect(throws: S3Error(.keyTooLong, "Your key is too long")) {
            try ObjectKey.validate(String(repeating: "k", count: 1025))
        }
        #expect(throws: S3Error.self) { try ObjectKey.validate(String(repeating: "c", count: 256)) }
        #expect(throws: S3Error.self) { try ObjectKey.validate("a/.tmp.x", isReserved: { $0.hasPrefix(".tmp.") }) }
    }
}

@Suite struct TargetAndRouterTests {
    @Test func splitsPathStyleTargets() throws {
        let t = try S3Target(rawTarget: "/bucket/dir/a%20b%2Bc?list-type=2&prefix=x%2Fy&delimiter=")
        #expect(t.bucket == "bucket")
        #expect(t.key == "dir/a b+c")
        #expect(t.query["prefix"] == "x/y")
        #expect(t.query["delimiter"] == "")
        let alluxio = try S3Target(rawTarget: "/api/v1/s3/bucket/key")
        #expect(alluxio.bucket == "bucket" && alluxio.key == "key")
        let root = try S3Target(rawTarget: "/")
        #expect(root.bucket == nil)
        let bucketOnly = try S3Target(rawTarget: "/bucket/")
        #expect(bucketOnly.bucket == "bucket" && bucketOnly.key == nil)
        #expect(throws: S3Error.self) { try S3Target(rawTarget: "/bucket/%ZZ") }
        #expect(throws: S3Error.self) { try S3Target(rawTarget: "/bucket/%FF%FE") }
    }

    @Test func routesByMethodQueryAndHeaders() throws {
        func op(_ method: String, _ target: String, copy: Bool = false) throws -> S3Operation {
            S3Router.route(method: method, target: try S3Target(rawTarget: target), hasCopySource: copy)
        }
        #expect(try op("GET", "/") == .listBuckets)
        #expect(try op("GET", "/b") == .listObjects)
        #expect(try op("GET", "/b?list-type=2") == .listObjectsV2)
        #expect(try op("GET", "/b?uploads") == .listMultipartUploads)
        #expect(try op("POST", "/b?delete") == .deleteObjects)
        #expect(try op("PUT", "/b") == .createBucket)
        #expect(try op("PUT", "/b/k") == .putObject)
        #expect(try op("PUT", "/b/k", copy: true) == .copyObject)
        #expect(try op("PUT", "/b/k?partNumber=1&uploadId=x") == .uploadPart)
        #expect(try op("PUT", "/b/k?partNumber=1&uploadId=x", copy: true) == .uploadPartCopy)
        #expect(try op("POST", "/b/k?uploads") == .createMultipartUpload)
        #expect(try op("POST", "/b/k?uploadId=x") == .completeMultipartUpload)
        #expect(try op("DELETE", "/b/k?uploadId=x") == .abortMultipartUpload)
        #expect(try op("GET", "/b/k?tagging") == .getObjectTagging)
        #expect(try op("GET", "/b?policy") == .notImplemented("GetBucketPolicy"))
        #expect(try op("PUT", "/b/k?retention") == .notImplemented("PutObjectRetention"))
    }
}

@Suite struct XMLTests {
    @Test func parsesS3Documents() throws {
        let doc = try XMLDocument.parse(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>
              <Object><Key>a&amp;b &lt;c&gt; &#x41;&#66;</Key></Object><!-- comment -->
              <Object><Key><![CDATA[raw <text>]]></Key><VersionId/></Object>
            </Delete>
            """
        )
        #expect(doc.name == "Delete")
        #expect(doc.child("Quiet")?.text == "true")
        #expect(doc.children("Object").map { $0.child("Key")?.text } == ["a&b <c> AB", "raw <text>"])
    }

    @Test func refusesDTDsAndBrokenDocuments() {
        for bad in [
            "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>", "<a><b></a></b>", "<a>", "text", "<a>&unknown;</a>", "<a></a><b></b>",
            "<a>&#0;</a>",
        ] {
            #expect(throws: S3Error(.malformedXML), "\(bad)") { try XMLDocument.parse(bad) }
        }
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: S3Error(.malformedXML)) { try XMLDocument.parse(deep) }
    }

    @Test func writerEscapes() {
        var xml = XMLWriter(root: "R", namespace: nil)
        xml.element("K", "a<b>&\"c'\u{1}")
        #expect(xml.finish() == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<R><K>a&lt;b&gt;&amp;&quot;c&apos;</K></R>")
    }
}

@Suite struct DateAndConditionTests {
    @Test func formatsAndParsesHTTPDates() {
        #expect(HTTPDate.rfc1123(seconds: 1_445_412_480) == "Wed, 21 Oct 2015 07:28:00 GMT")
        #expect(HTTPDate.iso8601(seconds: 1_445_412_480, milliseconds: 7) == "2015-10-21T07:28:00.007Z")
        #expect(HTTPDate.parse("Wed, 21 Oct 2015 07:28:00 GMT") == 1_445_412_480)
        #expect(HTTPDate.parse("Wednesday, 21-Oct-15 07:28:00 GMT") == 1_445_412_480)
        #expect(HTTPDate.parse("Wed Oct 21 07:28:00 2015") == 1_445_412_480)
        #expect(HTTPDate.parse("2015-10-21T07:28:00.000Z") == 1_445_412_480)
        #expect(HTTPDate.parse("20151021T072800Z") == 1_445_412_480)
        #expect(HTTPDate.parse("yesterday") == nil)
        #expect(HTTPDate.rfc1123(seconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }

    @Test func conditionsFollowAWSPrecedence() {
        let etag = "abc"
        #expect(Conditions(ifMatch: "\"abc\"").evaluate(etag: etag, lastModified: 100) == .proceed)
        #expect(Conditions(ifMatch: "\"x\", \"abc\"").evaluate(etag: etag, lastModified: 100) == .proceed)
        #expect(Conditions(ifMatch: "*").evaluate(etag: etag, lastModified: 100) == .proceed)
        #expect(Conditions(ifMatch: "\"x\"").evaluate(etag: etag, lastModified: 100) == .preconditionFailed)
        #expect(Conditions(ifNoneMatch: "W/\"abc\"").evaluate(etag: etag, lastModified: 100) == .notModified)
        let old = HTTPDate.rfc1123(seconds: 50)
        let new = HTTPDate.rfc1123(seconds: 200)
        #expect(Conditions(ifMatch: "\"abc\"", ifUnmodifiedSince: old).evaluate(etag: etag, lastModified: 100) == .proceed)
        #expect(Conditions(ifUnmodifiedSince: old).evaluate(etag: etag, lastModified: 100) == .preconditionFailed)
        #expect(Conditions(ifModifiedSince: new).evaluate(etag: etag, lastModified: 100) == .notModified)
        #expect(Conditions(ifNoneMatch: "\"x\"", ifModifiedSince: new).evaluate(etag: etag, lastModified: 100) == .proceed)
        #expect(Conditions(ifModifiedSince: "garbage").evaluate(etag: etag, lastModified: 100) == .proceed)
        #expect(Conditions(ifNoneMatch: "\"abc\"").evaluateForCopySource(etag: etag, lastModified: 100) == .preconditionFailed)
    }

    @Test func simpleIdentityReadsTheAccessKey() throws {
        let none = QueryParameters()
        #expect(
            try SimpleIdentity.user(
                authorization: "AWS4-HMAC-SHA256 Credential=alice/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x",
                query: none
            ) == "alice"
        )
        #expect(try SimpleIdentity.user(authorization: "AWS bob:c2lnbmF0dXJl", query: none) == "bob")
        #expect(try SimpleIdentity.user(authorization: nil, query: none) == nil)
        let presigned = try QueryParameters(raw: "X-Amz-Credential=carol%2F20260101%2Fus-east-1%2Fs3%2Faws4_request")
        #expect(try SimpleIdentity.user(authorization: nil, query: presigned) == "carol")
        for bad in ["", "AWS4-HMAC-SHA256 Credential=nouser", "AWS4-HMAC-SHA256 Credential=/x", "AWS :sig", "Bearer token"] {
            #expect(throws: S3Error.self, "\(bad)") { try SimpleIdentity.user(authorization: bad, query: none) }
        }
    }
}

@Suite struct AWSChunkedTests {
    func decode(_ framed: String, splitEvery step: Int) throws -> (String, AWSChunkedDecoder, [AWSChunkedDecoder.Chunk]) {
        var decoder = AWSChunkedDecoder()
        var out: [UInt8] = []
        var chunks: [AWSChunkedDecoder.Chunk] = []
        var ends = 0
        let bytes = Array(framed.utf8)
        var i = 0
        while i < bytes.count {
            let piece = Array(bytes[i..<min(i + step, bytes.count)])
            try piece.withUnsafeBytes { raw in
                try decoder.feed(raw) { event in
                    switch event {
                    case .chunkStart(let chunk): chunks.append(chunk)
                    case .data(let payload): out.append(contentsOf: payload)
                    case .chunkEnd: ends += 1
                    case .trailer: break
                    }
                }
            }
            i += step
        }
        try decoder.finish()
        #expect(ends == chunks.count)
        return (String(decoding: out, as: UTF8.self), decoder, chunks)
    }

    @Test func decodesSignedChunksInAnySplit() throws {
        let sig = String(repeating: "a", count: 64)
        let framed = "5;chunk-signature=\(sig)\r\nhello\r\n6;chunk-signature=\(sig)\r\n world\r\n0;chunk-signature=\(sig)\r\n\r\n"
        for step in [1, 3, 7, 1000] {
            let (payload, decoder, chunks) = try decode(framed, splitEvery: step)
            #expect(payload == "hello world")
            #expect(decoder.chunkCount == 3)
            #expect(chunks.map(\.size) == [5, 6, 0])
            #expect(chunks.allSatisfy { $0.signature == sig })
        }
    }

    @Test func decodesUnsignedTrailers() throws {
        let framed = "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n"
        let (payload, decoder, _) = try decode(framed, splitEvery: 2)
        #expect(payload == "abc")
        #expect(decoder.trailers.map { $0.0 } == ["x-amz-checksum-crc32"])
        #expect(decoder.trailers.map { $0.1 } == ["NSRBwg=="])
    }

    @Test func rejectsBrokenFraming() {
        for bad in ["zz\r\nabc\r\n0\r\n\r\n", "3\r\nabcd\r\n0\r\n\r\n", "3;foo=bar\r\nabc\r\n0\r\n\r\n", "3\r\nabc\r\n0\r\n\r\nextra"] {
            #expect(throws: S3Error.self, "\(bad)") { _ = try decode(bad, splitEvery: 4) }
        }
        #expect(throws: S3Error.self) { _ = try decode("3\r\nabc\r\n", splitEvery: 4) }
    }
}

@Suite struct WildcardPatternTests {
    @Test func starsStandForAnyRunOfCharacters() {
        let subject = "repo:example/site:ref:refs/heads/main"
        #expect(WildcardPattern.matches(subject, subject))
        #expect(WildcardPattern.matches(subject, "repo:example/*:ref:refs/heads/main"))
        #expect(WildcardPattern.matches(subject, "*"))
        #expect(WildcardPattern.matches(subject, "repo:*:*:refs/*/main"))
        #expect(WildcardPattern.matches("", "*"))
        #expect(WildcardPattern.matches("ab", "a*b"))
        #expect(!WildcardPattern.matches("a", "a*a"))
        #expect(!WildcardPattern.matches(subject, "repo:other/*"))
        #expect(!WildcardPattern.matches(subject, "repo:example/site"))
        #expect(!WildcardPattern.matches(subject, "*:refs/heads/dev"))
        // Leftmost placement of a middle part does not lose a later match.
        #expect(WildcardPattern.matches("x-a-b-a-c", "x*a*c"))
        // Bytes, not characters: `\r\n` is one Swift character but two bytes a star may fall between.
        #expect(WildcardPattern.matches("a\r\nb", "a\r*\nb"))
        #expect(!WildcardPattern.matches("ab", "a*b*b"))
    }
}
