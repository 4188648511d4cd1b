import Glibc
import S3Protocol

extension FileSystemStore {
    static func configurationAttribute(_ name: BucketConfigurationName) -> String { "user.strata.config." + name.rawValue }

    /// A bucket's configuration document, kept in an xattr of its directory (one atomic replace, no file to list).
    public func bucketConfiguration(_ bucket: OpenFile, _ name: BucketConfigurationName) throws(S3Error) -> [UInt8]? {
        do { return try Sys.getAttribute(bucket.fd, Self.configurationAttribute(name)) } catch { throw error.s3Error() }
    }

    public func setBucketConfiguration(_ bucket: OpenFile, _ name: BucketConfigurationName, _ document: [UInt8]?) throws(S3Error) {
        do {
            if let document {
                try Sys.setAttribute(bucket.fd, Self.configurationAttribute(name), document)
            } else {
                try Sys.removeAttribute(bucket.fd, Self.configurationAttribute(name))
            }
        } catch {
            if error.errno == ENOSPC || error.errno == E2BIG || error.errno == ERANGE {
                throw S3Error(.entityTooLarge, "The \(name.rawValue) configuration does not fit in the filesystem's extended attributes.")
            }
            throw error.s3Error()
        }
    }
}
