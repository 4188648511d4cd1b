/// A single HTTP byte range as S3 accepts it: `bytes=a-b`, `bytes=a-` or `bytes=-n`.
public enum ByteRangeSpec: Sendable, Equatable {
    case closed(first: Int64, last: Int64)
    case from(first: Int64)
    case suffix(length: Int64)

    /// Parses a Range header. Returns nil for syntax S3 ignores (then the whole object is served):
    /// other units, several ranges, `a-b` with b < a, garbage.
    public static func parse(_ header: String) -> ByteRangeSpec? {
        let trimmed = header.trimming(" ")
        guard trimmed.hasPrefix("bytes=") else { return nil }
        let spec = String(trimmed.dropFirst(6)).trimming(" ")
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let a = spec[..<dash]
        let b = spec[spec.index(after: dash)...]
        func number(_ s: Substring) -> Int64? {
            guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int64(s)
        }
        if a.isEmpty {
            guard let n = number(b) else { return nil }
            return .suffix(length: n)
        }
        guard let first = number(a) else { return nil }
        if b.isEmpty { return .from(first: first) }
        guard let last = number(b), last >= first else { return nil }
        return .closed(first: first, last: last)
    }

    /// Resolves against an object size: the inclusive byte bounds, or nil when unsatisfiable (416).
    public func resolve(size: Int64) -> ClosedRange<Int64>? {
        switch self {
        case .closed(let first, let last):
            guard first < size else { return nil }
            return first...min(last, size - 1)
        case .from(let first):
            guard first < size else { return nil }
            return first...(size - 1)
        case .suffix(let length):
            guard length > 0, size > 0 else { return nil }
            return max(0, size - length)...(size - 1)
        }
    }
}

extension String {
    /// Drops leading and trailing copies of one character (no Foundation needed).
    func trimming(_ c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
