#include "mf.h"

const float lg_mf_hz[LG_MF_KINDS * LG_MF_TONES] = {
    1380.0f, 1500.0f, 1620.0f, 1740.0f, 1860.0f, 1980.0f, /* R2 forward (Q.441) */
    1140.0f, 1020.0f, 900.0f,  780.0f,  660.0f,  540.0f,  /* R2 backward (Q.441) */
    700.0f,  900.0f,  1100.0f, 1300.0f, 1500.0f, 1700.0f, /* R1 (Q.320) */
};

const uint8_t lg_mf_pair[2 * LG_MF_SIGNALS] = {
    0, 1, 0, 2, 1, 2, 0, 3, 1, 3, 2, 3, 0, 4, 1, 4, 2, 4, 3, 4, 0, 5, 1, 5, 2, 5, 3, 5, 4, 5,
};

int lg_mf_signal(int a, int b)
{
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    if (a < 0 || b >= LG_MF_TONES || a == b)
        return LG_E_ARG;
    /* The pairs come ordered by their higher index, then their lower one. */
    return b * (b - 1) / 2 + a + 1;
}
