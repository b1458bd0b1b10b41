/* CRC-32 as GPT (UEFI spec 2.10, 5.3.2) and Ethernet use it: polynomial 0x04C11DB7, reflected, all-ones in and out. */
#ifndef HV_LIB_CRC32_H
#define HV_LIB_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32(const void *data, size_t len);

#endif
