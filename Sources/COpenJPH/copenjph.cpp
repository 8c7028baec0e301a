// OpenJPH is C++ and reports errors by printing and throwing; the shim installs an error handler that only
// throws (with the message), catches everything at this boundary and returns a code to Swift.
#include "copenjph.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdarg>
#include <mutex>
#include <stdexcept>
#include <string>
#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>

namespace {
struct ThrowingError : ojph::message_error {
    void operator()(int code, const char *file, int line, const char *fmt, ...) override {
        (void)file; (void)line;
        char text[256];
        va_list args;
        va_start(args, fmt);
        vsnprintf(text, sizeof text, fmt, args);
        va_end(args);
        throw std::runtime_error(std::string(text) + " (OpenJPH error " + std::to_string(code) + ")");
    }
};
struct Quiet : ojph::message_warning {
    void operator()(int, const char *, int, const char *, ...) override {}
};
struct QuietInfo : ojph::message_info {
    void operator()(int, const char *, int, const char *, ...) override {}
};

ThrowingError throwing_error;
Quiet quiet_warning;
QuietInfo quiet_info;
std::once_flag configured;

void configure() {
    std::call_once(configured, [] {
        // Where a build still uses its default handlers: their printing goes nowhere (a null stream crashes them).
        if (FILE *null = fopen("/dev/null", "w")) {
            ojph::set_error_stream(null);
            ojph::set_warning_stream(null);
            ojph::set_info_stream(null);
        }
        ojph::configure_error(&throwing_error);
        ojph::configure_warning(&quiet_warning);
        ojph::configure_info(&quiet_info);
    });
}

void set_error(char *err, size_t errlen, const char *message) {
    if (err && errlen) snprintf(err, errlen, "%s", message);
}
}

extern "C" int arca_htj2k_read_header(const uint8_t *data, size_t length, arca_htj2k_info *info, char *err, size_t errlen) {
    configure();
    try {
        ojph::mem_infile file;
        file.open(data, length);
        ojph::codestream cs;
        cs.read_headers(&file);
        ojph::param_siz siz = cs.access_siz();
        ojph::point extent = siz.get_image_extent(), offset = siz.get_image_offset();
        info->width = extent.x - offset.x;
        info->height = extent.y - offset.y;
        info->components = siz.get_num_components();
        info->precision = (int32_t)siz.get_bit_depth(0);
        info->is_signed = siz.is_signed(0) ? 1 : 0;
        info->reversible = cs.access_cod().is_reversible() ? 1 : 0;
        cs.close();
        return 0;
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
    } catch (...) {
        set_error(err, errlen, "HTJ2K decoding failed");
    }
    return -1;
}

extern "C" int arca_htj2k_decode(const uint8_t *data, size_t length, uint32_t width, uint32_t height,
                                 uint32_t components, int bytes_per_sample, uint8_t *out, size_t outlen,
                                 char *err, size_t errlen) {
    configure();
    try {
        ojph::mem_infile file;
        file.open(data, length);
        ojph::codestream cs;
        cs.read_headers(&file);
        ojph::param_siz siz = cs.access_siz();
        ojph::point extent = siz.get_image_extent(), offset = siz.get_image_offset();
        if (extent.x - offset.x != width || extent.y - offset.y != height || siz.get_num_components() != components) {
            snprintf(err, errlen, "codestream is %ux%u with %u components, the frame %ux%u with %u",
                     extent.x - offset.x, extent.y - offset.y, siz.get_num_components(), width, height, components);
            cs.close();
            return -1;
        }
        for (uint32_t c = 0; c < components; c++) {
            ojph::point d = siz.get_downsampling(c);
            if (d.x != 1 || d.y != 1) {
                snprintf(err, errlen, "component %u is subsampled, which a DICOM frame cannot be", c);
                cs.close();
                return -1;
            }
        }
        if ((size_t)width * height * components * (size_t)bytes_per_sample > outlen) {
            set_error(err, errlen, "output buffer too small");
            cs.close();
            return -1;
        }
        // pull() hands back integer samples with the level shift undone, for reversible and irreversible
        // streams alike; an irreversible one can overshoot the range, so clamp.
        int bits = (int)siz.get_bit_depth(0);
        bool is_signed = siz.is_signed(0);
        if (bits < 1 || bits > 32) throw std::runtime_error("bit depth out of range");
        int64_t lo = is_signed ? -(INT64_C(1) << (bits - 1)) : 0;
        int64_t hi = is_signed ? (INT64_C(1) << (bits - 1)) - 1 : (INT64_C(1) << bits) - 1;
        cs.set_planar(false);
        cs.create();
        for (uint32_t y = 0; y < height; y++) {
            for (uint32_t c = 0; c < components; c++) {
                ojph::ui32 comp = 0;
                ojph::line_buf *line = cs.pull(comp);
                if (!line || comp >= components) throw std::runtime_error("codestream ended early");
                for (uint32_t x = 0; x < width; x++) {
                    int64_t v = line->i32[x];
                    if (v < lo) v = lo;
                    if (v > hi) v = hi;
                    size_t k = ((size_t)y * width + x) * components + comp;
                    switch (bytes_per_sample) {
                    case 1: out[k] = (uint8_t)v; break;
                    case 2: ((uint16_t *)out)[k] = (uint16_t)v; break;
                    default: ((uint32_t *)out)[k] = (uint32_t)v; break;
                    }
                }
            }
        }
        cs.close();
        return 0;
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
    } catch (...) {
        set_error(err, errlen, "HTJ2K decoding failed");
    }
    return -1;
}

extern "C" int arca_htj2k_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t components,
                                 int precision, int is_signed, int bytes_per_sample, int reversible, uint8_t **out,
                                 size_t *outlen, char *err, size_t errlen) {
    configure();
    *out = nullptr;
    *outlen = 0;
    try {
        ojph::codestream cs;
        ojph::param_siz siz = cs.access_siz();
        siz.set_image_extent(ojph::point(width, height));
        siz.set_num_components(components);
        for (uint32_t c = 0; c < components; c++) siz.set_component(c, ojph::point(1, 1), (ojph::ui32)precision, is_signed != 0);
        siz.set_image_offset(ojph::point(0, 0));
        siz.set_tile_size(ojph::size(width, height));
        siz.set_tile_offset(ojph::point(0, 0));
        ojph::param_cod cod = cs.access_cod();
        uint32_t smallest = width < height ? width : height, levels = 0;
        while (levels < 5 && (smallest >> (levels + 1)) >= 1) levels++;
        cod.set_num_decomposition(levels);
        cod.set_block_dims(64, 64);
        cod.set_progression_order("RPCL");
        cod.set_color_transform(false);
        cod.set_reversible(reversible != 0);
        cs.set_planar(false);
        ojph::mem_outfile file;
        file.open();
        cs.write_headers(&file);
        ojph::ui32 next = 0;
        ojph::line_buf *line = cs.exchange(nullptr, next);
        int shift = 32 - precision;
        for (uint32_t y = 0; y < height; y++) {
            for (uint32_t c = 0; c < components; c++) {
                if (!line || next >= components) throw std::runtime_error("encoder asked for an unexpected line");
                for (uint32_t x = 0; x < width; x++) {
                    size_t k = ((size_t)y * width + x) * components + next;
                    uint32_t v = bytes_per_sample == 1 ? pixels[k]
                               : bytes_per_sample == 2 ? ((const uint16_t *)pixels)[k] : ((const uint32_t *)pixels)[k];
                    line->i32[x] = is_signed ? (int32_t)(v << shift) >> shift : (int32_t)((v << shift) >> shift);
                }
                line = cs.exchange(line, next);
            }
        }
        cs.flush();
        size_t n = (size_t)file.tell();
        uint8_t *copy = (uint8_t *)malloc(n ? n : 1);
        if (!copy) throw std::runtime_error("out of memory");
        memcpy(copy, file.get_data(), n);
        cs.close();
        *out = copy;
        *outlen = n;
        return 0;
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
    } catch (...) {
        set_error(err, errlen, "HTJ2K encoding failed");
    }
    return -1;
}

extern "C" void arca_htj2k_free(uint8_t *buffer) { free(buffer); }
