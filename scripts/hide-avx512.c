// An LD_PRELOAD library that makes a program see this CPU without AVX-512, so that scripts/bench-blake3 can time
// b3sum's AVX2 code on a machine that has AVX-512 (b3sum picks its widest code at run time and has no switch).
// Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID, the cpuid_fault flag of /proc/cpuinfo) turns each CPUID
// instruction of the process into a SIGSEGV; the handler runs the real CPUID with faulting briefly off, clears
// the AVX-512 bits of leaf 7 and returns past the instruction. Only CPUID is hidden: the instructions still work,
// so the program must choose its code from CPUID, as b3sum (Rust's feature detection) and Arca's BLAKE3 do.
// Exits with status 3 at load when the kernel or the CPU cannot fault on CPUID.
//
//   cc -O2 -shared -fPIC -o hide-avx512.so scripts/hide-avx512.c
//   LD_PRELOAD=./hide-avx512.so HIDE_AVX512_VERBOSE=1 b3sum --num-threads 1 FILE
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static volatile unsigned long masked;  // CPUID executions answered by the handler

static void on_segv(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)info;
    greg_t *r = ((ucontext_t *)context)->uc_mcontext.gregs;
    const uint8_t *ip = (const uint8_t *)r[REG_RIP];
    if (ip[0] != 0x0F || ip[1] != 0xA2) {  // not CPUID: a real fault, let it kill the process as usual
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    unsigned leaf = (unsigned)r[REG_RAX], subleaf = (unsigned)r[REG_RCX], a, b, c, d;
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
    __cpuid_count(leaf, subleaf, a, b, c, d);
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
    if (leaf == 7 && subleaf == 0) {
        // EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31.
        b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
        // ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14. EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, FP16 23.
        c &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 23));
    }
    if (leaf == 7 && subleaf == 1) a &= ~(1u << 5);  // AVX512_BF16
    r[REG_RAX] = a;
    r[REG_RBX] = b;
    r[REG_RCX] = c;
    r[REG_RDX] = d;
    r[REG_RIP] += 2;
    masked++;
}

static void report(void) {
    if (!getenv("HIDE_AVX512_VERBOSE")) return;
    char line[80];
    int n = snprintf(line, sizeof line, "hide-avx512: %lu CPUID executions answered without AVX-512\n", masked);
    if (n > 0) (void)!write(2, line, (size_t)n);
}

__attribute__((constructor)) static void install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &action, 0);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        static const char message[] = "hide-avx512: this kernel or CPU cannot fault on CPUID (no cpuid_fault)\n";
        (void)!write(2, message, sizeof message - 1);
        _exit(3);
    }
    atexit(report);
}
