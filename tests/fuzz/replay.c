/* Replays a fuzz corpus without libFuzzer: every regular file in the directories (or the files) given on the
 * command line is fed to LLVMFuzzerTestOneInput. A crash or sanitizer report is the failure; otherwise it prints
 * "replay: N files" and exits 0. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds one file; returns 1 if it was fed, 0 if skipped, -1 on an error. */
static int replay_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    /* an exact-size heap copy, so that ASan sees any read past the end */
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    n = fread(buf, 1, cap, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        perror(path);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    long files = 0;
    int status = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            perror(argv[a]);
            status = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            int r = replay_file(argv[a]);
            if (r < 0) status = 1;
            files += r > 0;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) {
            perror(argv[a]);
            status = 1;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            size_t len = strlen(argv[a]) + 1 + strlen(e->d_name) + 1;
            char *path = malloc(len);
            if (!path) {
                status = 1;
                break;
            }
            snprintf(path, len, "%s/%s", argv[a], e->d_name);
            int r = replay_file(path);
            if (r < 0) status = 1;
            files += r > 0;
            free(path);
        }
        closedir(d);
    }
    printf("replay: %ld files\n", files);
    return status;
}
