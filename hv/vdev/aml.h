/*
 * A byte writer for ACPI tables and the AML in them (ACPI 6.4, chapter
 * 20 "ACPI Machine Language Specification"; resource descriptors: 6.4).
 * It appends to a buffer of fixed size and never writes past it: what
 * does not fit sets `full`, and the output is then unusable as a whole.
 *
 * Objects with a PkgLength (Scope, Device, Package, Buffer) are opened,
 * filled, and closed: the close inserts the encoded length in front of
 * the body, so nothing needs to be measured before it is written. They
 * nest up to AML_DEPTH_MAX deep.
 */
#ifndef HV_VDEV_AML_H
#define HV_VDEV_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_DEPTH_MAX 8

struct aml {
	uint8_t *buf;
	size_t size, len;
	int full;       /* something did not fit, or a name or nesting was malformed */
	unsigned depth; /* objects open */
	struct aml_open {
		size_t start;   /* where the body starts */
		int buffer;     /* a Buffer: its byte count goes before the body too */
	} open[AML_DEPTH_MAX];
};

void aml_init(struct aml *a, uint8_t *buf, size_t size);

/* Raw little-endian data, appended; aml_reserve appends n zero bytes and returns their offset. */
void aml_u8(struct aml *a, uint8_t v);
void aml_u16(struct aml *a, uint16_t v);
void aml_u32(struct aml *a, uint32_t v);
void aml_u64(struct aml *a, uint64_t v);
void aml_bytes(struct aml *a, const void *p, size_t n);
size_t aml_reserve(struct aml *a, size_t n);
/* Pads with zeroes up to a multiple of align (a power of 2) from the start of the buffer. */
void aml_align(struct aml *a, size_t align);
/* Overwrites n (1 to 8) bytes at offset with v, little-endian; ignored if they were never written. */
void aml_poke(struct aml *a, size_t offset, uint64_t v, unsigned n);

/*
 * AML terms. A name is an ASL name path: segments of up to 4 characters
 * (padded with '_') separated by '.', after an optional '\' or '^'s:
 * "\\_SB.PCI0", "_HID", "RTC".
 */
void aml_name(struct aml *a, const char *path);
void aml_integer(struct aml *a, uint64_t v); /* the shortest encoding: Zero, One, Byte ... QWord */
void aml_eisaid(struct aml *a, const char *id); /* "PNP0A08": the compressed EISA ID, a DWord */
void aml_name_decl(struct aml *a, const char *path); /* Name (path, ...): the value follows */

void aml_scope_open(struct aml *a, const char *path);
void aml_device_open(struct aml *a, const char *path);
void aml_package_open(struct aml *a, uint8_t elements);
void aml_buffer_open(struct aml *a);
void aml_close(struct aml *a); /* the innermost open object */

/*
 * Resource descriptors, inside a Buffer (ASL's ResourceTemplate: open a
 * buffer, add descriptors, aml_resource_end() ends and closes it).
 */
enum aml_space { AML_MEMORY = 0, AML_IO = 1, AML_BUS = 2 };

/* IO (Decode16, min, max, align, length) */
void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t length);
/* IRQNoFlags () { irq }: edge-triggered, active high, exclusive */
void aml_irq(struct aml *a, unsigned irq);

/*
 * The Word, DWord and QWord address space descriptors (6.4.3.5.1-3) of a
 * range [min, max] that a device consumes (consumer) or decodes for its
 * children (a bridge's window), with fixed bounds and positive decode:
 * WordBusNumber, WordIO, DWordMemory, QWordMemory and the like. bytes is
 * 2, 4 or 8; memory is non-cacheable read/write, I/O covers the entire
 * range.
 */
struct aml_range {
	enum aml_space space;
	unsigned bytes;
	int consumer;
	uint64_t min, max;
};
void aml_address_space(struct aml *a, const struct aml_range *r);

void aml_resource_end(struct aml *a);

#endif
