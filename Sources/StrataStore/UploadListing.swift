import S3Protocol

/// One page of ListMultipartUploads.
public struct UploadsPage: Sendable {
    public var uploads: [UploadInfo] = []
    public var commonPrefixes: [String] = []
    public var isTruncated = false
    public var nextKeyMarker: String?
    public var nextUploadIdMarker: String?

    public init() {}
}

/// ListMultipartUploads without holding every upload of a bucket: uploads stream past one at a time and only the
/// `maxUploads + 1` smallest entries (uploads, or common prefixes standing for many) are kept, in S3's order:
/// key bytes, then initiation time, then upload id.
struct UploadPageBuilder {
    private enum Entry {
        case upload(UploadInfo)
        case prefix(String)

        var order: ([UInt8], Int64, String) {
            switch self {
            case .upload(let info): (Array(info.key.utf8), info.initiated, info.uploadId)
            case .prefix(let prefix): (Array(prefix.utf8), Int64.min, "")
            }
        }
    }

    let prefix: String
    let delimiter: String?
    let maxUploads: Int
    /// Entries must sort after this position: (key, initiated, upload id) of the marker.
    let after: ([UInt8], Int64, String)?
    private var entries: [Entry] = []

    init(prefix: String, delimiter: String?, maxUploads: Int, after: ([UInt8], Int64, String)?) {
        self.prefix = prefix
        self.delimiter = delimiter
        self.maxUploads = maxUploads
        self.after = after
    }

    private static func precedes(_ a: ([UInt8], Int64, String), _ b: ([UInt8], Int64, String)) -> Bool {
        if a.0 != b.0 { return a.0.lexicographicallyPrecedes(b.0) }
        if a.1 != b.1 { return a.1 < b.1 }
        return a.2.utf8.lexicographicallyPrecedes(b.2.utf8)
    }

    mutating func offer(_ info: UploadInfo) {
        guard info.key.hasBytePrefix(prefix) else { return }
        var entry = Entry.upload(info)
        if let delimiter,
            let end = KeyGrouping.commonPrefixEnd(Array(info.key.utf8), from: prefix.utf8.count, delimiter: Array(delimiter.utf8))
        {
            entry = .prefix(String(decoding: Array(info.key.utf8)[0..<end], as: UTF8.self))
        }
        let order = entry.order
        if let after {
            // A common prefix is past the marker only when it sorts after the marker's key and does not contain it.
            if case .prefix(let common) = entry, after.0.starts(with: Array(common.utf8)) { return }
            guard Self.precedes(after, order) else { return }
        }
        let index = entries.partitionIndex { !Self.precedes($0.order, order) }
        if index < entries.count, case .prefix(let existing) = entries[index], case .prefix(let new) = entry, existing.bytesEqual(new) { return }
        guard index <= maxUploads else { return }
        entries.insert(entry, at: index)
        if entries.count > maxUploads + 1 { entries.removeLast() }
    }

    func page() -> UploadsPage {
        var page = UploadsPage()
        page.isTruncated = entries.count > maxUploads
        for entry in entries.prefix(maxUploads) {
            switch entry {
            case .upload(let info):
                page.uploads.append(info)
                page.nextKeyMarker = info.key
                page.nextUploadIdMarker = info.uploadId
            case .prefix(let common):
                page.commonPrefixes.append(common)
                page.nextKeyMarker = common
                page.nextUploadIdMarker = nil
            }
        }
        return page
    }
}

extension Array {
    /// The first index whose element satisfies `belongsInSecondPartition`, for an array already partitioned by it.
    func partitionIndex(where belongsInSecondPartition: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if belongsInSecondPartition(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

extension FileSystemStore {
    /// Calls `body` with each upload of `bucketName`, reading one upload's record at a time.
    public func forEachUpload(bucketName: String, _ body: (UploadInfo) -> Void) throws(S3Error) {
        guard let uploads = try uploadsDirectory(bucketName, create: false) else { return }
        try? Sys.forEachEntry(uploads.fd) { cName, _ in
            let name = String(cString: cName)
            guard name.hasSuffix(options.multipartSuffix), let dir = try? Sys.openBeneath(uploads.fd, name, flags: Sys.readDirectory),
                let info = readInfo(dir), info.bucket.bytesEqual(bucketName)
            else { return }
            body(info)
        }
    }

    /// One page of ListMultipartUploads, in memory bounded by `maxUploads` whatever the number of uploads.
    public func listUploadsPage(
        bucketName: String,
        prefix: String,
        delimiter: String?,
        keyMarker: String,
        uploadIdMarker: String,
        maxUploads: Int,
        initiator: String? = nil
    ) throws(S3Error) -> UploadsPage {
        _ = try openBucket(bucketName)
        var after: ([UInt8], Int64, String)?
        if !keyMarker.isEmpty {
            // With an upload-id-marker, uploads of the marker key initiated after that upload follow; without one
            // (or when it is gone) the page starts after every upload of the marker key.
            if !uploadIdMarker.isEmpty, let marker = try? openUpload(bucketName: bucketName, key: keyMarker, uploadId: uploadIdMarker) {
                after = (Array(keyMarker.utf8), marker.info.initiated, marker.info.uploadId)
            } else {
                after = (Array(keyMarker.utf8), Int64.max, String(repeating: "\u{10FFFF}", count: 1))
            }
        }
        var builder = UploadPageBuilder(prefix: prefix, delimiter: delimiter, maxUploads: maxUploads, after: after)
        try forEachUpload(bucketName: bucketName) { upload in
            if let initiator, !upload.owner.bytesEqual(initiator) { return }
            builder.offer(upload)
        }
        return builder.page()
    }
}
