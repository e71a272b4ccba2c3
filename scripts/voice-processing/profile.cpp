// What Confab's processing costs per 10 ms frame, part by part, against
// opus_encode on the same audio (docs/MEDIA.md, "Cost, stage by stage").
// Built on Confab's own shim, so it measures what the capture thread calls:
//
//   g++ -O2 -std=c++14 scripts/voice-processing/profile.cpp Sources/CVoiceProcessing/voice_processing.cpp \
//       -ISources/CVoiceProcessing/include $(pkg-config --cflags --libs webrtc-audio-processing opus) -o profile
//   room.py make DIR;  ./profile opus|none|aec|ns|agc|aec,ns,agc DIR/mic.raw DIR/far.raw [runs] [out.raw]
//
// Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the best of
// `runs`: on a shared host, time spent waiting for a core is not the code's.
// For the split by function: perf record ./profile aec,ns,agc …; perf report.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>
#include <opus.h>
#include "confab_voice_processing.h"
#include "raw_audio.h"

static const int kFrame = 480;  // 10 ms at 48 kHz


static double cpuMicroseconds() {
    timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

// Opus as Confab sends: VOIP, 32 kb/s, complexity 9, in-band FEC for 10 %, 20 ms frames.
static double opusCost(const std::vector<int16_t> &audio, size_t frames) {
    int error = 0;
    OpusEncoder *encoder = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &error);
    opus_encoder_ctl(encoder, OPUS_SET_BITRATE(32000));
    opus_encoder_ctl(encoder, OPUS_SET_COMPLEXITY(9));
    opus_encoder_ctl(encoder, OPUS_SET_INBAND_FEC(1));
    opus_encoder_ctl(encoder, OPUS_SET_PACKET_LOSS_PERC(10));
    unsigned char packet[1500];
    double start = cpuMicroseconds();
    for (size_t i = 0; i + 1 < frames; i += 2) {
        if (opus_encode(encoder, &audio[i * kFrame], 2 * kFrame, packet, sizeof packet) < 0) exit(1);
    }
    double perFrame = (cpuMicroseconds() - start) / frames;
    opus_encoder_destroy(encoder);
    return perFrame;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: profile opus|none|aec|ns|agc|aec,ns,agc mic.raw far.raw [runs] [out.raw]\n");
        return 2;
    }
    std::string parts = argv[1];
    std::vector<int16_t> mic = loadRaw(argv[2]), far = loadRaw(argv[3]);
    int runs = argc > 4 ? atoi(argv[4]) : 3;
    size_t frames = std::min(mic.size(), far.size()) / kFrame;
    double best = 1e18, bestFar = 0;
    if (parts == "opus") {
        for (int run = 0; run < runs; run++) best = std::min(best, opusCost(mic, frames));
        printf("opus %.1f us/10ms\n", best);
        return 0;
    }
    bool aec = parts.find("aec") != std::string::npos, ns = parts.find("ns") != std::string::npos,
         agc = parts.find("agc") != std::string::npos;
    std::vector<int16_t> out(frames * kFrame);
    for (int run = 0; run < runs; run++) {
        confab_voice_processor *processor = confab_voice_processor_create(48000);
        if (!processor || confab_voice_processor_configure(processor, aec, ns, agc) != 0) return 1;
        double farTime = 0, nearTime = 0;
        for (size_t i = 0; i < frames; i++) {
            double t0 = cpuMicroseconds();
            if (aec) confab_voice_processor_analyze_far_end(processor, &far[i * kFrame], kFrame);
            double t1 = cpuMicroseconds();
            memcpy(&out[i * kFrame], &mic[i * kFrame], sizeof(int16_t) * kFrame);
            confab_voice_processor_process_near_end(processor, &out[i * kFrame], kFrame, 0);
            double t2 = cpuMicroseconds();
            farTime += t1 - t0;
            nearTime += t2 - t1;
        }
        double total = (farTime + nearTime) / frames;
        if (total < best) { best = total; bestFar = farTime / frames; }
        confab_voice_processor_destroy(processor);
    }
    printf("%s %.1f us/10ms (far end %.1f)\n", parts.c_str(), best, bestFar);
    if (argc > 5) saveRaw(argv[5], out);
    return 0;
}
