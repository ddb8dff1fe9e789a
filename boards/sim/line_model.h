/* The native target's line models: what is on the other side of each port
 * and span of a simulated board (the HAL's line functions in hal.h).
 *
 *   FXO port: an exchange line. Battery 48 V on-hook; when we go off-hook it
 *     feeds loop current (32 mA on port 0, 3 mA less per port: longer loops)
 *     at 8 V. Rings only when told (a "ring" condition), tripping the ring
 *     when we answer.
 *   FXS port: a phone. Off-hook when told (an "offhook" condition); it then
 *     draws 25 mA (2 mA less per port) from our battery.
 *   E1 span: a loop plug: what we send (frames, CAS bits, HDLC frames, audio)
 *     comes back, except our RAI bit (a far-end loop regenerates the NFAS).
 *   Audio of every channel is looped: the block we send comes back in the
 *     same 20 ms (nothing comes back while a span is down).
 *
 * Conditions say what happens on the line and when, from the board's boot:
 *
 *   WHAT@UNIT[:FROM[-UNTIL]]      e.g. los@span1, ais@span0:2s, offhook@port1:300ms-800ms
 *
 * WHAT is los, ais, lof, rai or errors (CRC-4 errors and BPVs at 100/s, a
 * slip a second) on a span; offhook (FXS: the phone's hook), ring (FXO: the
 * exchange rings, continuously: give one condition per burst for a cadence),
 * reverse (FXO: the exchange reverses the polarity) or nobattery (FXO: the
 * exchange removes battery) on a port. Times are N ms or N s; without FROM
 * the condition holds from boot, without UNTIL until the board stops. */
#ifndef LG_LINE_MODEL_H
#define LG_LINE_MODEL_H
#include <stddef.h>
#include <stdint.h>

void lg_model_init(uint8_t kind);
/* Adds one condition; returns 0, or -1 with a message in err. */
int lg_model_condition(const char *spec, char *err, size_t errlen);
/* Adds the conditions of a file, one a line (# starts a comment); -1 with "FILE:LINE: ..." in err. */
int lg_model_script(const char *path, char *err, size_t errlen);

#endif
