#ifndef CONFAB_VOICE_PROCESSING_H
#define CONFAB_VOICE_PROCESSING_H
// A C face for WebRTC's AudioProcessing module (libwebrtc-audio-processing 0.3,
// C++), so Swift can call it: echo cancellation, noise suppression, automatic
// gain, on 10 ms frames of 48 kHz mono S16.
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct confab_voice_processor confab_voice_processor;

/// A processor for `sample_rate` Hz mono, everything off; NULL if the library refuses.
confab_voice_processor *confab_voice_processor_create(int sample_rate);
void confab_voice_processor_destroy(confab_voice_processor *processor);

/// Switches the parts on or off (0/1); returns 0 or the library's error code.
int confab_voice_processor_configure(confab_voice_processor *processor, int echo_cancellation,
                                     int noise_suppression, int automatic_gain);

/// Hands the processor 10 ms of what the loudspeaker played (the echo reference).
int confab_voice_processor_analyze_far_end(confab_voice_processor *processor, const int16_t *samples,
                                           int count);

/// Processes 10 ms of microphone in place; `delay_ms` is the known delay from
/// the far-end frame to its echo (0: let the delay-agnostic estimator find it).
int confab_voice_processor_process_near_end(confab_voice_processor *processor, int16_t *samples, int count,
                                            int delay_ms);

#ifdef __cplusplus
}
#endif
#endif
