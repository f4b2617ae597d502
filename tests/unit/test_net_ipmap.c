/* lib/net/ipmap: the address keys (IPv4, IPv4-mapped IPv6 and IPv6 per
 * /64), references and counts per address, growth past the first bucket
 * array, and that an entry goes with its last reference (so the map holds
 * no more entries than live connections). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "net/ipmap.h"

static void key_of(const char *ip, uint8_t key[EP_IPKEY_LEN])
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(1234);
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(4321);
    }
    assert_int_equal(ep_ipkey((struct sockaddr *)&ss, key), 0);
}

static void test_keys(void **state)
{
    (void)state;
    uint8_t a[EP_IPKEY_LEN], b[EP_IPKEY_LEN];
    key_of("127.0.0.1", a);
    key_of("127.0.0.2", b);
    assert_memory_not_equal(a, b, EP_IPKEY_LEN);       /* loopback: each address its own */
    key_of("::ffff:127.0.0.1", b);
    assert_memory_equal(a, b, EP_IPKEY_LEN);           /* IPv4 through an IPv6 socket */
    uint8_t raw[4] = {127, 0, 0, 1};
    assert_int_equal(ep_ipkey_raw(AF_INET, raw, b), 0);
    assert_memory_equal(a, b, EP_IPKEY_LEN);           /* an enode's address */
    key_of("2001:db8:1:2::1", a);
    key_of("2001:db8:1:2:ffff:eeee:dddd:cccc", b);
    assert_memory_equal(a, b, EP_IPKEY_LEN);           /* one /64 */
    key_of("2001:db8:1:3::1", b);
    assert_memory_not_equal(a, b, EP_IPKEY_LEN);       /* another /64 */
    struct sockaddr sa = {.sa_family = AF_UNIX};
    assert_int_equal(ep_ipkey(&sa, a), -1);
    assert_int_equal(ep_ipkey_raw(0, raw, a), -1);
}

static void test_refs_and_growth(void **state)
{
    (void)state;
    enum { N = 5000 };
    ep_ipmap m;
    ep_ipmap_init(&m);
    static ep_ipent *e[N];
    uint8_t key[EP_IPKEY_LEN];
    for (uint32_t i = 0; i < N; i++) {
        uint8_t ip[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        ep_ipkey_raw(AF_INET, ip, key);
        assert_null(ep_ipmap_find(&m, key));
        e[i] = ep_ipmap_ref(&m, key);
        assert_non_null(e[i]);
        assert_true(ep_ipmap_ref(&m, key) == e[i]); /* a second connection, same entry */
        assert_int_equal(e[i]->refs, 2);
        e[i]->pending = i;
    }
    assert_int_equal(m.n, N);
    assert_true(m.nb >= N); /* grown: chains stay short */
    for (uint32_t i = 0; i < N; i++) {
        uint8_t ip[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        ep_ipkey_raw(AF_INET, ip, key);
        ep_ipent *x = ep_ipmap_find(&m, key);
        assert_true(x == e[i]);
        assert_int_equal(x->pending, i);
        ep_ipmap_unref(&m, x);
        assert_true(ep_ipmap_find(&m, key) == e[i]); /* one reference left */
    }
    for (uint32_t i = 0; i < N; i += 2) ep_ipmap_unref(&m, e[i]); /* the last one: gone */
    assert_int_equal(m.n, N / 2);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t ip[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        ep_ipkey_raw(AF_INET, ip, key);
        assert_true((ep_ipmap_find(&m, key) != NULL) == (i % 2 == 1));
    }
    ep_ipmap_unref(&m, NULL); /* harmless */
    ep_ipmap_free(&m);        /* frees what is left (LeakSanitizer checks) */
    assert_int_equal(m.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_refs_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
