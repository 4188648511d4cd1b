import Foundation
import Hummingbird
import S3Protocol
import StrataStore

/// ListObjects (v1), ListObjectsV2 and ListObjectVersions: a page from the store, narrowed to what the caller may see,
/// as S3's listing document.
struct ListingHandlers {
    let storage: any ObjectStorage

    func listObjects(_ admitted: AdmittedRequest, _ list: ListObjectsArguments) async throws -> Response {
        let call = admitted.call
        let (bucketName, prefix, delimiter, maxKeys, version) = (list.bucket, list.prefix, list.delimiter, list.maxKeys, list.version)
        let encode: (String) -> String = list.urlEncoded ? { PercentEncoding.encode($0, keepSlash: true) } : { $0 }
        var input = ListObjectsInput(bucket: bucketName, prefix: prefix, delimiter: delimiter, startAfter: list.startAfter, maxKeys: maxKeys)
        input.viewer = admitted.listingCaller
        let listed = try await storage.listObjects(input)
        let page = listed.page
        let owner = listed.bucketOwner
        let fetchOwner = list.fetchOwner

        var xml = XMLWriter(root: "ListBucketResult")
        xml.element("Name", bucketName)
        // ListObjects v1 clients (botocore among them) do not decode Prefix: it is sent as it is unless XML cannot carry it.
        let prefixIsPlainXML = prefix.unicodeScalars.allSatisfy { $0.value >= 0x20 || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        xml.element("Prefix", version == 1 && prefixIsPlainXML ? prefix : encode(prefix))
        if version == 1 {
            xml.element("Marker", encode(list.marker ?? ""))
            if page.isTruncated, delimiter != nil, let last = page.lastItem { xml.element("NextMarker", encode(last)) }
        } else {
            if let continuationToken = list.continuationToken { xml.element("ContinuationToken", continuationToken) }
            if let startAfter = list.requestedStartAfter { xml.element("StartAfter", encode(startAfter)) }
            xml.element("KeyCount", page.contents.count + page.commonPrefixes.count)
            if page.isTruncated, let last = page.lastItem { xml.element("NextContinuationToken", ContinuationToken.encode(last)) }
        }
        xml.element("MaxKeys", maxKeys)
        if let delimiter { xml.element("Delimiter", encode(delimiter)) }
        if list.urlEncoded { xml.element("EncodingType", "url") }
        xml.element("IsTruncated", page.isTruncated)
        for object in page.contents {
            xml.group("Contents") { xml in
                xml.element("Key", encode(object.key))
                xml.element("LastModified", HTTPDate.iso8601(seconds: object.lastModifiedSeconds, milliseconds: object.lastModifiedMilliseconds))
                xml.element("ETag", "\"\(object.etag)\"")
                xml.element("Size", String(object.size))
                if fetchOwner {
                    let id = object.owner ?? owner ?? call.user
                    xml.group("Owner") {
                        $0.element("ID", id)
                        $0.element("DisplayName", id)
                    }
                }
                xml.element("StorageClass", "STANDARD")
            }
        }
        for common in page.commonPrefixes {
            xml.group("CommonPrefixes") { $0.element("Prefix", encode(common)) }
        }
        return Responses.xml(xml.finish())
    }

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
