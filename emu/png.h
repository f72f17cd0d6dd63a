/*
 * png.h - a PNG writer for screendumps: 8-bit RGB, no interlace
 * (PNG specification, 2nd edition, ISO/IEC 15948: IHDR, one IDAT holding
 * the zlib stream of the filtered rows, IEND; each chunk with its CRC-32).
 */
#ifndef NESTEMU_PNG_H
#define NESTEMU_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encodes w x h pixels 0x00RRGGBB (rows packed) into a malloc'd buffer.
 * 0, -EINVAL for an empty or oversized picture, -ENOMEM. */
int png_encode(const uint32_t *pixels, int w, int h, uint8_t **out, size_t *len)
	__attribute__((warn_unused_result));

/* Writes the PNG to path through path.tmp, fsync and rename, so path is
 * either the old file or the whole new one. 0 or a negative errno. */
int png_write(const char *path, const uint32_t *pixels, int w, int h)
	__attribute__((warn_unused_result));

#endif
