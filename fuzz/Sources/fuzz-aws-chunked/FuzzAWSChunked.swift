import FuzzSupport
import S3Protocol

/// The aws-chunked body decoder, fed the body in pieces cut where the input says. Whatever the cuts, it must
/// decode exactly as it does when fed the body whole: same payload, chunks, trailers and outcome.
/// Layout: [n][n cut bytes][body]; when the first byte is printable the whole input is the body, fed whole
/// and byte by byte.
struct Outcome: Equatable {
    var payload: [UInt8] = []
    var chunks: [String] = []
    var trailers: [String] = []
    var failed = false
    var complete = false
    var decodedLength: Int64 = 0
    var chunkCount = 0
}

func decode(_ body: [UInt8], cuts: [Int]) -> Outcome {
    var decoder = AWSChunkedDecoder()
    var out = Outcome()
    var declared = 0
    var inChunk = 0
    var bounds = cuts.filter { $0 > 0 && $0 < body.count }.sorted()
    bounds.insert(0, at: 0)
    bounds.append(body.count)
    body.withUnsafeBytes { all in
        for i in 0..<(bounds.count - 1) {
            let piece = UnsafeRawBufferPointer(rebasing: all[bounds[i]..<bounds[i + 1]])
            do {
                try decoder.feed(piece) { event in
                    switch event {
                    case .chunkStart(let chunk):
                        fuzzCheck(chunk.size >= 0, "negative chunk size \(chunk.size)")
                        declared = chunk.size
                        inChunk = 0
                        out.chunks.append("\(chunk.size);\(chunk.signature ?? "-")")
                    case .data(let bytes):
                        inChunk += bytes.count
                        fuzzCheck(inChunk <= declared, "chunk data \(inChunk) exceeds its declared size \(declared)")
                        out.payload.append(contentsOf: bytes)
                    case .chunkEnd:
                        fuzzCheck(inChunk == declared, "chunk ended after \(inChunk) of \(declared) bytes")
                    case .trailer(let name, let value):
                        out.trailers.append("\(name):\(value)")
                    }
                }
            } catch {
                out.failed = true
                break
            }
        }
    }
    if !out.failed {
        out.complete = (try? decoder.finish()) != nil
        fuzzCheck(out.complete == decoder.isComplete, "finish() disagrees with isComplete")
    }
    out.decodedLength = decoder.decodedLength
    out.chunkCount = decoder.chunkCount
    fuzzCheck(decoder.decodedLength == Int64(out.payload.count), "decodedLength \(decoder.decodedLength) but \(out.payload.count) payload bytes")
    fuzzCheck(decoder.trailers.count == out.trailers.count, "trailers property disagrees with trailer events")
    fuzzCheck(decoder.trailers.count <= AWSChunkedDecoder.maxTrailers, "\(decoder.trailers.count) trailers kept")
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    var body = bytes
    var cuts: [Int] = []
    if let first = bytes.first, first < 0x20 {
        var input = FuzzReader(bytes)
        let n = Int(input.byte() % 16)
        let raw = (0..<n).map { _ in Int(input.byte()) | Int(input.byte()) << 8 }
        body = Array(input.rest())
        cuts = raw.map { body.isEmpty ? 0 : $0 % (body.count + 1) }
    } else if bytes.count <= 4096 {
        cuts = Array(0..<bytes.count)
    }
    let whole = decode(body, cuts: [])
    let pieces = decode(body, cuts: cuts)
    fuzzCheck(whole == pieces, "decoding depends on where the body is cut: whole \(whole) vs cut at \(cuts): \(pieces)")
    return 0
}

@main enum FuzzMain {
    static func main() { runLibFuzzer { data, size in fuzz(fuzzPointer(data), size) } }
}
