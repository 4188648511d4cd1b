import Foundation
import Testing

@testable import S3Protocol
@testable import StrataStore

/// Entries made through S3 carry their recorded permission in their POSIX mode bits, so programs reading the files see
/// what S3 enforces; the server's own user keeps what it needs to serve them.
@Suite struct DiskModeTests {
    @Test func diskModesKeepTheServersOwnRights() {
        func mode(_ bits: UInt16, directory: Bool) -> UInt16 {
            Permission(owner: "o", group: "g", mode: bits).diskMode(isDirectory: directory)
        }
        #expect(mode(0o600, directory: false) == 0o600)
        #expect(mode(0o644, directory: false) == 0o644)
        #expect(mode(0o666, directory: false) == 0o666)
        #expect(mode(0o044, directory: false) == 0o644)
        #expect(mode(0o1644, directory: false) == 0o644)
        #expect(mode(0o700, directory: true) == 0o700)
        #expect(mode(0o555, directory: true) == 0o755)
        #expect(mode(0o1777, directory: true) == 0o1777)
        #expect(mode(0o000, directory: true) == 0o700)
    }

    static func mode(_ root: TemporaryRoot, _ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: root.path + "/" + path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o7777
    }

    static func write(_ root: TemporaryRoot, _ bucket: OpenFile, _ key: String, _ permission: Permission) throws {
        let writer = try root.store.beginWrite(bucket: bucket, key: key, permission: permission)
        try writer.write(Array("body".utf8))
        var meta = ObjectMetadata()
        meta.etag = writer.md5.hex()
        meta.permission = permission
        try writer.commit(metadata: meta)
    }

    @Test func everyRecordedPermissionIsMirrored() throws {
        let root = try TemporaryRoot()
        _ = try root.store.createBucket("private", owner: "alice", permission: Permission(owner: "alice", group: "alice", mode: 0o700))
        #expect(try Self.mode(root, "private") == 0o700)
        let bucket = try root.store.openBucket("private")
        try Self.write(root, bucket, "a/b/secret", Permission(owner: "alice", group: "alice", mode: 0o600))
        #expect(try Self.mode(root, "private/a/b/secret") == 0o600)
        #expect(try Self.mode(root, "private/a") == 0o700 && Self.mode(root, "private/a/b") == 0o700)
        try root.store.setObjectPermission(bucket: bucket, key: "a/b/secret", Permission(owner: "alice", group: "alice", mode: 0o664))
        #expect(try Self.mode(root, "private/a/b/secret") == 0o664)
        try root.store.setBucketPermission("private", Permission(owner: "alice", group: "alice", mode: 0o755))
        #expect(try Self.mode(root, "private") == 0o755)
        // A directory made for a key without an explicit permission takes its parent's recorded one.
        let inherited = try root.store.beginWrite(bucket: bucket, key: "c/d")
        try inherited.commit(metadata: ObjectMetadata(etag: emptyMD5))
        #expect(try Self.mode(root, "private/c") == 0o755)
        var directoryObject = ObjectMetadata()
        directoryObject.permission = Permission(owner: "alice", group: "alice", mode: 0o600)
        try root.store.putDirectoryObject(bucket: bucket, key: "dir/", metadata: directoryObject)
        #expect(try Self.mode(root, "private/dir") == 0o700)
    }

    @Test func filesWithoutARecordedPermissionAreLeftAlone() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        #expect(FileManager.default.createFile(atPath: root.path + "/bkt/outside", contents: Data("x".utf8), attributes: [.posixPermissions: 0o640]))
        try root.put(bucket, "plain")
        #expect(try Self.mode(root, "bkt/outside") == 0o640)
        #expect(try Self.mode(root, "bkt/plain") == 0o644)
    }
}
