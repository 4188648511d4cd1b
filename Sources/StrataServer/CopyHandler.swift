import Foundation
import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore

/// CopyObject: same or another bucket, COPY/REPLACE metadata directive, copy onto itself with REPLACE,
/// `x-amz-copy-source-if-*` conditions.
extension ObjectHandlers {
    func copyObject(_ admitted: AdmittedRequest, _ copy: CopyArguments) async throws -> Response {
        let call = admitted.call
        let (bucketName, key, source) = (copy.object.bucket, copy.object.key, copy.source)
        let permission = try gate.newPermission(admitted, directory: key.hasSuffix("/"))
        var replacement =
            copy.replaceMetadata
            ? try ObjectMetadataHeaders.from(call.headers, owner: call.user, userMetadataLimit: settings.userMetadataMaxSize) : nil
        if replacement != nil { replacement?.permission = permission }
        let replacementTags = copy.replaceTags ? (try TaggingHandlers.headerTags(call, settings) ?? TagSet()) : nil
        // Copying an earlier version over the current one restores it: not a copy onto itself.
        let isSelf = source.bucket.bytesEqual(bucketName) && source.key.bytesEqual(key) && source.versionId == nil
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
                conditions: copy.conditions,
                metadata: replacement.map { .replace($0) } ?? .copy(owner: call.user, permission: permission),
                tags: replacementTags,
                sourceCheck: admitted.readCheck(.copySource)
            )
        )
        var xml = XMLWriter(root: "CopyObjectResult")
        xml.element("ETag", "\"\(output.etag)\"")
        xml.element("LastModified", HTTPDate.iso8601(seconds: output.lastModifiedSeconds))
        var headers = HTTPFields()
        if let versionId = output.versionId, versionId != VersionID.null { headers.set("x-amz-version-id", versionId) }
        if let sourceVersionId = output.sourceVersionId { headers.set("x-amz-copy-source-version-id", sourceVersionId) }
        return Responses.xml(xml.finish(), headers: headers)
    }
}
