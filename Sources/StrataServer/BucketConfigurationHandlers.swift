import Hummingbird
import S3Protocol
import StrataStore

/// The configuration documents a bucket keeps (CORS rules, the website): put, get and delete work alike, each
/// document parsed and stored in the canonical form its Get returns. Website configuration handlers live here; CORS
/// has its own file for preflights and response headers.
extension S3Responder {
    static let maxConfigurationBody = 64 * 1024

    /// Put*: the body (Content-MD5 checked, not empty) parsed by `canonical`, which returns the document to store.
    func putBucketConfiguration(
        _ call: S3Call,
        _ bucket: String,
        _ name: BucketConfigurationName,
        canonical: ([UInt8]) throws(S3Error) -> String
    ) async throws -> Response {
        let body = try await BodyCollector.collect(call, limit: Self.maxConfigurationBody)
        try ObjectMetadataHeaders.verifyContentMD5(call.headers, body: body)
        guard !body.isEmpty else { throw S3Error(.missingRequestBody) }
        try await storage.setBucketConfiguration(bucket, name, Array(try canonical(body).utf8))
        return Responses.empty()
    }

    /// Get*: the stored document, or `missing` (with the bucket's name) when there is none.
    func getBucketConfiguration(_ bucket: String, _ name: BucketConfigurationName, missing: S3ErrorCode) async throws -> Response {
        guard let document = try await storage.bucketConfiguration(bucket, name) else {
            throw S3Error(missing, details: [("BucketName", bucket)])
        }
        return Responses.xml(String(decoding: document, as: UTF8.self))
    }

    /// Delete*: NoSuchBucket comes from the store, which opens the bucket to change it.
    func deleteBucketConfiguration(_ bucket: String, _ name: BucketConfigurationName) async throws -> Response {
        try await storage.setBucketConfiguration(bucket, name, nil)
        return Responses.empty(.noContent)
    }

    func putBucketWebsite(_ call: S3Call, _ bucket: String) async throws -> Response {
        try await putBucketConfiguration(call, bucket, .website) { body throws(S3Error) in try WebsiteConfiguration.parse(body).document() }
    }

    func getBucketWebsite(_ bucket: String) async throws -> Response {
        try await getBucketConfiguration(bucket, .website, missing: .noSuchWebsiteConfiguration)
    }

    func deleteBucketWebsite(_ bucket: String) async throws -> Response { try await deleteBucketConfiguration(bucket, .website) }
}
