/* Declarative command-line options (opts.h): parsing, --help and the JSON echo from one table. */
#include "opts.h"

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *field(void *args, const cli_opt *o) { return (char *)args + o->offset; }
static const void *cfield(const void *args, const cli_opt *o) { return (const char *)args + o->offset; }

static size_t count_opts(const cli_cmd *cmd)
{
    size_t n = 0;
    while (cmd->opts[n].name) n++;
    return n;
}

static bool choice_ok(const char *choices, const char *v)
{
    size_t len = strlen(v);
    for (const char *p = choices; *p;) {
        size_t k = strcspn(p, "|");
        if (k == len && !strncmp(p, v, len)) return true;
        p += k + (p[k] == '|');
    }
    return false;
}

/* "OPT: 'path' must end in EXT"; 1 if it does, else 0 after the error. */
static int check_ext(const char *opt, const char *path, const char *ext)
{
    size_t len = strlen(path), e = strlen(ext);
    if (len < e || strcmp(path + len - e, ext)) return cli_error("%s: '%s' must end in %s", opt, path, ext), 0;
    return 1;
}

/* "a, b or c" from "a|b|c" */
static void choice_list(const char *choices, char *list, size_t size)
{
    size_t len = 0, nalt = 1, k = 0;
    list[0] = '\0';
    for (const char *p = choices; *p; p++) nalt += *p == '|';
    for (const char *p = choices; *p && len < size - 8; k++) {
        size_t w = strcspn(p, "|");
        len += (size_t)snprintf(list + len, size - len, "%s%.*s", k == 0 ? "" : k + 1 == nalt ? " or " : ", ", (int)w,
                                p);
        p += w + (p[w] == '|');
    }
}

/* A list of numbers: finite (CLI_REAL, CLI_REALS), signs (CLI_NONNEG, CLI_POSITIVE), integers in [lo, hi]
 * (CLI_INTS). 1, or 0 after the error. */
static int parse_numbers(const cli_opt *o, const char *opt, const char *text, double **out, size_t *count)
{
    double *v;
    size_t n;
    if (!cli_parse_list(opt, text, &v, &n)) return 0;
    if (o->type == CLI_REAL && n != 1) {
        free(v);
        return cli_error("%s: expected one number (got %zu)", opt, n), 0;
    }
    for (size_t k = 0; k < n; k++) {
        const bool one = o->type == CLI_REAL;
        if (o->type == CLI_INTS && (v[k] != floor(v[k]) || v[k] < (double)o->lo || v[k] > (double)o->hi)) {
            if (v[k] > (double)o->hi && v[k] == floor(v[k]))
                cli_error("%s: value %zu (%g) must be an integer <= %ld", opt, k + 1, v[k], o->hi);
            else
                cli_error("%s: value %zu (%g) must be an integer >= %ld", opt, k + 1, v[k], o->lo);
        } else if ((o->flags & CLI_NONNEG) && v[k] < 0) {
            if (one)
                cli_error("%s: must be non-negative (got %g)", opt, v[k]);
            else
                cli_error("%s: value %zu (%g) must be non-negative", opt, k + 1, v[k]);
        } else if ((o->flags & CLI_POSITIVE) && !(v[k] > 0)) {
            cli_error("%s: must be positive (got %g)", opt, v[k]);
        } else {
            continue;
        }
        free(v);
        return 0;
    }
    *out = v;
    *count = n;
    return 1;
}

/* "A:B:N" into a cli_grid; 1, or 0 after the error. */
static int parse_grid(const cli_opt *o, const char *opt, const char *text, cli_grid *g)
{
    char *end;
    const char *p = text;
    bool ok = true;
    double v[2];
    for (int k = 0; k < 2 && ok; k++) {
        errno = 0;
        v[k] = strtod(p, &end);
        ok = end != p && *end == ':' && errno != ERANGE && isfinite(v[k]);
        p = end + 1;
    }
    long n = 0;
    if (ok) {
        errno = 0;
        n = strtol(p, &end, 10);
        ok = end != p && !*end && errno != ERANGE;
    }
    if (!ok) return cli_error("%s: '%s' is not %s (two finite numbers and an integer)", opt, text, o->metavar), 0;
    if (n < o->lo) return cli_error("%s: N = %ld; at least %ld points are needed", opt, n, o->lo), 0;
    if (n > o->hi) return cli_error("%s: N = %ld is above %ld", opt, n, o->hi), 0;
    *g = (cli_grid){v[0], v[1], n};
    return 1;
}

/* Parse one value into its field; 1, or 0 after printing the error. `text` may be a default. */
static int set_value(const cli_opt *o, const char *text, void *args)
{
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", o->name);
    void *f = field(args, o);
    switch (o->type) {
    case CLI_FLAG: *(bool *)f = true; return 1;
    case CLI_INT: return cli_parse_int(opt, text, o->lo, o->hi, (long *)f);
    case CLI_REAL:
    case CLI_REALS:
    case CLI_INTS: {
        double *v;
        size_t n;
        if (!parse_numbers(o, opt, text, &v, &n)) return 0;
        if (o->type == CLI_REAL) {
            *(double *)f = v[0];
            free(v);
        } else {
            cli_reals *r = f;
            free(r->v);
            r->v = v;
            r->n = n;
        }
        return 1;
    }
    case CLI_GRID: return parse_grid(o, opt, text, f);
    case CLI_CHOICE:
        if (!choice_ok(o->choices, text)) {
            char list[256];
            choice_list(o->choices, list, sizeof list);
            return cli_error("%s: expected %s (got '%s')", opt, list, text), 0;
        }
        *(const char **)f = text;
        return 1;
    case CLI_TEXT:
        if (o->ext && !check_ext(opt, text, o->ext)) return 0;
        *(const char **)f = text;
        return 1;
    }
    return 0;
}

/* The option named by "--name" or "--name=value" (k = n if none). */
static size_t find_opt(const cli_cmd *cmd, size_t n, const char *name, size_t len)
{
    size_t k;
    for (k = 0; k < n; k++) {
        const cli_opt *o = &cmd->opts[k];
        if (!(o->flags & CLI_POSITIONAL) && strlen(o->name) == len && !strncmp(o->name, name, len)) break;
    }
    return k;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, void *args)
{
    cli_args *base = args;
    base->given = 0;
    const size_t n = count_opts(cmd);
    if (n > 64) return cli_error("internal: command %s has more than 64 options", cmd->name);
    for (size_t k = 0; k < n; k++) {
        const cli_opt *o = &cmd->opts[k];
        if (o->def && !set_value(o, o->def, args)) return 1;
    }
    bool options_end = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_end && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
            cli_help(cmd, stdout);
            return 0;
        }
        if (!options_end && !strcmp(a, "--")) {
            options_end = true;
            continue;
        }
        if (options_end || strncmp(a, "--", 2)) { /* a positional argument: the next free positional entry */
            size_t k;
            for (k = 0; k < n; k++)
                if ((cmd->opts[k].flags & CLI_POSITIONAL) && !(base->given >> k & 1)) break;
            if (k == n) {
                bool takes = false; /* a command with positional arguments: perhaps one with spaces, unquoted */
                for (size_t j = 0; j < n; j++) takes |= (cmd->opts[j].flags & CLI_POSITIONAL) != 0;
                return cli_usage_error(cmd->name, "unexpected argument '%s'%s", a,
                                       takes ? " (quote an argument that has spaces)" : "");
            }
            if (!set_value(&cmd->opts[k], a, args)) return 1;
            base->given |= (uint64_t)1 << k;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        size_t k = find_opt(cmd, n, name, len);
        if (k == n) return cli_usage_error(cmd->name, "unknown option '%s'", a);
        const cli_opt *o = &cmd->opts[k];
        const char *val = NULL;
        if (o->type == CLI_FLAG) {
            if (eq) return cli_usage_error(cmd->name, "--%s takes no value", o->name);
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return cli_usage_error(cmd->name, "--%s needs a value (%s)", o->name, o->metavar ? o->metavar : "");
        }
        if (!set_value(o, val, args)) return 1;
        base->given |= (uint64_t)1 << k;
    }
    for (size_t k = 0; k < n; k++) {
        const cli_opt *o = &cmd->opts[k];
        if ((o->flags & CLI_REQUIRED) && !(base->given >> k & 1)) {
            if (o->flags & CLI_POSITIONAL) return cli_usage_error(cmd->name, "the argument %s is required", o->metavar);
            return cli_usage_error(cmd->name, "--%s is required", o->name);
        }
    }
    for (size_t k = 0; k < n; k++) {
        const cli_opt *o = &cmd->opts[k];
        if ((o->flags & CLI_OUTPUT) && (base->given >> k & 1)) {
            char opt[80];
            snprintf(opt, sizeof opt, "--%s", o->name);
            if (!cli_check_writable(opt, *(const char *const *)cfield(args, o))) return 1;
        }
    }
    return -1;
}

void cli_args_free(const cli_cmd *cmd, void *args)
{
    for (const cli_opt *o = cmd->opts; o->name; o++)
        if (o->type == CLI_REALS || o->type == CLI_INTS) {
            cli_reals *r = field(args, o);
            free(r->v);
            r->v = NULL;
            r->n = 0;
        }
}

bool cli_given(const cli_cmd *cmd, const void *args, const char *name)
{
    const cli_args *base = args;
    for (size_t k = 0; cmd->opts[k].name; k++)
        if (!strcmp(cmd->opts[k].name, name)) return base->given >> k & 1;
    return false;
}

/* One entry of the help: "  --name META" (or "  META") then the help, continuation lines aligned. */
static void help_entry(const cli_opt *o, FILE *f)
{
    char left[64];
    if (o->flags & CLI_POSITIONAL)
        snprintf(left, sizeof left, "  %s", o->metavar);
    else
        snprintf(left, sizeof left, "  --%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    fprintf(f, "%-22s", left);
    if (strlen(left) >= 22) fprintf(f, "\n%22s", "");
    size_t last = 0; /* the length of the last line of the help */
    for (const char *p = o->help; *p;) {
        size_t k = strcspn(p, "\n");
        fprintf(f, "%.*s", (int)k, p);
        last = k;
        p += k;
        if (*p == '\n' && *++p) fprintf(f, "\n%22s", "");
    }
    if (o->def && o->type != CLI_FLAG) { /* on a line of its own where it would run past 110 columns */
        if (22 + last + 11 + strlen(o->def) > 110) fprintf(f, "\n%22s", "");
        fprintf(f, "%s(default %s)", last && 22 + last + 11 + strlen(o->def) <= 110 ? " " : "", o->def);
    }
    fputc('\n', f);
}

void cli_help(const cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: deepwick %s %s\n\n%s", cmd->name, cmd->usage, cmd->summary);
    /* pass 0: positional arguments, 1: required options, 2: the other options */
    static const char *const header[3] = {"arguments:\n", "required:\n", "options:\n"};
    bool any = false;
    for (int pass = 0; pass < 3; pass++) {
        bool started = false;
        for (const cli_opt *o = cmd->opts; o->name; o++) {
            const int which = (o->flags & CLI_POSITIONAL) ? 0 : (o->flags & CLI_REQUIRED) ? 1 : 2;
            if (which != pass) continue;
            if (!started) fprintf(f, "%s%s", any ? "" : "\n", header[pass]);
            started = any = true;
            help_entry(o, f);
        }
        if (pass == 2 && !started) fprintf(f, "%s%s", any ? "" : "\n", header[pass]);
    }
    fprintf(f, "  -h, --help          this help\n");
    if (cmd->epilog) fprintf(f, "\n%s", cmd->epilog);
}

void cli_json_options(FILE *f, const cli_cmd *cmd, const void *args)
{
    const cli_args *base = args;
    bool first = true;
    for (size_t k = 0; cmd->opts[k].name; k++) {
        const cli_opt *o = &cmd->opts[k];
        if (o->flags & CLI_HIDDEN_JSON) continue;
        fprintf(f, "%s\"", first ? "" : ", ");
        first = false;
        for (const char *p = o->name; *p; p++) fputc(*p == '-' ? '_' : *p, f);
        fputs("\": ", f);
        const bool have = o->def || (base->given >> k & 1);
        const void *v = cfield(args, o);
        switch (o->type) {
        case CLI_FLAG: fputs(*(const bool *)v ? "true" : "false", f); break;
        case CLI_INT: have ? fprintf(f, "%ld", *(const long *)v) : fputs("null", f); break;
        case CLI_REAL: have ? fprintf(f, "%.17g", *(const double *)v) : fputs("null", f); break;
        case CLI_REALS:
        case CLI_INTS: {
            const cli_reals *r = v;
            if (!have || !r->v) {
                fputs("null", f);
                break;
            }
            fputc('[', f);
            for (size_t i = 0; i < r->n; i++) fprintf(f, "%s%.17g", i ? ", " : "", r->v[i]);
            fputc(']', f);
            break;
        }
        case CLI_GRID: {
            const cli_grid *g = v;
            have ? fprintf(f, "[%.17g, %.17g, %ld]", g->a, g->b, g->n) : fputs("null", f);
            break;
        }
        case CLI_TEXT:
        case CLI_CHOICE: {
            const char *s = *(const char *const *)v;
            if (have && s)
                cli_json_string(f, s);
            else
                fputs("null", f);
            break;
        }
        }
    }
}
