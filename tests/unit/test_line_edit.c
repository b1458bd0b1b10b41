/*
 * The console's line editor: keystrokes in, the line and what the terminal
 * shows out. After every key, a model of a VT100 terminal fed with the
 * editor's output must show the prompt and the line, the cursor in place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "line_edit.h"
#include "vt_screen.h"

#define PROMPT "hv> "

static struct line_edit editor;
static struct vt_screen screen;
static char out[1 << 16];
static size_t out_len;
static char ran[LINE_EDIT_MAX]; /* the last line Enter gave */
static int lines;

static void capture(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	assert_true(out_len + len < sizeof(out));
	memcpy(out + out_len, text, len);
	out_len += len;
	out[out_len] = 0;
	vt_feed(&screen, text, len);
}

static const char *const commands[] = { "list", "log", "start", "stop", "help", NULL };
static const char *const names[] = { "alpha", "alpine", "bravo", "bad\x01name", NULL };

static const char *candidate(void *ctx, size_t word, size_t index)
{
	(void)ctx;
	return word == 0 ? commands[index] : names[index];
}

static const struct line_edit_ops ops = { capture, candidate, NULL };
static const struct line_edit_ops no_completion = { capture, NULL, NULL };

static void forget_output(void)
{
	out_len = 0;
	out[0] = 0;
}

static int start(void **state)
{
	(void)state;
	vt_reset(&screen);
	forget_output();
	lines = 0;
	ran[0] = 0;
	line_edit_init(&editor, &ops, PROMPT);
	line_edit_start(&editor);
	return 0;
}

static void assert_screen_matches_line(void)
{
	if (!vt_shows(&screen, PROMPT, editor.line, editor.cursor))
		fail_msg("screen row '%s' (cursor %zu, bad %d) but line '%s' (cursor %zu)", screen.row, screen.col,
			 screen.bad, editor.line, editor.cursor);
}

static void type_bytes(const char *keys, size_t n)
{
	const char *line;
	size_t i;

	for (i = 0; i < n; i++) {
		line = line_edit_key(&editor, (unsigned char)keys[i]);
		if (line) {
			snprintf(ran, sizeof(ran), "%s", line);
			lines++;
			line_edit_start(&editor);
		}
		assert_screen_matches_line();
	}
}

static void type(const char *keys)
{
	type_bytes(keys, strlen(keys));
}

static void assert_line(const char *text, size_t cursor)
{
	assert_string_equal(editor.line, text);
	assert_int_equal(editor.len, strlen(text));
	assert_int_equal(editor.cursor, cursor);
}

static void shows_the_prompt_and_echoes_printable_input(void **state)
{
	(void)state;
	assert_string_equal(out, PROMPT);
	type("list ~!");
	assert_string_equal(out, PROMPT "list ~!");
	assert_line("list ~!", 7);
}

static void cr_lf_and_crlf_each_end_one_line(void **state)
{
	(void)state;
	type("a\r");
	assert_int_equal(lines, 1);
	assert_string_equal(ran, "a");
	type("b\n");
	assert_int_equal(lines, 2);
	assert_string_equal(ran, "b");
	forget_output();
	type("c\r\n");
	assert_int_equal(lines, 3);
	assert_string_equal(ran, "c");
	assert_string_equal(out, "c\n" PROMPT);
	type("\r\r"); /* two Enters: two (empty) lines */
	assert_int_equal(lines, 5);
	assert_string_equal(ran, "");
}

static void backspace_and_ctrl_h_erase_before_the_cursor(void **state)
{
	(void)state;
	type("\x7f"); /* nothing to erase: nothing shown */
	assert_string_equal(out, PROMPT);
	type("abc\x7f\b");
	assert_line("a", 1);
	assert_string_equal(out, PROMPT "abc\b\x1b[K\b\x1b[K");
	type("xy\x1b[D\x7f"); /* in the middle: the rest moves left */
	assert_line("ay", 1);
}

static void left_and_right_move_and_insertion_goes_at_the_cursor(void **state)
{
	(void)state;
	type("acd\x1b[D\x1b[D");
	assert_line("acd", 1);
	forget_output();
	type("b");
	assert_line("abcd", 2);
	assert_string_equal(out, "bcd\x1b[2D");
	type("\x1bOD\x1bOD\x1bOD"); /* SS3 form; the last one is at the start already */
	assert_line("abcd", 0);
	type("\x06\x1b[C\x1bOC\x1b[C\x1b[C");
	assert_line("abcd", 4); /* stops at the end */
	type("\x02\x02");
	assert_line("abcd", 2);
}

static void delete_erases_under_the_cursor(void **state)
{
	(void)state;
	type("abc\x1b[3~");
	assert_line("abc", 3); /* at the end: nothing */
	type("\x01\x1b[3~");
	assert_line("bc", 0);
	type("\x1b[C\x1b[3~");
	assert_line("b", 1);
}

static void home_and_end_in_every_form(void **state)
{
	static const char *const home[] = { "\x1b[H", "\x1b[1~", "\x1b[7~", "\x1bOH", "\x01" };
	static const char *const end[] = { "\x1b[F", "\x1b[4~", "\x1b[8~", "\x1bOF", "\x05" };
	size_t i;

	(void)state;
	type("start alpha");
	for (i = 0; i < sizeof(home) / sizeof(home[0]); i++) {
		type(home[i]);
		assert_line("start alpha", 0);
		type(end[i]);
		assert_line("start alpha", 11);
	}
	type("\x1b[1;5H"); /* with a modifier: still Home */
	assert_line("start alpha", 0);
}

static void ctrl_u_erases_before_the_cursor(void **state)
{
	(void)state;
	type("abc def\x1b[D\x1b[D\x1b[D\x15");
	assert_line("def", 0);
	type("\x05\x15");
	assert_line("", 0);
}

static void ctrl_w_erases_the_word_before_the_cursor(void **state)
{
	(void)state;
	type("start  alpha\x17");
	assert_line("start  ", 7);
	type("\x17");
	assert_line("", 0);
	type("one two three\x1b[D\x1b[D\x17");
	assert_line("one two ee", 8);
}

static void ctrl_k_erases_from_the_cursor(void **state)
{
	(void)state;
	type("start alpha\x01\x1b[C\x0b");
	assert_line("s", 1);
}

static void ctrl_c_abandons_the_line(void **state)
{
	(void)state;
	type("stop alpha\x1b[D\x03");
	assert_int_equal(lines, 0);
	assert_string_equal(out, PROMPT "stop alpha\b^C\n" PROMPT);
	assert_line("", 0);
	type("\r");
	assert_int_equal(lines, 1);
	assert_string_equal(ran, "");
}

static void ctrl_l_shows_the_line_again(void **state)
{
	(void)state;
	type("list\x1b[D");
	capture(NULL, "\nhv: a log line\n", 16); /* what another CPU printed meanwhile */
	type("\x0c");
	assert_line("list", 3);
}

static void up_recalls_and_down_returns_to_the_line_being_typed(void **state)
{
	(void)state;
	type("list\rversion\rdra");
	type("\x1b[A");
	assert_line("version", 7);
	type("\x1bOA");
	assert_line("list", 4);
	screen.bells = 0;
	type("\x10"); /* Ctrl-P: no older line */
	assert_line("list", 4);
	assert_int_equal(screen.bells, 1);
	type("\x1b[B");
	assert_line("version", 7);
	type("\x0e");
	assert_line("dra", 3);
	type("\x1bOB"); /* nothing newer */
	assert_line("dra", 3);
	assert_int_equal(screen.bells, 2);
	type("\x1b[A\r");
	assert_string_equal(ran, "version");
}

static void history_keeps_the_latest_32_lines(void **state)
{
	char line[16];
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "cmd%d\r", i);
		type(line);
	}
	for (i = 39; i >= 40 - LINE_EDIT_HISTORY; i--) {
		type("\x1b[A");
		snprintf(line, sizeof(line), "cmd%d", i);
		assert_string_equal(editor.line, line);
	}
	screen.bells = 0;
	type("\x1b[A");
	assert_string_equal(editor.line, "cmd8");
	assert_int_equal(screen.bells, 1);
	assert_true(LINE_EDIT_HISTORY >= 32);
}

static void history_skips_repeats_and_empty_lines(void **state)
{
	(void)state;
	type("a\rb\rb\r\r   \ra\r");
	type("\x1b[A");
	assert_line("a", 1);
	type("\x1b[A");
	assert_line("b", 1);
	type("\x1b[A");
	assert_line("a", 1);
	screen.bells = 0;
	type("\x1b[A");
	assert_int_equal(screen.bells, 1); /* three lines kept: a, b, a */
}

static void editing_a_recalled_line_leaves_history_alone(void **state)
{
	(void)state;
	type("list\rx\x1b[A");
	assert_line("list", 4);
	type("y\x1b[B");
	assert_line("x", 1);
	type("\x1b[A");
	assert_line("list", 4);
	type("\x7f\r");
	assert_string_equal(ran, "lis");
	type("\x1b[A");
	assert_line("lis", 3);
	type("\x1b[A");
	assert_line("list", 4);
}

static void tab_with_no_candidate_rings_the_bell(void **state)
{
	(void)state;
	type("zz\t");
	assert_line("zz", 2);
	assert_int_equal(screen.bells, 1);
	type(" bad\t"); /* a candidate that is not printable text is never offered */
	assert_line("zz bad", 6);
	assert_int_equal(screen.bells, 2);
}

static void tab_with_one_candidate_completes_it(void **state)
{
	(void)state;
	type("sta\t");
	assert_line("start ", 6);
	type("br\t");
	assert_line("start bravo ", 12);
	type("\r");
	assert_string_equal(ran, "start bravo ");
	type("lo \x1b[D\t"); /* the word up to the cursor is the prefix; a space follows already */
	assert_line("log ", 3);
}

static void tab_with_several_lists_them_and_keeps_the_common_prefix(void **state)
{
	(void)state;
	type("start al\t");
	assert_string_equal(screen.above, "alpha  alpine");
	assert_line("start alp", 9);
	type("h\t");
	assert_line("start alpha ", 12);
	type("\x15l\t");
	assert_string_equal(screen.above, "list  log");
	assert_line("l", 1);
	type("\x15\t"); /* an empty word: every command */
	assert_string_equal(screen.above, "list  log  start  stop  help");
	assert_line("", 0);
}

static void tab_without_candidates_does_nothing(void **state)
{
	(void)state;
	vt_reset(&screen);
	line_edit_init(&editor, &no_completion, PROMPT);
	line_edit_start(&editor);
	type("st\t");
	assert_line("st", 2);
}

static void garbage_is_ignored(void **state)
{
	static const char garbage[] = "\0\xff\x80\x9b\xfe\x04\x07\x11\x13\x16\x1a\x1c\x1d\x1f";
	int c;

	(void)state;
	type("ab");
	type_bytes(garbage, sizeof(garbage) - 1);
	for (c = 0x80; c <= 0xff; c++) {
		char b = (char)c;

		type_bytes(&b, 1);
	}
	assert_string_equal(out, PROMPT "ab");
	assert_line("ab", 2);
	type("\r");
	assert_string_equal(ran, "ab");
}

static void an_overlong_line_is_refused_with_a_message(void **state)
{
	char longline[200];

	(void)state;
	memset(longline, 'a', sizeof(longline));
	type("list ");
	type_bytes(longline, sizeof(longline));
	assert_int_equal(editor.len, LINE_EDIT_MAX - 1);
	assert_int_equal(screen.bells, 1); /* once, not for each byte that did not fit */
	type("\r");
	assert_int_equal(lines, 0);
	assert_string_equal(screen.above, "line too long (max 127)");
	assert_line("", 0);
	type("\x1b[A"); /* not kept in history either */
	assert_line("", 0);
	type("list\r");
	assert_string_equal(ran, "list");
}

static void an_overlong_line_erased_whole_is_forgotten(void **state)
{
	char longline[LINE_EDIT_MAX + 5];

	(void)state;
	memset(longline, 'x', sizeof(longline));
	type_bytes(longline, sizeof(longline));
	type("\x7f\x7f\r"); /* erasing part of it is not enough */
	assert_int_equal(lines, 0);
	type_bytes(longline, sizeof(longline));
	type("\x15log\r");
	assert_int_equal(lines, 1);
	assert_string_equal(ran, "log");
}

static void broken_escape_sequences_eat_no_text_after_them(void **state)
{
	(void)state;
	type("\x1bx"); /* ESC and a plain key (Alt-x): the key stays */
	assert_line("x", 1);
	type("\x1b\x1b[D"); /* a second ESC starts afresh */
	assert_line("x", 0);
	type("\x1b[1;5\x05"); /* cut by a control key, which still works */
	assert_line("x", 1);
	type("\x1bO5"); /* SS3 then no key */
	assert_line("x5", 2);
	type("\x1b[Z\x1b[2~\x1bOQ"); /* keys the editor has no use for */
	assert_line("x5", 2);
	type("\x1b[1\r");
	assert_int_equal(lines, 1);
	assert_string_equal(ran, "x5");
}

static void overlong_escape_sequences_are_dropped_whole(void **state)
{
	char seq[LINE_EDIT_ESC_MAX + 40];

	(void)state;
	type("list\r");
	memset(seq, '9', sizeof(seq));
	seq[0] = 0x1b;
	seq[1] = '[';
	seq[sizeof(seq) - 1] = 'A'; /* would be Up */
	type_bytes(seq, sizeof(seq));
	assert_line("", 0);
	type("ok");
	assert_line("ok", 2);
	memset(seq, 0x1b, sizeof(seq)); /* a flood of ESC */
	type_bytes(seq, sizeof(seq));
	type("\x1b[\x1b[\x1bO\x1b");
	type("v");
	assert_line("okv", 3);
	assert_int_equal(screen.bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(shows_the_prompt_and_echoes_printable_input, start),
		cmocka_unit_test_setup(cr_lf_and_crlf_each_end_one_line, start),
		cmocka_unit_test_setup(backspace_and_ctrl_h_erase_before_the_cursor, start),
		cmocka_unit_test_setup(left_and_right_move_and_insertion_goes_at_the_cursor, start),
		cmocka_unit_test_setup(delete_erases_under_the_cursor, start),
		cmocka_unit_test_setup(home_and_end_in_every_form, start),
		cmocka_unit_test_setup(ctrl_u_erases_before_the_cursor, start),
		cmocka_unit_test_setup(ctrl_w_erases_the_word_before_the_cursor, start),
		cmocka_unit_test_setup(ctrl_k_erases_from_the_cursor, start),
		cmocka_unit_test_setup(ctrl_c_abandons_the_line, start),
		cmocka_unit_test_setup(ctrl_l_shows_the_line_again, start),
		cmocka_unit_test_setup(up_recalls_and_down_returns_to_the_line_being_typed, start),
		cmocka_unit_test_setup(history_keeps_the_latest_32_lines, start),
		cmocka_unit_test_setup(history_skips_repeats_and_empty_lines, start),
		cmocka_unit_test_setup(editing_a_recalled_line_leaves_history_alone, start),
		cmocka_unit_test_setup(tab_with_no_candidate_rings_the_bell, start),
		cmocka_unit_test_setup(tab_with_one_candidate_completes_it, start),
		cmocka_unit_test_setup(tab_with_several_lists_them_and_keeps_the_common_prefix, start),
		cmocka_unit_test_setup(tab_without_candidates_does_nothing, start),
		cmocka_unit_test_setup(garbage_is_ignored, start),
		cmocka_unit_test_setup(an_overlong_line_is_refused_with_a_message, start),
		cmocka_unit_test_setup(an_overlong_line_erased_whole_is_forgotten, start),
		cmocka_unit_test_setup(broken_escape_sequences_eat_no_text_after_them, start),
		cmocka_unit_test_setup(overlong_escape_sequences_are_dropped_whole, start),
	};

	return cmocka_run_group_tests_name("line_edit", tests, NULL, NULL);
}
