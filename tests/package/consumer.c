/* A program built out of tree against an installed libethp2p, using only
 * `pkg-config --cflags --libs libethp2p`: it must compile, link and run. */
#include <ethp2p/ethp2p.h>
#include <ethp2p/rlp.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    /* RLP round trip through the public helpers. */
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_str(&w, "cat");
    p2p_rlp_put_str(&w, "dog");
    p2p_rlp_list_end(&w);
    static const uint8_t want[] = {0xc8, 0x83, 'c', 'a', 't', 0x83, 'd', 'o', 'g'};
    if (p2p_rlp_writer_error(&w) || w.len != sizeof want || memcmp(w.buf, want, w.len)) {
        fprintf(stderr, "consumer: RLP encoding differs\n");
        return 1;
    }
    p2p_rlp_item item;
    size_t n = 0;
    if (p2p_rlp_decode(w.buf, w.len, &item) || p2p_rlp_list_count(&item, &n) || n != 2) {
        fprintf(stderr, "consumer: RLP decoding failed\n");
        return 1;
    }
    p2p_rlp_writer_free(&w);

    /* Keccak-256("") */
    uint8_t d[32];
    p2p_keccak256(NULL, 0, d);
    if (d[0] != 0xc5 || d[31] != 0x70) {
        fprintf(stderr, "consumer: keccak256 differs\n");
        return 1;
    }

    /* A config with validation errors reported as codes. */
    p2p_config *cfg = p2p_config_new();
    if (!cfg) return 1;
    if (p2p_config_set_chain_id(cfg, 1337) != 0) return 1;
    if (p2p_config_add_boot_node(cfg, "enode://nothex@127.0.0.1:1") >= 0) {
        fprintf(stderr, "consumer: a bad boot node was accepted\n");
        return 1;
    }
    p2p_config_free(cfg);
    printf("consumer ok: libethp2p %s, %s\n", p2p_version(), p2p_strerror(P2P_ERR_AGAIN));
    return 0;
}
