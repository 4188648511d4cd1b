// Header-only module: LLVMFuzzerRunDriver is defined by libclang_rt.fuzzer, linked by -sanitize=fuzzer.
#include "CLibFuzzer.h"
