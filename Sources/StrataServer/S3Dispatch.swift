import Hummingbird
import S3Protocol
import StrataStore

/// One line per action: the admitted request and the action's typed arguments go to the handler type of its area.
/// Each handler type holds only what its handlers use.
extension S3Responder {
    /// The one authorization gate, over this responder's store and settings.
    var gate: AuthorizationGate { AuthorizationGate(storage: storage, settings: settings, users: users) }
    var buckets: BucketHandlers { BucketHandlers(storage: storage, settings: settings, gate: gate) }
    var acls: ACLHandlers { ACLHandlers(storage: storage) }
    var objects: ObjectHandlers {
        ObjectHandlers(storage: storage, settings: settings, gate: gate, globalReadLimiter: globalReadLimiter)
    }
    var listings: ListingHandlers { ListingHandlers(storage: storage) }
    var multipart: MultipartHandlers { MultipartHandlers(storage: storage, settings: settings, gate: gate) }
    var bucketConfigurations: BucketConfigurationHandlers { BucketConfigurationHandlers(storage: storage) }
    var tagging: TaggingHandlers { TaggingHandlers(storage: storage, settings: settings) }

    /// One case per action, each handing its parsed arguments to the handler of its area.
    func dispatch(_ admitted: AdmittedRequest) async throws -> Response {
        switch admitted.action {
        // Buckets
        case .listBuckets(let arguments): return try await buckets.listBuckets(admitted, arguments)
        case .createBucket(let bucket): return try await buckets.createBucket(admitted, bucket)
        case .headBucket(let bucket): return try await buckets.headBucket(admitted, bucket)
        case .deleteBucket(let bucket): return try await buckets.deleteBucket(admitted, bucket)
        case .getBucketLocation(let bucket): return try await buckets.getBucketLocation(admitted, bucket)
        // ACLs
        case .getBucketAcl(let bucket): return try await acls.getBucketAcl(admitted, bucket)
        case .putBucketAcl(let bucket): return try await acls.putBucketAcl(admitted, bucket)
        case .getObjectAcl(let object): return try await acls.getObjectAcl(admitted, object)
        case .putObjectAcl(let object): return try await acls.putObjectAcl(admitted, object)
        // Bucket configuration documents
        case .putBucketCors(let bucket): return try await bucketConfigurations.putDocument(admitted, bucket, .cors)
        case .getBucketCors(let bucket): return try await bucketConfigurations.getDocument(admitted, bucket, .cors)
        case .deleteBucketCors(let bucket): return try await bucketConfigurations.deleteDocument(admitted, bucket, .cors)
        case .putBucketWebsite(let bucket): return try await bucketConfigurations.putDocument(admitted, bucket, .website)
        case .getBucketWebsite(let bucket): return try await bucketConfigurations.getDocument(admitted, bucket, .website)
        case .deleteBucketWebsite(let bucket): return try await bucketConfigurations.deleteDocument(admitted, bucket, .website)
        case .getBucketVersioning(let bucket): return try await bucketConfigurations.getBucketVersioning(admitted, bucket)
        case .putBucketVersioning(let bucket): return try await bucketConfigurations.putDocument(admitted, bucket, .versioning)
        // Objects
        case .putObject(let object, let condition): return try await objects.putObject(admitted, object, condition: condition)
        case .getObject(let arguments): return try await objects.getObject(admitted, arguments, head: false)
        case .headObject(let arguments): return try await objects.getObject(admitted, arguments, head: true)
        case .deleteObject(let object, let condition, let versionId):
            return try await objects.deleteObject(admitted, object, condition: condition, versionId: versionId)
        case .copyObject(let arguments): return try await objects.copyObject(admitted, arguments)
        case .deleteObjects(let bucket): return try await objects.deleteObjects(admitted, bucket)
        case .getObjectAttributes(let arguments): return try await objects.getObjectAttributes(admitted, arguments)
        // Listings
        case .listObjects(let arguments): return try await listings.listObjects(admitted, arguments)
        case .listObjectVersions(let arguments): return try await listings.listObjectVersions(admitted, arguments)
        // Tagging
        case .getObjectTagging(let object): return try await tagging.getObjectTagging(admitted, object)
        case .putObjectTagging(let object): return try await tagging.putObjectTagging(admitted, object)
        case .deleteObjectTagging(let object): return try await tagging.deleteObjectTagging(admitted, object)
        case .getBucketTagging(let bucket): return try await tagging.getBucketTagging(admitted, bucket)
        case .putBucketTagging(let bucket): return try await tagging.putBucketTagging(admitted, bucket)
        case .deleteBucketTagging(let bucket): return try await tagging.deleteBucketTagging(admitted, bucket)
        // Multipart uploads
        case .createMultipartUpload(let object): return try await multipart.createMultipartUpload(admitted, object)
        case .uploadPart(let upload, let number): return try await multipart.uploadPart(admitted, upload, partNumber: number)
        case .uploadPartCopy(let upload, let number, let source, let range, let conditions):
            return try await multipart.uploadPartCopy(admitted, upload, partNumber: number, source: source, range: range, conditions: conditions)
        case .completeMultipartUpload(let upload, let condition):
            return try await multipart.completeMultipartUpload(admitted, upload, condition: condition)
        case .abortMultipartUpload(let upload): return try await multipart.abortMultipartUpload(admitted, upload)
        case .listParts(let upload, let marker, let maxParts):
            return try await multipart.listParts(admitted, upload, partNumberMarker: marker, maxParts: maxParts)
        case .listMultipartUploads(let arguments): return try await multipart.listMultipartUploads(admitted, arguments)
        // Answered before authentication, never dispatched
        case .preflight, .postObject: throw S3Error(.internalError)
        // What S3 defines and this server does not do
        case .notImplemented(let name):
            throw S3Error(.notImplemented, "\(name) is not implemented by this server.")
        }
    }
}
