// Headerless 16-bit mono audio files (room.py's *.raw), shared by compare.cpp and profile.cpp.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

// The whole file; exits with the reason when it cannot be read.
static std::vector<int16_t> loadRaw(const char *path) {
    std::vector<int16_t> data;
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); exit(1); }
    int16_t buffer[4096];
    size_t count;
    while ((count = fread(buffer, 2, 4096, file)) > 0) data.insert(data.end(), buffer, buffer + count);
    fclose(file);
    return data;
}

// Exits with the reason when the file cannot be written.
static void saveRaw(const char *path, const std::vector<int16_t> &samples) {
    FILE *file = fopen(path, "wb");
    if (!file) { perror(path); exit(1); }
    fwrite(samples.data(), 2, samples.size(), file);
    fclose(file);
}
