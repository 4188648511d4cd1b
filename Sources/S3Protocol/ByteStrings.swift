/// Keys, bucket names and user names are compared and split as UTF-8 bytes, as the kernel sees them. Swift's
/// `String` compares by canonical equivalence and splits on grapheme clusters, so `"../\u{301}"` would not split
/// at its `/`, and the NFC and NFD spellings of one name (two directories on disk) would compare equal.
extension StringProtocol {
    /// Splits on one ASCII byte. Splitting valid UTF-8 on an ASCII byte always yields valid UTF-8.
    public func splitBytes(_ separator: UInt8, omittingEmpty: Bool = false) -> [String] {
        utf8.split(separator: separator, omittingEmptySubsequences: omittingEmpty).map { String(decoding: $0, as: UTF8.self) }
    }

    public func bytesEqual(_ other: some StringProtocol) -> Bool { utf8.elementsEqual(other.utf8) }

    public func hasBytePrefix(_ prefix: some StringProtocol) -> Bool { utf8.starts(with: prefix.utf8) }

    /// The text before and after the first occurrence of an ASCII byte, or nil when it does not occur.
    public func splitOnceBytes(_ separator: UInt8) -> (String, String)? {
        guard let index = utf8.firstIndex(of: separator) else { return nil }
        return (String(decoding: utf8[..<index], as: UTF8.self), String(decoding: utf8[utf8.index(after: index)...], as: UTF8.self))
    }
}

extension Dictionary where Key == String {
    /// Looks a name up by its bytes rather than by canonical equivalence.
    public func valueForBytes(_ name: String) -> Value? {
        if let value = self[name], let stored = keys.first(where: { $0 == name }), stored.bytesEqual(name) { return value }
        return first(where: { $0.key.bytesEqual(name) })?.value
    }
}
