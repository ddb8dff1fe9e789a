/*
 * pri_peer: libpri as the far end of a primary rate D-channel, for Linegate's interop
 * tests and benchmark (tests/interop/, tests/bench/bench_pri.py). No card: the D-channel
 * is a Unix SOCK_SEQPACKET socket inherited as a file descriptor, one LAPD frame per
 * datagram without flags and FCS (boards/PROTOCOL.md's HDLC message carries the same).
 *
 *   pri_peer --fd N --role network|cpe [--switch euroisdn_e1] [--timer T303=1000]...
 *            [--overlap] [--auto-answer] [--auto-release] [--debug]
 *
 * The test drives it with one command per line on stdin and reads one event per line on
 * stdout, "NAME key=value ...". Commands:
 *   call CHAN EXCL CALLED CALLING COMPLETE [PRES]   place a call; prints "CALLED id=N"
 *   proceeding ID | alerting ID [INBAND] | answer ID | progress ID | setup_ack ID
 *   info ID DIGITS | hangup ID CAUSE | reset CHAN (RESTART of one channel) | timer NAME MS
 *   bench N CHAN CALLED   place N calls one after another, each hung up when answered;
 *                         prints "BENCH calls=N" when the last is released
 *   stats                 prints "STATS cpu=SECONDS" (this process's user+system time)
 *   quit
 * libpri's own messages (debug, errors) go to stderr. (libpri 1.6 cannot send a RESTART of
 * the whole interface: its pri_restart() does nothing since its Q.921 rewrite.)
 *
 * libpri's custom I/O (pri_new_cb): it writes len+2 octets (room for the FCS a card's
 * HDLC controller adds) and expects the FCS on what it reads, dropping the last two
 * octets; so 2 are taken off on write and 2 dummy ones put on on read. With callbacks
 * libpri never touches the descriptor itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libpri.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_CALLS 4096
#define FCS_OCTETS 2

static struct pri *pri;
static int sock = -1;
static q931_call *calls[MAX_CALLS];
static int call_count;
static int auto_answer, auto_release;
static int bench_left, bench_done, bench_chan;
static char bench_called[64];

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void to_stderr(struct pri *ctrl, char *text)
{
	(void)ctrl;
	fputs(text, stderr);
}

static int io_read(struct pri *ctrl, void *buf, int buflen)
{
	(void)ctrl;
	ssize_t n = recv(sock, buf, buflen - FCS_OCTETS, MSG_DONTWAIT);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	memset((char *)buf + n, 0, FCS_OCTETS);
	return (int)n + FCS_OCTETS;
}

static int io_write(struct pri *ctrl, void *buf, int buflen)
{
	(void)ctrl;
	ssize_t n = send(sock, buf, buflen - FCS_OCTETS, MSG_NOSIGNAL);
	if (n < 0)
		return -1;
	return (int)n + FCS_OCTETS;
}

/* The id of a call we know (0 if not). */
static int call_id(q931_call *c)
{
	for (int i = 1; i <= call_count; i++)
		if (calls[i] == c)
			return i;
	return 0;
}

/* A new call (placed, or offered by RING): the lowest free id, so that the table stays
 * as small as the number of calls at once (a benchmark places thousands one by one). */
static int new_call_id(q931_call *c)
{
	if (!c)
		return 0;
	for (int i = 1; i <= call_count; i++)
		if (!calls[i]) {
			calls[i] = c;
			return i;
		}
	if (call_count + 1 >= MAX_CALLS)
		return 0;
	calls[++call_count] = c;
	return call_count;
}

static q931_call *call_of(const char *arg)
{
	int id = atoi(arg);
	if (id < 1 || id > call_count || !calls[id]) {
		out("ERROR no call %s", arg);
		return NULL;
	}
	return calls[id];
}

/* The call is gone: 1 if it was still known (a call ends once however libpri reports it). */
static int forget(q931_call *c)
{
	for (int i = 1; i <= call_count; i++)
		if (calls[i] == c) {
			calls[i] = NULL;
			return 1;
		}
	return 0;
}

static int place_call(int chan, int exclusive, char *called, char *calling, int complete, int pres)
{
	q931_call *c = pri_new_call(pri);
	struct pri_sr *sr = pri_sr_new();
	if (!c || !sr)
		return 0;
	pri_sr_set_channel(sr, chan, exclusive, 0);
	pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
	pri_sr_set_called(sr, called, PRI_NATIONAL_ISDN, complete);
	if (calling && strcmp(calling, "-") != 0)
		pri_sr_set_caller(sr, calling, NULL, PRI_NATIONAL_ISDN, pres);
	int res = pri_setup(pri, c, sr);
	pri_sr_free(sr);
	if (res) {
		out("ERROR pri_setup %d", res);
		return 0;
	}
	return new_call_id(c);
}

static void bench_next(void)
{
	if (bench_left > 0) {
		bench_left--;
		place_call(bench_chan, 1, bench_called, "-", 1, PRES_ALLOWED_USER_NUMBER_NOT_SCREENED);
	} else {
		out("BENCH calls=%d", bench_done);
	}
}

static void event(pri_event *e)
{
	int id;
	switch (e->e) {
	case PRI_EVENT_DCHAN_UP:
		out("DCHAN_UP");
		break;
	case PRI_EVENT_DCHAN_DOWN:
		out("DCHAN_DOWN");
		break;
	case PRI_EVENT_RING:
		id = new_call_id(e->ring.call);
		out("RING id=%d chan=%d called=%s calling=%s pres=%d plan=%d complete=%d cref=%d",
			id, e->ring.channel & 0xff, e->ring.callednum[0] ? e->ring.callednum : "-",
			e->ring.callingnum[0] ? e->ring.callingnum : "-", e->ring.callingpres, e->ring.callingplan,
			e->ring.complete, e->ring.cref);
		if (auto_answer) {
			pri_proceeding(pri, e->ring.call, e->ring.channel, 0);
			pri_acknowledge(pri, e->ring.call, e->ring.channel, 0);
			pri_answer(pri, e->ring.call, e->ring.channel, 0);
		}
		break;
	case PRI_EVENT_PROCEEDING:
		out("PROCEEDING id=%d chan=%d", call_id(e->proceeding.call), e->proceeding.channel & 0xff);
		break;
	case PRI_EVENT_PROGRESS:
		out("PROGRESS id=%d", call_id(e->proceeding.call));
		break;
	case PRI_EVENT_SETUP_ACK:
		out("SETUP_ACK id=%d chan=%d", call_id(e->setup_ack.call), e->setup_ack.channel & 0xff);
		break;
	case PRI_EVENT_RINGING:
		out("RINGING id=%d chan=%d", call_id(e->ringing.call), e->ringing.channel & 0xff);
		break;
	case PRI_EVENT_ANSWER:
		id = call_id(e->answer.call);
		out("ANSWER id=%d chan=%d", id, e->answer.channel & 0xff);
		/* pri_connect_ack_enable(1) makes CONNECT ACKNOWLEDGE the application's to send
		 * (libpri.h: "manual CONNECT_ACKNOWLEDGE"), as Asterisk's sig_pri does on ANSWER. */
		pri_connect_ack(pri, e->answer.call, 0);
		if (bench_chan)
			pri_hangup(pri, e->answer.call, PRI_CAUSE_NORMAL_CLEARING);
		break;
	case PRI_EVENT_CONNECT_ACK:
		out("CONNECT_ACK id=%d", call_id(e->connect_ack.call));
		break;
	case PRI_EVENT_INFO_RECEIVED:
		out("INFO id=%d digits=%s complete=%d", call_id(e->ring.call),
			e->ring.callednum[0] ? e->ring.callednum : "-", e->ring.complete);
		break;
	case PRI_EVENT_KEYPAD_DIGIT:
		out("KEYPAD id=%d digits=%s", call_id(e->digit.call), e->digit.digits);
		break;
	case PRI_EVENT_HANGUP_REQ:
		out("HANGUP_REQ id=%d cause=%d", call_id(e->hangup.call), e->hangup.cause);
		if (auto_release)
			pri_hangup(pri, e->hangup.call, e->hangup.cause);
		break;
	case PRI_EVENT_HANGUP:
		out("HANGUP id=%d cause=%d", call_id(e->hangup.call), e->hangup.cause);
		/* libpri keeps the call until the application hangs up too. */
		pri_hangup(pri, e->hangup.call, e->hangup.cause);
		if (forget(e->hangup.call) && bench_chan) {
			bench_done++;
			bench_next();
		}
		break;
	case PRI_EVENT_HANGUP_ACK:
		out("HANGUP_ACK id=%d cause=%d", call_id(e->hangup.call), e->hangup.cause);
		if (forget(e->hangup.call) && bench_chan) {
			bench_done++;
			bench_next();
		}
		break;
	case PRI_EVENT_RESTART:
		out("RESTART chan=%d", e->restart.channel == -1 ? -1 : e->restart.channel & 0xff);
		break;
	case PRI_EVENT_RESTART_ACK:
		out("RESTART_ACK chan=%d", e->restartack.channel == -1 ? -1 : e->restartack.channel & 0xff);
		break;
	case PRI_EVENT_CONFIG_ERR:
		out("CONFIG_ERR %s", e->err.err);
		break;
	default:
		out("EVENT %d %s", e->e, pri_event2str(e->e));
		break;
	}
}

static void set_timer(const char *name, const char *ms)
{
	int idx = pri_timer2idx(name);
	if (idx < 0 || pri_set_timer(pri, idx, atoi(ms))) {
		out("ERROR timer %s", name);
		return;
	}
}

static int command(char *line)
{
	char *argv[8] = {0};
	int argc = 0;
	for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n"))
		argv[argc++] = tok;
	if (!argc)
		return 0;
	const char *cmd = argv[0];
	q931_call *c;
	if (!strcmp(cmd, "quit"))
		return 1;
	if (!strcmp(cmd, "call") && argc >= 6) {
		int id = place_call(atoi(argv[1]), atoi(argv[2]), argv[3], argv[4], atoi(argv[5]),
			argc > 6 ? atoi(argv[6]) : PRES_ALLOWED_USER_NUMBER_NOT_SCREENED);
		out("CALLED id=%d", id);
	} else if (!strcmp(cmd, "proceeding") && argc >= 2 && (c = call_of(argv[1]))) {
		pri_proceeding(pri, c, 0, 0);
	} else if (!strcmp(cmd, "alerting") && argc >= 2 && (c = call_of(argv[1]))) {
		pri_acknowledge(pri, c, 0, argc > 2 ? atoi(argv[2]) : 0);
	} else if (!strcmp(cmd, "answer") && argc >= 2 && (c = call_of(argv[1]))) {
		pri_answer(pri, c, 0, 0);
	} else if (!strcmp(cmd, "progress") && argc >= 2 && (c = call_of(argv[1]))) {
		pri_progress(pri, c, 0, 1);
	} else if (!strcmp(cmd, "setup_ack") && argc >= 2 && (c = call_of(argv[1]))) {
		pri_need_more_info(pri, c, 0, 0);
	} else if (!strcmp(cmd, "info") && argc >= 3 && (c = call_of(argv[1]))) {
		for (const char *d = argv[2]; *d; d++)
			pri_information(pri, c, *d);
	} else if (!strcmp(cmd, "hangup") && argc >= 3 && (c = call_of(argv[1]))) {
		pri_hangup(pri, c, atoi(argv[2]));
	} else if (!strcmp(cmd, "reset") && argc >= 2) {
		pri_reset(pri, atoi(argv[1]));
	} else if (!strcmp(cmd, "timer") && argc >= 3) {
		set_timer(argv[1], argv[2]);
	} else if (!strcmp(cmd, "bench") && argc >= 4) {
		bench_left = atoi(argv[1]);
		bench_chan = atoi(argv[2]);
		snprintf(bench_called, sizeof bench_called, "%s", argv[3]);
		bench_done = 0;
		bench_next();
	} else if (!strcmp(cmd, "stats")) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		out("STATS cpu=%.6f", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
			+ ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	} else {
		out("ERROR bad command %s", cmd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int node = 0, switchtype = PRI_SWITCH_EUROISDN_E1, overlap = 0, debug = 0;
	char *timers[32];
	int ntimers = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fd") && i + 1 < argc)
			sock = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--role") && i + 1 < argc) {
			i++;
			node = !strcmp(argv[i], "network") ? PRI_NETWORK : !strcmp(argv[i], "cpe") ? PRI_CPE : 0;
		} else if (!strcmp(argv[i], "--switch") && i + 1 < argc) {
			i++;
			switchtype = !strcmp(argv[i], "euroisdn_t1") ? PRI_SWITCH_EUROISDN_T1 : PRI_SWITCH_EUROISDN_E1;
		} else if (!strcmp(argv[i], "--timer") && i + 1 < argc && ntimers < 32)
			timers[ntimers++] = argv[++i];
		else if (!strcmp(argv[i], "--overlap"))
			overlap = 1;
		else if (!strcmp(argv[i], "--auto-answer"))
			auto_answer = 1;
		else if (!strcmp(argv[i], "--auto-release"))
			auto_release = 1;
		else if (!strcmp(argv[i], "--debug"))
			debug = 1;
		else {
			fprintf(stderr, "pri_peer: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (sock < 0 || !node) {
		fprintf(stderr, "usage: pri_peer --fd N --role network|cpe [options]\n");
		return 2;
	}
	pri_set_message(to_stderr);
	pri_set_error(to_stderr);
	pri = pri_new_cb(sock, node, switchtype, io_read, io_write, NULL);
	if (!pri) {
		fprintf(stderr, "pri_peer: pri_new_cb failed\n");
		return 1;
	}
	if (debug)
		pri_set_debug(pri, PRI_DEBUG_Q921_STATE | PRI_DEBUG_Q931_DUMP | PRI_DEBUG_Q931_STATE
			| PRI_DEBUG_Q931_ANOMALY);
	pri_set_overlapdial(pri, overlap);
	pri_connect_ack_enable(pri, 1);
	pri_hangup_fix_enable(pri, 1);
	for (int i = 0; i < ntimers; i++) {
		char *eq = strchr(timers[i], '=');
		if (eq) {
			*eq = '\0';
			set_timer(timers[i], eq + 1);
		}
	}
	out("READY");

	char line[512];
	size_t have = 0;
	for (;;) {
		struct timeval *next = pri_schedule_next(pri);
		int timeout = -1;
		if (next) {
			struct timeval now;
			gettimeofday(&now, NULL);
			long ms = (next->tv_sec - now.tv_sec) * 1000 + (next->tv_usec - now.tv_usec) / 1000;
			timeout = ms < 0 ? 0 : (int)ms + 1;
		}
		struct pollfd fds[2] = {{sock, POLLIN, 0}, {0, POLLIN, 0}};
		int n = poll(fds, 2, timeout);
		if (n < 0 && errno != EINTR)
			return 1;
		if (n > 0 && (fds[0].revents & (POLLHUP | POLLERR)) && !(fds[0].revents & POLLIN))
			return 0;      /* the other end closed the D-channel */
		if (n > 0 && (fds[0].revents & POLLIN)) {
			pri_event *e = pri_check_event(pri);
			if (e)
				event(e);
		}
		if (n > 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
			ssize_t got = read(0, line + have, sizeof line - 1 - have);
			if (got <= 0)
				return 0;
			have += (size_t)got;
			line[have] = '\0';
			char *nl;
			while ((nl = strchr(line, '\n'))) {
				*nl = '\0';
				if (command(line))
					return 0;
				size_t used = (size_t)(nl + 1 - line);
				memmove(line, nl + 1, have - used + 1);
				have -= used;
			}
			if (have == sizeof line - 1)
				have = 0;      /* a line too long for any command */
		}
		pri_event *e = pri_schedule_run(pri);
		if (e)
			event(e);
	}
}
