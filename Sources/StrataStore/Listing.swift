import Glibc
import S3Protocol

/// One object in a listing.
public struct ObjectSummary: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var lastModifiedSeconds: Int64
    public var lastModifiedMilliseconds: Int
    public var etag: String
    public var owner: String?
    /// The version id the file carries (nil: written without versioning, S3's `null`).
    public var versionId: String?

    public init(
        key: String,
        size: Int64,
        lastModifiedSeconds: Int64,
        lastModifiedMilliseconds: Int,
        etag: String,
        owner: String?,
        versionId: String? = nil
    ) {
        self.key = key
        self.size = size
        self.lastModifiedSeconds = lastModifiedSeconds
        self.lastModifiedMilliseconds = lastModifiedMilliseconds
        self.etag = etag
        self.owner = owner
        self.versionId = versionId
    }
}

/// Whom a listing is for, under the permission model: it shows only what that caller may read and enter.
public struct ListingViewer: Sendable {
    public let caller: Caller
    let users: UserDirectory

    public init(caller: Caller, users: UserDirectory) {
        self.caller = caller
        self.users = users
    }
}

/// One page of ListObjects / ListObjectsV2.
public struct ListPage: Sendable {
    public init() {}
    public var contents: [ObjectSummary] = []
    public var commonPrefixes: [String] = []
    public var isTruncated = false
    /// The last key or common prefix in the page: where the next page starts.
    public var lastItem: String?
}

extension FileSystemStore {
    /// Lists keys after `startAfter` that start with `prefix`, grouping at `delimiter` into common prefixes.
    /// Each key and each common prefix counts once toward `maxKeys`.
    /// With a `viewer`, directories it may not read and enter are not walked (see `KeyWalker`).
    public func listObjects(
        bucket: OpenFile,
        prefix: String,
        delimiter: String?,
        startAfter: String?,
        maxKeys: Int,
        viewer: ListingViewer? = nil
    ) throws(S3Error) -> ListPage {
        var page = ListPage()
        let walker = KeyWalker(
            store: self,
            bucket: bucket,
            prefix: prefix,
            startAfter: startAfter,
            windowSize: max(256, min(maxKeys + 1, 4096)),
            grants: viewer.map(directoryGrants)
        )
        let prefixCount = prefix.utf8.count
        let delimiterBytes = delimiter.map { Array($0.utf8) } ?? []
        let startBytes = startAfter.map { Array($0.utf8) }
        var count = 0
        var previousKey: String?
        do {
            while let item = try walker.next() {
                if let previousKey, previousKey.bytesEqual(item.key) { continue }
                previousKey = item.key
                let keyBytes = Array(item.key.utf8)
                if !delimiterBytes.isEmpty, let end = KeyGrouping.commonPrefixEnd(keyBytes, from: prefixCount, delimiter: delimiterBytes) {
                    let common = Array(keyBytes[0..<end])
                    // A common prefix at or before the marker was reported on an earlier page.
                    if let startBytes, !startBytes.lexicographicallyPrecedes(common) {
                        walker.skip(prefix: common)
                        continue
                    }
                    if count == maxKeys {
                        page.isTruncated = true
                        break
                    }
                    let text = String(decoding: common, as: UTF8.self)
                    page.commonPrefixes.append(text)
                    page.lastItem = text
                    count += 1
                    walker.skip(prefix: common)
                    continue
                }
                if count == maxKeys {
                    page.isTruncated = true
                    break
                }
                // A key removed since its directory was read is no longer there to list.
                guard let summary = summary(of: item) else { continue }
                page.contents.append(summary)
                page.lastItem = item.key
                count += 1
            }
        } catch let error as SystemError {
            throw error.s3Error()
        } catch {
            throw S3Error(.internalError)
        }
        return page
    }

    /// Whether a directory grants rights to a listing's viewer, by its recorded (or POSIX) permission.
    func directoryGrants(_ viewer: ListingViewer) -> (OpenFile, Rights) -> Bool {
        { directory, rights in
            guard let permission = try? self.permission(of: directory, users: viewer.users, kind: .directory) else { return false }
            return permission.grants(rights, to: viewer.caller)
        }
    }

    /// The regular file a walked key stands for: under the key's own entry name, or its displaced copy when a
    /// directory holds that name. Nil when it is gone.
    func fileEntry(of item: WalkedKey) -> (name: String, stat: FileStat)? {
        var name = item.name
        var found = try? Sys.stat(item.directory.fd, name)
        if found?.isRegular != true, !options.strictKeys {
            name = ObjectKey.displacedName(ofEntry: name)
            found = try? Sys.stat(item.directory.fd, name)
        }
        guard let st = found, st.isRegular else { return nil }
        return (name, st)
    }

    func summary(of item: WalkedKey) -> ObjectSummary? {
        if item.isDirectory {
            let st = try? Sys.stat(item.directory.fd, item.name)
            let meta = ObjectMetadata.decode(try? Sys.getAttribute(item.directory.fd, item.name, ObjectMetadata.attributeName))
            return ObjectSummary(
                key: item.key,
                size: 0,
                lastModifiedSeconds: st?.mtimeSeconds ?? 0,
                lastModifiedMilliseconds: Int((st?.mtimeNanoseconds ?? 0) / 1_000_000),
                etag: emptyMD5,
                owner: meta?.owner
            )
        }
        guard let (name, st) = fileEntry(of: item) else { return nil }
        let stored = ObjectMetadata.decode(try? Sys.getAttribute(item.directory.fd, name, ObjectMetadata.attributeName))
        var etag: String
        if let stored, stored.isValid(for: st) {
            etag = stored.etag
        } else if st.size <= options.listingETagMaxSize, let file = try? Sys.openBeneath(item.directory.fd, name, flags: O_RDONLY),
            let fresh = try? refreshETag(file: file, stat: st, stored: stored)
        {
            etag = fresh.etag
        } else {
            // Too large to hash inside a listing: a stable stand-in that changes with the file. The `-1`
            // suffix tells clients (as for multipart ETags) not to treat it as the content MD5.
            var md5 = MD5Accumulator()
            withUnsafeBytes(of: (st.inode, st.size, st.mtimeNanos)) { md5.update($0) }
            etag = md5.hex() + "-1"
        }
        return ObjectSummary(
            key: item.key,
            size: st.size,
            lastModifiedSeconds: st.mtimeSeconds,
            lastModifiedMilliseconds: Int(st.mtimeNanoseconds / 1_000_000),
            etag: etag,
            owner: stored?.owner,
            versionId: stored?.versionId
        )
    }
}

public enum KeyGrouping {
    /// The end index (exclusive) of the common prefix of `key`: up to and including the first `delimiter`
    /// found after the listing prefix, or nil when the key contains none.
    public static func commonPrefixEnd(_ key: [UInt8], from start: Int, delimiter: [UInt8]) -> Int? {
        guard !delimiter.isEmpty, key.count >= start + delimiter.count else { return nil }
        var i = start
        while i + delimiter.count <= key.count {
            if key[i] == delimiter[0] && key[i..<(i + delimiter.count)].elementsEqual(delimiter) { return i + delimiter.count }
            i += 1
        }
        return nil
    }
}
