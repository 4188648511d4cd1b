import Testing

@testable import S3Protocol

/// Requests as AWS's API reference shows them, each with the action it must route to, the bucket and key it
/// addresses and the access it needs: one row per example, in the way Garage tests its router.
@Suite struct RouterTableTests {
    struct Row: CustomStringConvertible {
        let method: String
        let target: String
        let copySource: Bool
        let operation: S3Operation
        let bucket: String?
        let key: String?
        let access: AccessLevel

        init(
            _ method: String,
            _ target: String,
            copySource: Bool = false,
            _ operation: S3Operation,
            bucket: String? = nil,
            key: String? = nil,
            _ access: AccessLevel
        ) {
            self.method = method
            self.target = target
            self.copySource = copySource
            self.operation = operation
            self.bucket = bucket
            self.key = key
            self.access = access
        }

        var description: String { "\(method) \(target)" }
    }

    static let rows: [Row] = [
        Row("GET", "/", .listBuckets, .none),
        Row("PUT", "/examplebucket", .createBucket, bucket: "examplebucket", .owner),
        Row("HEAD", "/examplebucket", .headBucket, bucket: "examplebucket", .read),
        Row("DELETE", "/examplebucket", .deleteBucket, bucket: "examplebucket", .owner),
        Row("GET", "/examplebucket?location", .getBucketLocation, bucket: "examplebucket", .read),
        Row("GET", "/examplebucket?versioning", .getBucketVersioning, bucket: "examplebucket", .read),
        Row("PUT", "/examplebucket?versioning", .putBucketVersioning, bucket: "examplebucket", .owner),
        Row("GET", "/examplebucket?versions&prefix=photos/2006/&delimiter=/", .listObjectVersions, bucket: "examplebucket", .read),
        Row("GET", "/examplebucket/my-image.jpg?versionId=0000019adf2b3c4d5e6f7a8b", .getObject, bucket: "examplebucket", key: "my-image.jpg", .read),
        Row("DELETE", "/examplebucket/my-image.jpg?versionId=null", .deleteObject, bucket: "examplebucket", key: "my-image.jpg", .write),
        Row("GET", "/examplebucket?acl", .getBucketAcl, bucket: "examplebucket", .read),
        Row("GET", "/examplebucket?prefix=N&marker=Ned&max-keys=40", .listObjects, bucket: "examplebucket", .read),
        Row("GET", "/examplebucket?list-type=2&max-keys=3&prefix=E&start-after=ExampleGuide.pdf", .listObjectsV2, bucket: "examplebucket", .read),
        Row("POST", "/examplebucket?delete", .deleteObjects, bucket: "examplebucket", .write),
        Row("GET", "/examplebucket?tagging", .getBucketTagging, bucket: "examplebucket", .read),
        Row("PUT", "/examplebucket?tagging", .putBucketTagging, bucket: "examplebucket", .owner),
        Row("DELETE", "/examplebucket?tagging", .deleteBucketTagging, bucket: "examplebucket", .owner),
        Row("GET", "/examplebucket?uploads&max-uploads=3", .listMultipartUploads, bucket: "examplebucket", .read),
        Row("PUT", "/examplebucket/my-image.jpg", .putObject, bucket: "examplebucket", key: "my-image.jpg", .write),
        Row("PUT", "/examplebucket/my-second-image.jpg", copySource: true, .copyObject, bucket: "examplebucket", key: "my-second-image.jpg", .write),
        Row("GET", "/examplebucket/my-image.jpg", .getObject, bucket: "examplebucket", key: "my-image.jpg", .read),
        Row("GET", "/examplebucket/my-image.jpg?response-content-type=text/plain", .getObject, bucket: "examplebucket", key: "my-image.jpg", .read),
        Row("GET", "/examplebucket/my-image.jpg?partNumber=2", .getObject, bucket: "examplebucket", key: "my-image.jpg", .read),
        Row("HEAD", "/examplebucket/my-image.jpg", .headObject, bucket: "examplebucket", key: "my-image.jpg", .read),
        Row("DELETE", "/examplebucket/my-second-image.jpg", .deleteObject, bucket: "examplebucket", key: "my-second-image.jpg", .write),
        Row("GET", "/examplebucket/my-image.jpg?acl", .getObjectAcl, bucket: "examplebucket", key: "my-image.jpg", .read),
        Row("GET", "/examplebucket/doc.pdf?tagging", .getObjectTagging, bucket: "examplebucket", key: "doc.pdf", .read),
        Row("PUT", "/examplebucket/doc.pdf?tagging", .putObjectTagging, bucket: "examplebucket", key: "doc.pdf", .write),
        Row("DELETE", "/examplebucket/doc.pdf?tagging", .deleteObjectTagging, bucket: "examplebucket", key: "doc.pdf", .write),
        Row("POST", "/examplebucket/example-object?uploads", .createMultipartUpload, bucket: "examplebucket", key: "example-object", .write),
        Row(
            "PUT",
            "/examplebucket/my-movie.m2ts?partNumber=1&uploadId=VCVsb2FkIElE",
            .uploadPart,
            bucket: "examplebucket",
            key: "my-movie.m2ts",
            .write
        ),
        Row(
            "PUT",
            "/examplebucket/newobject?partNumber=2&uploadId=VXBsb2FkIElE",
            copySource: true,
            .uploadPartCopy,
            bucket: "examplebucket",
            key: "newobject",
            .write
        ),
        Row(
            "POST",
            "/examplebucket/example-object?uploadId=AAAsb2FkIElE",
            .completeMultipartUpload,
            bucket: "examplebucket",
            key: "example-object",
            .write
        ),
        Row(
            "DELETE",
            "/examplebucket/example-object?uploadId=VXBsb2FkIElE",
            .abortMultipartUpload,
            bucket: "examplebucket",
            key: "example-object",
            .write
        ),
        Row(
            "GET",
            "/examplebucket/example-object?uploadId=XXBsb2FkIElE&max-parts=2&part-number-marker=1",
            .listParts,
            bucket: "examplebucket",
            key: "example-object",
            .read
        ),
        // Alluxio's base path, nested buckets and encoded keys.
        Row("GET", "/api/v1/s3/examplebucket/a%20b/c", .getObject, bucket: "examplebucket", key: "a b/c", .read),
        Row("PUT", "/api/v1/s3/a:b:c", .createBucket, bucket: "a:b:c", .owner),
        // Actions S3 defines that Strata does not implement are named, with no access needed to be told so.
        Row("GET", "/examplebucket?website", .getBucketWebsite, bucket: "examplebucket", .owner),
        Row("PUT", "/examplebucket?website", .putBucketWebsite, bucket: "examplebucket", .owner),
        Row("DELETE", "/examplebucket?website", .deleteBucketWebsite, bucket: "examplebucket", .owner),
        Row("GET", "/examplebucket?replication", .notImplemented("GetBucketReplication"), bucket: "examplebucket", .none),
        Row("PUT", "/examplebucket?cors", .putBucketCors, bucket: "examplebucket", .owner),
        Row("GET", "/examplebucket?cors", .getBucketCors, bucket: "examplebucket", .owner),
        Row("DELETE", "/examplebucket?cors", .deleteBucketCors, bucket: "examplebucket", .owner),
        Row("OPTIONS", "/examplebucket/k", .preflight, bucket: "examplebucket", key: "k", .none),
        Row("GET", "/examplebucket/k?attributes", .getObjectAttributes, bucket: "examplebucket", key: "k", .read),
        Row("PUT", "/examplebucket/k?attributes", .notImplemented("PutObjectAttributes"), bucket: "examplebucket", key: "k", .none),
        Row("POST", "/examplebucket/k?select&select-type=2", .notImplemented("SelectObjectContent"), bucket: "examplebucket", key: "k", .none),
        Row("POST", "/examplebucket", .postObject, bucket: "examplebucket", .write),
    ]

    @Test(arguments: rows)
    func routes(_ row: Row) throws {
        let target = try S3Target(rawTarget: row.target)
        let operation = S3Router.route(method: row.method, target: target, hasCopySource: row.copySource)
        #expect(operation == row.operation)
        #expect(target.bucket == row.bucket)
        #expect(target.key == row.key)
        #expect(operation.requiredAccess == row.access)
    }

    @Test func everyImplementedOperationNeedsAccess() {
        let implemented = Self.rows.map(\.operation).filter {
            if case .notImplemented = $0 { return false }
            // ListBuckets shows each caller its own buckets; a preflight is answered from the bucket's CORS rules alone.
            return $0 != .listBuckets && $0 != .preflight
        }
        for operation in implemented { #expect(operation.requiredAccess > .none, "\(operation.name)") }
    }
}
