// libFuzzer's entry for programs with a main of their own (LLVM's
// FuzzerInterface.h): `confab-fuzz` calls it when built by `make fuzz`.
#pragma once
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));
