#ifndef COPENJPH_H
#define COPENJPH_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t width, height, components;
    int32_t precision, is_signed, reversible;
} arca_htj2k_info;

/// Reads the main header of an HTJ2K (or J2K) codestream. Returns 0, or -1 with a message in err.
int arca_htj2k_read_header(const uint8_t *data, size_t length, arca_htj2k_info *info, char *err, size_t errlen);

/// Decodes into `out`, interleaved, `bytes_per_sample` (1, 2 or 4) bytes per sample in host order; the image
/// must be `width` x `height` x `components`, none subsampled. Returns 0, or -1 with err.
int arca_htj2k_decode(const uint8_t *data, size_t length, uint32_t width, uint32_t height, uint32_t components,
                      int bytes_per_sample, uint8_t *out, size_t outlen, char *err, size_t errlen);

/// Encodes interleaved samples (reversible 5/3 when `reversible`, else irreversible 9/7 with OpenJPH's default
/// quantization; no colour transform, RPCL, 64×64 blocks) as an HTJ2K codestream in a new buffer the caller
/// frees with arca_htj2k_free. Returns 0, or -1 with err.
int arca_htj2k_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t components, int precision,
                      int is_signed, int bytes_per_sample, int reversible, uint8_t **out, size_t *outlen,
                      char *err, size_t errlen);
void arca_htj2k_free(uint8_t *buffer);

#ifdef __cplusplus
}
#endif
#endif
