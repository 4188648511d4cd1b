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
    /// ListObjectVersions: every key under `prefix` with its versions, keys in byte order and each key's versions
    /// newest first, the current file first. The keys and versions under the prefix are gathered for each page, so
    /// a page costs as much as the prefix holds (unlike ListObjects, which has its index); versioned listings of
    /// very large prefixes are slow.
    public func listObjectVersions(bucket: OpenFile, _ arguments: ListVersionsArguments) throws(S3Error) -> VersionsPage {
        var page = VersionsPage()
        guard arguments.maxKeys > 0 else { return page }
        let prefix = Array(arguments.prefix.utf8)
        var stored: [[UInt8]: [StoredVersion]] = [:]
        if let root = try? Sys.openBeneath(bucket.fd, Self.versionsRoot, flags: Sys.readDirectory) {
            gatherStoredVersions(root, path: [], prefix: prefix, into: &stored)
        }
        var current: [[UInt8]: ObjectSummary] = [:]
        var startAfter: String?
        repeat {
            let listed = try listObjects(bucket: bucket, prefix: arguments.prefix, delimiter: nil, startAfter: startAfter, maxKeys: 1000)
            for summary in listed.contents { current[Array(summary.key.utf8)] = summary }
            startAfter = listed.isTruncated ? listed.lastItem : nil
        } while startAfter != nil
        let keys = Set(stored.keys).union(current.keys).sorted { $0.lexicographicallyPrecedes($1) }

        let keyMarker = Array(arguments.keyMarker.utf8)
        let delimiter = arguments.delimiter.map { Array($0.utf8) } ?? []
        var count = 0
        var lastCommon: [UInt8]?
        for key in keys {
            if !delimiter.isEmpty, let end = KeyGrouping.commonPrefixEnd(key, from: prefix.count, delimiter: delimiter) {
                let common = Array(key[0..<end])
                if common == lastCommon { continue }
                // A common prefix at or before the marker was reported on an earlier page.
                if !keyMarker.isEmpty, !keyMarker.lexicographicallyPrecedes(common) { continue }
                if count == arguments.maxKeys {
                    page.isTruncated = true
                    return page
                }
                lastCommon = common
                let text = String(decoding: common, as: UTF8.self)
                page.commonPrefixes.append(text)
                page.nextKeyMarker = text
                page.nextVersionIdMarker = nil
                count += 1
                continue
            }
            var versions = Self.versions(of: String(decoding: key, as: UTF8.self), current: current[key], stored: stored[key] ?? [])
            if !keyMarker.isEmpty {
                if key.lexicographicallyPrecedes(keyMarker) { continue }
                if key == keyMarker {
                    // Within the marker's key: the versions after (older than) the marker's version.
                    guard !arguments.versionIdMarker.isEmpty, let at = versions.firstIndex(where: { $0.versionId == arguments.versionIdMarker })
                    else { continue }
                    versions.removeFirst(at + 1)
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
        page.nextKeyMarker = nil
        page.nextVersionIdMarker = nil
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

    /// Walks the versions tree below `directory` (the key path `path`), recording the stored versions of every key
    /// that starts with `prefix`; only directories that can hold such keys are entered.
    private func gatherStoredVersions(_ directory: OpenFile, path: [UInt8], prefix: [UInt8], into found: inout [[UInt8]: [StoredVersion]]) {
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
        if hasVersions, !path.isEmpty, path.starts(with: prefix) {
            let versions = storedVersions(directory)
            if !versions.isEmpty { found[path] = versions }
        }
        for name in children {
            guard let segment = ObjectKey.segment(ofEntry: Array(name.utf8)) else { continue }
            let child = path.isEmpty ? segment : path + [UInt8(ascii: "/")] + segment
            guard child.starts(with: prefix) || prefix.starts(with: child) || prefix.starts(with: child + [UInt8(ascii: "/")]) else { continue }
            guard let opened = try? Sys.openBeneath(directory.fd, name, flags: Sys.readDirectory) else { continue }
            gatherStoredVersions(opened, path: child, prefix: prefix, into: &found)
        }
    }
}
