import Foundation
import Hummingbird
import S3Protocol
import StrataStore

/// ListObjects (v1) and ListObjectsV2.
extension S3Responder {
    static let maxKeysLimit = 1000

    func listObjects(_ call: S3Call, version: Int) async throws -> Response {
        let bucketName = try call.bucket()
        let q = call.query
        let prefix = q["prefix"] ?? ""
        // rclone sends `delimiter=` with v1: an empty delimiter means none.
        let delimiter = q["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        var maxKeys = Self.maxKeysLimit
        if let raw = q["max-keys"] {
            guard let value = DecimalNumber.parseInt(raw, in: 0...Int.max) else {
                throw S3Error(
                    .invalidArgument,
                    "Provided max-keys not an integer or within integer range",
                    details: [("ArgumentName", "max-keys"), ("ArgumentValue", raw)]
                )
            }
            maxKeys = min(value, Self.maxKeysLimit)
        }
        let encodingType = q["encoding-type"]
        if let encodingType, encodingType.lowercased() != "url" {
            throw S3Error(
                .invalidArgument,
                "Invalid Encoding Method specified in Request",
                details: [("ArgumentName", "encoding-type"), ("ArgumentValue", encodingType)]
            )
        }
        let encode: (String) -> String = encodingType == nil ? { $0 } : { PercentEncoding.encode($0, keepSlash: true) }

        var startAfter: String?
        var continuationToken: String?
        if version == 2 {
            if let token = q["continuation-token"] {
                guard let decoded = ContinuationToken.decode(token) else {
                    throw S3Error(.invalidArgument, "The continuation token provided is incorrect", details: [("ArgumentName", "continuation-token")])
                }
                continuationToken = token
                startAfter = decoded
            } else {
                startAfter = q["start-after"].flatMap { $0.isEmpty ? nil : $0 }
            }
        } else {
            startAfter = q["marker"].flatMap { $0.isEmpty ? nil : $0 }
        }

        let listed = try await storage.listObjects(
            ListObjectsInput(bucket: bucketName, prefix: prefix, delimiter: delimiter, startAfter: startAfter, maxKeys: maxKeys)
        )
        let page = listed.page
        let owner = listed.bucketOwner
        let fetchOwner = version == 1 || q["fetch-owner"] == "true"

        var xml = XMLWriter(root: "ListBucketResult")
        xml.element("Name", bucketName)
        xml.element("Prefix", encode(prefix))
        if version == 1 {
            xml.element("Marker", encode(q["marker"] ?? ""))
            if page.isTruncated, delimiter != nil, let last = page.lastItem { xml.element("NextMarker", encode(last)) }
        } else {
            if let continuationToken { xml.element("ContinuationToken", continuationToken) }
            if let startAfter = q["start-after"] { xml.element("StartAfter", encode(startAfter)) }
            xml.element("KeyCount", page.contents.count + page.commonPrefixes.count)
            if page.isTruncated, let last = page.lastItem { xml.element("NextContinuationToken", ContinuationToken.encode(last)) }
        }
        xml.element("MaxKeys", maxKeys)
        if let delimiter { xml.element("Delimiter", encode(delimiter)) }
        if let encodingType { xml.element("EncodingType", encodingType) }
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
}

/// ListObjectsV2 continuation tokens: the last key returned, opaque to clients (base64url with a version tag).
enum ContinuationToken {
    static func encode(_ key: String) -> String {
        "1."
            + Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String) -> String? {
        guard token.hasPrefix("1.") else { return nil }
        var body = String(token.dropFirst(2)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while body.count % 4 != 0 { body += "=" }
        guard let data = Data(base64Encoded: body), let key = String(data: data, encoding: .utf8), !key.isEmpty else { return nil }
        return key
    }
}
