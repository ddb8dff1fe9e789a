#include <string.h>

#include "msg.h"

static int fail(struct lg_msg_error *err, const char *field, uint32_t value, size_t offset)
{
    err->field = field;
    err->value = value;
    err->offset = offset;
    return -1;
}

/* The payload must be exactly `want` bytes long. */
#define EXACT(name, want) \
    do { if (n != (want)) return fail(err, name ".length", (uint32_t)n, 0); } while (0)
#define MAX(name, field, at, limit) \
    do { if (p[at] > (limit)) return fail(err, name "." field, p[at], at); } while (0)

int lg_msg_check(uint8_t type, const uint8_t *p, size_t n, struct lg_msg_error *err)
{
    switch (type) {
    case LG_MSG_IDENTIFY: EXACT("IDENTIFY", 0); return 0;
    case LG_MSG_STATUS: EXACT("STATUS", 0); return 0;
    case LG_MSG_BL_CONFIRM: EXACT("BL_CONFIRM", 0); return 0;
    case LG_MSG_BL_KEYS: EXACT("BL_KEYS", 0); return 0;
    case LG_MSG_RESET: EXACT("RESET", 1); MAX("RESET", "mode", 0, 1); return 0;
    case LG_MSG_CONFIGURE_SPAN:
        EXACT("CONFIGURE_SPAN", 6);
        MAX("CONFIGURE_SPAN", "framing", 1, 1);
        MAX("CONFIGURE_SPAN", "crc4", 2, 1);
        MAX("CONFIGURE_SPAN", "coding", 3, 1);
        MAX("CONFIGURE_SPAN", "law", 5, 1);
        return 0;
    case LG_MSG_CONFIGURE_PORT:
        EXACT("CONFIGURE_PORT", 8);
        MAX("CONFIGURE_PORT", "law", 1, 1);
        for (size_t i = 2; i < 4; i++)
            if (p[i] < 'a' || p[i] > 'z')
                return fail(err, "CONFIGURE_PORT.tone_zone", p[i], i);
        return 0;
    case LG_MSG_CONFIG_GET: EXACT("CONFIG_GET", 2); MAX("CONFIG_GET", "what", 0, 1); return 0;
    case LG_MSG_SIM_ADVANCE: EXACT("SIM_ADVANCE", 4); return 0;
    case LG_MSG_PORT_COMMAND:
        EXACT("PORT_COMMAND", 4);
        MAX("PORT_COMMAND", "command", 1, 7);
        if (p[1] != 2 && lg_get16(p + 2) != 0)     /* "FLASH: hook flash length; otherwise 0" */
            return fail(err, "PORT_COMMAND.ms", lg_get16(p + 2), 2);
        return 0;
    case LG_MSG_TONE: EXACT("TONE", 13); MAX("TONE", "channel", 1, 31); return 0;
    case LG_MSG_BL_ERASE: EXACT("BL_ERASE", 1); MAX("BL_ERASE", "slot", 0, 1); return 0;
    case LG_MSG_BL_SET_PENDING: EXACT("BL_SET_PENDING", 1); MAX("BL_SET_PENDING", "slot", 0, 1); return 0;
    case LG_MSG_BL_SLOT_INFO: EXACT("BL_SLOT_INFO", 1); MAX("BL_SLOT_INFO", "slot", 0, 1); return 0;
    case LG_MSG_BL_WRITE:
        if (n < 6 || n > 5 + LG_MAX_BL_DATA)
            return fail(err, "BL_WRITE.data", (uint32_t)(n < 5 ? 0 : n - 5), 5);
        MAX("BL_WRITE", "slot", 0, 1);
        return 0;
    case LG_MSG_BL_READ: {
        EXACT("BL_READ", 7);
        MAX("BL_READ", "slot", 0, 1);
        uint16_t len = lg_get16(p + 5);
        if (len < 1 || len > LG_MAX_BL_DATA)
            return fail(err, "BL_READ.length", len, 5);
        return 0;
    }
    case LG_MSG_CAS:
        EXACT("CAS", 3);
        if (p[1] < 1 || p[1] > 31 || p[1] == 16)
            return fail(err, "CAS.timeslot", p[1], 1);
        MAX("CAS", "abcd", 2, 15);
        return 0;
    case LG_MSG_HDLC:
        if (n < 2 || n > 261)
            return fail(err, "HDLC.frame", (uint32_t)(n ? n - 1 : 0), 1);
        return 0;
    case LG_MSG_AUDIO: EXACT("AUDIO", 167); MAX("AUDIO", "channel", 1, 31); MAX("AUDIO", "law", 2, 1); return 0;
    case LG_MSG_PORT_EVENT: return fail(err, "PORT_EVENT.direction", type, 0);
    case LG_MSG_ALARMS: return fail(err, "ALARMS.direction", type, 0);
    case LG_MSG_LOG: return fail(err, "LOG.direction", type, 0);
    case LG_MSG_RESULT: return fail(err, "RESULT.direction", type, 0);
    case LG_MSG_IDENTITY: return fail(err, "IDENTITY.direction", type, 0);
    case LG_MSG_STATUS_REPORT: return fail(err, "STATUS_REPORT.direction", type, 0);
    case LG_MSG_SPAN_CONFIG: return fail(err, "SPAN_CONFIG.direction", type, 0);
    case LG_MSG_PORT_CONFIG: return fail(err, "PORT_CONFIG.direction", type, 0);
    case LG_MSG_BL_DATA: return fail(err, "BL_DATA.direction", type, 0);
    case LG_MSG_SLOT_INFO: return fail(err, "SLOT_INFO.direction", type, 0);
    case LG_MSG_SIM_CLOCK: return fail(err, "SIM_CLOCK.direction", type, 0);
    default: return fail(err, "type", type, 0);
    }
}

static size_t text(uint8_t *out, size_t at, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > LG_MAX_PAYLOAD - at)
        n = LG_MAX_PAYLOAD - at;
    memcpy(out + at, s ? s : "", n);
    return at + n;
}

size_t lg_msg_result(uint8_t *out, uint8_t status, const char *detail)
{
    out[0] = status;
    return text(out, 1, detail);
}

size_t lg_msg_identity(uint8_t *out, const struct lg_identity *id)
{
    out[0] = id->kind;
    memcpy(out + 1, id->serial, 16);
    out[17] = id->hw_revision;
    memcpy(out + 18, id->fw_version, 3);
    memcpy(out + 21, id->bl_version, 3);
    out[24] = id->active_slot;
    out[25] = id->pending_slot;
    out[26] = id->running;
    lg_put32(out + 27, id->capabilities);
    out[31] = id->ports;
    out[32] = id->spans;
    return 33;
}

size_t lg_msg_slot_info(uint8_t *out, const struct lg_slot_info *si)
{
    out[0] = si->slot;
    out[1] = si->state;
    memcpy(out + 2, si->version, 3);
    lg_put32(out + 5, si->length);
    memcpy(out + 9, si->sha256, 32);
    return 41;
}

size_t lg_msg_bl_data(uint8_t *out, uint8_t slot, uint32_t offset, const uint8_t *data, size_t len)
{
    out[0] = slot;
    lg_put32(out + 1, offset);
    memcpy(out + 5, data, len);
    return 5 + len;
}

size_t lg_msg_log(uint8_t *out, uint8_t level, const char *s)
{
    out[0] = level;
    return text(out, 1, s);
}
