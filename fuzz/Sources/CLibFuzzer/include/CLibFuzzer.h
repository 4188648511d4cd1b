#ifndef STRATA_CLIBFUZZER_H
#define STRATA_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry for programs with their own main (compiler-rt/lib/fuzzer/FuzzerInterface.h).
/// SwiftPM links every executable with `--defsym main=<module>_main`, which hides libFuzzer's own main,
/// so each fuzz target's @main calls this instead.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
