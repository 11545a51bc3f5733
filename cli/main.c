/* deepwick: command-line entry point; one file per subcommand. */
#include "cli.h"


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

int main(int argc, char **argv) { return cli_run(argc, argv, "deepwick", usage, NULL); }
