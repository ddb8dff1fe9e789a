/* DTMF facts shared by the generator and the receiver (ITU-T Q.23). */
#ifndef LG_DTMF_H
#define LG_DTMF_H

#include "lg_common.h"

/* cdef-begin */
/* Row and column frequencies, and the keys row-major: "123A456B789C*0#D". */
extern const float lg_dtmf_row_hz[4];
extern const float lg_dtmf_col_hz[4];
extern const char lg_dtmf_keys[17];
/* Returns the 0..15 index of an ASCII key (row * 4 + column), or LG_E_ARG. */
int lg_dtmf_key_index(int key);
/* cdef-end */

#endif
