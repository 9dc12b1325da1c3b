// Batch-norm statistics, the Adam/AdamW step and the Philox random kernels.
#include <cstring>

#include "kiln_test.h"

using namespace kt;
using LD = long double;

KT_TEST(batchnorm_stats) {
  const long long N = 3, C = 5, HW = 37;
  auto run = [&](auto tag, const char* suf) {
    using T = decltype(tag);
    std::vector<T> x = cast_vec<T>(uniform(N * C * HW, 40, 44));  // offset mean: two passes matter
    Buf<T> in(x), mean(C), var(C);
    std::string name = strf("kiln_batchnorm_stats_%s", suf);
    KT_LAUNCH_ROWS(name.c_str(), mean.p, var.p, (const T*)in.p, N, C, HW);
    auto gm = mean.get();
    auto gv = var.get();
    for (long long c = 0; c < C; ++c) {
      LD s = 0, q = 0;
      for (long long n = 0; n < N; ++n)
        for (long long i = 0; i < HW; ++i) s += x[(n * C + c) * HW + i];
      const LD m = s / (N * HW);
      for (long long n = 0; n < N; ++n)
        for (long long i = 0; i < HW; ++i) q += (x[(n * C + c) * HW + i] - m) * (x[(n * C + c) * HW + i] - m);
      KT_CHECK(close(gm[c], (T)m, Tol<T>::rtol * 4, 0), "%s mean[%lld] = %.9g want %.9Lg", name.c_str(), c, (double)gm[c], m);
      KT_CHECK(close(gv[c], (T)(q / (N * HW)), sizeof(T) == 4 ? 1e-4 : 1e-11, 0), "%s var[%lld] = %.9g want %.9Lg", name.c_str(), c, (double)gv[c], q / (N * HW));
    }
  };
  run(float(), "f32");
  run(double(), "f64");
}

KT_TEST(adam_and_adamw_steps) {
  const long long n = 300;
  auto run = [&](auto tag, const char* suf) {
    using T = decltype(tag);
    for (int decoupled : {0, 1}) {
      for (int maximize : {0, 1}) {
        std::vector<T> p = cast_vec<T>(uniform(n, -1, 1)), g = cast_vec<T>(uniform(n, -1, 1));
        std::vector<T> m(n, (T)0), v(n, (T)0);
        Buf<T> dp(p), dg(g), dm(m), dv(v);
        const double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05;
        std::string name = strf("kiln_adam_step_%s", suf);
        for (int t = 1; t <= 3; ++t) {
          const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
          KT_LAUNCH(name.c_str(), dp.p, (const T*)dg.p, dm.p, dv.p, n, lr, b1, b2, eps, wd, bc1, bc2, decoupled, maximize);
          for (long long i = 0; i < n; ++i) {
            LD gi = maximize ? -(LD)g[i] : (LD)g[i];
            LD pi = p[i];
            if (decoupled) pi *= 1 - lr * wd;
            else gi += wd * pi;
            const LD mi = (LD)m[i] * b1 + (1 - b1) * gi;
            const LD vi = (LD)v[i] * b2 + (1 - b2) * gi * gi;
            pi -= (lr / bc1) * mi / (sqrtl(vi) / sqrtl(bc2) + eps);
            p[i] = (T)pi;
            m[i] = (T)mi;
            v[i] = (T)vi;
          }
        }
        auto gp = dp.get();
        auto gm = dm.get();
        for (long long i = 0; i < n; ++i) {
          KT_CHECK(close(gp[i], p[i], sizeof(T) == 4 ? 1e-5 : 1e-12, sizeof(T) == 4 ? 1e-6 : 1e-13), "%s(decoupled %d, maximize %d) param[%lld] = %.9g want %.9g",
                   name.c_str(), decoupled, maximize, i, (double)gp[i], (double)p[i]);
          KT_CHECK(close(gm[i], m[i], 1e-5, 1e-7), "%s exp_avg[%lld]", name.c_str(), i);
        }
      }
    }
  };
  run(float(), "f32");
  run(double(), "f64");
}

// ---- Philox ---------------------------------------------------------------------------------

namespace {

// An independent Philox4x32-10, written from the paper's definition (Salmon et al., SC11).
void philox(uint32_t ctr[4], uint32_t key[2]) {
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * ctr[0];
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * ctr[2];
    const uint32_t out[4] = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ k0, static_cast<uint32_t>(p1),
                             static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ k1, static_cast<uint32_t>(p0)};
    memcpy(ctr, out, sizeof out);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

void block(uint64_t seed, uint64_t b, uint32_t out[4]) {
  uint32_t ctr[4] = {static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 0, 0};
  uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  philox(ctr, key);
  memcpy(out, ctr, 16);
}

}  // namespace

KT_TEST(philox_known_answers) {
  // Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds).
  struct Kat {
    uint32_t ctr[4], key[2], want[4];
  } kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (auto& k : kats) {
    uint32_t c[4];
    memcpy(c, k.ctr, 16);
    philox(c, k.key);
    KT_CHECK(memcmp(c, k.want, 16) == 0, "reference philox: %08x %08x %08x %08x", c[0], c[1], c[2], c[3]);
  }
  // the kernel's stream for seed = key, block b = counter words 0 and 1 (words 2 and 3 are 0)
  const uint64_t seed = 0x299f31d0a4093822ull;
  const uint64_t b = 0x85a308d3243f6a88ull;
  uint32_t ref[4];
  block(seed, b, ref);
  Buf<float> out(8);
  KT_LAUNCH("kiln_rand_uniform_f32", out.p, 8LL, (long long)seed, (long long)(b - 1), 0.0, 1.0);
  auto got = out.get();
  for (int i = 0; i < 4; ++i) {
    const float want = static_cast<float>(ref[i] >> 8) * 0x1p-24f;
    KT_CHECK(got[4 + i] == want, "uniform[%d] = %.9g want %.9g", 4 + i, got[4 + i], want);
  }
}

// The stream of dev.kiln.Philox (core), which the CPU backend draws from: 53-bit doubles are
// ((a >> 5) * 2^26 + (b >> 6)) * 2^-53 for the word pair (a, b).
double u53(uint32_t a, uint32_t b) { return (static_cast<double>(a >> 5) * 67108864.0 + (b >> 6)) * 0x1p-53; }

KT_TEST(random_streams_follow_the_documented_convention) {
  const long long n = 1001;  // not a multiple of 4
  const uint64_t seed = 0x0123456789abcdefull;
  const long long offset = 77;
  Buf<float> uf(n), nf(n), df(n), edge(n);
  Buf<double> ud(n), nd(n);
  Buf<unsigned char> mask(n);
  std::vector<float> ones(n, 2.0f);
  Buf<float> in(ones);
  KT_LAUNCH("kiln_rand_uniform_f32", uf.p, n, (long long)seed, offset, -1.0, 3.0);
  KT_LAUNCH("kiln_rand_uniform_f64", ud.p, n, (long long)seed, offset, 0.5, 1.5);
  KT_LAUNCH("kiln_rand_normal_f32", nf.p, n, (long long)seed, offset, 1.0, 2.0);
  KT_LAUNCH("kiln_rand_normal_f64", nd.p, n, (long long)seed, offset, 0.0, 1.0);
  KT_LAUNCH("kiln_dropout_f32", df.p, mask.p, (const float*)in.p, n, (long long)seed, offset, 0.25);
  // [0, 1 + 2^-30): every u close to 1 rounds to the float 1.0, which must become the float below
  KT_LAUNCH("kiln_rand_uniform_f32", edge.p, n, (long long)seed, offset, 0.0, 1.0 + 0x1p-30);
  auto guf = uf.get();
  auto gud = ud.get();
  auto gnf = nf.get();
  auto gnd = nd.get();
  auto gdf = df.get();
  auto gm = mask.get();
  auto ge = edge.get();
  double sum = 0, sq = 0;
  long long kept = 0;
  for (long long i = 0; i < n; ++i) {
    uint32_t r[4];
    block(seed, offset + i / 4, r);
    const float u = static_cast<float>(r[i % 4] >> 8) * 0x1p-24f;
    const float wu = static_cast<float>(-1.0 + static_cast<double>(u) * 4.0);
    KT_CHECK(guf[i] == wu, "uniform_f32[%lld] = %.9g want %.9g", i, guf[i], wu);
    float we = static_cast<float>(static_cast<double>(u) * (1.0 + 0x1p-30));
    if (we >= 1.0 + 0x1p-30) we = std::nextafter(static_cast<float>(1.0 + 0x1p-30), 0.0f);
    KT_CHECK(ge[i] == we && ge[i] < 1.0f + 0x1p-23f, "uniform_f32 edge[%lld] = %.9g want %.9g", i, ge[i], we);
    const bool keep = u >= 0.25f;
    kept += keep;
    KT_CHECK(gm[i] == (keep ? 1 : 0) && gdf[i] == (keep ? 2.0f / 0.75f : 0.0f), "dropout[%lld]", i);

    block(seed, offset + i / 2, r);
    const int k = static_cast<int>(i % 2) * 2;
    const double wd = 0.5 + u53(r[k], r[k + 1]) * 1.0;
    KT_CHECK(gud[i] == wd, "uniform_f64[%lld] = %.17g want %.17g", i, gud[i], wd);

    block(seed, offset + i, r);
    const double u1 = 1.0 - u53(r[0], r[1]), u2 = u53(r[2], r[3]);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
    KT_CHECK(gnf[i] == static_cast<float>(1.0 + 2.0 * z), "normal_f32[%lld] = %.9g want %.9g", i, gnf[i], 1.0 + 2.0 * z);
    KT_CHECK(gnd[i] == z, "normal_f64[%lld] = %.17g want %.17g", i, gnd[i], z);
    sum += gnd[i];
    sq += gnd[i] * gnd[i];
  }
  // loose statistical sanity: 1001 draws
  KT_CHECK(std::fabs(sum / n) < 0.15 && std::fabs(sq / n - 1) < 0.2, "normal mean %g, var %g", sum / n, sq / n);
  KT_CHECK(kept > 650 && kept < 850, "dropout kept %lld of %lld at p = 0.25", kept, n);
}

// First values of the stream for a fixed seed, as dev.kiln.Philox computes them; the CPU
// backend's tests can assert the same numbers.
KT_TEST(random_golden_values) {
  Buf<float> u(4);
  KT_LAUNCH("kiln_rand_uniform_f32", u.p, 4LL, 42LL, 0LL, 0.0, 1.0);
  auto g = u.get();
  uint32_t r[4];
  block(42, 0, r);
  for (int i = 0; i < 4; ++i) KT_CHECK(g[i] == static_cast<float>(r[i] >> 8) * 0x1p-24f, "uniform(seed 42)[%d] = %.9g", i, g[i]);
  printf("      uniform_f32(seed 42, offset 0)[0..3] = %.9g %.9g %.9g %.9g\n", g[0], g[1], g[2], g[3]);
}

KT_TEST(random_does_not_depend_on_launch_shape) {
  const long long n = 3000;
  Buf<float> a(n), b(n);
  int rc = launch_cfg("kiln_rand_normal_f32", 1, 32, a.p, n, 42LL, 5LL, 0.0, 1.0);
  KT_CHECK(rc == 0, "%s", kiln_emu_last_error());
  rc = launch_cfg("kiln_rand_normal_f32", 17, 160, b.p, n, 42LL, 5LL, 0.0, 1.0);
  KT_CHECK(rc == 0, "%s", kiln_emu_last_error());
  auto x = a.get(), y = b.get();
  KT_CHECK(memcmp(x.data(), y.data(), n * sizeof(float)) == 0, "different launch shapes drew different numbers");
}
