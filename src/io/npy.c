/* .npy reader and writer (the NumPy format, versions 1.0, 2.0 and 3.0).
 *
 * Layout: "\x93NUMPY", major and minor version bytes, the header length (2 bytes little endian in 1.0, 4 bytes
 * in 2.0 and 3.0), a Python dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } padded
 * with spaces and ended by '\n', then the raw array data. The header is parsed by hand, bounded by the buffer,
 * and every size is checked against the buffer length before anything is allocated. */
#include "core/internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

#define NPY_MAX_DIMS 32 /* dims parsed; more are counted only */

typedef struct npy_header {
    /* The header text and a cursor into it. */
    const char *name;
    const char *p;
    size_t n, i;
    /* What was found. */
    int have_descr, have_fortran, have_shape;
    const char *descr; /* points into the header */
    size_t descr_len;
    int fortran;
    const char *shape_text; /* the shape tuple as written, for messages */
    size_t shape_text_len;
    int ndim; /* may exceed NPY_MAX_DIMS; then dims holds the first ones */
    int max_ndim; /* most dimensions accepted (0: 2) */
    size_t dims[NPY_MAX_DIMS];
} npy_header;

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void skip_ws(npy_header *h)
{
    while (h->i < h->n && is_ws(h->p[h->i])) h->i++;
}

/* "malformed header: expected X, found Y at byte K of the header" */
static dw_status header_error(npy_header *h, const char *expected)
{
    char found[48];
    if (h->i >= h->n) {
        snprintf(found, sizeof found, "the end of the header");
    } else {
        char ex[24];
        size_t k = h->n - h->i < 12 ? h->n - h->i : 12;
        dw_io_excerpt(ex, sizeof ex, h->p + h->i, k);
        snprintf(found, sizeof found, "'%s'", ex);
    }
    return dw_fail(DW_ERR_FORMAT, "%s: malformed .npy header: expected %s, found %s at byte %zu of the header",
                   h->name, expected, found, h->i + 1);
}

/* A Python string literal in ' or " quotes (no escapes are needed for the keys and dtypes we accept). */
static dw_status parse_string(npy_header *h, const char **s, size_t *len, const char *what)
{
    if (h->i >= h->n || (h->p[h->i] != '\'' && h->p[h->i] != '"')) return header_error(h, what);
    char q = h->p[h->i++];
    size_t start = h->i;
    while (h->i < h->n && h->p[h->i] != q) h->i++;
    if (h->i >= h->n) {
        h->i = start - 1;
        return header_error(h, "a closing quote");
    }
    *s = h->p + start;
    *len = h->i - start;
    h->i++;
    return DW_OK;
}

static int match_word(npy_header *h, const char *w)
{
    size_t k = strlen(w);
    if (h->n - h->i < k || memcmp(h->p + h->i, w, k) != 0) return 0;
    /* the word must end here: not followed by an identifier character */
    if (h->i + k < h->n) {
        char c = h->p[h->i + k];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') return 0;
    }
    h->i += k;
    return 1;
}

static dw_status shape_fail(npy_header *h, const char *why)
{
    char ex[96];
    dw_io_excerpt(ex, sizeof ex, h->shape_text, h->shape_text_len);
    return dw_fail(DW_ERR_FORMAT, "%s: shape %s %s", h->name, ex, why);
}

/* A tuple of non-negative integers: (), (5,), (3, 4), (3, 4,). */
static dw_status parse_shape(npy_header *h)
{
    size_t start = h->i;
    if (h->i >= h->n || h->p[h->i] != '(') {
        /* for messages, take the value up to the next ',' or '}' */
        size_t e = h->i;
        while (e < h->n && h->p[e] != ',' && h->p[e] != '}') e++;
        h->shape_text = h->p + h->i;
        h->shape_text_len = e - h->i;
        if (h->shape_text_len == 0) return header_error(h, "a shape tuple");
        return shape_fail(h, "is not a tuple");
    }
    /* the tuple text, for messages */
    size_t close = h->i;
    while (close < h->n && h->p[close] != ')') close++;
    if (close >= h->n) return header_error(h, "a shape tuple ending in ')'");
    h->shape_text = h->p + start;
    h->shape_text_len = close + 1 - start;

    h->i++; /* '(' */
    h->ndim = 0;
    int negative = 0, too_large = 0, comma_after_last = 0;
    skip_ws(h);
    while (h->i < h->n && h->p[h->i] != ')') {
        if (h->p[h->i] == '-') {
            negative = 1;
            h->i++;
            skip_ws(h);
        } else if (h->p[h->i] == '+') {
            h->i++;
            skip_ws(h);
        }
        if (h->i >= h->n || h->p[h->i] < '0' || h->p[h->i] > '9') return header_error(h, "a dimension (an integer)");
        size_t v = 0;
        while (h->i < h->n && h->p[h->i] >= '0' && h->p[h->i] <= '9') {
            size_t d = (size_t)(h->p[h->i] - '0');
            if (v > (SIZE_MAX - d) / 10) too_large = 1;
            else v = v * 10 + d;
            h->i++;
        }
        if (h->i < h->n && (h->p[h->i] == 'L' || h->p[h->i] == 'l')) h->i++; /* Python 2 long */
        if (h->ndim < NPY_MAX_DIMS) h->dims[h->ndim] = v;
        if (h->ndim < 1000000) h->ndim++;
        skip_ws(h);
        comma_after_last = 0;
        if (h->i < h->n && h->p[h->i] == ',') {
            comma_after_last = 1;
            h->i++;
            skip_ws(h);
        } else if (h->i < h->n && h->p[h->i] != ')') {
            return header_error(h, "',' or ')' in the shape");
        }
    }
    if (h->i >= h->n) return header_error(h, "')'");
    h->i++; /* ')' */
    if (negative) return shape_fail(h, "has a negative dimension");
    if (h->ndim == 1 && !comma_after_last) return shape_fail(h, "is not a tuple (write a 1-D shape as (k,))");
    const int max_ndim = h->max_ndim ? h->max_ndim : 2;
    if (h->ndim > max_ndim) {
        char why[96];
        if (max_ndim == 2) snprintf(why, sizeof why, "has %d dimensions; only 1-D and 2-D arrays can be read", h->ndim);
        else snprintf(why, sizeof why, "has %d dimensions; at most %d can be read here", h->ndim, max_ndim);
        return shape_fail(h, why);
    }
    if (too_large) return shape_fail(h, "is too large");
    return DW_OK;
}

static dw_status parse_header(npy_header *h)
{
    skip_ws(h);
    if (h->i >= h->n || h->p[h->i] != '{') return header_error(h, "'{'");
    h->i++;
    for (;;) {
        skip_ws(h);
        if (h->i < h->n && h->p[h->i] == '}') {
            h->i++;
            break;
        }
        const char *key;
        size_t klen;
        dw_status s = parse_string(h, &key, &klen, "a key in quotes or '}'");
        if (s != DW_OK) return s;
        skip_ws(h);
        if (h->i >= h->n || h->p[h->i] != ':') return header_error(h, "':' after a key");
        h->i++;
        skip_ws(h);
        if (klen == 5 && memcmp(key, "descr", 5) == 0) {
            if (h->have_descr) return dw_fail(DW_ERR_FORMAT, "%s: malformed .npy header: 'descr' appears twice", h->name);
            h->have_descr = 1;
            if (h->i < h->n && h->p[h->i] == '[')
                return dw_fail(DW_ERR_FORMAT, "%s: unsupported dtype: structured arrays cannot be read (use float64 or float32)", h->name);
            s = parse_string(h, &h->descr, &h->descr_len, "a dtype string such as '<f8'");
        } else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0) {
            if (h->have_fortran)
                return dw_fail(DW_ERR_FORMAT, "%s: malformed .npy header: 'fortran_order' appears twice", h->name);
            h->have_fortran = 1;
            if (match_word(h, "True")) h->fortran = 1;
            else if (match_word(h, "False")) h->fortran = 0;
            else s = header_error(h, "True or False for 'fortran_order'");
        } else if (klen == 5 && memcmp(key, "shape", 5) == 0) {
            if (h->have_shape) return dw_fail(DW_ERR_FORMAT, "%s: malformed .npy header: 'shape' appears twice", h->name);
            h->have_shape = 1;
            s = parse_shape(h);
        } else {
            char ex[48];
            dw_io_excerpt(ex, sizeof ex, key, klen);
            return dw_fail(DW_ERR_FORMAT,
                           "%s: malformed .npy header: unexpected key '%s' (expected 'descr', 'fortran_order', 'shape')",
                           h->name, ex);
        }
        if (s != DW_OK) return s;
        skip_ws(h);
        if (h->i < h->n && h->p[h->i] == ',') {
            h->i++;
            continue;
        }
        skip_ws(h);
        if (h->i < h->n && h->p[h->i] == '}') {
            h->i++;
            break;
        }
        return header_error(h, "',' or '}'");
    }
    skip_ws(h);
    if (h->i < h->n) {
        /* NUL padding is not what NumPy writes but is harmless */
        while (h->i < h->n && (h->p[h->i] == '\0' || is_ws(h->p[h->i]))) h->i++;
        if (h->i < h->n) return header_error(h, "only spaces after '}'");
    }
    const char *missing = !h->have_descr ? "descr" : !h->have_fortran ? "fortran_order" : !h->have_shape ? "shape" : NULL;
    if (missing) return dw_fail(DW_ERR_FORMAT, "%s: malformed .npy header: no '%s' key", h->name, missing);
    return DW_OK;
}

/* Byte order of the file's data relative to this host. */
enum { ORDER_LITTLE, ORDER_BIG, ORDER_NATIVE };

static uint64_t load64(const unsigned char *b, int order)
{
    uint64_t v = 0;
    if (order == ORDER_NATIVE) {
        memcpy(&v, b, 8);
    } else if (order == ORDER_LITTLE) {
        for (int k = 7; k >= 0; k--) v = (v << 8) | b[k];
    } else {
        for (int k = 0; k < 8; k++) v = (v << 8) | b[k];
    }
    return v;
}

static uint32_t load32(const unsigned char *b, int order)
{
    uint32_t v = 0;
    if (order == ORDER_NATIVE) {
        memcpy(&v, b, 4);
    } else if (order == ORDER_LITTLE) {
        for (int k = 3; k >= 0; k--) v = (v << 8) | b[k];
    } else {
        for (int k = 0; k < 4; k++) v = (v << 8) | b[k];
    }
    return v;
}

static void describe_shape(char *out, size_t cap, int ndim, size_t rows, size_t cols)
{
    if (ndim > 2) snprintf(out, cap, "%d-D, %zu x %zu as a matrix", ndim, rows, cols);
    else if (ndim == 2) snprintf(out, cap, "%zu x %zu", rows, cols);
    else if (ndim == 1) snprintf(out, cap, "%zu", rows);
    else snprintf(out, cap, "scalar");
}

static dw_status parse_npy(dw_matrix *m, const unsigned char *buf, size_t len, const char *name, int max_ndim,
                           int *ndim_out, size_t *dims_out);

dw_status dw_io_parse_npy(dw_matrix *m, const unsigned char *buf, size_t len, const char *name)
{
    return parse_npy(m, buf, len, name, 2, NULL, NULL);
}

dw_status dw_io_parse_npy_nd(dw_matrix *m, const unsigned char *buf, size_t len, const char *name, int max_ndim,
                             int *ndim, size_t *dims)
{
    if (!m) return dw_fail(DW_ERR_INVALID, "dw_io_parse_npy_nd: the matrix is NULL");
    dw_matrix_init(m);
    if (max_ndim < 1 || max_ndim > 32) return dw_fail(DW_ERR_INVALID, "%s: at most 1 to 32 dimensions", name);
    return parse_npy(m, buf, len, name, max_ndim, ndim, dims);
}

dw_status dw_io_read_npy_nd(dw_matrix *m, const char *path, int max_ndim, int *ndim, size_t *dims)
{
    if (!m) return dw_fail(DW_ERR_INVALID, "dw_io_read_npy_nd: the matrix is NULL");
    dw_matrix_init(m);
    unsigned char *buf;
    size_t len;
    dw_status s = dw_io_slurp(path, &buf, &len);
    if (s != DW_OK) return s;
    s = dw_io_parse_npy_nd(m, buf, len, path, max_ndim, ndim, dims);
    free(buf);
    return s;
}

static dw_status parse_npy(dw_matrix *m, const unsigned char *buf, size_t len, const char *name, int max_ndim,
                           int *ndim_out, size_t *dims_out)
{
    if (!m) return dw_fail(DW_ERR_INVALID, "dw_io_parse_npy: the matrix is NULL");
    dw_matrix_init(m);
    if (!name) name = "<memory>";
    if (!buf && len) return dw_fail(DW_ERR_INVALID, "%s: the buffer is NULL", name);
    if (len == 0) return dw_fail(DW_ERR_FORMAT, "%s: empty file", name);
    if (memcmp(buf, npy_magic, len < 6 ? len : 6) != 0)
        return dw_fail(DW_ERR_FORMAT, "%s: not a .npy file (it does not start with \\x93NUMPY)", name);
    if (len < 10) return dw_fail(DW_ERR_FORMAT, "%s: truncated header (the file has only %zu bytes)", name, len);
    unsigned major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return dw_fail(DW_ERR_FORMAT, "%s: unsupported .npy format version %u.%u (supported: 1.0, 2.0, 3.0)", name,
                       major, minor);
    size_t hstart, hlen;
    if (major == 1) {
        hstart = 10;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    } else {
        if (len < 12) return dw_fail(DW_ERR_FORMAT, "%s: truncated header (the file has only %zu bytes)", name, len);
        hstart = 12;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    }
    if (hlen > len - hstart)
        return dw_fail(DW_ERR_FORMAT, "%s: truncated header: the header length field says %zu bytes but only %zu follow",
                       name, hlen, len - hstart);

    npy_header h;
    memset(&h, 0, sizeof h);
    h.name = name;
    h.p = (const char *)buf + hstart;
    h.n = hlen;
    h.max_ndim = max_ndim;
    dw_status s = parse_header(&h);
    if (s != DW_OK) return s;

    /* dtype */
    char ex[48];
    dw_io_excerpt(ex, sizeof ex, h.descr, h.descr_len);
    size_t itemsize = 0;
    int order = ORDER_NATIVE;
    if (h.descr_len == 3 && (h.descr[0] == '<' || h.descr[0] == '>' || h.descr[0] == '=') && h.descr[1] == 'f' &&
        (h.descr[2] == '8' || h.descr[2] == '4')) {
        itemsize = h.descr[2] == '8' ? 8 : 4;
        order = h.descr[0] == '<' ? ORDER_LITTLE : h.descr[0] == '>' ? ORDER_BIG : ORDER_NATIVE;
    } else {
        return dw_fail(DW_ERR_FORMAT, "%s: unsupported dtype '%s' (use float64 or float32)", name, ex);
    }
    const char *tname = itemsize == 8 ? "float64" : "float32";
    if (h.fortran)
        return dw_fail(DW_ERR_FORMAT, "%s: fortran_order is True; save the array in C order (numpy.ascontiguousarray)",
                       name);

    /* sizes, checked against the buffer before allocating */
    /* N-D arrays (max_ndim > 2) are read as (d_0 ... d_{n-2}) x d_{n-1} matrices */
    size_t rows = h.ndim >= 1 ? h.dims[0] : 1;
    size_t cols = h.ndim >= 2 ? h.dims[h.ndim - 1] : 1;
    for (int k = 1; k + 1 < h.ndim; k++) {
        if (h.dims[k] && rows > SIZE_MAX / h.dims[k]) {
            h.i = 0;
            return shape_fail(&h, "is too large");
        }
        rows *= h.dims[k];
    }
    if ((cols && rows > SIZE_MAX / cols) || rows * cols > SIZE_MAX / 8) {
        h.i = 0;
        return shape_fail(&h, "is too large");
    }
    size_t count = rows * cols;
    size_t bytes = count * itemsize;
    size_t have = len - hstart - hlen;
    char shp[64];
    describe_shape(shp, sizeof shp, h.ndim, rows, cols);
    if (have < bytes)
        return dw_fail(DW_ERR_FORMAT, "%s: truncated data: header says %s %s (%zu bytes) but only %zu bytes follow",
                       name, shp, tname, bytes, have);
    if (have > bytes)
        return dw_fail(DW_ERR_FORMAT, "%s: %zu bytes of trailing data after the %s %s array (%zu bytes)", name,
                       have - bytes, shp, tname, bytes);

    double *data = dw_alloc(count, sizeof(double), name);
    if (!data) return DW_ERR_NOMEM;
    const unsigned char *src = buf + hstart + hlen;
    for (size_t k = 0; k < count; k++) {
        double v;
        if (itemsize == 8) {
            uint64_t u = load64(src + 8 * k, order);
            memcpy(&v, &u, 8);
        } else {
            uint32_t u = load32(src + 4 * k, order);
            float f;
            memcpy(&f, &u, 4);
            v = (double)f;
        }
        if (!isfinite(v)) {
            free(data);
            if (h.ndim >= 3) { /* the entry's index, every axis (from 0) */
                char idx[256];
                size_t o = 0, r = k;
                size_t at[NPY_MAX_DIMS];
                for (int a = h.ndim - 1; a >= 0; a--) {
                    at[a] = r % h.dims[a];
                    r /= h.dims[a];
                }
                for (int a = 0; a < h.ndim && o + 24 < sizeof idx; a++)
                    o += (size_t)snprintf(idx + o, sizeof idx - o, "%s%zu", a ? ", " : "", at[a]);
                return dw_fail(DW_ERR_FORMAT, "%s: entry [%s] (from 0): value is not finite (%s)", name, idx,
                               isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
            }
            return dw_fail(DW_ERR_FORMAT, "%s: row %zu, column %zu: value is not finite (%s)", name, k / cols + 1,
                           k % cols + 1, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        }
        data[k] = v;
    }
    m->data = data;
    m->rows = rows;
    m->cols = cols;
    if (ndim_out) *ndim_out = h.ndim;
    if (dims_out)
        for (int k = 0; k < h.ndim; k++) dims_out[k] = h.dims[k];
    return DW_OK;
}

dw_status dw_io_read_npy(dw_matrix *m, const char *path)
{
    if (!m) return dw_fail(DW_ERR_INVALID, "dw_io_read_npy: the matrix is NULL");
    dw_matrix_init(m);
    unsigned char *buf;
    size_t len;
    dw_status s = dw_io_slurp(path, &buf, &len);
    if (s != DW_OK) return s;
    s = dw_io_parse_npy(m, buf, len, path);
    free(buf);
    return s;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

dw_status dw_io_npy_header(const char *path, int ndim, const size_t *shape, char *head, size_t *len, size_t *count)
{
    if (ndim < 1 || ndim > 8)
        return dw_fail(DW_ERR_INVALID, "%s: cannot write a %d-dimensional array (ndim must be 1..8)", path, ndim);
    if (!shape) return dw_fail(DW_ERR_INVALID, "%s: the shape is NULL", path);
    /* the header dict, as numpy writes it: keys sorted, trailing ", " before '}' */
    int n = snprintf(head + 10, DW_NPY_HEADER_MAX - 10, "{'descr': '<f8', 'fortran_order': False, 'shape': (");
    size_t c = 1, overflow = 0;
    for (int k = 0; k < ndim; k++) {
        n += snprintf(head + 10 + n, DW_NPY_HEADER_MAX - 10 - (size_t)n, "%s%zu", k ? ", " : "", shape[k]);
        if (shape[k] && c > SIZE_MAX / shape[k]) overflow = 1;
        else c *= shape[k];
    }
    if (overflow || c > SIZE_MAX / 8) return dw_fail(DW_ERR_INVALID, "%s: the array shape is too large to write", path);
    n += snprintf(head + 10 + n, DW_NPY_HEADER_MAX - 10 - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    /* pad with spaces so that magic + length + dict + '\n' is a multiple of 64 */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(head + 10 + n, ' ', pad);
    head[10 + n + pad] = '\n';
    total += pad;
    size_t hlen = total - 10;
    memcpy(head, npy_magic, 6);
    head[6] = 1;
    head[7] = 0;
    head[8] = (char)(hlen & 0xff);
    head[9] = (char)(hlen >> 8);
    *len = total;
    *count = c;
    return DW_OK;
}

dw_status dw_io_write_npy(const char *path, const double *data, int ndim, const size_t *shape)
{
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "output file path is empty");
    char head[DW_NPY_HEADER_MAX];
    size_t total, count;
    dw_status hs = dw_io_npy_header(path, ndim, shape, head, &total, &count);
    if (hs) return hs;
    if (count && !data) return dw_fail(DW_ERR_INVALID, "%s: the data is NULL", path);

    if (host_is_little_endian()) return dw_io_atomic_write(path, head, total, data, count * 8);
    /* big-endian host: the file is little endian */
    unsigned char *le = dw_alloc(count, 8, path);
    if (!le) return DW_ERR_NOMEM;
    for (size_t k = 0; k < count; k++) {
        uint64_t u;
        memcpy(&u, data + k, 8);
        for (int b = 0; b < 8; b++) le[8 * k + (size_t)b] = (unsigned char)(u >> (8 * b));
    }
    dw_status s = dw_io_atomic_write(path, head, total, le, count * 8);
    free(le);
    return s;
}
