/* dw_sig_basis_labels (basis_labels.c): the Lyndon basis of d = 2, n = 4 written by hand from the definition (the
 * Lyndon words 1, 2, 12, 112, 122, 1112, 1122, 1222, each split at its longest proper Lyndon suffix), the Hall
 * elements of degree 3 in libalgebra's convention ([2,[1,2]], hall.c), the size query, level 0 and the errors.
 * (The labels' expansions against the library's coordinates: tests/python/test_sig_algebra.py.) */
#include "check.h"
#include "deepwick.h"

#include <string.h>

static dw_sig_opts *opts(int level, dw_sig_basis basis)
{
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK);
    CHECK(dw_sig_opts_set_level(o, level) == DW_OK);
    CHECK(dw_sig_opts_set_basis(o, basis) == DW_OK);
    return o;
}

int main(void)
{
    char buf[1024];
    size_t len = 0;
    dw_sig_opts *o = opts(4, DW_SIG_LYNDON);
    const char *want = "1\n2\n[1,2]\n[1,[1,2]]\n[[1,2],2]\n[1,[1,[1,2]]]\n[1,[[1,2],2]]\n[[[1,2],2],2]";
    CHECK(dw_sig_basis_labels(o, 2, NULL, 0, &len) == DW_OK && len == strlen(want) + 1);
    CHECK(dw_sig_basis_labels(o, 2, buf, sizeof buf, &len) == DW_OK && strcmp(buf, want) == 0);
    CHECK(dw_sig_basis_labels(o, 2, buf, 10, &len) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "buffer of 10 bytes, 72 needed"));
    dw_sig_opts_clear(o);
    o = opts(3, DW_SIG_HALL);
    CHECK(dw_sig_basis_labels(o, 2, buf, sizeof buf, &len) == DW_OK &&
          strcmp(buf, "1\n2\n[1,2]\n[1,[1,2]]\n[2,[1,2]]") == 0);
    CHECK(dw_sig_opts_set_basis(o, DW_SIG_EXPANDED) == DW_OK);
    CHECK(dw_sig_basis_labels(o, 2, buf, sizeof buf, &len) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "expanded log-signature has no Lie basis"));
    CHECK(dw_sig_basis_labels(o, 0, buf, sizeof buf, &len) == DW_ERR_INVALID);
    CHECK(dw_sig_basis_labels(NULL, 2, buf, sizeof buf, &len) == DW_ERR_INVALID);
    dw_sig_opts_clear(o);
    o = opts(0, DW_SIG_LYNDON);
    CHECK(dw_sig_basis_labels(o, 3, buf, sizeof buf, &len) == DW_OK && len == 1 && buf[0] == '\0');
    dw_sig_opts_clear(o);
    o = opts(2, DW_SIG_LYNDON); /* letters past 9 are numbers */
    CHECK(dw_sig_basis_labels(o, 11, NULL, 0, &len) == DW_OK);
    CHECK(dw_sig_basis_labels(o, 11, buf, sizeof buf, &len) == DW_OK && strstr(buf, "\n[10,11]") != NULL);
    dw_sig_opts_clear(o);
    return check_done("test_sig_basis_labels");
}
