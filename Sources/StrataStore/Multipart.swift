import Foundation
import Glibc
import S3Protocol

/// What CreateMultipartUpload recorded, kept as `upload.json` in the upload's directory.
public struct UploadInfo: Codable, Sendable {
    public var bucket: String
    public var key: String
    public var uploadId: String
    public var owner: String
    /// Milliseconds since the epoch.
    public var initiated: Int64
    /// Content headers, user metadata and owner for the final object.
    public var metadata: ObjectMetadata
    public var tags: [[String]]?
    /// Set for THROUGH uploads: the upstream multipart upload the parts are forwarded to. Parts then exist only
    /// upstream; locally each part is an empty marker carrying its upstream ETag and size.
    public var upstreamUploadId: String?

    public var tagSet: TagSet? { tags.map { TagSet($0.compactMap { $0.count == 2 ? (key: $0[0], value: $0[1]) : nil }) } }
}

public struct PartInfo: Sendable, Equatable {
    public var number: Int
    public var size: Int64
    public var etag: String
    public var checksumAlgorithm: ChecksumAlgorithm?
    public var checksum: String?
    public var lastModifiedSeconds: Int64
    public var lastModifiedMilliseconds: Int
}

/// An open in-progress upload: its directory and what it records.
public struct Upload: Sendable {
    public let info: UploadInfo
    let directory: OpenFile
    let uploads: OpenFile
    let directoryName: String
}

public struct CompletedUpload: Sendable {
    public var etag: String
    public var lastModifiedSeconds: Int64
    public var metadata: ObjectMetadata

    public init(etag: String, lastModifiedSeconds: Int64, metadata: ObjectMetadata) {
        self.etag = etag
        self.lastModifiedSeconds = lastModifiedSeconds
        self.metadata = metadata
    }
}

/// One `<Part>` of a CompleteMultipartUpload request.
public struct RequestedPart: Sendable {
    public var number: Int
    public var etag: String
    public var checksum: (algorithm: ChecksumAlgorithm, value: String)?

    public init(number: Int, etag: String, checksum: (algorithm: ChecksumAlgorithm, value: String)? = nil) {
        self.number = number
        self.etag = etag
        self.checksum = checksum
    }
}

/// Multipart uploads. Each upload is a directory `<uploadId><suffix>` under `.strata.uploads` in the top-level
/// bucket, holding `upload.json` and one file per part named by its number. All state is on disk, so uploads
/// survive restarts and every server process sharing the root sees the same uploads.
extension FileSystemStore {
    public static let maxPartNumber = 10_000
    static let infoFile = "upload.json"
    static let abortingPrefix = ReservedNames.prefix + "aborting."
    /// Held by a Complete in progress (and by a cleaner removing the upload).
    static let completeLock = "complete.lock"

    public static func isValidUploadId(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// `.strata.uploads` of the top-level bucket holding `bucketName` (nested buckets share their top's).
    func uploadsDirectory(_ bucketName: String, create: Bool) throws(S3Error) -> OpenFile? {
        let top = bucketName.splitBytes(UInt8(ascii: ":")).first ?? ""
        let topHandle = try openBucket(top)
        if create {
            do { try Sys.mkdir(topHandle.fd, ReservedNames.uploadsDirectory) } catch {
                if error.errno != EEXIST { throw error.s3Error() }
            }
        }
        return try? Sys.openBeneath(topHandle.fd, ReservedNames.uploadsDirectory, flags: Sys.readDirectory)
    }

    public func createUpload(
        bucketName: String,
        key: String,
        owner: String,
        metadata: ObjectMetadata,
        tags: TagSet?,
        upstreamUploadId: String? = nil
    ) throws(S3Error) -> UploadInfo {
        _ = try openBucket(bucketName)
        guard let uploads = try uploadsDirectory(bucketName, create: true) else { throw S3Error(.internalError) }
        let uploadId = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let name = uploadId + options.multipartSuffix
        let info = UploadInfo(
            bucket: bucketName,
            key: key,
            uploadId: uploadId,
            owner: owner,
            initiated: Int64(Date().timeIntervalSince1970 * 1000),
            metadata: metadata,
            tags: tags.map { $0.tags.map { [$0.key, $0.value] } },
            upstreamUploadId: upstreamUploadId
        )
        do {
            try Sys.mkdir(uploads.fd, name, mode: 0o755)
            let directory = try Sys.openBeneath(uploads.fd, name, flags: Sys.readDirectory)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try DurableFile.replace(
                in: directory.fd,
                name: FileSystemStore.infoFile,
                contents: Array((try? encoder.encode(info)) ?? Data()),
                mode: 0o644
            )
        } catch let error as S3Error {
            _ = try? removeRecursively(uploads, name)
            throw error
        } catch let error as SystemError {
            _ = try? removeRecursively(uploads, name)
            throw error.s3Error()
        } catch {
            _ = try? removeRecursively(uploads, name)
            throw S3Error(.internalError, "The upload's record could not be written: \(error)")
        }
        return info
    }

    /// Opens an upload of `bucket`/`key`; NoSuchUpload when the id is unknown, finished or for another object.
    public func openUpload(bucketName: String, key: String, uploadId: String) throws(S3Error) -> Upload {
        let noSuchUpload = S3Error(.noSuchUpload, details: [("UploadId", uploadId)])
        // An upload in a bucket that does not exist is the bucket's absence first, as for any request.
        guard FileSystemStore.isValidUploadId(uploadId), let uploads = try uploadsDirectory(bucketName, create: false) else {
            _ = try openBucket(bucketName)
            throw noSuchUpload
        }
        let name = uploadId + options.multipartSuffix
        guard let directory = try? Sys.openBeneath(uploads.fd, name, flags: Sys.readDirectory), let info = readInfo(directory),
            info.bucket.bytesEqual(bucketName), info.key.bytesEqual(key)
        else {
            _ = try openBucket(bucketName)
            throw noSuchUpload
        }
        return Upload(info: info, directory: directory, uploads: uploads, directoryName: name)
    }

    func readInfo(_ directory: OpenFile) -> UploadInfo? {
        guard let file = try? Sys.openBeneath(directory.fd, FileSystemStore.infoFile, flags: O_RDONLY), let st = try? Sys.stat(file.fd),
            st.size < 1 << 20
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.size))
        let n = bytes.withUnsafeMutableBytes { (try? Sys.pread(file.fd, $0, offset: 0)) ?? -1 }
        guard n == bytes.count else { return nil }
        return try? JSONDecoder().decode(UploadInfo.self, from: Data(bytes))
    }

    /// Starts writing part `number`; the part replaces any earlier upload of the same number when committed.
    public func beginPartWrite(_ upload: Upload, number: Int) throws(S3Error) -> ObjectWriter {
        try ObjectWriter(store: self, directory: upload.directory, name: String(number))
    }

    /// The parts uploaded so far, in part-number order.
    public func listParts(_ upload: Upload) throws(S3Error) -> [PartInfo] {
        var numbers: [Int] = []
        do {
            try Sys.forEachEntry(upload.directory.fd) { cName, _ in
                if let n = Int(String(cString: cName)), (1...FileSystemStore.maxPartNumber).contains(n) { numbers.append(n) }
            }
        } catch let error as SystemError {
            throw error.s3Error()
        } catch {
            throw S3Error(.internalError)
        }
        return numbers.sorted().compactMap { part(upload.directory, $0) }
    }

    func part(_ directory: OpenFile, _ number: Int) -> PartInfo? {
        let name = String(number)
        guard let st = try? Sys.stat(directory.fd, name), st.isRegular,
            let meta = ObjectMetadata.decode(try? Sys.getAttribute(directory.fd, name, ObjectMetadata.attributeName))
        else { return nil }
        // A forwarded part's marker is empty; its metadata records the upstream part's size.
        return PartInfo(
            number: number,
            size: meta.upstreamETag != nil ? meta.size : st.size,
            etag: meta.etag,
            checksumAlgorithm: meta.checksumAlgorithm,
            checksum: meta.checksum,
            lastModifiedSeconds: st.mtimeSeconds,
            lastModifiedMilliseconds: Int(st.mtimeNanoseconds / 1_000_000)
        )
    }

    /// Records a part forwarded to the upstream: an empty marker with the upstream part's ETag and size.
    public func recordForwardedPart(_ upload: Upload, number: Int, etag: String, size: Int64) throws(S3Error) {
        let writer = try beginPartWrite(upload, number: number)
        var meta = ObjectMetadata(etag: etag)
        meta.upstreamETag = etag
        try writer.commit(metadata: meta)
        // commit stamps the marker's own size; record the part's.
        let path = String(number)
        do {
            meta.size = size
            try Sys.setAttribute(upload.directory.fd, path, ObjectMetadata.attributeName, meta.encoded())
        } catch { throw error.s3Error() }
    }

    /// Claims and removes a finished forwarded upload.
    public func finishForwardedUpload(_ upload: Upload) {
        _ = try? discardUploadDirectory(upload.uploads, upload.directoryName)
    }

    public func abortUpload(_ upload: Upload) throws(S3Error) {
        do { try discardUploadDirectory(upload.uploads, upload.directoryName) } catch {
            throw S3Error(.noSuchUpload, details: [("UploadId", upload.info.uploadId)])
        }
    }

    /// Removes an upload's directory so that the upload disappears at once: renamed to a fresh claim name first, so
    /// a crash while removing its parts leaves only the claim (which the cleaner finishes), never an upload that
    /// still answers with some of its parts gone.
    func discardUploadDirectory(_ uploads: OpenFile, _ name: String) throws(SystemError) {
        let claim = FileSystemStore.abortingPrefix + UUID().uuidString.lowercased()
        try Sys.rename(uploads.fd, name, uploads.fd, claim, noReplace: true)
        try removeRecursively(uploads, claim)
    }

    /// Aborts every in-progress upload of a bucket and frees its parts (DeleteBucket, as AWS: uploads do not keep a
    /// bucket alive).
    func abortUploads(bucketName: String) throws(S3Error) {
        guard let uploads = try uploadsDirectory(bucketName, create: false) else { return }
        var names: [String] = []
        try forEachUpload(bucketName: bucketName) { names.append($0.uploadId + options.multipartSuffix) }
        for name in names { _ = try? discardUploadDirectory(uploads, name) }
    }

    /// In-progress uploads of a bucket, sorted by key and then initiation time.
    public func listUploads(bucketName: String) throws(S3Error) -> [UploadInfo] {
        var infos: [UploadInfo] = []
        try forEachUpload(bucketName: bucketName) { infos.append($0) }
        return infos.sorted {
            if !$0.key.bytesEqual($1.key) { return $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            return ($0.initiated, $0.uploadId) < ($1.initiated, $1.uploadId)
        }
    }

    /// Validates the client's part list as AWS does, then joins exactly those parts into the object (the kernel
    /// copies; no pass through user space) and publishes it atomically. Completes of one upload take turns under a
    /// lock file in its directory, on whichever node they arrive; one that dies mid-way drops the lock and leaves the
    /// upload whole, so the client's retry through any node completes it.
    public func completeUpload(
        _ upload: Upload,
        parts requested: [RequestedPart],
        minPartSize: Int64,
        condition: WriteCondition = .none,
        statedChecksum: (algorithm: ChecksumAlgorithm, value: String)? = nil
    ) throws(S3Error) -> CompletedUpload {
        let noSuchUpload = S3Error(.noSuchUpload, details: [("UploadId", upload.info.uploadId)])
        let lock: FileLock?
        do { lock = try FileLock.acquire(in: upload.directory.fd, FileSystemStore.completeLock, exclusive: true) } catch {
            throw error.errno == ENOENT ? noSuchUpload : S3Error(.serviceUnavailable, "The upload could not be locked (\(error)).")
        }
        defer { withExtendedLifetime(lock) {} }
        // The holder before us may have completed it, or a cleaner aborted it: it must still be at its name.
        guard let current = try? Sys.openBeneath(upload.uploads.fd, upload.directoryName, flags: Sys.readDirectory),
            (try? Sys.stat(current.fd).inode) == (try? Sys.stat(upload.directory.fd).inode)
        else { throw noSuchUpload }
        let parts = try validateParts(upload, requested, minPartSize: minPartSize)
        let result = try assemble(upload, parts: parts, condition: condition, statedChecksum: statedChecksum)
        _ = try? discardUploadDirectory(upload.uploads, upload.directoryName)
        return result
    }

    /// The client's part list checked as AWS does; returns the parts it names, in order.
    public func validateParts(_ upload: Upload, _ requested: [RequestedPart], minPartSize: Int64) throws(S3Error) -> [PartInfo] {
        guard !requested.isEmpty else { throw S3Error(.malformedXML, "The XML you provided did not list any parts.") }
        guard requested.count <= FileSystemStore.maxPartNumber else { throw S3Error(.malformedXML, "A multipart upload has at most 10000 parts.") }
        // As AWS: the order of the whole list first, then each part's existence and ETag, then sizes.
        for (previous, next) in zip(requested, requested.dropFirst()) where next.number < previous.number {
            throw S3Error(.invalidPartOrder)
        }
        // A part number listed twice (a part re-sent while its first upload was still running) counts once: the
        // last entry names the part as it was stored last.
        let distinct = zip(requested, requested.dropFirst().map(Optional.some) + [nil]).compactMap { item, next in
            next?.number == item.number ? nil : item
        }
        var parts: [PartInfo] = []
        for item in distinct {
            guard let part = part(upload.directory, item.number), part.etag == Conditions.unquote(item.etag) else {
                throw S3Error(.invalidPart, details: [("UploadId", upload.info.uploadId), ("PartNumber", "\(item.number)"), ("ETag", item.etag)])
            }
            if let claimed = item.checksum, claimed.algorithm != part.checksumAlgorithm || claimed.value != part.checksum {
                throw S3Error(
                    .invalidPart,
                    "The \(claimed.algorithm.rawValue) checksum of part \(item.number) does not match the part that was uploaded.",
                    details: [("PartNumber", "\(item.number)")]
                )
            }
            parts.append(part)
        }
        for part in parts.dropLast() where part.size < minPartSize {
            throw S3Error(
                .entityTooSmall,
                details: [
                    ("ProposedSize", "\(part.size)"), ("MinSizeAllowed", "\(minPartSize)"), ("PartNumber", "\(part.number)"),
                    ("ETag", "\"\(part.etag)\""),
                ]
            )
        }
        return parts
    }

    private func assemble(
        _ upload: Upload,
        parts: [PartInfo],
        condition: WriteCondition,
        statedChecksum: (algorithm: ChecksumAlgorithm, value: String)?
    ) throws(S3Error) -> CompletedUpload {
        let bucket = try openBucket(upload.info.bucket)
        let directory = upload.directory
        let writer = try beginWrite(
            bucket: bucket,
            key: upload.info.key,
            permission: upload.info.metadata.permission,
            versioning: versioningStatus(upload.info.bucket, bucket)
        )
        var digests: [UInt8] = []
        for part in parts {
            let file: OpenFile
            do { file = try Sys.openBeneath(directory.fd, String(part.number), flags: O_RDONLY) } catch {
                throw S3Error(.invalidPart, details: [("PartNumber", "\(part.number)")])
            }
            try writer.copy(from: file, offset: 0, length: part.size)
            digests += FileSystemStore.hexBytes(part.etag)
        }
        var combined = MD5Accumulator()
        digests.withUnsafeBytes { combined.update($0) }
        var meta = upload.info.metadata
        meta.etag = "\(combined.hex())-\(parts.count)"
        if let algorithm = meta.checksumAlgorithm {
            // Every part's own checksum of the upload's algorithm, or nil when some part has none.
            let partChecksums = parts.compactMap { $0.checksumAlgorithm == algorithm ? $0.checksum : nil }
            let complete = partChecksums.count == parts.count ? partChecksums : nil
            if meta.checksumIsComposite == false {
                // A full-object checksum cannot be derived from part checksums here: read the joined data once.
                meta.checksum = try checksum(of: writer, algorithm: algorithm)
            } else {
                meta.checksum = complete.flatMap { Checksummer.composite(algorithm, parts: $0) }
            }
            if meta.checksum == nil { meta.checksumAlgorithm = nil } else { meta.partChecksums = complete }
        }
        if let stated = statedChecksum {
            // A composite value may be stated with or without its `-N` part count.
            func bare(_ value: String) -> Substring { value.split(separator: "-", maxSplits: 1).first ?? Substring(value) }
            guard stated.algorithm == meta.checksumAlgorithm, let computed = meta.checksum, bare(computed) == bare(stated.value) else {
                writer.discard()
                throw S3Error(.badDigest, "The \(stated.algorithm.rawValue) you specified did not match the calculated checksum.")
            }
        }
        meta.multipartUploadId = upload.info.uploadId
        meta.partSizes = ObjectMetadata.runLengths(parts.map(\.size))
        // Keep within one ext4 xattr block: the part checksums go first, then the part sizes.
        if meta.encoded().count > 3000 { meta.partChecksums = nil }
        if meta.encoded().count > 3000 { meta.partSizes = nil }
        let st = try writer.commit(metadata: meta, tags: upload.info.tagSet, condition: condition)
        meta.versionId = writer.versionId
        return CompletedUpload(etag: meta.etag, lastModifiedSeconds: st.mtimeSeconds, metadata: meta)
    }

    /// Aborts uploads idle longer than `idleSeconds` (the directory's mtime moves with every part), and removes
    /// claims left by a Complete that crashed. Returns the directories to remove with removeExpiredUpload.
    public func expiredUploads(idleSeconds: Int64, now: Int64 = Int64(Date().timeIntervalSince1970)) -> [(uploads: OpenFile, name: String)] {
        var expired: [(OpenFile, String)] = []
        guard let buckets = try? listBuckets() else { return [] }
        for bucket in buckets {
            guard let uploads = try? uploadsDirectory(bucket.name, create: false) else { continue }
            try? Sys.forEachEntry(uploads.fd) { cName, _ in
                let name = String(cString: cName)
                // Claims of an abort that crashed are finished too.
                guard name.contains(options.multipartSuffix) || name.hasPrefix(FileSystemStore.abortingPrefix),
                    let st = try? Sys.stat(uploads.fd, name), st.isDirectory,
                    now - st.mtimeSeconds > idleSeconds
                else { return }
                expired.append((uploads, name))
            }
        }
        return expired
    }

    /// What an expired upload recorded (nil for a claim left by a crashed Complete).
    public func uploadInfo(_ uploads: OpenFile, _ name: String) -> UploadInfo? {
        guard let dir = try? Sys.openBeneath(uploads.fd, name, flags: Sys.readDirectory) else { return nil }
        return readInfo(dir)
    }

    /// Removes one expired upload directory; claims it first so a concurrent Complete or another server's cleaner
    /// cannot be working on the same directory.
    public func removeExpiredUpload(_ uploads: OpenFile, _ name: String) throws(S3Error) {
        // A Complete in progress on any node holds the upload's lock: leave the upload to it.
        let directory = try? Sys.openBeneath(uploads.fd, name, flags: Sys.readDirectory)
        let lock = directory.flatMap { try? FileLock.acquire(in: $0.fd, FileSystemStore.completeLock, exclusive: true, wait: false) }
        if directory != nil && !name.hasPrefix(FileSystemStore.abortingPrefix) && lock == nil { return }
        defer { withExtendedLifetime(lock) {} }
        do { try discardUploadDirectory(uploads, name) } catch {
            if error.errno == ENOENT { return }
            throw error.s3Error()
        }
    }

    func removeRecursively(_ parent: OpenFile, _ name: String) throws(SystemError) {
        if let st = try? Sys.stat(parent.fd, name), st.isDirectory {
            let dir = try Sys.openBeneath(parent.fd, name, flags: Sys.readDirectory)
            var names: [String] = []
            do { try Sys.forEachEntry(dir.fd) { cName, _ in names.append(String(cString: cName)) } } catch let e as SystemError { throw e } catch {}
            for child in names { try removeRecursively(dir, child) }
            do { try Sys.rmdir(parent.fd, name) } catch  where error.errno == ENOENT {}
        } else {
            // Another node finishing the same abandoned claim may have removed it first.
            do { try Sys.unlink(parent.fd, name) } catch  where error.errno == ENOENT {}
        }
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let h = it.next(), let l = it.next() {
            guard let hv = PercentEncoding.hexValue(h), let lv = PercentEncoding.hexValue(l) else { return [] }
            out.append(hv << 4 | lv)
        }
        return out
    }
}

extension FileSystemStore {
    /// In-progress multipart uploads across every bucket (for metrics): one directory read per top-level bucket.
    public func openUploadCount() -> Int {
        var count = 0
        for bucket in (try? listBuckets()) ?? [] {
            guard let uploads = try? uploadsDirectory(bucket.name, create: false) else { continue }
            try? Sys.forEachEntry(uploads.fd) { cName, type in
                if type == .directory || type == .unknown, String(cString: cName).hasSuffix(options.multipartSuffix) { count += 1 }
            }
        }
        return count
    }

    /// Directories whose sorted names the listing index keeps, and the bytes they take.
    public var listingIndexUsage: (directories: Int, bytes: Int) { directoryIndex.usage }
}
