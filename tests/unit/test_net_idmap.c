/* lib/core/idmap: the id → connection hash (several nodes per id, removal,
 * growth past the first bucket array, an id changed while linked) and the
 * id set the handle keeps for p2p_submit. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "core/idmap.h"

#define N 1000

typedef struct owner {
    uint8_t id[64];
    ep_idmap_node node;
} owner;

static void make_id(uint8_t id[64], uint32_t k)
{
    memset(id, 0, 64);
    /* ids differing in one word only, to exercise every byte of the hash */
    memcpy(id + 60, &k, 4);
}

static owner *new_owners(void)
{
    owner *o = calloc(N, sizeof *o);
    assert_non_null(o);
    for (uint32_t i = 0; i < N; i++) {
        make_id(o[i].id, i);
        o[i].node.id = o[i].id;
    }
    return o;
}

static size_t count_id(const ep_idmap *m, const uint8_t id[64])
{
    size_t k = 0;
    for (ep_idmap_node *x = ep_idmap_first(m, id); x; x = ep_idmap_next(x, id)) {
        assert_memory_equal(x->id, id, 64);
        k++;
    }
    return k;
}

static void test_insert_find_remove(void **state)
{
    (void)state;
    ep_idmap m;
    ep_idmap_init(&m);
    uint8_t id[64];
    make_id(id, 7);
    assert_null(ep_idmap_first(&m, id)); /* empty, no buckets yet */
    owner *o = new_owners();
    for (size_t i = 0; i < N; i++) assert_int_equal(ep_idmap_insert(&m, &o[i].node), 0);
    assert_int_equal(m.n, N);
    assert_true(m.nb >= N); /* grew from its first array */
    assert_int_equal(ep_idmap_insert(&m, &o[3].node), 0); /* already linked: no-op */
    assert_int_equal(m.n, N);
    for (uint32_t i = 0; i < N; i++) {
        make_id(id, i);
        assert_ptr_equal(ep_idmap_first(&m, id), &o[i].node);
        assert_int_equal(count_id(&m, id), 1);
    }
    make_id(id, N + 5);
    assert_null(ep_idmap_first(&m, id));
    for (size_t i = 0; i < N; i += 2) ep_idmap_remove(&m, &o[i].node);
    ep_idmap_remove(&m, &o[0].node); /* twice: no-op */
    assert_int_equal(m.n, N / 2);
    for (uint32_t i = 0; i < N; i++) {
        make_id(id, i);
        assert_int_equal(count_id(&m, id), i % 2);
    }
    ep_idmap_free(&m);
    free(o);
}

static void test_same_id_twice(void **state)
{
    (void)state;
    ep_idmap m;
    ep_idmap_init(&m);
    owner a, b;
    make_id(a.id, 42);
    make_id(b.id, 42);
    memset(&a.node, 0, sizeof a.node);
    memset(&b.node, 0, sizeof b.node);
    a.node.id = a.id;
    b.node.id = b.id;
    assert_int_equal(ep_idmap_insert(&m, &a.node), 0);
    assert_int_equal(ep_idmap_insert(&m, &b.node), 0);
    assert_int_equal(count_id(&m, a.id), 2);
    ep_idmap_remove(&m, &a.node);
    assert_ptr_equal(ep_idmap_first(&m, a.id), &b.node);
    assert_null(ep_idmap_next(&b.node, a.id));
    /* an id rewritten while linked: removal still unlinks it */
    make_id(b.id, 43);
    ep_idmap_remove(&m, &b.node);
    assert_int_equal(m.n, 0);
    assert_null(ep_idmap_first(&m, b.id));
    ep_idmap_free(&m);
}

static void test_idset(void **state)
{
    (void)state;
    ep_idset s;
    ep_idset_init(&s);
    uint8_t id[64];
    for (uint32_t i = 0; i < N; i++) {
        make_id(id, i);
        assert_int_equal(ep_idset_add(&s, id), 0);
        assert_int_equal(ep_idset_add(&s, id), 0); /* once only */
    }
    assert_int_equal(ep_idset_count(&s), N);
    make_id(id, 10);
    assert_true(ep_idset_has(&s, id));
    ep_idset_del(&s, id);
    ep_idset_del(&s, id); /* absent: nothing */
    assert_false(ep_idset_has(&s, id));
    assert_int_equal(ep_idset_count(&s), N - 1);
    make_id(id, 11);
    assert_true(ep_idset_has(&s, id));
    ep_idset_free(&s); /* frees the rest (ASan checks) */
    assert_int_equal(ep_idset_count(&s), 0);
    ep_idset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_find_remove),
        cmocka_unit_test(test_same_id_twice),
        cmocka_unit_test(test_idset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
