// CPUID/XGETBV probe for the runtime dispatch of the BLAKE3 module (Swift has no inline assembly).
#include "cblake3cpu.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <stdint.h>

static uint64_t xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int has(unsigned reg, int bit) { return (reg >> bit) & 1u; }

int arca_blake3_cpu_features(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    // Leaf 1 ECX: FMA 12, MOVBE 22, OSXSAVE 27, AVX 28, F16C 29 (and SSE3 0, SSSE3 9, CMPXCHG16B 13,
    // SSE4.1 19, SSE4.2 20, POPCNT 23 of x86-64-v2).
    static const int leaf1[] = {0, 9, 12, 13, 19, 20, 22, 23, 27, 28, 29};
    for (unsigned i = 0; i < sizeof leaf1 / sizeof leaf1[0]; i++)
        if (!has(ecx, leaf1[i])) return 0;
    if (!has(edx, 26)) return 0;  // SSE2
    uint64_t xcr = xcr0();
    if ((xcr & 0x6) != 0x6) return 0;  // XMM and YMM state saved by the OS
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    // Leaf 7 EBX: BMI1 3, AVX2 5, BMI2 8.
    if (!has(ebx, 3) || !has(ebx, 5) || !has(ebx, 8)) return 0;
    unsigned eax8, ebx8, ecx8, edx8;
    if (__get_cpuid_max(0x80000000u, 0) < 0x80000001u) return 0;
    __cpuid(0x80000001u, eax8, ebx8, ecx8, edx8);
    if (!has(ecx8, 0) || !has(ecx8, 5)) return 0;  // LAHF/SAHF, LZCNT (ABM)
    int features = ARCA_BLAKE3_X86_64_V3;
    // Leaf 7 EBX: AVX512F 16, AVX512DQ 17, AVX512CD 28, AVX512BW 30, AVX512VL 31;
    // XCR0: opmask 5, ZMM_Hi256 6, Hi16_ZMM 7.
    if (has(ebx, 16) && has(ebx, 17) && has(ebx, 28) && has(ebx, 30) && has(ebx, 31) && (xcr & 0xE0) == 0xE0)
        features |= ARCA_BLAKE3_X86_64_V4;
    return features;
}
#else
int arca_blake3_cpu_features(void) { return 0; }
#endif
