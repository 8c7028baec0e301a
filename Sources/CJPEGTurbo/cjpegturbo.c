// libjpeg reports errors by calling error_exit, which must not return: the shim longjmps back here, which
// Swift cannot do, and turns the message into a return code.
#include "cjpegturbo.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *err;
    size_t errlen;
} shim_error;

static void shim_error_exit(j_common_ptr cinfo) {
    shim_error *e = (shim_error *)cinfo->err;
    if (e->err && e->errlen) {
        char message[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, message);
        snprintf(e->err, e->errlen, "%s", message);
    }
    longjmp(e->jump, 1);
}

// Warnings (corrupt data the library recovers from) are not printed to stderr.
static void shim_output_message(j_common_ptr cinfo) { (void)cinfo; }

static int sof_marker(const uint8_t *d, size_t n) {
    size_t i = 2;
    while (i + 4 <= n) {
        if (d[i] != 0xFF) return 0;
        int m = d[i + 1];
        if (m == 0xFF) { i++; continue; }
        if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) return m;
        size_t len = ((size_t)d[i + 2] << 8) | d[i + 3];
        i += 2 + len;
    }
    return 0;
}

int arca_jpeg_read_header(const uint8_t *data, size_t length, arca_jpeg_info *info, char *err, size_t errlen) {
    struct jpeg_decompress_struct cinfo;
    shim_error jerr;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = shim_error_exit;
    jerr.base.output_message = shim_output_message;
    jerr.err = err;
    jerr.errlen = errlen;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)length);
    jpeg_read_header(&cinfo, TRUE);
    info->width = (int)cinfo.image_width;
    info->height = (int)cinfo.image_height;
    info->components = cinfo.num_components;
    info->precision = cinfo.data_precision;
    info->color_space = (int)cinfo.jpeg_color_space;
    info->sof = sof_marker(data, length);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int arca_jpeg_decode(const uint8_t *data, size_t length, int convert_to_rgb, uint8_t *out, size_t outlen,
                     char *err, size_t errlen) {
    struct jpeg_decompress_struct cinfo;
    shim_error jerr;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = shim_error_exit;
    jerr.base.output_message = shim_output_message;
    jerr.err = err;
    jerr.errlen = errlen;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)length);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.num_components == 3) {
        if (!convert_to_rgb) cinfo.jpeg_color_space = JCS_RGB;  // samples as coded: no colour transform
        cinfo.out_color_space = JCS_RGB;
    }
    cinfo.dct_method = JDCT_ISLOW;  // the accurate integer IDCT, as DCMTK and GDCM use
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    if (stride * cinfo.output_height > outlen) {
        snprintf(err, errlen, "decoded image (%ux%u, %d components) is larger than the frame",
                 cinfo.output_width, cinfo.output_height, cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int arca_jpeg_encode(const uint8_t *pixels, int width, int height, int components, int quality,
                     uint8_t **out, unsigned long *outlen, char *err, size_t errlen) {
    struct jpeg_compress_struct cinfo;
    shim_error jerr;
    memset(&cinfo, 0, sizeof cinfo);
    *out = NULL;
    *outlen = 0;
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = shim_error_exit;
    jerr.base.output_message = shim_output_message;
    jerr.err = err;
    jerr.errlen = errlen;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(*out);
        *out = NULL;
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, out, outlen);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)components;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + stride * cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return 0;
}

void arca_jpeg_free(uint8_t *buffer) { free(buffer); }
