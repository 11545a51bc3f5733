/* deepwick: command-line entry point; one file per subcommand. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "deepwick " DW_VERSION_STRING " - infinite-width limits of random neural networks\n"
    "\n"
    "usage: deepwick COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  kernel     NNGP / NTK Gram matrices of a fully connected network (closed forms)\n"
    "  sample     sample finite networks: outputs, empirical NNGP / NTK Grams, any weight law\n"
    "  converge   convergence of empirical Grams to the limit: RMS error per width, fitted rate\n"
    "\n"
    "options:\n"
    "  -h, --help     this help; `deepwick COMMAND --help` documents each command\n"
    "  --version      print the version\n"
    "\n"
    "Conventions: shared/spec/MATH.md; weight_var = sigma_w^2 (Neural Tangents' W_std**2).\n";

int main(int argc, char **argv)
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
        printf("deepwick %s\n", dw_version());
        return 0;
    }
    if (!strcmp(cmd, "kernel")) return cmd_kernel(argc - 1, argv + 1);
    if (!strcmp(cmd, "sample")) return cmd_sample(argc - 1, argv + 1);
    if (!strcmp(cmd, "converge")) return cmd_converge(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s' (see `deepwick --help`)\n", cmd);
    return 2;
}
