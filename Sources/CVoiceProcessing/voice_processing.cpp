// The C shim over webrtc::AudioProcessing (0.3). Nothing here allocates per
// frame: the two float frames live in the processor, allocated once.
//
// The float interface, not AudioFrame: the library works in floats, and its
// AudioFrame path deinterleaves, converts and interleaves back around that
// (about 2 µs of 72 per 10 ms, measured with scripts/voice-processing/profile.cpp);
// the output is the same (ERLE and double-talk correlation unchanged).
#include "confab_voice_processing.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <webrtc/modules/audio_processing/include/audio_processing.h>

// 10 ms at 48 kHz, the highest rate the library takes.
static const int kMaxFrameSamples = 480;

struct confab_voice_processor {
    webrtc::AudioProcessing *apm;
    int sample_rate;
    // The DC blocker's pole and its last input and output (see remove_dc).
    float dc_pole;
    float dc_last_input;
    float dc_last_output;
    // One 10 ms frame each, in the library's float scale (±1.0).
    float far_end[kMaxFrameSamples];
    float near_end[kMaxFrameSamples];
};

static const float kDcCutoffHz = 20.0f;

// y[n] = x[n] - x[n-1] + pole * y[n-1]: a zero at DC and a pole just inside
// the unit circle, cut-off kDcCutoffHz, a few degrees of phase at 200 Hz.
static void remove_dc(confab_voice_processor *processor, float *frame, int count) {
    float last_input = processor->dc_last_input, last_output = processor->dc_last_output;
    const float pole = processor->dc_pole;
    for (int index = 0; index < count; index++) {
        const float input = frame[index];
        const float output = input - last_input + pole * last_output;
        last_input = input;
        last_output = output;
        frame[index] = output;
    }
    processor->dc_last_input = last_input;
    // After digital silence (a muted or closed device) the output decays
    // towards denormals, which x86 computes slowly: stop it well before.
    // (Hygiene: a second of speech then 17 s of silence cost the chain the
    // same with and without this, 62–63 µs per 10 ms.)
    processor->dc_last_output = std::fabs(last_output) < 1e-15f ? 0.0f : last_output;
}

static void to_float(const int16_t *samples, float *frame, int count) {
    for (int index = 0; index < count; index++) frame[index] = samples[index] * (1.0f / 32768.0f);
}

static void to_int16(const float *frame, int16_t *samples, int count) {
    for (int index = 0; index < count; index++) {
        samples[index] = static_cast<int16_t>(std::max(-32768.0f, std::min(32767.0f, std::nearbyint(frame[index] * 32768.0f))));
    }
}

/// The library takes exactly 10 ms per call.
static bool is_frame(const confab_voice_processor *processor, int count) {
    return count == processor->sample_rate / 100 && count <= kMaxFrameSamples;
}

extern "C" confab_voice_processor *confab_voice_processor_create(int sample_rate) {
    if (sample_rate <= 0 || sample_rate / 100 > kMaxFrameSamples) return nullptr;
    webrtc::Config config;
    // The extended filter covers echo paths up to about 500 ms; the
    // delay-agnostic estimator finds the delay between what the playout thread
    // played and when the microphone hears it, which no sound card reports.
    config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
    config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
    // The "experimental" AGC (on by default in 0.3) runs a pitch-based voice
    // detector and loudness model on every frame to steer an analog mic
    // volume we never set: it cost about 30 µs of 137 per 10 ms frame, and
    // without it the digital AGC alone still lifts a quiet talker (~11 dB
    // against ~13), the echo goes 2 dB further down and clicks are lifted
    // less (docs/MEDIA.md, "Cost").
    config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
    webrtc::AudioProcessing *apm = webrtc::AudioProcessing::Create(config);
    if (apm == nullptr) return nullptr;
    webrtc::ProcessingConfig formats = {{
        webrtc::StreamConfig(sample_rate, 1), webrtc::StreamConfig(sample_rate, 1),
        webrtc::StreamConfig(sample_rate, 1), webrtc::StreamConfig(sample_rate, 1),
    }};
    if (apm->Initialize(formats) != webrtc::AudioProcessing::kNoError) {
        delete apm;
        return nullptr;
    }
    // WebRTC's own high-pass (second order, about 80 Hz on the low band)
    // takes 1.5 dB off a low male voice's fundamental and turns its phase
    // by tens of degrees up to 300 Hz: in double talk the near end came out
    // at correlation 0.84 with what was said, 0.89 without it, and a lone
    // talker at 0.91 against 0.97, for no gain in echo cancelled (55 dB
    // either way). A first-order DC blocker at 20 Hz (remove_dc) takes out
    // what a microphone's offset and a desk's thumps leave; Opus's VoIP mode
    // high-passes rumble under the talker's pitch itself (docs/MEDIA.md).
    apm->high_pass_filter()->Enable(false);
    apm->echo_cancellation()->enable_drift_compensation(false);
    // Low suppression keeps the near end through double talk (docs/MEDIA.md).
    apm->echo_cancellation()->set_suppression_level(webrtc::EchoCancellation::kLowSuppression);
    apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kLow);
    apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
    confab_voice_processor *processor = new (std::nothrow) confab_voice_processor();
    if (processor == nullptr) {
        delete apm;
        return nullptr;
    }
    processor->apm = apm;
    processor->sample_rate = sample_rate;
    processor->dc_pole = 1.0f - 2.0f * 3.14159265f * kDcCutoffHz / static_cast<float>(sample_rate);
    processor->dc_last_input = 0;
    processor->dc_last_output = 0;
    return processor;
}

extern "C" void confab_voice_processor_destroy(confab_voice_processor *processor) {
    if (processor == nullptr) return;
    delete processor->apm;
    delete processor;
}

extern "C" int confab_voice_processor_configure(confab_voice_processor *processor, int echo_cancellation,
                                                int noise_suppression, int automatic_gain) {
    webrtc::AudioProcessing *apm = processor->apm;
    int error = apm->echo_cancellation()->Enable(echo_cancellation != 0);
    if (error == 0) error = apm->noise_suppression()->Enable(noise_suppression != 0);
    if (error == 0) error = apm->gain_control()->Enable(automatic_gain != 0);
    return error;
}

extern "C" int confab_voice_processor_analyze_far_end(confab_voice_processor *processor, const int16_t *samples,
                                                      int count) {
    if (!is_frame(processor, count)) return -1;
    to_float(samples, processor->far_end, count);
    float *frame = processor->far_end;
    const webrtc::StreamConfig mono(processor->sample_rate, 1);
    return processor->apm->ProcessReverseStream(&frame, mono, mono, &frame);
}

extern "C" int confab_voice_processor_process_near_end(confab_voice_processor *processor, int16_t *samples,
                                                       int count, int delay_ms) {
    if (!is_frame(processor, count)) return -1;
    to_float(samples, processor->near_end, count);
    remove_dc(processor, processor->near_end, count);
    processor->apm->set_stream_delay_ms(delay_ms);
    float *frame = processor->near_end;
    const webrtc::StreamConfig mono(processor->sample_rate, 1);
    int error = processor->apm->ProcessStream(&frame, mono, mono, &frame);
    if (error == 0) to_int16(processor->near_end, samples, count);
    return error;
}
