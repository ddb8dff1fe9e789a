/* Line conditions from a script file (native target only: the Cortex-M
 * target has no files; its line model is told nothing and stays quiet). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "line_model.h"

int lg_model_script(const char *path, char *err, size_t errlen)
{
    char line[256], why[200];
    unsigned no = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        no++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = line + strspn(line, " \t\r\n");
        s[strcspn(s, " \t\r\n")] = 0;
        if (!*s)
            continue;
        if (lg_model_condition(s, why, sizeof why)) {
            snprintf(err, errlen, "%s:%u: %s", path, no, why);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}
