/// A pattern of an STS role's claim conditions, where `*` stands for any run of bytes (none included) and every
/// other byte matches itself: `repo:example/*:ref:refs/heads/main`. Claims come from verified tokens, but their text
/// is the token issuer's, not the operator's: the matcher must never trap, whatever either side holds. It compares
/// UTF-8 bytes, as the token carries them, with no Unicode equivalence (`\r\n` is two bytes, not one character).
public enum WildcardPattern {
    public static func matches(_ text: String, _ pattern: String) -> Bool {
        let text = Array(text.utf8)
        let parts = Array(pattern.utf8).split(separator: UInt8(ascii: "*"), omittingEmptySubsequences: false)
        guard let first = parts.first, let last = parts.last, parts.count > 1 else { return text.elementsEqual(pattern.utf8) }
        guard text.starts(with: first), text.count - first.count >= last.count else { return false }
        var start = first.count
        let end = text.count - last.count
        guard text[end...].elementsEqual(last) else { return false }
        // Each middle part at its leftmost place between the two ends: for `*`-only patterns that never misses a match.
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let found = text[start..<end].firstRange(of: part) else { return false }
            start = found.upperBound
        }
        return true
    }
}
