/* A progress bar with an ETA on stderr, shown only when stderr is a terminal (dw_sample_progress_fn). */
#include "cli.h"

#include <stdio.h>
#include <unistd.h>

void cli_progress_init(cli_progress *p, const char *label)
{
    p->label = label;
    p->start = cli_now();
    p->last = 0;
    p->shown = 0;
    p->enabled = isatty(2);
    p->unit = NULL;
    p->base = -1;
}

int cli_progress_cb(void *ctx, double done, double total)
{
    cli_progress *p = ctx;
    if (!p->enabled || !(total > 0)) return 0;
    double now = cli_now(), el = now - p->start;
    if (now - p->last < 0.2 && done < total) return 0;
    p->last = now;
    double f = done / total;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    char bar[31];
    int k = (int)(f * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < k ? '#' : '.';
    bar[30] = '\0';
    if (p->unit) {
        if (p->base < 0) p->base = done;
        const double rate = el > 0 ? (done - p->base) / el : 0;
        fprintf(stderr, "\r%s [%s] %.0f/%.0f %s  %.1f %s/s  ETA %.0fs   ", p->label, bar, done, total, p->unit, rate,
                p->unit, rate > 0 ? (total - done) / rate : 0.0);
        fflush(stderr);
        p->shown = 1;
        return 0;
    }
    double eta = f > 0 ? el * (1 - f) / f : 0;
    fprintf(stderr, "\r%s [%s] %5.1f%%  elapsed %.0fs  ETA %.0fs   ", p->label, bar, 100 * f, el, eta);
    fflush(stderr);
    p->shown = 1;
    return 0;
}

void cli_progress_done(cli_progress *p)
{
    if (p->shown) fputs("\r\033[K", stderr); /* clear the line: nothing stays behind on success or error */
    p->shown = 0;
}
