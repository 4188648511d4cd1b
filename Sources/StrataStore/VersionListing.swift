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

/// What one page of ListObjectVersions read, counted so tests can check that it follows the page's size rather than
/// the number of versions under its prefix.
struct VersionListingWork {
    /// Keys looked at: current files and versions directories, merged.
    var keys = 0
    /// Versions directories whose names were read.
    var versionDirectories = 0
    /// Stored versions whose file and metadata were read.
    var storedVersions = 0
}

extension FileSystemStore {
    /// ListObjectVersions: the keys under `prefix` with their versions, keys in byte order and each key's versions
    /// newest first, the current file first. Two walks in S3 order, a window at a time, are merged: the current files
    /// (as ListObjects walks them) and the versions tree (so keys left with only stored versions or delete markers are
    /// there too). Each key's versions directory is read when the key is reached, its stored versions opened only as
    /// they are listed, and the walk stops once the page is full: a page costs what its entries cost, whatever the
    /// number of versions under the prefix.
    /// With a `viewer`, keys in directories it may not read and enter are left out, as ListObjects leaves them out.
    public func listObjectVersions(
        bucket: OpenFile,
        _ arguments: ListVersionsArguments,
        viewer: ListingViewer? = nil
    ) throws(S3Error)
        -> VersionsPage
    {
        var work = VersionListingWork()
        return try listObjectVersions(bucket: bucket, arguments, viewer: viewer, work: &work)
    }

    func listObjectVersions(
        bucket: OpenFile,
        _ arguments: ListVersionsArguments,
        viewer: ListingViewer? = nil,
        work: inout VersionListingWork
    ) throws(S3Error) -> VersionsPage {
        var page = VersionPageBuilder(arguments)
        guard arguments.maxKeys > 0 else { return page.finish() }
        var hidden: [[UInt8]: [UInt8]?] = [:]
        do {
            guard try resumeInMarkerKey(bucket, &page, viewer: viewer, work: &work) else { return page.finish() }
            let keys = VersionedKeys(store: self, bucket: bucket, arguments: arguments, grants: viewer.map(directoryGrants))
            while let next = try keys.next() {
                work.keys += 1
                // Keys left with only versions are found by the versions tree, which knows no permissions: the key's
                // own directories decide, and a hidden directory is passed over whole.
                if next.current == nil, let viewer, let directory = hiddenDirectory(bucket, key: next.key, viewer, cache: &hidden) {
                    keys.skip(prefix: directory + [UInt8(ascii: "/")])
                    continue
                }
                var versions = KeyVersions(self, key: next.key, current: next.current.flatMap { summary(of: $0) }, stored: next.stored, work: &work)
                // A directory of the versions tree that holds no versions of its own names no key: the keys below it
                // are reached on their own (and form their common prefix only if they are shown).
                if next.current == nil, versions.isEmpty { continue }
                if let group = page.group(of: next.key) {
                    keys.skip(prefix: group)
                    // A common prefix at or before the marker was reported on an earlier page.
                    if page.isAfterMarker(group), !page.add(prefix: group) { break }
                    continue
                }
                while let version = versions.next(self, work: &work) {
                    guard page.add(version) else { return page.finish() }
                }
            }
        } catch let error as SystemError {
            throw error.s3Error()
        } catch {
            throw S3Error(.internalError)
        }
        return page.finish()
    }

    /// A page that resumes inside the marker's key starts with its versions older than the version-id-marker (found by
    /// id, or by the time its id records when it was deleted since). False when they fill the page.
    private func resumeInMarkerKey(
        _ bucket: OpenFile,
        _ page: inout VersionPageBuilder,
        viewer: ListingViewer?,
        work: inout VersionListingWork
    ) throws(S3Error) -> Bool {
        let marker = page.keyMarker
        let versionMarker = page.versionIdMarker
        guard !marker.isEmpty, !versionMarker.isEmpty, marker.starts(with: page.prefix), page.group(of: marker) == nil else { return true }
        var hidden: [[UInt8]: [UInt8]?] = [:]
        if let viewer, hiddenDirectory(bucket, key: marker, viewer, cache: &hidden) != nil { return true }
        let key = String(decoding: marker, as: UTF8.self)
        let (directories, leaf) = ObjectKey.fileSegments(key)
        let current = (try? openParent(bucket, directories)).flatMap {
            summary(of: WalkedKey(key: key, directory: $0, name: leaf, isDirectory: false))
        }
        let stored = try versionsDirectory(bucket, key, create: false)
        var versions = KeyVersions(self, key: marker, current: current, stored: stored, work: &work)
        guard versions.skip(through: versionMarker) else { return true }
        while let version = versions.next(self, work: &work) {
            guard page.add(version) else { return false }
        }
        return true
    }
}

/// The page being filled: entries and common prefixes counted against max-keys; the next markers name the last one.
struct VersionPageBuilder {
    let prefix: [UInt8]
    let delimiter: [UInt8]
    let keyMarker: [UInt8]
    let versionIdMarker: String
    let maxKeys: Int
    private var page = VersionsPage()
    private var count = 0

    init(_ arguments: ListVersionsArguments) {
        prefix = Array(arguments.prefix.utf8)
        delimiter = arguments.delimiter.map { Array($0.utf8) } ?? []
        keyMarker = Array(arguments.keyMarker.utf8)
        versionIdMarker = arguments.versionIdMarker
        maxKeys = arguments.maxKeys
    }

    /// The common prefix a key rolls up into, if any.
    func group(of key: [UInt8]) -> [UInt8]? {
        guard !delimiter.isEmpty, let end = KeyGrouping.commonPrefixEnd(key, from: prefix.count, delimiter: delimiter) else { return nil }
        return Array(key[0..<end])
    }

    func isAfterMarker(_ group: [UInt8]) -> Bool {
        keyMarker.isEmpty || keyMarker.lexicographicallyPrecedes(group)
    }

    /// False when the page is already full: it is then truncated.
    mutating func add(_ version: ListedVersion) -> Bool {
        guard makeRoom() else { return false }
        page.versions.append(version)
        (page.nextKeyMarker, page.nextVersionIdMarker) = (version.key, version.versionId)
        return true
    }

    mutating func add(prefix group: [UInt8]) -> Bool {
        guard makeRoom() else { return false }
        let text = String(decoding: group, as: UTF8.self)
        page.commonPrefixes.append(text)
        (page.nextKeyMarker, page.nextVersionIdMarker) = (text, nil)
        return true
    }

    /// Counts one more item, unless the page is full: then it is truncated.
    private mutating func makeRoom() -> Bool {
        guard count < maxKeys else {
            page.isTruncated = true
            return false
        }
        count += 1
        return true
    }

    func finish() -> VersionsPage {
        var finished = page
        if !finished.isTruncated {
            finished.nextKeyMarker = nil
            finished.nextVersionIdMarker = nil
        }
        return finished
    }
}

/// The keys under a ListObjectVersions prefix after its key marker, in S3 order: the walk of the current files and
/// the walk of the versions tree, merged, each key once with what each walk found for it.
final class VersionedKeys {
    private let current: KeyWalker
    private let stored: KeyWalker?
    private var currentHead: (key: [UInt8], item: WalkedKey)?
    private var storedHead: (key: [UInt8], item: WalkedKey)?
    private var currentDone = false
    private var storedDone: Bool
    /// The current walk may yield a key twice in a row (a directory object and the file `dir/.strata.k.`): the first counts.
    private var lastCurrent: [UInt8]?

    init(store: FileSystemStore, bucket: OpenFile, arguments: ListVersionsArguments, grants: ((OpenFile, Rights) -> Bool)? = nil) {
        let start = arguments.keyMarker.isEmpty ? nil : arguments.keyMarker
        let window = max(256, min(arguments.maxKeys + 1, 4096))
        current = KeyWalker(store: store, bucket: bucket, prefix: arguments.prefix, startAfter: start, windowSize: window, grants: grants)
        stored = (try? Sys.openBeneath(bucket.fd, FileSystemStore.versionsRoot, flags: Sys.readDirectory)).map {
            KeyWalker(store: store, bucket: $0, prefix: arguments.prefix, startAfter: start, windowSize: window, versionsTree: true)
        }
        storedDone = stored == nil
    }

    func next() throws -> (key: [UInt8], current: WalkedKey?, stored: WalkedKey?)? {
        while currentHead == nil, !currentDone {
            guard let item = try current.next() else {
                currentDone = true
                break
            }
            let key = Array(item.key.utf8)
            if key == lastCurrent { continue }
            lastCurrent = key
            currentHead = (key, item)
        }
        if storedHead == nil, !storedDone {
            if let item = try stored?.next() { storedHead = (Array(item.key.utf8), item) } else { storedDone = true }
        }
        switch (currentHead, storedHead) {
        case (nil, nil):
            return nil
        case (let file?, let versions?) where file.key == versions.key:
            (currentHead, storedHead) = (nil, nil)
            return (file.key, file.item, versions.item)
        case (let file?, let versions) where versions.map({ file.key.lexicographicallyPrecedes($0.key) }) ?? true:
            currentHead = nil
            return (file.key, file.item, nil)
        case (_, let versions?):
            storedHead = nil
            return (versions.key, nil, versions.item)
        case (_, nil):
            return nil
        }
    }

    /// Skips every remaining key that starts with `prefix` (a CommonPrefix already reported or passed).
    func skip(prefix: [UInt8]) {
        current.skip(prefix: prefix)
        stored?.skip(prefix: prefix)
        if let head = currentHead, head.key.starts(with: prefix) { currentHead = nil }
        if let head = storedHead, head.key.starts(with: prefix) { storedHead = nil }
    }
}

/// One key's versions as ListObjectVersions lists them, newest first: the current file (when there is one), then the
/// stored versions, the first of them latest. The names of the stored versions order them (ids record their time),
/// so only the ones listed are opened. A stored copy of the current version (an archive interrupted before its file
/// went) is skipped.
struct KeyVersions {
    let key: String
    private var current: ObjectSummary?
    private let directory: OpenFile?
    private var names: [StoredVersionName]
    private var nextName = 0
    /// Whether the next stored version is the key's first entry.
    private var storedFirst: Bool

    init(_ store: FileSystemStore, key: [UInt8], current: ObjectSummary?, stored: WalkedKey?, work: inout VersionListingWork) {
        let directory = stored.flatMap { try? Sys.openBeneath($0.directory.fd, $0.name, flags: Sys.readDirectory) }
        self.init(store, key: key, current: current, stored: directory, work: &work)
    }

    init(_ store: FileSystemStore, key: [UInt8], current: ObjectSummary?, stored directory: OpenFile?, work: inout VersionListingWork) {
        self.key = String(decoding: key, as: UTF8.self)
        self.current = current
        self.directory = directory
        let currentID = current.map { $0.versionId ?? VersionID.null }
        if let directory {
            work.versionDirectories += 1
            let currentName = currentID.map(StoredVersionName.name(of:))
            names = store.storedVersionNames(directory).filter { $0.name != currentName }
        } else {
            names = []
        }
        storedFirst = current == nil
    }

    /// Whether the key has no version at all (a directory of the versions tree with none of its own).
    var isEmpty: Bool { current == nil && names.isEmpty }

    /// Moves past the version-id-marker; false when nothing after it is listed (an unknown `null` or foreign id).
    mutating func skip(through marker: String) -> Bool {
        if let current, (current.versionId ?? VersionID.null) == marker {
            self.current = nil
            storedFirst = false
            return true
        }
        let markerName = StoredVersionName.name(of: marker)
        if let at = names.firstIndex(where: { $0.name == markerName }) {
            storedFirst = false
            names.removeFirst(at + 1)
            current = nil
            return true
        }
        guard let nanos = VersionID.nanos(of: marker) else { return false }
        if let current, (VersionID.nanos(of: current.versionId ?? VersionID.null) ?? current.lastModifiedSeconds &* 1_000_000_000) >= nanos {
            self.current = nil
        }
        let kept = names.filter { $0.markerTime < nanos }
        if kept.first?.name != names.first?.name { storedFirst = false }
        names = kept
        return true
    }

    mutating func next(_ store: FileSystemStore, work: inout VersionListingWork) -> ListedVersion? {
        if let current {
            self.current = nil
            return ListedVersion(key: key, current: current)
        }
        while let directory, nextName < names.count {
            let name = names[nextName]
            nextName += 1
            work.storedVersions += 1
            guard let version = store.storedVersion(directory, name) else { continue }
            defer { storedFirst = false }
            return ListedVersion(key: key, stored: version, isLatest: storedFirst)
        }
        return nil
    }
}

extension ListedVersion {
    init(key: String, current: ObjectSummary) {
        self.init(
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
    }

    init(key: String, stored version: StoredVersion, isLatest: Bool) {
        self.init(
            key: key,
            versionId: version.id,
            isLatest: isLatest,
            isDeleteMarker: version.isDeleteMarker,
            etag: version.metadata?.etag ?? "",
            size: version.isDeleteMarker ? 0 : version.stat.size,
            lastModifiedSeconds: version.stat.mtimeSeconds,
            lastModifiedMilliseconds: Int(version.stat.mtimeNanoseconds / 1_000_000),
            owner: version.metadata?.owner
        )
    }
}
