/* placeholder: replaced below */
#include "predict/predict.h"
dw_status dw_pred_regress_cg(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n, const double *Y,
                             size_t k, const double *T, size_t m, size_t d, double *mean, dw_predict_info *info)
{
    (void)net; (void)o; (void)X; (void)n; (void)Y; (void)k; (void)T; (void)m; (void)d; (void)mean; (void)info;
    return dw_fail(DW_ERR_INVALID, "solver: 'cg' is not supported yet");
}
