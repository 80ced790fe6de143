/* SPDX-License-Identifier: MIT */
/*
 * The shared-host subcommands:
 *
 *   numaclaim hostd [--host H] [--socket PATH] [--group NAME] [--daemon]
 *                   [--log FILE]
 *       serve one simulated host to every process (src/hostd);
 *   numaclaim env [--socket PATH]
 *       the exports a shell needs to run Xen programs on it;
 *   numaclaim guest DOMID [--socket PATH] -- CMD [ARGS...]
 *       run CMD as a guest of domain DOMID: hostd binds this process (and
 *       so CMD, which replaces it, and CMD's children) to the domain.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../hostd/hostd.h"
#include "../spawn/spawn.h"
#include "../toolstack/toolstack.h"
#include "../wire/wire.h"
#include "cli.h"

/* --socket, else $NUMACLAIM_SOCKET, else the default path. */
static const char *pick_socket(const char *opt, char *buf, size_t len)
{
    const char *env = getenv("NUMACLAIM_SOCKET");

    if ( opt )
        return opt;
    if ( env && *env )
        return env;
    return nc_hostd_default_socket(buf, len);
}

static void hostd_usage(FILE *f)
{
    fprintf(f,
            "usage: numaclaim hostd [--host SPEC|hwloc:FILE|local] "
            "[--socket PATH]\n"
            "                       [--group NAME] [--daemon [--log FILE]]\n"
            "\n"
            "Serves one simulated host on a unix socket (default %s for\n"
            "root, $XDG_RUNTIME_DIR/numaclaim/hostd.sock otherwise).  Programs\n"
            "run with `eval \"$(numaclaim env)\"` reach it through the stand-in\n"
            "libxencall.  Root, hostd's own user and members of --group act\n"
            "as the control domain; `numaclaim guest` starts guests.\n"
            "SIGTERM or SIGINT shut it down.\n",
            "/run/numaclaim/hostd.sock");
}

static int serve_detached(void *arg, int ready_fd)
{
    struct nc_hostd_config *cfg = arg;

    cfg->ready_fd = ready_fd;
    cfg->detach = true;
    return nc_hostd_run(cfg);
}

int cli_hostd(int argc, char **argv)
{
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'H' },
        { "socket", required_argument, NULL, 's' },
        { "group", required_argument, NULL, 'g' },
        { "daemon", no_argument, NULL, 'd' },
        { "log", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct nc_hostd_config cfg = { .ready_fd = -1, .log = stderr };
    static struct ts_host host;
    const char *host_arg = CLI_DEFAULT_HOST, *sock = NULL, *logpath = NULL;
    char path[256], err[512];
    bool daemon = false;
    int c;
    pid_t pid;

    optind = 1;
    while ( (c = getopt_long(argc, argv, "", opts, NULL)) != -1 )
        switch ( c )
        {
        case 'H':
            host_arg = optarg;
            break;
        case 's':
            sock = optarg;
            break;
        case 'g':
        {
            struct group *g = getgrnam(optarg);

            if ( !g )
            {
                fprintf(stderr, "numaclaim hostd: --group %s: no such "
                                "group\n", optarg);
                return 2;
            }
            cfg.have_group = true;
            cfg.group = g->gr_gid;
            break;
        }
        case 'd':
            daemon = true;
            break;
        case 'l':
            logpath = optarg;
            break;
        case 'h':
            hostd_usage(stdout);
            return 0;
        default:
            hostd_usage(stderr);
            return 2;
        }
    if ( optind != argc )
    {
        fprintf(stderr, "numaclaim hostd: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    if ( logpath && !daemon )
    {
        fprintf(stderr, "numaclaim hostd: --log goes with --daemon (in the "
                        "foreground the log is on stderr)\n");
        return 2;
    }
    if ( ts_host_resolve(host_arg, &host, err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim hostd: --host %s: %s\n", host_arg, err);
        return 2;
    }
    /* A spec is served as written (xl info shows it as Xen's command
     * line); a topology is served as the spec it amounts to. */
    cfg.spec = strncmp(host_arg, "hwloc:", 6) && strcmp(host_arg, "local")
               ? host_arg : host.spec;
    cfg.socket_path = pick_socket(sock, path, sizeof(path));
    if ( !daemon )
        return nc_hostd_run(&cfg);

    if ( logpath )
    {
        cfg.log = fopen(logpath, "a");
        if ( !cfg.log )
        {
            fprintf(stderr, "numaclaim hostd: --log %s: %s\n", logpath,
                    strerror(errno));
            return 2;
        }
    }
    else
        cfg.log = NULL;
    pid = spawn_ready("numaclaim hostd", SPAWN_SESSION, serve_detached, &cfg);
    if ( pid < 0 )
        return 1;
    printf("numaclaim hostd: pid %d serving %s\n", (int)pid,
           cfg.socket_path);
    return 0;
}

int cli_env(int argc, char **argv)
{
    const char *sock = NULL;
    char path[256], xs[4096];

    if ( argc == 3 && !strcmp(argv[1], "--socket") )
        sock = argv[2];
    else if ( argc != 1 )
    {
        fprintf(stderr, "usage: numaclaim env [--socket PATH]\n");
        return 2;
    }
    sock = pick_socket(sock, path, sizeof(path));
    printf("export NUMACLAIM_SOCKET='%s'\n", sock);
    /* Where `numaclaim xenstored` serves this host's xenstore (xl). */
    if ( cli_xenstore_rundir(sock, xs, sizeof(xs)) )
        printf("export XENSTORED_PATH='%s/socket'\n", xs);
    printf("export LD_LIBRARY_PATH='%s'${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\n",
           cli_shim_dir());
    return 0;
}

int cli_guest(int argc, char **argv)
{
    struct nc_wire_bind_guest b = { .pid = (uint32_t)getpid() };
    struct nc_wire_welcome w;
    const char *sock = NULL;
    char path[256], err[512], *end;
    unsigned long domid;
    int64_t result;
    int i = 1, fd, rc;

    if ( argc < 2 )
        goto usage;
    errno = 0;
    domid = strtoul(argv[1], &end, 10);
    if ( argv[1][0] < '0' || argv[1][0] > '9' || *end || errno ||
         domid == 0 || domid >= NC_DOMID_FIRST_RESERVED )
    {
        fprintf(stderr, "numaclaim guest: bad domain id '%s' (1..%u)\n",
                argv[1], NC_DOMID_FIRST_RESERVED - 1);
        return 2;
    }
    for ( i = 2; i < argc && strcmp(argv[i], "--"); i++ )
        if ( !strcmp(argv[i], "--socket") && i + 1 < argc )
            sock = argv[++i];
        else
            goto usage;
    if ( i + 1 >= argc )
        goto usage;
    b.domid = (uint32_t)domid;
    sock = pick_socket(sock, path, sizeof(path));

    fd = nc_wire_connect(sock, &w, err, sizeof(err));
    if ( fd < 0 )
    {
        fprintf(stderr, "numaclaim guest: %s\n", err);
        return 1;
    }
    rc = nc_wire_request(fd, NC_WIRE_BIND_GUEST, &b, &result);
    close(fd);
    if ( rc || result )
    {
        int e = rc ? -rc : (int)-result;

        fprintf(stderr, "numaclaim guest: cannot make this process a guest "
                        "of d%lu: %s\n", domid,
                e == EPERM ? "only the control domain may start guests"
                           : strerror(e));
        return 1;
    }
    setenv("NUMACLAIM_SOCKET", sock, 1);
    execvp(argv[i + 1], argv + i + 1);
    fprintf(stderr, "numaclaim guest: %s: %s\n", argv[i + 1], strerror(errno));
    return 127;

 usage:
    fprintf(stderr, "usage: numaclaim guest DOMID [--socket PATH] -- CMD "
                    "[ARGS...]\n");
    return 2;
}
