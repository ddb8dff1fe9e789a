/*
 * libopenr2 as an MFC/R2 peer for Linegate's interoperability tests, without a card.
 *
 * openr2 1.3 reads, writes and ioctl()s a DAHDI channel's file descriptor itself (no
 * custom I/O before its unreleased master). Each channel here is one end of an
 * AF_UNIX/SOCK_SEQPACKET socketpair: openr2 reads and writes 160-byte A-law blocks on
 * it, and this program defines ioctl() (linked with -rdynamic, so libopenr2's calls
 * bind to it) to emulate the DAHDI requests openr2 makes on such an fd. Every other fd
 * and request goes to the real system call.
 *
 * Time is virtual and moved by the test: gettimeofday() (openr2's only clock for its
 * timers) is defined here too and returns the time of the last tick. Each tick the
 * test hands over one 20 ms block per channel, openr2 runs, and its block comes back:
 * the two sides run in lock step, as a board's timeslot would carry them, however
 * busy the machine is.
 *
 * usage: r2_peer CONTROL_FD VARIANT CHANNELS MAX_ANI MAX_DNIS ANI_FIRST(-1 default|0|1) VERBOSE(0|1)
 *
 * The control fd is a SOCK_SEQPACKET socket, one message per datagram:
 *   test -> peer                         peer -> test
 *   'C' chan abcd   bits received       'C' chan abcd   bits openr2 now sends
 *   'A' chan +160   A-law for openr2    'A' chan +160   openr2's block of the tick
 *   'T' u32 ms      run a tick          'T' u32 ms      the tick is done
 *   'M' chan cat restricted "ani,dnis"  'E' chan text   an openr2 event
 *   'Y' chan mode   accept (0 charge, 1 no charge)      'R' n           ready, n channels
 *   'N' chan        answer              'H' chan cause  disconnect (openr2 cause)
 *   'B' chan        block               'I' chan        set idle
 *   'Q'             quit
 * ABCD as on the board protocol: A = 8, B = 4, C = 2, D = 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <openr2.h>

/* The DAHDI kernel ABI (include/dahdi/user.h of dahdi-linux 2.11.1, Debian's
   dahdi-source): type 0xDA; struct dahdi_params is 136 bytes with channo at offset 0
   and sigtype at offset 12, struct dahdi_bufferinfo 24, struct dahdi_gains 516. The
   numbers match those libopenr2 1.3.3 passes (read from its object code). */
#define DAHDI_CODE 0xDA
#define DAHDI_FLUSH _IOW(DAHDI_CODE, 3, int)
#define DAHDI_GET_PARAMS _IOC(_IOC_READ | _IOC_WRITE, DAHDI_CODE, 5, 136)
#define DAHDI_GETEVENT _IOR(DAHDI_CODE, 8, int)
#define DAHDI_IOMUX _IOWR(DAHDI_CODE, 9, int)
#define DAHDI_SETGAINS _IOC(_IOC_WRITE, DAHDI_CODE, 16, 516)
#define DAHDI_GET_BUFINFO _IOC(_IOC_READ, DAHDI_CODE, 27, 24)
#define DAHDI_SET_BUFINFO _IOC(_IOC_WRITE, DAHDI_CODE, 27, 24)
#define DAHDI_ECHOCANCEL _IOW(DAHDI_CODE, 33, int)
#define DAHDI_CHANNO _IOR(DAHDI_CODE, 34, int)
#define DAHDI_SPECIFY _IOW(DAHDI_CODE, 38, int)
#define DAHDI_SETLAW _IOW(DAHDI_CODE, 39, int)
#define DAHDI_GETRXBITS _IOR(DAHDI_CODE, 43, int)
#define DAHDI_SETTXBITS _IOW(DAHDI_CODE, 43, int)
#define DAHDI_PARAMS_SIZE 136
#define DAHDI_BUFINFO_SIZE 24
#define DAHDI_SIG_CAS (1 << 15)
#define DAHDI_IOMUX_READ 1
#define DAHDI_IOMUX_WRITE 2
#define DAHDI_IOMUX_SIGEVENT 8
#define DAHDI_FLUSH_READ 1
#define DAHDI_FLUSH_WRITE 2
#define DAHDI_EVENT_NONE 0
#define DAHDI_EVENT_BITSCHANGED 13

#define BLOCK 160
#define MAX_CHANNELS 30
#define SILENCE 0xD5 /* A-law zero */

struct channel {
	int fd;          /* openr2's end */
	int wire;        /* ours */
	int number;
	int rxbits;
	int txbits;
	int event;
	int blocked_write; /* openr2 wrote (or flushed) this tick: no more WRITE readiness */
	int hangup_due;  /* the far end disconnected: release after this tick's processing */
	openr2_chan_t *r2;
};

static struct channel channels[MAX_CHANNELS + 1];
static int nchannels;
static int control = -1;
static int verbose;
static struct timeval now_tv = {1000000000, 0};
static uint32_t now_ms;

static void die(const char *what)
{
	fprintf(stderr, "r2_peer: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void send_msg(const void *msg, size_t len)
{
	if (send(control, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		die("send to the test");
}

static void event(struct channel *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	msg[0] = 'E';
	msg[1] = (char)c->number;
	va_start(ap, fmt);
	int n = vsnprintf(msg + 2, sizeof(msg) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(msg) - 3)
		n = (int)sizeof(msg) - 3;
	send_msg(msg, 2 + (size_t)n);
	if (verbose)
		fprintf(stderr, "[%u ms] chan %d: %s\n", now_ms, c->number, msg + 2);
}

static struct channel *channel_of_fd(int fd)
{
	for (int i = 1; i <= nchannels; i++)
		if (channels[i].fd == fd)
			return &channels[i];
	return NULL;
}

static int readable(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void drain(int fd)
{
	char buf[BLOCK * 2];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* openr2's clock. */
int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	(void)tz;
	*tv = now_tv;
	return 0;
}

/* The DAHDI requests openr2 makes, on the channels' fds; the rest goes to the kernel. */
int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	struct channel *c = channel_of_fd(fd);
	if (!c)
		return (int)syscall(SYS_ioctl, fd, request, arg);
	int *value = arg;
	switch (request) {
	case DAHDI_CHANNO:
		*value = c->number;
		return 0;
	case DAHDI_GET_PARAMS:
		memset(arg, 0, DAHDI_PARAMS_SIZE);
		value[0] = c->number;     /* channo */
		value[3] = DAHDI_SIG_CAS; /* sigtype */
		return 0;
	case DAHDI_GET_BUFINFO:
		memset(arg, 0, DAHDI_BUFINFO_SIZE);
		return 0;
	case DAHDI_SET_BUFINFO:
	case DAHDI_SETGAINS:
	case DAHDI_SETLAW:
	case DAHDI_ECHOCANCEL:
	case DAHDI_SPECIFY:
		return 0;
	case DAHDI_SETTXBITS: {
		c->txbits = *value & 0xF;
		char msg[3] = {'C', (char)c->number, (char)c->txbits};
		send_msg(msg, sizeof(msg));
		return 0;
	}
	case DAHDI_GETRXBITS:
		*value = c->rxbits;
		return 0;
	case DAHDI_GETEVENT:
		*value = c->event;
		c->event = DAHDI_EVENT_NONE;
		return 0;
	case DAHDI_FLUSH:
		if (*value & DAHDI_FLUSH_WRITE) {
			drain(c->wire);   /* what openr2 wrote and the tick has not sent yet */
			c->blocked_write = 1;
		}
		if (*value & DAHDI_FLUSH_READ)
			drain(c->fd);
		return 0;
	case DAHDI_IOMUX: {
		/* Never blocks: openr2 1.3.3 always asks with DAHDI_IOMUX_NOWAIT. One block out
		   per tick paces its MF generator to the line's 8000 samples a second. */
		int want = *value, ready = 0;
		if ((want & DAHDI_IOMUX_READ) && readable(c->fd))
			ready |= DAHDI_IOMUX_READ;
		if ((want & DAHDI_IOMUX_WRITE) && !c->blocked_write && !readable(c->wire))
			ready |= DAHDI_IOMUX_WRITE;
		if ((want & DAHDI_IOMUX_SIGEVENT) && c->event != DAHDI_EVENT_NONE)
			ready |= DAHDI_IOMUX_SIGEVENT;
		*value = ready;
		return 0;
	}
	default:
		fprintf(stderr, "r2_peer: chan %d: DAHDI request 0x%lx is not emulated\n", c->number, request);
		errno = ENOTTY;
		return -1;
	}
}

/* ---- openr2's events ---- */
static struct channel *of(openr2_chan_t *r2)
{
	return openr2_chan_get_client_data(r2);
}

static void on_call_init(openr2_chan_t *r2)
{
	event(of(r2), "init");
}

static void on_call_offered(openr2_chan_t *r2, const char *ani, const char *dnis,
                            openr2_calling_party_category_t category)
{
	event(of(r2), "offered ani=%s dnis=%s category=%s restricted=%d", ani ? ani : "", dnis ? dnis : "",
	      openr2_proto_get_category_string(category), ani == NULL);
}

static void on_call_accepted(openr2_chan_t *r2, openr2_call_mode_t mode)
{
	event(of(r2), "accepted mode=%s", openr2_proto_get_call_mode_string(mode));
}

static void on_call_answered(openr2_chan_t *r2)
{
	event(of(r2), "answered");
}

static void on_call_disconnect(openr2_chan_t *r2, openr2_call_disconnect_cause_t cause)
{
	event(of(r2), "disconnect cause=%s", openr2_proto_get_disconnect_string(cause));
	of(r2)->hangup_due = 1; /* as an application does: release the channel */
}

static void on_call_end(openr2_chan_t *r2)
{
	event(of(r2), "end");
}

static void on_call_read(openr2_chan_t *r2, const unsigned char *buf, int len)
{
	(void)r2, (void)buf, (void)len;
}

static void on_hardware_alarm(openr2_chan_t *r2, int alarm)
{
	event(of(r2), "alarm %d", alarm);
}

static void on_os_error(openr2_chan_t *r2, int err)
{
	event(of(r2), "os-error %s", strerror(err));
}

static void on_protocol_error(openr2_chan_t *r2, openr2_protocol_error_t err)
{
	event(of(r2), "protocol-error %s", openr2_proto_get_error(err));
}

static void on_line_blocked(openr2_chan_t *r2)
{
	event(of(r2), "blocked");
}

static void on_line_idle(openr2_chan_t *r2)
{
	event(of(r2), "idle");
}

static void on_context_log(openr2_context_t *ctx, openr2_log_level_t level, const char *fmt, va_list ap)
{
	(void)ctx, (void)level;
	if (verbose) {
		fprintf(stderr, "[%u ms] openr2: ", now_ms);
		vfprintf(stderr, fmt, ap);
	}
}

static void on_channel_log(openr2_chan_t *r2, openr2_log_level_t level, const char *fmt, va_list ap)
{
	(void)level;
	if (verbose) {
		fprintf(stderr, "[%u ms] chan %d: ", now_ms, openr2_chan_get_number(r2));
		vfprintf(stderr, fmt, ap);
	}
}

static int on_dnis_digit_received(openr2_chan_t *r2, char digit)
{
	(void)r2, (void)digit;
	return 1; /* ask for more while max_dnis allows */
}

static void on_ani_digit_received(openr2_chan_t *r2, char digit)
{
	(void)r2, (void)digit;
}

static void on_billing_pulse_received(openr2_chan_t *r2)
{
	event(of(r2), "billing-pulse");
}

static openr2_event_interface_t events = {
	.on_call_init = on_call_init,
	.on_call_offered = on_call_offered,
	.on_call_accepted = on_call_accepted,
	.on_call_answered = on_call_answered,
	.on_call_disconnect = on_call_disconnect,
	.on_call_end = on_call_end,
	.on_call_read = on_call_read,
	.on_hardware_alarm = on_hardware_alarm,
	.on_os_error = on_os_error,
	.on_protocol_error = on_protocol_error,
	.on_line_blocked = on_line_blocked,
	.on_line_idle = on_line_idle,
	.on_context_log = on_context_log,
	.on_dnis_digit_received = on_dnis_digit_received,
	.on_ani_digit_received = on_ani_digit_received,
	.on_billing_pulse_received = on_billing_pulse_received,
};

/* ---- the test's commands ---- */
static struct channel *chan_arg(const unsigned char *msg, ssize_t len)
{
	if (len < 2 || msg[1] < 1 || msg[1] > nchannels) {
		fprintf(stderr, "r2_peer: message '%c' names no channel\n", len ? msg[0] : '?');
		return NULL;
	}
	return &channels[msg[1]];
}

static void check(struct channel *c, int rc, const char *what)
{
	if (rc)
		event(c, "refused %s", what);
}

static void run_tick(uint32_t ms)
{
	now_ms = ms;
	now_tv.tv_sec = 1000000000 + ms / 1000;
	now_tv.tv_usec = (ms % 1000) * 1000;
	for (int i = 1; i <= nchannels; i++) {
		struct channel *c = &channels[i];
		c->blocked_write = 0;
		openr2_chan_process_event(c->r2);
		if (c->hangup_due) {
			c->hangup_due = 0;
			check(c, openr2_chan_disconnect_call(c->r2, OR2_CAUSE_NORMAL_CLEARING), "disconnect");
			openr2_chan_process_event(c->r2);
		}
		drain(c->fd); /* a block openr2 did not read (reading off) is gone, as on a card */
		unsigned char out[2 + BLOCK];
		out[0] = 'A';
		out[1] = (unsigned char)c->number;
		ssize_t n = recv(c->wire, out + 2, BLOCK, MSG_DONTWAIT);
		if (n < 0)
			n = 0;
		memset(out + 2 + n, SILENCE, BLOCK - (size_t)n);
		drain(c->wire);
		send_msg(out, sizeof(out));
	}
	unsigned char done[5] = {'T', ms & 0xFF, (ms >> 8) & 0xFF, (ms >> 16) & 0xFF, ms >> 24};
	send_msg(done, sizeof(done));
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: r2_peer CONTROL_FD VARIANT CHANNELS MAX_ANI MAX_DNIS ANI_FIRST VERBOSE\n");
		return 2;
	}
	control = atoi(argv[1]);
	openr2_variant_t variant = openr2_proto_get_variant(argv[2]);
	nchannels = atoi(argv[3]);
	int max_ani = atoi(argv[4]), max_dnis = atoi(argv[5]), ani_first = atoi(argv[6]);
	verbose = atoi(argv[7]);
	if (variant == OR2_VAR_UNKNOWN || nchannels < 1 || nchannels > MAX_CHANNELS) {
		fprintf(stderr, "r2_peer: variant %s or %d channels not possible\n", argv[2], nchannels);
		return 2;
	}
	openr2_context_t *ctx = openr2_context_new(NULL, &events, NULL, variant, max_ani, max_dnis);
	if (!ctx) {
		fprintf(stderr, "r2_peer: openr2_context_new failed\n");
		return 2;
	}
	openr2_context_set_log_level(ctx, verbose ? OR2_LOG_ALL : OR2_LOG_NOTHING);
	if (ani_first >= 0)
		openr2_context_set_ani_first(ctx, ani_first);
	for (int i = 1; i <= nchannels; i++) {
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair))
			die("socketpair");
		struct channel *c = &channels[i];
		c->fd = pair[0];
		c->wire = pair[1];
		c->number = i;
		c->rxbits = 0x9; /* the far end idle until it says otherwise */
		c->r2 = openr2_chan_new_from_fd(ctx, c->fd, NULL, NULL);
		if (!c->r2) {
			fprintf(stderr, "r2_peer: openr2_chan_new_from_fd failed for chan %d\n", i);
			return 2;
		}
		openr2_chan_set_client_data(c->r2, c);
		openr2_chan_set_logging_func(c->r2, on_channel_log);
		openr2_chan_set_log_level(c->r2, verbose ? OR2_LOG_ALL : OR2_LOG_NOTHING);
		if (openr2_chan_set_idle(c->r2))
			fprintf(stderr, "r2_peer: chan %d did not go idle\n", i);
		/* openr2 starts believing the far end sends 0000 (its calloc'ed state), which
		   is a seizure: let it read the idle bits first, as an application does. */
		openr2_chan_handle_cas(c->r2);
	}
	unsigned char ready[2] = {'R', (unsigned char)nchannels};
	send_msg(ready, sizeof(ready));

	unsigned char msg[512];
	for (;;) {
		ssize_t len = recv(control, msg, sizeof(msg), 0);
		if (len <= 0)
			break; /* the test went away */
		struct channel *c = NULL;
		switch (msg[0]) {
		case 'Q':
			goto out;
		case 'T':
			if (len == 5)
				run_tick((uint32_t)msg[1] | (uint32_t)msg[2] << 8 | (uint32_t)msg[3] << 16 |
				         (uint32_t)msg[4] << 24);
			break;
		case 'C':
			if ((c = chan_arg(msg, len)) && len == 3 && (msg[2] & 0xF) != c->rxbits) {
				c->rxbits = msg[2] & 0xF;
				c->event = DAHDI_EVENT_BITSCHANGED;
			}
			break;
		case 'A':
			if ((c = chan_arg(msg, len)) && len == 2 + BLOCK) {
				drain(c->fd); /* at most one block waits for openr2 */
				if (send(c->wire, msg + 2, BLOCK, MSG_DONTWAIT) != BLOCK)
					die("audio to openr2");
			}
			break;
		case 'M':
			if ((c = chan_arg(msg, len)) && len >= 4) {
				msg[len < (ssize_t)sizeof(msg) ? len : (ssize_t)sizeof(msg) - 1] = 0;
				char *ani = (char *)msg + 4, *comma = strchr(ani, ',');
				if (!comma) {
					event(c, "refused make-call: no ','");
					break;
				}
				*comma = 0;
				check(c, openr2_chan_make_call(c->r2, msg[3] ? NULL : ani, comma + 1,
				                               (openr2_calling_party_category_t)msg[2]),
				      "make-call");
			}
			break;
		case 'Y':
			if ((c = chan_arg(msg, len)) && len == 3)
				check(c, openr2_chan_accept_call(c->r2, msg[2] ? OR2_CALL_NO_CHARGE : OR2_CALL_WITH_CHARGE),
				      "accept");
			break;
		case 'N':
			if ((c = chan_arg(msg, len)))
				check(c, openr2_chan_answer_call(c->r2), "answer");
			break;
		case 'H':
			if ((c = chan_arg(msg, len)) && len == 3)
				check(c, openr2_chan_disconnect_call(c->r2, (openr2_call_disconnect_cause_t)msg[2]),
				      "disconnect");
			break;
		case 'B':
			if ((c = chan_arg(msg, len)))
				check(c, openr2_chan_set_blocked(c->r2), "block");
			break;
		case 'I':
			if ((c = chan_arg(msg, len)))
				check(c, openr2_chan_set_idle(c->r2), "idle");
			break;
		default:
			fprintf(stderr, "r2_peer: unknown message '%c'\n", msg[0]);
		}
	}
out:
	openr2_context_delete(ctx); /* and its channels */
	return 0;
}
