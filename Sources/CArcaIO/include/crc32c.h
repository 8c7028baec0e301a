#ifndef ARCA_CRC32C_H
#define ARCA_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, the polynomial iSCSI, ext4 and SSE 4.2's crc32 instruction use) of `length` bytes,
/// continuing `crc` (0 to start; the value a previous call answered to go on): calls over consecutive pieces
/// answer the CRC of the whole. Uses the crc32 instruction on three interleaved lanes where the CPU has it,
/// a table elsewhere. The ingest journal's check of its records' bytes.
uint32_t arca_crc32c(uint32_t crc, const void *data, size_t length);

/// `arca_crc32c` through the tables (slicing by 8) whatever the CPU has: the path of CPUs without the
/// instruction, which tests compare with it.
uint32_t arca_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// Whether `arca_crc32c` uses the CPU's instruction (1) or the table (0).
int arca_crc32c_hardware(void);

#endif
