/* SPDX-License-Identifier: MIT */
/*
 * Strict numbers and lists: the one parser behind every storm option and
 * every xl.cfg field numaclaim reads itself.  strtoul() and strtod() skip
 * leading blanks, take a sign ("-1" becomes 2^64 - 1), a base prefix or
 * "inf", and wrap or saturate silently; strtok_r() drops empty list items.
 * A user who mistypes a number must be told, so here a number is decimal
 * digits and nothing else, checked against its bounds before it can wrap,
 * and a list item is never empty.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "toolstack.h"

int ts_parse_dec(const char *s, const char **end, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    const char *p = s;

    if ( *p < '0' || *p > '9' )
        return TS_NUM_SYNTAX;
    for ( ; *p >= '0' && *p <= '9'; p++ )
    {
        uint64_t d = (uint64_t)(*p - '0');

        /* x * 10 + d <= max, asked before it is computed so that it can
         * never wrap around 2^64. */
        if ( d > max || x > (max - d) / 10 )
            return TS_NUM_RANGE;
        x = x * 10 + d;
    }
    *end = p;
    *v = x;
    return 0;
}

int ts_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    const char *end;
    uint64_t x;
    int rc = ts_parse_dec(s, &end, max, &x);

    if ( rc )
        return rc;
    if ( *end )
        return TS_NUM_SYNTAX;
    if ( x < min )
        return TS_NUM_RANGE;
    *v = x;
    return 0;
}

int ts_parse_real(const char *s, double min, double max, double *v)
{
    char *end;
    double x;

    /* Digits, one point, an exponent: no blank, sign, "0x", "inf" or
     * "nan", which strtod() would all take. */
    if ( !((s[0] >= '0' && s[0] <= '9') ||
           (s[0] == '.' && s[1] >= '0' && s[1] <= '9')) ||
         s[strspn(s, "0123456789.eE+-")] )
        return TS_NUM_SYNTAX;
    errno = 0;
    x = strtod(s, &end);
    if ( end == s || *end )
        return TS_NUM_SYNTAX;
    /* ERANGE: too large, or so small that it underflowed ("1e-400"). */
    if ( errno == ERANGE || !isfinite(x) || x < min || x > max )
        return TS_NUM_RANGE;
    *v = x;
    return 0;
}

char *ts_trim(char *s)
{
    char *e;

    while ( *s == ' ' || *s == '\t' )
        s++;
    e = s + strlen(s);
    while ( e > s && (e[-1] == ' ' || e[-1] == '\t') )
        *--e = '\0';
    return s;
}

int ts_split(const char *s, char sep, bool blanks,
             int (*fn)(const char *item, void *arg), void *arg)
{
    char *copy = ts_strdup(s), *p, *next;
    int rc = 0;

    if ( !copy )
        return TS_SPLIT_NOMEM;
    for ( p = copy; p && !rc; p = next )
    {
        char *item;

        next = strchr(p, sep);
        if ( next )
            *next++ = '\0';
        item = blanks ? ts_trim(p) : p;
        rc = *item ? fn(item, arg) : TS_SPLIT_EMPTY;
    }
    ts_free(copy);
    return rc;
}
