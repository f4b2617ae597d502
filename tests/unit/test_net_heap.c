/* lib/core/timer_heap: the deadline heap the net loop keys connections by.
 * Random inserts, re-keys (both ways) and removals are checked against a
 * plain array after every step: the top is always a smallest key, and
 * every node knows its slot. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "core/timer_heap.h"

#define N 500

static ep_heap_node nodes[N];

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The heap property at every slot, each node's idx, and the top. */
static void check(const ep_heap *h)
{
    size_t in = 0;
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < N; i++) {
        if (!ep_heap_contains(&nodes[i])) continue;
        in++;
        if (nodes[i].key < min) min = nodes[i].key;
        assert_ptr_equal(h->v[nodes[i].idx - 1], &nodes[i]);
    }
    assert_int_equal(in, h->n);
    for (size_t i = 1; i < h->n; i++) assert_true(h->v[(i - 1) / 2]->key <= h->v[i]->key);
    if (in) assert_int_equal(ep_heap_top(h)->key, min);
    else assert_null(ep_heap_top(h));
}

static void test_empty(void **state)
{
    (void)state;
    ep_heap h;
    ep_heap_init(&h);
    assert_null(ep_heap_top(&h));
    ep_heap_node x = {0};
    ep_heap_remove(&h, &x); /* not in: nothing happens */
    assert_false(ep_heap_contains(&x));
    ep_heap_free(&h);
}

static void test_order(void **state)
{
    (void)state;
    ep_heap h;
    ep_heap_init(&h);
    memset(nodes, 0, sizeof nodes);
    for (size_t i = 0; i < 100; i++) assert_int_equal(ep_heap_set(&h, &nodes[i], (i * 37) % 100), 0);
    check(&h);
    /* popping gives the keys in order, equal keys included */
    uint64_t last = 0;
    for (size_t i = 0; i < 100; i++) {
        ep_heap_node *t = ep_heap_top(&h);
        assert_true(t->key >= last);
        last = t->key;
        ep_heap_remove(&h, t);
        assert_false(ep_heap_contains(t));
    }
    assert_null(ep_heap_top(&h));
    ep_heap_free(&h);
}

static void test_random_ops(void **state)
{
    (void)state;
    ep_heap h;
    ep_heap_init(&h);
    memset(nodes, 0, sizeof nodes);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (int step = 0; step < 20000; step++) {
        ep_heap_node *x = &nodes[rnd(&s) % N];
        uint64_t op = rnd(&s) % 4;
        if (op == 0) ep_heap_remove(&h, x);
        else assert_int_equal(ep_heap_set(&h, x, rnd(&s) % 1000), 0); /* insert or re-key */
        if (step % 97 == 0) check(&h);
    }
    check(&h);
    /* same key again and UINT64_MAX keys are fine */
    ep_heap_node *t = ep_heap_top(&h);
    assert_int_equal(ep_heap_set(&h, t, t->key), 0);
    assert_int_equal(ep_heap_set(&h, t, UINT64_MAX), 0);
    check(&h);
    ep_heap_free(&h);
    for (size_t i = 0; i < N; i++) assert_false(ep_heap_contains(&nodes[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_random_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
