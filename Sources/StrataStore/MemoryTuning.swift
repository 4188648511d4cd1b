import CStrataSys

public enum MemoryTuning {
    /// Transfers move through buffers of up to 1 MiB. glibc raises its mmap threshold to the largest block freed,
    /// after which such buffers come from per-thread heaps it seldom gives back: eight concurrent 1 GiB downloads left
    /// 400 MB resident. A fixed threshold keeps blocks of 512 KiB and more in their own mappings, unmapped when freed;
    /// the read path reuses its buffers, so few are mapped afresh.
    public static func apply() {
        _ = cstrata_set_mmap_threshold(512 << 10)
    }
}
