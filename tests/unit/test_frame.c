/* RLPx frame codec: every case of rlpx_frames.json in seq order per
 * direction, read-back, tampering, size bound and partial input. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "ethp2p/types.h"
#include "rlpx/frame.h"

/* Secrets for one direction of a vector: the writer's egress MAC and the
 * reader's ingress MAC both start from egress_mac_init. */
static void secrets_from_case(const json_t *c, ep_secrets *sec)
{
    memset(sec, 0, sizeof *sec);
    tu_hex_fixed(tu_str(c, "aes_secret"), sec->aes, 32);
    tu_hex_fixed(tu_str(c, "mac_secret"), sec->mac, 32);
    size_t n;
    uint8_t *init = tu_hex(tu_str(c, "egress_mac_init"), &n);
    ep_keccak_init(&sec->egress_mac);
    ep_keccak_update(&sec->egress_mac, init, n);
    sec->ingress_mac = sec->egress_mac;
    free(init);
}

static int is_fixed(const json_t *c)
{
    return strcmp(tu_str(c, "mac_mode"), "fixed") == 0;
}

/* Read one whole frame that is entirely in @buf; returns the content. */
static const uint8_t *read_whole(ep_frame_codec *fc, uint8_t *buf, size_t len, size_t *clen)
{
    size_t used = 0, consumed;
    const uint8_t *content = NULL;
    int rc;
    do {
        rc = ep_frame_read(fc, buf + used, len - used, &consumed, &content, clen);
        assert_true(rc >= 0);
        used += consumed;
    } while (rc == 0 && consumed > 0);
    assert_int_equal(rc, 1);
    assert_int_equal(used, len);
    return content;
}

/* Run the cases of one direction (those whose direction starts with @dir)
 * on one writer and one reader, in seq order. */
static int run_direction(json_t *cases, const char *dir)
{
    ep_frame_codec wr, rd;
    uint8_t fixed[32];
    int ran = 0;
    for (int seq = 0;; seq++) {
        json_t *c = NULL, *it;
        size_t i;
        json_array_foreach(cases, i, it) {
            if (strncmp(tu_str(it, "direction"), dir, strlen(dir)) == 0 &&
                json_integer_value(json_object_get(it, "seq")) == seq)
                c = it;
        }
        if (!c) break;
        if (seq == 0) {
            ep_secrets sec;
            secrets_from_case(c, &sec);
            ep_frame_init(&wr, &sec, 0);
            ep_frame_init(&rd, &sec, 0);
            if (is_fixed(c)) {
                tu_hex_fixed(tu_str(c, "fixed_mac_digest"), fixed, 32);
                ep_frame_test_fixed_mac(&wr, fixed);
                ep_frame_test_fixed_mac(&rd, fixed);
            }
        }
        size_t clen, flen;
        uint8_t *content = tu_hex(tu_str(c, "content"), &clen);
        uint8_t *want = tu_hex(tu_str(c, "frame"), &flen);
        assert_int_equal(ep_frame_wire_len(clen), flen);
        uint8_t *out = malloc(flen);
        assert_non_null(out);
        assert_int_equal(ep_frame_write(&wr, content, clen, out), 0);
        tu_assert_bytes(out, want, flen);

        /* read back; the header decrypts in place to header_plaintext */
        size_t consumed, got_len;
        const uint8_t *got;
        assert_int_equal(ep_frame_read(&rd, out, EP_FRAME_HEADER_LEN, &consumed, &got, &got_len),
                         0);
        assert_int_equal(consumed, EP_FRAME_HEADER_LEN);
        json_t *hp = json_object_get(c, "header_plaintext");
        if (hp) {
            uint8_t plain[16];
            tu_hex_fixed(json_string_value(hp), plain, 16);
            tu_assert_bytes(out, plain, 16);
        }
        assert_int_equal(ep_frame_need(&rd), flen - EP_FRAME_HEADER_LEN);
        assert_int_equal(ep_frame_read(&rd, out + consumed, flen - consumed, &consumed, &got,
                                       &got_len),
                         1);
        assert_int_equal(got_len, clen);
        tu_assert_bytes(got, content, clen);
        free(out);
        free(content);
        free(want);
        ran++;
    }
    ep_frame_wipe(&wr);
    ep_frame_wipe(&rd);
    return ran;
}

static void test_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("rlpx_frames.json");
    json_t *cases = json_object_get(root, "cases");
    int n = run_direction(cases, "egress") + run_direction(cases, "A->B") +
            run_direction(cases, "B->A");
    assert_int_equal((size_t)n, json_array_size(cases));
    json_decref(root);
}

static json_t *find_case(json_t *root, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        if (strcmp(tu_str(c, "name"), name) == 0) return c;
    }
    fail_msg("no case %s", name);
    return NULL;
}

/* The golden frame with real Keccak MACs: the ciphertext bytes [0,16) and
 * [32,48) come from AES-CTR only and must match. */
static void test_golden_ciphertext_real_mac(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("rlpx_frames.json");
    json_t *c = find_case(root, "geth_golden_fixed_mac");
    ep_secrets sec;
    secrets_from_case(c, &sec);
    ep_frame_codec wr;
    ep_frame_init(&wr, &sec, 0);
    size_t clen, flen;
    uint8_t *content = tu_hex(tu_str(c, "content"), &clen);
    uint8_t *want = tu_hex(tu_str(c, "frame"), &flen);
    uint8_t out[64];
    assert_int_equal(ep_frame_wire_len(clen), sizeof out);
    assert_int_equal(ep_frame_write(&wr, content, clen, out), 0);
    tu_assert_bytes(out, want, 16);
    tu_assert_bytes(out + 32, want + 32, 16);
    free(content);
    free(want);
    json_decref(root);
}

/* Every single-bit flip of a real frame must be refused with P2P_ERR_MAC,
 * and the reader must stay failed afterwards. */
static void test_bitflips(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("rlpx_frames.json");
    json_t *c = find_case(root, "eip8_a_to_b_0");
    ep_secrets sec;
    secrets_from_case(c, &sec);
    size_t flen;
    uint8_t *frame = tu_hex(tu_str(c, "frame"), &flen);
    uint8_t *buf = malloc(flen);
    assert_non_null(buf);
    for (size_t bit = 0; bit < flen * 8; bit++) {
        ep_frame_codec rd;
        ep_frame_init(&rd, &sec, 0);
        memcpy(buf, frame, flen);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        size_t consumed, clen;
        const uint8_t *content;
        int rc = ep_frame_read(&rd, buf, flen, &consumed, &content, &clen);
        if (rc == 0 && consumed == EP_FRAME_HEADER_LEN)
            rc = ep_frame_read(&rd, buf + consumed, flen - consumed, &consumed, &content, &clen);
        if (rc != P2P_ERR_MAC) fail_msg("bit %zu: rc %d", bit, rc);
        memcpy(buf, frame, flen);
        assert_int_equal(ep_frame_read(&rd, buf, flen, &consumed, &content, &clen), P2P_ERR_MAC);
        assert_int_equal(consumed, 0);
    }
    free(buf);
    free(frame);
    json_decref(root);
}

static void make_pair(ep_frame_codec *wr, ep_frame_codec *rd, size_t max)
{
    ep_secrets sec;
    memset(&sec, 0, sizeof sec);
    for (int i = 0; i < 32; i++) {
        sec.aes[i] = (uint8_t)i;
        sec.mac[i] = (uint8_t)(0x80 + i);
    }
    ep_keccak_init(&sec.egress_mac);
    ep_keccak_update(&sec.egress_mac, (const uint8_t *)"seed", 4);
    sec.ingress_mac = sec.egress_mac;
    ep_frame_init(wr, &sec, 0);
    ep_frame_init(rd, &sec, max);
}

static void test_oversized(void **state)
{
    (void)state;
    ep_frame_codec wr, rd;
    make_pair(&wr, &rd, 100);
    uint8_t content[101], frame[256];
    memset(content, 0x42, sizeof content);
    size_t consumed, clen;
    const uint8_t *got;
    /* exactly the bound is fine */
    assert_int_equal(ep_frame_write(&wr, content, 100, frame), 0);
    assert_int_equal(ep_frame_read(&rd, frame, ep_frame_wire_len(100), &consumed, &got, &clen), 1);
    assert_int_equal(clen, 100);
    /* one more byte is refused at the header, for good */
    assert_int_equal(ep_frame_write(&wr, content, 101, frame), 0);
    assert_int_equal(ep_frame_read(&rd, frame, ep_frame_wire_len(101), &consumed, &got, &clen),
                     P2P_ERR_TOO_LARGE);
    assert_int_equal(ep_frame_read(&rd, frame, ep_frame_wire_len(101), &consumed, &got, &clen),
                     P2P_ERR_TOO_LARGE);
    /* the writer refuses what the 3-byte size cannot say */
    assert_int_equal(ep_frame_seal(&wr, frame, EP_FRAME_MAX_CONTENT + 1), P2P_ERR_TOO_LARGE);
}

/* Feed a stream of frames one byte at a time; the reader only acts once it
 * has what ep_frame_need asks for. */
static void test_partial_input(void **state)
{
    (void)state;
    ep_frame_codec wr, rd;
    make_pair(&wr, &rd, 0);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 300};
    const size_t nframes = sizeof sizes / sizeof sizes[0];
    uint8_t stream[2048], content[300];
    size_t total = 0;
    for (size_t f = 0; f < nframes; f++) {
        memset(content, (int)f + 1, sizes[f]);
        assert_int_equal(ep_frame_write(&wr, content, sizes[f], stream + total), 0);
        total += ep_frame_wire_len(sizes[f]);
    }
    size_t start = 0, avail = 0, frames = 0;
    while (avail < total) {
        avail++; /* one more byte arrived */
        for (;;) {
            size_t consumed, clen, before = ep_frame_need(&rd);
            const uint8_t *got;
            int rc = ep_frame_read(&rd, stream + start, avail - start, &consumed, &got, &clen);
            assert_true(rc >= 0);
            if (avail - start < before) assert_int_equal(consumed, 0);
            start += consumed;
            if (rc == 1) {
                assert_int_equal(clen, sizes[frames]);
                for (size_t k = 0; k < clen; k++) assert_int_equal(got[k], frames + 1);
                frames++;
            }
            if (consumed == 0) break;
        }
    }
    assert_int_equal(frames, nframes);
    assert_int_equal(start, total);
}

/* Two frames back to back in one buffer are read in order. */
static void test_stream_two_frames(void **state)
{
    (void)state;
    ep_frame_codec wr, rd;
    make_pair(&wr, &rd, 0);
    uint8_t buf[256];
    size_t l1 = ep_frame_wire_len(5), l2 = ep_frame_wire_len(40);
    uint8_t c2[40];
    memset(c2, 7, sizeof c2);
    assert_int_equal(ep_frame_write(&wr, (const uint8_t *)"hello", 5, buf), 0);
    assert_int_equal(ep_frame_write(&wr, c2, sizeof c2, buf + l1), 0);
    size_t clen;
    const uint8_t *got = read_whole(&rd, buf, l1, &clen);
    assert_int_equal(clen, 5);
    assert_memory_equal(got, "hello", 5);
    got = read_whole(&rd, buf + l1, l2, &clen);
    assert_int_equal(clen, sizeof c2);
    assert_memory_equal(got, c2, sizeof c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_golden_ciphertext_real_mac),
        cmocka_unit_test(test_bitflips),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_partial_input),
        cmocka_unit_test(test_stream_two_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
