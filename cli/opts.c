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
    case CLI_REALS: {
        double *v;
        size_t n;
        if (!cli_parse_list(opt, text, &v, &n)) return 0;
        if (o->type == CLI_REAL && n != 1) {
            free(v);
            return cli_error("%s: expected one number (got %zu)", opt, n), 0;
        }
        if (o->flags & CLI_NONNEG)
            for (size_t k = 0; k < n; k++)
                if (v[k] < 0) {
                    cli_error("%s: value %zu (%g) must be non-negative", opt, k + 1, v[k]);
                    free(v);
                    return 0;
                }
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
    case CLI_CHOICE:
        if (!choice_ok(o->choices, text)) {
            /* "a, b or c" from "a|b|c" */
            char list[256] = "";
            size_t len = 0, nalt = 1;
            for (const char *p = o->choices; *p; p++) nalt += *p == '|';
            size_t k = 0;
            for (const char *p = o->choices; *p && len < sizeof list - 8; k++) {
                size_t w = strcspn(p, "|");
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%.*s", k == 0 ? "" : k + 1 == nalt ? " or " : ", ",
                                        (int)w, p);
                p += w + (p[w] == '|');
            }
            return cli_error("%s: expected %s (got '%s')", opt, list, text), 0;
        }
        *(const char **)f = text;
        return 1;
    case CLI_TEXT:
        if ((o->flags & CLI_NPY) && !cli_npy_path(opt, text)) return 0;
        *(const char **)f = text;
        return 1;
    }
    return 0;
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_help(cmd, stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) || !a[2]) return cli_usage_error(cmd->name, "unexpected argument '%s'", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        size_t k;
        for (k = 0; k < n; k++)
            if (strlen(cmd->opts[k].name) == len && !strncmp(cmd->opts[k].name, name, len)) break;
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
        if ((o->flags & CLI_REQUIRED) && !(base->given >> k & 1))
            return cli_usage_error(cmd->name, "--%s is required", o->name);
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
        if (o->type == CLI_REALS) {
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

void cli_help(const cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: deepwick %s %s\n\n%s", cmd->name, cmd->usage, cmd->summary);
    for (int pass = 0; pass < 2; pass++) {
        bool header = false;
        for (const cli_opt *o = cmd->opts; o->name; o++) {
            if ((o->flags & CLI_REQUIRED) ? pass : !pass) continue;
            if (!header) fputs(pass ? "options:\n" : "\nrequired:\n", f);
            header = true;
            char left[64];
            snprintf(left, sizeof left, "  --%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
            fprintf(f, "%-22s", left);
            if (strlen(left) >= 22) fprintf(f, "\n%22s", "");
            for (const char *p = o->help; *p;) { /* continuation lines aligned under the first */
                size_t k = strcspn(p, "\n");
                fprintf(f, "%.*s", (int)k, p);
                p += k;
                if (*p == '\n' && *++p) fprintf(f, "\n%22s", "");
            }
            if (o->def && o->type != CLI_FLAG) fprintf(f, " (default %s)", o->def);
            fputc('\n', f);
        }
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
        case CLI_REALS: {
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
