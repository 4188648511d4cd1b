import S3Protocol
import StrataStore

/// What an operation needs on its bucket when signatures are verified.
enum AccessLevel: Int, Comparable {
    case none = 0
    case read
    case write
    case owner

    static func < (a: AccessLevel, b: AccessLevel) -> Bool { a.rawValue < b.rawValue }

    init(_ grant: BucketGrant) {
        switch grant {
        case .read: self = .read
        case .write: self = .write
        case .owner: self = .owner
        }
    }

    static func required(for operation: S3Operation) -> AccessLevel {
        switch operation {
        case .listBuckets, .notImplemented: .none
        case .headBucket, .getBucketLocation, .getBucketVersioning, .getBucketAcl, .listObjects, .listObjectsV2, .listMultipartUploads,
            .getObject, .headObject, .getObjectAcl, .getObjectTagging, .getBucketTagging, .listParts:
            .read
        case .putObject, .copyObject, .deleteObject, .deleteObjects, .putObjectTagging, .deleteObjectTagging, .createMultipartUpload,
            .uploadPart, .uploadPartCopy, .completeMultipartUpload, .abortMultipartUpload:
            .write
        case .createBucket, .deleteBucket, .putBucketTagging, .deleteBucketTagging:
            .owner
        }
    }
}

extension S3Responder {
    /// The access an identity has to a bucket: the admin everything; a scoped credential what it was granted
    /// (on the bucket or on its top-level bucket); an unscoped one full rights on its user's buckets only.
    func access(_ identity: Identity, bucket: String, owner: String?) -> AccessLevel {
        guard let credential = identity.credential else { return .owner }  // SIMPLE mode: trusted network
        if identity.isAdmin { return .owner }
        if let grants = credential.buckets {
            let top = String(bucket.split(separator: ":").first ?? "")
            return (grants[bucket] ?? grants[top]).map(AccessLevel.init) ?? .none
        }
        return owner == credential.user ? .owner : .none
    }

    /// Refuses the request unless its identity holds the access the operation needs on the bucket(s) it touches.
    func authorize(_ call: S3Call) async throws {
        guard call.identity.credential != nil, !call.identity.isAdmin else { return }
        let needed = AccessLevel.required(for: call.operation)
        guard needed > .none, let bucket = call.target.bucket else { return }
        try await require(needed, on: bucket, call)
        if call.operation == .copyObject || call.operation == .uploadPartCopy, let header = call.header("x-amz-copy-source") {
            let source = try CopySource(header: header)
            try await require(.read, on: source.bucket, call)
        }
    }

    private func require(_ needed: AccessLevel, on bucket: String, _ call: S3Call) async throws {
        let owner: String? =
            call.identity.credential?.buckets == nil && BucketName.isSafePath(bucket)
            ? try? await io.run { [store] in store.bucketInfo(bucket, handle: try store.openBucket(bucket)).owner } : nil
        // CreateBucket by an unscoped credential: the bucket becomes its user's.
        if call.operation == .createBucket && call.identity.credential?.buckets == nil { return }
        guard access(call.identity, bucket: bucket, owner: owner) >= needed else {
            throw S3Error(.accessDenied, "Access Denied", resource: "/\(bucket)")
        }
    }
}
