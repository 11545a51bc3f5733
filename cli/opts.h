/* Declarative command-line options: one table per command gives the parsing, the --help text and the JSON echo of
 * the options, so a command is parse -> library calls -> serialise and the three never disagree.
 *
 * A table is an array of cli_opt, one entry per option, terminated by {NULL, CLI_FLAG, .offset = 0}. Entries give
 * the first five fields by position and the rest by name:
 *     {"depth", CLI_INT, F(depth), "L", "number of hidden layers", .flags = CLI_REQUIRED, .lo = 1, .hi = 10000},
 * where F(field) is offsetof(the command's argument struct, field). The struct starts with a cli_args.
 *
 * Positional arguments: an entry with CLI_POSITIONAL (CLI_TEXT only) takes the next argument that is not an option,
 * in table order ("--" ends the options: everything after it is positional); its metavar names it in the usage
 * errors and the help, its name is its JSON key. A command without positional entries refuses any positional
 * argument ("unexpected argument"). */
#ifndef DW_CLI_OPTS_H
#define DW_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_type {
    CLI_FLAG,   /* bool, no argument */
    CLI_INT,    /* long in [lo, hi] */
    CLI_REAL,   /* one finite double (CLI_NONNEG: >= 0, CLI_POSITIVE: > 0) */
    CLI_REALS,  /* "v" or "v1,v2,...": finite doubles, a cli_reals (CLI_NONNEG: each >= 0) */
    CLI_INTS,   /* "v" or "v1,v2,...": integers in [lo, hi], a cli_reals of integral doubles */
    CLI_GRID,   /* "A:B:N": two finite numbers and an integer N in [lo, hi], a cli_grid (its meaning: the command's) */
    CLI_TEXT,   /* a string: a path, an activation, a law (const char *) */
    CLI_CHOICE  /* one of `choices` ("nngp|ntk|both"), stored as the const char * */
} cli_type;

enum {
    CLI_REQUIRED = 1u << 0,    /* a usage error when missing */
    CLI_NONNEG = 1u << 1,      /* CLI_REAL(S): every value >= 0 */
    CLI_POSITIVE = 1u << 2,    /* CLI_REAL: the value > 0 */
    CLI_OUTPUT = 1u << 3,      /* CLI_TEXT: an output path, checked writable before any work */
    CLI_HIDDEN_JSON = 1u << 4, /* not echoed in the JSON summary (the command prints its own form, or none) */
    CLI_POSITIONAL = 1u << 5   /* CLI_TEXT: a positional argument (see above) */
};

typedef struct cli_reals {
    double *v;
    size_t n;
} cli_reals;

typedef struct cli_grid {
    double a, b;
    long n;
} cli_grid;

typedef struct cli_opt {
    const char *name;    /* the long option without "--" ("weight-var"); its JSON key has '_' for '-' */
    cli_type type;
    size_t offset;       /* offsetof(the command's argument struct, field) */
    const char *metavar; /* "FILE", "L" (NULL for flags) */
    const char *help;    /* one or more lines */
    const char *def;     /* default as text, parsed like a given value (NULL: none) */
    unsigned flags;
    long lo, hi;         /* CLI_INT, CLI_INTS range; CLI_GRID: of N */
    const char *choices; /* CLI_CHOICE */
    const char *ext;     /* CLI_TEXT: the path must end in this (".npy", ".svg", ".csv"); NULL: any */
} cli_opt;

/* The out-of-core outputs' two options (cli/outfile.c), in the table of a command whose argument struct TYPE has the
 * fields `const char *memory` and `bool resume`. */
#define CLI_OUTFILE_OPTS(TYPE)                                                                                     \
    {"memory", CLI_TEXT, offsetof(TYPE, memory), "SIZE",                                                           \
     "working memory, e.g. 2G, 512M (K, M, G, T: powers of 1024; default: half the\n"                              \
     "available memory); the result may be larger: it goes to disk by row blocks", .flags = 0},                    \
    {"resume", CLI_FLAG, offsetof(TYPE, resume), NULL,                                                             \
     "continue an interrupted run (Ctrl-C, kill) of the same command from its completed\n"                         \
     "rows (recorded in .FILE.deepwick-resume); other options or inputs are refused", .flags = 0}

typedef struct cli_cmd {
    const char *name;    /* "kernel" */
    const char *usage;   /* after "usage: deepwick NAME " (may span lines) */
    const char *summary; /* paragraphs between the usage line and the options */
    const cli_opt *opts; /* terminated by an entry with name NULL; at most 64 */
    const char *epilog;  /* after the options (may be NULL) */
} cli_cmd;

/* Every command's argument struct starts with this. */
typedef struct cli_args {
    uint64_t given; /* bit k: option k of the table was on the command line */
} cli_args;

/* Fill args (defaults, then argv[1..]); -1 when the command should go on, else the exit code to return: 0 after
 * --help (printed on stdout), 1 after a value error, 2 after a usage error (one line on stderr each). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, void *args);
/* Free what cli_parse allocated (CLI_REALS / CLI_INTS arrays). */
void cli_args_free(const cli_cmd *cmd, void *args);
/* true if the option named `name` was given on the command line. */
bool cli_given(const cli_cmd *cmd, const void *args, const char *name);
/* The --help text. */
void cli_help(const cli_cmd *cmd, FILE *f);
/* The options as JSON members ("depth": 3, "act": "relu", "weight_var": [2, 1], ...), without braces, for a
 * command's summary object; options not given and without default are null. */
void cli_json_options(FILE *f, const cli_cmd *cmd, const void *args);

#endif
