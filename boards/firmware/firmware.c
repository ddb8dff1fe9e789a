#include <stdio.h>
#include <string.h>

#include "firmware.h"
#include "msg.h"

#define CAP_FXO 1u
#define CAP_FXS 2u
#define CAP_E1 4u
#define CAP_CAS 8u
#define CAP_CCS 16u
#define CAP_CRC4 32u
#define CAP_CALLER_ID 64u
#define CAP_TONE 128u
#define CAP_AB 256u
#define CAP_SIGNED 512u

static void send(struct lg_fw *fw, uint8_t type, uint16_t seq, size_t len)
{
    int n = lg_frame_encode(fw->frame, type, seq, fw->payload, len);
    if (n > 0)
        lg_hal_link_send(fw->frame, (size_t)n);
}

static void result(struct lg_fw *fw, uint16_t seq, uint8_t status, const char *detail)
{
    send(fw, LG_MSG_RESULT, seq, lg_msg_result(fw->payload, status, detail));
}

/* The line side (line.c) sends and answers through these. */
void lg_fw_send(struct lg_fw *fw, uint8_t type, uint16_t seq, size_t len) { send(fw, type, seq, len); }
void lg_fw_result(struct lg_fw *fw, uint16_t seq, uint8_t status, const char *detail) { result(fw, seq, status, detail); }

void lg_fw_log(struct lg_fw *fw, uint8_t level, const char *text)
{
    send(fw, LG_MSG_LOG, fw->seq++, lg_msg_log(fw->payload, level, text));
}

static unsigned ports(uint8_t kind) { return kind == LG_KIND_E1X2 ? 0 : 4; }
static unsigned spans(uint8_t kind) { return kind == LG_KIND_E1X2 ? 2 : 0; }

static uint32_t capabilities(uint8_t kind)
{
    uint32_t common = CAP_TONE | CAP_AB | CAP_SIGNED;
    switch (kind) {
    case LG_KIND_E1X2: return common | CAP_E1 | CAP_CAS | CAP_CCS | CAP_CRC4;
    case LG_KIND_FXO4: return common | CAP_FXO;
    default: return common | CAP_FXS; /* CAP_CALLER_ID once the line side generates caller ID */
    }
}

/* The slot a pending trial concerns, for IDENTITY.pending_slot: the slot that
 * boots on trial at the next restart, or the one running on trial now. */
static uint8_t pending_slot(const struct lg_fw *fw)
{
    const struct lg_boot *b = &fw->boot;
    return b->have_rec ? b->rec.pending : LG_SLOT_NONE;
}

static void identify(struct lg_fw *fw, uint16_t seq)
{
    const struct lg_boot *b = &fw->boot;
    struct lg_identity id;
    memset(&id, 0, sizeof id);
    id.kind = b->board.kind;
    id.hw_revision = b->board.hw_revision;
    memcpy(id.serial, b->board.serial, 16);
    memcpy(id.fw_version, b->version, 3);
    id.bl_version[0] = LG_BL_VERSION_MAJOR;
    id.bl_version[1] = LG_BL_VERSION_MINOR;
    id.bl_version[2] = LG_BL_VERSION_PATCH;
    id.active_slot = b->running ? (b->have_rec ? b->rec.active : LG_SLOT_A) : b->slot;
    id.pending_slot = pending_slot(fw);
    id.running = b->running;
    id.capabilities = capabilities(b->board.kind);
    id.ports = (uint8_t)ports(b->board.kind);
    id.spans = (uint8_t)spans(b->board.kind);
    send(fw, LG_MSG_IDENTITY, seq, lg_msg_identity(fw->payload, &id));
}

static void status(struct lg_fw *fw, uint16_t seq)
{
    send(fw, LG_MSG_STATUS_REPORT, seq, lg_line_status(fw, fw->payload));
}

static int running_slot(const struct lg_fw *fw, unsigned slot)
{
    return !fw->boot.running && fw->boot.slot == slot;
}

static void bl_erase(struct lg_fw *fw, uint16_t seq, unsigned slot)
{
    if (running_slot(fw, slot)) {
        result(fw, seq, LG_ST_WRONG_STATE, slot ? "slot B is running: erase the other slot" : "slot A is running: erase the other slot");
        return;
    }
    uint32_t base = lg_slot_base(slot);
    for (uint32_t at = 0; at < LG_SLOT_SIZE; at += LG_PAGE_SIZE)
        if (lg_flash_erase_page(base + at) != LG_OK) {
            char d[64];
            snprintf(d, sizeof d, "erase failed at slot offset %lu", (unsigned long)at);
            result(fw, seq, LG_ST_FLASH_ERROR, d);
            return;
        }
    result(fw, seq, LG_ST_OK, "");
}

static void bl_write(struct lg_fw *fw, uint16_t seq, const uint8_t *p, size_t n)
{
    unsigned slot = p[0];
    uint32_t off = lg_get32(p + 1);
    const uint8_t *data = p + 5;
    size_t len = n - 5;
    char d[96];
    if (running_slot(fw, slot)) {
        result(fw, seq, LG_ST_WRONG_STATE, "that slot is running: write the other slot");
        return;
    }
    if (off > LG_SLOT_SIZE || len > LG_SLOT_SIZE - off) {
        snprintf(d, sizeof d, "BL_WRITE.offset %lu + %u bytes is beyond the slot (%lu bytes)", (unsigned long)off,
                 (unsigned)len, (unsigned long)LG_SLOT_SIZE);
        result(fw, seq, LG_ST_BAD_REQUEST, d);
        return;
    }
    /* Program page by page; a byte may only be written where the flash is
     * erased (0xFF), as on NOR flash: the host erases the slot first. */
    uint32_t base = lg_slot_base(slot);
    uint8_t page[LG_PAGE_SIZE];
    while (len) {
        uint32_t page_at = off - off % LG_PAGE_SIZE, in = off % LG_PAGE_SIZE;
        size_t k = LG_PAGE_SIZE - in < len ? LG_PAGE_SIZE - in : len;
        if (lg_hal_flash_read(base + page_at, page, sizeof page) != LG_OK) {
            result(fw, seq, LG_ST_FLASH_ERROR, "read failed");
            return;
        }
        for (size_t i = 0; i < k; i++)
            if (page[in + i] != 0xFF) {
                snprintf(d, sizeof d, "slot offset %lu is not erased: erase the slot first", (unsigned long)(off + i));
                result(fw, seq, LG_ST_FLASH_ERROR, d);
                return;
            }
        memcpy(page + in, data, k);
        if (lg_flash_program_page(base + page_at, page) != LG_OK) {
            snprintf(d, sizeof d, "write or read-back failed at slot offset %lu", (unsigned long)page_at);
            result(fw, seq, LG_ST_FLASH_ERROR, d);
            return;
        }
        off += (uint32_t)k;
        data += k;
        len -= k;
    }
    result(fw, seq, LG_ST_OK, "");
}

static void bl_read(struct lg_fw *fw, uint16_t seq, const uint8_t *p)
{
    unsigned slot = p[0];
    uint32_t off = lg_get32(p + 1);
    uint16_t len = lg_get16(p + 5);
    if (off > LG_SLOT_SIZE || len > LG_SLOT_SIZE - off) {
        char d[96];
        snprintf(d, sizeof d, "BL_READ.offset %lu + %u bytes is beyond the slot (%lu bytes)", (unsigned long)off, len,
                 (unsigned long)LG_SLOT_SIZE);
        result(fw, seq, LG_ST_BAD_REQUEST, d);
        return;
    }
    uint8_t data[LG_MAX_BL_DATA];
    if (lg_hal_flash_read(lg_slot_base(slot) + off, data, len) != LG_OK) {
        result(fw, seq, LG_ST_FLASH_ERROR, "read failed");
        return;
    }
    send(fw, LG_MSG_BL_DATA, seq, lg_msg_bl_data(fw->payload, (uint8_t)slot, off, data, len));
}

static void bl_set_pending(struct lg_fw *fw, uint16_t seq, unsigned slot)
{
    struct lg_boot *b = &fw->boot;
    struct lg_image_info info;
    char why[96], d[128];
    if (running_slot(fw, slot)) {
        result(fw, seq, LG_ST_WRONG_STATE, "that slot is running already");
        return;
    }
    if (b->on_trial) {
        result(fw, seq, LG_ST_WRONG_STATE, "the running image is on trial: confirm it or restart first");
        return;
    }
    if (lg_image_check(slot, &b->trust, &b->board, &info, why, sizeof why) != LG_IMAGE_VALID) {
        snprintf(d, sizeof d, "slot %s: %s", slot ? "B" : "A", why);
        result(fw, seq, LG_ST_BAD_IMAGE, d);
        return;
    }
    struct lg_bootrec n = {0, b->running ? (b->have_rec ? b->rec.active : (uint8_t)(1 - slot)) : b->slot,
                           (uint8_t)slot, 0};
    if (lg_bootrec_store(&n) != LG_OK) {
        result(fw, seq, LG_ST_FLASH_ERROR, "writing the boot record failed");
        return;
    }
    b->rec = n;
    b->have_rec = 1;
    result(fw, seq, LG_ST_OK, "");
}

static void bl_confirm(struct lg_fw *fw, uint16_t seq)
{
    struct lg_boot *b = &fw->boot;
    if (!b->on_trial) {
        result(fw, seq, LG_ST_WRONG_STATE, "nothing is on trial");
        return;
    }
    struct lg_bootrec n = {0, b->slot, LG_SLOT_NONE, 0};
    if (lg_bootrec_store(&n) != LG_OK) {
        result(fw, seq, LG_ST_FLASH_ERROR, "writing the boot record failed");
        return;
    }
    b->rec = n;
    b->on_trial = 0;
    result(fw, seq, LG_ST_OK, "");
}

static void bl_slot_info(struct lg_fw *fw, uint16_t seq, unsigned slot)
{
    struct lg_boot *b = &fw->boot;
    struct lg_image_info info;
    struct lg_slot_info si;
    char why[96];
    enum lg_image_verdict v = lg_image_check(slot, &b->trust, &b->board, &info, why, sizeof why);
    memset(&si, 0, sizeof si);
    si.slot = (uint8_t)slot;
    if (v == LG_IMAGE_EMPTY) {
        si.state = 0;
    } else {
        si.state = v == LG_IMAGE_VALID ? 2 : 1;
        if (v == LG_IMAGE_VALID && running_slot(fw, slot))
            si.state = 4;
        else if (v == LG_IMAGE_VALID && b->have_rec && b->rec.pending == slot)
            si.state = 3;
        memcpy(si.version, info.version, 3);
        si.length = info.payload_length;
        memcpy(si.sha256, info.sha256, 32);
    }
    send(fw, LG_MSG_SLOT_INFO, seq, lg_msg_slot_info(fw->payload, &si));
}

/* The public keys the bootloader trusts (public: a host checks an image's
 * signature against them before it writes anything). */
static void bl_keys(struct lg_fw *fw, uint16_t seq)
{
    const struct lg_trust *t = &fw->boot.trust;
    if (!fw->boot.trust_ok) {
        result(fw, seq, LG_ST_WRONG_STATE, "the board holds no trusted keys (its key block is absent or damaged)");
        return;
    }
    fw->payload[0] = (uint8_t)t->count;
    for (unsigned i = 0; i < t->count; i++)
        memcpy(fw->payload + 1 + 32 * i, t->key[i], 32);
    send(fw, LG_MSG_TRUSTED_KEYS, seq, 1 + 32 * (size_t)t->count);
}

/* SIM_ADVANCE (PROTOCOL.md, "Host-granted time"): run every line tick up to until_ms before reading
 * the host again, so that all the board sends for those times precedes the reply. */
static void sim_advance(struct lg_fw *fw, uint16_t seq, uint32_t until)
{
    if (lg_hal_clock_grant(until) != LG_OK) {
        result(fw, seq, LG_ST_UNSUPPORTED, "this board's clock is real time (the simulator's --virtual-clock grants time)");
        return;
    }
    uint32_t now;
    while ((int32_t)(until - (now = lg_hal_ticks_ms())) > 0) {
        lg_line_service(fw);
        lg_hal_clock_step(lg_line_wait(fw, until - now));
    }
    lg_line_service(fw);
    /* The time that passed was granted, not a silent host: the receiver's idle rule starts again. */
    fw->last_byte_ms = lg_hal_ticks_ms();
    lg_put32(fw->payload, fw->last_byte_ms);
    send(fw, LG_MSG_SIM_CLOCK, seq, 4);
}

static void request(struct lg_fw *fw, const struct lg_rx_event *ev)
{
    const uint8_t *p = ev->payload;
    struct lg_msg_error err;
    char d[96];
    if (lg_msg_check(ev->type, p, ev->length, &err) != 0) {
        fw->bad_requests++;
        snprintf(d, sizeof d, "%s = %lu at payload byte %u", err.field, (unsigned long)err.value, (unsigned)err.offset);
        result(fw, ev->seq, LG_ST_BAD_REQUEST, d);
        return;
    }
    switch (ev->type) {
    case LG_MSG_IDENTIFY: identify(fw, ev->seq); break;
    case LG_MSG_STATUS: status(fw, ev->seq); break;
    case LG_MSG_RESET:
        result(fw, ev->seq, LG_ST_OK, "");
        lg_hal_reset(p[0]);
        break;
    case LG_MSG_CONFIGURE_SPAN:
    case LG_MSG_CONFIGURE_PORT:
    case LG_MSG_CONFIG_GET:
    case LG_MSG_PORT_COMMAND:
    case LG_MSG_TONE:
    case LG_MSG_CAS:
    case LG_MSG_HDLC:
    case LG_MSG_AUDIO: lg_line_request(fw, ev); break;
    case LG_MSG_BL_ERASE: bl_erase(fw, ev->seq, p[0]); break;
    case LG_MSG_BL_WRITE: bl_write(fw, ev->seq, p, ev->length); break;
    case LG_MSG_BL_READ: bl_read(fw, ev->seq, p); break;
    case LG_MSG_BL_SET_PENDING: bl_set_pending(fw, ev->seq, p[0]); break;
    case LG_MSG_BL_CONFIRM: bl_confirm(fw, ev->seq); break;
    case LG_MSG_BL_SLOT_INFO: bl_slot_info(fw, ev->seq, p[0]); break;
    case LG_MSG_BL_KEYS: bl_keys(fw, ev->seq); break;
    case LG_MSG_SIM_ADVANCE: sim_advance(fw, ev->seq, lg_get32(p)); break;
    default: break;
    }
}

void lg_fw_start(struct lg_fw *fw, int stay_in_bootloader)
{
    lg_rx_init(&fw->rx);
    fw->seq = 0;
    fw->bad_requests = 0;
    fw->last_byte_ms = lg_hal_ticks_ms();
    lg_hal_board_id(&fw->boot.board);
    lg_boot_run(&fw->boot, stay_in_bootloader);
    for (unsigned i = 0; i < fw->boot.nlog; i++)
        lg_fw_log(fw, fw->boot.log_level[i], fw->boot.log[i]);
    lg_line_start(fw);
}

void lg_fw_poll(struct lg_fw *fw, uint32_t wait_ms)
{
    uint8_t in[512];
    size_t n = lg_hal_link_recv(in, sizeof in, lg_line_wait(fw, wait_ms));
    size_t at = 0;
    struct lg_rx_event ev;
    char d[96];
    uint32_t now = lg_hal_ticks_ms();
    int idle = 0;
    if (n)
        fw->last_byte_ms = now;
    else if (now - fw->last_byte_ms >= LG_RX_IDLE_MS)
        idle = 1;
    do {
        at += lg_rx_push(&fw->rx, in + at, n - at);
        if (idle && lg_rx_give_up(&fw->rx, &ev) != LG_RX_NONE) /* counted in rx; nothing to answer */
            fw->last_byte_ms = now;
        while (lg_rx_next(&fw->rx, &ev) != LG_RX_NONE) {
            if (ev.kind == LG_RX_FRAME) {
                request(fw, &ev);
            } else if (ev.error == LG_RXE_TYPE) {
                /* Intact frame of an unknown type: its seq is known, so answer. */
                fw->bad_requests++;
                snprintf(d, sizeof d, "type = 0x%02X at stream byte %lu: unknown type", (unsigned)ev.value,
                         (unsigned long)ev.offset);
                result(fw, ev.seq, LG_ST_BAD_REQUEST, d);
            }
            /* version, length and CRC errors: no trustworthy seq to answer; counted in rx. */
        }
    } while (at < n);
    lg_line_service(fw);
}
