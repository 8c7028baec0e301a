// CRC-32C over the reflected polynomial 0x82F63B78. The register update is linear: running a register `s`
// over bytes D gives run(s, D) = run(s, zeros of |D|) ^ run(0, D). So a block is cut into three lanes of
// LANE bytes whose crc32 chains run side by side (the instruction's latency is three cycles, its throughput
// one a cycle), and the lanes are joined by moving a register over LANE zero bytes, a 32×32 bit matrix
// applied through four 256-entry tables made once.
#include <pthread.h>
#include "crc32c.h"

#define POLY 0x82F63B78u
#define LANE 1024

/// slice[k][b]: the register b run over one byte then k zero bytes (slicing by 8: eight bytes a step where the
/// CPU has no instruction; slice[0] is the bytewise table).
static uint32_t slice[8][256];
#define byte_table slice[0]
/// shift[k][b]: the register (b << 8k) run over LANE zero bytes.
static uint32_t shift[4][256];
static int hardware;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t run_bytes(uint32_t s, const uint8_t *p, size_t n) {
    while (n >= 8) {
        // Little-endian loads in a byte order of their own: the same on any CPU.
        uint32_t lo = s ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        s = slice[7][lo & 0xff] ^ slice[6][(lo >> 8) & 0xff] ^ slice[5][(lo >> 16) & 0xff] ^ slice[4][lo >> 24]
            ^ slice[3][p[4]] ^ slice[2][p[5]] ^ slice[1][p[6]] ^ slice[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) s = (s >> 8) ^ byte_table[(s ^ *p++) & 0xff];
    return s;
}

static uint32_t run_zeros(uint32_t s, size_t n) {
    while (n--) s = (s >> 8) ^ byte_table[s & 0xff];
    return s;
}

static inline uint32_t shift_lane(uint32_t s) {
    return shift[0][s & 0xff] ^ shift[1][(s >> 8) & 0xff] ^ shift[2][(s >> 16) & 0xff] ^ shift[3][s >> 24];
}

static void make_tables(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        byte_table[b] = c;
    }
    for (int k = 1; k < 8; k++) {
        for (uint32_t b = 0; b < 256; b++) slice[k][b] = (slice[k - 1][b] >> 8) ^ byte_table[slice[k - 1][b] & 0xff];
    }
    // The matrix's columns: each bit of the register moved over LANE zero bytes.
    uint32_t column[32];
    for (int bit = 0; bit < 32; bit++) column[bit] = run_zeros(1u << bit, LANE);
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int bit = 0; bit < 8; bit++) {
                if (b & (1u << bit)) v ^= column[8 * k + bit];
            }
            shift[k][b] = v;
        }
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    hardware = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
#include <string.h>

__attribute__((target("sse4.2")))
static uint32_t run_hardware(uint32_t s, const uint8_t *p, size_t n) {
    // To an 8-byte boundary, byte by byte.
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        s = __builtin_ia32_crc32qi(s, *p++);
        n--;
    }
    while (n >= 3 * LANE) {
        uint64_t a = s, b = 0, c = 0;
        const uint8_t *pb = p + LANE, *pc = p + 2 * LANE;
        for (size_t i = 0; i < LANE; i += 8) {
            uint64_t va, vb, vc;
            memcpy(&va, p + i, 8);
            memcpy(&vb, pb + i, 8);
            memcpy(&vc, pc + i, 8);
            a = __builtin_ia32_crc32di(a, va);
            b = __builtin_ia32_crc32di(b, vb);
            c = __builtin_ia32_crc32di(c, vc);
        }
        s = shift_lane(shift_lane((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
        p += 3 * LANE;
        n -= 3 * LANE;
    }
    uint64_t w = s;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        w = __builtin_ia32_crc32di(w, v);
        p += 8;
        n -= 8;
    }
    s = (uint32_t)w;
    while (n--) s = __builtin_ia32_crc32qi(s, *p++);
    return s;
}
#endif

int arca_crc32c_hardware(void) {
    pthread_once(&once, make_tables);
    return hardware;
}

uint32_t arca_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    pthread_once(&once, make_tables);
    if (length == 0 || data == NULL) return crc;
    return ~run_bytes(~crc, data, length);
}

uint32_t arca_crc32c(uint32_t crc, const void *data, size_t length) {
    pthread_once(&once, make_tables);
    uint32_t s = ~crc;
    const uint8_t *p = data;
    if (length == 0 || p == NULL) return crc;
#if defined(__x86_64__)
    if (hardware) return ~run_hardware(s, p, length);
#endif
    return ~run_bytes(s, p, length);
}
