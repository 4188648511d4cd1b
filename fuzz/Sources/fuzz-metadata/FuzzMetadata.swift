import FuzzSupport

/// ObjectMetadata.decode over bytes any program can put in the `user.strata.meta` xattr. The files beside this one
/// are links to Sources/StrataStore (the codec needs nothing else of the store), so this harness is built without
/// StrataStore's dependencies.
///
/// Invariants: decoding never traps; a binary value it accepts re-encodes to bytes that decode to an equal value
/// and encode to the same bytes again. An old JSON value it accepts re-encodes (as the store does when it rewrites
/// one) to a binary value that decodes, equal but for what the binary format cannot hold: a part layout
/// ObjectMetadata.part refuses anyway.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard let meta = ObjectMetadata.decode(bytes) else { return 0 }
    let encoded = meta.encoded()
    fuzzCheck(encoded.first == MetadataCodec.marker, "encoded() does not start with the marker: \(encoded)")
    let again = ObjectMetadata.decode(encoded)
    if bytes.first == MetadataCodec.marker {
        fuzzCheck(again == meta, "decode(encode(\(meta))) = \(String(describing: again))")
        fuzzCheck(again?.encoded() == encoded, "encoding of \(meta) is not stable: \(encoded)")
    } else if meta.size >= 0 {
        // From JSON: a negative size (which no stat matches) is the one value the binary decoder refuses.
        var expected = meta
        if let runs = meta.partSizes, !runs.allSatisfy({ $0.count == 2 && $0[0] >= 0 && $0[1] >= 0 }) { expected.partSizes = nil }
        fuzzCheck(again == expected, "JSON \(meta) re-encoded decodes to \(String(describing: again))")
    }
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
