import S3Protocol
import StrataStore

extension AccessLevel {
    init(_ grant: BucketGrant) {
        switch grant {
        case .read: self = .read
        case .write: self = .write
        case .owner: self = .owner
        }
    }
}

/// What a credential reaches: the admin everything; a scoped credential (or an STS session) what it was granted
/// on the bucket or on its top-level bucket; an unscoped one full rights on its user's buckets only. Names are
/// compared as bytes: the NFC and NFD spellings of a name are two directories.
enum BucketGrants {
    /// The grant of `identity` on `bucket`; `owner` is the bucket's recorded owner, which only unscoped credentials
    /// need (nil: unknown or none).
    static func level(_ identity: Identity, bucket: String, owner: String?) -> AccessLevel {
        guard let credential = identity.credential else { return .owner }  // SIMPLE mode or unsigned: the model decides
        if identity.isAdmin { return .owner }
        guard let grants = credential.buckets else { return owner?.bytesEqual(credential.user) == true ? .owner : .none }
        let top = bucket.splitBytes(UInt8(ascii: ":")).first ?? ""
        if let grant = grants.valueForBytes(bucket) ?? grants.valueForBytes(top) { return AccessLevel(grant) }
        // `name-*` grants every bucket whose name starts with `name-` (the widest such grant counts).
        let matching = grants.filter {
            $0.key.hasSuffix("*") && (bucket.hasBytePrefix(String($0.key.dropLast())) || top.hasBytePrefix(String($0.key.dropLast())))
        }
        return matching.values.max().map(AccessLevel.init) ?? .none
    }

    /// Whether the grant depends on the bucket's owner (unscoped credentials), which costs a read.
    static func needsOwner(_ identity: Identity) -> Bool {
        guard let credential = identity.credential, !identity.isAdmin else { return false }
        return credential.buckets == nil
    }
}
