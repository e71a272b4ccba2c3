// Runs one echo canceller + preprocessor on a simulated room, 10 ms frames at
// 48 kHz mono S16: mic.raw (what the microphone heard) and far.raw (what the
// loudspeaker played, the reference) in, out.raw out; prints the mean and the
// 99th-percentile processing time per 10 ms frame [µs].
//
//   compare speex|webrtc aec,ns,agc mic.raw far.raw out.raw
//
// Used by compare.sh to choose Confab's processing by measurement (docs/MEDIA.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>
#include "raw_audio.h"

static const int kRate = 48000, kFrame = 480;


// A WebRTC level named by the environment variable: "moderate", "high", or
// else low (the default, as Confab ships).
template <typename Level>
static Level levelFromEnvironment(const char* name, Level low, Level moderate, Level high) {
    const char* value = getenv(name);
    if (value && !strcmp(value, "moderate")) return moderate;
    if (value && !strcmp(value, "high")) return high;
    return low;
}

int main(int argc, char** argv) {
    if (argc != 6) { fprintf(stderr, "usage: compare speex|webrtc aec,ns,agc mic.raw far.raw out.raw\n"); return 2; }
    std::string method = argv[1], parts = argv[2];
    bool aec = parts.find("aec") != std::string::npos, ns = parts.find("ns") != std::string::npos,
         agc = parts.find("agc") != std::string::npos;
    int tailMs = getenv("TAIL_MS") ? atoi(getenv("TAIL_MS")) : 200;
    std::vector<int16_t> mic = loadRaw(argv[3]), far = loadRaw(argv[4]);
    size_t frames = std::min(mic.size(), far.size()) / kFrame;
    std::vector<int16_t> out(frames * kFrame);
    std::vector<double> costs;

    SpeexEchoState* echo = nullptr;
    SpeexPreprocessState* pre = nullptr;
    webrtc::AudioProcessing* apm = nullptr;
    if (method == "speex") {
        if (aec) {
            echo = speex_echo_state_init(kFrame, kRate / 1000 * tailMs);
            int rate = kRate;
            speex_echo_ctl(echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
        }
        pre = speex_preprocess_state_init(kFrame, kRate);
        int on = 1, off = 0;
        speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_DENOISE, ns ? &on : &off);
        speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC, agc ? &on : &off);
        if (agc) { float level = 8000; speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level); }
        if (echo) speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
    } else {
        webrtc::Config config;
        config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
        config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
        apm = webrtc::AudioProcessing::Create(config);
        apm->high_pass_filter()->Enable(true);
        apm->echo_cancellation()->enable_drift_compensation(false);
        apm->echo_cancellation()->set_suppression_level(levelFromEnvironment(
            "AEC_LEVEL", webrtc::EchoCancellation::kLowSuppression, webrtc::EchoCancellation::kModerateSuppression,
            webrtc::EchoCancellation::kHighSuppression));
        apm->echo_cancellation()->Enable(aec);
        apm->noise_suppression()->set_level(levelFromEnvironment(
            "NS_LEVEL", webrtc::NoiseSuppression::kLow, webrtc::NoiseSuppression::kModerate,
            webrtc::NoiseSuppression::kHigh));
        apm->noise_suppression()->Enable(ns);
        apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
        apm->gain_control()->Enable(agc);
    }
    webrtc::StreamConfig stream(kRate, 1);
    float renderF[kFrame], captureF[kFrame];
    for (size_t i = 0; i < frames; i++) {
        int16_t* o = &out[i * kFrame];
        const int16_t* m = &mic[i * kFrame];
        const int16_t* f = &far[i * kFrame];
        auto start = std::chrono::steady_clock::now();
        if (method == "speex") {
            if (echo) speex_echo_cancellation(echo, m, f, o); else memcpy(o, m, kFrame * 2);
            speex_preprocess_run(pre, o);
        } else {
            for (int k = 0; k < kFrame; k++) { renderF[k] = f[k] / 32768.0f; captureF[k] = m[k] / 32768.0f; }
            float* r = renderF; float* c = captureF;
            int error = apm->ProcessReverseStream(&r, stream, stream, &r);
            if (error != 0) { fprintf(stderr, "reverse failed %d\n", error); return 1; }
            apm->set_stream_delay_ms(0);
            error = apm->ProcessStream(&c, stream, stream, &c);
            if (error != 0) { fprintf(stderr, "process failed %d\n", error); return 1; }
            for (int k = 0; k < kFrame; k++) o[k] = (int16_t)std::max(-32768.0f, std::min(32767.0f, captureF[k] * 32768.0f));
        }
        costs.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    saveRaw(argv[5], out);
    double sum = 0;
    for (double c : costs) sum += c;
    std::sort(costs.begin(), costs.end());
    printf("%.1f %.1f\n", sum / costs.size(), costs[costs.size() * 99 / 100]);
    return 0;
}
