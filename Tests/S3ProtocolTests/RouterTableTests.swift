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

/// The policy table as data: each action's grant, permission check and public access, as docs/authorization.md
/// states them (AWS's action reference for which actions public canned ACLs open), one row per action.
@Suite struct PolicyTableTests {
    struct Expected: CustomStringConvertible {
        let operation: S3Operation
        let grant: AccessLevel
        let check: PathCheck
        var publicAccess: PublicAccess = .none
        var checksWhereRead = false
        var readsCopySource = false
        var servedInline = false
        var credentials: CredentialSource = .request

        var description: String { operation.name }
    }

    static let rows: [Expected] = [
        Expected(operation: .listBuckets, grant: .none, check: .none),
        Expected(operation: .createBucket, grant: .owner, check: .createBucket),
        Expected(operation: .headBucket, grant: .read, check: .listBucket, publicAccess: .listBucket),
        Expected(operation: .deleteBucket, grant: .owner, check: .deleteBucket),
        Expected(operation: .getBucketLocation, grant: .read, check: .listBucket, publicAccess: .listBucket),
        Expected(operation: .getBucketVersioning, grant: .read, check: .listBucket, publicAccess: .listBucket),
        Expected(operation: .putBucketVersioning, grant: .owner, check: .ownBucket),
        Expected(operation: .listObjectVersions, grant: .read, check: .listBucket, publicAccess: .listBucket),
        Expected(operation: .getBucketAcl, grant: .read, check: .listBucket, publicAccess: .listBucket),
        Expected(operation: .putBucketAcl, grant: .owner, check: .ownBucket),
        Expected(operation: .listObjects, grant: .read, check: .listBucket, publicAccess: .listBucket),
        Expected(operation: .listObjectsV2, grant: .read, check: .listBucket, publicAccess: .listBucket),
        Expected(operation: .deleteObjects, grant: .write, check: .listBucket, publicAccess: .writeBucket),
        Expected(operation: .getBucketTagging, grant: .read, check: .listBucket, publicAccess: .listBucket),
        Expected(operation: .putBucketTagging, grant: .owner, check: .ownBucket),
        Expected(operation: .deleteBucketTagging, grant: .owner, check: .ownBucket),
        Expected(operation: .getBucketCors, grant: .owner, check: .ownBucket),
        Expected(operation: .putBucketCors, grant: .owner, check: .ownBucket),
        Expected(operation: .deleteBucketCors, grant: .owner, check: .ownBucket),
        Expected(operation: .getBucketWebsite, grant: .owner, check: .ownBucket),
        Expected(operation: .putBucketWebsite, grant: .owner, check: .ownBucket),
        Expected(operation: .deleteBucketWebsite, grant: .owner, check: .ownBucket),
        Expected(operation: .preflight, grant: .none, check: .none, credentials: .none),
        Expected(operation: .listMultipartUploads, grant: .read, check: .listBucket),
        Expected(operation: .putObject, grant: .write, check: .writeObject, publicAccess: .writeBucket),
        Expected(operation: .postObject, grant: .write, check: .writeObject, publicAccess: .writeBucket, credentials: .form),
        Expected(operation: .copyObject, grant: .write, check: .writeObject, publicAccess: .writeBucket, readsCopySource: true),
        Expected(
            operation: .getObject,
            grant: .read,
            check: .readObject,
            publicAccess: .readObject,
            checksWhereRead: true,
            servedInline: true
        ),
        Expected(
            operation: .headObject,
            grant: .read,
            check: .readObject,
            publicAccess: .readObject,
            checksWhereRead: true,
            servedInline: true
        ),
        Expected(operation: .deleteObject, grant: .write, check: .writeObject, publicAccess: .writeBucket),
        Expected(operation: .getObjectAcl, grant: .read, check: .readObject),
        Expected(operation: .putObjectAcl, grant: .write, check: .ownObject),
        Expected(operation: .getObjectTagging, grant: .read, check: .readObject),
        Expected(operation: .getObjectAttributes, grant: .read, check: .readObject, publicAccess: .readObject, checksWhereRead: true),
        Expected(operation: .putObjectTagging, grant: .write, check: .writeObject),
        Expected(operation: .deleteObjectTagging, grant: .write, check: .writeObject),
        Expected(operation: .createMultipartUpload, grant: .write, check: .writeObject, publicAccess: .writeBucket),
        Expected(operation: .uploadPart, grant: .write, check: .writeObject, publicAccess: .writeBucket),
        Expected(operation: .uploadPartCopy, grant: .write, check: .writeObject, publicAccess: .writeBucket, readsCopySource: true),
        Expected(operation: .completeMultipartUpload, grant: .write, check: .writeObject, publicAccess: .writeBucket),
        Expected(operation: .abortMultipartUpload, grant: .write, check: .writeObject, publicAccess: .writeBucket),
        Expected(operation: .listParts, grant: .read, check: .uploadInitiator),
        Expected(operation: .notImplemented("GetBucketReplication"), grant: .none, check: .none),
    ]

    @Test(arguments: rows)
    func policy(_ row: Expected) {
        let policy = row.operation.policy
        #expect(policy.grant == row.grant)
        #expect(policy.check == row.check)
        #expect(policy.publicAccess == row.publicAccess)
        #expect(policy.checksWhereRead == row.checksWhereRead)
        #expect(policy.readsCopySource == row.readsCopySource)
        #expect(policy.servedInline == row.servedInline)
        #expect(policy.credentials == row.credentials)
    }

    /// Every action the router reaches has a row, and only reads are checked where the object is read.
    @Test func everyRoutedActionHasARow() {
        let covered = Set(Self.rows.map(\.operation.name))
        for row in RouterTableTests.rows {
            if case .notImplemented = row.operation { continue }
            #expect(covered.contains(row.operation.name), "\(row.operation.name)")
        }
        for row in Self.rows where row.checksWhereRead { #expect(row.check == .readObject) }
    }

    /// What each action touches: the addressed bucket and key (with its version), and a copy source as a read of the
    /// exact version named, under the source bucket's own grant.
    @Test func resourcesNameEveryBucketAndKeyTouched() throws {
        func action(_ method: String, _ target: String, copySource: String? = nil) throws -> S3Action {
            let parsed = try S3Target(rawTarget: target)
            let operation = S3Router.route(method: method, target: parsed, hasCopySource: copySource != nil)
            return try S3Request.parse(
                operation: operation,
                target: parsed,
                header: { $0 == "x-amz-copy-source" ? copySource : nil },
                isReservedKey: { _ in false }
            ).action
        }
        let copy = try action("PUT", "/dst/new", copySource: "/src/old?versionId=0000019adf2b3c4d5e6f7a8b")
        #expect(copy.resources.map(\.role) == [.target, .copySource])
        let source = copy.resources[1]
        #expect(source.bucket == "src" && source.key == "old" && source.versionId == "0000019adf2b3c4d5e6f7a8b")
        #expect(source.grant == .read && source.check == .readObject && source.checksWhereRead && source.publicAccess == .readObject)
        let partCopy = try action("PUT", "/dst/new?partNumber=1&uploadId=U1", copySource: "/src/old")
        #expect(partCopy.resources.map(\.bucket) == ["dst", "src"] && partCopy.resources[0].uploadId == "U1")
        let versionRead = try action("GET", "/b/k?versionId=0000019adf2b3c4d5e6f7a8b")
        #expect(versionRead.resources.first?.versionId == "0000019adf2b3c4d5e6f7a8b")
        #expect(try action("GET", "/").resources.isEmpty)
        #expect(try action("GET", "/b?uploads").resources.map(\.check) == [.listBucket])
        #expect(try action("GET", "/b/k?uploadId=U2").resources.first?.uploadId == "U2")
    }
}
