"""deepwick: what random neural networks become as their width goes to infinity.

numpy arrays in, numpy arrays out; one C library (libdeepwick) behind this package and the `deepwick` command.
Conventions (theory.md): layers h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}; weight_var = sigma_w^2
(W entries of variance sigma_w^2 / fan_in), bias_var = sigma_b^2; depth L = number of activations, as in
Neural Tangents' ``stax.serial(Dense(W_std, b_std), act, ..., Dense(W_std, b_std))`` with weight_var = W_std**2.
"""
from ._lib import Activation, DeepwickError, FileError, InputError, ResultTooLargeError, lib
from .kernels import KernelInfo, Kernels, dual, kernel, kernel_bound
from .wick import expand, wick
from .signatures import (cresnet, lcde, lcde_forward, lcde_kernel, logsignature, nsk, sigkernel,  # noqa: F401
                         signature)
from .sig_grad import logsignature_backward, sigkernel_backward, signature_backward
from .sig_streams import sig_combine, sig_combine_backward, signature_stream, signature_stream_backward
from .sig_algebra import (logsig_basis, logsigjoin, logsigjoin_backward, logsigtosig,  # noqa: F401
                          logsigtosig_backward, sigjoin, sigjoin_backward, sigscale, sigscale_backward)
from .sig_transforms import transform_path, transform_path_backward
from .sig_scores import (mmd_from_grams, score_from_grams, sig_mmd, sig_score, sig_two_sample_test,  # noqa: F401
                         two_sample_test_from_grams)
from .spectrum import (criticality, jacobian_density, jacobian_hutchinson, jacobian_moments, jacobian_report,
                       jacobian_svd, sample_jacobian)
from .spectrum_residual import residual_jacobian_moments, residual_universal_moments, sample_residual_jacobian
from .sampling import (ConvergeResult, GramMean, SampleResult, converge, empirical_kernel, forward,  # noqa: F401
                       law_kappa4, network_kernel, sample)
from .finite import FiniteWidth, finite_width, predict_convergence
from . import predict  # noqa: F401
from . import stax  # noqa: F401
from .predict import kernel_regression

__version__ = lib.dw_version().decode()

activation = Activation

__all__ = ["kernel", "kernel_bound", "Kernels", "KernelInfo", "dual", "activation", "Activation", "DeepwickError",
           "InputError", "FileError",
           "ResultTooLargeError", "__version__", "wick", "expand",
           "signature", "logsignature", "sigkernel", "nsk", "cresnet", "lcde", "lcde_kernel", "lcde_forward",
           "signature_backward", "logsignature_backward", "sigkernel_backward", "signature_stream", "sig_combine",
           "signature_stream_backward", "sig_combine_backward", "sigjoin", "sigjoin_backward", "sigscale",
           "sigscale_backward", "logsigtosig", "logsigjoin", "logsigtosig_backward", "logsigjoin_backward", "logsig_basis",
           "transform_path", "transform_path_backward",
           "sig_mmd", "sig_score", "sig_two_sample_test", "mmd_from_grams", "score_from_grams",
           "two_sample_test_from_grams",
           "jacobian_moments", "jacobian_density", "criticality", "jacobian_svd", "jacobian_hutchinson", "jacobian_report",
           "residual_jacobian_moments", "residual_universal_moments", "sample_residual_jacobian", "sample_jacobian",
           "sample", "SampleResult", "empirical_kernel", "GramMean", "converge", "ConvergeResult", "forward",
           "network_kernel",
           "finite_width", "FiniteWidth", "predict_convergence", "predict", "kernel_regression", "stax"]
