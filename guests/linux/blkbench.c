/*
 * blkbench DEVICE: the guest's half of `make bench`'s disk section. Four
 * patterns on DEVICE, opened with O_DIRECT (no page cache between the
 * program and the virtio-blk device):
 *
 *   seq_read   16 MiB in 128 KiB reads, one at a time, from sector 0
 *   seq_write  the same 16 MiB written back in 128 KiB writes (DEVICE's
 *              contents there are lost: give it a scratch disk)
 *   rand_read  4 KiB reads at random 4 KiB-aligned offsets, queue depth 1
 *              (1024 of them) and 32 (4096), through Linux native AIO
 *              called by raw syscalls (no libaio in the initramfs)
 *
 * The hypervisor's `diskbench` command runs the same patterns with the
 * same sizes on the host side (hv/diskbench.c). One line a pattern:
 *
 *   BLKBENCH seq_read qd 1 bs 131072 requests 128 bytes 16777216 ns 123456 KiB/s 132000 IOPS 1031
 *
 * timed with clock_gettime(CLOCK_MONOTONIC). Exit status 0, or 1 with a
 * message naming the failed call. Each pattern is bracketed by XCHG
 * BX,BX and XCHG CX,CX, no-ops that tools/insnprof (a QEMU plugin) takes
 * as the start and end of a window: make bench's breakdown of a request's
 * instructions.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BS (128u << 10)
#define SEQ_BYTES (16u << 20)
#define RAND_BS 4096u
#define QD_MAX 32u

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void report(const char *name, unsigned qd, unsigned bs, uint64_t requests, uint64_t ns)
{
	uint64_t bytes = requests * bs;

	ns = ns ? ns : 1;
	printf("BLKBENCH %s qd %u bs %u requests %llu bytes %llu ns %llu KiB/s %llu IOPS %llu\n", name, qd, bs,
	       (unsigned long long)requests, (unsigned long long)bytes, (unsigned long long)ns,
	       (unsigned long long)(bytes * 1000000000u / 1024 / ns),
	       (unsigned long long)(requests * 1000000000u / ns));
	fflush(stdout);
}

/* tools/insnprof: a window starts. */
static void profile_start(void)
{
	__asm__ volatile("xchgw %%bx, %%bx" ::: "memory");
}

/* tools/insnprof: it ends. */
static void profile_end(void)
{
	__asm__ volatile("xchgw %%cx, %%cx" ::: "memory");
}

static void sequential(int fd, uint8_t *buf, int write)
{
	uint64_t start, at;

	profile_start();
	start = now_ns();

	for (at = 0; at < SEQ_BYTES; at += SEQ_BS) {
		ssize_t n = write ? pwrite(fd, buf, SEQ_BS, (off_t)at) : pread(fd, buf, SEQ_BS, (off_t)at);
		if (n != (ssize_t)SEQ_BS)
			die(write ? "pwrite" : "pread");
	}
	if (write && fsync(fd))
		die("fsync");
	profile_end();
	report(write ? "seq_write" : "seq_read", 1, SEQ_BS, SEQ_BYTES / SEQ_BS, now_ns() - start);
}

/* The same sequence of offsets as the hypervisor's (xorshift64, seed 1). */
static uint64_t next_block(uint64_t *state, uint64_t blocks)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x % blocks;
}

static void submit_read(aio_context_t ctx, struct iocb *cb, int fd, uint8_t *buf, uint64_t offset)
{
	struct iocb *list[1] = { cb };

	memset(cb, 0, sizeof(*cb));
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_lio_opcode = IOCB_CMD_PREAD;
	cb->aio_buf = (uint64_t)(uintptr_t)buf;
	cb->aio_nbytes = RAND_BS;
	cb->aio_offset = (int64_t)offset;
	cb->aio_data = (uint64_t)(uintptr_t)cb;
	if (syscall(SYS_io_submit, ctx, 1L, list) != 1)
		die("io_submit");
}

/* count 4 KiB reads, qd of them out at once: each completion sends the next. */
static void random_reads(int fd, uint8_t *buf, uint64_t disk_bytes, unsigned qd, unsigned count)
{
	static struct iocb cbs[QD_MAX];
	struct io_event events[QD_MAX];
	aio_context_t ctx = 0;
	uint64_t state = 1, blocks = disk_bytes / RAND_BS, start;
	unsigned sent = 0, done = 0, i;

	if (syscall(SYS_io_setup, qd, &ctx))
		die("io_setup");
	profile_start();
	start = now_ns();
	for (i = 0; i < qd && sent < count; i++, sent++)
		submit_read(ctx, &cbs[i], fd, buf + i * RAND_BS, next_block(&state, blocks) * RAND_BS);
	while (done < count) {
		long n = syscall(SYS_io_getevents, ctx, 1L, (long)QD_MAX, events, NULL);
		if (n < 1)
			die("io_getevents");
		for (i = 0; i < (unsigned)n; i++) {
			struct iocb *cb = (struct iocb *)(uintptr_t)events[i].data;
			if (events[i].res != RAND_BS) {
				fprintf(stderr, "blkbench: a read returned %lld\n", (long long)events[i].res);
				exit(1);
			}
			done++;
			if (sent < count) {
				submit_read(ctx, cb, fd, (uint8_t *)(uintptr_t)cb->aio_buf, next_block(&state, blocks) * RAND_BS);
				sent++;
			}
		}
	}
	profile_end();
	report("rand_read", qd, RAND_BS, count, now_ns() - start);
	syscall(SYS_io_destroy, ctx);
}

int main(int argc, char **argv)
{
	uint8_t *buf;
	off_t disk_bytes;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: blkbench DEVICE   (its first 16 MiB are overwritten)\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0)
		die(argv[1]);
	disk_bytes = lseek(fd, 0, SEEK_END); /* a block device's size, as a file's */
	if (disk_bytes < 0)
		die("lseek");
	if (disk_bytes < (off_t)SEQ_BYTES) {
		fprintf(stderr, "blkbench: %s has %llu bytes, under the 16 MiB the sequential tests take\n", argv[1],
			(unsigned long long)disk_bytes);
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, SEQ_BS))
		die("posix_memalign");
	memset(buf, 0xa5, SEQ_BS);
	sequential(fd, buf, 0);
	sequential(fd, buf, 1);
	random_reads(fd, buf, (uint64_t)disk_bytes, 1, 1024);
	random_reads(fd, buf, (uint64_t)disk_bytes, QD_MAX, 4096);
	close(fd);
	return 0;
}
