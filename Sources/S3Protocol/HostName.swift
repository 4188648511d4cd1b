import Glibc

/// Host names as a `Host` header (an authority) carries them, read on bytes: what a guard against DNS rebinding
/// compares. A combining mark after `:` or `.` cannot hide a port or a label, and control bytes (a NUL would end the
/// name early for the C resolver functions) make the authority malformed.
public enum HostName {
    /// The host of an authority (`name`, `name:port`, `[v6]:port`), ASCII-lowercased, without brackets, port or a
    /// final dot; nil when it is malformed.
    public static func parse(_ authority: some StringProtocol) -> String? {
        var host = Array(authority.utf8)[...]
        guard host.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
        var port: ArraySlice<UInt8> = []
        if host.first == UInt8(ascii: "[") {
            guard let close = host.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || rest.first == UInt8(ascii: ":") else { return nil }
            port = rest.dropFirst()
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.firstIndex(of: UInt8(ascii: ":")) {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard port.count <= 5, port.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        if host.last == UInt8(ascii: ".") { host = host.dropLast() }
        guard !host.isEmpty else { return nil }
        return String(decoding: host.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// `localhost` and its subdomains (RFC 6761: never resolved through DNS, so no one else can own them), IPv4
    /// literals in 127.0.0.0/8, and the IPv6 loopback address (also as an IPv4-mapped address in 127.0.0.0/8).
    public static func isLoopback(_ name: String) -> Bool {
        guard !name.utf8.contains(0) else { return false }
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, name, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }
}
