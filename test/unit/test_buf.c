#include "buf.h"
#include "check.h"

int main(void)
{
	struct ddns_buf b = {0};

	ddns_buf_adds(&b, "ab");
	ddns_buf_addc(&b, 'c');
	ddns_buf_printf(&b, "%d-%s", 42, "x");
	CHECK_STR(b.data, "abc42-x");
	CHECK_INT((int)b.len, 7);

	ddns_buf_reset(&b);
	CHECK_INT((int)b.len, 0);
	CHECK_STR(b.data, "");
	ddns_buf_json_str(&b, "a\"b\\c\n\x01");
	CHECK_STR(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");

	/* Growth past the first allocation, printf included. */
	ddns_buf_reset(&b);
	for (int i = 0; i < 1000; i++)
		ddns_buf_printf(&b, "%04d", i);
	CHECK_INT((int)b.len, 4000);
	CHECK(b.cap > 4000);
	CHECK(memcmp(b.data + 3996, "0999", 4) == 0);
	CHECK_INT(b.failed, 0);
	ddns_buf_free(&b);
	CHECK(b.data == NULL);
	return check_done();
}
