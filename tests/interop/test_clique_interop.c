/* The example chain's Clique genesis against @ethereumjs (tests/client,
 * pinned): for examples/genesis.json, the Görli pre-launch genesis and a
 * generated genesis with nonces, 300 accounts and large balances, the genesis
 * hash and state root printed by `ethp2p-tool genesis` equal those that
 * @ethereumjs/blockchain computes (node tests/client/genesis.js). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *run_json(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    assert_int_equal(pclose(p), 0);
    json_error_t e;
    json_t *j = json_loads(buf, 0, &e);
    if (!j) fail_msg("not JSON from '%s': %s", cmd, buf);
    return j;
}

static void compare(const char *file)
{
    const char *tool = getenv("EP_TOOL");
    char cmd[1024];
    assert_non_null(tool);
    snprintf(cmd, sizeof cmd, "'%s' genesis --genesis '%s'", tool, file);
    json_t *ours = run_json(cmd);
    snprintf(cmd, sizeof cmd, "node tests/client/genesis.js '%s'", file);
    json_t *theirs = run_json(cmd);
    assert_string_equal(tu_str(ours, "stateRoot"), tu_str(theirs, "stateRoot"));
    assert_string_equal(tu_str(ours, "hash"), tu_str(theirs, "hash"));
    json_decref(ours);
    json_decref(theirs);
}

static void test_example_genesis(void **state) { compare("examples/genesis.json"); }

static void test_goerli_prelaunch(void **state) { compare("tests/vectors/goerli_genesis.json"); }

static void test_generated_genesis(void **state)
{
    char path[] = "/tmp/ep_clique_genesisXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"config\":{\"chainId\":424242,\"homesteadBlock\":0,\"eip150Block\":0,"
               "\"eip155Block\":0,\"eip158Block\":0,\"byzantiumBlock\":0,"
               "\"constantinopleBlock\":0,\"petersburgBlock\":0,\"istanbulBlock\":0,"
               "\"berlinBlock\":0,\"londonBlock\":0,\"clique\":{\"period\":3,\"epoch\":100}},"
               "\"nonce\":\"0x0\",\"timestamp\":\"0x6553f100\",\"gasLimit\":\"0x2faf080\",\"difficulty\":\"0x1\","
               "\"baseFeePerGas\":\"0x7\",\"extraData\":\"0x%064d%s%s%0130d\",\"alloc\":{",
            0, "1111111111111111111111111111111111111111",
            "2222222222222222222222222222222222222222", 0);
    for (int i = 0; i < 300; i++)
        fprintf(f, "%s\"0x%040x\":{\"balance\":\"0x%x%056x\",\"nonce\":\"0x%x\"}", i ? "," : "",
                i * 7919 + 1, i + 1, i, i % 5);
    fprintf(f, "}}\n");
    fclose(f);
    compare(path);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_genesis),
        cmocka_unit_test(test_goerli_prelaunch),
        cmocka_unit_test(test_generated_genesis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
