import Glibc
import S3Protocol

extension SystemError {
    /// The one place errno becomes an S3 error, for failures not handled closer to their cause.
    public func s3Error(resource: String? = nil) -> S3Error {
        switch errno {
        case EACCES, EPERM: S3Error(.accessDenied, resource: resource)
        case ENOSPC, EDQUOT: S3Error(.insufficientStorage, resource: resource)
        case ENAMETOOLONG: S3Error(.keyTooLong, resource: resource)
        case EROFS: S3Error(.methodNotAllowed, "The storage is mounted read-only.", resource: resource)
        case E2BIG: S3Error(.metadataTooLarge, "The object's metadata does not fit in the filesystem's extended attributes.", resource: resource)
        case EISDIR: S3Error(.existingObjectIsDirectory, resource: resource)
        case ENOTDIR: S3Error(.objectParentIsFile, resource: resource)
        case EMFILE, ENFILE, EAGAIN, EBUSY: S3Error(.slowDown, resource: resource)
        default: S3Error(.internalError, resource: resource)
        }
    }
}
