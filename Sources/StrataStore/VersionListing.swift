import Glibc
import S3Protocol

/// One version in ListObjectVersions.
public struct ListedVersion: Sendable, Equatable {
    public var key: String
    public var versionId: String
    public var isLatest: Bool
    public var isDeleteMarker: Bool
    public var etag: String
    public var size: Int64
    public var lastModifiedSeconds: Int64
    public var lastModifiedMilliseconds: Int
    public var owner: String?
}

/// One page of ListObjectVersions.
public struct VersionsPage: Sendable {
    public var versions: [ListedVersion] = []
    public var commonPrefixes: [String] = []
    public var isTruncated = false
    public var nextKeyMarker: String?
    public var nextVersionIdMarker: String?
    public var bucketOwner: String?

    public init() {}
}

extension FileSystemStore {
    /// ListObjectVersions: the keys under `prefix` with their versions, keys in byte order and each key's versions
    /// newest first, the current file first. Current objects come from the listing walker, a page's worth at a
    /// time (grouped at the delimiter as ListObjects groups them); the stored versions under the prefix are
    /// gathered whole for each page, so a page costs as much as the prefix's stored versions.
    /// With a `viewer`, keys in directories it may not read and enter are left out, as ListObjects leaves them out.
    public func listObjectVersions(
        bucket: OpenFile,
        _ arguments: ListVersionsArguments,
        viewer: ListingViewer? = nil
    ) throws(S3Error)
        -> VersionsPage
    {
        var page = VersionsPage()
        guard arguments.maxKeys > 0 else { return page }
        let prefix = Array(arguments.prefix.utf8)
        let keyMarker = Array(arguments.keyMarker.utf8)
        let delimiter = arguments.delimiter.map { Array($0.utf8) } ?? []
        /// The common prefix a key rolls up into, if any.
        func common(_ key: [UInt8]) -> [UInt8]? {
            guard !delimiter.isEmpty, let end = KeyGrouping.commonPrefixEnd(key, from: prefix.count, delimiter: delimiter) else { return nil }
            return Array(key[0..<end])
        }
        /// Whether an item (a key, or a common prefix) can still appear on this page.
        func isAfterMarker(_ item: [UInt8], isPrefix: Bool) -> Bool {
            keyMarker.isEmpty || keyMarker.lexicographicallyPrecedes(item) || (!isPrefix && item == keyMarker)
        }

        var stored: [[UInt8]: [StoredVersion]] = [:]
        if let root = try? Sys.openBeneath(bucket.fd, Self.versionsRoot, flags: Sys.readDirectory) {
            gatherStoredVersions(root, path: nil, prefix: prefix, into: &stored)
        }
        if let viewer {
            var visible: [[UInt8]: [UInt8]?] = [:]
            stored = stored.filter { hiddenDirectory(bucket, key: $0.key, viewer, cache: &visible) == nil }
        }
        // Current objects from the marker on, until enough items for a full page are known (each item gives at
        // least one entry). Starting just before the marker keeps the marker's own key in view.
        var current: [[UInt8]: ObjectSummary] = [:]
        var currentPrefixes: Set<[UInt8]> = []
        var counted = 0
        var start: String? = keyMarker.isEmpty ? nil : String(decoding: keyMarker.dropLast(), as: UTF8.self)
        var lastCurrent: [UInt8]?
        while counted <= arguments.maxKeys {
            let listed = try listObjects(
                bucket: bucket,
                prefix: arguments.prefix,
                delimiter: arguments.delimiter,
                startAfter: start,
                maxKeys: 1000,
                viewer: viewer
            )
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

        // The page's items in order: keys, and common prefixes once each. Beyond the last current item listed, only
        // stored keys are known, so the page stops there (it holds enough items to be full by then).
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
            var versions = Self.versions(of: String(decoding: item, as: UTF8.self), current: current[item], stored: stored[item] ?? [])
            if item == keyMarker {
                // Within the marker's key: the versions older than the marker's version (found by id, or by the time
                // its id records when it was deleted since).
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
        if lastCurrent != nil {
            // Stopped at the end of what was listed: the next page goes on from there.
            page.isTruncated = count > 0
        }
        if !page.isTruncated {
            page.nextKeyMarker = nil
            page.nextVersionIdMarker = nil
        }
        return page
    }

    /// A key's versions, newest first: the current file (when there is one) and the stored versions, the first of
    /// them latest. A stored copy of the current version (an archive interrupted before its file went) is skipped.
    static func versions(of key: String, current: ObjectSummary?, stored: [StoredVersion]) -> [ListedVersion] {
        var out: [ListedVersion] = []
        if let current {
            out.append(
                ListedVersion(
                    key: key,
                    versionId: current.versionId ?? VersionID.null,
                    isLatest: true,
                    isDeleteMarker: false,
                    etag: current.etag,
                    size: current.size,
                    lastModifiedSeconds: current.lastModifiedSeconds,
                    lastModifiedMilliseconds: current.lastModifiedMilliseconds,
                    owner: current.owner
                )
            )
        }
        for version in stored where version.id != out.first?.versionId {
            out.append(
                ListedVersion(
                    key: key,
                    versionId: version.id,
                    isLatest: out.isEmpty,
                    isDeleteMarker: version.isDeleteMarker,
                    etag: version.metadata?.etag ?? "",
                    size: version.isDeleteMarker ? 0 : version.stat.size,
                    lastModifiedSeconds: version.stat.mtimeSeconds,
                    lastModifiedMilliseconds: Int(version.stat.mtimeNanoseconds / 1_000_000),
                    owner: version.metadata?.owner
                )
            )
        }
        return out
    }

    /// Walks the versions tree below `directory` (the key path `path`; nil at the tree's root), recording the stored
    /// versions of every key that starts with `prefix`; only directories that can hold such keys are entered.
    func gatherStoredVersions(_ directory: OpenFile, path: [UInt8]?, prefix: [UInt8], into found: inout [[UInt8]: [StoredVersion]]) {
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
            gatherStoredVersions(opened, path: child, prefix: prefix, into: &found)
        }
    }
}
