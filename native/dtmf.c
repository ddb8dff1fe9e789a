#include "dtmf.h"

const float lg_dtmf_row_hz[4] = {697.0f, 770.0f, 852.0f, 941.0f};
const float lg_dtmf_col_hz[4] = {1209.0f, 1336.0f, 1477.0f, 1633.0f};
const char lg_dtmf_keys[17] = "123A456B789C*0#D";

int lg_dtmf_key_index(int key)
{
    if (key >= 'a' && key <= 'd')
        key -= 'a' - 'A';
    for (int i = 0; i < 16; i++)
        if (lg_dtmf_keys[i] == key)
            return i;
    return LG_E_ARG;
}
