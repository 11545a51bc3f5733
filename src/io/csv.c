/* .csv reader: comma-separated numbers, one row per line.
 *
 * Lines end in "\n" or "\r\n". Blank lines and lines starting with '#' are skipped, as is a UTF-8 byte order
 * mark. The first remaining line is a header (and skipped) if any of its fields is neither empty nor a number.
 * Fields may be surrounded by spaces and by double quotes ("1.5"; "" inside quotes is a literal quote). Every
 * row must have as many fields as the first data row, and every field must be a finite number, parsed with
 * strtod in the C locale on a NUL-terminated copy (the input buffer is not NUL-terminated and is never read past
 * its length). Rows are counted from 1 excluding the header; messages add the line number when it differs. */
#include "core/internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_state {
    const char *name;
    locale_t c_locale; /* (locale_t)0 if newlocale failed: then plain strtod */
    char *scratch;     /* NUL-terminated copy of a field */
    size_t scratch_cap;
    double *data;
    size_t count, cap;
} csv_state;

static int is_space(char c) { return c == ' ' || c == '\t'; }

enum { FIELD_OK = 0, FIELD_UNTERMINATED = 1, FIELD_JUNK = 2 };

/* The field of line s[0..n) starting at *pos: its content (trimmed, without quotes) in *fs, *fn. Advances *pos
 * past the field and its comma; *more says whether a comma followed (another field comes). */
static int next_field(const char *s, size_t n, size_t *pos, const char **fs, size_t *fn, int *more)
{
    size_t i = *pos;
    while (i < n && is_space(s[i])) i++;
    if (i < n && s[i] == '"') {
        size_t start = ++i;
        for (;;) {
            if (i >= n) {
                *pos = start - 1;
                return FIELD_UNTERMINATED;
            }
            if (s[i] == '"') {
                if (i + 1 < n && s[i + 1] == '"') {
                    i += 2;
                    continue;
                }
                break;
            }
            i++;
        }
        size_t end = i++; /* the closing quote */
        while (i < n && is_space(s[i])) i++;
        if (i < n && s[i] != ',') {
            *pos = i;
            return FIELD_JUNK;
        }
        /* spaces inside the quotes are allowed too */
        while (start < end && is_space(s[start])) start++;
        while (end > start && is_space(s[end - 1])) end--;
        *fs = s + start;
        *fn = end - start;
    } else {
        size_t start = i;
        while (i < n && s[i] != ',') i++;
        size_t end = i;
        while (end > start && is_space(s[end - 1])) end--;
        *fs = s + start;
        *fn = end - start;
    }
    *more = i < n; /* then s[i] == ',' */
    *pos = *more ? i + 1 : i;
    return FIELD_OK;
}

enum { NUM_OK = 0, NUM_BAD = 1, NUM_NOMEM = 2 };

static int parse_number(csv_state *st, const char *s, size_t n, double *out)
{
    if (n == 0 || is_space(s[0]) || s[0] == '\n' || s[0] == '\v' || s[0] == '\f' || s[0] == '\r') return NUM_BAD;
    if (n + 1 > st->scratch_cap) {
        size_t cap = st->scratch_cap ? st->scratch_cap : 64;
        while (cap < n + 1) cap *= 2;
        char *p = realloc(st->scratch, cap);
        if (!p) return NUM_NOMEM;
        st->scratch = p;
        st->scratch_cap = cap;
    }
    memcpy(st->scratch, s, n);
    st->scratch[n] = '\0';
    char *end;
    errno = 0;
    *out = st->c_locale ? strtod_l(st->scratch, &end, st->c_locale) : strtod(st->scratch, &end);
    return end == st->scratch + n ? NUM_OK : NUM_BAD;
}

static dw_status append(csv_state *st, double v)
{
    if (st->count == st->cap) {
        size_t cap = st->cap ? st->cap : 256;
        if (st->cap) {
            if (cap > SIZE_MAX / 2 / sizeof(double))
                return dw_fail(DW_ERR_NOMEM, "%s: too many values to hold in memory", st->name);
            cap *= 2;
        }
        double *p = realloc(st->data, cap * sizeof(double));
        if (!p)
            return dw_fail(DW_ERR_NOMEM, "%s: cannot allocate %zu bytes for %zu values", st->name,
                           cap * sizeof(double), cap);
        st->data = p;
        st->cap = cap;
    }
    st->data[st->count++] = v;
    return DW_OK;
}

/* " (line N)" when the line number differs from the row number, else "". */
static const char *line_note(char *buf, size_t cap, size_t row, size_t line)
{
    if (row == line) return "";
    snprintf(buf, cap, " (line %zu)", line);
    return buf;
}

static dw_status field_error(csv_state *st, int err, size_t row, size_t col, size_t line)
{
    char note[48];
    return dw_fail(DW_ERR_FORMAT, "%s: row %zu, column %zu: %s%s", st->name, row, col,
                   err == FIELD_UNTERMINATED ? "unterminated quote" : "unexpected text after a closing quote",
                   line_note(note, sizeof note, row, line));
}

static dw_status parse_lines(csv_state *st, const char *buf, size_t len, size_t *rows_out, size_t *cols_out)
{
    size_t pos = 0, line = 0, row = 0, cols = 0;
    int first = 1;
    const char *header_line = NULL; /* the line taken as a header, for messages */
    size_t header_len = 0;
    char note[48];
    if (len >= 3 && (unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb && (unsigned char)buf[2] == 0xbf)
        pos = 3;
    while (pos < len) {
        line++;
        const char *ls = buf + pos;
        const char *nl = memchr(ls, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - ls) : len - pos;
        pos += nl ? n + 1 : n;
        if (n && ls[n - 1] == '\r') n--;
        size_t j = 0;
        while (j < n && is_space(ls[j])) j++;
        if (j == n || ls[j] == '#') continue;

        const char *fs;
        size_t fn, fpos = 0, nf = 0;
        int more, err;
        if (first) { /* a header if any field is neither empty nor a number */
            first = 0;
            int header = 0;
            do {
                err = next_field(ls, n, &fpos, &fs, &fn, &more);
                nf++;
                if (err) return field_error(st, err, 1, nf, line);
                double v;
                int r = fn ? parse_number(st, fs, fn, &v) : NUM_OK;
                if (r == NUM_NOMEM) return dw_fail(DW_ERR_NOMEM, "%s: cannot allocate a field of %zu bytes", st->name, fn);
                if (r == NUM_BAD) header = 1;
            } while (more && !header);
            if (header) {
                header_line = ls;
                header_len = n;
                continue;
            }
            fpos = 0;
            nf = 0;
        }

        row++;
        /* count the fields first, so that a ragged row is reported as such */
        do {
            err = next_field(ls, n, &fpos, &fs, &fn, &more);
            nf++;
            if (err) return field_error(st, err, row, nf, line);
        } while (more);
        if (row == 1) {
            cols = nf;
        } else if (nf != cols) {
            return dw_fail(DW_ERR_FORMAT, "%s: row %zu: expected %zu column%s, found %zu%s", st->name, row, cols,
                           cols == 1 ? "" : "s", nf, line_note(note, sizeof note, row, line));
        }
        fpos = 0;
        for (size_t col = 1; col <= nf; col++) {
            next_field(ls, n, &fpos, &fs, &fn, &more);
            char ex[64];
            if (fn == 0)
                return dw_fail(DW_ERR_FORMAT, "%s: row %zu, column %zu: empty value%s%s", st->name, row, col,
                               col == nf && col > 1 ? " (a trailing comma?)" : "",
                               line_note(note, sizeof note, row, line));
            double v;
            int r = parse_number(st, fs, fn, &v);
            if (r == NUM_NOMEM) return dw_fail(DW_ERR_NOMEM, "%s: cannot allocate a field of %zu bytes", st->name, fn);
            if (r == NUM_BAD) {
                dw_io_excerpt(ex, sizeof ex, fs, fn);
                int other_sep = memchr(fs, ';', fn) || memchr(fs, '\t', fn);
                return dw_fail(DW_ERR_FORMAT, "%s: row %zu, column %zu: '%s' is not a number%s%s", st->name, row, col,
                               ex, other_sep ? " (values must be separated by ',')" : "",
                               line_note(note, sizeof note, row, line));
            }
            if (!isfinite(v)) {
                dw_io_excerpt(ex, sizeof ex, fs, fn);
                return dw_fail(DW_ERR_FORMAT, "%s: row %zu, column %zu: value is not finite (%s)%s", st->name, row, col,
                               ex, line_note(note, sizeof note, row, line));
            }
            dw_status s = append(st, v);
            if (s != DW_OK) return s;
        }
    }
    if (row == 0 && header_line) {
        char ex[64];
        dw_io_excerpt(ex, sizeof ex, header_line, header_len);
        return dw_fail(DW_ERR_FORMAT, "%s: no data rows (the line '%s' was taken as a header: not all its fields are numbers)",
                       st->name, ex);
    }
    if (row == 0) return dw_fail(DW_ERR_FORMAT, "%s: no data rows", st->name);
    *rows_out = row;
    *cols_out = cols;
    return DW_OK;
}

dw_status dw_io_parse_csv(dw_matrix *m, const char *buf, size_t len, const char *name)
{
    if (!m) return dw_fail(DW_ERR_INVALID, "dw_io_parse_csv: the matrix is NULL");
    dw_matrix_init(m);
    if (!name) name = "<memory>";
    if (!buf && len) return dw_fail(DW_ERR_INVALID, "%s: the buffer is NULL", name);
    csv_state st;
    memset(&st, 0, sizeof st);
    st.name = name;
    st.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    size_t rows = 0, cols = 0;
    dw_status s = parse_lines(&st, buf, len, &rows, &cols);
    if (st.c_locale) freelocale(st.c_locale);
    free(st.scratch);
    if (s != DW_OK) {
        free(st.data);
        return s;
    }
    m->data = st.data;
    if (st.count < st.cap) { /* give back the slack of the geometric growth */
        double *p = realloc(st.data, st.count * sizeof(double));
        if (p) m->data = p;
    }
    m->rows = rows;
    m->cols = cols;
    return DW_OK;
}

dw_status dw_io_read_csv(dw_matrix *m, const char *path)
{
    if (!m) return dw_fail(DW_ERR_INVALID, "dw_io_read_csv: the matrix is NULL");
    dw_matrix_init(m);
    unsigned char *buf;
    size_t len;
    dw_status s = dw_io_slurp(path, &buf, &len);
    if (s != DW_OK) return s;
    s = dw_io_parse_csv(m, (const char *)buf, len, path);
    free(buf);
    return s;
}
