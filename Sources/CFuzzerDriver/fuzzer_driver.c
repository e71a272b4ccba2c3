// Declarations only (include/fuzzer_driver.h); libFuzzer itself is linked by
// -sanitize=fuzzer when `make fuzz` builds confab-fuzz.
#include "fuzzer_driver.h"
