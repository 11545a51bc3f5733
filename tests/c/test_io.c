/* io: .npy and .csv reading and writing, error messages, atomic writes. */
#include "check.h"
#include "deepwick.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

/* tmpdir/name in a static buffer (valid until the second next call). */
static const char *tpath(const char *name)
{
    static char buf[2][512];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 20);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

/* Checks the status and that the message contains every key (a NULL-terminated list), one line, no prefix. */
static int expect_fail_impl(dw_status got, dw_status want, const char *file, int line, const char *const *keys)
{
    const char *msg = dw_error_message();
    int ok = got == want && strchr(msg, '\n') == NULL && strncmp(msg, "error", 5) != 0;
    for (int i = 0; keys[i]; i++)
        if (!strstr(msg, keys[i])) {
            fprintf(stderr, "  message lacks '%s'\n", keys[i]);
            ok = 0;
        }
    if (!ok) fprintf(stderr, "  status %d (want %d), message: %s\n", (int)got, (int)want, msg);
    check_report(ok, file, line, "expected failure and message");
    return ok;
}
#define EXPECT_FAIL(got, want, ...)                                                                                   \
    expect_fail_impl((got), (want), __FILE__, __LINE__, (const char *const[]){__VA_ARGS__, NULL})

/* Number of entries in tmpdir (excluding . and ..), and whether any is a leftover temporary (a dot file). */
static int count_entries(int *dotfiles)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    *dotfiles = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (e->d_name[0] == '.') *dotfiles += 1;
    }
    closedir(d);
    return n;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* A hand-made .npy: magic, version major.0, header length (2 or 4 bytes), header text, data. */
static size_t make_npy(unsigned char *out, int major, const char *header, const void *data, size_t n)
{
    size_t h = strlen(header), o = 0;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    if (major == 1) {
        out[8] = (unsigned char)(h & 0xff);
        out[9] = (unsigned char)(h >> 8);
        o = 10;
    } else {
        for (int k = 0; k < 4; k++) out[8 + k] = (unsigned char)(h >> (8 * k));
        o = 12;
    }
    memcpy(out + o, header, h);
    o += h;
    if (n) memcpy(out + o, data, n);
    return o + n;
}

static void put_be64(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int k = 0; k < 8; k++) p[k] = (unsigned char)(u >> (56 - 8 * k));
}

static void put_le64(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int k = 0; k < 8; k++) p[k] = (unsigned char)(u >> (8 * k));
}

static void put_be32(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int k = 0; k < 4; k++) p[k] = (unsigned char)(u >> (24 - 8 * k));
}

static void put_le32(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int k = 0; k < 4; k++) p[k] = (unsigned char)(u >> (8 * k));
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void test_matrix(void)
{
    dw_matrix m;
    m.data = (double *)&m; /* garbage that init must overwrite */
    m.rows = 3;
    dw_matrix_init(&m);
    CHECK(m.data == NULL && m.rows == 0 && m.cols == 0);
    dw_matrix_clear(&m);
    CHECK(m.data == NULL);
    dw_matrix_clear(NULL);
}

static void test_npy_roundtrip(void)
{
    enum { R = 7, C = 5 };
    double x[R * C];
    for (int k = 0; k < R * C; k++) {
        double v;
        do {
            uint64_t u = rng_next();
            memcpy(&v, &u, 8);
        } while (!isfinite(v));
        x[k] = v;
    }
    x[0] = -0.0;
    x[1] = DBL_TRUE_MIN;
    x[2] = -DBL_TRUE_MIN;
    {
        uint64_t u = 0x000fffffffffffffu; /* largest subnormal */
        memcpy(&x[3], &u, 8);
    }
    x[4] = DBL_MAX;
    x[5] = -DBL_MIN;
    x[6] = 0.1;
    const char *p = tpath("rt.npy");
    size_t shape[2] = {R, C};
    CHECK(dw_io_write_npy(p, x, 2, shape) == DW_OK);

    /* the header as numpy writes it */
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    CHECK(b != NULL);
    if (b) {
        CHECK(memcmp(b, "\x93NUMPY\x01\x00", 8) == 0);
        size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
        CHECK((10 + hlen) % 64 == 0);
        CHECK(n == 10 + hlen + sizeof x);
        CHECK(b[10 + hlen - 1] == '\n');
        char head[256] = {0};
        memcpy(head, b + 10, hlen < 255 ? hlen : 255);
        CHECK(strstr(head, "{'descr': '<f8', 'fortran_order': False, 'shape': (7, 5), }") == head);
        /* the data is little endian whatever the host */
        unsigned char le[8];
        put_le64(le, x[7]);
        CHECK(memcmp(b + 10 + hlen + 7 * 8, le, 8) == 0);
        free(b);
    }

    dw_matrix m;
    dw_matrix_init(&m);
    CHECK(dw_io_read_npy(&m, p) == DW_OK);
    CHECK(m.rows == R && m.cols == C);
    CHECK(m.data && memcmp(m.data, x, sizeof x) == 0); /* bit-exact, -0.0 and subnormals included */
    CHECK(m.data && signbit(m.data[0]) && m.data[0] == 0.0);
    dw_matrix_clear(&m);
    /* read_matrix dispatches on the extension */
    CHECK(dw_io_read_matrix(&m, p) == DW_OK && m.rows == R && m.cols == C);
    dw_matrix_clear(&m);

    /* overwrite with a 1-D array: k x 1 */
    size_t k6 = 6;
    CHECK(dw_io_write_npy(p, x, 1, &k6) == DW_OK);
    b = read_bytes(p, &n);
    if (b) {
        CHECK(memmem(b, n, "'shape': (6,), }", 16) != NULL);
        free(b);
    }
    CHECK(dw_io_read_npy(&m, p) == DW_OK);
    CHECK(m.rows == 6 && m.cols == 1);
    CHECK(m.data && memcmp(m.data, x, 6 * sizeof(double)) == 0);
    dw_matrix_clear(&m);

    /* 0 x 3 is allowed (the caller decides whether empty is fine) */
    size_t s03[2] = {0, 3};
    CHECK(dw_io_write_npy(tpath("empty03.npy"), NULL, 2, s03) == DW_OK);
    CHECK(dw_io_read_npy(&m, tpath("empty03.npy")) == DW_OK);
    CHECK(m.rows == 0 && m.cols == 3);
    dw_matrix_clear(&m);

    /* 3-D writes, but reading it back is refused with the shape named */
    size_t s3[3] = {2, 3, 4};
    double z[24] = {0};
    CHECK(dw_io_write_npy(tpath("three.npy"), z, 3, s3) == DW_OK);
    EXPECT_FAIL(dw_io_read_npy(&m, tpath("three.npy")), DW_ERR_FORMAT, "three.npy", "(2, 3, 4)", "3 dimensions");
    CHECK(m.data == NULL && m.rows == 0);

    /* writer argument errors */
    EXPECT_FAIL(dw_io_write_npy(tpath("bad.npy"), z, 0, s3), DW_ERR_INVALID, "bad.npy", "ndim");
    EXPECT_FAIL(dw_io_write_npy(tpath("bad.npy"), z, 9, s3), DW_ERR_INVALID, "bad.npy", "ndim");
    size_t huge[2] = {SIZE_MAX / 2, 3};
    EXPECT_FAIL(dw_io_write_npy(tpath("bad.npy"), z, 2, huge), DW_ERR_INVALID, "bad.npy", "too large");
    EXPECT_FAIL(dw_io_write_npy(tpath("bad.npy"), NULL, 1, &k6), DW_ERR_INVALID, "bad.npy");
    CHECK(access(tpath("bad.npy"), F_OK) != 0);
}

static void test_npy_hand_made(void)
{
    unsigned char buf[1024], data[64];
    dw_matrix m;
    dw_matrix_init(&m);
    size_t n;

    /* big-endian float64, keys in another order, double quotes, odd spaces, version 2.0 */
    put_be64(data, 1.5);
    put_be64(data + 8, -0.0);
    put_be64(data + 16, 1e-310);
    n = make_npy(buf, 2, "{ \"shape\" :(3 ,1 ,) ,'fortran_order':False,'descr':'>f8'  ,}   \n", data, 24);
    write_bytes(tpath("be.npy"), buf, n);
    CHECK(dw_io_read_npy(&m, tpath("be.npy")) == DW_OK);
    CHECK(m.rows == 3 && m.cols == 1);
    if (m.data) {
        CHECK(m.data[0] == 1.5 && m.data[1] == 0.0 && signbit(m.data[1]) && m.data[2] == 1e-310);
    }
    dw_matrix_clear(&m);

    /* little-endian float32, 2 x 2, converted exactly */
    float f[4] = {0.1f, -3.25f, 1e-40f /* subnormal */, 3.4e38f};
    for (int k = 0; k < 4; k++) put_le32(data + 4 * k, f[k]);
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", data, 16);
    CHECK(dw_io_parse_npy(&m, buf, n, "f4.npy") == DW_OK);
    CHECK(m.rows == 2 && m.cols == 2);
    if (m.data)
        for (int k = 0; k < 4; k++) CHECK(m.data[k] == (double)f[k]);
    dw_matrix_clear(&m);

    /* big-endian float32, 1-D, version 3.0 */
    for (int k = 0; k < 4; k++) put_be32(data + 4 * k, f[k]);
    n = make_npy(buf, 3, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }\n", data, 16);
    CHECK(dw_io_parse_npy(&m, buf, n, "f4be.npy") == DW_OK);
    CHECK(m.rows == 4 && m.cols == 1);
    if (m.data)
        for (int k = 0; k < 4; k++) CHECK(m.data[k] == (double)f[k]);
    dw_matrix_clear(&m);

    /* native order '=f8' and a scalar shape () */
    double v = 2.75;
    n = make_npy(buf, 1, "{'descr': '=f8', 'fortran_order': False, 'shape': ()}", &v, 8);
    CHECK(dw_io_parse_npy(&m, buf, n, "scalar.npy") == DW_OK);
    CHECK(m.rows == 1 && m.cols == 1 && m.data && m.data[0] == 2.75);
    dw_matrix_clear(&m);

    /* (0, 0) */
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 0), }\n", NULL, 0);
    CHECK(dw_io_parse_npy(&m, buf, n, "zero.npy") == DW_OK);
    CHECK(m.rows == 0 && m.cols == 0);
    dw_matrix_clear(&m);

    /* the parser reads exactly len bytes: an exact-size heap copy lets ASan check it */
    put_le64(data, 4.0);
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", data, 8);
    unsigned char *exact = malloc(n);
    memcpy(exact, buf, n);
    CHECK(dw_io_parse_npy(&m, exact, n, "exact.npy") == DW_OK && m.data && m.data[0] == 4.0);
    dw_matrix_clear(&m);
    for (size_t cut = 0; cut < n; cut++) { /* every truncation fails cleanly */
        dw_status s = dw_io_parse_npy(&m, exact, cut, "cut.npy");
        CHECK(s == DW_ERR_FORMAT && m.data == NULL && strstr(dw_error_message(), "cut.npy: ") == dw_error_message());
    }
    free(exact);
}

static void test_npy_errors(void)
{
    unsigned char buf[1024], data[128];
    memset(data, 0, sizeof data);
    dw_matrix m;
    dw_matrix_init(&m);
    size_t n;
    const char *hdr34 = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }\n";

    write_bytes(tpath("empty.npy"), "", 0);
    EXPECT_FAIL(dw_io_read_npy(&m, tpath("empty.npy")), DW_ERR_FORMAT, tpath("empty.npy"), "empty file");
    EXPECT_FAIL(dw_io_read_npy(&m, tpath("missing.npy")), DW_ERR_IO, "missing.npy: No such file or directory");
    EXPECT_FAIL(dw_io_read_npy(&m, tmpdir), DW_ERR_IO, tmpdir, "directory");
    EXPECT_FAIL(dw_io_parse_npy(&m, (const unsigned char *)"PK\3\4abcdefgh", 12, "zip.npy"), DW_ERR_FORMAT,
                "zip.npy", "not a .npy file");

    n = make_npy(buf, 1, hdr34, data, 96);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, 20, "X.npy"), DW_ERR_FORMAT, "X.npy", "truncated header");
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, 8, "X.npy"), DW_ERR_FORMAT, "X.npy", "truncated header");
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n - 8, "X.npy"), DW_ERR_FORMAT,
                "X.npy: truncated data: header says 3 x 4 float64 (96 bytes) but only 88 bytes follow");
    buf[n] = 'x';
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n + 1, "X.npy"), DW_ERR_FORMAT, "X.npy", "trailing");
    CHECK(dw_io_parse_npy(&m, buf, n, "X.npy") == DW_OK && m.rows == 3 && m.cols == 4);
    dw_matrix_clear(&m);

    /* header length past the end */
    n = make_npy(buf, 1, hdr34, NULL, 0);
    buf[8] = 0xff;
    buf[9] = 0xff;
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "truncated header", "65535");

    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }\n",
                 data, 16);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT,
                "X.npy: shape (99999999999, 99999999999) is too large");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }\n", data, 16);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "truncated data",
                "1000000 x 1000000", "only 16 bytes follow");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1234567890123456789012345,), }", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "too large");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 3), }\n", data, 24);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "(-1, 3)", "negative");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1), }\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "(1, 1, 1, 1)", "4 dimensions");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3), }\n", data, 24);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "not a tuple");

    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }\n", data, 48);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT,
                "X.npy: fortran_order is True; save the array in C order (numpy.ascontiguousarray)");
    n = make_npy(buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT,
                "X.npy: unsupported dtype '<i4' (use float64 or float32)");
    n = make_npy(buf, 1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "unsupported dtype '|O'");
    n = make_npy(buf, 1, "{'descr': '|f8', 'fortran_order': False, 'shape': (1,), }\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "unsupported dtype '|f8'");
    n = make_npy(buf, 1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "structured");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False}\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "no 'shape' key");
    n = make_npy(buf, 1, "{'fortran_order': False, 'shape': (1,)}\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "no 'descr' key");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "'extra'");
    n = make_npy(buf, 1, "{'descr': '<f8' 'fortran_order': False, 'shape': (1,)}\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "malformed .npy header");
    n = make_npy(buf, 1, "{'descr': '<f\xe9', 'fortran_order': False, 'shape': (1,)}\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "\\xe9");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} junk", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "after '}'");
    n = make_npy(buf, 1, hdr34, data, 96);
    buf[6] = 9;
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "X.npy", "version 9.0");

    /* non-finite values name row and column (1-based) */
    double d[6] = {1, 2, 3, 4, NAN, 6};
    for (int k = 0; k < 6; k++) put_le64(data + 8 * k, d[k]);
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }\n", data, 48);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT,
                "X.npy: row 3, column 1: value is not finite (nan)");
    put_le32(data, 1.0f);
    put_le32(data + 4, -INFINITY);
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", data, 8);
    EXPECT_FAIL(dw_io_parse_npy(&m, buf, n, "X.npy"), DW_ERR_FORMAT, "row 2, column 1: value is not finite (-inf)");
    CHECK(m.data == NULL && m.rows == 0 && m.cols == 0);
}

static void test_csv(void)
{
    dw_matrix m;
    dw_matrix_init(&m);
    const char *p = tpath("a.csv");

    /* header, comments, blank lines, CRLF, quotes, spaces */
    const char *text = "# produced by a test\r\n\r\n\"x\", y ,z\r\n1, \"2.5\" , -3e-2\r\n  # a comment\r\n"
                       "4,5,6\r\n\r\n\"7\",8,9";
    write_bytes(p, text, strlen(text));
    CHECK(dw_io_read_csv(&m, p) == DW_OK);
    CHECK(m.rows == 3 && m.cols == 3);
    if (m.data && m.rows == 3 && m.cols == 3) {
        const double want[9] = {1, 2.5, -3e-2, 4, 5, 6, 7, 8, 9};
        for (int k = 0; k < 9; k++) CHECK(m.data[k] == want[k]);
    }
    dw_matrix_clear(&m);
    /* upper-case extension dispatches too */
    write_bytes(tpath("B.CSV"), text, strlen(text));
    CHECK(dw_io_read_matrix(&m, tpath("B.CSV")) == DW_OK && m.rows == 3);
    dw_matrix_clear(&m);

    /* no header; one column; bit-exact %.17g round trip; subnormal underflow is fine */
    char big[256];
    double v = 0.1 + 0.2;
    snprintf(big, sizeof big, "%.17g\n-0\n1e-310\n0x1p-3\n", v);
    CHECK(dw_io_parse_csv(&m, big, strlen(big), "b.csv") == DW_OK);
    CHECK(m.rows == 4 && m.cols == 1);
    if (m.data && m.rows == 4) {
        CHECK(memcmp(&m.data[0], &v, 8) == 0);
        CHECK(m.data[1] == 0.0 && signbit(m.data[1]));
        CHECK(m.data[2] == 1e-310);
        CHECK(m.data[3] == 0.125);
    }
    dw_matrix_clear(&m);

    /* a header with another column count is still a header */
    const char *h = "a,b,c,d\n1,2\n3,4\n";
    CHECK(dw_io_parse_csv(&m, h, strlen(h), "h.csv") == DW_OK && m.rows == 2 && m.cols == 2);
    dw_matrix_clear(&m);

    /* the buffer is not NUL-terminated: an exact-size heap copy, the last field running to the end */
    const char *t = "1,2\n3,45";
    char *exact = malloc(8);
    memcpy(exact, t, 8);
    CHECK(dw_io_parse_csv(&m, exact, 8, "t.csv") == DW_OK && m.rows == 2 && m.cols == 2);
    CHECK(m.data && m.data[3] == 45);
    dw_matrix_clear(&m);
    for (size_t cut = 0; cut <= 8; cut++) {
        dw_status s = dw_io_parse_csv(&m, exact, cut, "t.csv");
        CHECK(s == DW_OK || s == DW_ERR_FORMAT);
        dw_matrix_clear(&m);
    }
    free(exact);

    /* many rows: geometric growth */
    size_t rows = 20000, len = 0;
    char *many = malloc(rows * 32);
    for (size_t r = 0; r < rows; r++) len += (size_t)sprintf(many + len, "%zu,%zu.5,-%zu\n", r, r, r);
    CHECK(dw_io_parse_csv(&m, many, len, "many.csv") == DW_OK);
    CHECK(m.rows == rows && m.cols == 3);
    if (m.data && m.rows == rows) CHECK(m.data[3 * 12345 + 1] == 12345.5 && m.data[3 * 19999 + 2] == -19999.0);
    dw_matrix_clear(&m);
    free(many);

    /* errors: row and column are 1-based data rows (the header excluded) */
    const char *rag = "a,b,c,d\n1,2,3,4\n5,6,7,8\n9,10,11\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, rag, strlen(rag), "X.csv"), DW_ERR_FORMAT,
                "X.csv: row 3: expected 4 columns, found 3");
    const char *rag2 = "1,2\n3,4,5\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, rag2, strlen(rag2), "X.csv"), DW_ERR_FORMAT,
                "X.csv: row 2: expected 2 columns, found 3");
    const char *nan = "x\n# c\n1,2,3,4,5\n1,2,3,4,abc\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, nan, strlen(nan), "X.csv"), DW_ERR_FORMAT, "X.csv: row 2, column 5: 'abc' is not a number",
                "line 4");
    const char *nan2 = "1\n2\n3\n4\n5\n6\nnan\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, nan2, strlen(nan2), "X.csv"), DW_ERR_FORMAT,
                "X.csv: row 7, column 1: value is not finite (nan)");
    const char *ovf = "1,2\n3,1e999\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, ovf, strlen(ovf), "X.csv"), DW_ERR_FORMAT, "X.csv: row 2, column 2",
                "not finite (1e999)");
    const char *inf = "1,-inf\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, inf, strlen(inf), "X.csv"), DW_ERR_FORMAT, "row 1, column 2", "not finite (-inf)");
    const char *trail = "1,2,\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, trail, strlen(trail), "X.csv"), DW_ERR_FORMAT, "X.csv: row 1, column 3: empty value");
    const char *unterm = "1,\"2\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, unterm, strlen(unterm), "X.csv"), DW_ERR_FORMAT, "row 1, column 2", "quote");
    const char *semi = "1;2\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, semi, strlen(semi), "X.csv"), DW_ERR_FORMAT, "X.csv: no data rows", "'1;2'");
    const char *nul = "1,2\n3,4\0\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, nul, 9, "X.csv"), DW_ERR_FORMAT, "row 2, column 2", "\\x00");
    EXPECT_FAIL(dw_io_parse_csv(&m, "", 0, "X.csv"), DW_ERR_FORMAT, "X.csv: no data rows");
    const char *only = "# nothing\n\nname,value\n";
    EXPECT_FAIL(dw_io_parse_csv(&m, only, strlen(only), "X.csv"), DW_ERR_FORMAT, "X.csv: no data rows");
    write_bytes(tpath("empty.csv"), "", 0);
    EXPECT_FAIL(dw_io_read_csv(&m, tpath("empty.csv")), DW_ERR_FORMAT, tpath("empty.csv"), "no data rows");
    EXPECT_FAIL(dw_io_read_csv(&m, tpath("missing.csv")), DW_ERR_IO, "missing.csv: No such file or directory");
    CHECK(m.data == NULL && m.rows == 0 && m.cols == 0);

    /* unsupported extensions */
    EXPECT_FAIL(dw_io_read_matrix(&m, tpath("x.txt")), DW_ERR_INVALID, "x.txt", ".npy", ".csv");
    EXPECT_FAIL(dw_io_read_matrix(&m, tpath("noext")), DW_ERR_INVALID, "noext", ".npy", ".csv");
}

static void test_atomic(void)
{
    int dots, before = count_entries(&dots);
    CHECK(dots == 0);

    /* write_text, then overwrite it; mode 0644 & ~umask */
    char p[512];
    snprintf(p, sizeof p, "%s", tpath("out.txt"));
    CHECK(dw_io_write_text(p, "hello\n", 6) == DW_OK);
    CHECK(dw_io_write_text(p, "bye", 3) == DW_OK);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    CHECK(b && n == 3 && memcmp(b, "bye", 3) == 0);
    free(b);
    mode_t um = umask(022);
    umask(um);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == (0644 & ~um));
    CHECK(dw_io_write_text(tpath("empty.txt"), "", 0) == DW_OK);
    CHECK(stat(tpath("empty.txt"), &st) == 0 && st.st_size == 0);

    /* a missing directory: DW_ERR_IO naming the path, nothing left behind */
    int mid = count_entries(&dots);
    CHECK(mid == before + 2);
    EXPECT_FAIL(dw_io_write_text(tpath("nodir/x.txt"), "a", 1), DW_ERR_IO, "nodir/x.txt: No such file or directory");
    size_t k2 = 2;
    double two[2] = {1, 2};
    EXPECT_FAIL(dw_io_write_npy(tpath("nodir/x.npy"), two, 1, &k2), DW_ERR_IO, "nodir/x.npy", "No such file");
    /* the target is a directory */
    EXPECT_FAIL(dw_io_write_npy(tmpdir, two, 1, &k2), DW_ERR_IO, tmpdir, "directory");
    CHECK(count_entries(&dots) == mid && dots == 0);

    /* a failure after the temporary file exists (the file size limit makes write() fail with EFBIG): the
     * temporary is removed and an existing target is untouched */
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) == 0) {
        void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = old;
        lim.rlim_cur = 4096;
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            size_t k = 4096;
            double *big = calloc(k, sizeof(double));
            EXPECT_FAIL(dw_io_write_npy(p, big, 1, &k), DW_ERR_IO, p, "too large");
            free(big);
            setrlimit(RLIMIT_FSIZE, &old);
            CHECK(count_entries(&dots) == mid && dots == 0);
            b = read_bytes(p, &n);
            CHECK(b && n == 3 && memcmp(b, "bye", 3) == 0);
            free(b);
        }
        signal(SIGXFSZ, prev);
    }

    /* check_writable creates nothing */
    CHECK(dw_io_check_writable(tpath("later.npy")) == DW_OK);
    CHECK(access(tpath("later.npy"), F_OK) != 0);
    CHECK(count_entries(&dots) == mid && dots == 0);
    EXPECT_FAIL(dw_io_check_writable("/proc/nonexistent/x.npy"), DW_ERR_IO, "/proc/nonexistent/x.npy");
    EXPECT_FAIL(dw_io_check_writable(tpath("nodir/y.csv")), DW_ERR_IO, "nodir/y.csv", "No such file");
    EXPECT_FAIL(dw_io_check_writable(tmpdir), DW_ERR_IO, tmpdir, "directory");
    EXPECT_FAIL(dw_io_check_writable(""), DW_ERR_INVALID, "empty");
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dw_test_io.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_matrix();
    test_npy_roundtrip();
    test_npy_hand_made();
    test_npy_errors();
    test_csv();
    test_atomic();
    remove_tree(tmpdir);
    return check_done("test_io");
}
