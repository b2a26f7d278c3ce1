#include "prom.h"

#include <time.h>

/* Seconds, as printed in le="..." and as nanoseconds for comparison. */
static const char *const bound_text[DDNS_PROM_BUCKETS] = {
    "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001",
    "0.0025",  "0.005", "0.01",	  "0.025",   "0.05",   "0.1",
    "0.25",    "0.5",	"1",	  "2.5",     "10",
};
static const uint64_t bound_ns[DDNS_PROM_BUCKETS] = {
    25000,     50000,	  100000,     250000,	  500000,      1000000,
    2500000,   5000000,	  10000000,   25000000,	  50000000,    100000000,
    250000000, 500000000, 1000000000, 2500000000, 10000000000,
};

uint64_t ddns_prom_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ddns_prom_observe(struct ddns_prom_hist *h, uint64_t ns)
{
	unsigned i = 0;

	while (i < DDNS_PROM_BUCKETS && ns > bound_ns[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_ns += ns;
}

void ddns_prom_header(struct ddns_buf *b, const char *name, const char *type,
		      const char *help)
{
	ddns_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			type);
}

void ddns_prom_hist(struct ddns_buf *b, const char *name, const char *labels,
		    const struct ddns_prom_hist *h)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cum = 0;

	for (unsigned i = 0; i < DDNS_PROM_BUCKETS; i++) {
		cum += h->bucket[i];
		ddns_buf_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name,
				labels, sep, bound_text[i],
				(unsigned long long)cum);
	}
	ddns_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
			sep, (unsigned long long)h->count);
	ddns_buf_printf(b, "%s_sum%s%s%s %llu.%09llu\n", name,
			labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
			(unsigned long long)(h->sum_ns / 1000000000u),
			(unsigned long long)(h->sum_ns % 1000000000u));
	ddns_buf_printf(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "",
			labels, labels[0] ? "}" : "",
			(unsigned long long)h->count);
}
