/*
 * The reference side of benchmarks/compare.py: libbpf's BTF jobs as one small C process,
 * so whole-process times and peak memory compare like for like with the btfdedup CLI.
 *
 *   libbpf_driver dedup IN OUT            parse IN, append it into an empty BTF, dedup, write OUT
 *   libbpf_driver split BASE OUTDIR MOD..  base parsed once; per module: parse as split BTF, dedup, write
 *   libbpf_driver parse IN                parse IN (btf__new), print the seconds it took
 *
 * It is linked against the system libbpf.so.1 (libbpf 1.1.2 on Debian 12).  The prototypes are
 * declared here, so the libbpf headers need not be installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct btf;
struct btf_dedup_opts;
extern struct btf *btf__new(const void *data, unsigned int size);
extern struct btf *btf__new_empty(void);
extern struct btf *btf__parse_raw_split(const char *path, struct btf *base);
extern struct btf *btf__parse_raw(const char *path);
extern int btf__add_btf(struct btf *btf, const struct btf *src);
extern int btf__dedup(struct btf *btf, const struct btf_dedup_opts *opts);
extern const void *btf__raw_data(const struct btf *btf, unsigned int *size);
extern unsigned int btf__type_cnt(const struct btf *btf);
extern void btf__free(struct btf *btf);
extern long libbpf_get_error(const void *ptr);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != (size_t)n) {
		fprintf(stderr, "%s: short read\n", path);
		exit(1);
	}
	fclose(f);
	*len = n;
	return buf;
}

static void spill(const char *path, const struct btf *btf)
{
	unsigned int size;
	const void *data = btf__raw_data(btf, &size);
	FILE *f = fopen(path, "wb");
	if (!data || !f || fwrite(data, 1, size, f) != size || fclose(f)) {
		fprintf(stderr, "%s: cannot write\n", path);
		exit(1);
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "dedup")) {
		size_t len;
		void *data = slurp(argv[2], &len);
		struct btf *in = btf__new(data, len), *out = btf__new_empty();
		if (libbpf_get_error(in) || libbpf_get_error(out) || btf__add_btf(out, in) < 0) {
			fprintf(stderr, "%s: libbpf cannot load it\n", argv[2]);
			return 1;
		}
		btf__free(in);
		free(data);
		if (btf__dedup(out, NULL)) {
			fprintf(stderr, "%s: dedup failed\n", argv[2]);
			return 1;
		}
		spill(argv[3], out);
		btf__free(out);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "split")) {
		struct btf *base = btf__parse_raw(argv[2]);
		char path[4096];
		if (libbpf_get_error(base)) {
			fprintf(stderr, "%s: libbpf cannot load it\n", argv[2]);
			return 1;
		}
		for (int i = 4; i < argc; i++) {
			struct btf *mod = btf__parse_raw_split(argv[i], base);
			if (libbpf_get_error(mod) || btf__dedup(mod, NULL)) {
				fprintf(stderr, "%s: cannot dedup on the base\n", argv[i]);
				return 1;
			}
			snprintf(path, sizeof(path), "%s/%s", argv[3], base_name(argv[i]));
			spill(path, mod);
			btf__free(mod);
		}
		btf__free(base);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "parse")) {
		size_t len;
		void *data = slurp(argv[2], &len);
		double t0 = now();
		struct btf *btf = btf__new(data, len);
		double secs = now() - t0;
		if (libbpf_get_error(btf)) {
			fprintf(stderr, "%s: libbpf cannot load it\n", argv[2]);
			return 1;
		}
		printf("{\"secs\": %.6f, \"types\": %u}\n", secs, btf__type_cnt(btf) - 1);
		btf__free(btf);
		return 0;
	}
	fprintf(stderr, "usage: libbpf_driver dedup IN OUT | split BASE OUTDIR MOD... | parse IN\n");
	return 2;
}
