/* Messages of PROTOCOL.md that the firmware receives (checked here, field by
 * field) and sends (laid out here). No I/O. */
#ifndef LG_MSG_H
#define LG_MSG_H
#include "lg_fw.h"

enum lg_msg_type {
    LG_MSG_IDENTIFY = 0x01, LG_MSG_RESET = 0x02, LG_MSG_CONFIGURE_SPAN = 0x03, LG_MSG_CONFIGURE_PORT = 0x04,
    LG_MSG_PORT_COMMAND = 0x05, LG_MSG_TONE = 0x06, LG_MSG_STATUS = 0x07,
    LG_MSG_CONFIG_GET = 0x08,
    LG_MSG_PORT_EVENT = 0x10, LG_MSG_ALARMS = 0x11, LG_MSG_CAS = 0x13, LG_MSG_HDLC = 0x14, LG_MSG_AUDIO = 0x15,
    LG_MSG_BL_ERASE = 0x20, LG_MSG_BL_WRITE = 0x21, LG_MSG_BL_READ = 0x22, LG_MSG_BL_SET_PENDING = 0x23,
    LG_MSG_BL_CONFIRM = 0x24, LG_MSG_BL_SLOT_INFO = 0x25, LG_MSG_BL_KEYS = 0x26,
    LG_MSG_LOG = 0x30, LG_MSG_SIM_ADVANCE = 0x40,
    LG_MSG_RESULT = 0x80, LG_MSG_IDENTITY = 0x81, LG_MSG_STATUS_REPORT = 0x87,
    LG_MSG_SPAN_CONFIG = 0x88, LG_MSG_PORT_CONFIG = 0x89, LG_MSG_BL_DATA = 0xA2,
    LG_MSG_SLOT_INFO = 0xA5, LG_MSG_TRUSTED_KEYS = 0xA6, LG_MSG_SIM_CLOCK = 0xC0,
};

enum lg_status { LG_ST_OK = 0, LG_ST_BAD_REQUEST, LG_ST_UNSUPPORTED, LG_ST_BUSY, LG_ST_FLASH_ERROR, LG_ST_BAD_IMAGE,
                 LG_ST_WRONG_STATE };

/* Why a payload does not fit its type. */
struct lg_msg_error {
    const char *field;    /* e.g. "BL_WRITE.data", "AUDIO.law" */
    uint32_t value;       /* the offending value (a length for length errors) */
    size_t offset;        /* byte offset of the field in the payload */
};

/* Checks a frame the host may send (requests and the host's streams CAS, HDLC,
 * AUDIO). Returns 0, or -1 with *err filled. A board-to-host type is an error
 * too ("<NAME>.direction"). */
int lg_msg_check(uint8_t type, const uint8_t *p, size_t n, struct lg_msg_error *err);

/* Reply and event payloads; each returns the payload length. out has room for LG_MAX_PAYLOAD. */
size_t lg_msg_result(uint8_t *out, uint8_t status, const char *detail);
struct lg_identity {
    uint8_t kind, hw_revision;
    char serial[16];
    uint8_t fw_version[3], bl_version[3];
    uint8_t active_slot, pending_slot, running;
    uint32_t capabilities;
    uint8_t ports, spans;
};
size_t lg_msg_identity(uint8_t *out, const struct lg_identity *id);
struct lg_slot_info {
    uint8_t slot, state;
    uint8_t version[3];
    uint32_t length;
    uint8_t sha256[32];
};
size_t lg_msg_slot_info(uint8_t *out, const struct lg_slot_info *si);
size_t lg_msg_bl_data(uint8_t *out, uint8_t slot, uint32_t offset, const uint8_t *data, size_t len);
size_t lg_msg_log(uint8_t *out, uint8_t level, const char *text);

#endif
