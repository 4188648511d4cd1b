import Crypto
import Foundation
import Hummingbird
import S3Protocol
import StrataStore

/// Buckets and their users through the admin API.
extension AdminAPI {
    /// `BucketInput.Bucket` of a creation request, validated as a CreateBucket name.
    func bucketName(_ body: [String: Any]) throws -> String {
        guard let input = body["BucketInput"] as? [String: Any], let name = input["Bucket"] as? String, !name.isEmpty else {
            throw Failure(status: .badRequest, message: "The body needs BucketInput.Bucket.")
        }
        do {
            try BucketName.validate(name, strict: settings.bucketNamingRestrictions)
        } catch {
            throw Failure(status: .badRequest, message: "The bucket name \(name) is not valid.")
        }
        return name
    }

    /// Creates a bucket owned by the account, with its tags; 409 when it exists. A website's bucket is public-read:
    /// anyone may list it, and what is put there public-read (or upstream by others) is served.
    func createBucket(_ name: String, tags: TagSet?, publicRead: Bool = false) async throws -> [String: Any] {
        if (try? await storage.headBucket(name)) != nil { throw Failure(status: .conflict, message: "The bucket \(name) already exists.") }
        let permission =
            settings.permissions.enabled
            ? Permission(owner: account, group: settings.permissions.supergroup, mode: publicRead ? 0o755 : 0o750, isPublic: publicRead) : nil
        try await storage.createBucket(name, owner: account, permission: permission)
        if let tags, !tags.isEmpty { try await storage.setBucketTagging(name, tags: tags) }
        let created = Int64(Date().timeIntervalSince1970)
        return ["Bucket": "/\(name)", "Policy": policyRecord(name, created: created), "Group": groupRecord(name, created: created)]
    }

    func listBuckets() async throws -> [String] {
        try await storage.listBuckets().map(\.name)
    }

    /// Tags and whether the bucket holds any object.
    func describeBucket(_ name: String) async throws -> [String: Any] {
        _ = try await storage.headBucket(name)
        let tags = try await storage.bucketTagging(name)
        let page = try await storage.listObjects(ListObjectsInput(bucket: name, prefix: "", delimiter: nil, startAfter: nil, maxKeys: 1)).page
        return ["Tags": Self.tagList(tags), "Empty": page.contents.isEmpty && page.commonPrefixes.isEmpty]
    }

    func replaceTags(_ name: String, _ tags: TagSet?) async throws -> [String: Any] {
        _ = try await storage.headBucket(name)
        try await storage.setBucketTagging(name, tags: tags ?? TagSet())
        return ["Bucket": name, "Tags": Self.tagList(tags ?? TagSet())]
    }

    /// Deletes an empty bucket and the users whose keys were bound to it alone.
    func deleteBucket(_ name: String) async throws -> [String: Any] {
        try await storage.deleteBucket(name)
        let removed = try credentials.removeAll { Self.isBucketUserKey($0, of: name) }
        let users = Array(Set(removed.map(\.user))).sorted()
        return ["Bucket": name, "Users": users, "Policies": ["\(name)-BktAdmPlc"], "Groups": ["\(name)-BktAdmGrp"]]
    }

    /// A Cyberduck bookmark: the S3 endpoint and the bucket's path, never a key.
    func duckBookmark(_ name: String) async throws -> Response {
        _ = try await storage.headBucket(name)
        func escape(_ text: String) -> String { XMLWriter.escape(text) }
        let plist = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">
            <dict>
                <key>Protocol</key>
                <string>s3</string>
                <key>Provider</key>
                <string>iterate GmbH</string>
                <key>UUID</key>
                <string>\(Self.bookmarkUUID(name))</string>
                <key>Nickname</key>
                <string>\(escape(name))</string>
                <key>Hostname</key>
                <string>\(escape(s3Host))</string>
                <key>Port</key>
                <string>\(s3Port)</string>
                <key>Path</key>
                <string>/\(escape(name))</string>
                <key>Anonymous Login</key>
                <false/>
            </dict>
            </plist>

            """
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/octet-stream", .contentDisposition: "attachment; filename=\"\(name).duck\"",
                .contentLength: String(plist.utf8.count),
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: plist))
        )
    }

    /// A UUID that stays the same for a bucket, so importing a bookmark again does not duplicate it.
    static func bookmarkUUID(_ name: String) -> String {
        let hex = Array(SigV4.hex(SHA256.hash(data: Array("cyberduck:\(name)".utf8))).prefix(32))
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }.joined(separator: "-").uppercased()
    }

    // MARK: Bucket users

    /// A key the admin API made for one bucket: scoped to that bucket only, with the owner grant.
    static func isBucketUserKey(_ credential: Credential, of bucket: String) -> Bool {
        credential.buckets == [bucket: .owner]
    }

    func userName(_ body: [String: Any]) throws -> String {
        guard let user = body["User"] as? [String: Any], let name = user["UserName"] as? String else {
            throw Failure(status: .badRequest, message: "The body needs User.UserName.")
        }
        // IAM's user name characters: letters, digits and +=,.@_-, at most 64.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-")
        guard (1...64).contains(name.count), name.allSatisfy({ allowed.contains($0) }) else {
            throw Failure(status: .badRequest, message: "A user name is 1 to 64 letters, digits or +=,.@_-")
        }
        return name
    }

    /// Creates a user with one key bound to the bucket; the secret is in this answer only.
    func createUser(bucket: String, name: String) async throws -> [String: Any] {
        _ = try await storage.headBucket(bucket)
        if try credentials.all().contains(where: { $0.user == name }) || name == account || name == settings.superuser {
            throw Failure(status: .conflict, message: "The user \(name) already exists.")
        }
        let key = Credential.generate(user: name, buckets: [bucket: .owner])
        try credentials.upsert(key)
        return ["User": userRecord(name, created: key.createdAt ?? 0), "AccessKey": Self.keyRecord(key, withSecret: true)]
    }

    func bucketUserKeys(bucket: String) throws -> [String: [Credential]] {
        Dictionary(grouping: try credentials.all().filter { Self.isBucketUserKey($0, of: bucket) }, by: \.user)
    }

    func listUsers(bucket: String) async throws -> [[String: Any]] {
        _ = try await storage.headBucket(bucket)
        return try bucketUserKeys(bucket: bucket).sorted { $0.key < $1.key }.map { name, keys in
            userRecord(name, created: keys.compactMap(\.createdAt).min() ?? 0)
        }
    }

    func keys(of name: String, bucket: String) async throws -> [Credential] {
        _ = try await storage.headBucket(bucket)
        guard let keys = try bucketUserKeys(bucket: bucket)[name], !keys.isEmpty else {
            throw Failure(status: .notFound, message: "No user \(name) on the bucket \(bucket).")
        }
        return keys
    }

    /// The user, its key ids (never a secret), its group and policy.
    func describeUser(bucket: String, name: String) async throws -> [String: Any] {
        let keys = try await keys(of: name, bucket: bucket)
        let created = keys.compactMap(\.createdAt).min() ?? 0
        return [
            "User": userRecord(name, created: created),
            "AccessKeys": keys.map { Self.keyRecord($0, withSecret: false) },
            "Groups": [groupRecord(bucket, created: created)],
            "Policies": [["Arn": arn("policy", "\(bucket)-BktAdmPlc"), "PolicyName": "\(bucket)-BktAdmPlc"]],
        ]
    }

    /// Replaces the user's keys with a new one; the old ones stop signing at once.
    func rotateKeys(bucket: String, name: String) async throws -> [String: Any] {
        _ = try await keys(of: name, bucket: bucket)
        let key = Credential.generate(user: name, buckets: [bucket: .owner])
        let removed = try credentials.replace(where: { $0.user == name && Self.isBucketUserKey($0, of: bucket) }, with: key)
        return ["DeletedKeyIds": removed.map(\.accessKey).sorted(), "AccessKey": Self.keyRecord(key, withSecret: true)]
    }

    func deleteUser(bucket: String, name: String) async throws -> [String: Any] {
        _ = try await keys(of: name, bucket: bucket)
        let removed = try credentials.removeAll { $0.user == name && Self.isBucketUserKey($0, of: bucket) }
        return ["User": name, "DeletedKeyIds": removed.map(\.accessKey).sorted()]
    }
}
