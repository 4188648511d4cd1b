import Foundation
import Testing

@testable import S3Protocol

/// Client-chosen numbers, names and signature parameters: bounded values or S3's error, never a trap.
@Suite struct ClientNumberTests {
    @Test func decimalNumbersAreDigitsWithinBounds() {
        #expect(DecimalNumber.parse("0", in: 0...10) == 0)
        #expect(DecimalNumber.parse("0010", in: 0...10) == 10)
        #expect(DecimalNumber.parse("9223372036854775807", in: 0...Int64.max) == Int64.max)
        for text in ["", "-1", "+1", " 1", "1 ", "1e3", "0x10", "9223372036854775808", "99999999999999999999999", "11"] {
            #expect(DecimalNumber.parse(text, in: 0...10) == nil, "\(text)")
        }
    }

    @Test func httpDatesOutsideYearsZeroToNineThousandAreRefused() {
        for text in [
            "Wed, 21 Oct 9999999999999 07:28:00 GMT", "Wed, 21 Oct -9999999999 07:28:00 GMT", "Wed, 21 Oct 10000 07:28:00 GMT",
            "99999999T999999Z", "Wed, 99 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 99:28:00 GMT",
        ] {
            #expect(HTTPDate.parse(text) == nil, "\(text)")
        }
        #expect(HTTPDate.parse("Fri, 31 Dec 9999 23:59:59 GMT") == HTTPDate.latest)
        #expect(HTTPDate.parse("Sat, 01 Jan 0000 00:00:00 GMT") == HTTPDate.earliest)
    }

    @Test func formattingClampsAnyInstant() {
        #expect(HTTPDate.iso8601(seconds: Int64.min) == "0000-01-01T00:00:00.000Z")
        #expect(HTTPDate.iso8601(seconds: Int64.max) == "9999-12-31T23:59:59.000Z")
        #expect(HTTPDate.rfc1123(seconds: Int64.max).hasSuffix("9999 23:59:59 GMT"))
        #expect(HTTPDate.rfc1123(seconds: 1_445_412_480) == "Wed, 21 Oct 2015 07:28:00 GMT")
    }

    @Test func presignedV2ExpiresIsBounded() throws {
        for expires in ["-9223372036854775808", "9223372036854775807", "99999999999999999999", "abc", "-1"] {
            let q = try QueryParameters(raw: "AWSAccessKeyId=AK&Signature=x&Expires=\(expires)")
            #expect(throws: S3Error.self) { try PresignedV2.parse(q) }
        }
        let ok = try PresignedV2.parse(try QueryParameters(raw: "AWSAccessKeyId=AK&Signature=x&Expires=1700000000"))
        #expect(ok.expires == 1_700_000_000)
    }

    @Test func presignedV4RequiresHostAndBoundedExpiry() throws {
        let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z"
        let signature = String(repeating: "a", count: 64)
        let good = try PresignedV4.parse(
            try QueryParameters(raw: Substring(base + "&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=\(signature)"))
        )
        #expect(good.expires == 60)
        #expect(good.credential.accessKey == "AK")
        for tail in [
            "&X-Amz-Expires=-9223372036854775808&X-Amz-SignedHeaders=host", "&X-Amz-Expires=9223372036854775807&X-Amz-SignedHeaders=host",
            "&X-Amz-Expires=604801&X-Amz-SignedHeaders=host", "&X-Amz-Expires=60&X-Amz-SignedHeaders=x-amz-date",
        ] {
            #expect(throws: S3Error.self) {
                try PresignedV4.parse(try QueryParameters(raw: Substring(base + tail + "&X-Amz-Signature=\(signature)")))
            }
        }
        let farFuture = base.replacingOccurrences(of: "20260101T000000Z", with: "99999999T999999Z")
        #expect(throws: S3Error.self) {
            try PresignedV4.parse(
                try QueryParameters(raw: Substring(farFuture + "&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=\(signature)"))
            )
        }
    }

    @Test func awsChunkedSizesAndTrailersAreBounded() throws {
        for header in ["ffffffffffffffffff\r\n", "-1\r\n", "+5\r\n", "\r\n", "12345678901234567\r\n"] {
            var decoder = AWSChunkedDecoder()
            #expect(throws: S3Error.self) {
                try Array(header.utf8).withUnsafeBytes { raw in try decoder.feed(raw) { (_: UnsafeRawBufferPointer) in } }
            }
        }
        var body = "0\r\n"
        for i in 0..<100 { body += "x-amz-meta-\(i): v\r\n" }
        var decoder = AWSChunkedDecoder()
        #expect(throws: S3Error.self) {
            try Array(body.utf8).withUnsafeBytes { raw in try decoder.feed(raw) { (_: UnsafeRawBufferPointer) in } }
        }
    }
}

/// Keys and bucket names are bytes: a combining mark cannot hide a separator, and NFC/NFD spellings differ.
@Suite struct ByteNameTests {
    @Test func combiningMarkAfterSlashStillSplits() {
        for key in ["../\u{301}evil", "a/../\u{301}evil", "./\u{301}x", "a//\u{301}b"] {
            #expect(throws: S3Error.self, "\(key)") { try ObjectKey.validate(key) }
        }
        // Escaped, the `..` segment is a name inside its directory.
        #expect(ObjectKey.segments("../\u{301}evil").directories == [".strata.k.%2E%2E"])
        for key in ["../\u{301}evil", "a//\u{301}b", ".strata.uploads/x"] {
            #expect((try? ObjectKey.validate(key, escapesSegments: true)) != nil, "\(key)")
        }
        #expect(ObjectKey.segment(ofEntry: Array(".strata.k.%2E%2E".utf8)) == Array("..".utf8))
        #expect(ObjectKey.segment(ofEntry: Array(".strata.tmp.x".utf8)) == nil)
        #expect(ObjectKey.fileSegments("d/").leaf == ".strata.k.")
        #expect(ObjectKey.segments("a/b/").directories == ["a"])
        #expect(ObjectKey.segments("a/b/").leaf == "b")
        #expect((try? ObjectKey.validate("..\u{301}/x")) != nil)  // `..́` is an ordinary name
    }

    @Test func bucketSegmentsSplitOnBytes() {
        #expect(!BucketName.isSafePath(".\u{301}hidden"))
        #expect(!BucketName.isSafePath("a:.\u{301}b"))
        #expect(BucketName.relativePath("a:\u{301}b") == "a/\u{301}b")
        #expect(!"caf\u{E9}".bytesEqual("cafe\u{301}"))
        #expect(["caf\u{E9}": 1].valueForBytes("cafe\u{301}") == nil)
        #expect(["caf\u{E9}": 1].valueForBytes("caf\u{E9}") == 1)
    }

    @Test func targetSplitsOnTheSlashByte() throws {
        let target = try S3Target(rawTarget: "/b/\u{301}k")
        #expect(target.bucket == "b")
        #expect(target.key == "\u{301}k")
    }

    @Test func copySourceParsesBucketAndKey() throws {
        let source = try CopySource(header: "/src/a%2Fb%20c?versionId=null")
        #expect(source.bucket == "src")
        #expect(source.key == "a/b c")
        for header in ["", "/", "bucket", "bucket/", "/bucket/../x", "b/k?versionId=123"] {
            #expect(throws: S3Error.self, "\(header)") { try CopySource(header: header) }
        }
        #expect(try CopySourceRange.parse("bytes=0-9") == 0...9)
        for header in ["bytes=5-1", "bytes=-5", "bytes=5-", "bytes=9223372036854775808-9223372036854775809"] {
            #expect(throws: S3Error.self, "\(header)") { try CopySourceRange.parse(header) }
        }
    }
}

/// Every x-amz-* header must be signed.
@Suite struct SignatureCoverageTests {
    @Test func findsUnsignedAmzHeaders() {
        let names = ["Host", "X-Amz-Copy-Source", "x-amz-date", "x-amz-content-sha256", "Content-Type", "x-amz-meta-a"]
        #expect(SignatureCoverage.unsignedAmzHeaders(names, signed: ["host", "x-amz-meta-a"]) == ["x-amz-copy-source"])
        #expect(SignatureCoverage.unsignedAmzHeaders(names, signed: ["host", "x-amz-copy-source", "x-amz-meta-a"]).isEmpty)
    }
}

/// Inputs the fuzzers found: each once broke an invariant of a parser.
@Suite struct FuzzFindingTests {
    @Test func queryAndTargetSplitOnBytes() throws {
        let query = try QueryParameters(raw: "a=1&\u{301}b=2")
        #expect(query.items.count == 2)
        #expect(query["a"] == "1")
        let target = try S3Target(rawTarget: "/b/k?\u{301}uploads")
        #expect(target.key == "k")
        #expect(target.query.items.first?.name == "\u{301}uploads")
        #expect(!target.query.has("uploads"))
    }

    @Test func leapSecondOfTheLastYearIsOutOfRange() {
        #expect(HTTPDate.parse("Fri, 31 Dec 9999 23:59:60 GMT") == nil)
        #expect(SigV4.parseAmzDate("99991231T235960Z") == nil)
    }

    @Test func onlyASCIIDigitsAndHex() {
        #expect(throws: S3Error.self) { try SigV4Credential.parseScope("AK/٢٠٢٦٠١٠١/us-east-1/s3/aws4_request") }
        let fullwidth = String(repeating: "ａ", count: 64)
        let header = "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=\(fullwidth)"
        #expect(throws: S3Error.self) { try SigV4Credential.parse(authorization: header) }
    }

    @Test func continuationTokensKeepEveryByte() {
        let key = "\u{FEFF}photos"
        #expect(ContinuationToken.decode(ContinuationToken.encode(key))?.bytesEqual(key) == true)
    }
}
