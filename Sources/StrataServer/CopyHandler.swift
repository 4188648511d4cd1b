import Foundation
import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore

/// CopyObject: same or another bucket, COPY/REPLACE metadata directive, copy onto itself with REPLACE,
/// `x-amz-copy-source-if-*` conditions.
extension S3Responder {
    func copyObject(_ call: S3Call) async throws -> Response {
        let bucketName = try call.bucket()
        let key = try call.key()
        let source = try CopySource(header: call.header("x-amz-copy-source") ?? "", isReserved: ReservedNames.isReserved)
        let directive = (call.header("x-amz-metadata-directive") ?? "COPY").uppercased()
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error(.invalidArgument, "Unknown metadata directive.", details: [("ArgumentName", "x-amz-metadata-directive")])
        }
        let replacement =
            directive == "REPLACE"
            ? try ObjectMetadataHeaders.from(call.headers, owner: call.user, userMetadataLimit: settings.userMetadataMaxSize) : nil
        let taggingDirective = (call.header("x-amz-tagging-directive") ?? "COPY").uppercased()
        guard taggingDirective == "COPY" || taggingDirective == "REPLACE" else {
            throw S3Error(.invalidArgument, "Unknown tagging directive.", details: [("ArgumentName", "x-amz-tagging-directive")])
        }
        let replacementTags = taggingDirective == "REPLACE" ? (try headerTags(call) ?? TagSet()) : nil
        let isSelf = source.bucket.bytesEqual(bucketName) && source.key.bytesEqual(key)
        if isSelf && replacement == nil && replacementTags == nil {
            throw S3Error(
                .invalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, "
                    + "storage class, website redirect location or encryption attributes."
            )
        }
        let output = try await storage.copyObject(
            CopyObjectInput(
                source: source,
                bucket: bucketName,
                key: key,
                conditions: call.copySourceConditions(),
                metadata: replacement.map { .replace($0) } ?? .copy(owner: call.user),
                tags: replacementTags
            )
        )
        var xml = XMLWriter(root: "CopyObjectResult")
        xml.element("ETag", "\"\(output.etag)\"")
        xml.element("LastModified", HTTPDate.iso8601(seconds: output.lastModifiedSeconds))
        return Responses.xml(xml.finish())
    }
}
