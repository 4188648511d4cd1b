import Foundation
import Testing

@testable import StrataStore

/// Listings through the sorted-names index give exactly what a bounded scan of the directory gives, page by page, and
/// see changes made behind Strata's back at the next page.
@Suite struct DirectoryIndexTests {
    static func options(indexBytes: Int, quietNanos: Int64 = 0) -> StoreOptions {
        var options = StoreOptions(syncPolicy: .none)
        options.listingIndexBytes = indexBytes
        options.listingIndexQuietNanos = quietNanos
        return options
    }

    /// Every page of a listing, as (contents + common prefixes) per page.
    static func pages(_ root: TemporaryRoot, _ bucket: OpenFile, prefix: String, delimiter: String?, maxKeys: Int) throws -> [[String]] {
        var pages: [[String]] = []
        var marker: String?
        for _ in 0..<10_000 {
            let page = try root.store.listObjects(bucket: bucket, prefix: prefix, delimiter: delimiter, startAfter: marker, maxKeys: maxKeys)
            pages.append(page.contents.map(\.key) + page.commonPrefixes)
            guard page.isTruncated else { break }
            marker = page.lastItem
        }
        return pages
    }

    static func fill(_ root: TemporaryRoot, _ bucket: OpenFile) throws {
        // A large flat directory with shared prefixes, a few subdirectories inside it and a directory object.
        for i in 0..<700 { try root.put(bucket, "flat/" + String(format: "k%04d", (i * 7919) % 700)) }
        for i in 0..<40 { try root.put(bucket, "flat/k0" + String(format: "%02d", i % 40) + "-x/leaf") }
        for i in 0..<30 { try root.put(bucket, "flat/m-" + String(i)) }
        try root.put(bucket, "flat/dir/")
        try root.put(bucket, "flat/dir/inner")
        try root.put(bucket, "top")
    }

    @Test func indexedPagesMatchScannedPages() throws {
        let indexed = try TemporaryRoot(options: Self.options(indexBytes: 64 << 20))
        let scanned = try TemporaryRoot(options: Self.options(indexBytes: 0))
        let tiny = try TemporaryRoot(options: Self.options(indexBytes: 2000))
        let buckets = try (indexed.bucket(), scanned.bucket(), tiny.bucket())
        try Self.fill(indexed, buckets.0)
        try Self.fill(scanned, buckets.1)
        try Self.fill(tiny, buckets.2)
        let cases: [(String, String?)] = [("", nil), ("flat/", nil), ("flat/", "/"), ("flat/k0", "-"), ("flat/m", nil), ("", "/"), ("flat/k00", "/")]
        for (prefix, delimiter) in cases {
            for maxKeys in [9, 1000] {
                let expected = try Self.pages(scanned, buckets.1, prefix: prefix, delimiter: delimiter, maxKeys: maxKeys)
                #expect(!expected.joined().isEmpty)
                #expect(try Self.pages(indexed, buckets.0, prefix: prefix, delimiter: delimiter, maxKeys: maxKeys) == expected)
                #expect(try Self.pages(tiny, buckets.2, prefix: prefix, delimiter: delimiter, maxKeys: maxKeys) == expected)
            }
        }
        #expect(indexed.store.directoryIndex.usage.directories >= 1)
        #expect(scanned.store.directoryIndex.usage.directories == 0)
        // 2,000 bytes hold no directory of this size: those listings fell back to scanning.
        #expect(tiny.store.directoryIndex.usage.directories == 0)
    }

    @Test func changesByOtherProgramsAreSeenAtTheNextPage() throws {
        let root = try TemporaryRoot(options: Self.options(indexBytes: 64 << 20))
        let bucket = try root.bucket()
        for i in 0..<600 { try root.put(bucket, String(format: "k%04d", i * 2)) }
        let first = try root.store.listObjects(bucket: bucket, prefix: "", delimiter: nil, startAfter: nil, maxKeys: 100)
        #expect(first.contents.last?.key == "k0198")
        #expect(root.store.directoryIndex.usage.directories == 1)
        // Another program adds a key inside the next page and removes one from it.
        let directory = root.path + "/bkt/"
        #expect(FileManager.default.createFile(atPath: directory + "k0201", contents: Data("new".utf8)))
        try FileManager.default.removeItem(atPath: directory + "k0204")
        let second = try root.store.listObjects(bucket: bucket, prefix: "", delimiter: nil, startAfter: first.lastItem, maxKeys: 4)
        #expect(second.contents.map(\.key) == ["k0200", "k0201", "k0202", "k0206"])
        #expect(second.contents[1].size == 3)
    }

    @Test func aDirectoryThatJustChangedIsNotKept() throws {
        let root = try TemporaryRoot(options: Self.options(indexBytes: 64 << 20, quietNanos: 3_600_000_000_000))
        let bucket = try root.bucket()
        for i in 0..<300 { try root.put(bucket, String(format: "k%04d", i)) }
        let page = try root.store.listObjects(bucket: bucket, prefix: "", delimiter: nil, startAfter: "k0100", maxKeys: 2)
        #expect(page.contents.map(\.key) == ["k0101", "k0102"])
        #expect(root.store.directoryIndex.usage.directories == 0)
    }

    @Test func theBudgetEvictsTheLeastRecentlyUsedDirectory() throws {
        // Room for about one directory of 300 names.
        let root = try TemporaryRoot(options: Self.options(indexBytes: 4000))
        let bucket = try root.bucket()
        for dir in ["a", "b"] { for i in 0..<300 { try root.put(bucket, dir + "/" + String(format: "%03d", i)) } }
        for dir in ["a/", "b/", "a/"] {
            let page = try root.store.listObjects(bucket: bucket, prefix: dir, delimiter: "/", startAfter: dir + "149", maxKeys: 1)
            #expect(page.contents.map(\.key) == [dir + "150"])
            #expect(root.store.directoryIndex.usage.directories == 1)
            #expect(root.store.directoryIndex.usage.bytes <= 4000)
        }
    }
}
