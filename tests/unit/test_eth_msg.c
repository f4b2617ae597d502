/* eth/68 and eth/69 message codecs: every case of
 * tests/vectors/eth_messages.json (decode, compare fields, re-encode, compare
 * bytes), round trips of the messages without vectors, and rejection of
 * malformed variants. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "eth/eth_msg.h"

/* ------------------------------------------------------------ helpers */

/* A decimal string into a 32-byte big-endian number. */
static void dec_to_be32(const char *dec, uint8_t out[32])
{
    memset(out, 0, 32);
    for (const char *p = dec; *p; p++) {
        assert_true(*p >= '0' && *p <= '9');
        unsigned carry = (unsigned)(*p - '0');
        for (int i = 31; i >= 0; i--) {
            unsigned v = out[i] * 10u + carry;
            out[i] = (uint8_t)v;
            carry = v >> 8;
        }
        assert_int_equal(carry, 0);
    }
}

static uint64_t u64s(const json_t *c, const char *key)
{
    return strtoull(tu_str(c, key), NULL, 10);
}

static int64_t ival(const json_t *c, const char *key)
{
    json_t *v = json_object_get(c, key);
    assert_non_null(v);
    return json_integer_value(v);
}

/* Compare a comma-separated hex list with decoded hashes. */
static void check_hashes(const char *list, const uint8_t (*v)[32], size_t count)
{
    size_t i = 0;
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
        uint8_t h[32];
        tu_hex_fixed(tok, h, 32);
        assert_true(i < count);
        tu_assert_bytes(v[i], h, 32);
    }
    assert_int_equal(i, count);
    free(copy);
}

static void check_items(const char *list, const p2p_bytes *v, size_t count)
{
    size_t i = 0;
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
        size_t n;
        uint8_t *b = tu_hex(tok, &n);
        assert_true(i < count);
        assert_int_equal(v[i].len, n);
        tu_assert_bytes(v[i].ptr, b, n);
        free(b);
    }
    assert_int_equal(i, count);
    free(copy);
}

static void check_status(const json_t *c, const ep_eth_status *s, uint32_t version)
{
    uint8_t b32[32], h4[4];
    assert_int_equal(s->version, ival(c, "version"));
    assert_true(s->network_id == u64s(c, "network_id"));
    tu_hex_fixed(tu_str(c, "genesis"), b32, 32);
    tu_assert_bytes(s->genesis, b32, 32);
    tu_hex_fixed(tu_str(c, "blockhash"), b32, 32);
    tu_assert_bytes(s->head, b32, 32);
    tu_hex_fixed(tu_str(c, "forkid_hash"), h4, 4);
    tu_assert_bytes(s->forkid.hash, h4, 4);
    assert_true(s->forkid.next == u64s(c, "forkid_next"));
    if (version >= 69) {
        assert_true(s->earliest == u64s(c, "earliest_block"));
        assert_true(s->latest == u64s(c, "latest_block"));
    } else {
        dec_to_be32(tu_str(c, "td"), b32);
        tu_assert_bytes(s->td, b32, 32);
    }
}

static void check_get_headers(const json_t *c, const ep_eth_get_headers *g)
{
    const char *oh = tu_str(c, "origin_hash");
    if (*oh) {
        uint8_t h[32];
        tu_hex_fixed(oh, h, 32);
        assert_int_equal(g->by_hash, 1);
        tu_assert_bytes(g->origin_hash, h, 32);
    } else {
        assert_int_equal(g->by_hash, 0);
        assert_true(g->origin_number == u64s(c, "origin_number"));
    }
    assert_true(g->amount == (uint64_t)ival(c, "amount"));
    assert_true(g->skip == (uint64_t)ival(c, "skip"));
    assert_int_equal(g->reverse, ival(c, "reverse"));
}

/* Fields of one vector case against the decoded message. */
static void check_fields(const json_t *c, const ep_eth_msg *m, uint32_t version)
{
    int64_t rid = ival(c, "request_id");
    if (rid >= 0) assert_true(m->request_id == (uint64_t)rid);
    json_t *v;
    switch (m->id) {
    case EP_ETH_STATUS: check_status(c, &m->u.status, version); return;
    case EP_ETH_GET_BLOCK_HEADERS: check_get_headers(c, &m->u.get_headers); return;
    }
    assert_int_equal(ep_eth_msg_count(m), ival(c, "payload_items"));
    if ((v = json_object_get(c, "hashes")) != NULL)
        check_hashes(json_string_value(v), m->u.hashes.v, m->u.hashes.count);
    if ((v = json_object_get(c, "tx_rlps")) != NULL)
        check_items(json_string_value(v), m->u.items.v, m->u.items.count);
    if ((v = json_object_get(c, "header_rlp")) != NULL)
        check_items(json_string_value(v), m->u.items.v, m->u.items.count);
}

static int has_version(const json_t *c, uint32_t version)
{
    char want[8];
    snprintf(want, sizeof want, "%u", version);
    return strstr(tu_str(c, "eth_versions"), want) != NULL;
}

static int decode_hex(uint32_t version, uint64_t id, const char *hex, ep_eth_msg *m)
{
    size_t n;
    uint8_t *b = tu_hex(hex, &n);
    int rc = ep_eth_msg_decode(version, id, b, n, m);
    ep_eth_msg_free(m);
    free(b);
    return rc;
}

/* ------------------------------------------------------------ vectors */

static void run_case(const json_t *c, uint32_t version)
{
    size_t n;
    uint8_t *raw = tu_hex(tu_str(c, "rlp"), &n);
    uint64_t id = (uint64_t)ival(c, "msg_code");
    ep_eth_msg m;
    int rc = ep_eth_msg_decode(version, id, raw, n, &m);
    if (id == EP_ETH_GET_BLOCK_HEADERS && ival(c, "payload_items") == 0) {
        /* [1111, []]: a GetBlockHeaders request without its four fields. The
         * strict decoder refuses it (go-ethereum cannot decode it either; its
         * test only encodes a nil request). */
        assert_int_equal(rc, P2P_ERR_RLP);
        free(raw);
        return;
    }
    if (rc != 0) fail_msg("%s (eth/%u): decode failed %d", tu_str(c, "name"), version, rc);
    check_fields(c, &m, version);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(version, &m, &w), 0);
    assert_int_equal(w.len, n);
    tu_assert_bytes(w.buf, raw, n);
    /* trailing bytes are refused */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, raw, n);
    longer[n] = 0x80;
    ep_eth_msg m2;
    assert_int_equal(ep_eth_msg_decode(version, id, longer, n + 1, &m2), P2P_ERR_RLP);
    /* so is every truncation */
    for (size_t k = 0; k < n; k++)
        assert_int_not_equal(ep_eth_msg_decode(version, id, raw, k, &m2), 0);
    free(longer);
    p2p_rlp_writer_free(&w);
    ep_eth_msg_free(&m);
    free(raw);
}

static void test_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("eth_messages.json");
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i, runs = 0;
    json_array_foreach(cases, i, c) {
        for (uint32_t v = 68; v <= 69; v++) {
            if (!has_version(c, v)) continue;
            run_case(c, v);
            runs++;
        }
    }
    assert_true(runs >= json_array_size(cases));
    json_decref(root);
}

/* eth/68 receipts carry a bloom, eth/69 ones a type and no bloom: each
 * version refuses the other's form. */
static void test_receipts_cross_version(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("eth_messages.json");
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i, seen = 0;
    ep_eth_msg m;
    json_array_foreach(cases, i, c) {
        const char *name = tu_str(c, "name");
        if (strcmp(name, "receipts_eth68") == 0) {
            assert_int_equal(decode_hex(69, EP_ETH_RECEIPTS, tu_str(c, "rlp"), &m), P2P_ERR_RLP);
            seen++;
        } else if (strcmp(name, "receipts_eth69") == 0) {
            assert_int_equal(decode_hex(68, EP_ETH_RECEIPTS, tu_str(c, "rlp"), &m), P2P_ERR_RLP);
            seen++;
        } else if (strncmp(name, "status_", 7) == 0) {
            /* the other layout does not fit */
            uint32_t other = has_version(c, 69) ? 68 : 69;
            assert_int_equal(decode_hex(other, EP_ETH_STATUS, tu_str(c, "rlp"), &m), P2P_ERR_RLP);
            seen++;
        }
    }
    assert_int_equal(seen, 6);
    json_decref(root);
}

/* Strict decoding accepts canonical input only, so whatever decodes must
 * re-encode to exactly the same bytes. Mutate every vector (byte flips,
 * deletions, insertions) and check that property; under ASan this also
 * shows that bad input never reads out of bounds. */
static size_t accepted;
static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void check_canonical(uint32_t version, uint64_t id, const uint8_t *b, size_t n)
{
    ep_eth_msg m;
    if (ep_eth_msg_decode(version, id, b, n, &m) != 0) return;
    accepted++;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(version, &m, &w), 0);
    assert_int_equal(w.len, n);
    tu_assert_bytes(w.buf, b, n);
    p2p_rlp_writer_free(&w);
    ep_eth_msg_free(&m);
}

static void test_mutations(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("eth_messages.json");
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        size_t n;
        uint8_t *raw = tu_hex(tu_str(c, "rlp"), &n);
        uint8_t *buf = malloc(n + 1);
        for (int round = 0; round < 300; round++) {
            size_t pos = rng() % n, len = n;
            memcpy(buf, raw, n);
            switch (rng() % 3) {
            case 0: buf[pos] ^= (uint8_t)(1u << (rng() % 8)); break;
            case 1: memmove(buf + pos, buf + pos + 1, n - pos - 1); len--; break;
            case 2:
                memmove(buf + pos + 1, buf + pos, n - pos);
                buf[pos] = (uint8_t)rng();
                len++;
                break;
            }
            /* decode under every id and version: no crash, canonical or refused */
            for (uint64_t id = 0; id <= 0x11; id++) {
                check_canonical(68, id, buf, len);
                check_canonical(69, id, buf, len);
            }
        }
        free(buf);
        free(raw);
    }
    /* some mutants are valid messages of some id (e.g. a flipped hash byte) */
    assert_true(accepted > 100);
    json_decref(root);
}

/* ------------------------------------------- messages without vectors */

static void roundtrip(uint32_t version, const ep_eth_msg *in, const p2p_rlp_writer *want,
                      ep_eth_msg *out)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(version, in, &w), 0);
    assert_int_equal(w.len, want->len);
    tu_assert_bytes(w.buf, want->buf, w.len);
    /* decode from the expected buffer, which outlives the message */
    assert_int_equal(ep_eth_msg_decode(version, in->id, want->buf, want->len, out), 0);
    p2p_rlp_writer_free(&w);
}

static void test_announcements(void **state)
{
    (void)state;
    p2p_rlp_writer want;
    ep_eth_msg m, d;

    /* NewBlockHashes [[hash, number], ...] */
    ep_eth_block_ref refs[2];
    memset(refs, 0, sizeof refs);
    refs[0].hash[0] = 0xaa, refs[0].number = 0;
    refs[1].hash[31] = 0xbb, refs[1].number = 0x123456789a;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_NEW_BLOCK_HASHES;
    m.u.refs.v = refs;
    m.u.refs.count = 2;
    p2p_rlp_writer_init(&want);
    p2p_rlp_list_begin(&want);
    for (int i = 0; i < 2; i++) {
        p2p_rlp_list_begin(&want);
        p2p_rlp_put_bytes(&want, refs[i].hash, 32);
        p2p_rlp_put_uint(&want, refs[i].number);
        p2p_rlp_list_end(&want);
    }
    p2p_rlp_list_end(&want);
    roundtrip(68, &m, &want, &d);
    assert_int_equal(d.u.refs.count, 2);
    assert_memory_equal(d.u.refs.v, refs, sizeof refs);
    ep_eth_msg_free(&d);
    p2p_rlp_writer_free(&want);

    /* BlockRangeUpdate (eth/69 only) */
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_BLOCK_RANGE_UPDATE;
    m.u.range.earliest = 100;
    m.u.range.latest = 200000;
    memset(m.u.range.latest_hash, 0x5a, 32);
    p2p_rlp_writer_init(&want);
    p2p_rlp_list_begin(&want);
    p2p_rlp_put_uint(&want, 100);
    p2p_rlp_put_uint(&want, 200000);
    p2p_rlp_put_bytes(&want, m.u.range.latest_hash, 32);
    p2p_rlp_list_end(&want);
    roundtrip(69, &m, &want, &d);
    assert_memory_equal(&d.u.range, &m.u.range, sizeof m.u.range);
    ep_eth_msg_free(&d);
    assert_int_equal(ep_eth_msg_decode(68, m.id, want.buf, want.len, &d), P2P_ERR_NOT_FOUND);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(68, &m, &w), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    p2p_rlp_writer_free(&want);
}

/* A minimal block [header, [tx], []] with a typed transaction. */
static void build_block(p2p_rlp_writer *b, const uint8_t *typed_tx, size_t tx_len)
{
    p2p_rlp_writer_init(b);
    p2p_rlp_list_begin(b);
    p2p_rlp_list_begin(b);              /* a toy header */
    p2p_rlp_put_uint(b, 7);
    p2p_rlp_put_uint(b, 42);
    p2p_rlp_list_end(b);
    p2p_rlp_list_begin(b);
    p2p_rlp_put_bytes(b, typed_tx, tx_len);
    p2p_rlp_list_end(b);
    p2p_rlp_list_begin(b);
    p2p_rlp_list_end(b);
    p2p_rlp_list_end(b);
}

static void test_new_block_and_txs(void **state)
{
    (void)state;
    const uint8_t typed_tx[] = {0x02, 0xc3, 0x01, 0x02, 0x03};
    p2p_rlp_writer block, want;
    build_block(&block, typed_tx, sizeof typed_tx);
    ep_eth_msg m, d;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_NEW_BLOCK;
    m.u.new_block.block = (p2p_bytes){block.buf, block.len};
    m.u.new_block.td[30] = 0x01, m.u.new_block.td[31] = 0x02;
    p2p_rlp_writer_init(&want);
    p2p_rlp_list_begin(&want);
    p2p_rlp_put_raw(&want, block.buf, block.len);
    p2p_rlp_put_bigint(&want, m.u.new_block.td, 32);
    p2p_rlp_list_end(&want);
    for (uint32_t v = 68; v <= 69; v++) {
        roundtrip(v, &m, &want, &d);
        assert_int_equal(d.u.new_block.block.len, block.len);
        tu_assert_bytes(d.u.new_block.block.ptr, block.buf, block.len);
        assert_int_equal(d.u.new_block.header.len, 3);        /* c2 07 2a */
        tu_assert_bytes(d.u.new_block.header.ptr, block.buf + 1, 3);
        tu_assert_bytes(d.u.new_block.td, m.u.new_block.td, 32);
        ep_eth_msg_free(&d);
    }
    p2p_rlp_writer_free(&want);

    /* Transactions: a legacy list and a typed envelope string */
    p2p_rlp_writer tx;
    p2p_rlp_writer_init(&tx);
    p2p_rlp_list_begin(&tx);
    p2p_rlp_put_uint(&tx, 9);
    p2p_rlp_list_end(&tx);
    size_t legacy_len = tx.len;
    p2p_rlp_put_bytes(&tx, typed_tx, sizeof typed_tx);
    p2p_bytes items[2] = {{tx.buf, legacy_len}, {tx.buf + legacy_len, tx.len - legacy_len}};
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_TRANSACTIONS;
    m.u.items.v = items;
    m.u.items.count = 2;
    p2p_rlp_writer_init(&want);
    p2p_rlp_list_begin(&want);
    p2p_rlp_put_raw(&want, tx.buf, tx.len);
    p2p_rlp_list_end(&want);
    roundtrip(69, &m, &want, &d);
    assert_int_equal(d.u.items.count, 2);
    assert_int_equal(d.u.items.v[1].len, items[1].len);
    tu_assert_bytes(d.u.items.v[1].ptr, items[1].ptr, items[1].len);
    ep_eth_msg_free(&d);
    /* an item that is not one RLP item is refused when encoding */
    p2p_bytes two = {tx.buf, tx.len};
    m.u.items.v = &two;
    m.u.items.count = 1;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    p2p_rlp_writer_free(&want);
    p2p_rlp_writer_free(&tx);
    p2p_rlp_writer_free(&block);
}

/* Host items are checked in full when encoding (a flaw anywhere inside gets
 * us dropped by the peer), and decoding what a peer sent too. */
static void test_send_check_shallow_receive_strict(void **state)
{
    (void)state;
    static const uint8_t bad_prefix[] = {0xb8, 0x01, 0x00};   /* long form for 1 byte */
    static const uint8_t truncated[] = {0xc3, 0x01, 0x02};    /* list of 3 with 2 bytes */
    static const uint8_t trailing[] = {0xc1, 0x01, 0x01};     /* one item, then a byte */
    static const uint8_t bad_inside[] = {0xc2, 0x81, 0x05};   /* 0x05 wrapped as a string */
    const struct {
        const uint8_t *p;
        size_t len;
    } refused[] = {{bad_prefix, 3}, {truncated, 3}, {trailing, 3}, {trailing, 0}};
    ep_eth_msg m, d;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_BLOCK_BODIES;
    m.request_id = 5;
    m.u.items.count = 1;
    p2p_rlp_writer w;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        p2p_bytes it = {refused[i].p, refused[i].len};
        m.u.items.v = &it;
        p2p_rlp_writer_init(&w);
        assert_int_equal(ep_eth_msg_encode(69, &m, &w), P2P_ERR_INVALID);
        p2p_rlp_writer_free(&w);
    }
    p2p_bytes inner = {bad_inside, sizeof bad_inside};
    m.u.items.v = &inner;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), P2P_ERR_INVALID); /* nested flaw */
    p2p_rlp_writer_free(&w);
    (void)d;
    /* NewBlock: the block must be one list, checked the same way */
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_NEW_BLOCK;
    m.u.new_block.block = (p2p_bytes){truncated, sizeof truncated};
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    m.u.new_block.block = (p2p_bytes){bad_prefix + 2, 1}; /* a string, not a list */
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
}

static void test_pooled_hashes(void **state)
{
    (void)state;
    uint8_t types[3] = {0x00, 0x02, 0x03};
    uint32_t sizes[3] = {0, 300, 0xffffffffu};
    uint8_t hashes[3][32];
    for (int i = 0; i < 3; i++) memset(hashes[i], 0x10 + i, 32);
    ep_eth_msg m, d;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_NEW_POOLED_TX_HASHES;
    m.u.pooled_hashes = (ep_eth_pooled_hashes){{types, 3}, sizes, (const uint8_t (*)[32])hashes, 3};
    p2p_rlp_writer want;
    p2p_rlp_writer_init(&want);
    p2p_rlp_list_begin(&want);
    p2p_rlp_put_bytes(&want, types, 3);
    p2p_rlp_list_begin(&want);
    for (int i = 0; i < 3; i++) p2p_rlp_put_uint(&want, sizes[i]);
    p2p_rlp_list_end(&want);
    p2p_rlp_list_begin(&want);
    for (int i = 0; i < 3; i++) p2p_rlp_put_bytes(&want, hashes[i], 32);
    p2p_rlp_list_end(&want);
    p2p_rlp_list_end(&want);
    roundtrip(68, &m, &want, &d);
    assert_int_equal(d.u.pooled_hashes.count, 3);
    tu_assert_bytes(d.u.pooled_hashes.types.ptr, types, 3);
    assert_memory_equal(d.u.pooled_hashes.sizes, sizes, sizeof sizes);
    assert_memory_equal(d.u.pooled_hashes.hashes, hashes, sizeof hashes);
    ep_eth_msg_free(&d);
    p2p_rlp_writer_free(&want);
    /* inconsistent lengths cannot be encoded */
    m.u.pooled_hashes.types.len = 2;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(68, &m, &w), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    /* the empty announcement round-trips too */
    m.u.pooled_hashes = (ep_eth_pooled_hashes){{NULL, 0}, NULL, NULL, 0};
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), 0);
    assert_int_equal(ep_eth_msg_decode(69, m.id, w.buf, w.len, &d), 0);
    assert_int_equal(d.u.pooled_hashes.count, 0);
    ep_eth_msg_free(&d);
    p2p_rlp_writer_free(&w);
}

/* ------------------------------------------------------------- malformed */

/* Hand-built inputs (one valid form per message, then broken variants). */
static const struct bad_case {
    uint32_t version;
    uint64_t id;
    const char *hex;
    int rc;
} bad_cases[] = {
    /* valid GetBlockBodies */
    {68, 0x05, "e5820457e1a000000000000000000000000000000000000000000000000000000000deadc0de", 0},
    /* [id, payload, extra] */
    {68, 0x05, "e6820457e1a000000000000000000000000000000000000000000000000000000000deadc0de80", P2P_ERR_RLP},
    /* [id] */
    {68, 0x05, "c3820457", P2P_ERR_RLP},
    /* no request id */
    {68, 0x05, "e1a000000000000000000000000000000000000000000000000000000000deadc0de", P2P_ERR_RLP},
    /* request id with a leading zero */
    {68, 0x05, "e683000457e1a000000000000000000000000000000000000000000000000000000000deadc0de", P2P_ERR_RLP},
    /* request id over 64 bits */
    {68, 0x05, "ec89010000000000000000e1a000000000000000000000000000000000000000000000000000000000deadc0de", P2P_ERR_RANGE},
    /* 31-byte hash */
    {68, 0x05, "e4820457e09f000000000000000000000000000000000000000000000000000000deadc0de", P2P_ERR_RLP},
    /* 33-byte hash */
    {69, 0x09, "e6820457e2a100000000000000000000000000000000000000000000000000000000deadc0deff", P2P_ERR_RLP},
    /* a list as hash */
    {68, 0x0f, "c6820457c2c180", P2P_ERR_RLP},
    /* valid GetBlockHeaders */
    {68, 0x03, "ca820457c682270f050580", 0},
    /* origin number with a leading zero */
    {68, 0x03, "cb820457c78300270f050580", P2P_ERR_RLP},
    /* reverse = 2 */
    {68, 0x03, "ca820457c682270f050502", P2P_ERR_RLP},
    /* three fields */
    {68, 0x03, "c9820457c582270f0505", P2P_ERR_RLP},
    /* 9-byte origin number */
    {68, 0x03, "d1820457cd89010203040506070809050580", P2P_ERR_RANGE},
    /* skip with a leading zero */
    {68, 0x03, "cc820457c882270f0582000580", P2P_ERR_RLP},
    /* origin is a list */
    {68, 0x03, "c8820457c4c0050580", P2P_ERR_RLP},
    /* header is a string */
    {68, 0x04, "c6820457c281ff", P2P_ERR_RLP},
    /* body is a string */
    {69, 0x06, "c5820457c180", P2P_ERR_RLP},
    /* envelope type >= 0x80 */
    {68, 0x02, "c281ff", P2P_ERR_RLP},
    /* empty string as tx */
    {68, 0x02, "c180", P2P_ERR_RLP},
    /* [[1], 2] */
    {68, 0x02, "c3c10102", 0},
    /* valid NewBlockHashes */
    {68, 0x01, "e3e2a000000000000000000000000000000000000000000000000000000000deadc0de01", 0},
    /* [hash, n, extra] */
    {68, 0x01, "e4e3a000000000000000000000000000000000000000000000000000000000deadc0de0101", P2P_ERR_RLP},
    /* [hash] */
    {68, 0x01, "e2e1a000000000000000000000000000000000000000000000000000000000deadc0de", P2P_ERR_RLP},
    /* 31-byte hash */
    {68, 0x01, "e2e19f000000000000000000000000000000000000000000000000000000deadc0de01", P2P_ERR_RLP},
    /* valid NewBlock */
    {68, 0x07, "c5c3c2010201", 0},
    /* td with a leading zero */
    {68, 0x07, "c7c3c201028200ff", P2P_ERR_RLP},
    /* block is a string */
    {68, 0x07, "c482010201", P2P_ERR_RLP},
    /* header is a string */
    {68, 0x07, "c3c10101", P2P_ERR_RLP},
    /* block without header */
    {68, 0x07, "c2c001", P2P_ERR_RLP},
    /* [block, td, extra] */
    {68, 0x07, "c4c1c00101", P2P_ERR_RLP},
    /* valid NewPooledTransactionHashes */
    {68, 0x08, "e502c101e1a00000000000000000000000000000000000000000000000000000000000000001", 0},
    /* 2 types, 1 size, 1 hash */
    {68, 0x08, "e7820203c101e1a00000000000000000000000000000000000000000000000000000000000000001", P2P_ERR_RLP},
    /* 1 type, 2 sizes */
    {68, 0x08, "e602c20101e1a00000000000000000000000000000000000000000000000000000000000000001", P2P_ERR_RLP},
    /* size over 32 bits */
    {68, 0x08, "ea02c6850100000000e1a00000000000000000000000000000000000000000000000000000000000000001", P2P_ERR_RANGE},
    /* types as a list */
    {68, 0x08, "e6c102c101e1a00000000000000000000000000000000000000000000000000000000000000001", P2P_ERR_RLP},
    /* four fields */
    {69, 0x08, "e602c101e1a0000000000000000000000000000000000000000000000000000000000000000180", P2P_ERR_RLP},
    /* 31-byte hash */
    {68, 0x08, "e402c101e09f00000000000000000000000000000000000000000000000000000000000001", P2P_ERR_RLP},
    /* valid BlockRangeUpdate */
    {69, 0x11, "e30102a000000000000000000000000000000000000000000000000000000000deadc0de", 0},
    /* 31-byte hash */
    {69, 0x11, "e201029f000000000000000000000000000000000000000000000000000000deadc0de", P2P_ERR_RLP},
    /* four fields */
    {69, 0x11, "e40102a000000000000000000000000000000000000000000000000000000000deadc0de80", P2P_ERR_RLP},
};

static void test_malformed(void **state)
{
    (void)state;
    ep_eth_msg m;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *b = &bad_cases[i];
        int rc = decode_hex(b->version, b->id, b->hex, &m);
        if (rc != b->rc) fail_msg("case %zu (%s): got %d, want %d", i, b->hex, rc, b->rc);
    }
    /* ids unknown or not in this version; unsupported versions; bad arguments */
    assert_int_equal(decode_hex(68, 0x0b, "c0", &m), P2P_ERR_NOT_FOUND);
    assert_int_equal(decode_hex(68, 0x0d, "c0", &m), P2P_ERR_NOT_FOUND);
    assert_int_equal(decode_hex(68, 0x11, "c3808080", &m), P2P_ERR_NOT_FOUND);
    assert_int_equal(decode_hex(69, 0x12, "c0", &m), P2P_ERR_NOT_FOUND);
    assert_int_equal(decode_hex(67, 2, "c0", &m), P2P_ERR_INVALID);
    assert_int_equal(decode_hex(69, 0, "c3454501", &m), P2P_ERR_RLP);
    assert_int_equal(ep_eth_msg_decode(68, 2, NULL, 0, &m), P2P_ERR_RLP);
    assert_int_equal(ep_eth_msg_decode(68, 2, NULL, 3, &m), P2P_ERR_INVALID);
    assert_int_equal(ep_eth_msg_decode(68, 2, (const uint8_t *)"\xc0", 1, NULL), P2P_ERR_INVALID);
}

/* Status from the vectors with one field changed into something invalid. */
static void test_status_malformed(void **state)
{
    (void)state;
    ep_eth_status s;
    memset(&s, 0, sizeof s);
    s.version = 69;
    s.network_id = 1;
    ep_eth_msg m = {.id = EP_ETH_STATUS, .u.status = s}, d;
    p2p_rlp_writer w;
    /* a version that does not fit 32 bits cannot be produced by encode, so
     * build it by hand: [2^32, 1, genesis, forkid, 0, 0, head] */
    uint8_t zero[32] = {0}, big[5] = {1, 0, 0, 0, 0};
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, big, 5);
    p2p_rlp_put_uint(&w, 1);
    p2p_rlp_put_bytes(&w, zero, 32);
    ep_forkid_encode(&w, &s.forkid);
    p2p_rlp_put_uint(&w, 0);
    p2p_rlp_put_uint(&w, 0);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_list_end(&w);
    assert_int_equal(ep_eth_msg_decode(69, 0, w.buf, w.len, &d), P2P_ERR_RANGE);
    p2p_rlp_writer_free(&w);
    /* round trip, then a 31-byte genesis */
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), 0);
    assert_int_equal(ep_eth_msg_decode(69, 0, w.buf, w.len, &d), 0);
    assert_memory_equal(&d.u.status, &s, sizeof s);
    p2p_rlp_writer_free(&w);
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_uint(&w, 69);
    p2p_rlp_put_uint(&w, 1);
    p2p_rlp_put_bytes(&w, zero, 31);
    ep_forkid_encode(&w, &s.forkid);
    p2p_rlp_put_uint(&w, 0);
    p2p_rlp_put_uint(&w, 0);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_list_end(&w);
    assert_int_equal(ep_eth_msg_decode(69, 0, w.buf, w.len, &d), P2P_ERR_RLP);
    p2p_rlp_writer_free(&w);
    /* eth/68 td over 256 bits */
    uint8_t td33[33];
    memset(td33, 0xff, sizeof td33);
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_uint(&w, 68);
    p2p_rlp_put_uint(&w, 1);
    p2p_rlp_put_bytes(&w, td33, 33);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_put_bytes(&w, zero, 32);
    ep_forkid_encode(&w, &s.forkid);
    p2p_rlp_list_end(&w);
    assert_int_equal(ep_eth_msg_decode(68, 0, w.buf, w.len, &d), P2P_ERR_RANGE);
    p2p_rlp_writer_free(&w);
}

/* A list of @n copies of @item (whole RLP items), optionally wrapped as
 * [request-id 7, list]. */
static void list_of(p2p_rlp_writer *w, const uint8_t *item, size_t ilen, size_t n, int rid)
{
    p2p_rlp_writer_init(w);
    if (rid) {
        p2p_rlp_list_begin(w);
        p2p_rlp_put_uint(w, 7);
    }
    p2p_rlp_list_begin(w);
    for (size_t i = 0; i < n; i++) p2p_rlp_put_raw(w, item, ilen);
    p2p_rlp_list_end(w);
    if (rid) p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
}

/* The list bound is applied to every list-carrying message before anything is
 * allocated: one-byte items (c0) would otherwise cost 16 bytes each. */
static void test_decode_bounded(void **state)
{
    (void)state;
    static const uint8_t empty[] = {0xc0};
    uint8_t hash[33], ref[37];
    hash[0] = 0xa0;
    memset(hash + 1, 0x5a, 32);
    ref[0] = 0xe4; /* [hash, 256] */
    memcpy(ref + 1, hash, 33);
    ref[34] = 0x82;
    ref[35] = 0x01;
    ref[36] = 0x00;
    const struct { uint64_t id; const uint8_t *item; size_t len; int rid; } kinds[] = {
        {EP_ETH_TRANSACTIONS, empty, 1, 0},     {EP_ETH_BLOCK_HEADERS, empty, 1, 1},
        {EP_ETH_BLOCK_BODIES, empty, 1, 1},     {EP_ETH_POOLED_TXS, empty, 1, 1},
        {EP_ETH_RECEIPTS, empty, 1, 1},         {EP_ETH_GET_BLOCK_BODIES, hash, 33, 1},
        {EP_ETH_GET_RECEIPTS, hash, 33, 1},     {EP_ETH_GET_POOLED_TXS, hash, 33, 1},
        {EP_ETH_NEW_BLOCK_HASHES, ref, 37, 0},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        p2p_rlp_writer w;
        ep_eth_msg m;
        list_of(&w, kinds[k].item, kinds[k].len, 5, kinds[k].rid);
        assert_int_equal(ep_eth_msg_decode_max(69, kinds[k].id, w.buf, w.len, 5, &m), 0);
        assert_int_equal(ep_eth_msg_count(&m), 5);
        ep_eth_msg_free(&m);
        assert_int_equal(ep_eth_msg_decode_max(69, kinds[k].id, w.buf, w.len, 4, &m),
                         P2P_ERR_TOO_LARGE);
        assert_null(m.mem);
        assert_int_equal(ep_eth_msg_decode_max(69, kinds[k].id, w.buf, w.len, 0, &m),
                         P2P_ERR_TOO_LARGE);
        assert_int_equal(ep_eth_msg_decode(69, kinds[k].id, w.buf, w.len, &m), 0);
        ep_eth_msg_free(&m);
        uint64_t rid = 0;
        int rc = ep_eth_msg_peek_request_id(69, kinds[k].id, w.buf, w.len, &rid);
        assert_int_equal(rc, kinds[k].rid ? 0 : P2P_ERR_INVALID);
        if (kinds[k].rid) assert_int_equal(rid, 7);
        p2p_rlp_writer_free(&w);
    }
    /* NewPooledTransactionHashes: three entries against a bound of two */
    ep_eth_msg ph = {.id = EP_ETH_NEW_POOLED_TX_HASHES}, d;
    uint8_t types[3] = {0, 1, 2}, hs[3][32];
    uint32_t sizes[3] = {100, 200, 300};
    memset(hs, 0x33, sizeof hs);
    ph.u.pooled_hashes = (ep_eth_pooled_hashes){{types, 3}, sizes, (const uint8_t(*)[32])hs, 3};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(68, &ph, &w), 0);
    assert_int_equal(ep_eth_msg_decode_max(68, ph.id, w.buf, w.len, 2, &d), P2P_ERR_TOO_LARGE);
    assert_int_equal(ep_eth_msg_decode_max(68, ph.id, w.buf, w.len, 3, &d), 0);
    ep_eth_msg_free(&d);
    p2p_rlp_writer_free(&w);
    /* peeking validates like decode does */
    uint64_t rid;
    assert_int_equal(ep_eth_msg_peek_request_id(69, EP_ETH_BLOCK_HEADERS,
                                                (const uint8_t *)"\xc3\x07\xc0", 3, &rid), P2P_ERR_RLP);
    assert_int_equal(ep_eth_msg_peek_request_id(69, EP_ETH_BLOCK_HEADERS,
                                                (const uint8_t *)"\xc2\x07", 2, &rid), P2P_ERR_RLP);
    assert_int_equal(ep_eth_msg_peek_request_id(69, EP_ETH_BLOCK_HEADERS,
                                                (const uint8_t *)"\xc2\x07\xc0", 3, NULL), P2P_ERR_INVALID);
}

static void test_ids(void **state)
{
    (void)state;
    assert_int_equal(ep_eth_version_length(68), 17);
    assert_int_equal(ep_eth_version_length(69), 18);
    assert_int_equal(ep_eth_version_length(71), 0);
    assert_true(ep_eth_msg_known(69, EP_ETH_BLOCK_RANGE_UPDATE));
    assert_false(ep_eth_msg_known(68, EP_ETH_BLOCK_RANGE_UPDATE));
    assert_false(ep_eth_msg_known(68, 0x0e));
    assert_int_equal(ep_eth_msg_response_for(EP_ETH_GET_BLOCK_HEADERS), EP_ETH_BLOCK_HEADERS);
    assert_int_equal(ep_eth_msg_response_for(EP_ETH_GET_RECEIPTS), EP_ETH_RECEIPTS);
    assert_int_equal(ep_eth_msg_response_for(EP_ETH_BLOCK_HEADERS), -1);
    assert_true(ep_eth_msg_has_request_id(EP_ETH_POOLED_TXS));
    assert_false(ep_eth_msg_has_request_id(EP_ETH_TRANSACTIONS));
    assert_false(ep_eth_msg_has_request_id(EP_ETH_NEW_BLOCK));
    assert_false(ep_eth_msg_has_request_id(EP_ETH_STATUS));
    assert_string_equal(ep_eth_msg_name(EP_ETH_NEW_POOLED_TX_HASHES), "NewPooledTransactionHashes");
    assert_string_equal(ep_eth_msg_name(0x0b), "unknown");
    assert_string_equal(ep_eth_msg_name(99), "unknown");
}

/* One block's receipt list of one receipt: eth/69+ [type, status, gas, logs]
 * or eth/68 legacy [status, gas, bloom, logs]. */
static void receipt_list(p2p_rlp_writer *w, int with_bloom)
{
    static const uint8_t bloom[256];
    p2p_rlp_writer_init(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_list_begin(w);
    if (!with_bloom) p2p_rlp_put_uint(w, 2);
    p2p_rlp_put_uint(w, 1);
    p2p_rlp_put_uint(w, 21000);
    if (with_bloom) p2p_rlp_put_bytes(w, bloom, sizeof bloom);
    p2p_rlp_list_begin(w);
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
}

/* Items we send are checked for the negotiated version's shape: receipts
 * without bloom on eth/69+, with it on eth/68; transactions lists or typed
 * envelopes; headers and bodies lists. */
static void test_send_item_shapes(void **state)
{
    (void)state;
    p2p_rlp_writer r68, r69, w;
    receipt_list(&r68, 1);
    receipt_list(&r69, 0);
    p2p_bytes b68 = {r68.buf, r68.len}, b69 = {r69.buf, r69.len};
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_RECEIPTS;
    m.request_id = 3;
    m.u.items.count = 1;
    const struct { uint32_t version; p2p_bytes *item; int rc; } cases[] = {
        {69, &b69, 0}, {69, &b68, P2P_ERR_INVALID}, {68, &b68, 0}, {68, &b69, P2P_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        m.u.items.v = cases[i].item;
        p2p_rlp_writer_init(&w);
        assert_int_equal(ep_eth_msg_encode(cases[i].version, &m, &w), cases[i].rc);
        p2p_rlp_writer_free(&w);
    }
    /* version 0: either form (what the API checks before the peer is known) */
    assert_int_equal(ep_eth_item_check(0, EP_ETH_RECEIPTS, b68.ptr, b68.len), 0);
    assert_int_equal(ep_eth_item_check(0, EP_ETH_RECEIPTS, b69.ptr, b69.len), 0);
    static const uint8_t str[] = {0x83, 0x01, 0x02, 0x03}, list[] = {0xc2, 0x01, 0x02},
                         envelope[] = {0x83, 0x02, 0xc1, 0x01}, loose[] = {0x83, 0x02, 0xc0, 0x01};
    static const uint8_t empties[] = {0xc2, 0xc0, 0xc0}; /* two empty lists: no receipts */
    assert_int_equal(ep_eth_item_check(0, EP_ETH_RECEIPTS, empties, sizeof empties), P2P_ERR_INVALID);
    assert_int_equal(ep_eth_item_check(69, EP_ETH_BLOCK_HEADERS, str, sizeof str), P2P_ERR_INVALID);
    assert_int_equal(ep_eth_item_check(69, EP_ETH_BLOCK_BODIES, str, sizeof str), P2P_ERR_INVALID);
    assert_int_equal(ep_eth_item_check(69, EP_ETH_BLOCK_BODIES, list, sizeof list), 0);
    assert_int_equal(ep_eth_item_check(69, EP_ETH_TRANSACTIONS, envelope, sizeof envelope), 0);
    assert_int_equal(ep_eth_item_check(69, EP_ETH_TRANSACTIONS, loose, sizeof loose), 0);
    assert_int_equal(ep_eth_item_check(69, EP_ETH_POOLED_TXS, (const uint8_t *)"\x80", 1),
                     P2P_ERR_INVALID); /* an empty string is no transaction */
    assert_int_equal(ep_eth_item_check(69, EP_ETH_STATUS, list, sizeof list), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&r68);
    p2p_rlp_writer_free(&r69);
}

/* eth/70 (EIP-7975): GetReceipts carries firstBlockReceiptIndex, Receipts
 * lastBlockIncomplete (tests/vectors/eth70_messages.json): decode, check the
 * fields, re-encode byte for byte; paging rebuilds a block's list. */
static void test_eth70_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("eth70_messages.json");
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i, checked = 0;
    json_array_foreach(cases, i, c) {
        size_t len;
        uint8_t *rlp = tu_hex(tu_str(c, "rlp"), &len);
        uint64_t id = (uint64_t)json_integer_value(json_object_get(c, "msg_code"));
        ep_eth_msg m;
        int rc = ep_eth_msg_decode(70, id, rlp, len, &m);
        if (json_is_true(json_object_get(c, "invalid"))) {
            assert_int_equal(rc, P2P_ERR_RLP);
            free(rlp);
            continue;
        }
        if (rc) fail_msg("%s: decode %d", tu_str(c, "name"), rc);
        assert_int_equal(m.request_id, 1111);
        assert_int_equal(ep_eth_msg_count(&m),
                         (size_t)json_integer_value(json_object_get(c, "payload_items")));
        if (id == EP_ETH_GET_RECEIPTS)
            assert_int_equal(m.receipt_index, (uint64_t)json_integer_value(
                                                  json_object_get(c, "first_block_receipt_index")));
        else
            assert_int_equal(m.last_incomplete, (int)json_integer_value(
                                                    json_object_get(c, "last_block_incomplete")));
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        assert_int_equal(ep_eth_msg_encode(70, &m, &w), 0);
        assert_int_equal(w.len, len);
        tu_assert_bytes(w.buf, rlp, len);
        p2p_rlp_writer_free(&w);
        /* the same message is not eth/69's: its layout differs */
        ep_eth_msg o;
        assert_int_equal(ep_eth_msg_decode(69, id, rlp, len, &o), P2P_ERR_RLP);
        ep_eth_msg_free(&m);
        free(rlp);
        checked++;
    }
    assert_int_equal(checked, 7);
    /* paging from the whole block: page 1 keeps receipt 0 and says incomplete,
     * page 2 starts at index 1 */
    size_t blen;
    uint8_t *block = tu_hex(tu_str(root, "full_block"), &blen);
    p2p_bytes item = {block, blen};
    const char *pages[2] = {"page1_cut_after_first_receipt", "page2_from_index_1"};
    for (int k = 0; k < 2; k++) {
        ep_eth_msg m;
        memset(&m, 0, sizeof m);
        m.id = EP_ETH_RECEIPTS;
        m.request_id = 1111;
        m.u.items.v = &item;
        m.u.items.count = 1;
        m.receipt_index = (uint64_t)k;
        m.last_receipts = k == 0 ? 1 : 0;
        m.last_incomplete = k == 0;
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        assert_int_equal(ep_eth_msg_encode(70, &m, &w), 0);
        json_array_foreach(cases, i, c) if (strcmp(tu_str(c, "name"), pages[k]) == 0) {
            size_t len;
            uint8_t *want = tu_hex(tu_str(c, "rlp"), &len);
            assert_int_equal(w.len, len);
            tu_assert_bytes(w.buf, want, len);
            free(want);
        }
        p2p_rlp_writer_free(&w);
        /* eth/69 cannot say any of it */
        p2p_rlp_writer_init(&w);
        assert_int_equal(ep_eth_msg_encode(69, &m, &w), P2P_ERR_INVALID);
        p2p_rlp_writer_free(&w);
    }
    /* an index past the block's receipts is refused */
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_RECEIPTS;
    m.u.items.v = &item;
    m.u.items.count = 1;
    m.receipt_index = 3;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(70, &m, &w), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    free(block);
    assert_true(ep_eth_version_supported(70));
    assert_int_equal(ep_eth_version_length(70), 18);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_receipts_cross_version),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_announcements),
        cmocka_unit_test(test_new_block_and_txs),
        cmocka_unit_test(test_send_check_shallow_receive_strict),
        cmocka_unit_test(test_pooled_hashes),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_status_malformed),
        cmocka_unit_test(test_decode_bounded),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_send_item_shapes),
        cmocka_unit_test(test_eth70_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
