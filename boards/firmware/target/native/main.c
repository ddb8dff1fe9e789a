/* The native target: the firmware as a process on this machine, which is the
 * board simulator (like Zephyr's native_sim). This file is the HAL of hal.h
 * and the process around the firmware: flash is a file in the state
 * directory, the host link a TCP listener on loopback, time the monotonic
 * clock. A restart (RESET) re-executes this program, keeping the link's
 * sockets, so that the bootloader runs from scratch as on hardware.
 *
 * The line side's HAL is boards/sim/line_model.c (the exchange, phones and
 * E1 loops, with conditions from --fault and --script); with --network URL
 * the simulated telephone network takes the far end's place
 * (boards/sim/network_link.c, boards/sim/LINESIDE.md).
 *
 * Time: the monotonic clock, or with --virtual-clock a counter that moves
 * only while the board waits for the host: each main-loop round that finds
 * no byte to read advances it by the time the round would have waited (at
 * most to the next 5 ms line tick) without sleeping; a round that reads
 * bytes does not advance it; sending blocks while the host does not read
 * (TCP), and with no host attached the clock stands still. So the board's
 * time runs as fast as the host takes its output and never ahead of a
 * request the host has sent. The receiver's 200 ms idle rule runs on this
 * clock too, so a host must write each frame in one go (PROTOCOL.md asks a
 * sender for that anyway). Once a host has granted time (SIM_ADVANCE,
 * PROTOCOL.md "Host-granted time"), or from boot with --hold-clock, the
 * clock moves only inside SIM_ADVANCE, up to the grant, and a board waiting
 * for the host waits in real time (the idle rule then waits for granted
 * time too: a host on granted time writes whole frames or none).
 *
 * Also the test harness of the core: --selftest-* modes run the frame
 * receiver, the encoder and the crypto on given bytes (tests/boards/). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../crc32.h"
#include "../../crypto.h"
#include "../../firmware.h"
#include "../../frame.h"
#include "../../msg.h"
#include "../../../sim/line_model.h"
#include "../../../sim/network_link.h"

#define EXIT_BAD_INPUT 2
#define EXIT_POWER_CUT 6   /* as gateway.tools.cli documents it */

static const char *prog = "linegate-fw-native";

/* ---- the process's state (the "hardware") ---- */
static int flash_fd = -1;
static long long cut_after = -1;     /* -1: never */
static long long flash_ops;          /* page erases + page writes since this process started */
static int listen_fd = -1, conn_fd = -1;
static struct timespec boot_time;
static struct lg_board_id board;
static char **saved_argv;
static volatile sig_atomic_t stop;
static int virtual_clock;
static int is_pty;                   /* --listen pty: conn_fd is the master side, always attached */
static uint32_t vclock_ms;
static int granted;                  /* a host granted time (or --hold-clock): the clock stops at grant_ms */
static uint32_t grant_ms;
#define HELD_WAIT_MS 200             /* a clock held at its grant waits this long for the host per round */

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

/* ---- HAL: flash ---- */
int lg_hal_flash_read(uint32_t addr, uint8_t *buf, size_t len)
{
    if (addr > LG_FLASH_SIZE || len > LG_FLASH_SIZE - addr)
        return LG_E_FLASH;
    return pread(flash_fd, buf, len, addr) == (ssize_t)len ? LG_OK : LG_E_FLASH;
}

/* The power cut: the Nth+1 page operation never happens. Erases count with
 * writes because an erase changes a page too (a cut between the erase and
 * the write of a record is the case the two record copies are there for). */
static void flash_op(void)
{
    if (cut_after >= 0 && flash_ops >= cut_after) {
        fprintf(stderr, "%s: power cut after %lld page writes\n", prog, flash_ops);
        _exit(EXIT_POWER_CUT);
    }
    flash_ops++;
}

int lg_hal_flash_erase_page(uint32_t addr)
{
    uint8_t page[LG_PAGE_SIZE];
    if (addr % LG_PAGE_SIZE || addr >= LG_FLASH_SIZE)
        return LG_E_FLASH;
    flash_op();
    memset(page, 0xFF, sizeof page);
    return pwrite(flash_fd, page, sizeof page, addr) == (ssize_t)sizeof page ? LG_OK : LG_E_FLASH;
}

int lg_hal_flash_write_page(uint32_t addr, const uint8_t data[LG_PAGE_SIZE])
{
    uint8_t page[LG_PAGE_SIZE];
    if (addr % LG_PAGE_SIZE || addr >= LG_FLASH_SIZE)
        return LG_E_FLASH;
    /* NOR flash programs erased pages only; a write elsewhere is a firmware bug to catch here. */
    if (pread(flash_fd, page, sizeof page, addr) != (ssize_t)sizeof page)
        return LG_E_FLASH;
    for (size_t i = 0; i < sizeof page; i++)
        if (page[i] != 0xFF)
            return LG_E_FLASH;
    flash_op();
    return pwrite(flash_fd, data, LG_PAGE_SIZE, addr) == (ssize_t)LG_PAGE_SIZE ? LG_OK : LG_E_FLASH;
}

/* ---- HAL: host link (one TCP client at a time; bytes are dropped while none is attached) ---- */
/* --exit-with-parent: the process that started us (a daemon, a test) owns us; when it is
 * gone (killed with -9, nobody to stop us) we go too instead of running on orphaned. */
static pid_t owner_pid = -1;

size_t lg_hal_link_recv(uint8_t *buf, size_t max, uint32_t wait_ms)
{
    if (owner_pid > 0 && getppid() != owner_pid)
        exit(0);
    struct pollfd p = {conn_fd >= 0 ? conn_fd : listen_fd, POLLIN, 0};
    if (virtual_clock && conn_fd >= 0) {
        if (poll(&p, 1, 0) <= 0) {
            if (!granted) {
                vclock_ms += wait_ms;  /* the host has nothing for us: time passes (see the top) */
                return 0;
            }
            if (poll(&p, 1, HELD_WAIT_MS) <= 0)
                return 0;              /* held at the grant: only SIM_ADVANCE moves it */
        }
    } else if (poll(&p, 1, (int)wait_ms) <= 0) {
        return 0;
    }
    if (conn_fd < 0) {
        conn_fd = accept(listen_fd, NULL, NULL);
        int one = 1;
        /* Replies and streams are small frames; Nagle's algorithm would hold them for an ACK. */
        if (conn_fd >= 0)
            setsockopt(conn_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return 0;
    }
    if (is_pty) {
        /* We hold the slave open too, so a host closing it is no hang-up; read errors are transient. */
        ssize_t n = read(conn_fd, buf, max);
        return n > 0 ? (size_t)n : 0;
    }
    ssize_t n = recv(conn_fd, buf, max, 0);
    if (n <= 0) {
        close(conn_fd);
        conn_fd = -1;
        return 0;
    }
    return (size_t)n;
}

void lg_hal_link_send(const uint8_t *buf, size_t len)
{
    while (is_pty && len) {
        ssize_t n = write(conn_fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;        /* nothing we can do about a pty that refuses bytes: drop them, like no host */
        buf += n;
        len -= (size_t)n;
    }
    while (conn_fd >= 0 && len) {
        ssize_t n = send(conn_fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0) {
            close(conn_fd);
            conn_fd = -1;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

uint32_t lg_hal_ticks_ms(void)
{
    struct timespec t;
    if (virtual_clock)
        return vclock_ms;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint32_t)((t.tv_sec - boot_time.tv_sec) * 1000 + (t.tv_nsec - boot_time.tv_nsec) / 1000000);
}

int lg_hal_clock_grant(uint32_t until_ms)
{
    if (!virtual_clock)
        return LG_E_STATE;
    granted = 1;
    grant_ms = until_ms;
    return LG_OK;
}

void lg_hal_clock_step(uint32_t ms)
{
    if (!virtual_clock || !granted || (int32_t)(grant_ms - vclock_ms) <= 0)
        return;
    uint32_t room = grant_ms - vclock_ms;
    vclock_ms += ms < room ? ms : room;
}

void lg_hal_board_id(struct lg_board_id *id)
{
    *id = board;
}

/* Restart: run this program again with the link's sockets and what is left
 * of the power-cut budget, so memory starts empty and the bootloader decides. */
void lg_hal_reset(unsigned mode)
{
    char *argv[64], fds[32], cut[32];
    int n = 0;
    for (char **a = saved_argv; *a && n < 52; a++) {
        if (!strcmp(*a, "--inherit-fds") || !strcmp(*a, "--power-cut-after-writes")) {
            if (a[1])
                a++;
            continue;
        }
        if (!strcmp(*a, "--stay-in-bootloader"))
            continue;
        argv[n++] = *a;
    }
    snprintf(fds, sizeof fds, "%d,%d", listen_fd, conn_fd);
    argv[n++] = "--inherit-fds";
    argv[n++] = fds;
    if (cut_after >= 0) {
        snprintf(cut, sizeof cut, "%lld", cut_after - flash_ops);
        argv[n++] = "--power-cut-after-writes";
        argv[n++] = cut;
    }
    if (mode == 1)
        argv[n++] = "--stay-in-bootloader";
    argv[n] = NULL;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    die(1, "restart failed: %s", strerror(errno));
}

/* ---- command line helpers ---- */
static long long number(const char *opt, const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        die(EXIT_BAD_INPUT, "%s: '%s' is not a number in %lld..%lld", opt, s, lo, hi);
    return v;
}

static int unhex(const char *s, uint8_t *out, size_t max)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
            return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

static void hexout(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

/* A KEY.pub: 64 hex digits on one line (IMAGE.md, "Keys"). */
static void read_pub(const char *path, uint8_t key[32])
{
    char line[256];
    FILE *f = fopen(path, "r");
    if (!f)
        die(EXIT_BAD_INPUT, "--trust %s: %s", path, strerror(errno));
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    fclose(f);
    line[strcspn(line, "\r\n")] = 0;
    if (strlen(line) != 64 || unhex(line, key, 32) != 32)
        die(EXIT_BAD_INPUT, "--trust %s: not a public key (want 64 hex digits on one line, the 32 raw bytes of an Ed25519 key)", path);
}

static const char *kind_name(uint8_t kind)
{
    return kind == LG_KIND_E1X2 ? "e1x2" : kind == LG_KIND_FXO4 ? "fxo4" : "fxs4";
}

static uint8_t kind_code(const char *s)
{
    if (!strcmp(s, "e1x2")) return LG_KIND_E1X2;
    if (!strcmp(s, "fxo4")) return LG_KIND_FXO4;
    if (!strcmp(s, "fxs4")) return LG_KIND_FXS4;
    die(EXIT_BAD_INPUT, "--kind: '%s' is not a board kind (e1x2, fxo4, fxs4)", s);
}

/* ---- self-test modes (the test harness of the core) ---- */
static int selftest_decode(void)
{
    /* stdin: a byte stream; stdout: one line per frame or error, then the counters. */
    static struct lg_rx rx;
    struct lg_rx_event ev;
    uint8_t in[700];
    size_t n;
    lg_rx_init(&rx);
    while ((n = fread(in, 1, sizeof in, stdin)) > 0) {
        size_t at = 0;
        while (at < n) {
            at += lg_rx_push(&rx, in + at, n - at);
            while (lg_rx_next(&rx, &ev) != LG_RX_NONE) {
                if (ev.kind == LG_RX_FRAME) {
                    printf("frame type=%u seq=%u offset=%llu payload=", ev.type, ev.seq,
                           (unsigned long long)ev.frame_offset);
                    hexout(ev.payload, ev.length);
                    printf("\n");
                } else {
                    printf("error field=%s value=%lu offset=%llu\n", ev.field, (unsigned long)ev.value,
                           (unsigned long long)ev.offset);
                }
            }
        }
    }
    printf("counters frames=%lu version=%lu length=%lu crc=%lu type=%lu noise=%lu pending=%zu\n",
           (unsigned long)rx.frames, (unsigned long)rx.errors[LG_RXE_VERSION], (unsigned long)rx.errors[LG_RXE_LENGTH],
           (unsigned long)rx.errors[LG_RXE_CRC], (unsigned long)rx.errors[LG_RXE_TYPE], (unsigned long)rx.noise, rx.len);
    return 0;
}

/* stdin: what a network sends; stdout: one line per TOCK, WELCOME or REFUSED the board's receiver
 * takes from it, up to the first error (then the link would be dropped). */
static int selftest_line_decode(unsigned ports, unsigned spans)
{
    static struct lg_net_rx r;
    uint8_t in[700];
    size_t n;
    lg_net_rx_init(&r, ports ? LG_KIND_FXO4 : LG_KIND_E1X2, ports, spans);
    while ((n = fread(in, 1, sizeof in, stdin)) > 0) {
        size_t at = 0;
        while (at < n) {
            at += lg_net_rx_push(&r, in + at, n - at);
            enum lg_net_rx_kind k;
            while ((k = lg_net_rx_next(&r)) != LG_NET_RX_NONE) {
                const struct lg_net_tock *t = &r.tock;
                switch (k) {
                case LG_NET_RX_WELCOME: printf("welcome\n"); break;
                case LG_NET_RX_REFUSED: printf("refused %s\n", r.text); break;
                case LG_NET_RX_ERROR: printf("error %s\n", r.text); return 0;
                default:
                    printf("tock seq=%u", t->seq);
                    for (unsigned i = 0; i < t->nports; i++)
                        printf(" port=%u:%u", t->port[i].port, t->port[i].sense);
                    for (unsigned i = 0; i < t->nspans; i++) {
                        printf(" span=%u:%u:", t->span[i].span, t->span[i].signal);
                        for (unsigned ts = 1; ts < 32; ts++)
                            if ((t->span[i].cas_mask >> ts) & 1)
                                printf("%u=%u,", ts, t->span[i].abcd[ts]);
                    }
                    for (unsigned c = 0; c < LG_MODEL_SPANS * 32; c++)
                        if (t->audio_valid[c]) {
                            printf(" audio=%u/%u:", spans ? c / 32 : c, spans ? c % 32 : 0);
                            hexout(t->audio[c], 160);
                        }
                    for (unsigned sp = 0; sp < LG_MODEL_SPANS; sp++)
                        for (unsigned i = 0; i < t->hdlc[sp].n; i++) {
                            unsigned j = (t->hdlc[sp].head + i) % LG_MODEL_HDLC_QUEUE;
                            printf(" hdlc=%u:", sp);
                            hexout(t->hdlc[sp].data[j], t->hdlc[sp].len[j]);
                        }
                    printf("\n");
                }
            }
        }
    }
    return 0;
}

static int selftest(int argc, char **argv)
{
    static uint8_t a[LG_MAX_FRAME], b[LG_MAX_FRAME], m[1 << 16];
    if (!strcmp(argv[1], "--selftest-decode"))
        return selftest_decode();
    if (!strcmp(argv[1], "--selftest-line-decode") && argc == 4)
        return selftest_line_decode((unsigned)number("ports", argv[2], 0, LG_MODEL_PORTS),
                                    (unsigned)number("spans", argv[3], 0, LG_MODEL_SPANS));
    if (!strcmp(argv[1], "--selftest-encode") && argc == 5) {
        int n = unhex(argv[4], a, LG_MAX_PAYLOAD);
        if (n < 0)
            die(EXIT_BAD_INPUT, "payload: not hex");
        n = lg_frame_encode(b, (uint8_t)number("type", argv[2], 0, 255), (uint16_t)number("seq", argv[3], 0, 65535), a,
                            (size_t)n);
        hexout(b, (size_t)n);
        printf("\n");
        return 0;
    }
    if (!strcmp(argv[1], "--selftest-check") && argc == 4) {
        /* --selftest-check TYPE PAYLOADHEX: what the firmware thinks of a payload */
        struct lg_msg_error err;
        int n = unhex(argv[3], m, sizeof m);
        if (n < 0)
            die(EXIT_BAD_INPUT, "payload: not hex");
        if (lg_msg_check((uint8_t)number("type", argv[2], 0, 255), m, (size_t)n, &err) == 0)
            printf("ok\n");
        else
            printf("error field=%s value=%lu offset=%zu\n", err.field, (unsigned long)err.value, err.offset);
        return 0;
    }
    if (!strcmp(argv[1], "--selftest-sha256") && argc == 3) {
        struct lg_sha256 s;
        int n = unhex(argv[2], m, sizeof m);
        if (n < 0)
            die(EXIT_BAD_INPUT, "message: not hex");
        lg_sha256_init(&s);
        lg_sha256_update(&s, m, (size_t)n);
        lg_sha256_final(&s, a);
        hexout(a, 32);
        printf("\n");
        return 0;
    }
    if (!strcmp(argv[1], "--selftest-sha512") && argc == 3) {
        struct lg_sha512 s;
        int n = unhex(argv[2], m, sizeof m);
        if (n < 0)
            die(EXIT_BAD_INPUT, "message: not hex");
        lg_sha512_init(&s);
        lg_sha512_update(&s, m, (size_t)n);
        lg_sha512_final(&s, a);
        hexout(a, 64);
        printf("\n");
        return 0;
    }
    if (!strcmp(argv[1], "--selftest-ed25519") && argc == 5) {
        /* PUB SIG MSG, all hex: prints "valid" or "invalid" */
        struct lg_ed25519_check c;
        int n;
        if (unhex(argv[2], a, 32) != 32 || unhex(argv[3], b, 64) != 64 || (n = unhex(argv[4], m, sizeof m)) < 0)
            die(EXIT_BAD_INPUT, "want PUB (32 bytes) SIG (64 bytes) MSG in hex");
        lg_ed25519_check_init(&c, b, a);
        lg_ed25519_check_update(&c, m, (size_t)n);
        printf("%s\n", lg_ed25519_check_final(&c) == 0 ? "valid" : "invalid");
        return 0;
    }
    die(EXIT_BAD_INPUT, "unknown self-test or wrong arguments: %s", argv[1]);
}

/* ---- the state directory ---- */
static char *path_in(const char *dir, const char *name)
{
    static char p[2][4096];
    static int which;
    which ^= 1;
    if ((size_t)snprintf(p[which], sizeof p[which], "%s/%s", dir, name) >= sizeof p[which])
        die(EXIT_BAD_INPUT, "--state: path too long");
    return p[which];
}

/* A new board: an erased flash file with the bootloader's key block and the
 * factory image in slot A, built aside and renamed into place when complete,
 * so that an interrupted provisioning leaves no half-made board. */
static void provision(const char *dir, const char *factory, uint8_t (*keys)[32], unsigned nkeys, long long seed)
{
    if (!factory)
        die(EXIT_BAD_INPUT, "--state %s holds no board yet: a new board needs --factory-image FILE (linegate sim makes one)", dir);
    if (!nkeys)
        die(EXIT_BAD_INPUT, "--state %s holds no board yet: a new board needs --trust KEY.pub", dir);
    FILE *f = fopen(factory, "rb");
    if (!f)
        die(EXIT_BAD_INPUT, "--factory-image %s: %s", factory, strerror(errno));
    static uint8_t image[LG_SLOT_SIZE + 1];
    size_t n = fread(image, 1, sizeof image, f);
    fclose(f);
    if (n > LG_SLOT_SIZE)
        die(EXIT_BAD_INPUT, "--factory-image %s: larger than a slot (%u bytes)", factory, LG_SLOT_SIZE);
    if (n < LG_IMAGE_MIN || n != LG_IMAGE_MIN + lg_get32(image + 24))
        die(EXIT_BAD_INPUT, "--factory-image %s: %zu bytes is not an image (header + payload length + 64)", factory, n);

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path_in(dir, "flash.bin.new"));
    flash_fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (flash_fd < 0)
        die(EXIT_BAD_INPUT, "--state %s: cannot create flash.bin.new: %s", dir, strerror(errno));
    static uint8_t erased[64 * 1024];
    memset(erased, 0xFF, sizeof erased);
    for (uint32_t at = 0; at < LG_FLASH_SIZE; at += sizeof erased)
        if (pwrite(flash_fd, erased, sizeof erased, at) != (ssize_t)sizeof erased)
            die(1, "%s: write failed: %s", tmp, strerror(errno));
    uint8_t page[LG_PAGE_SIZE];
    lg_trust_page(page, (const uint8_t(*)[32])keys, nkeys);
    if (lg_hal_flash_write_page(LG_FLASH_BOOT, page) != LG_OK)
        die(1, "%s: write failed", tmp);
    for (size_t at = 0; at < n; at += LG_PAGE_SIZE) {
        memset(page, 0xFF, sizeof page);
        memcpy(page, image + at, n - at < LG_PAGE_SIZE ? n - at : LG_PAGE_SIZE);
        if (lg_hal_flash_write_page(LG_FLASH_SLOT_A + (uint32_t)at, page) != LG_OK)
            die(1, "%s: write failed", tmp);
    }
    struct lg_trust trust;
    struct lg_image_info info;
    char why[96];
    lg_trust_load(&trust);
    if (lg_image_check(LG_SLOT_A, &trust, &board, &info, why, sizeof why) != LG_IMAGE_VALID) {
        unlink(tmp);
        die(EXIT_BAD_INPUT, "--factory-image %s: the bootloader refuses it: %s", factory, why);
    }
    FILE *b = fopen(path_in(dir, "board.txt"), "w");
    if (!b || fprintf(b, "kind %s\nseed %lld\nhw_revision %u\n", kind_name(board.kind), seed, board.hw_revision) < 0 ||
        fclose(b) != 0)
        die(1, "--state %s: cannot write board.txt", dir);
    if (fsync(flash_fd) != 0 || rename(tmp, path_in(dir, "flash.bin")) != 0)
        die(1, "--state %s: cannot rename flash.bin.new: %s", dir, strerror(errno));
    fprintf(stderr, "%s: new %s board in %s: factory firmware %u.%u.%u in slot A\n", prog, kind_name(board.kind), dir,
            info.version[0], info.version[1], info.version[2]);
}

static void serial_from_seed(long long seed)
{
    uint8_t s[8];
    for (int i = 0; i < 8; i++)
        s[i] = (uint8_t)((unsigned long long)seed >> (8 * i));
    char text[32];
    snprintf(text, sizeof text, "%s-%08lX", kind_name(board.kind), (unsigned long)lg_crc32(0, s, 8));
    for (char *c = text; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    memset(board.serial, 0, sizeof board.serial);
    memcpy(board.serial, text, strlen(text) < 16 ? strlen(text) : 16);
}

/* A pseudo-terminal: the host opens the slave as it would a serial port. */
static void open_pty(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || !ptsname(m))
        die(1, "--listen pty: %s", strerror(errno));
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    struct termios t;
    if (s < 0 || tcgetattr(s, &t) != 0)
        die(1, "--listen pty: %s", strerror(errno));
    /* Raw: no echo (it would send our frames back to us), no line editing, no CR/LF mapping. */
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    conn_fd = m;        /* the slave stays open (never closed): a host coming and going is no hang-up */
    is_pty = 1;
    printf("listening on pty:%s\n", ptsname(m));
    fflush(stdout);
}

static void open_listener(const char *url)
{
    char host[256];
    const char *hp = url + 6, *colon;
    if (strncmp(url, "tcp://", 6) != 0 || !(colon = strrchr(hp, ':')) || colon == hp || (size_t)(colon - hp) >= sizeof host)
        die(EXIT_BAD_INPUT, "--listen: '%s' is not tcp://HOST:PORT or pty", url);
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    number("--listen port", colon + 1, 0, 65535);
    struct addrinfo hints = {0}, *ai;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc)
        die(EXIT_BAD_INPUT, "--listen %s: %s", url, gai_strerror(rc));
    listen_fd = socket(ai->ai_family, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen_fd < 0 || bind(listen_fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(listen_fd, 1) != 0)
        die(EXIT_BAD_INPUT, "--listen %s: %s", url, strerror(errno));
    freeaddrinfo(ai);
}

static void announce(void)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[64], port[16];
    getsockname(listen_fd, (struct sockaddr *)&ss, &len);
    getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    printf("listening on tcp://%s:%s\n", host, port);
    fflush(stdout);
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: %s --kind e1x2|fxo4|fxs4 --state DIR --listen tcp://HOST:PORT|pty [--trust KEY.pub]...\n"
            "          [--factory-image FILE] [--seed N] [--hw-revision N] [--power-cut-after-writes N]\n"
            "          [--fault WHAT@UNIT[:FROM[-UNTIL]]]... [--script FILE] [--virtual-clock [--hold-clock]]\n"
            "          [--network unix:PATH|tcp://HOST:PORT [--network-timeout MS]] [--dump-config] [--exit-with-parent]\n"
            "       %s --selftest-{decode,line-decode,encode,check,sha256,sha512,ed25519} ...\n",
            prog, prog);
    exit(EXIT_BAD_INPUT);
}

int main(int argc, char **argv)
{
    const char *kind = NULL, *state = NULL, *listen_url = NULL, *factory = NULL, *inherit = NULL;
    long long seed = -1, hw_rev = -1;
    int stay = 0, dump_config = 0;
    const char *faults[128], *script = NULL, *network = NULL;
    long long network_timeout = LG_NET_SILENCE_MS;
    int hold_clock = 0;
    unsigned nfaults = 0;
    uint8_t keys[LG_MAX_KEYS][32];
    unsigned nkeys = 0;

    saved_argv = argv;
    if (argc >= 2 && !strncmp(argv[1], "--selftest-", 11))
        return selftest(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--exit-with-parent")) {
            owner_pid = getppid();
            continue;
        }
        if (!strcmp(a, "--stay-in-bootloader")) {
            stay = 1;
            continue;
        }
        if (!strcmp(a, "--virtual-clock")) {
            virtual_clock = 1;
            continue;
        }
        if (!strcmp(a, "--hold-clock")) {
            hold_clock = 1;
            continue;
        }
        if (!strcmp(a, "--dump-config")) {
            dump_config = 1;
            continue;
        }
        if (!v)
            die(EXIT_BAD_INPUT, "%s needs a value", a);
        i++;
        if (!strcmp(a, "--kind")) kind = v;
        else if (!strcmp(a, "--state")) state = v;
        else if (!strcmp(a, "--listen")) listen_url = v;
        else if (!strcmp(a, "--factory-image")) factory = v;
        else if (!strcmp(a, "--seed")) seed = number(a, v, 0, 0x7FFFFFFFFFFFFFFFLL);
        else if (!strcmp(a, "--hw-revision")) hw_rev = number(a, v, 0, 255);
        else if (!strcmp(a, "--power-cut-after-writes")) cut_after = number(a, v, 0, 1LL << 40);
        else if (!strcmp(a, "--inherit-fds")) inherit = v;
        else if (!strcmp(a, "--script")) script = v;
        else if (!strcmp(a, "--network")) network = v;
        else if (!strcmp(a, "--network-timeout")) network_timeout = number(a, v, 1, 3600000);
        else if (!strcmp(a, "--fault")) {
            if (nfaults == sizeof faults / sizeof faults[0])
                die(EXIT_BAD_INPUT, "--fault: at most %zu", sizeof faults / sizeof faults[0]);
            faults[nfaults++] = v;
        }
        else if (!strcmp(a, "--trust")) {
            if (nkeys == LG_MAX_KEYS)
                die(EXIT_BAD_INPUT, "--trust: at most %d keys", LG_MAX_KEYS);
            read_pub(v, keys[nkeys++]);
        } else {
            fprintf(stderr, "%s: unknown option %s\n", prog, a);
            usage();
        }
    }
    if (!kind || !state || (!listen_url && !inherit && !dump_config))
        usage();
    if (hold_clock && !virtual_clock)
        die(EXIT_BAD_INPUT, "--hold-clock holds a virtual clock: give --virtual-clock too");
    board.kind = kind_code(kind);
    lg_model_init(board.kind);
    char why[400];
    for (unsigned i = 0; i < nfaults; i++)
        if (lg_model_condition(faults[i], why, sizeof why))
            die(EXIT_BAD_INPUT, "--fault %s", why);
    if (script && lg_model_script(script, why, sizeof why))
        die(EXIT_BAD_INPUT, "--script %s", why);
    clock_gettime(CLOCK_MONOTONIC, &boot_time);

    /* The board's identity lives with its flash: board.txt is written when it is made. */
    char flash_path[4096];
    snprintf(flash_path, sizeof flash_path, "%s", path_in(state, "flash.bin"));
    struct stat st;
    if (stat(state, &st) != 0 || !S_ISDIR(st.st_mode))
        die(EXIT_BAD_INPUT, "--state %s: not a directory", state);
    if (stat(flash_path, &st) != 0) {
        board.hw_revision = (uint8_t)(hw_rev < 0 ? 1 : hw_rev);
        if (seed < 0)
            seed = 0;
        serial_from_seed(seed);
        provision(state, factory, keys, nkeys, seed);
        close(flash_fd);
    } else {
        char name[16];
        long long s;
        unsigned rev;
        FILE *b = fopen(path_in(state, "board.txt"), "r");
        if (!b || fscanf(b, "kind %15s seed %lld hw_revision %u", name, &s, &rev) != 3)
            die(EXIT_BAD_INPUT, "--state %s: board.txt is missing or damaged (want: kind K / seed N / hw_revision N)", state);
        fclose(b);
        if (strcmp(name, kind))
            die(EXIT_BAD_INPUT, "--state %s holds a %s board, not %s", state, name, kind);
        if (seed >= 0 && seed != s)
            die(EXIT_BAD_INPUT, "--state %s holds the board of seed %lld, not %lld", state, s, seed);
        if (hw_rev >= 0 && hw_rev != rev)
            die(EXIT_BAD_INPUT, "--state %s holds a board of hardware revision %u, not %lld", state, rev, hw_rev);
        if (st.st_size != LG_FLASH_SIZE)
            die(EXIT_BAD_INPUT, "--state %s: flash.bin is %lld bytes, not %u", state, (long long)st.st_size, LG_FLASH_SIZE);
        board.hw_revision = (uint8_t)rev;
        serial_from_seed(s);
    }
    flash_fd = open(flash_path, O_RDWR);
    if (flash_fd < 0)
        die(EXIT_BAD_INPUT, "--state %s: cannot open flash.bin: %s", state, strerror(errno));
    if (nkeys) {
        /* The board keeps the keys it was made with; --trust must name one of them. */
        struct lg_trust trust;
        if (lg_trust_load(&trust) != LG_OK)
            die(EXIT_BAD_INPUT, "--state %s: the bootloader's key block is damaged", state);
        for (unsigned k = 0; k < nkeys; k++) {
            unsigned j = 0;
            while (j < trust.count && memcmp(trust.key[j], keys[k], 32))
                j++;
            if (j == trust.count)
                die(EXIT_BAD_INPUT, "--trust: the board in %s was made trusting other keys; this key is not among them", state);
        }
    }

    if (dump_config) {
        /* The stored line configuration as the firmware would load it (tests, technicians). */
        struct lg_line_config c;
        uint32_t seq;
        if (!lg_config_load(&c, board.kind, &seq)) {
            printf("config none\n");
            return 0;
        }
        printf("config seq %lu\n", (unsigned long)seq);
        for (unsigned i = 0; board.kind != LG_KIND_E1X2 && i < LG_MAX_PORTS; i++)
            printf("port %u law %u zone %c%c rx_gain %d tx_gain %d\n", i, c.port[i].law, c.port[i].zone[0],
                   c.port[i].zone[1], c.port[i].rx_gain, c.port[i].tx_gain);
        for (unsigned i = 0; board.kind == LG_KIND_E1X2 && i < LG_MAX_SPANS; i++)
            printf("span %u framing %u crc4 %u coding %u clock_priority %u law %u\n", i, c.span[i].framing,
                   c.span[i].crc4, c.span[i].coding, c.span[i].clock_priority, c.span[i].law);
        return 0;
    }
    /* Before the board says it listens: a host that stops it at once (SIGTERM) must not catch it
     * before it has booted (a first boot writes the boot record; a half-made board broke tests). */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* The network first: a board it refuses never says it is listening (the reason goes to stderr). */
    if (network) {
        struct lg_net_options no = {network, virtual_clock, (uint32_t)network_timeout};
        int rc = lg_net_start(&no, &board, why, sizeof why);
        if (rc)
            die(rc == -2 ? EXIT_BAD_INPUT : 1, "%s", why);
    }
    if (inherit) {
        if (sscanf(inherit, "%d,%d", &listen_fd, &conn_fd) != 2)
            die(EXIT_BAD_INPUT, "--inherit-fds: want L,C");
        is_pty = listen_url && !strcmp(listen_url, "pty");
    } else if (!strcmp(listen_url, "pty")) {
        open_pty();
    } else {
        open_listener(listen_url);
        announce();
    }
    if (hold_clock) {
        granted = 1;        /* time stands at 0 (this boot's uptime) until a host grants some */
        grant_ms = 0;
    }

    static struct lg_fw fw;
    lg_fw_start(&fw, stay);
    while (!stop)
        lg_fw_poll(&fw, 200);
    return 0;
}
