#ifndef CONFAB_CALSA_SHIM_H
#define CONFAB_CALSA_SHIM_H
#include <alsa/asoundlib.h>

// ALSA prints errors to stderr through a variadic handler by default; that
// would scribble over a terminal UI. Swift cannot define a variadic C
// function, so the quiet handler lives here.
static void confab_alsa_silent_handler(const char *file, int line, const char *function, int err, const char *fmt, ...) {
    (void)file; (void)line; (void)function; (void)err; (void)fmt;
}
static inline void confab_alsa_silence_errors(void) { snd_lib_error_set_handler(confab_alsa_silent_handler); }

#endif
