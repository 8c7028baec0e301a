// OpenJPEG reads and writes through stream callbacks and reports through message callbacks: the shim gives
// it memory streams and keeps the first error message.
#include "copenjpeg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openjpeg-2.5/openjpeg.h>

typedef struct {
    const uint8_t *data;
    size_t length, position;
} read_stream;

static OPJ_SIZE_T rs_read(void *buffer, OPJ_SIZE_T n, void *user) {
    read_stream *s = user;
    if (s->position >= s->length) return (OPJ_SIZE_T)-1;
    size_t left = s->length - s->position;
    if (n > left) n = left;
    memcpy(buffer, s->data + s->position, n);
    s->position += n;
    return n;
}

static OPJ_OFF_T rs_skip(OPJ_OFF_T n, void *user) {
    read_stream *s = user;
    if (n < 0) {
        if ((size_t)(-n) > s->position) return -1;
        s->position -= (size_t)(-n);
    } else {
        size_t left = s->length - s->position;
        if ((size_t)n > left) n = (OPJ_OFF_T)left;
        s->position += (size_t)n;
    }
    return n;
}

static OPJ_BOOL rs_seek(OPJ_OFF_T n, void *user) {
    read_stream *s = user;
    if (n < 0 || (size_t)n > s->length) return OPJ_FALSE;
    s->position = (size_t)n;
    return OPJ_TRUE;
}

typedef struct {
    char *err;
    size_t errlen;
    int has_error;
} messages;

static void on_error(const char *msg, void *user) {
    messages *m = user;
    if (m->has_error || !m->err || !m->errlen) return;
    m->has_error = 1;
    snprintf(m->err, m->errlen, "%s", msg);
    size_t n = strlen(m->err);
    if (n && m->err[n - 1] == '\n') m->err[n - 1] = 0;
}

static void on_quiet(const char *msg, void *user) { (void)msg; (void)user; }

static opj_stream_t *make_read_stream(read_stream *s) {
    opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_TRUE);
    if (!stream) return NULL;
    opj_stream_set_user_data(stream, s, NULL);
    opj_stream_set_user_data_length(stream, s->length);
    opj_stream_set_read_function(stream, rs_read);
    opj_stream_set_skip_function(stream, rs_skip);
    opj_stream_set_seek_function(stream, rs_seek);
    return stream;
}

/// A JP2 file starts with its signature box; anything else is taken as a raw codestream.
static OPJ_CODEC_FORMAT format_of(const uint8_t *d, size_t n) {
    static const uint8_t jp2[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 13, 10, 0x87, 10};
    return n >= 12 && memcmp(d, jp2, 12) == 0 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K;
}

static int open_image(read_stream *s, opj_codec_t **codec, opj_stream_t **stream, opj_image_t **image,
                      messages *m) {
    *codec = opj_create_decompress(format_of(s->data, s->length));
    *stream = make_read_stream(s);
    *image = NULL;
    if (!*codec || !*stream) { snprintf(m->err, m->errlen, "out of memory"); return -1; }
    opj_set_error_handler(*codec, on_error, m);
    opj_set_warning_handler(*codec, on_quiet, m);
    opj_set_info_handler(*codec, on_quiet, m);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    if (!opj_setup_decoder(*codec, &params) || !opj_read_header(*stream, *codec, image) || !*image) {
        if (!m->has_error) snprintf(m->err, m->errlen, "cannot read the JPEG 2000 header");
        return -1;
    }
    return 0;
}

static void close_image(opj_codec_t *codec, opj_stream_t *stream, opj_image_t *image) {
    if (image) opj_image_destroy(image);
    if (stream) opj_stream_destroy(stream);
    if (codec) opj_destroy_codec(codec);
}

static void fill_info(const opj_image_t *image, arca_j2k_info *info) {
    info->width = image->x1 - image->x0;
    info->height = image->y1 - image->y0;
    info->components = image->numcomps;
    info->precision = image->numcomps ? (int32_t)image->comps[0].prec : 0;
    info->is_signed = image->numcomps ? (int32_t)image->comps[0].sgnd : 0;
}

int arca_j2k_read_header(const uint8_t *data, size_t length, arca_j2k_info *info, char *err, size_t errlen) {
    read_stream s = {data, length, 0};
    messages m = {err, errlen, 0};
    opj_codec_t *codec;
    opj_stream_t *stream;
    opj_image_t *image;
    int rc = open_image(&s, &codec, &stream, &image, &m);
    if (rc == 0) fill_info(image, info);
    close_image(codec, stream, image);
    return rc;
}

int arca_j2k_decode(const uint8_t *data, size_t length, uint32_t width, uint32_t height, uint32_t components,
                    int bytes_per_sample, uint8_t *out, size_t outlen, arca_j2k_info *info, char *err, size_t errlen) {
    read_stream s = {data, length, 0};
    messages m = {err, errlen, 0};
    opj_codec_t *codec;
    opj_stream_t *stream;
    opj_image_t *image;
    if (open_image(&s, &codec, &stream, &image, &m)) { close_image(codec, stream, image); return -1; }
    fill_info(image, info);
    // Checked before decoding: the header's size is what the decoder allocates for.
    if (info->width != width || info->height != height || info->components != components) {
        snprintf(err, errlen, "codestream is %ux%u with %u components, the frame %ux%u with %u",
                 info->width, info->height, info->components, width, height, components);
        close_image(codec, stream, image);
        return -1;
    }
    if ((size_t)width * height * components * (size_t)bytes_per_sample > outlen) {
        snprintf(err, errlen, "output buffer too small");
        close_image(codec, stream, image);
        return -1;
    }
    if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) {
        if (!m.has_error) snprintf(err, errlen, "cannot decode the JPEG 2000 codestream");
        close_image(codec, stream, image);
        return -1;
    }
    for (uint32_t c = 0; c < components; c++) {
        opj_image_comp_t *comp = &image->comps[c];
        if (comp->w != width || comp->h != height || !comp->data) {
            snprintf(err, errlen, "component %u is subsampled (%ux%u), which a DICOM frame cannot be", c, comp->w, comp->h);
            close_image(codec, stream, image);
            return -1;
        }
    }
    size_t n = (size_t)width * height;
    for (uint32_t c = 0; c < components; c++) {
        const OPJ_INT32 *src = image->comps[c].data;
        switch (bytes_per_sample) {
        case 1: { uint8_t *d = out + c; for (size_t i = 0; i < n; i++, d += components) *d = (uint8_t)src[i]; break; }
        case 2: { uint16_t *d = (uint16_t *)out + c; for (size_t i = 0; i < n; i++, d += components) *d = (uint16_t)src[i]; break; }
        default: { uint32_t *d = (uint32_t *)out + c; for (size_t i = 0; i < n; i++, d += components) *d = (uint32_t)src[i]; break; }
        }
    }
    close_image(codec, stream, image);
    return 0;
}

typedef struct {
    uint8_t *data;
    size_t length, capacity, position;
} write_stream;

static OPJ_SIZE_T ws_write(void *buffer, OPJ_SIZE_T n, void *user) {
    write_stream *s = user;
    if (s->position + n > s->capacity) {
        size_t cap = s->capacity ? s->capacity : 1 << 16;
        while (cap < s->position + n) cap *= 2;
        uint8_t *grown = realloc(s->data, cap);
        if (!grown) return (OPJ_SIZE_T)-1;
        s->data = grown;
        s->capacity = cap;
    }
    memcpy(s->data + s->position, buffer, n);
    s->position += n;
    if (s->position > s->length) s->length = s->position;
    return n;
}

static OPJ_OFF_T ws_skip(OPJ_OFF_T n, void *user) {
    write_stream *s = user;
    if (n < 0 && (size_t)(-n) > s->position) return -1;
    s->position = (size_t)((OPJ_OFF_T)s->position + n);
    return n;
}

static OPJ_BOOL ws_seek(OPJ_OFF_T n, void *user) {
    write_stream *s = user;
    if (n < 0) return OPJ_FALSE;
    s->position = (size_t)n;
    return OPJ_TRUE;
}

int arca_j2k_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t components, int precision,
                    int is_signed, int bytes_per_sample, uint8_t **out, size_t *outlen, char *err, size_t errlen) {
    *out = NULL;
    *outlen = 0;
    messages m = {err, errlen, 0};
    opj_image_cmptparm_t parms[4];
    if (components < 1 || components > 4) { snprintf(err, errlen, "%u components", components); return -1; }
    memset(parms, 0, sizeof parms);
    for (uint32_t c = 0; c < components; c++) {
        parms[c].dx = parms[c].dy = 1;
        parms[c].w = width;
        parms[c].h = height;
        parms[c].prec = (OPJ_UINT32)precision;
        parms[c].sgnd = (OPJ_UINT32)is_signed;
    }
    opj_image_t *image = opj_image_create(components, parms, components == 1 ? OPJ_CLRSPC_GRAY : OPJ_CLRSPC_SRGB);
    if (!image) { snprintf(err, errlen, "out of memory"); return -1; }
    image->x0 = image->y0 = 0;
    image->x1 = width;
    image->y1 = height;
    size_t n = (size_t)width * height;
    int shift = 32 - precision;
    for (uint32_t c = 0; c < components; c++) {
        OPJ_INT32 *dst = image->comps[c].data;
        for (size_t i = 0; i < n; i++) {
            size_t k = i * components + c;
            uint32_t v;
            switch (bytes_per_sample) {
            case 1: v = pixels[k]; break;
            case 2: v = ((const uint16_t *)pixels)[k]; break;
            default: v = ((const uint32_t *)pixels)[k]; break;
            }
            // Only the stored bits, sign-extended for signed samples.
            dst[i] = is_signed ? (OPJ_INT32)(v << shift) >> shift : (OPJ_INT32)((v << shift) >> shift);
        }
    }
    opj_cparameters_t params;
    opj_set_default_encoder_parameters(&params);
    params.irreversible = 0;
    params.tcp_numlayers = 1;
    params.tcp_rates[0] = 0;
    params.cp_disto_alloc = 1;
    params.tcp_mct = 0;
    int res = 1;
    uint32_t smallest = width < height ? width : height;
    while (res < 6 && (smallest >> res) >= 1) res++;
    params.numresolution = res;
    opj_codec_t *codec = opj_create_compress(OPJ_CODEC_J2K);
    write_stream ws = {NULL, 0, 0, 0};
    opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_FALSE);
    int rc = -1;
    if (codec && stream) {
        opj_set_error_handler(codec, on_error, &m);
        opj_set_warning_handler(codec, on_quiet, &m);
        opj_set_info_handler(codec, on_quiet, &m);
        opj_stream_set_user_data(stream, &ws, NULL);
        opj_stream_set_write_function(stream, ws_write);
        opj_stream_set_skip_function(stream, ws_skip);
        opj_stream_set_seek_function(stream, ws_seek);
        if (opj_setup_encoder(codec, &params, image) && opj_start_compress(codec, image, stream) &&
            opj_encode(codec, stream) && opj_end_compress(codec, stream)) {
            rc = 0;
        } else if (!m.has_error) {
            snprintf(err, errlen, "JPEG 2000 encoding failed");
        }
    } else {
        snprintf(err, errlen, "out of memory");
    }
    if (stream) opj_stream_destroy(stream);
    if (codec) opj_destroy_codec(codec);
    opj_image_destroy(image);
    if (rc == 0) { *out = ws.data; *outlen = ws.length; } else free(ws.data);
    return rc;
}

void arca_j2k_free(uint8_t *buffer) { free(buffer); }
