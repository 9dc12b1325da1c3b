// gather / scatter / scatter_add / index_select / index_add against host loops.
#include "kiln_test.h"

using namespace kt;

namespace {

const char* kTypes[] = {"f32", "f64", "i64", "bool", "f16", "bf16"};

template <class T>
T val(long long i, const char* suf) {
  if (std::string(suf) == "bool") return static_cast<T>(i % 2);
  return static_cast<T>(i + 1);
}

template <class T>
void run_gather_scatter(const char* suf) {
  // in: [4,6] with strides (1,4) (a transposed [6,4] storage); gather along dim 1 with index
  // [4,3] (contiguous); out [4,3].
  const long long R = 4, C = 6, K = 3;
  std::vector<T> in(R * C);
  for (long long i = 0; i < R * C; ++i) in[i] = val<T>(i, suf);
  std::vector<long long> idx = {5, 0, 2, 1, 1, -1, 3, 6, 4, 0, 5, 5};  // -1 and 6 are out of range
  Buf<T> din(in), out(R * K);
  Buf<long long> dix(idx);
  const Strides is = {1, R};
  Geom g = geom({R, K}, {{K, 1}, is, {K, 1}});
  std::string name = strf("kiln_gather_%s", suf);
  KT_LAUNCH(name.c_str(), out.p, (const T*)din.p, (const long long*)dix.p, g, 1LL, C, is[1]);
  auto got = out.get();
  for (long long r = 0; r < R; ++r) {
    for (long long k = 0; k < K; ++k) {
      const long long j = idx[r * K + k];
      const T want = (j >= 0 && j < C) ? in[r * is[0] + j * is[1]] : T(0);
      KT_CHECK(got[r * K + k] == want, "%s[%lld,%lld] (index %lld)", name.c_str(), r, k, j);
    }
  }

  // index_select along dim 0 of the same view with a strided index (every other element)
  std::vector<long long> sel = {3, 99, 0, 99, 3, 99, -2, 99};
  Buf<long long> dsel(sel);
  Buf<T> out2(4 * C);
  Geom g2 = geom({4, C}, {{C, 1}, is});
  name = strf("kiln_index_select_%s", suf);
  KT_LAUNCH(name.c_str(), out2.p, (const T*)din.p, (const long long*)dsel.p, g2, 0LL, R, is[0], 2LL);
  got = out2.get();
  for (long long r = 0; r < 4; ++r) {
    for (long long c = 0; c < C; ++c) {
      const long long j = sel[2 * r];
      const T want = (j >= 0 && j < R) ? in[j * is[0] + c * is[1]] : T(0);
      KT_CHECK(got[r * C + c] == want, "%s[%lld,%lld]", name.c_str(), r, c);
    }
  }

  // scatter: out [4,6] contiguous prefilled; index and src [4,3] with distinct targets per row
  std::vector<long long> sidx = {5, 0, 2, 1, 3, 6, 4, 0, 5, 2, -1, 1};
  std::vector<T> src(R * K), init(R * C);
  for (long long i = 0; i < R * K; ++i) src[i] = val<T>(100 + i, suf);
  for (long long i = 0; i < R * C; ++i) init[i] = val<T>(200 + i, suf);
  Buf<long long> dsidx(sidx);
  Buf<T> dsrc(src), dout(init);
  Geom g3 = geom({R, K}, {{C, 1}, {K, 1}, {K, 1}});
  name = strf("kiln_scatter_%s", suf);
  KT_LAUNCH(name.c_str(), dout.p, (const long long*)dsidx.p, (const T*)dsrc.p, g3, 1LL, C, 1LL);
  got = dout.get();
  std::vector<T> want = init;
  for (long long r = 0; r < R; ++r) {
    for (long long k = 0; k < K; ++k) {
      const long long j = sidx[r * K + k];
      if (j >= 0 && j < C) want[r * C + j] = src[r * K + k];
    }
  }
  for (long long i = 0; i < R * C; ++i) KT_CHECK(got[i] == want[i], "%s element %lld", name.c_str(), i);
}

template <class T>
void run_accumulate(const char* suf) {
  // scatter_add along dim 0 with duplicate targets; out [3,4]; index/src [5,4]
  const long long R = 3, C = 4, M = 5;
  std::vector<long long> idx(M * C);
  std::vector<T> src(M * C), init(R * C);
  for (long long i = 0; i < M * C; ++i) {
    idx[i] = (i * 7) % 4 - (i == 13 ? 10 : 0);  // values 0..3; 3 is out of range, as is -10
    src[i] = static_cast<T>(i + 1);
  }
  for (long long i = 0; i < R * C; ++i) init[i] = static_cast<T>(1000 * (i + 1));
  Buf<long long> di(idx);
  Buf<T> ds(src), dout(init);
  Geom g = geom({M, C}, {{C, 1}, {C, 1}, {C, 1}});
  std::string name = strf("kiln_scatter_add_%s", suf);
  KT_LAUNCH(name.c_str(), dout.p, (const long long*)di.p, (const T*)ds.p, g, 0LL, R, C);
  std::vector<T> want = init;
  for (long long m = 0; m < M; ++m) {
    for (long long c = 0; c < C; ++c) {
      const long long j = idx[m * C + c];
      if (j >= 0 && j < R) want[j * C + c] += src[m * C + c];
    }
  }
  auto got = dout.get();
  for (long long i = 0; i < R * C; ++i) KT_CHECK(got[i] == want[i], "%s element %lld: %g vs %g", name.c_str(), i, (double)got[i], (double)want[i]);

  // index_add along dim 1: out [3,4], src [3,6], index [6] with repeats
  std::vector<long long> ix = {0, 3, 3, 1, 7, 0};
  std::vector<T> s2(3 * 6);
  for (int i = 0; i < 18; ++i) s2[i] = static_cast<T>(i * 2 + 1);
  Buf<long long> dix(ix);
  Buf<T> ds2(s2), dout2(init);
  Geom g2 = geom({3, 6}, {{C, 1}, {0, 0}, {6, 1}});
  name = strf("kiln_index_add_%s", suf);
  KT_LAUNCH(name.c_str(), dout2.p, (const long long*)dix.p, (const T*)ds2.p, g2, 1LL, C, 1LL, 1LL);
  want = init;
  for (int r = 0; r < 3; ++r) {
    for (int k = 0; k < 6; ++k) {
      if (ix[k] >= 0 && ix[k] < C) want[r * C + ix[k]] += s2[r * 6 + k];
    }
  }
  got = dout2.get();
  for (long long i = 0; i < R * C; ++i) KT_CHECK(got[i] == want[i], "%s element %lld: %g vs %g", name.c_str(), i, (double)got[i], (double)want[i]);
}

}  // namespace

KT_TEST(gather_scatter_index_select_all_dtypes) {
  run_gather_scatter<float>(kTypes[0]);
  run_gather_scatter<double>(kTypes[1]);
  run_gather_scatter<long long>(kTypes[2]);
  run_gather_scatter<unsigned char>(kTypes[3]);
  run_gather_scatter<unsigned short>(kTypes[4]);
  run_gather_scatter<unsigned short>(kTypes[5]);
}

KT_TEST(scatter_add_index_add) {
  run_accumulate<float>("f32");
  run_accumulate<double>("f64");
  run_accumulate<long long>("i64");
}

KT_TEST(scatter_add_many_blocks_contend) {
  // 20000 additions of 1 into 3 counters from many blocks: atomics must not lose updates.
  const long long n = 20000;
  std::vector<long long> idx(n);
  for (long long i = 0; i < n; ++i) idx[i] = i % 3;
  Buf<long long> di(idx), out(std::vector<long long>{0, 0, 0});
  Buf<long long> src(std::vector<long long>(n, 1));
  Geom g = geom({n}, {{1}, {1}, {1}});
  int rc = launch_cfg("kiln_scatter_add_i64", 40, 128, out.p, (const long long*)di.p, (const long long*)src.p, g, 0LL, 3LL, 1LL);
  KT_REQUIRE(rc == 0, "%s", kiln_emu_last_error());
  auto got = out.get();
  KT_CHECK(got[0] == 6667 && got[1] == 6667 && got[2] == 6666, "%lld %lld %lld", got[0], got[1], got[2]);
}
