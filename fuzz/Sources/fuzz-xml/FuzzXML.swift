import FuzzSupport
import S3Protocol

/// Request XML bodies: XMLDocument.parse, TagSet.parseXML (with its writer round trip) and the
/// x-amz-tagging header (TagSet.parseHeader).
func walk(_ element: XMLElement, depth: Int) -> Int {
    fuzzCheck(depth < XMLDocument.maxDepth, "element nested \(depth) deep")
    _ = element.child(element.name)
    _ = element.children(element.name)
    var count = 1
    for child in element.children { count += walk(child, depth: depth + 1) }
    return count
}

/// What the XML writer keeps of a string: it drops the control characters XML 1.0 cannot carry.
func writable(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars where scalar.value >= 0x20 || scalar == "\t" || scalar == "\n" || scalar == "\r" {
        out.append(scalar)
    }
    return String(out)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    if let root = try? XMLDocument.parse(bytes) {
        let elements = walk(root, depth: 0)
        fuzzCheck(elements <= XMLDocument.maxElements, "\(elements) elements")
    }
    if let tags = try? TagSet.parseXML(bytes) {
        for limits in [TagSet.Limits(maxTags: 10), TagSet.Limits(maxTags: 50), TagSet.Limits(maxTags: 10, enforced: false)] {
            _ = try? tags.validate(limits)
        }
        let xml = tags.xml()
        do {
            let again = try TagSet.parseXML(Array(xml.utf8))
            // Written in key order (tags have none of their own): compare against the same order.
            let expected = TagSet(
                tags.tags.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
                    .map { (key: writable($0.key), value: writable($0.value)) }
            )
            fuzzCheck(
                again.tags.count == expected.tags.count
                    && zip(again.tags, expected.tags).allSatisfy {
                        $0.key.utf8.elementsEqual($1.key.utf8) && $0.value.utf8.elementsEqual($1.value.utf8)
                    },
                "TagSet \(tags.tags) written as \(xml.debugDescription) reads back as \(again.tags)"
            )
        } catch {
            fuzzCheck(false, "TagSet \(tags.tags) written as \(xml.debugDescription) does not parse: \(error)")
        }
    }
    for text in fuzzStrings(bytes) {
        _ = try? XMLDocument.parse(text)
        if let tags = try? TagSet.parseHeader(text) {
            _ = try? tags.validate(TagSet.Limits(maxTags: 10))
            _ = tags.xml()
        }
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
