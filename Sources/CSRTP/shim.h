#ifndef CONFAB_CSRTP_SHIM_H
#define CONFAB_CSRTP_SHIM_H
#include <srtp2/srtp.h>
#include <string.h>

// SRTP_MAX_TRAILER_LEN is a macro expression Swift does not import.
static const int confab_srtp_max_trailer_len = SRTP_MAX_TRAILER_LEN;

// Several srtp_crypto_policy_set_* names are macros aliasing functions.
static inline void confab_srtp_policy_aes_cm_128_hmac_sha1_80(srtp_crypto_policy_t *p) { srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p); }
static inline void confab_srtp_policy_aes_gcm_128_16_auth(srtp_crypto_policy_t *p) { srtp_crypto_policy_set_aes_gcm_128_16_auth(p); }

// Zeroes memory in a way the optimiser may not elide (key material).
static inline void confab_secure_zero(void *p, size_t n) {
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) { *v++ = 0; }
}

#endif
