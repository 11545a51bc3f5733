/* The dispatch of `deepwick COMMAND` and `deepwick-mpi COMMAND` (cli/main.c, cli/mpi_main.c): help, version, and one
 * function per command. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"kernel", cmd_kernel},
    {"finite-width", cmd_finite},
    {"predict", cmd_predict},
    {"wick", cmd_wick},
    {"expand", cmd_expand},
    {"signature", cmd_signature},
    {"logsignature", cmd_logsignature},
    {"logsigtosig", cmd_logsigtosig},
    {"sigkernel", cmd_sigkernel},
    {"sigscore", cmd_sigscore},
    {"nsk", cmd_nsk},
    {"cresnet", cmd_cresnet},
    {"lcde", cmd_lcde},
    {"lcde-kernel", cmd_lcde_kernel},
    {"jacobian", cmd_jacobian},
    {"criticality", cmd_criticality},
    {"sample", cmd_sample},
    {"converge", cmd_converge},
    {"network", cmd_network},
};

int cli_run(int argc, char **argv, const char *prog, const char *usage, const char *const *only)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("%s %s\n", prog, dw_version());
        return 0;
    }
    bool allowed = !only;
    for (size_t k = 0; only && only[k]; k++) allowed |= !strcmp(cmd, only[k]);
    for (size_t k = 0; allowed && k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(cmd, commands[k].name)) return commands[k].run(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s' (see `%s --help`)\n", cmd, prog);
    return 2;
}
