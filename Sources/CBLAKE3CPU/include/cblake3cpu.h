#ifndef CBLAKE3CPU_H
#define CBLAKE3CPU_H

/// What the wide BLAKE3 kernels need, as bits: the CPU has it and the OS saves the registers it uses.
enum {
    /// Everything of x86-64-v3 (AVX, AVX2, BMI1, BMI2, FMA, F16C, LZCNT, MOVBE) with YMM state enabled.
    ARCA_BLAKE3_X86_64_V3 = 1,
    /// Everything of x86-64-v4 (v3 plus AVX-512 F, BW, CD, DQ, VL) with opmask and ZMM state enabled.
    ARCA_BLAKE3_X86_64_V4 = 2,
};

/// The ARCA_BLAKE3_* bits this CPU supports; 0 on any other architecture.
int arca_blake3_cpu_features(void);

#endif
