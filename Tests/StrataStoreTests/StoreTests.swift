import Foundation
import Testing

@testable import S3Protocol
@testable import StrataStore

/// The filesystem store on a real temporary directory with real xattrs.
final class TemporaryRoot {
    let path: String
    let store: FileSystemStore

    init(options: StoreOptions = StoreOptions(syncPolicy: .none)) throws {
        path = NSTemporaryDirectory() + "strata-store-test-" + UUID().uuidString
        store = try FileSystemStore(rootPath: path, options: options)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func bucket(_ name: String = "bkt") throws -> OpenFile {
        _ = try store.createBucket(name, owner: "tester")
        return try store.openBucket(name)
    }

    func put(_ bucket: OpenFile, _ key: String, _ body: String = "x") throws {
        if key.hasSuffix("/") {
            try store.putDirectoryObject(bucket: bucket, key: key, metadata: ObjectMetadata())
            return
        }
        let writer = try store.beginWrite(bucket: bucket, key: key)
        try writer.write(Array(body.utf8))
        var meta = ObjectMetadata()
        meta.etag = writer.md5.hex()
        try writer.commit(metadata: meta)
    }

    func keys(_ bucket: OpenFile, prefix: String = "", delimiter: String? = nil, startAfter: String? = nil, maxKeys: Int = 1000) throws -> [String] {
        let page = try store.listObjects(bucket: bucket, prefix: prefix, delimiter: delimiter, startAfter: startAfter, maxKeys: maxKeys)
        return page.contents.map(\.key) + page.commonPrefixes
    }
}

@Suite struct ListingOrderTests {
    @Test func listsInUTF8ByteOrderOfWholeKeys() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        let keys = ["a/b", "a-c", "a0", "a.b", "b", "a/b-c/d", "a/b/", "a/b0", "Z", "é", "a/a"]
        // `a/b` and `a/b/` cannot both exist on a filesystem; keep the directory form.
        for key in keys where key != "a/b" { try root.put(bucket, key) }
        let expected = keys.filter { $0 != "a/b" }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(try root.keys(bucket) == expected)
    }

    @Test func pagesResumeAfterTheMarkerAtAnyDepth() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        var all: [String] = []
        for i in 0..<7 { for j in 0..<3 { all.append("d\(i)/sub\(j)/f") } }
        all.append("d3-x")
        for key in all { try root.put(bucket, key) }
        all.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var collected: [String] = []
        var marker: String?
        for _ in 0..<100 {
            let page = try root.store.listObjects(bucket: bucket, prefix: "", delimiter: nil, startAfter: marker, maxKeys: 4)
            collected += page.contents.map(\.key)
            guard page.isTruncated else { break }
            marker = page.lastItem
        }
        #expect(collected == all)
    }

    @Test func windowedDirectoryReadsMatchAFullSort() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        let names = (0..<300).map { String(format: "k%05d", ($0 * 7919) % 300) }
        for name in names { try root.put(bucket, "flat/" + name) }
        let walker = KeyWalker(store: root.store, bucket: bucket, prefix: "flat/", startAfter: nil, windowSize: 16)
        var seen: [String] = []
        while let item = try walker.next() { seen.append(item.key) }
        #expect(seen == names.sorted().map { "flat/" + $0 })
    }

    @Test func delimiterGroupsAndSkipsEmptyDirectories() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        for key in ["x/1", "x/2", "y/z/3", "top"] { try root.put(bucket, key) }
        try FileManager.default.createDirectory(atPath: root.path + "/bkt/empty/inner", withIntermediateDirectories: true)
        #expect(try root.keys(bucket, delimiter: "/") == ["top", "x/", "y/"])
        #expect(try root.keys(bucket, delimiter: "/", startAfter: "x/") == ["y/"])
        #expect(try root.keys(bucket, delimiter: "/", startAfter: "x/1") == ["y/"])
        #expect(try root.keys(bucket, delimiter: "/", startAfter: "t") == ["top", "x/", "y/"])
        #expect(try root.keys(bucket, prefix: "y/", delimiter: "/") == ["y/z/"])
    }

    @Test func reservedAndSymlinkedEntriesAreInvisible() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.put(bucket, "real")
        _ = FileManager.default.createFile(atPath: root.path + "/bkt/.strata.tmp.leftover", contents: Data("x".utf8))
        try FileManager.default.createSymbolicLink(atPath: root.path + "/bkt/link", withDestinationPath: "/etc")
        #expect(try root.keys(bucket) == ["real"])
    }
}

@Suite struct AtomicWriteTests {
    @Test func uncommittedWritesLeaveNoTrace() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.put(bucket, "keep", "old")
        do {
            let writer = try root.store.beginWrite(bucket: bucket, key: "keep")
            try writer.write(Array("new data".utf8))
            let fresh = try root.store.beginWrite(bucket: bucket, key: "new/deep/dirs/file")
            try fresh.write(Array("y".utf8))
            writer.discard()
            _ = fresh  // dropped without commit
        }
        let handle = try root.store.openObject(bucket: bucket, key: "keep")
        #expect(handle.size == 3)
        #expect(!FileManager.default.fileExists(atPath: root.path + "/bkt/new"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path + "/bkt")
        #expect(leftovers == ["keep"])
    }

    @Test func metadataTravelsWithTheFileAndValidatesItsETag() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.put(bucket, "f", "hello")
        let first = try root.store.openObject(bucket: bucket, key: "f")
        #expect(first.metadata.etag == "5d41402abc4b2a76b9719d911017c592")
        // Rewritten outside S3: the validator no longer matches and the ETag is recomputed.
        try Data("hello world".utf8).write(to: URL(fileURLWithPath: root.path + "/bkt/f"))
        let second = try root.store.openObject(bucket: bucket, key: "f")
        #expect(second.metadata.etag == "5eb63bbbe01eeed093cb22bb8f5acdc3")
    }

    @Test func keyDirectoryCollisionsAreClearErrorsInStrictMode() throws {
        var options = StoreOptions(syncPolicy: .none)
        options.strictKeys = true
        let root = try TemporaryRoot(options: options)
        let bucket = try root.bucket()
        try root.put(bucket, "a")
        #expect(throws: S3Error.self) { try root.put(bucket, "a/b") }
        try root.put(bucket, "d/e")
        #expect(throws: S3Error.self) { try root.put(bucket, "d") }
        // An empty leftover directory may be replaced by an object.
        try FileManager.default.createDirectory(atPath: root.path + "/bkt/leftover", withIntermediateDirectories: false)
        try root.put(bucket, "leftover", "now a file")
        #expect(try root.store.openObject(bucket: bucket, key: "leftover").size == 10)
    }

    @Test func keysAndDirectoriesOfOneNameBothStay() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.put(bucket, "a", "object")
        try root.put(bucket, "a/b", "below")
        try root.put(bucket, "d/e", "below")
        try root.put(bucket, "d", "object")
        #expect(try root.store.openObject(bucket: bucket, key: "a").size == 6)
        #expect(try root.store.openObject(bucket: bucket, key: "d").size == 6)
        let page = try root.store.listObjects(bucket: bucket, prefix: "", delimiter: nil, startAfter: nil, maxKeys: 10)
        #expect(page.contents.map(\.key) == ["a", "a/b", "d", "d/e"])
    }

    @Test func sweeperRemovesOnlyOldTemporaryFiles() throws {
        let root = try TemporaryRoot()
        _ = try root.bucket()
        let old = root.path + "/bkt/.strata.tmp.old"
        let young = root.path + "/bkt/.strata.tmp.young"
        _ = FileManager.default.createFile(atPath: old, contents: Data())
        _ = FileManager.default.createFile(atPath: young, contents: Data())
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: old)
        #expect(TemporarySweeper.sweep(store: root.store, olderThanSeconds: 3600) == 1)
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(FileManager.default.fileExists(atPath: young))
    }

    @Test func sweeperSkipsATemporaryItsWriterStillLocks() throws {
        let root = try TemporaryRoot()
        _ = try root.bucket()
        // A slow upload's named temporary, untouched for two hours but still locked by its writer (here, or on
        // another node sharing the root: flock reaches both, as it is held by a separate open file description).
        let path = root.path + "/bkt/.strata.tmp.slow-upload"
        _ = FileManager.default.createFile(atPath: path, contents: Data("partial".utf8))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: path)
        let writer = open(path, O_RDWR)
        #expect(writer >= 0)
        #expect(flock(writer, LOCK_EX | LOCK_NB) == 0)
        #expect(TemporarySweeper.sweep(store: root.store, olderThanSeconds: 3600) == 0)
        #expect(FileManager.default.fileExists(atPath: path))
        // Its writer gone (crashed: the lock goes with the descriptor), the next sweep removes it.
        close(writer)
        #expect(TemporarySweeper.sweep(store: root.store, olderThanSeconds: 3600) == 1)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

@Suite struct MultipartLayoutTests {
    @Test func partRangesFromRunLengths() {
        var meta = ObjectMetadata()
        meta.partSizes = ObjectMetadata.runLengths([5, 5, 5, 2])
        #expect(meta.partSizes == [[5, 3], [2, 1]])
        #expect(meta.part(1, size: 17)?.found?.offset == 0)
        #expect(meta.part(3, size: 17)?.found?.offset == 10)
        #expect(meta.part(4, size: 17)?.found?.length == 2)
        #expect(meta.part(4, size: 17)?.count == 4)
        #expect(meta.part(5, size: 17)?.found == nil)
        #expect(ObjectMetadata().part(1, size: 0) == nil)
    }

    @Test func uploadIdsAreStrict() {
        #expect(FileSystemStore.isValidUploadId("0123456789abcdef0123456789abcdef"))
        for bad in ["", "../../etc", "0123456789ABCDEF0123456789ABCDEF", String(repeating: "a", count: 33)] {
            #expect(!FileSystemStore.isValidUploadId(bad))
        }
    }

    @Test func completeJoinsOnlyListedPartsAndReleasesClaimOnFailure() throws {
        let root = try TemporaryRoot()
        _ = try root.bucket()
        let info = try root.store.createUpload(bucketName: "bkt", key: "joined", owner: "t", metadata: ObjectMetadata(), tags: nil)
        let upload = try root.store.openUpload(bucketName: "bkt", key: "joined", uploadId: info.uploadId)
        var etags: [String] = []
        for (number, body) in [(1, "first-"), (2, "skipped-"), (3, "last")] {
            let writer = try root.store.beginPartWrite(upload, number: number)
            try writer.write(Array(body.utf8))
            var meta = ObjectMetadata()
            meta.etag = writer.md5.hex()
            etags.append(meta.etag)
            try writer.commit(metadata: meta)
        }
        #expect(throws: S3Error.self) {
            try root.store.completeUpload(
                upload,
                parts: [RequestedPart(number: 1, etag: etags[0]), RequestedPart(number: 3, etag: "wrong")],
                minPartSize: 0
            )
        }
        // The failed attempt left the upload intact.
        let again = try root.store.openUpload(bucketName: "bkt", key: "joined", uploadId: info.uploadId)
        let done = try root.store.completeUpload(
            again,
            parts: [RequestedPart(number: 1, etag: etags[0]), RequestedPart(number: 3, etag: "\"\(etags[2])\"")],
            minPartSize: 0
        )
        #expect(done.etag.hasSuffix("-2"))
        let object = try root.store.openObject(bucket: try root.store.openBucket("bkt"), key: "joined")
        #expect(object.size == Int64("first-last".utf8.count))
        #expect(try root.store.listUploads(bucketName: "bkt").isEmpty)
    }
}

@Suite struct ChecksumTests {
    func digest(_ algorithm: ChecksumAlgorithm, _ text: String, split: Int = 1000) -> [UInt8] {
        var summer = Checksummer(algorithm)
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let piece = Array(bytes[i..<min(bytes.count, i + split)])
            piece.withUnsafeBytes { summer.update($0) }
            i += split
        }
        return summer.digest()
    }

    @Test func standardCheckValues() {
        // The catalogue check values for "123456789", in any split.
        for split in [1, 3, 1000] {
            #expect(digest(.crc32, "123456789", split: split) == [0xCB, 0xF4, 0x39, 0x26])
            #expect(digest(.crc32c, "123456789", split: split) == [0xE3, 0x06, 0x92, 0x83])
            #expect(digest(.crc64nvme, "123456789", split: split) == [0xAE, 0x8B, 0x14, 0x86, 0x0A, 0x79, 0x98, 0x88])
        }
        var summer = Checksummer(.sha256)
        Array("abc".utf8).withUnsafeBytes { summer.update($0) }
        #expect(summer.base64() == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        #expect(Checksummer(.crc32).base64() == "AAAAAA==")
    }
}

/// Part layouts come from an xattr other programs can write: implausible ones are refused, empty parts work.
@Suite struct PartLayoutTests {
    func metadata(_ runs: [[Int64]]) -> ObjectMetadata {
        var meta = ObjectMetadata()
        meta.partSizes = runs
        return meta
    }

    @Test func emptyPartsHaveLengthZero() {
        let layout = metadata([[0, 1]]).part(1, size: 0)
        #expect(layout?.found?.offset == 0)
        #expect(layout?.found?.length == 0)
        #expect(layout?.count == 1)
        let two = metadata([[5, 1], [0, 1]]).part(2, size: 5)
        #expect(two?.found?.offset == 5)
        #expect(two?.found?.length == 0)
    }

    @Test func findsPartsInRuns() {
        let layout = metadata([[10, 3], [4, 1]]).part(3, size: 34)
        #expect(layout?.found?.offset == 20)
        #expect(layout?.found?.length == 10)
        #expect(layout?.count == 4)
        #expect(metadata([[10, 3], [4, 1]]).part(5, size: 34)?.found == nil)
    }

    @Test func implausibleLayoutsAreIgnored() {
        #expect(metadata([[-1, 1]]).part(1, size: 0) == nil)
        #expect(metadata([[1, -1]]).part(1, size: 0) == nil)
        #expect(metadata([[Int64.max, 3]]).part(1, size: 10) == nil)
        #expect(metadata([[10, 20_000]]).part(1, size: 200_000) == nil)
        #expect(metadata([[10, 2]]).part(1, size: 30) == nil)
    }
}
