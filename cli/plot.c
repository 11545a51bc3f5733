/* An SVG plot of a density curve with an optional histogram behind it (deepwick jacobian --plot): the limiting
 * density of the squared singular values and the pooled spectra of sampled networks. Written into a memory
 * buffer, then atomically to the path. Drawing only: the caller supplies every number. */
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cli_svg_escape(FILE *f, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '<') fputs("&lt;", f);
        else if (*p == '>') fputs("&gt;", f);
        else if (*p == '&') fputs("&amp;", f);
        else fputc(*p, f);
    }
}

void cli_svg_text(FILE *f, double x, double y, const char *anchor, const char *fmt, ...)
{
    char s[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"12\">", x, y, anchor);
    cli_svg_escape(f, s);
    fputs("</text>\n", f);
}

/* A "nice" tick step for a range of width w with about 5 ticks. */
static double tick_step(double w)
{
    double e = pow(10, floor(log10(w / 5))), r = w / 5 / e;
    return e * (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10);
}

dw_status cli_plot_density(const char *path, const char *title, int logx, const char *ylabel, size_t n,
                           const double *t, const double *rho, size_t nbins, const double *edges,
                           const double *height, const char *curve_label, const char *hist_label)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return DW_ERR_NOMEM;
    const double W = 640, H = 440, x0 = 70, x1 = 610, y0 = 380, y1 = 50;
    /* x: t on [0, max], or log10 t on [log10 min, log10 max] */
    double xa = logx ? INFINITY : 0, xb = -INFINITY, yb = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] > 0) {
            xb = fmax(xb, logx ? log10(t[i]) : t[i]);
            if (logx) xa = fmin(xa, log10(t[i]));
        }
    if (nbins) {
        xb = fmax(xb, logx ? log10(edges[nbins]) : edges[nbins]);
        if (logx) xa = fmin(xa, log10(edges[0]));
    }
    if (!isfinite(xa) || !isfinite(xb) || !(xb > xa)) {
        xa = logx ? -1 : 0;
        xb = xa + 1;
    }
    /* y range: the histogram and the curve away from 0 (erf-like densities have a near 1/t spike there) */
    for (size_t i = 0; i < nbins; i++) yb = fmax(yb, height[i]);
    for (size_t i = 0; i < n; i++)
        if ((logx || t[i] >= 0.05 * xb) && isfinite(rho[i])) yb = fmax(yb, rho[i]);
    if (!(yb > 0)) yb = 1;
    yb *= 1.1;
#define XV(v) (logx ? log10(v) : (v))
#define PX(v) (x0 + (XV(v) - xa) / (xb - xa) * (x1 - x0))
#define PY(v) (y0 - fmin((v), yb) / yb * (y0 - y1))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H, W, H);
    cli_svg_text(f, W / 2, 25, "middle", "%s", title);
    double sx = logx ? fmax(1, ceil((xb - xa) / 8)) : tick_step(xb - xa), sy = tick_step(yb);
    for (double v = 0; v <= yb * (1 + 1e-9); v += sy) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, PY(v), x1, PY(v));
        cli_svg_text(f, x0 - 6, PY(v) + 4, "end", "%g", v);
    }
    for (double v = logx ? ceil(xa) : 0; v <= xb + 1e-9 * fabs(xb); v += sx) {
        const double px = x0 + (v - xa) / (xb - xa) * (x1 - x0);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", px, y0, px, y1);
        if (logx) cli_svg_text(f, px, y0 + 16, "middle", "1e%.0f", v);
        else cli_svg_text(f, px, y0 + 16, "middle", "%g", v);
    }
    cli_svg_text(f, (x0 + x1) / 2, H - 12, "middle", "squared singular value t%s", logx ? " (log scale)" : "");
    fprintf(f, "<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 16 %.1f)\">",
            (y0 + y1) / 2, (y0 + y1) / 2);
    fputs(ylabel, f);
    fputs("</text>\n", f);
    for (size_t i = 0; i < nbins; i++)
        if (height[i] > 0)
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#aec7e8\" stroke=\"#6b9bc8\" "
                       "stroke-width=\"0.5\"/>\n", PX(edges[i]), PY(height[i]), PX(edges[i + 1]) - PX(edges[i]),
                    y0 - PY(height[i]));
    if (n) {
        fputs("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"", f);
        for (size_t i = 0; i < n; i++)
            if (isfinite(rho[i]) && (!logx || t[i] > 0)) fprintf(f, "%.2f,%.2f ", PX(t[i]), PY(rho[i]));
        fputs("\"/>\n", f);
    }
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n", x0, y1,
            x1 - x0, y0 - y1);
    double ly = y1 + 18;
    if (n && curve_label) {
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#d62728\" stroke-width=\"1.5\"/>",
                x1 - 330, ly - 4, x1 - 310, ly - 4);
        cli_svg_text(f, x1 - 305, ly, "start", "%s", curve_label);
        ly += 18;
    }
    if (nbins && hist_label) {
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"20\" height=\"10\" fill=\"#aec7e8\" stroke=\"#6b9bc8\"/>",
                x1 - 330, ly - 10);
        cli_svg_text(f, x1 - 305, ly, "start", "%s", hist_label);
    }
    fputs("</svg>\n", f);
#undef XV
#undef PX
#undef PY
    fclose(f);
    dw_status s = dw_io_write_text(path, buf, len);
    free(buf);
    return s;
}
