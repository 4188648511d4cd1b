#include "CStrataSys.h"
#include <pthread.h>

/* Slicing-by-8 tables for the three reflected CRCs S3 accepts. */
static uint32_t crc32_table[8][256];
static uint32_t crc32c_table[8][256];
static uint64_t crc64_table[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build32(uint32_t table[8][256], uint32_t poly) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int s = 1; s < 8; s++) table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xFF];
}

static void build64(uint64_t table[8][256], uint64_t poly) {
    for (uint64_t i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        table[0][i] = c;
    }
    for (uint64_t i = 0; i < 256; i++)
        for (int s = 1; s < 8; s++) table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xFF];
}

static void build_tables(void) {
    build32(crc32_table, 0xEDB88320u);
    build32(crc32c_table, 0x82F63B78u);
    build64(crc64_table, 0x9A6C9329AC4BC9B5ull);
}

static uint32_t run32(uint32_t table[8][256], uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
              table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

uint32_t cstrata_crc32(uint32_t crc, const void *data, size_t length) {
    pthread_once(&tables_once, build_tables);
    return run32(crc32_table, crc, data, length);
}

uint32_t cstrata_crc32c(uint32_t crc, const void *data, size_t length) {
    pthread_once(&tables_once, build_tables);
    return run32(crc32c_table, crc, data, length);
}

uint64_t cstrata_crc64nvme(uint64_t crc, const void *data, size_t length) {
    pthread_once(&tables_once, build_tables);
    const uint8_t *p = data;
    crc = ~crc;
    while (length >= 8) {
        uint64_t v = crc ^ ((uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                            (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56);
        crc = crc64_table[7][v & 0xFF] ^ crc64_table[6][(v >> 8) & 0xFF] ^ crc64_table[5][(v >> 16) & 0xFF] ^
              crc64_table[4][(v >> 24) & 0xFF] ^ crc64_table[3][(v >> 32) & 0xFF] ^ crc64_table[2][(v >> 40) & 0xFF] ^
              crc64_table[1][(v >> 48) & 0xFF] ^ crc64_table[0][v >> 56];
        p += 8;
        length -= 8;
    }
    while (length--) crc = (crc >> 8) ^ crc64_table[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}
