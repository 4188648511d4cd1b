import Testing

@testable import S3Protocol

/// The arguments each action is parsed into, from requests as AWS's API reference shows them, and the errors
/// bad arguments get.
@Suite struct RequestArgumentTests {
    func parse(_ method: String, _ rawTarget: String, _ headers: [String: String] = [:]) throws(S3Error) -> S3Action {
        let target = try S3Target(rawTarget: rawTarget)
        let operation = S3Router.route(method: method, target: target, hasCopySource: headers["x-amz-copy-source"] != nil)
        return try S3Request.parse(operation: operation, target: target, header: { headers[$0] }, isReservedKey: { $0.hasPrefix(".strata") })
            .action
    }

    @Test func objectReads() throws {
        guard case .getObject(let read) = try parse("GET", "/examplebucket/my-image.jpg?partNumber=2", ["if-match": "\"abc\""]) else {
            Issue.record("not a GetObject")
            return
        }
        #expect(read.object == ObjectAddress(bucket: "examplebucket", key: "my-image.jpg"))
        #expect(read.partNumber == 2)
        #expect(read.conditions.ifMatch == "\"abc\"")
        guard case .headObject(let head) = try parse("HEAD", "/b/k", ["range": "bytes=0-9"]) else {
            Issue.record("not a HeadObject")
            return
        }
        #expect(head.range == .closed(first: 0, last: 9))
        #expect(head.partNumber == nil)
    }

    @Test func versionIDsAreCheckedAndOnlyTakenWhereTheVersionIsServed() throws {
        guard case .getObject(let read) = try parse("GET", "/b/k?versionId=0000019adf2b3c4d5e6f7a8b") else {
            Issue.record("not a GetObject")
            return
        }
        #expect(read.versionId == "0000019adf2b3c4d5e6f7a8b")
        guard case .deleteObject(_, _, let versionId) = try parse("DELETE", "/b/k?versionId=null") else {
            Issue.record("not a DeleteObject")
            return
        }
        #expect(versionId == "null")
        func code(_ method: String, _ target: String) -> S3ErrorCode? {
            do { _ = try parse(method, target) } catch { return error.code }
            return nil
        }
        #expect(code("GET", "/b/k?versionId=..%2F..%2Fetc") == .invalidArgument)
        #expect(code("HEAD", "/b/k?versionId=") == .invalidArgument)
        // Tags and ACLs act on the current version only: a versionId is refused rather than ignored.
        #expect(code("PUT", "/b/k?tagging&versionId=null") == .notImplemented)
        #expect(code("GET", "/b/k?acl&versionId=0000019adf2b3c4d5e6f7a8b") == .notImplemented)
        #expect(code("GET", "/b/k?tagging") == nil)
    }

    @Test func listings() throws {
        guard case .listObjects(let v2) = try parse("GET", "/examplebucket?list-type=2&max-keys=3&prefix=E&start-after=ExampleGuide.pdf") else {
            Issue.record("not a ListObjectsV2")
            return
        }
        #expect(v2.version == 2 && v2.maxKeys == 3 && v2.prefix == "E" && v2.startAfter == "ExampleGuide.pdf")
        let token = ContinuationToken.encode("photos/2006/")
        guard case .listObjects(let next) = try parse("GET", "/b?list-type=2&continuation-token=\(token)&max-keys=5000") else {
            Issue.record("not a ListObjectsV2")
            return
        }
        #expect(next.startAfter == "photos/2006/" && next.maxKeys == 1000)
        guard case .listObjects(let v1) = try parse("GET", "/b?marker=Ned&delimiter=&encoding-type=url") else {
            Issue.record("not a ListObjects")
            return
        }
        #expect(v1.version == 1 && v1.startAfter == "Ned" && v1.delimiter == nil && v1.urlEncoded && v1.fetchOwner)
        guard case .listParts(let upload, let marker, let maxParts) = try parse("GET", "/b/k?uploadId=XX&max-parts=2&part-number-marker=1500")
        else {
            Issue.record("not a ListParts")
            return
        }
        #expect(upload.uploadId == "XX" && marker == 1500 && maxParts == 2)
        guard case .listMultipartUploads(let uploads) = try parse("GET", "/b?uploads&max-uploads=3&key-marker=k&upload-id-marker=u") else {
            Issue.record("not a ListMultipartUploads")
            return
        }
        #expect(uploads.maxUploads == 3 && uploads.keyMarker == "k" && uploads.uploadIdMarker == "u")
    }

    @Test func writesAndCopies() throws {
        guard case .putObject(let object, let condition) = try parse("PUT", "/b/new", ["if-none-match": "*"]) else {
            Issue.record("not a PutObject")
            return
        }
        #expect(object.key == "new" && condition == .absent)
        let copyHeaders = ["x-amz-copy-source": "/src/a%20b", "x-amz-metadata-directive": "REPLACE", "x-amz-copy-source-if-match": "e"]
        guard case .copyObject(let copy) = try parse("PUT", "/b/dst", copyHeaders) else {
            Issue.record("not a CopyObject")
            return
        }
        #expect(copy.source == CopySource(bucket: "src", key: "a b") && copy.replaceMetadata && !copy.replaceTags && copy.conditions.ifMatch == "e")
        let partCopy = ["x-amz-copy-source": "/src/k", "x-amz-copy-source-range": "bytes=0-99"]
        guard case .uploadPartCopy(let upload, let number, _, let range, _) = try parse("PUT", "/b/k?partNumber=3&uploadId=U", partCopy) else {
            Issue.record("not an UploadPartCopy")
            return
        }
        #expect(upload.uploadId == "U" && number == 3 && range == "bytes=0-99")
    }

    @Test func badArgumentsGetS3Errors() {
        let cases: [(String, String, [String: String], S3ErrorCode)] = [
            ("GET", "/b/k?partNumber=0", [:], .invalidArgument),
            ("PUT", "/b/k?partNumber=10001&uploadId=U", [:], .invalidArgument),
            ("GET", "/b?max-keys=-1", [:], .invalidArgument),
            ("GET", "/b?list-type=2&continuation-token=garbage", [:], .invalidArgument),
            ("GET", "/b?encoding-type=base64", [:], .invalidArgument),
            ("GET", "/b/k?versionId=123", [:], .invalidArgument),
            ("PUT", "/b/k", ["if-match": "a", "if-none-match": "*"], .invalidRequest),
            ("PUT", "/b/k", ["x-amz-copy-source": "/s/k", "x-amz-metadata-directive": "MERGE"], .invalidArgument),
            ("PUT", "/b/.strata.tmp.x", [:], .invalidArgument),
            ("PUT", "/b/a/../c", [:], .invalidArgument),
            ("GET", "/.hidden/k", [:], .invalidBucketName),
        ]
        for (method, target, headers, expected) in cases {
            #expect(throws: S3Error.self, "\(method) \(target)") { try parse(method, target, headers) }
            do {
                _ = try parse(method, target, headers)
            } catch {
                #expect(error.code == expected, "\(method) \(target)")
            }
        }
    }
}
