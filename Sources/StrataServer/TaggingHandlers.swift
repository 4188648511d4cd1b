import Hummingbird
import S3Protocol
import StrataStore

/// Object and bucket tagging, and the `x-amz-tagging` header used by PutObject, CopyObject and
/// CreateMultipartUpload.
extension S3Responder {
    static let maxTaggingBody = 64 * 1024

    var objectTagLimits: TagSet.Limits { TagSet.Limits(maxTags: 10, enforced: settings.taggingRestrictions) }
    var bucketTagLimits: TagSet.Limits { TagSet.Limits(maxTags: 50, enforced: settings.taggingRestrictions) }

    /// Tags from `x-amz-tagging`, validated; nil when the header is absent.
    func headerTags(_ call: S3Call) throws(S3Error) -> TagSet? {
        guard let header = call.header("x-amz-tagging") else { return nil }
        if settings.taggingHeaderMaxSize > 0 && header.utf8.count > settings.taggingHeaderMaxSize {
            throw S3Error(.metadataTooLarge, "The x-amz-tagging header is larger than \(settings.taggingHeaderMaxSize) bytes.")
        }
        let tags = try TagSet.parseHeader(header)
        try tags.validate(objectTagLimits)
        return tags
    }

    private func bodyTags(_ call: S3Call, limits: TagSet.Limits) async throws -> TagSet {
        let body = try await BodyCollector.collect(call, limit: Self.maxTaggingBody)
        try ObjectMetadataHeaders.verifyContentMD5(call.headers, body: body)
        guard !body.isEmpty else { throw S3Error(.missingRequestBody) }
        let tags = try TagSet.parseXML(body)
        try tags.validate(limits)
        return tags
    }

    func getObjectTagging(_ object: ObjectAddress) async throws -> Response {
        let (bucketName, key) = (object.bucket, object.key)
        let tags = try await storage.objectTagging(bucket: bucketName, key: key)
        return Responses.xml(tags.xml())
    }

    func putObjectTagging(_ call: S3Call, _ object: ObjectAddress) async throws -> Response {
        let (bucketName, key) = (object.bucket, object.key)
        _ = try await storage.headBucket(bucketName)
        let tags = try await bodyTags(call, limits: objectTagLimits)
        try await storage.setObjectTagging(bucket: bucketName, key: key, tags: tags)
        return Responses.empty()
    }

    func deleteObjectTagging(_ object: ObjectAddress) async throws -> Response {
        let (bucketName, key) = (object.bucket, object.key)
        try await storage.setObjectTagging(bucket: bucketName, key: key, tags: nil)
        return Responses.empty(.noContent)
    }

    func getBucketTagging(_ bucketName: String) async throws -> Response {
        let tags = try await storage.bucketTagging(bucketName)
        guard !tags.isEmpty else { throw S3Error(.noSuchTagSet, details: [("BucketName", bucketName)]) }
        return Responses.xml(tags.xml())
    }

    func putBucketTagging(_ call: S3Call, _ bucketName: String) async throws -> Response {
        _ = try await storage.headBucket(bucketName)
        let tags = try await bodyTags(call, limits: bucketTagLimits)
        try await storage.setBucketTagging(bucketName, tags: tags)
        return Responses.empty(.noContent)
    }

    func deleteBucketTagging(_ bucketName: String) async throws -> Response {
        try await storage.setBucketTagging(bucketName, tags: nil)
        return Responses.empty(.noContent)
    }
}
