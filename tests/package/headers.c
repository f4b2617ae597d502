/* Every public header must compile on its own, as C11 and as C++17. */
#include <ethp2p/types.h>
#include <ethp2p/rlp.h>
#include <ethp2p/ethp2p.h>
#include <ethp2p/sync.h>
int p2p_headers_compile_check(void);
int p2p_headers_compile_check(void) { return P2P_OK; }
