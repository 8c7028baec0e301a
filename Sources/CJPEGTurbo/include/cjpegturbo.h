#ifndef CJPEGTURBO_H
#define CJPEGTURBO_H
#include <stddef.h>
#include <stdint.h>

/// What a JPEG stream's header says (SOF and the markers libjpeg reads before it).
typedef struct {
    int width, height, components, precision;
    /// libjpeg's J_COLOR_SPACE guess for the stream (1 grey, 2 RGB, 3 YCbCr, 4 CMYK, 5 YCCK).
    int color_space;
    /// Start-of-frame marker: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, ...
    int sof;
} arca_jpeg_info;

/// Reads the header. Returns 0, or -1 with a message in err.
int arca_jpeg_read_header(const uint8_t *data, size_t length, arca_jpeg_info *info, char *err, size_t errlen);

/// Decodes an 8-bit stream into `out` (interleaved, width * height * components bytes). `convert_to_rgb` 1: a
/// YCbCr stream comes out as RGB (what a viewer wants); 0: samples as coded. Returns 0, or -1 with err.
int arca_jpeg_decode(const uint8_t *data, size_t length, int convert_to_rgb, uint8_t *out, size_t outlen,
                     char *err, size_t errlen);

/// Encodes 8-bit grey (components 1) or RGB (3) into a new buffer the caller frees with arca_jpeg_free.
int arca_jpeg_encode(const uint8_t *pixels, int width, int height, int components, int quality,
                     uint8_t **out, unsigned long *outlen, char *err, size_t errlen);
void arca_jpeg_free(uint8_t *buffer);

#endif
