#ifndef CONFAB_CNCURSESW_SHIM_H
#define CONFAB_CNCURSESW_SHIM_H
// SwiftPM drops pkg-config's -D flags for ncursesw, so wide-character
// support is switched on here.
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <stdio.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// Swift 6 rejects C global variables and macros like these; expose them as functions.
static inline WINDOW *confab_stdscr(void) { return stdscr; }
static inline int confab_lines(void) { return LINES; }
static inline int confab_cols(void) { return COLS; }
static inline void confab_getmaxyx(WINDOW *w, int *y, int *x) { int yy, xx; getmaxyx(w, yy, xx); *y = yy; *x = xx; }
static inline attr_t confab_a_bold(void) { return A_BOLD; }
static inline attr_t confab_a_reverse(void) { return A_REVERSE; }
static inline attr_t confab_a_underline(void) { return A_UNDERLINE; }
static inline attr_t confab_a_dim(void) { return A_DIM; }
static inline attr_t confab_a_normal(void) { return A_NORMAL; }
static inline int confab_color_pair(int n) { return COLOR_PAIR(n); }
// Glibc's module hides wcwidth (it needs _XOPEN_SOURCE); the shim defines that.
static inline int confab_wcwidth(wchar_t c) { return wcwidth(c); }
static inline attr_t confab_a_italic(void) { return A_ITALIC; }
static inline int confab_colors(void) { return COLORS; }
static inline int confab_color_pairs(void) { return COLOR_PAIRS; }
// Sets attributes and an extended colour pair (pairs above 32767 travel in opts).
static inline int confab_attr_set(WINDOW *w, attr_t attrs, int pair) { return wattr_set(w, attrs, 0, &pair); }

// newterm, unlike initscr, returns NULL for an unknown TERM instead of
// printing "Error opening terminal" and exiting.
static inline SCREEN *confab_newterm(const char *type) { return newterm(type, stdout, stdin); }
// Whether the terminal's terminfo entry has a string capability ("cup", "smcup").
static inline int confab_has_string_capability(const char *name) {
    char *value = tigetstr(name);
    return value != NULL && value != (char *)-1;
}

#endif
