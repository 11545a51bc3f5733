/* The out-of-core outputs' common CLI part (kernel, sigkernel, nsk, network --gram): --memory parsed, the progress
 * bar, SIGINT / SIGTERM turned into a resumable stop (the next progress call stops the run, which keeps its rows
 * for --resume; a second signal kills at once: SA_RESETHAND), and the one error line of an interruption. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

double cli_parse_size(const char *text)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v) || !(v > 0)) return 0;
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, *end == 'k' ? 'K' : *end) : NULL;
    if (u && *u) {
        v *= pow(1024.0, (double)(u - units + 1));
        end++;
        if (*end == 'i' && end[1] == 'B') end += 2;
        else if (*end == 'B') end++;
    } else if (*end == 'B') {
        end++;
    }
    return *end ? 0 : v;
}

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

int cli_outfile_progress(void *ctx, double done, double total)
{
    if (stop_signal) return 1;
    return cli_progress_cb(ctx, done, total);
}

int cli_outfile_begin(cli_outfile *f, const char *label, const char *unit, const char *memory_text, bool resume,
                      size_t max_rows)
{
    f->active = false;
    f->opts = NULL;
    f->memory = memory_text ? cli_parse_size(memory_text) : 0.0;
    if (memory_text && !(f->memory > 0))
        return cli_error("--memory: expected a size such as 2G, 512M or a number of bytes, got '%s'", memory_text);
    cli_progress_init(&f->prog, label);
    f->prog.unit = unit;
    dw_status s;
    if ((s = dw_file_opts_init(&f->opts)) || (s = dw_file_opts_set_memory(f->opts, f->memory)) ||
        (s = dw_file_opts_set_resume(f->opts, resume)) || (s = dw_file_opts_set_max_rows(f->opts, max_rows)) ||
        (s = dw_file_opts_set_progress(f->opts, cli_outfile_progress, &f->prog))) {
        dw_file_opts_clear(f->opts);
        f->opts = NULL;
        return cli_status(s);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &f->old_int);
    sigaction(SIGTERM, &sa, &f->old_term);
    f->active = true;
    return -1;
}

int cli_outfile_end(cli_outfile *f, dw_status s, const char *out, bool resumable)
{
    if (!f->active) return s ? cli_status(s) : -1;
    f->active = false;
    dw_file_opts_clear(f->opts);
    f->opts = NULL;
    cli_progress_done(&f->prog);
    sigaction(SIGINT, &f->old_int, NULL);
    sigaction(SIGTERM, &f->old_term, NULL);
    if (s && stop_signal) {
        const char *sig = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
        if (!resumable) /* distributed: nothing to resume from */
            cli_error("interrupted (%s): %s is untouched", sig, out);
        else
            cli_error("interrupted (%s): %s is untouched; the same command with --resume continues from the "
                      "completed rows", sig, out);
        return 128 + stop_signal;
    }
    return s ? cli_status(s) : -1;
}
