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
    "  kernel        NNGP / NTK Gram matrices of a fully connected network (any activation)\n"
    "  finite-width  the 1/N corrections at width N: mean shifts, variances, Frobenius constants\n"
    "  wick          exact finite-N expectations of traces of random-matrix words (genus expansion)\n"
    "  expand        exact finite-width E[f(x) f(y)] of a polynomial network (operator-graph expansion)\n"
    "  signature     truncated signatures of piecewise-linear paths (Chen; iisignature's order)\n"
    "  logsignature  log-signatures in the Lyndon or Hall basis, or expanded (iisignature's logsig)\n"
    "  logsigtosig   signatures from log-signatures (iisignature's logsigtosig)\n"
    "  sigkernel     signature-kernel Gram matrices (Goursat PDE, dyadic refinement)\n"
    "  sigscore      signature-kernel MMD, two-sample test and scoring rule of samples of paths\n"
    "  nsk           neural signature kernels (infinite-width controlled ResNets)\n"
    "  cresnet       sample random controlled ResNets\n"
    "  lcde          sample random linear CDEs / selective state-space models\n"
    "  lcde-kernel   width limit of random linear CDEs on the data grid\n"
    "  jacobian      moments and density of the input-output Jacobian's squared singular values\n"
    "  criticality   weight variance on the edge of chaos for a bias variance\n"
    "  sample        sample finite networks: outputs, empirical NNGP / NTK Grams, any weight law\n"
    "  converge      convergence of empirical Grams to the limit: RMS error per width, fitted rate\n"
    "  network       a network with given weights (.npy): outputs, empirical NNGP / NTK Gram\n"
    "  predict       kernel regression with the NNGP / NTK (GP posterior mean, gradient descent at time t)\n"
    "\n"
    "options:\n"
    "  -h, --help     this help; `deepwick COMMAND --help` documents each command\n"
    "  --version      print the version\n"
    "\n"
    "Conventions: docs/theory.md; weight_var = sigma_w^2 (Neural Tangents' W_std**2).\n";

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
    if (!strcmp(cmd, "finite-width")) return cmd_finite(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "wick")) return cmd_wick(argc - 1, argv + 1);
    if (!strcmp(cmd, "expand")) return cmd_expand(argc - 1, argv + 1);
    if (!strcmp(cmd, "signature")) return cmd_signature(argc - 1, argv + 1);
    if (!strcmp(cmd, "logsignature")) return cmd_logsignature(argc - 1, argv + 1);
    if (!strcmp(cmd, "logsigtosig")) return cmd_logsigtosig(argc - 1, argv + 1);
    if (!strcmp(cmd, "sigkernel")) return cmd_sigkernel(argc - 1, argv + 1);
    if (!strcmp(cmd, "sigscore")) return cmd_sigscore(argc - 1, argv + 1);
    if (!strcmp(cmd, "nsk")) return cmd_nsk(argc - 1, argv + 1);
    if (!strcmp(cmd, "cresnet")) return cmd_cresnet(argc - 1, argv + 1);
    if (!strcmp(cmd, "lcde")) return cmd_lcde(argc - 1, argv + 1);
    if (!strcmp(cmd, "lcde-kernel")) return cmd_lcde_kernel(argc - 1, argv + 1);
    if (!strcmp(cmd, "jacobian")) return cmd_jacobian(argc - 1, argv + 1);
    if (!strcmp(cmd, "criticality")) return cmd_criticality(argc - 1, argv + 1);
    if (!strcmp(cmd, "sample")) return cmd_sample(argc - 1, argv + 1);
    if (!strcmp(cmd, "converge")) return cmd_converge(argc - 1, argv + 1);
    if (!strcmp(cmd, "network")) return cmd_network(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s' (see `deepwick --help`)\n", cmd);
    return 2;
}
