/* SPDX-License-Identifier: BSD-3-Clause */
/* Strict IPv4 / CIDR parsing, shaped after Go's net.ParseIP/ParseCIDR. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "k8s/decode.h"

/* Parse 1–3 decimal digits without a leading zero; advance *s. */
static int parse_dec(const char **s, unsigned max, unsigned *out)
{
	const char *p = *s;
	unsigned v = 0;
	int n = 0;

	while (*p >= '0' && *p <= '9') {
		if (++n > 3)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
		p++;
	}
	if (n == 0 || (n > 1 && **s == '0') || v > max)
		return -EINVAL;
	*s = p;
	*out = v;
	return 0;
}

static int parse_quad(const char **s, uint32_t *ip)
{
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		unsigned o;

		if (i > 0) {
			if (**s != '.')
				return -EINVAL;
			(*s)++;
		}
		if (parse_dec(s, 255, &o) < 0)
			return -EINVAL;
		a = a << 8 | o;
	}
	*ip = a;
	return 0;
}

int k8s_parse_ipv4(const char *s, uint32_t *ip)
{
	if (s == NULL || parse_quad(&s, ip) < 0 || *s != '\0')
		return -EINVAL;
	return 0;
}

int k8s_parse_cidr(const char *s, uint32_t *ip, uint8_t *plen)
{
	unsigned len;

	if (s == NULL || parse_quad(&s, ip) < 0 || *s++ != '/')
		return -EINVAL;
	if (parse_dec(&s, 32, &len) < 0 || *s != '\0')
		return -EINVAL;
	*plen = (uint8_t)len;
	return 0;
}

int k8s_parse_net(const char *s, uint32_t *net, uint8_t *plen)
{
	uint32_t ip;
	uint8_t len;

	if (k8s_parse_cidr(s, &ip, &len) < 0)
		return -EINVAL;
	if (ip & ~k8s_plen_mask(len))
		return -EINVAL;
	*net = ip;
	*plen = len;
	return 0;
}

bool k8s_is_ipv6_cidr(const char *s)
{
	struct in6_addr a;
	const char *slash = s ? strchr(s, '/') : NULL;
	char buf[INET6_ADDRSTRLEN];
	unsigned len;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	/* parse_dec() takes at most three digits, without a leading zero */
	slash++;
	return strchr(buf, ':') != NULL && inet_pton(AF_INET6, buf, &a) == 1 &&
	       parse_dec(&slash, 128, &len) == 0 && *slash == '\0';
}
