import Foundation
import Glibc
import Testing

@testable import S3Protocol
@testable import StrataStore

/// ListObjectVersions walks the current files and the versions tree a window at a time: a page's work follows its
/// size, and its answers are those of the algorithm it replaced (kept below as the reference), page after page.
struct VersionListingTests {
    static func arguments(
        prefix: String = "",
        delimiter: String? = nil,
        keyMarker: String = "",
        versionIdMarker: String = "",
        maxKeys: Int
    )
        -> ListVersionsArguments
    {
        ListVersionsArguments(
            bucket: "bkt",
            prefix: prefix,
            delimiter: delimiter,
            keyMarker: keyMarker,
            versionIdMarker: versionIdMarker,
            maxKeys: maxKeys,
            urlEncoded: false
        )
    }

    /// Writes a new version of `key` the way PutObject does; its version id.
    @discardableResult
    static func put(_ root: TemporaryRoot, _ bucket: OpenFile, _ key: String, _ status: VersioningStatus?) throws -> String? {
        let writer = try root.store.beginWrite(bucket: bucket, key: key, versioning: status)
        try writer.write(Array(key.utf8))
        try writer.commit(metadata: ObjectMetadata(etag: writer.md5.hex()))
        return writer.versionId
    }

    @Test func aOneKeyPageReadsOnlyWhatItLists() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.store.setVersioningStatus("bkt", bucket, .enabled)
        for index in 0..<100 {
            let key = "p/k\(1000 + index)"
            for _ in 0..<10 { try Self.put(root, bucket, key, .enabled) }
            // Every third key is left with stored versions and a delete marker only.
            if index % 3 == 0 {
                _ = try root.store.deleteCurrentVersion(bucket, key: key, status: .enabled, condition: DeleteCondition(), owner: nil)
            }
        }
        for _ in 0..<1000 { try Self.put(root, bucket, "q/many", .enabled) }

        func page(_ arguments: ListVersionsArguments) throws -> (VersionsPage, VersionListingWork) {
            var work = VersionListingWork()
            let page = try root.store.listObjectVersions(bucket: bucket, arguments, work: &work)
            return (page, work)
        }
        let cases: [(String, ListVersionsArguments)] = [
            ("first page", Self.arguments(prefix: "p/", maxKeys: 1)),
            ("a key with only stored versions", Self.arguments(prefix: "p/k1000", maxKeys: 1)),
            ("after a key marker", Self.arguments(prefix: "p/", keyMarker: "p/k1074", maxKeys: 1)),
            ("a delimiter", Self.arguments(delimiter: "/", maxKeys: 1)),
            ("1,000 versions of one key", Self.arguments(prefix: "q/", maxKeys: 1)),
        ]
        for (name, arguments) in cases {
            let (listed, work) = try page(arguments)
            #expect(listed.versions.count + listed.commonPrefixes.count == 1 && listed.isTruncated, "\(name)")
            // The listed key and the next one, each perhaps below a versions-tree directory that holds no versions of
            // its own (`p` above `p/k1000`): at most four keys and four versions directories read. At most two stored
            // versions opened: the one listed, and the next, to know the page is truncated.
            #expect(work.keys <= 4 && work.versionDirectories <= 4 && work.storedVersions <= 2, "\(name): \(work)")
            #expect(listed.versions == (try root.store.referenceListObjectVersions(bucket: bucket, arguments)).versions, "\(name)")
        }
        // Resuming inside a key with 1,000 versions opens only the versions it lists.
        let (first, _) = try page(Self.arguments(prefix: "q/", maxKeys: 3))
        let resume = Self.arguments(prefix: "q/", keyMarker: "q/many", versionIdMarker: first.nextVersionIdMarker ?? "", maxKeys: 3)
        let (next, work) = try page(resume)
        #expect(next.versions.count == 3 && work.storedVersions <= 4 && work.keys <= 1, "\(work)")
        #expect(next.versions == (try root.store.referenceListObjectVersions(bucket: bucket, resume)).versions)
    }

    /// Segments chosen so that S3 order and directory order disagree: `a` sorts before `a-b` and `a.b`, whose
    /// directories `a-b/` and `a.b/` sort before `a/`; empty segments and `dir/` keys are escaped names.
    static let segments = ["a", "a-b", "a.b", "a b", "a-", "ab", "b", "", "-"]

    static func randomKey(_ random: inout SplitMix64) -> String {
        while true {
            let depth = 1 + random.below(3)
            let key = (0..<depth).map { _ in segments[random.below(segments.count)] }.joined(separator: "/")
            if !key.isEmpty { return key }
        }
    }

    /// A seeded history of puts (with versioning enabled, suspended, or before it was set), deletes that leave
    /// markers and deletes of single versions.
    static func randomHistory(_ root: TemporaryRoot, _ bucket: OpenFile, seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var keys: [String] = []
        for _ in 0..<15 {
            let key = randomKey(&random)
            keys.append(key)
            try put(root, bucket, key, nil)
        }
        var status = VersioningStatus.enabled
        try root.store.setVersioningStatus("bkt", bucket, status)
        for _ in 0..<160 {
            let key = random.below(4) == 0 ? randomKey(&random) : keys[random.below(keys.count)]
            keys.append(key)
            switch random.below(20) {
            case 0..<11:
                try put(root, bucket, key, status)
            case 11..<15:
                _ = try root.store.deleteCurrentVersion(bucket, key: key, status: status, condition: DeleteCondition(), owner: nil)
            case 15..<19:
                let versions = try root.store.referenceListObjectVersions(bucket: bucket, arguments(prefix: key, maxKeys: 1000)).versions
                if let victim = versions.filter({ $0.key == key }).randomElement(using: &random) {
                    _ = try root.store.deleteVersion(bucket, key: key, versionId: victim.versionId, condition: DeleteCondition())
                }
            default:
                status = status == .enabled ? .suspended : .enabled
                try root.store.setVersioningStatus("bkt", bucket, status)
            }
        }
    }

    static func expectSame(_ got: VersionsPage, _ expected: VersionsPage, _ context: @autoclosure () -> String) {
        #expect(got.versions == expected.versions, "\(context())")
        #expect(got.commonPrefixes == expected.commonPrefixes, "\(context())")
        #expect(got.isTruncated == expected.isTruncated, "\(context())")
        #expect(got.nextKeyMarker == expected.nextKeyMarker && got.nextVersionIdMarker == expected.nextVersionIdMarker, "\(context())")
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func pagesMatchTheGatherEverythingListing(seed: UInt64) throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try Self.randomHistory(root, bucket, seed: seed)
        var random = SplitMix64(seed: seed &* 7919)
        let all = try root.store.referenceListObjectVersions(bucket: bucket, Self.arguments(maxKeys: 100_000)).versions
        let prefixes = ["", "a", "a-", "a/", "a/a", "a.", "b", "/", "a b/", "-"] + all.map { String($0.key.utf8.prefix(1 + random.below(4)))! }
        for round in 0..<40 {
            let prefix = prefixes[random.below(prefixes.count)]
            let delimiter = [nil, "/", "-", "b", "a/"][random.below(5)]
            let maxKeys = [1, 2, 3, 5, 1000][random.below(5)]
            var markers = ("", "")
            for pageNumber in 0..<500 {
                let arguments = Self.arguments(
                    prefix: prefix,
                    delimiter: delimiter,
                    keyMarker: markers.0,
                    versionIdMarker: markers.1,
                    maxKeys: maxKeys
                )
                let got = try root.store.listObjectVersions(bucket: bucket, arguments)
                Self.expectSame(
                    got,
                    try root.store.referenceListObjectVersions(bucket: bucket, arguments),
                    "seed \(seed) round \(round) page \(pageNumber) \(arguments)"
                )
                guard got.isTruncated else { break }
                markers = (got.nextKeyMarker ?? "", got.nextVersionIdMarker ?? "")
            }
        }
        // Markers anywhere: each listed entry (and its key alone), a key that is not listed, and vanished versions.
        for _ in 0..<60 {
            guard let entry = all.randomElement(using: &random) else { break }
            let keyOnly = random.below(3) == 0
            let vanished = !keyOnly && random.below(3) == 0
            if vanished { _ = try root.store.deleteVersion(bucket, key: entry.key, versionId: entry.versionId, condition: DeleteCondition()) }
            let arguments = Self.arguments(
                prefix: ["", String(entry.key.utf8.prefix(1))!][random.below(2)],
                delimiter: [nil, "/"][random.below(2)],
                keyMarker: random.below(8) == 0 ? entry.key + "0" : entry.key,
                versionIdMarker: keyOnly ? "" : entry.versionId,
                maxKeys: [1, 3, 1000][random.below(3)]
            )
            Self.expectSame(
                try root.store.listObjectVersions(bucket: bucket, arguments),
                try root.store.referenceListObjectVersions(bucket: bucket, arguments),
                "seed \(seed) marker \(arguments)"
            )
        }
    }

    @Test func theDirectoryOrderOfTheVersionsTreeBecomesS3Order() throws {
        let root = try TemporaryRoot()
        let bucket = try root.bucket()
        try root.store.setVersioningStatus("bkt", bucket, .enabled)
        // Only stored versions (each key deleted), so every key comes from the versions tree.
        let keys = ["a", "a-b", "a-b-c", "a-b/x", "a.x", "a/y", "a b", "a/", "a//z", "-", "/lead", "b"]
        for key in keys {
            try Self.put(root, bucket, key, .enabled)
            _ = try root.store.deleteCurrentVersion(bucket, key: key, status: .enabled, condition: DeleteCondition(), owner: nil)
        }
        let listed = try root.store.listObjectVersions(bucket: bucket, Self.arguments(maxKeys: 1000)).versions
        let expected = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(listed.filter(\.isDeleteMarker).map(\.key) == expected)
        #expect(listed.filter { !$0.isDeleteMarker }.map(\.key) == expected)
        // Once every version is gone the bucket holds none, and can be deleted.
        for version in listed {
            _ = try root.store.deleteVersion(bucket, key: version.key, versionId: version.versionId, condition: DeleteCondition())
        }
        #expect(!root.store.holdsStoredVersions(bucket))
        try root.store.deleteBucket("bkt")
    }
}

extension SplitMix64: RandomNumberGenerator {
    /// A number in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

// MARK: - The reference: the listing before it was windowed, which gathered every stored version under the prefix.

extension FileSystemStore {
    func referenceListObjectVersions(bucket: OpenFile, _ arguments: ListVersionsArguments) throws(S3Error) -> VersionsPage {
        var page = VersionsPage()
        guard arguments.maxKeys > 0 else { return page }
        let prefix = Array(arguments.prefix.utf8)
        let keyMarker = Array(arguments.keyMarker.utf8)
        let delimiter = arguments.delimiter.map { Array($0.utf8) } ?? []
        func common(_ key: [UInt8]) -> [UInt8]? {
            guard !delimiter.isEmpty, let end = KeyGrouping.commonPrefixEnd(key, from: prefix.count, delimiter: delimiter) else { return nil }
            return Array(key[0..<end])
        }
        func isAfterMarker(_ item: [UInt8], isPrefix: Bool) -> Bool {
            keyMarker.isEmpty || keyMarker.lexicographicallyPrecedes(item) || (!isPrefix && item == keyMarker)
        }
        var stored: [[UInt8]: [StoredVersion]] = [:]
        if let root = try? Sys.openBeneath(bucket.fd, Self.versionsRoot, flags: Sys.readDirectory) {
            referenceGather(root, path: nil, prefix: prefix, into: &stored)
        }
        var current: [[UInt8]: ObjectSummary] = [:]
        var currentPrefixes: Set<[UInt8]> = []
        var counted = 0
        var start: String? = keyMarker.isEmpty ? nil : String(decoding: keyMarker.dropLast(), as: UTF8.self)
        var lastCurrent: [UInt8]?
        while counted <= arguments.maxKeys {
            let listed = try listObjects(bucket: bucket, prefix: arguments.prefix, delimiter: arguments.delimiter, startAfter: start, maxKeys: 1000)
            for summary in listed.contents {
                let key = Array(summary.key.utf8)
                current[key] = summary
                if isAfterMarker(key, isPrefix: false) { counted += 1 }
            }
            for text in listed.commonPrefixes {
                let item = Array(text.utf8)
                currentPrefixes.insert(item)
                if isAfterMarker(item, isPrefix: true) { counted += 1 }
            }
            guard listed.isTruncated, let last = listed.lastItem else {
                lastCurrent = nil
                break
            }
            lastCurrent = Array(last.utf8)
            start = last
        }
        var items: [(item: [UInt8], isPrefix: Bool)] = []
        var seenPrefixes: Set<[UInt8]> = []
        for key in Set(stored.keys).union(current.keys) {
            if let group = common(key) {
                if seenPrefixes.insert(group).inserted { items.append((group, true)) }
            } else {
                items.append((key, false))
            }
        }
        for item in currentPrefixes where seenPrefixes.insert(item).inserted { items.append((item, true)) }
        items.sort { $0.item.lexicographicallyPrecedes($1.item) }
        var count = 0
        for (item, isPrefix) in items {
            guard isAfterMarker(item, isPrefix: isPrefix) else { continue }
            if let lastCurrent, lastCurrent.lexicographicallyPrecedes(item) { break }
            if isPrefix {
                if count == arguments.maxKeys {
                    page.isTruncated = true
                    return page
                }
                let text = String(decoding: item, as: UTF8.self)
                page.commonPrefixes.append(text)
                page.nextKeyMarker = text
                page.nextVersionIdMarker = nil
                count += 1
                continue
            }
            var versions = Self.referenceVersions(of: String(decoding: item, as: UTF8.self), current: current[item], stored: stored[item] ?? [])
            if item == keyMarker {
                let marker = arguments.versionIdMarker
                guard !marker.isEmpty else { continue }
                if let at = versions.firstIndex(where: { $0.versionId == marker }) {
                    versions.removeFirst(at + 1)
                } else if let nanos = VersionID.nanos(of: marker) {
                    versions.removeAll { (VersionID.nanos(of: $0.versionId) ?? Int64($0.lastModifiedSeconds) &* 1_000_000_000) >= nanos }
                } else {
                    continue
                }
            }
            for version in versions {
                if count == arguments.maxKeys {
                    page.isTruncated = true
                    return page
                }
                page.versions.append(version)
                page.nextKeyMarker = version.key
                page.nextVersionIdMarker = version.versionId
                count += 1
            }
        }
        if lastCurrent != nil { page.isTruncated = count > 0 }
        if !page.isTruncated {
            page.nextKeyMarker = nil
            page.nextVersionIdMarker = nil
        }
        return page
    }

    static func referenceVersions(of key: String, current: ObjectSummary?, stored: [StoredVersion]) -> [ListedVersion] {
        var out: [ListedVersion] = []
        if let current { out.append(ListedVersion(key: key, current: current)) }
        for version in stored where version.id != out.first?.versionId {
            out.append(ListedVersion(key: key, stored: version, isLatest: out.isEmpty))
        }
        return out
    }

    func referenceGather(_ directory: OpenFile, path: [UInt8]?, prefix: [UInt8], into found: inout [[UInt8]: [StoredVersion]]) {
        var children: [String] = []
        var hasVersions = false
        try? Sys.forEachEntry(directory.fd) { cName, type in
            let name = String(cString: cName)
            if name.hasBytePrefix(Self.versionPrefix) {
                hasVersions = true
            } else if type == .directory || type == .unknown, name != ".", name != ".." {
                children.append(name)
            }
        }
        if hasVersions, let path, path.starts(with: prefix) {
            let versions = storedVersions(directory)
            if !versions.isEmpty { found[path] = versions }
        }
        for name in children {
            guard let segment = ObjectKey.segment(ofEntry: Array(name.utf8)) else { continue }
            let child = path.map { $0 + [UInt8(ascii: "/")] + segment } ?? segment
            guard child.starts(with: prefix) || prefix.starts(with: child) else { continue }
            guard let opened = try? Sys.openBeneath(directory.fd, name, flags: Sys.readDirectory) else { continue }
            referenceGather(opened, path: child, prefix: prefix, into: &found)
        }
    }
}
