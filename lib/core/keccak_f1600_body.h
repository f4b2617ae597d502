/* One Keccak-f[1600] permutation, as a template: lib/core/keccak_f1600.c
 * includes this file once per variant, after defining
 *   KF_NAME  the function's name (it gets internal linkage);
 *   KF_ATTR  attributes for it (a target("...") attribute, or nothing);
 *   KF_LC    1 for the lane-complementing chi, 0 for the plain one.
 * The round macros (KF_ROUND and helpers) are defined on the first
 * inclusion; the chi of each row is chosen per inclusion.
 *
 * From the Keccak reference (FIPS 202, section 3.2): lane (x, y) of the
 * 5 x 5 state is st[x + 5y], and here the local variable A<x><y>. A round is
 *   theta: C[x] = xor of column x, D[x] = C[x-1] ^ rot(C[x+1], 1),
 *          A[x][y] ^= D[x];
 *   rho:   A[x][y] = rot(A[x][y], r[x][y]);
 *   pi:    B[y][2x + 3y] = A[x][y];
 *   chi:   A[x][y] = B[x][y] ^ (~B[x+1][y] & B[x+2][y]);
 *   iota:  A[0][0] ^= RC[round].
 * theta, rho and pi are done together while one output row of B is built
 * (B[X][Y] comes from A[x][X] with x = X + 3Y mod 5), and chi then writes
 * that row of the other state: the 24 rounds go A -> E -> A ..., all 25
 * lanes of both in locals, and every index is a constant. theta's column
 * parities for the next round are summed as chi writes the lanes. */

#ifndef KF_ROUND
/* rho's rotation offsets r[x][y], as KF_R<x><y> (FIPS 202, table 2) */
#define KF_R00 0
#define KF_R10 1
#define KF_R20 62
#define KF_R30 28
#define KF_R40 27
#define KF_R01 36
#define KF_R11 44
#define KF_R21 6
#define KF_R31 55
#define KF_R41 20
#define KF_R02 3
#define KF_R12 10
#define KF_R22 43
#define KF_R32 25
#define KF_R42 39
#define KF_R03 41
#define KF_R13 45
#define KF_R23 15
#define KF_R33 21
#define KF_R43 8
#define KF_R04 18
#define KF_R14 2
#define KF_R24 61
#define KF_R34 56
#define KF_R44 14

/* n is a constant; n == 0 shifts right by 0 and gives v | v = v */
#define KF_ROL(v, n) (((v) << (n)) | ((v) >> ((64 - (n)) & 63)))

/* theta's column parities C[x] of state S (before the first round; each
 * round then leaves the next round's parities in c0..c4 as it writes the
 * lanes, so the state is read once per round, not twice) */
#define KF_PARITY(S)                                                    \
    c0 = S##00 ^ S##01 ^ S##02 ^ S##03 ^ S##04;                         \
    c1 = S##10 ^ S##11 ^ S##12 ^ S##13 ^ S##14;                         \
    c2 = S##20 ^ S##21 ^ S##22 ^ S##23 ^ S##24;                         \
    c3 = S##30 ^ S##31 ^ S##32 ^ S##33 ^ S##34;                         \
    c4 = S##40 ^ S##41 ^ S##42 ^ S##43 ^ S##44

/* theta's D[x] = C[x-1] ^ rot(C[x+1], 1) */
#define KF_THETA_D()                                                    \
    d0 = c4 ^ KF_ROL(c1, 1);                                            \
    d1 = c0 ^ KF_ROL(c2, 1);                                            \
    d2 = c1 ^ KF_ROL(c3, 1);                                            \
    d3 = c2 ^ KF_ROL(c4, 1);                                            \
    d4 = c3 ^ KF_ROL(c0, 1)

/* the lanes of row Y of T just written, into the next round's parities */
#define KF_ACCUMULATE(T, Y)                                             \
    c0 ^= T##0##Y;                                                      \
    c1 ^= T##1##Y;                                                      \
    c2 ^= T##2##Y;                                                      \
    c3 ^= T##3##Y;                                                      \
    c4 ^= T##4##Y

/* One row of B: b<X> = rot(S[x][X] ^ D[x], r[x][X]), where x for
 * X = 0..4 is given as x0..x4 (x = X + 3Y mod 5 for row Y). */
#define KF_RHO_PI(S, x0, x1, x2, x3, x4)                                \
    b0 = KF_ROL(S##x0##0 ^ d##x0, KF_R##x0##0);                         \
    b1 = KF_ROL(S##x1##1 ^ d##x1, KF_R##x1##1);                         \
    b2 = KF_ROL(S##x2##2 ^ d##x2, KF_R##x2##2);                         \
    b3 = KF_ROL(S##x3##3 ^ d##x3, KF_R##x3##3);                         \
    b4 = KF_ROL(S##x4##4 ^ d##x4, KF_R##x4##4)

/* The plain chi of row Y into state T. */
#define KF_CHI_PLAIN(T, Y)                                              \
    T##0##Y = b0 ^ (~b1 & b2);                                          \
    T##1##Y = b1 ^ (~b2 & b3);                                          \
    T##2##Y = b2 ^ (~b3 & b4);                                          \
    T##3##Y = b3 ^ (~b4 & b0);                                          \
    T##4##Y = b4 ^ (~b0 & b1)

/* Lane complementing (the Keccak team's implementation overview, section
 * "lane complementing transform"): the state is kept with the lanes of a
 * mask M complemented, M = {(1,0), (2,0), (3,1), (2,2), (2,3), (0,4)}.
 * theta, rho and pi move the complemented lanes to known places of B
 * (theta complements two whole columns more, because M's column parities
 * differ); for each row, knowing which inputs are complemented and which
 * outputs must be, ~P & Q is computed as p & q (p = ~P stored), as
 * ~(p | q) (q = ~Q stored, which complements the output), and one lane per
 * row is complemented explicitly: 5 NOTs per round instead of 25. The
 * complemented inputs of each row (b0..b4) and outputs were derived by
 * enumerating the masks; the result is checked against Nettle's permutation
 * by the unit tests and the fuzz target. Comments: stored complement bits
 * of b0..b4 -> of the outputs. */
#define KF_CHI_LC0(T) /* 10110 -> 01100 */                              \
    T##00 = b0 ^ (b1 | b2);                                             \
    T##10 = b1 ^ (~b2 | b3);                                            \
    T##20 = b2 ^ (b3 & b4);                                             \
    T##30 = b3 ^ (b4 | b0);                                             \
    T##40 = b4 ^ (b0 & b1)
#define KF_CHI_LC1(T) /* 10100 -> 00010 */                              \
    T##01 = b0 ^ (b1 | b2);                                             \
    T##11 = b1 ^ (b2 & b3);                                             \
    T##21 = b2 ^ (b3 | ~b4);                                            \
    T##31 = b3 ^ (b4 | b0);                                             \
    T##41 = b4 ^ (b0 & b1)
#define KF_CHI_LC2(T) /* 10100 -> 00100 */                              \
    nb = ~b3;                                                           \
    T##02 = b0 ^ (b1 | b2);                                             \
    T##12 = b1 ^ (b2 & b3);                                             \
    T##22 = b2 ^ (nb & b4);                                             \
    T##32 = nb ^ (b4 | b0);                                             \
    T##42 = b4 ^ (b0 & b1)
#define KF_CHI_LC3(T) /* 01011 -> 00100 */                              \
    nb = ~b3;                                                           \
    T##03 = b0 ^ (b1 & b2);                                             \
    T##13 = b1 ^ (b2 | b3);                                             \
    T##23 = b2 ^ (nb | b4);                                             \
    T##33 = nb ^ (b4 & b0);                                             \
    T##43 = b4 ^ (b0 | b1)
#define KF_CHI_LC4(T) /* 10010 -> 10000 */                              \
    nb = ~b1;                                                           \
    T##04 = b0 ^ (nb & b2);                                             \
    T##14 = nb ^ (b2 | b3);                                             \
    T##24 = b2 ^ (b3 & b4);                                             \
    T##34 = b3 ^ (b4 | b0);                                             \
    T##44 = b4 ^ (b0 & b1)

/* One round from state S into state T with round constant rc; c0..c4 hold
 * S's column parities on entry and T's on exit. */
#define KF_ROUND(S, T, rc)                                              \
    do {                                                                \
        uint64_t d0, d1, d2, d3, d4, b0, b1, b2, b3, b4, nb;            \
        KF_THETA_D();                                                   \
        KF_RHO_PI(S, 0, 1, 2, 3, 4);                                    \
        KF_CHI0(T);                                                     \
        T##00 ^= (rc);                                                  \
        c0 = T##00, c1 = T##10, c2 = T##20, c3 = T##30, c4 = T##40;     \
        KF_RHO_PI(S, 3, 4, 0, 1, 2);                                    \
        KF_CHI1(T);                                                     \
        KF_ACCUMULATE(T, 1);                                            \
        KF_RHO_PI(S, 1, 2, 3, 4, 0);                                    \
        KF_CHI2(T);                                                     \
        KF_ACCUMULATE(T, 2);                                            \
        KF_RHO_PI(S, 4, 0, 1, 2, 3);                                    \
        KF_CHI3(T);                                                     \
        KF_ACCUMULATE(T, 3);                                            \
        KF_RHO_PI(S, 2, 3, 4, 0, 1);                                    \
        KF_CHI4(T);                                                     \
        KF_ACCUMULATE(T, 4);                                            \
        (void)nb;                                                       \
    } while (0)

/* The complemented lanes of M, flipped on the way in and out. */
#define KF_COMPLEMENT(S)                                                \
    S##10 = ~S##10;                                                     \
    S##20 = ~S##20;                                                     \
    S##31 = ~S##31;                                                     \
    S##22 = ~S##22;                                                     \
    S##23 = ~S##23;                                                     \
    S##04 = ~S##04
#endif /* KF_ROUND */

#if KF_LC
#define KF_CHI0(T) KF_CHI_LC0(T)
#define KF_CHI1(T) KF_CHI_LC1(T)
#define KF_CHI2(T) KF_CHI_LC2(T)
#define KF_CHI3(T) KF_CHI_LC3(T)
#define KF_CHI4(T) KF_CHI_LC4(T)
#else
#define KF_CHI0(T) KF_CHI_PLAIN(T, 0)
#define KF_CHI1(T) KF_CHI_PLAIN(T, 1)
#define KF_CHI2(T) KF_CHI_PLAIN(T, 2)
#define KF_CHI3(T) KF_CHI_PLAIN(T, 3)
#define KF_CHI4(T) KF_CHI_PLAIN(T, 4)
#endif

KF_ATTR static void KF_NAME(uint64_t st[25])
{
    uint64_t A00 = st[0], A10 = st[1], A20 = st[2], A30 = st[3], A40 = st[4];
    uint64_t A01 = st[5], A11 = st[6], A21 = st[7], A31 = st[8], A41 = st[9];
    uint64_t A02 = st[10], A12 = st[11], A22 = st[12], A32 = st[13], A42 = st[14];
    uint64_t A03 = st[15], A13 = st[16], A23 = st[17], A33 = st[18], A43 = st[19];
    uint64_t A04 = st[20], A14 = st[21], A24 = st[22], A34 = st[23], A44 = st[24];
    uint64_t E00, E10, E20, E30, E40, E01, E11, E21, E31, E41, E02, E12, E22, E32, E42;
    uint64_t E03, E13, E23, E33, E43, E04, E14, E24, E34, E44;
    uint64_t c0, c1, c2, c3, c4;
#if KF_LC
    KF_COMPLEMENT(A);
#endif
    KF_PARITY(A);
    for (int i = 0; i < 24; i += 2) {
        KF_ROUND(A, E, kf_rc[i]);
        KF_ROUND(E, A, kf_rc[i + 1]);
    }
#if KF_LC
    KF_COMPLEMENT(A);
#endif
    st[0] = A00, st[1] = A10, st[2] = A20, st[3] = A30, st[4] = A40;
    st[5] = A01, st[6] = A11, st[7] = A21, st[8] = A31, st[9] = A41;
    st[10] = A02, st[11] = A12, st[12] = A22, st[13] = A32, st[14] = A42;
    st[15] = A03, st[16] = A13, st[17] = A23, st[18] = A33, st[19] = A43;
    st[20] = A04, st[21] = A14, st[22] = A24, st[23] = A34, st[24] = A44;
}

#undef KF_CHI0
#undef KF_CHI1
#undef KF_CHI2
#undef KF_CHI3
#undef KF_CHI4
#undef KF_NAME
#undef KF_ATTR
#undef KF_LC
