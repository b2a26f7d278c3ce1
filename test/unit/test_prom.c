/* prom.c: histogram buckets and the exposition lines. */
#include <string.h>

#include "check.h"
#include "prom.h"

static void test_histogram(void)
{
	struct ddns_prom_hist h;
	struct ddns_buf b = {0};

	memset(&h, 0, sizeof h);
	ddns_prom_observe(&h, 25000);	    /* on a bound: that bucket */
	ddns_prom_observe(&h, 25001);	    /* just above: the next */
	ddns_prom_observe(&h, 2000000);	    /* 2 ms */
	ddns_prom_observe(&h, 20000000000); /* 20 s: only +Inf */
	CHECK_INT((long long)h.count, 4);
	CHECK_INT((long long)h.bucket[0], 1);
	CHECK_INT((long long)h.bucket[1], 1);
	CHECK_INT((long long)h.bucket[DDNS_PROM_BUCKETS], 1);
	ddns_prom_hist(&b, "x_seconds", "", &h);
	CHECK(strstr(b.data, "x_seconds_bucket{le=\"2.5e-05\"} 1\n") != NULL);
	CHECK(strstr(b.data, "x_seconds_bucket{le=\"5e-05\"} 2\n") != NULL);
	CHECK(strstr(b.data, "x_seconds_bucket{le=\"0.0025\"} 3\n") != NULL);
	CHECK(strstr(b.data, "x_seconds_bucket{le=\"10\"} 3\n") != NULL);
	CHECK(strstr(b.data, "x_seconds_bucket{le=\"+Inf\"} 4\n") != NULL);
	CHECK(strstr(b.data, "x_seconds_sum 20.002050001\n") != NULL);
	CHECK(strstr(b.data, "x_seconds_count 4\n") != NULL);

	ddns_buf_reset(&b);
	ddns_prom_hist(&b, "y", "m=\"a\"", &h);
	CHECK(strstr(b.data, "y_bucket{m=\"a\",le=\"+Inf\"} 4\n") != NULL);
	CHECK(strstr(b.data, "y_sum{m=\"a\"} 20.002050001\n") != NULL);
	CHECK(strstr(b.data, "y_count{m=\"a\"} 4\n") != NULL);
	ddns_buf_free(&b);
}

static void test_header(void)
{
	struct ddns_buf b = {0};

	ddns_prom_header(&b, "n_total", "counter", "what it counts");
	CHECK_STR(b.data, "# HELP n_total what it counts\n"
			  "# TYPE n_total counter\n");
	ddns_buf_free(&b);
	CHECK(ddns_prom_now_ns() > 0);
}

int main(void)
{
	test_histogram();
	test_header();
	return check_done();
}
