import Foundation
import Glibc
import Testing

@testable import S3Protocol
@testable import StrataStore

/// Versioning on a real filesystem: ids, the configuration document, and what the store leaves on disk.
struct VersioningTests {
    @Test func versionIDsSortByAgeAndRoundTripTheirTime() {
        let early = VersionID.make(nanos: 1_764_000_000_000_000_000, random: 0xFFFF_FFFF)
        let late = VersionID.make(nanos: 1_764_000_000_000_000_001, random: 0)
        #expect(early.utf8.count == 24 && VersionID.isWellFormed(early) && VersionID.isWellFormed(late))
        #expect(Array(early.utf8).lexicographicallyPrecedes(Array(late.utf8)))
        #expect(VersionID.nanos(of: late) == 1_764_000_000_000_000_001)
        #expect(VersionID.nanos(of: VersionID.null) == nil)
        // Negative times (a clock before 1970) are clamped, never trapped on.
        #expect(VersionID.nanos(of: VersionID.make(nanos: -5, random: 1)) == 0)
        let fresh = (0..<100).map { _ in FileSystemStore.newVersionID() }
        #expect(fresh == fresh.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) } && Set(fresh).count == 100)
    }

    @Test func onlyNullAndTheServersFormAreVersionIDs() {
        for bad in [
            "", "NULL", "0000019adf2b3c4d5e6f7a8", "0000019ADF2B3C4D5E6F7A8B", "0000019adf2b3c4d5e6f7a8bc", "../../etc/passwd",
            "0000019adf2b3c4d5e6f7a8g",
        ] {
            #expect(!VersionID.isWellFormed(bad), "\(bad)")
            #expect(throws: S3Error.self) { try VersionID.parse(bad) }
        }
        #expect(VersionID.isWellFormed("null") && VersionID.isWellFormed("0000019adf2b3c4d5e6f7a8b"))
        #expect((try? VersionID.parse(nil)) == .some(nil))
    }

    @Test func versioningConfigurationIsParsedAsAWSDoes() throws {
        func parse(_ xml: String) throws(S3Error) -> VersioningStatus { try VersioningStatus.parseConfiguration(Array(xml.utf8)) }
        let ns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
        #expect(try parse("<VersioningConfiguration \(ns)><Status>Enabled</Status></VersioningConfiguration>") == .enabled)
        #expect(
            try parse("<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>") == .suspended
        )
        func code(_ xml: String) -> S3ErrorCode? {
            do { _ = try parse(xml) } catch { return error.code }
            return nil
        }
        #expect(code("<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>") == .illegalVersioningConfiguration)
        #expect(code("<VersioningConfiguration></VersioningConfiguration>") == .illegalVersioningConfiguration)
        #expect(code("<Versioning><Status>Enabled</Status></Versioning>") == .malformedXML)
        #expect(code("<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>") == .notImplemented)
        #expect(code("<VersioningConfiguration><Status>Enabled") == .malformedXML)
    }

    /// Writes `body` as a new version of `key` the way PutObject does.
    func put(_ root: TemporaryRoot, _ bucket: OpenFile, _ key: String, _ body: String) throws -> String? {
        let writer = try root.store.beginWrite(bucket: bucket, key: key, versioning: root.store.versioningStatus("bkt", bucket))
        try writer.write(Array(body.utf8))
        try writer.commit(metadata: ObjectMetadata(etag: writer.md5.hex()))
        return writer.versionId
    }

    func read(_ handle: ObjectHandle) throws -> String {
        var bytes = [UInt8](repeating: 0, count: Int(handle.size))
        let count = bytes.withUnsafeMutableBytes { pread(handle.file!.fd, $0.baseAddress, $0.count, 0) }
        return String(decoding: bytes.prefix(max(count, 0)), as: UTF8.self)
    }

    @Test func currentVersionIsThePlainFileAndEarlierOnesAreKept() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        _ = try put(root, bucket, "a/../b", "before versioning")
        try root.store.setVersioningStatus("bkt", bucket, .enabled)
        let v1 = try #require(try put(root, bucket, "a/../b", "one"))
        let v2 = try #require(try put(root, bucket, "a/../b", "two"))
        // The key's own path holds the current bytes; every earlier version reads back by id, the first as `null`.
        #expect(try read(root.store.openObject(bucket: bucket, key: "a/../b")) == "two")
        #expect(try read(root.store.openVersion(bucket, key: "a/../b", id: v1)) == "one")
        #expect(try read(root.store.openVersion(bucket, key: "a/../b", id: VersionID.null)) == "before versioning")
        #expect(try root.keys(bucket) == ["a/../b"])
        let listed = try root.store.listObjectVersions(
            bucket: bucket,
            ListVersionsArguments(bucket: "bkt", prefix: "", delimiter: nil, keyMarker: "", versionIdMarker: "", maxKeys: 1000, urlEncoded: false)
        )
        #expect(listed.versions.map(\.versionId) == [v2, v1, VersionID.null])
        #expect(listed.versions.map(\.isLatest) == [true, false, false])
    }

    @Test func anInterruptedArchiveLeavesNoDuplicateVersion() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.store.setVersioningStatus("bkt", bucket, .enabled)
        let v1 = try #require(try put(root, bucket, "k", "one"))
        // A crash after the current file was linked into the versions directory and before it was replaced.
        let stored = try #require(try root.store.versionsDirectory(bucket, "k", create: true))
        #expect(linkat(bucket.fd, "k", stored.fd, FileSystemStore.versionPrefix + v1, 0) == 0)
        let arguments = ListVersionsArguments(
            bucket: "bkt",
            prefix: "",
            delimiter: nil,
            keyMarker: "",
            versionIdMarker: "",
            maxKeys: 1000,
            urlEncoded: false
        )
        #expect(try root.store.listObjectVersions(bucket: bucket, arguments).versions.map(\.versionId) == [v1])
        // The next write archives the same version again over its leftover link.
        let v2 = try #require(try put(root, bucket, "k", "two"))
        #expect(try root.store.listObjectVersions(bucket: bucket, arguments).versions.map(\.versionId) == [v2, v1])
    }

    @Test func deleteMarkersHideTheKeyUntilRemovedAndBlockBucketDeletion() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.store.setVersioningStatus("bkt", bucket, .enabled)
        let v1 = try #require(try put(root, bucket, "dir/k", "one"))
        let marker = try root.store.deleteCurrentVersion(bucket, key: "dir/k", status: .enabled, condition: DeleteCondition(), owner: nil)
        #expect(marker.isDeleteMarker && marker.versionId != nil)
        #expect(try root.keys(bucket).isEmpty)
        #expect(root.store.newestDeleteMarker(bucket, key: "dir/k") == marker.versionId)
        #expect(throws: S3Error.self) { try root.store.deleteBucket("bkt") }
        // Removing the marker makes the version current again, at its own path.
        let removed = try root.store.deleteVersion(bucket, key: "dir/k", versionId: marker.versionId!, condition: DeleteCondition())
        #expect(removed.isDeleteMarker)
        #expect(try read(root.store.openObject(bucket: bucket, key: "dir/k")) == "one")
        _ = try root.store.deleteVersion(bucket, key: "dir/k", versionId: v1, condition: DeleteCondition())
        // Nothing is left of the versions tree, and the bucket can go.
        #expect((try? Sys.stat(bucket.fd, FileSystemStore.versionsRoot)) == nil)
        try root.store.deleteBucket("bkt")
    }
}
