#ifndef CCHARLS_H
#define CCHARLS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t width, height;
    int32_t bits_per_sample, component_count, near_lossless, interleave_mode;
} arca_jls_info;

/// Reads the header of a JPEG-LS stream. Returns 0, or -1 with a message in err.
int arca_jls_read_header(const uint8_t *data, size_t length, arca_jls_info *info, char *err, size_t errlen);

/// Decodes into `out`: interleaved samples, 1 byte each up to 8 bits, 2 bytes (host order) up to 16.
int arca_jls_decode(const uint8_t *data, size_t length, uint8_t *out, size_t outlen, char *err, size_t errlen);

/// Encodes interleaved samples (1 or 2 bytes each) into `out` (capacity `outcap`); *written gets the length.
/// near 0 is lossless. Returns 0, or -1 with err.
int arca_jls_encode(const uint8_t *pixels, size_t length, uint32_t width, uint32_t height, int32_t bits,
                    int32_t components, int32_t near, uint8_t *out, size_t outcap, size_t *written,
                    char *err, size_t errlen);

/// An upper bound on the encoded size.
size_t arca_jls_estimated_size(uint32_t width, uint32_t height, int32_t bits, int32_t components);

#endif
