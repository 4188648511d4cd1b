import HTTPTypes
import Hummingbird
import S3Protocol
import StrataStore

/// ListObjectVersions (the versions themselves: Versioning.swift).
extension S3Responder {
    func listObjectVersions(_ admitted: AdmittedRequest, _ list: ListVersionsArguments) async throws -> Response {
        let call = admitted.call
        let page = try await storage.listObjectVersions(list, viewer: admitted.listingCaller)
        let encode: (String) -> String = list.urlEncoded ? { PercentEncoding.encode($0, keepSlash: true) } : { $0 }
        var xml = XMLWriter(root: "ListVersionsResult")
        xml.element("Name", list.bucket)
        xml.element("Prefix", encode(list.prefix))
        xml.element("KeyMarker", encode(list.keyMarker))
        xml.element("VersionIdMarker", list.versionIdMarker)
        if page.isTruncated {
            if let next = page.nextKeyMarker { xml.element("NextKeyMarker", encode(next)) }
            if let next = page.nextVersionIdMarker { xml.element("NextVersionIdMarker", next) }
        }
        xml.element("MaxKeys", list.maxKeys)
        if let delimiter = list.delimiter { xml.element("Delimiter", encode(delimiter)) }
        if list.urlEncoded { xml.element("EncodingType", "url") }
        xml.element("IsTruncated", page.isTruncated)
        for version in page.versions {
            xml.group(version.isDeleteMarker ? "DeleteMarker" : "Version") { xml in
                xml.element("Key", encode(version.key))
                xml.element("VersionId", version.versionId)
                xml.element("IsLatest", version.isLatest)
                xml.element("LastModified", HTTPDate.iso8601(seconds: version.lastModifiedSeconds, milliseconds: version.lastModifiedMilliseconds))
                if !version.isDeleteMarker {
                    xml.element("ETag", "\"\(version.etag)\"")
                    xml.element("Size", String(version.size))
                    xml.element("StorageClass", "STANDARD")
                }
                let id = version.owner ?? page.bucketOwner ?? call.user
                xml.group("Owner") {
                    $0.element("ID", id)
                    $0.element("DisplayName", id)
                }
            }
        }
        for common in page.commonPrefixes {
            xml.group("CommonPrefixes") { $0.element("Prefix", encode(common)) }
        }
        return Responses.xml(xml.finish())
    }
}
