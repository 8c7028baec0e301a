// CharLS's C API returns error codes; the shim keeps the decoder/encoder objects' lifetimes in one place
// and turns codes into messages.
#include "ccharls.h"
#include <stdio.h>
#include <charls/charls.h>

static int fail(charls_jpegls_errc ec, char *err, size_t errlen) {
    snprintf(err, errlen, "%s", charls_get_error_message(ec));
    return -1;
}

int arca_jls_read_header(const uint8_t *data, size_t length, arca_jls_info *info, char *err, size_t errlen) {
    charls_jpegls_decoder *d = charls_jpegls_decoder_create();
    if (!d) { snprintf(err, errlen, "out of memory"); return -1; }
    charls_jpegls_errc ec = charls_jpegls_decoder_set_source_buffer(d, data, length);
    if (!ec) ec = charls_jpegls_decoder_read_header(d);
    charls_frame_info fi;
    if (!ec) ec = charls_jpegls_decoder_get_frame_info(d, &fi);
    int32_t near = 0;
    if (!ec) ec = charls_jpegls_decoder_get_near_lossless(d, 0, &near);
    charls_interleave_mode mode = CHARLS_INTERLEAVE_MODE_NONE;
    if (!ec) ec = charls_jpegls_decoder_get_interleave_mode(d, &mode);
    charls_jpegls_decoder_destroy(d);
    if (ec) return fail(ec, err, errlen);
    info->width = fi.width;
    info->height = fi.height;
    info->bits_per_sample = fi.bits_per_sample;
    info->component_count = fi.component_count;
    info->near_lossless = near;
    info->interleave_mode = (int32_t)mode;
    return 0;
}

int arca_jls_decode(const uint8_t *data, size_t length, uint8_t *out, size_t outlen, char *err, size_t errlen) {
    charls_jpegls_decoder *d = charls_jpegls_decoder_create();
    if (!d) { snprintf(err, errlen, "out of memory"); return -1; }
    charls_jpegls_errc ec = charls_jpegls_decoder_set_source_buffer(d, data, length);
    if (!ec) ec = charls_jpegls_decoder_read_header(d);
    size_t needed = 0;
    if (!ec) ec = charls_jpegls_decoder_get_destination_size(d, 0, &needed);
    if (!ec && needed > outlen) {
        charls_jpegls_decoder_destroy(d);
        snprintf(err, errlen, "decoded image (%zu bytes) is larger than the frame (%zu)", needed, outlen);
        return -1;
    }
    if (!ec) ec = charls_jpegls_decoder_decode_to_buffer(d, out, outlen, 0);
    charls_jpegls_decoder_destroy(d);
    return ec ? fail(ec, err, errlen) : 0;
}

size_t arca_jls_estimated_size(uint32_t width, uint32_t height, int32_t bits, int32_t components) {
    // Lossless JPEG-LS of noise can exceed the raw size slightly; the raw size plus a margin and headers.
    size_t bytes = bits > 8 ? 2 : 1;
    size_t raw = (size_t)width * height * (size_t)components * bytes;
    return raw + raw / 8 + 1024;
}

int arca_jls_encode(const uint8_t *pixels, size_t length, uint32_t width, uint32_t height, int32_t bits,
                    int32_t components, int32_t near, uint8_t *out, size_t outcap, size_t *written,
                    char *err, size_t errlen) {
    charls_jpegls_encoder *e = charls_jpegls_encoder_create();
    if (!e) { snprintf(err, errlen, "out of memory"); return -1; }
    charls_frame_info fi = {width, height, bits, components};
    charls_jpegls_errc ec = charls_jpegls_encoder_set_frame_info(e, &fi);
    if (!ec && components > 1) ec = charls_jpegls_encoder_set_interleave_mode(e, CHARLS_INTERLEAVE_MODE_SAMPLE);
    if (!ec) ec = charls_jpegls_encoder_set_near_lossless(e, near);
    if (!ec) ec = charls_jpegls_encoder_set_destination_buffer(e, out, outcap);
    if (!ec) ec = charls_jpegls_encoder_encode_from_buffer(e, pixels, length, 0);
    if (!ec) ec = charls_jpegls_encoder_get_bytes_written(e, written);
    charls_jpegls_encoder_destroy(e);
    return ec ? fail(ec, err, errlen) : 0;
}
