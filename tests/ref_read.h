/* ref_read.h - loader for kdts reference-vector files such as
   tests/ref/lstm_ref.bin (written by tools/gen_torch_ref.py).
   Plain C99, also valid C++.

   File format (little-endian):
     8 bytes "KDTSREF1", uint32 count, then per tensor:
     uint32 name length, name bytes (no NUL), uint32 ndim, uint32 dims[ndim],
     float64 data[prod(dims)] row-major.

   Usage:
     ref_file r = ref_load("tests/ref/lstm_ref.bin");
     if (!r.ok) { fprintf(stderr, "%s\n", r.err); ... }
     const ref_tensor *x = ref_get(&r, "x");   (NULL when absent)
     ... x->data[i], i < x->n ...
     ref_free(&r);

   The loader assumes the host's double is IEEE 754 binary64 (true on every
   platform kdts targets); byte order is handled explicitly. */
#ifndef KDTS_REF_READ_H
#define KDTS_REF_READ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_MAX_NAME 64
#define REF_MAX_DIMS 8

typedef struct {
    char name[REF_MAX_NAME];     /* NUL-terminated */
    unsigned ndim;
    unsigned dims[REF_MAX_DIMS];
    double *data;                /* n values, row-major */
    size_t n;                    /* product of dims (1 when ndim == 0) */
} ref_tensor;

typedef struct {
    ref_tensor *t;
    size_t count;
    int ok;                      /* 1 on success, 0 on any error */
    char err[160];               /* reason when ok == 0 */
} ref_file;

/* ---- internals ---------------------------------------------------------- */

static inline int ref__u32(FILE *f, unsigned long *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return 0;
    *v = (unsigned long)b[0] | ((unsigned long)b[1] << 8) |
         ((unsigned long)b[2] << 16) | ((unsigned long)b[3] << 24);
    return 1;
}

static inline int ref__f64(FILE *f, double *v)
{
    unsigned char b[8];
    unsigned long long u = 0;
    int i;
    if (fread(b, 1, 8, f) != 8) return 0;
    for (i = 7; i >= 0; i--) u = (u << 8) | b[i];
    memcpy(v, &u, sizeof *v);
    return 1;
}

static inline void ref_free(ref_file *r)
{
    size_t i;
    if (!r) return;
    if (r->t) {
        for (i = 0; i < r->count; i++) free(r->t[i].data);
        free(r->t);
    }
    r->t = NULL;
    r->count = 0;
    r->ok = 0;
}

static inline ref_file ref__fail(ref_file *r, FILE *f, const char *path, const char *why)
{
    ref_file out;
    if (f) fclose(f);
    ref_free(r);
    out = *r;
    out.ok = 0;
    snprintf(out.err, sizeof out.err, "%s: %s", path, why);
    return out;
}

/* ---- API ---------------------------------------------------------------- */

/* Load the whole file. On failure ok == 0, err says why and nothing needs
   freeing (ref_free is still safe to call). */
static inline ref_file ref_load(const char *path)
{
    ref_file r;
    FILE *f;
    char magic[8];
    unsigned long count, len, nd, d;
    size_t i, j, k;

    memset(&r, 0, sizeof r);
    f = fopen(path, "rb");
    if (!f) return ref__fail(&r, NULL, path, "cannot open");
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "KDTSREF1", 8) != 0)
        return ref__fail(&r, f, path, "bad magic");
    if (!ref__u32(f, &count)) return ref__fail(&r, f, path, "truncated header");
    if (count == 0 || count > 100000UL) return ref__fail(&r, f, path, "bad tensor count");
    r.t = (ref_tensor *)calloc((size_t)count, sizeof *r.t);
    if (!r.t) return ref__fail(&r, f, path, "out of memory");

    for (i = 0; i < (size_t)count; i++) {
        ref_tensor *t = &r.t[i];
        r.count = i + 1; /* so ref_free releases what was allocated */
        if (!ref__u32(f, &len) || len == 0 || len >= REF_MAX_NAME)
            return ref__fail(&r, f, path, "bad tensor name length");
        if (fread(t->name, 1, (size_t)len, f) != (size_t)len)
            return ref__fail(&r, f, path, "truncated name");
        t->name[len] = '\0';
        if (!ref__u32(f, &nd) || nd > REF_MAX_DIMS)
            return ref__fail(&r, f, path, "bad ndim");
        t->ndim = (unsigned)nd;
        t->n = 1;
        for (j = 0; j < (size_t)nd; j++) {
            if (!ref__u32(f, &d)) return ref__fail(&r, f, path, "truncated dims");
            if (d > 0 && t->n > (size_t)0x10000000 / d)
                return ref__fail(&r, f, path, "tensor too large");
            t->dims[j] = (unsigned)d;
            t->n *= (size_t)d;
        }
        t->data = (double *)malloc((t->n ? t->n : 1) * sizeof *t->data);
        if (!t->data) return ref__fail(&r, f, path, "out of memory");
        for (k = 0; k < t->n; k++)
            if (!ref__f64(f, &t->data[k])) return ref__fail(&r, f, path, "truncated data");
        for (k = 0; k < i; k++)
            if (strcmp(r.t[k].name, t->name) == 0)
                return ref__fail(&r, f, path, "duplicate tensor name");
    }
    if (fgetc(f) != EOF) return ref__fail(&r, f, path, "trailing bytes");
    fclose(f);
    r.ok = 1;
    return r;
}

/* The tensor called name, or NULL. */
static inline const ref_tensor *ref_get(const ref_file *r, const char *name)
{
    size_t i;
    if (!r || !r->t || !name) return NULL;
    for (i = 0; i < r->count; i++)
        if (strcmp(r->t[i].name, name) == 0) return &r->t[i];
    return NULL;
}

#endif /* KDTS_REF_READ_H */
