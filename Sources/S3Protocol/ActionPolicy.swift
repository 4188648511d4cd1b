/// What the permission model (owner, group, mode, recorded with every bucket, directory and object version) must
/// allow on one bucket or key for an action to go ahead.
public enum PathCheck: Sendable, Equatable {
    /// Nothing on the path (ListBuckets filters what it shows; a preflight is answered from CORS rules).
    case none
    /// `r` and `x` on the bucket's directory, `x` above it. Listings also skip directories the caller cannot enter.
    case listBucket
    /// `r` on the object version that is read, `x` on every directory above it.
    case readObject
    /// `w` and `x` on the directory that holds (or will hold) the key, `x` above; a sticky directory lets only an
    /// entry's owner (or the directory's) replace or remove it.
    case writeObject
    /// Only the bucket's owner changes its settings.
    case ownBucket
    /// Only the object's owner changes its permission (ACL).
    case ownObject
    /// `w` and `x` on the root (or on the parent bucket of a nested bucket).
    case createBucket
    /// As create; the parent's sticky bit keeps others' buckets safe.
    case deleteBucket
    /// Only the upload's initiator or the bucket's owner sees an upload's parts.
    case uploadInitiator
}

/// What public canned ACLs (AWS's AllUsers grants) open to a caller without a grant on the bucket: unsigned requests,
/// and signed callers whose credential reaches no further there. They are then checked as anonymous.
public enum PublicAccess: Sendable, Equatable {
    case none
    /// An object made public-read may be read (GET, HEAD, attributes, copy source).
    case readObject
    /// A public-read bucket may be listed and looked at.
    case listBucket
    /// A public-read-write bucket takes new objects and deletes.
    case writeBucket
}

/// Where a request's credentials are.
public enum CredentialSource: Sendable, Equatable {
    /// The Authorization header or the presigned query.
    case request
    /// A browser form's fields (PostObject): read from the body before anything is checked.
    case form
    /// None: a CORS preflight is answered from the bucket's rules alone.
    case none
}

/// One row of the policy table: everything the authorization gate needs to know about an action, as data.
public struct ActionPolicy: Sendable, Equatable {
    /// AWS's name of the action, for logs, metrics and NotImplemented messages.
    public var name: String
    /// The grant a credential needs on the bucket the request addresses (copy sources need `read` besides).
    public var grant: AccessLevel
    /// The permission model's check on the addressed bucket or key.
    public var check: PathCheck
    /// What public canned ACLs open to callers without a grant.
    public var publicAccess: PublicAccess
    /// The object check runs where the object is opened (in the same I/O hop as the read, on the version read, on
    /// an upstream object read through), not before: the gate hands the check to the store.
    public var checksWhereRead: Bool
    /// The action reads a second object, named by `x-amz-copy-source`: `read` grant and `readObject` there.
    public var readsCopySource: Bool
    /// May be answered on the event loop by the inline fast path (which falls back to the pooled path, never past
    /// the gate).
    public var servedInline: Bool
    public var credentials: CredentialSource

    public init(
        _ name: String,
        grant: AccessLevel,
        check: PathCheck,
        publicAccess: PublicAccess = .none,
        checksWhereRead: Bool = false,
        readsCopySource: Bool = false,
        servedInline: Bool = false,
        credentials: CredentialSource = .request
    ) {
        self.name = name
        self.grant = grant
        self.check = check
        self.publicAccess = publicAccess
        self.checksWhereRead = checksWhereRead
        self.readsCopySource = readsCopySource
        self.servedInline = servedInline
        self.credentials = credentials
    }
}

/// One bucket or key a request touches and what it needs there: the gate admits a request only when every one of
/// them is allowed.
public struct ResourceAccess: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        /// What the request addresses.
        case target
        /// The object a copy reads.
        case copySource
    }

    public var role: Role
    public var bucket: String
    public var key: String?
    public var versionId: String?
    /// The multipart upload addressed (its initiator may see its parts).
    public var uploadId: String?
    public var grant: AccessLevel
    public var check: PathCheck
    public var publicAccess: PublicAccess
    /// The object check runs where the object is read (see `ActionPolicy.checksWhereRead`).
    public var checksWhereRead: Bool

    public init(
        _ role: Role,
        bucket: String,
        key: String? = nil,
        versionId: String? = nil,
        uploadId: String? = nil,
        grant: AccessLevel,
        check: PathCheck,
        publicAccess: PublicAccess,
        checksWhereRead: Bool
    ) {
        self.role = role
        self.bucket = bucket
        self.key = key
        self.versionId = versionId
        self.uploadId = uploadId
        self.grant = grant
        self.check = check
        self.publicAccess = publicAccess
        self.checksWhereRead = checksWhereRead
    }
}

extension S3Operation {
    /// The policy table: one row per action.
    public var policy: ActionPolicy {
        switch self {
        case .listBuckets: ActionPolicy("ListBuckets", grant: .none, check: .none)
        case .createBucket: ActionPolicy("CreateBucket", grant: .owner, check: .createBucket)
        case .headBucket: ActionPolicy("HeadBucket", grant: .read, check: .listBucket, publicAccess: .listBucket)
        case .deleteBucket: ActionPolicy("DeleteBucket", grant: .owner, check: .deleteBucket)
        case .getBucketLocation: ActionPolicy("GetBucketLocation", grant: .read, check: .listBucket, publicAccess: .listBucket)
        case .getBucketVersioning: ActionPolicy("GetBucketVersioning", grant: .read, check: .listBucket, publicAccess: .listBucket)
        case .putBucketVersioning: ActionPolicy("PutBucketVersioning", grant: .owner, check: .ownBucket)
        case .listObjectVersions: ActionPolicy("ListObjectVersions", grant: .read, check: .listBucket, publicAccess: .listBucket)
        case .getBucketAcl: ActionPolicy("GetBucketAcl", grant: .read, check: .listBucket, publicAccess: .listBucket)
        case .putBucketAcl: ActionPolicy("PutBucketAcl", grant: .owner, check: .ownBucket)
        case .listObjects: ActionPolicy("ListObjects", grant: .read, check: .listBucket, publicAccess: .listBucket)
        case .listObjectsV2: ActionPolicy("ListObjectsV2", grant: .read, check: .listBucket, publicAccess: .listBucket)
        // Each key is checked as a DeleteObject of its own; the bucket must be listable.
        case .deleteObjects: ActionPolicy("DeleteObjects", grant: .write, check: .listBucket, publicAccess: .writeBucket)
        case .getBucketTagging: ActionPolicy("GetBucketTagging", grant: .read, check: .listBucket, publicAccess: .listBucket)
        case .putBucketTagging: ActionPolicy("PutBucketTagging", grant: .owner, check: .ownBucket)
        case .deleteBucketTagging: ActionPolicy("DeleteBucketTagging", grant: .owner, check: .ownBucket)
        case .getBucketCors: ActionPolicy("GetBucketCors", grant: .owner, check: .ownBucket)
        case .putBucketCors: ActionPolicy("PutBucketCors", grant: .owner, check: .ownBucket)
        case .deleteBucketCors: ActionPolicy("DeleteBucketCors", grant: .owner, check: .ownBucket)
        case .getBucketWebsite: ActionPolicy("GetBucketWebsite", grant: .owner, check: .ownBucket)
        case .putBucketWebsite: ActionPolicy("PutBucketWebsite", grant: .owner, check: .ownBucket)
        case .deleteBucketWebsite: ActionPolicy("DeleteBucketWebsite", grant: .owner, check: .ownBucket)
        case .preflight: ActionPolicy("PreflightRequest", grant: .none, check: .none, credentials: .none)
        case .listMultipartUploads: ActionPolicy("ListMultipartUploads", grant: .read, check: .listBucket)
        case .putObject: ActionPolicy("PutObject", grant: .write, check: .writeObject, publicAccess: .writeBucket)
        case .postObject: ActionPolicy("PostObject", grant: .write, check: .writeObject, publicAccess: .writeBucket, credentials: .form)
        case .copyObject:
            ActionPolicy("CopyObject", grant: .write, check: .writeObject, publicAccess: .writeBucket, readsCopySource: true)
        case .getObject:
            ActionPolicy("GetObject", grant: .read, check: .readObject, publicAccess: .readObject, checksWhereRead: true, servedInline: true)
        case .headObject:
            ActionPolicy("HeadObject", grant: .read, check: .readObject, publicAccess: .readObject, checksWhereRead: true, servedInline: true)
        case .deleteObject: ActionPolicy("DeleteObject", grant: .write, check: .writeObject, publicAccess: .writeBucket)
        case .getObjectAcl: ActionPolicy("GetObjectAcl", grant: .read, check: .readObject)
        // Changing who may read an object is its owner's: a write grant alone does not give it.
        case .putObjectAcl: ActionPolicy("PutObjectAcl", grant: .write, check: .ownObject)
        case .getObjectTagging: ActionPolicy("GetObjectTagging", grant: .read, check: .readObject)
        case .getObjectAttributes:
            ActionPolicy("GetObjectAttributes", grant: .read, check: .readObject, publicAccess: .readObject, checksWhereRead: true)
        case .putObjectTagging: ActionPolicy("PutObjectTagging", grant: .write, check: .writeObject)
        case .deleteObjectTagging: ActionPolicy("DeleteObjectTagging", grant: .write, check: .writeObject)
        case .createMultipartUpload: ActionPolicy("CreateMultipartUpload", grant: .write, check: .writeObject, publicAccess: .writeBucket)
        case .uploadPart: ActionPolicy("UploadPart", grant: .write, check: .writeObject, publicAccess: .writeBucket)
        case .uploadPartCopy:
            ActionPolicy("UploadPartCopy", grant: .write, check: .writeObject, publicAccess: .writeBucket, readsCopySource: true)
        case .completeMultipartUpload: ActionPolicy("CompleteMultipartUpload", grant: .write, check: .writeObject, publicAccess: .writeBucket)
        case .abortMultipartUpload: ActionPolicy("AbortMultipartUpload", grant: .write, check: .writeObject, publicAccess: .writeBucket)
        case .listParts: ActionPolicy("ListParts", grant: .read, check: .uploadInitiator)
        case .notImplemented(let name): ActionPolicy(name, grant: .none, check: .none)
        }
    }

    public var name: String { policy.name }
    public var requiredAccess: AccessLevel { policy.grant }
}

extension S3Action {
    /// Every bucket and key the action touches, with what each needs: the addressed one first, then a copy source.
    /// Nothing for actions without a bucket (ListBuckets) or without checks (preflight, NotImplemented).
    public var resources: [ResourceAccess] {
        let policy = operation.policy
        func target(_ bucket: String, _ key: String? = nil, version: String? = nil, upload: String? = nil) -> ResourceAccess {
            ResourceAccess(
                .target,
                bucket: bucket,
                key: key,
                versionId: version,
                uploadId: upload,
                grant: policy.grant,
                check: policy.check,
                publicAccess: policy.publicAccess,
                checksWhereRead: policy.checksWhereRead
            )
        }
        func source(_ source: CopySource) -> ResourceAccess {
            ResourceAccess(
                .copySource,
                bucket: source.bucket,
                key: source.key,
                versionId: source.versionId,
                grant: .read,
                check: .readObject,
                publicAccess: .readObject,
                checksWhereRead: true
            )
        }
        switch self {
        case .listBuckets, .preflight, .notImplemented: return []
        case .createBucket(let bucket), .headBucket(let bucket), .deleteBucket(let bucket), .getBucketLocation(let bucket),
            .getBucketVersioning(let bucket), .putBucketVersioning(let bucket), .getBucketAcl(let bucket), .putBucketAcl(let bucket),
            .deleteObjects(let bucket), .getBucketTagging(let bucket), .putBucketTagging(let bucket), .deleteBucketTagging(let bucket),
            .getBucketCors(let bucket), .putBucketCors(let bucket), .deleteBucketCors(let bucket), .getBucketWebsite(let bucket),
            .putBucketWebsite(let bucket), .deleteBucketWebsite(let bucket), .postObject(let bucket):
            return [target(bucket)]
        case .listObjectVersions(let list): return [target(list.bucket)]
        case .listObjects(let list): return [target(list.bucket)]
        case .listMultipartUploads(let list): return [target(list.bucket)]
        case .putObject(let object, _), .getObjectAcl(let object), .putObjectAcl(let object), .getObjectTagging(let object),
            .putObjectTagging(let object), .deleteObjectTagging(let object), .createMultipartUpload(let object):
            return [target(object.bucket, object.key)]
        case .deleteObject(let object, _, let versionId): return [target(object.bucket, object.key, version: versionId)]
        case .getObject(let read), .headObject(let read): return [target(read.object.bucket, read.object.key, version: read.versionId)]
        case .getObjectAttributes(let arguments):
            return [target(arguments.object.bucket, arguments.object.key, version: arguments.versionId)]
        case .copyObject(let copy): return [target(copy.object.bucket, copy.object.key), source(copy.source)]
        case .uploadPart(let upload, _), .completeMultipartUpload(let upload, _), .abortMultipartUpload(let upload),
            .listParts(let upload, _, _):
            return [target(upload.bucket, upload.key, upload: upload.uploadId)]
        case .uploadPartCopy(let upload, _, let copySource, _, _):
            return [target(upload.bucket, upload.key, upload: upload.uploadId), source(copySource)]
        }
    }
}
