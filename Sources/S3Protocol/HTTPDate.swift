import Foundation

/// Date formats S3 uses: RFC 1123 in headers, ISO 8601 with milliseconds in XML.
public enum HTTPDate {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The instants a date may name: years 0 through 9999, as in RFC 3339. Parsing refuses anything outside,
    /// formatting clamps to it, so no client-chosen number reaches the calendar arithmetic unbounded.
    public static let earliest: Int64 = -62_167_219_200  // 0000-01-01T00:00:00Z
    public static let latest: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z

    private static func components(_ unclamped: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int) {
        // Civil-from-days (Howard Hinnant), UTC only: no calendar or time zone lookups on the hot path.
        let seconds = min(max(unclamped, earliest), latest)
        let days = Int(floorDiv(seconds, 86_400))
        let secOfDay = Int(seconds - Int64(days) * 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday
        return (y, m, d, secOfDay / 3600, (secOfDay % 3600) / 60, secOfDay % 60, weekday)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    private static func pad(_ v: Int, _ width: Int = 2) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `Wed, 21 Oct 2015 07:28:00 GMT`
    public static func rfc1123(seconds: Int64) -> String {
        let c = components(seconds)
        return "\(weekdays[c.weekday]), \(pad(c.day)) \(months[c.month - 1]) \(c.year) \(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)) GMT"
    }

    /// `2015-10-21T07:28:00.000Z`
    public static func iso8601(seconds: Int64, milliseconds: Int = 0) -> String {
        let c = components(seconds)
        return "\(pad(c.year, 4))-\(pad(c.month))-\(pad(c.day))T\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)).\(pad(milliseconds, 3))Z"
    }

    public static func iso8601(_ date: Date) -> String {
        let t = min(max(date.timeIntervalSince1970, Double(earliest)), Double(latest))
        let s = Int64(t.rounded(.down))
        return iso8601(seconds: s, milliseconds: min(999, Int((t - Double(s)) * 1000)))
    }

    public static func rfc1123(_ date: Date) -> String {
        rfc1123(seconds: Int64(min(max(date.timeIntervalSince1970, Double(earliest)), Double(latest)).rounded(.down)))
    }

    /// Parses the three HTTP date formats (RFC 1123, RFC 850, asctime) and ISO 8601; returns seconds since epoch.
    public static func parse(_ text: String) -> Int64? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if let v = parseRFC1123(s) { return v }
        if let v = parseISO8601(s) { return v }
        return nil
    }

    private static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func make(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> Int64? {
        guard (0...9999).contains(y), (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h), (0...59).contains(mi), (0...60).contains(s)
        else {
            return nil
        }
        let seconds = Int64(daysFromCivil(y, mo, d)) * 86_400 + Int64(h * 3600 + mi * 60 + s)
        // A leap second on the last day of 9999 would name an instant past the range.
        return seconds <= latest ? seconds : nil
    }

    private static func time(_ t: Substring) -> (Int, Int, Int)? {
        let p = t.split(separator: ":")
        guard p.count == 3, let h = Int(p[0]), let m = Int(p[1]), let s = Int(p[2]) else { return nil }
        return (h, m, s)
    }

    private static func parseRFC1123(_ s: String) -> Int64? {
        var parts = s.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ",")) }
        guard parts.count >= 4 else { return nil }
        if weekdays.contains(where: { parts[0].hasPrefix($0) }) { parts.removeFirst() }
        // RFC 1123: 21 Oct 2015 07:28:00 GMT; RFC 850: 21-Oct-15 07:28:00 GMT; asctime: Oct 21 07:28:00 2015
        if parts.count >= 3, let mo = months.firstIndex(of: parts[0]), let d = Int(parts[1]) {
            guard parts.count >= 3, let t = time(Substring(parts[2])), parts.count >= 4, let y = Int(parts[3]) else { return nil }
            return make(y, mo + 1, d, t.0, t.1, t.2)
        }
        if parts[0].contains("-") {
            let dmy = parts[0].split(separator: "-")
            guard dmy.count == 3, let d = Int(dmy[0]), let mo = months.firstIndex(of: String(dmy[1])), var y = Int(dmy[2]),
                let t = time(Substring(parts[1]))
            else { return nil }
            if y < 100 { y += y < 70 ? 2000 : 1900 }
            return make(y, mo + 1, d, t.0, t.1, t.2)
        }
        guard parts.count >= 4, let d = Int(parts[0]), let mo = months.firstIndex(of: parts[1]), let y = Int(parts[2]),
            let t = time(Substring(parts[3]))
        else { return nil }
        return make(y, mo + 1, d, t.0, t.1, t.2)
    }

    private static func parseISO8601(_ s: String) -> Int64? {
        // 2015-10-21T07:28:00Z, 2015-10-21T07:28:00.123Z, 20151021T072800Z
        var t = s
        guard t.hasSuffix("Z") else { return nil }
        t.removeLast()
        let halves = t.split(separator: "T")
        guard halves.count == 2 else { return nil }
        let datePart = halves[0].replacingOccurrences(of: "-", with: "")
        var timePart = halves[1].replacingOccurrences(of: ":", with: "")
        if let dot = timePart.firstIndex(of: ".") { timePart = String(timePart[..<dot]) }
        guard datePart.count == 8, timePart.count == 6, let ymd = Int(datePart), let hms = Int(timePart) else { return nil }
        return make(ymd / 10_000, (ymd / 100) % 100, ymd % 100, hms / 10_000, (hms / 100) % 100, hms % 100)
    }
}
