#include "lg_common.h"

int lg_abi_version(void)
{
    return LG_ABI_VERSION;
}
