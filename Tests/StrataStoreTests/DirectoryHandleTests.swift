import Foundation
import Glibc
import Testing

@testable import S3Protocol
@testable import StrataStore

/// The permission walk's held directories give exactly what reading the directories afresh gives, and see changes
/// made behind Strata's back (xattrs, chmod, a directory replaced or removed) at the next request.
@Suite struct DirectoryHandleTests {
    static let quietNanos: Int64 = 50_000_000

    static func root(entries: Int, quietNanos: Int64 = quietNanos) throws -> TemporaryRoot {
        var options = StoreOptions(syncPolicy: .none)
        options.directoryHandles = entries
        options.listingIndexQuietNanos = quietNanos
        return try TemporaryRoot(options: options)
    }

    /// Records a permission the way another program would: through its own descriptor, not Strata's.
    static func setAttribute(_ path: String, _ value: [UInt8]) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        #expect(fd >= 0)
        defer { close(fd) }
        try Sys.setAttribute(fd, Permission.attributeName, value)
    }

    /// Walks until both levels are held: a directory is kept only once it has been quiet for `quietNanos`.
    static func walkUntilHeld(_ root: TemporaryRoot, key: String, levels: Int) throws -> PathPermissions {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let path = try root.store.pathPermissions(bucket: "bkt", key: key, users: UserDirectory())
            if root.store.directoryHandles.count >= levels { return path }
            usleep(10_000)
        }
        Issue.record("directories were never held")
        return try root.store.pathPermissions(bucket: "bkt", key: key, users: UserDirectory())
    }

    /// What a store that holds nothing reads from the same root.
    static func freshWalk(_ root: TemporaryRoot, key: String) throws -> [Permission] {
        var options = StoreOptions(syncPolicy: .none)
        options.directoryHandles = 0
        let store = try FileSystemStore(rootPath: root.path, options: options)
        return try store.pathPermissions(bucket: "bkt", key: key, users: UserDirectory()).directories
    }

    static func directoryPermissions(_ root: TemporaryRoot, key: String) throws -> [Permission] {
        try root.store.pathPermissions(bucket: "bkt", key: key, users: UserDirectory()).directories
    }

    @Test func heldDirectoriesSeeChangesMadeOutsideStrata() throws {
        let root = try Self.root(entries: 16)
        let bucket = try root.bucket()
        try root.put(bucket, "d/obj")
        let first = try Self.walkUntilHeld(root, key: "d/obj", levels: 2)
        #expect(first.directories.count == 2)
        #expect(try first.directories == Self.freshWalk(root, key: "d/obj"))
        #expect(try Self.directoryPermissions(root, key: "d/obj") == first.directories)

        // Another program records a permission on the key's directory.
        let recorded = Permission(owner: "alice", group: "staff", mode: 0o750)
        let directoryPath = root.path + "/bkt/d"
        let value = recorded.encoded()
        try Self.setAttribute(directoryPath, value)
        #expect(try Self.directoryPermissions(root, key: "d/obj")[1] == recorded)
        #expect(try Self.directoryPermissions(root, key: "d/obj") == Self.freshWalk(root, key: "d/obj"))

        // S3 changes the bucket's own permission.
        let bucketPermission = Permission(owner: "tester", group: "tester", mode: 0o700, isPublic: true)
        try root.store.setBucketPermission("bkt", bucketPermission)
        #expect(try Self.directoryPermissions(root, key: "d/obj")[0] == bucketPermission)

        // The directory is replaced by another of the same name with another permission.
        _ = try Self.walkUntilHeld(root, key: "d/obj", levels: 2)
        #expect(rename(directoryPath, root.path + "/bkt/old") == 0)
        #expect(mkdir(directoryPath, 0o755) == 0)
        let replaced = Permission(owner: "bob", group: "bob", mode: 0o700)
        let replacedValue = replaced.encoded()
        try Self.setAttribute(directoryPath, replacedValue)
        let afterReplace = try root.store.pathPermissions(bucket: "bkt", key: "d/obj", users: UserDirectory())
        #expect(afterReplace.directories[1] == replaced)
        #expect(afterReplace.object == nil)

        // Removed, the directory is missing at once.
        #expect(rmdir(directoryPath) == 0)
        let afterRemove = try root.store.pathPermissions(bucket: "bkt", key: "d/obj", users: UserDirectory())
        #expect(!afterRemove.directoriesComplete)
        #expect(afterRemove.directories.count == 1)
    }

    @Test func removedBucketIsNoSuchBucketAtOnce() throws {
        let root = try Self.root(entries: 16)
        _ = try root.bucket()
        _ = try Self.walkUntilHeld(root, key: "obj", levels: 1)
        #expect(rename(root.path + "/bkt", root.path + "/gone") == 0)
        #expect(throws: S3Error.self) { try root.store.pathPermissions(bucket: "bkt", key: "obj", users: UserDirectory()) }
    }

    @Test func chmodOfAnUnrecordedDirectoryIsSeen() throws {
        let root = try Self.root(entries: 16)
        _ = try root.bucket()
        #expect(mkdir(root.path + "/bkt/plain", 0o755) == 0)
        let held = try Self.walkUntilHeld(root, key: "plain/obj", levels: 2)
        #expect(held.directories[1].mode == 0o755)
        #expect(chmod(root.path + "/bkt/plain", 0o700) == 0)
        #expect(try Self.directoryPermissions(root, key: "plain/obj")[1].mode == 0o700)
    }

    @Test func boundedAndOff() throws {
        let bounded = try Self.root(entries: 3, quietNanos: 0)
        let bucket = try bounded.bucket()
        for name in ["a", "b", "c", "d", "e"] { try bounded.put(bucket, name + "/obj") }
        for _ in 0..<3 {
            for name in ["a", "b", "c", "d", "e"] {
                #expect(try bounded.store.pathPermissions(bucket: "bkt", key: name + "/obj", users: UserDirectory()).object != nil)
                #expect(bounded.store.directoryHandles.count <= 3)
            }
        }
        let off = try Self.root(entries: 0, quietNanos: 0)
        let offBucket = try off.bucket()
        try off.put(offBucket, "a/obj")
        #expect(try off.store.pathPermissions(bucket: "bkt", key: "a/obj", users: UserDirectory()).directories.count == 2)
        #expect(off.store.directoryHandles.count == 0)
    }
}
