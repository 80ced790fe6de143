/* SPDX-License-Identifier: MIT */
/*
 * fuzz-stormcli: the options of `numaclaim storm` (cli_storm_parse,
 * src/cli/storm.c, and the scenario it prepares, src/storm/scenario.c),
 * never the storm itself.
 *
 * The input is a command line, its arguments separated by NUL or newline.
 * Parsing must end in a prepared scenario (then freed: status 0), or in
 * exit status 0 (--help) or 2 (a bad option, its message printed), without
 * a crash or a leak.  The harness drops command lines that could name an existing
 * file (an argument, its part after '=', or an item of a comma list of
 * either, that exists) or this machine ("local"): --configs then reads no
 * file and nothing runs to write --json or --svg.  xl.cfg files are
 * fuzz-xlcfg's, hwloc files fuzz-hwloc's.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "storm.h"
#include "fuzz.h"

#define MAX_ARGS 64

/* Whether s, or an item of s as a comma list, is an existing path. */
static bool names_file(const char *s)
{
    char item[256];

    if ( !access(s, F_OK) )
        return true;
    while ( *s )
    {
        size_t n = strcspn(s, ",");

        if ( n < sizeof(item) )
        {
            memcpy(item, s, n);
            item[n] = '\0';
            if ( !access(item, F_OK) )
                return true;
        }
        s += n + (s[n] == ',');
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fz_strdup(data, size), *argv[MAX_ARGS + 2];
    int argc = 1, rc;
    size_t start = 0;

    argv[0] = (char *)"storm";
    for ( size_t i = 0; i <= size; i++ )
    {
        if ( i < size && buf[i] != '\0' && buf[i] != '\n' )
            continue;
        buf[i] = '\0';
        if ( argc == MAX_ARGS + 1 )
            goto out;
        argv[argc++] = buf + start;
        start = i + 1;
    }
    argv[argc] = NULL;
    for ( int i = 1; i < argc; i++ )
    {
        const char *eq = strchr(argv[i], '=');

        if ( names_file(argv[i]) || (eq && names_file(eq + 1)) ||
             strstr(argv[i], "local") )
            goto out;
    }

    rc = cli_storm_parse(argc, argv);
    if ( rc != 0 && rc != 2 )
        FZ_FAIL("exit status %d", rc);
 out:
    free(buf);
    return 0;
}
