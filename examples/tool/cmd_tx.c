/* ethp2p-tool tx --key HEX --chain-id N --nonce K --to ADDR --value WEI
 *                [--legacy] [--gas G] [--gas-price WEI] [--max-fee WEI]
 *                [--priority-fee WEI] [--data HEX]
 * Prints a signed raw transaction as 0x-hex: EIP-1559 (type 2) by default,
 * legacy with EIP-155 replay protection with --legacy. For demos and tests
 * (e.g. eth_sendRawTransaction to the example nodes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"
#include "tool.h"

#define TX_USAGE                                                                              \
    "usage: ethp2p-tool tx --key HEX --chain-id N --nonce K --to ADDR --value WEI [--legacy]\n" \
    "                      [--gas G] [--gas-price WEI] [--max-fee WEI] [--priority-fee WEI]\n"  \
    "                      [--data HEX]\n"                                                      \
    "  WEI and N accept decimal or 0x-hex; defaults: gas 21000, gas price and max fee\n"        \
    "  2 gwei, priority fee 1 gwei\n"

#define MAX_DATA (128u * 1024)

struct tx_args {
    uint8_t key[32];
    uint64_t chain_id, nonce, gas;
    uint8_t to[20];
    int has_to, legacy, have_key, have_chain, have_nonce, have_value;
    uint8_t value[32], gas_price[32], max_fee[32], priority_fee[32];
    uint8_t *data;
    size_t data_len;
};

/* value = value * base + digit over 32 big-endian bytes; -1 on overflow. */
static int muladd(uint8_t v[32], unsigned base, unsigned digit)
{
    unsigned carry = digit;
    for (int i = 31; i >= 0; i--) {
        unsigned x = v[i] * base + carry;
        v[i] = (uint8_t)x;
        carry = x >> 8;
    }
    return carry ? -1 : 0;
}

/* Decimal or 0x-hex, up to 2^256 - 1. */
static int parse_u256(const char *s, uint8_t out[32])
{
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s) return -1;
    memset(out, 0, 32);
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f') d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F') d = (unsigned)(*s - 'A' + 10);
        else return -1;
        if (muladd(out, base, d) != 0) return -1;
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint8_t v[32];
    if (parse_u256(s, v) != 0) return -1;
    for (int i = 0; i < 24; i++)
        if (v[i]) return -1;
    *out = 0;
    for (int i = 24; i < 32; i++) *out = *out << 8 | v[i];
    return 0;
}

static void set_gwei(uint8_t out[32], uint64_t gwei)
{
    uint64_t wei = gwei * 1000000000u;
    memset(out, 0, 32);
    for (int i = 31; i >= 24; i--, wei >>= 8) out[i] = (uint8_t)wei;
}

static int apply(struct tx_args *a, const char *name, const char *v)
{
    if (!strcmp(name, "--key")) return (a->have_key = ep_hex_decode_fixed(v, a->key, 32) == 0) ? 0 : -1;
    if (!strcmp(name, "--chain-id")) return (a->have_chain = parse_u64(v, &a->chain_id) == 0) ? 0 : -1;
    if (!strcmp(name, "--nonce")) return (a->have_nonce = parse_u64(v, &a->nonce) == 0) ? 0 : -1;
    if (!strcmp(name, "--to")) return (a->has_to = ep_hex_decode_fixed(v, a->to, 20) == 0) ? 0 : -1;
    if (!strcmp(name, "--value")) return (a->have_value = parse_u256(v, a->value) == 0) ? 0 : -1;
    if (!strcmp(name, "--gas")) return parse_u64(v, &a->gas);
    if (!strcmp(name, "--gas-price")) return parse_u256(v, a->gas_price);
    if (!strcmp(name, "--max-fee")) return parse_u256(v, a->max_fee);
    if (!strcmp(name, "--priority-fee")) return parse_u256(v, a->priority_fee);
    if (!strcmp(name, "--data")) {
        free(a->data);
        a->data = NULL;
        if (ep_hex_decode_alloc(v, &a->data, &a->data_len) != 0 || a->data_len > MAX_DATA) return -1;
        return 0;
    }
    return -1;
}

static int parse_args(int argc, char **argv, struct tx_args *a)
{
    memset(a, 0, sizeof *a);
    a->gas = 21000;
    set_gwei(a->gas_price, 2);
    set_gwei(a->max_fee, 2);
    set_gwei(a->priority_fee, 1);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--legacy")) {
            a->legacy = 1;
            continue;
        }
        if (i + 1 >= argc || apply(a, argv[i], argv[i + 1]) != 0) {
            fprintf(stderr, "ethp2p-tool tx: bad or unknown option %s%s%s\n" TX_USAGE, argv[i],
                    i + 1 < argc ? " " : " (missing value)", i + 1 < argc ? argv[i + 1] : "");
            return -1;
        }
        i++;
    }
    if (!a->have_key || !a->have_chain || !a->have_nonce || !a->has_to || !a->have_value) {
        fprintf(stderr, "ethp2p-tool tx: --key, --chain-id, --nonce, --to and --value are required\n" TX_USAGE);
        return -1;
    }
    if (a->chain_id == 0 || a->chain_id > (UINT64_MAX - 36) / 2) {
        fprintf(stderr, "ethp2p-tool tx: --chain-id must be between 1 and 2^63 - 19\n");
        return -1;
    }
    return 0;
}

/* The fields every form shares; typed forms start with the chain id. */
static void put_fields(p2p_rlp_writer *w, const struct tx_args *a)
{
    if (!a->legacy) p2p_rlp_put_uint(w, a->chain_id);
    p2p_rlp_put_uint(w, a->nonce);
    if (a->legacy) {
        p2p_rlp_put_bigint(w, a->gas_price, 32);
    } else {
        p2p_rlp_put_bigint(w, a->priority_fee, 32);
        p2p_rlp_put_bigint(w, a->max_fee, 32);
    }
    p2p_rlp_put_uint(w, a->gas);
    p2p_rlp_put_bytes(w, a->to, 20);
    p2p_rlp_put_bigint(w, a->value, 32);
    p2p_rlp_put_bytes(w, a->data, a->data_len);
    if (!a->legacy) {
        p2p_rlp_list_begin(w); /* empty access list */
        p2p_rlp_list_end(w);
    }
}

/* EIP-155 signing list [.., chainId, 0, 0] or 0x02 || [..] (EIP-1559);
 * sig NULL gives the signing form, else the signed one (sig = r||s||recid). */
static int encode(const struct tx_args *a, const uint8_t *sig, p2p_rlp_writer *w)
{
    static const uint8_t type2 = 2;
    if (!a->legacy) p2p_rlp_put_raw(w, &type2, 1); /* the envelope's type byte, before the list */
    p2p_rlp_list_begin(w);
    put_fields(w, a);
    if (!sig && a->legacy) {
        p2p_rlp_put_uint(w, a->chain_id);
        p2p_rlp_put_uint(w, 0);
        p2p_rlp_put_uint(w, 0);
    } else if (sig) {
        p2p_rlp_put_uint(w, a->legacy ? a->chain_id * 2 + 35 + sig[64] : sig[64]);
        p2p_rlp_put_bigint(w, sig, 32);
        p2p_rlp_put_bigint(w, sig + 32, 32);
    }
    p2p_rlp_list_end(w);
    return p2p_rlp_writer_error(w);
}

static int sign_and_print(const struct tx_args *a)
{
    p2p_rlp_writer w;
    uint8_t hash[32], sig[65];
    int rc = -1;
    secp256k1_context *ctx = ep_secp_new();
    p2p_rlp_writer_init(&w);
    if (!ctx || encode(a, NULL, &w) != 0) goto out;
    ep_keccak256(w.buf, w.len, hash);
    if (ep_sign_recoverable(ctx, a->key, hash, sig) != 0) {
        fprintf(stderr, "ethp2p-tool tx: the key is not a valid secp256k1 secret key\n");
        goto out;
    }
    p2p_rlp_writer_reset(&w);
    if (encode(a, sig, &w) != 0) goto out;
    char *hex = malloc(2 * w.len + 1);
    if (!hex) goto out;
    ep_hex_encode(w.buf, w.len, hex);
    printf("0x%s\n", hex);
    free(hex);
    rc = 0;
out:
    if (rc && ctx) fprintf(stderr, "ethp2p-tool tx: cannot build the transaction\n");
    p2p_rlp_writer_free(&w);
    ep_secp_free(ctx);
    return rc;
}

int cmd_tx(int argc, char **argv)
{
    struct tx_args a;
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf(TX_USAGE);
        return 0;
    }
    if (parse_args(argc, argv, &a) != 0) {
        free(a.data);
        return 2;
    }
    int rc = sign_and_print(&a);
    ep_wipe(a.key, sizeof a.key);
    free(a.data);
    return rc ? 1 : 0;
}
