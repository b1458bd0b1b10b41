/* The host's 16550 driver against registers in memory (its MMIO mode, 4-byte stride). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "uart16550.h"

enum { RBR_THR = 0, IER = 1, MCR = 4, LSR = 5 };

#define LSR_DATA_READY 0x01
#define LSR_OVERRUN 0x02
#define LSR_THR_EMPTY 0x20
#define UNTOUCHED 0xee

static volatile uint32_t regs[8];
static struct uart u;

static int reset(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < 8; i++)
		regs[i] = 0;
	u = (struct uart){ 0 };
	uart_init(&u, 1, (uint64_t)(uintptr_t)regs, 2, 115200);
	assert_true(u.present); /* the scratch register (memory) answered */
	regs[RBR_THR] = UNTOUCHED;
	return 0;
}

/* Takes what the ring holds (registers in memory do not empty as a FIFO does), -1 at its end. */
static void drain(void)
{
	int c;

	while ((c = uart_read(&u)) >= 0)
		assert_int_equal(c, 0x1d);
}

static void bytes_go_out_while_the_transmitter_empties(void **state)
{
	(void)state;
	regs[LSR] = LSR_THR_EMPTY;
	assert_int_equal(uart_write(&u, "a\nb", 3, 0), 3); /* the CR before the LF is not the text's */
	assert_int_equal(regs[RBR_THR], 'b');
	assert_int_equal(uart_try_write(&u, "c", 1), 1);
	assert_int_equal(regs[RBR_THR], 'c');
}

/*
 * A transmitter that never empties (a far end that does not read, under
 * flow control) is a stall, not a UART gone: what is typed must still be
 * read, or the operator can never even detach from a guest again.
 */
static void a_stalled_transmitter_leaves_the_receiver_working(void **state)
{
	(void)state;
	regs[LSR] = 0; /* THRE clear for good */
	assert_int_equal(uart_write(&u, "lost", 4, 0), 0); /* dropped: none went out */
	assert_true(u.present);
	assert_int_equal(regs[RBR_THR], UNTOUCHED);
	regs[LSR] = LSR_DATA_READY;
	regs[RBR_THR] = 0x1d;
	assert_int_equal(uart_read(&u), 0x1d);
	regs[LSR] = 0;
	drain();
}

/*
 * The console's CPU, waiting for a full transmitter with its interrupts
 * off, still takes what is typed meanwhile into the ring; another CPU's
 * write leaves the receiver to the interrupt.
 */
static void a_wait_for_the_transmitter_drains_the_receiver(void **state)
{
	(void)state;
	regs[LSR] = LSR_DATA_READY; /* THRE clear: the write waits */
	regs[RBR_THR] = 0x1d;
	uart_write(&u, "x", 1, 0);
	assert_int_equal(byte_ring_count(&u.rx), 0); /* left to the interrupt */
	u.tx_stalled = 0;
	uart_write(&u, "x", 1, 1);
	assert_true(uart_rx_holds(&u, 0x1d));
	regs[LSR] = 0;
	drain();
}

/* While stalled, the log's non-waiting writes take nothing (the log keeps the lines); once it empties, all goes on. */
static void a_stall_ends_when_the_transmitter_empties(void **state)
{
	(void)state;
	regs[LSR] = 0;
	uart_write(&u, "x", 1, 0);
	assert_int_equal(uart_try_write(&u, "kept", 4), 0);
	regs[LSR] = LSR_THR_EMPTY;
	assert_int_equal(uart_try_write(&u, "on", 2), 2);
	assert_int_equal(regs[RBR_THR], 'n');
	uart_write(&u, "yz", 2, 0);
	assert_int_equal(regs[RBR_THR], 'z');
}

/* Without FIFOs (registers in memory read FCR's 0x07 back as IIR: bits 7:6 clear) a THRE is room for one byte. */
static void without_fifos_one_byte_per_thre(void **state)
{
	(void)state;
	assert_int_equal(u.tx_fifo, 1);
	regs[LSR] = LSR_THR_EMPTY;
	assert_int_equal(uart_try_write(&u, "a", 1), 1);
	regs[LSR] = 0;
	assert_int_equal(uart_try_write(&u, "b", 1), 0);
	assert_int_equal(regs[RBR_THR], 'a');
}

/*
 * With a 16-byte transmit FIFO (as uart_init finds on a 16550A, whose IIR
 * shows bits 7:6 set) one THRE is room for 16 bytes, a newline's CR among
 * them, even once THRE is clear again; then nothing until it shows.
 */
static void a_fifo_takes_its_depth_per_thre(void **state)
{
	(void)state;
	u.tx_fifo = 16;
	regs[LSR] = LSR_THR_EMPTY;
	assert_int_equal(uart_try_write(&u, "a\n", 2), 2); /* a, CR, LF: 13 places left */
	regs[LSR] = 0;
	assert_int_equal(uart_try_write(&u, "0123456789abcdefgh", 18), 13);
	assert_int_equal(regs[RBR_THR], 'c');
	assert_int_equal(uart_try_write(&u, "d", 1), 0);
	regs[LSR] = LSR_THR_EMPTY;
	assert_int_equal(uart_try_write(&u, "d", 1), 1);
	assert_int_equal(regs[RBR_THR], 'd');
}

/* Bytes wait in the ring for the reader; an overrun the UART shows is counted. */
static void the_interrupt_moves_received_bytes_to_the_ring(void **state)
{
	(void)state;
	uart_enable_rx_interrupts(&u);
	assert_int_equal(regs[IER], 0x05); /* received data, line status */
	assert_int_equal(regs[MCR], 0x0b); /* DTR, RTS, OUT2 */
	regs[LSR] = LSR_DATA_READY | LSR_OVERRUN;
	regs[RBR_THR] = 0x1d;
	uart_rx_interrupt(&u);
	regs[LSR] = 0;
	assert_true(u.rx_overruns > 0);
	assert_true(uart_rx_waiting(&u) > 0);
	assert_true(uart_rx_holds(&u, 0x1d));
	assert_false(uart_rx_holds(&u, 'a'));
	drain();
	assert_int_equal(uart_rx_waiting(&u), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(bytes_go_out_while_the_transmitter_empties, reset),
		cmocka_unit_test_setup(a_stalled_transmitter_leaves_the_receiver_working, reset),
		cmocka_unit_test_setup(a_stall_ends_when_the_transmitter_empties, reset),
		cmocka_unit_test_setup(a_wait_for_the_transmitter_drains_the_receiver, reset),
		cmocka_unit_test_setup(without_fifos_one_byte_per_thre, reset),
		cmocka_unit_test_setup(a_fifo_takes_its_depth_per_thre, reset),
		cmocka_unit_test_setup(the_interrupt_moves_received_bytes_to_the_ring, reset),
	};

	return cmocka_run_group_tests_name("uart16550", tests, NULL, NULL);
}
